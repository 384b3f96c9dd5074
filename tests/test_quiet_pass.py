"""An idle pass over a folder the server says is unchanged asks for its STATUS instead of opening and
listing it (SELECT of a 10,000-message folder costs Dovecot ~20 ms, STATUS ~0.3 ms), and still does whatever
the ledger has due; any change lists the folder again.
Real Dovecot, SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, update
from sqlmodel import select

from bench.common import CommandCountingProxy
from mailbot.jobs import poll_tick
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Credit, InboundMessage, utcnow
from tests.chaos import forward_pdf
from tests.test_ingest_idempotence import DANA, cert, imap_app

pytestmark = pytest.mark.servers


@pytest.fixture
def proxy(imap_account):  # type: ignore[no-untyped-def]
    with CommandCountingProxy(imap_account.host, imap_account.port) as counting:
        yield counting


def _pass(app, proxy):  # type: ignore[no-untyped-def]
    proxy.reset_counters()
    report = poll_tick(app)
    return report, proxy.commands()


def _credits(app) -> int:  # type: ignore[no-untyped-def]
    with session_scope(app.engine) as s:
        return len(s.exec(select(Credit)).all())


def test_an_unchanged_inbox_is_asked_its_status_and_a_new_message_is_listed_and_recorded(
        tmp_path, db_url, imap_account, smtp_server, proxy):
    server, user = imap_account.server, imap_account.user
    app = imap_app(tmp_path, db_url, imap_account, smtp_server, host=proxy.host, port=proxy.port)
    server.append(user, forward_pdf(*DANA, cert("Dana Reyes", 1)))

    report, commands = _pass(app, proxy)  # first pass: lists, records, moves the message away
    assert report.recorded == 1 and "SELECT" in commands and "UID SEARCH" in commands
    report, commands = _pass(app, proxy)  # the move changed the folder: listed again, nothing to do
    assert report.fetched == 0 and "SELECT" in commands
    for _ in range(3):  # unchanged since: STATUS only, no SELECT, no listing, no FETCH
        report, commands = _pass(app, proxy)
        assert "STATUS" in commands and "SELECT" not in commands and "UID SEARCH" not in commands
        assert not [c for c in commands if "FETCH" in c] and report.fetched == 0

    server.append(user, forward_pdf(*DANA, cert("Dana Reyes", 2)))
    report, commands = _pass(app, proxy)
    assert report.recorded == 1 and "SELECT" in commands and "UID SEARCH" in commands
    assert _credits(app) == 2


def test_a_held_message_whose_retry_falls_due_is_read_though_the_inbox_did_not_change(
        tmp_path, db_url, imap_account, smtp_server, proxy):
    server, user = imap_account.server, imap_account.user
    app = imap_app(tmp_path, db_url, imap_account, smtp_server, host=proxy.host, port=proxy.port)
    server.append(user, forward_pdf(*DANA, cert("Dana Reyes", 3)))
    with app.source() as source:  # what an outage leaves: the message known, its retry not due yet
        state = source.folder_state()
        account = source.account
    now = utcnow()
    with app.engine.begin() as conn:
        conn.execute(insert(InboundMessage), [{
            "account": account, "folder": state.folder, "uidvalidity": state.uidvalidity,
            "mailbox_key": state.keys[0], "state": "retry", "attempts": 1, "reason": "database was down",
            "next_attempt_at": now + timedelta(hours=1), "created_at": now, "updated_at": now}])

    report, commands = _pass(app, proxy)  # lists; the held message is not due: nothing fetched
    assert report.fetched == 0 and report.seen == 1 and "UID SEARCH" in commands
    report, commands = _pass(app, proxy)  # unchanged: STATUS only, still counted as seen
    assert "SELECT" not in commands and report.fetched == 0 and report.seen == 1

    with app.engine.begin() as conn:  # its hour has passed
        conn.execute(update(InboundMessage).values(next_attempt_at=now - timedelta(minutes=1)))
    report, commands = _pass(app, proxy)
    assert "SELECT" in commands and report.fetched == 1 and report.recorded == 1
    assert _credits(app) == 1


def test_a_maildir_has_no_status_and_is_always_listed(tmp_path, db_url):
    from mailbot.inbox.maildir import MaildirSource

    source = MaildirSource(tmp_path / "Maildir", create=True)
    with source:
        assert source.status_signature() is None and source.folder_state().signature is None
