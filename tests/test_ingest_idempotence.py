"""Ingestion against the real Dovecot and aiosmtpd servers: a processed inbox polled again and again costs
nothing and changes nothing, and the same certificate arriving again — after a UIDVALIDITY reset, moved
back to the inbox by a person, or forwarded three different ways — is one credit."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mailbot.app import App
from mailbot.jobs import poll_tick
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Credit, InboundMessage, Notice
from mailbot.ledger.techs import add_technician
from mailbot.samples import SampleCertificate
from tests.chaos import PROCESSED, REVIEW, forward_as_attachment, forward_pdf, forward_zipped_octet_stream
from tests.helpers import INBOX_ADDR, make_config

pytestmark = pytest.mark.servers

DANA = ("dana@techs.example", "Dana Reyes")
LEE = ("lee@techs.example", "Lee Okafor")


def imap_app(tmp_path, db_url, account, smtp_server, *, host=None, port=None, folder="INBOX") -> App:  # type: ignore[no-untyped-def]
    inbox = {"kind": "imap", "host": host or account.host, "port": port or account.port, "security": "none",
             "username": account.user, "password": account.password, "folder": folder,
             "processed_folder": PROCESSED, "review_folder": REVIEW}
    outbox = {"kind": "smtp", "host": smtp_server.host, "port": smtp_server.port, "security": "none",
              "from": INBOX_ADDR}
    app = App(make_config(tmp_path, db_url, inbox=inbox, outbox=outbox))
    with session_scope(app.engine) as s:
        for addr, name in (DANA, LEE):
            add_technician(s, name, [addr])
    return app


def cert(person: str, n: int) -> SampleCertificate:
    return SampleCertificate(person, f"Odor Control Workshop Session {n}", f"{n % 6 + 1} CECs",
                             f"April {n}, 2026", "Gulf Coast Restoration Academy")


def count(app: App, model) -> int:  # type: ignore[no-untyped-def]
    with session_scope(app.engine) as s:
        return len(s.exec(model.__table__.select()).all())


def credits(app: App) -> list[tuple[str, str]]:
    with session_scope(app.engine) as s:
        return sorted((c.course_title, c.completed_on.isoformat()) for c in s.exec(select(Credit)).all())


def test_polling_a_processed_inbox_100_times_adds_nothing_and_fetches_no_body(
        tmp_path, db_url, imap_account, smtp_server, dovecot_proxy):
    server, user = imap_account.server, imap_account.user
    raws = [forward_pdf(*DANA, cert("Dana Reyes", n)) for n in range(1, 9)]
    raws.append(forward_pdf("stranger@elsewhere.example", "Stranger", cert("Stranger", 9)))  # → Review
    server.append_many(user, raws)
    server.append(user, raws[0], folder="Archive")  # a person's other folder is never looked at
    app = imap_app(tmp_path, db_url, imap_account, smtp_server, host=dovecot_proxy.host, port=dovecot_proxy.port)

    first = poll_tick(app)
    assert (first.fetched, first.recorded, first.review, first.filed) == (9, 8, 1, 9)
    smtp_server.wait_for(8)  # one receipt per Dana message, none to the stranger
    rows, notices, processed = count(app, InboundMessage), count(app, Notice), server.flags(user, PROCESSED)
    smallest_message = min(len(r) for r in raws)

    dovecot_proxy.reset_counters()
    for _ in range(100):
        again = poll_tick(app)
        assert (again.fetched, again.recorded, again.filed, again.receipts_sent) == (0, 0, 0, 0)
    downloaded = dovecot_proxy.bytes_to_client

    assert count(app, InboundMessage) == rows == 9
    assert count(app, Notice) == notices == 8
    assert len(credits(app)) == 8
    assert server.flags(user, PROCESSED) == processed  # nothing moved, no flag touched (\Seen included)
    assert all("\\Seen" not in flags for flags in processed.values())
    assert len(server.uids(user, REVIEW)) == 1 and server.uids(user, "INBOX") == []
    assert len(smtp_server.messages) == 8
    # Each pass downloaded less than the smallest message: greeting, capabilities, folder list, UID search.
    assert downloaded / 100 < smallest_message, (downloaded, smallest_message)


def test_uidvalidity_reset_with_the_same_mail_is_no_second_credit(tmp_path, db_url, imap_account, smtp_server):
    server, user = imap_account.server, imap_account.user
    raws = [forward_pdf(*DANA, cert("Dana Reyes", n)) for n in (1, 2, 3)]
    with server.client(user) as box:
        box.folder.create("Certs")
    server.append_many(user, raws, folder="Certs")
    app = imap_app(tmp_path, db_url, imap_account, smtp_server, folder="Certs")
    with app.source() as source:
        before = source.folder_state().uidvalidity
    assert poll_tick(app).recorded == 3
    smtp_server.wait_for(3)

    with server.client(user) as box:  # the folder is recreated and the same mail restored into it
        box.folder.delete("Certs")
        box.folder.create("Certs")
    server.append_many(user, raws, folder="Certs")
    with app.source() as source:
        assert source.folder_state().uidvalidity != before

    again = poll_tick(app)
    assert (again.fetched, again.duplicate, again.recorded, again.filed) == (3, 3, 0, 3)
    assert credits(app) == [(f"Odor Control Workshop Session {n}", f"2026-04-0{n}") for n in (1, 2, 3)]
    assert server.uids(user, "Certs") == [] and len(server.uids(user, PROCESSED)) == 6
    assert len(smtp_server.messages) == 3  # the technician did nothing: a server's reset is not news to them
    assert poll_tick(app).fetched == 0


def test_a_message_moved_back_to_the_inbox_is_filed_again_without_a_second_credit(
        tmp_path, db_url, imap_account, smtp_server):
    server, user = imap_account.server, imap_account.user
    server.append(user, forward_pdf(*LEE, cert("Lee Okafor", 5)))
    app = imap_app(tmp_path, db_url, imap_account, smtp_server)
    assert poll_tick(app).recorded == 1
    [uid] = server.uids(user, PROCESSED)
    with server.client(user) as box:  # a person drags it back into the inbox
        box.client.select('"mailbot/Processed"')
        assert box.client.uid("MOVE", str(uid), "INBOX")[0] == "OK"

    again = poll_tick(app)
    assert (again.fetched, again.duplicate, again.recorded, again.filed) == (1, 1, 0, 1)
    assert credits(app) == [("Odor Control Workshop Session 5", "2026-04-05")]
    assert server.uids(user, "INBOX") == [] and len(server.uids(user, PROCESSED)) == 1
    assert len(smtp_server.messages) == 1  # the email Lee already had a receipt for: none again
    with session_scope(app.engine) as s:
        rows = s.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [r.state for r in rows] == ["recorded", "duplicate"] and rows[1].duplicate_of == rows[0].id


def test_one_certificate_forwarded_three_ways_is_one_credit_and_two_already_recorded_receipts(
        tmp_path, db_url, imap_account, smtp_server):
    server, user = imap_account.server, imap_account.user
    the_cert = cert("Dana Reyes", 7)
    ways = [forward_pdf(*DANA, the_cert), forward_as_attachment(*DANA, the_cert),
            forward_zipped_octet_stream(*DANA, the_cert), forward_pdf(*DANA, the_cert, subject="again")]
    app = imap_app(tmp_path, db_url, imap_account, smtp_server)
    for raw in ways:  # one at a time, so "first" is well defined
        server.append(user, raw)
        poll_tick(app)

    assert credits(app) == [("Odor Control Workshop Session 7", "2026-04-07")]
    receipts = smtp_server.wait_for(4)
    assert all(m.rcpt_tos == [DANA[0]] for m in receipts)
    today = datetime.now(UTC).date().isoformat()
    first, *repeats = [m.message.get_body(("plain",)).get_content() for m in receipts]
    assert "Recorded: Odor Control Workshop Session 7, completed 2026-04-07" in first
    for text in repeats:
        assert f"Already recorded on {today}: Odor Control Workshop Session 7 (2026-04-07)" in text
        assert "Recorded: " not in text.replace("Already recorded", "")
    assert [m.message["Subject"].startswith("Already recorded") for m in receipts] == [False, True, True, True]
    assert len(server.uids(user, PROCESSED)) == 4 and server.uids(user, "INBOX") == []
