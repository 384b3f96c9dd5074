"""Ledger operations on a real database (SQLite, and PostgreSQL when configured)."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from mailbot.errors import MailbotError
from mailbot.ledger import credits as credit_ops
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import init_db, make_engine, session_scope
from mailbot.ledger.models import Credit, Draft, InboundMessage
from mailbot.ledger.techs import add_technician, find_by_address, list_views


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def tech_id(engine):
    with session_scope(engine) as s:
        tech = add_technician(s, "Dana Reyes", ["Dana.Reyes@Example.com", "dr.phone@example.net"],
                              iicrc_id="100234", certifications=[("wrt", date(2023, 4, 3))])
        return tech.id


def test_addresses_are_normalised_and_plus_tags_ignored(engine, tech_id):
    with session_scope(engine) as s:
        assert find_by_address(s, "DANA.REYES+certs@example.COM").id == tech_id
        assert find_by_address(s, "dr.phone@example.net").id == tech_id
        assert find_by_address(s, "someone@example.com") is None
        [v] = list_views(s)
        assert v.emails == ("dana.reyes@example.com", "dr.phone@example.net")
        assert v.certifications == (("WRT", date(2023, 4, 3)),)


def test_an_address_belongs_to_one_technician(engine, tech_id):
    with pytest.raises(MailbotError, match="already belongs"), session_scope(engine) as s:
        add_technician(s, "Other Person", ["dana.reyes@example.com"])


def _add(engine, tech_id, title="Applied Microbial Remediation", hours="7", on=date(2026, 3, 14)):
    with session_scope(engine) as s:
        from mailbot.ledger.models import Technician
        return credit_ops.add_credit(s, s.get(Technician, tech_id), title=title, hours=Decimal(hours),
                                     completed_on=on, actor="test").id


def test_same_course_and_date_counts_once_whatever_the_spelling(engine, tech_id):
    _add(engine, tech_id)
    with pytest.raises(MailbotError, match="already recorded"):
        _add(engine, tech_id, title="APPLIED microbial  remediation.")
    _add(engine, tech_id, on=date(2026, 3, 15))  # another date is another credit
    with session_scope(engine) as s:
        assert s.exec(select(func.count()).select_from(Credit)).one() == 2


def test_void_keeps_the_row_and_frees_the_key(engine, tech_id):
    credit_id = _add(engine, tech_id)
    with session_scope(engine) as s:
        credit_ops.void_credit(s, credit_id, reason="entered by mistake", actor="test")
    again = _add(engine, tech_id)
    with session_scope(engine) as s:
        voided = s.get(Credit, credit_id)
        assert (voided.state, voided.void_reason, voided.voided_by) == ("voided", "entered by mistake", "test")
        assert again != credit_id


def test_hours_are_exact(engine, tech_id):
    _add(engine, tech_id, title="a", hours="0.1")
    _add(engine, tech_id, title="b", hours="0.2")
    with session_scope(engine) as s:
        total = sum((c.hours for c in credit_ops.list_credits(s, tech_id)), Decimal(0))
    assert total == Decimal("0.3")


def _draft(engine, tech_id):
    with session_scope(engine) as s:
        draft = Draft(tech_id=tech_id, to_addr="renewals@iicrcnet.org", subject="s", body_text="t", body_html="h")
        s.add(draft)
        s.flush()
        return draft.id


def test_only_an_approved_draft_can_be_claimed_and_only_once(engine, tech_id):
    draft_id = _draft(engine, tech_id)
    with session_scope(engine) as s:
        assert draft_ops.claim_for_sending(s, draft_id) is False  # fail-closed: no approval row
    with session_scope(engine) as s:
        draft_ops.approve(s, draft_id, actor="cli:office")
    with session_scope(engine) as s:
        assert draft_ops.claim_for_sending(s, draft_id) is True
    with session_scope(engine) as s:
        assert draft_ops.claim_for_sending(s, draft_id) is False
        assert s.get(Draft, draft_id).approved_by == "cli:office"


def test_rejected_draft_cannot_be_approved(engine, tech_id):
    draft_id = _draft(engine, tech_id)
    with session_scope(engine) as s:
        draft_ops.reject(s, draft_id, reason="not an approved course", actor="cli:office")
    with pytest.raises(MailbotError, match="rejected"), session_scope(engine) as s:
        draft_ops.approve(s, draft_id, actor="cli:office")


def test_uids_above_two_billion_are_stored(engine):
    with session_scope(engine) as s:
        s.add(InboundMessage(account="imap://x", folder="INBOX", uidvalidity=3_000_000_000, mailbox_key="4000000000"))
    with session_scope(engine) as s:
        assert s.exec(select(InboundMessage.uidvalidity)).one() == 3_000_000_000


def test_a_failed_transaction_leaves_no_credit_behind(engine, tech_id):
    """A credit written in a savepoint must still roll back with its transaction (SQLite's driver trap)."""
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        from mailbot.ledger.models import Technician
        credit_ops.add_credit(s, s.get(Technician, tech_id), title="Rolled back", hours=Decimal(3),
                              completed_on=date(2026, 1, 5), actor="test")
        raise RuntimeError("a later step fails")
    with session_scope(engine) as s:
        assert credit_ops.list_credits(s, tech_id) == []


def _synchronous(dbapi_connection) -> int:  # type: ignore[no-untyped-def]
    return dbapi_connection.execute("PRAGMA synchronous").fetchone()[0]


def test_a_durable_connection_commits_with_full_sync_and_gives_the_connection_back_as_it_was(tmp_path):
    from mailbot.ledger.db import durable_connection

    engine = make_engine(f"sqlite:///{tmp_path / 'l.db'}")
    init_db(engine)
    with durable_connection(engine) as conn:
        assert _synchronous(conn.connection.driver_connection) == 2  # FULL: the WAL is flushed at each commit
    with engine.connect() as conn:  # the pool hands back the same connection, as every other user gets it
        assert _synchronous(conn.connection.driver_connection) == 1  # NORMAL
    engine.dispose()


def test_every_notice_claim_is_committed_durably_before_its_email_goes_out(tmp_path):
    """A claim a power cut could undo would send that email again: each commit that moves a notice to
    `sending` runs with synchronous=FULL on SQLite."""
    from sqlalchemy import event

    from mailbot.mail import notices
    from mailbot.mail.compose import Rendered
    from mailbot.mail.fileoutbox import FileTransport

    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    init_db(engine)
    with session_scope(engine) as s:
        for i in range(3):
            notices.queue(s, recipient=f"t{i}@example.com", kind="statement", period="2026-12",
                          rendered=Rendered(f"Statement {i}", "text", "<p>html</p>"))
    seen: list[int] = []
    event.listen(engine, "commit", lambda conn: seen.append(_synchronous(conn.connection.driver_connection)))
    with FileTransport(tmp_path / "outbox") as transport:
        assert notices.send_pending(engine, transport, "cec@acme.example", "Acme") == (3, 0)
    assert len(seen) >= 4 and set(seen) == {2}  # the read, 3 claims (each with the previous success), the last
    engine.dispose()


def test_one_notice_is_in_flight_at_a_time_and_every_earlier_one_is_already_settled(tmp_path, engine):
    """The sender builds ahead and talks SMTP in helper threads, but claims the next notice only after the
    previous reply: when any email goes out, it is the only one `sending` and all before it are `sent`."""
    from mailbot.ledger.models import Notice
    from mailbot.mail import notices
    from mailbot.mail.compose import Rendered
    from mailbot.mail.fileoutbox import FileTransport

    recipients = [f"t{i}@example.com" for i in range(6)]
    with session_scope(engine) as s:
        for addr in recipients:
            notices.queue(s, recipient=addr, kind="statement", period="2026-12",
                          rendered=Rendered(f"Statement for {addr}", "text", "<p>html</p>"))
    seen: list[tuple[str, dict[str, str]]] = []

    class Observed(FileTransport):  # the real file transport, looking at the ledger as each email leaves
        def send(self, msg):  # type: ignore[no-untyped-def]
            with session_scope(engine) as s:
                seen.append((str(msg["To"]), dict(s.exec(select(Notice.recipient, Notice.state)).all())))
            return super().send(msg)

    with Observed(tmp_path / "outbox") as transport:
        assert notices.send_pending(engine, transport, "cec@acme.example", "Acme") == (6, 0)
    assert [to for to, _ in seen] == recipients
    for i, (to, states) in enumerate(seen):
        assert [r for r, state in states.items() if state == "sending"] == [to]
        assert all(states[r] == "sent" for r in recipients[:i]) and all(
            states[r] == "pending" for r in recipients[i + 1:])
    with session_scope(engine) as s:
        assert set(s.exec(select(Notice.state)).all()) == {"sent"}
