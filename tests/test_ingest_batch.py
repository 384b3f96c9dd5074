"""A batch of messages is written in one transaction with a savepoint per message, and its evidence files
are flushed together before the commit: a message that fails to write rolls back alone and is retried,
the rest of its batch is recorded and filed; evidence of a batch that fails never appears half-written.
Embedded setup (Maildir inbox, file outbox) on real SQLite and PostgreSQL."""
from __future__ import annotations

import mailbox
import threading
from decimal import Decimal
from email import message_from_bytes

import pytest
from sqlmodel import select

from mailbot.domain import sha256_hex
from mailbot.jobs import poll_tick
from mailbot.ledger.db import session_scope
from mailbot.ledger.evidence import EvidenceStore
from mailbot.ledger.models import Credit, InboundMessage
from mailbot.ledger.techs import add_technician
from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.helpers import INBOX_ADDR, make_app

PEOPLE = [("Dana Reyes", "dana@techs.example"), ("Lee Okafor", "lee@techs.example"),
          ("Sam Whitfield", "sam@techs.example")]


def _forward(i: int) -> bytes:
    name, addr = PEOPLE[i % len(PEOPLE)]
    cert = SampleCertificate(name, f"Structural Drying Seminar Part {i}", f"{i % 5 + 1} CECs", "March 14, 2026",
                             "Gulf Coast Restoration Academy")
    return forwarded_email(sender=addr, sender_name=name, to=INBOX_ADDR, provider_addr="x@p.example",
                           subject=f"cert {i}", attachment=certificate_pdf(cert))


def _forwards_with_a_victim(n: int) -> tuple[list[bytes], int]:
    """n forwards and the index of one whose raw email's evidence folder (first two hex digits of its
    SHA-256) is shared by no other file of the batch: neither another email nor any certificate."""
    while True:
        raws = [_forward(i) for i in range(n)]
        pdfs = [part.get_payload(decode=True) for raw in raws
                for part in message_from_bytes(raw).walk() if part.get_content_type() == "application/pdf"]
        prefixes = [sha256_hex(data)[:2] for data in raws + pdfs]
        for i in range(n):
            if prefixes.count(prefixes[i]) == 1:
                return raws, i


def _rows(app) -> dict[str | None, tuple[str, bool]]:  # type: ignore[no-untyped-def]
    with session_scope(app.engine) as s:
        return {r.subject: (r.state, r.filed_at is not None) for r in s.exec(select(InboundMessage))}


def test_a_message_that_cannot_be_written_is_retried_and_its_batch_is_recorded(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        for name, addr in PEOPLE:
            add_technician(s, name, [addr])
    raws, victim = _forwards_with_a_victim(6)
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in raws:
        box.add(mailbox.MaildirMessage(raw))
    # The evidence folder for the victim's raw email is blocked by a file of that name: storing it fails
    # (a real OSError from the disk layer), while every other file of the batch lands in other folders.
    blocked = app.evidence.root / sha256_hex(raws[victim])[:2]
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a folder")

    report = poll_tick(app)

    assert (report.fetched, report.recorded, report.retry, report.filed) == (6, 5, 1, 5)
    others = [i for i in range(6) if i != victim]
    rows = _rows(app)
    assert rows.pop(None) == ("retry", False)  # what it wrote was rolled back with its savepoint
    assert rows == {f"Fwd: cert {i}": ("recorded", True) for i in others}
    with session_scope(app.engine) as s:
        credits = {c.course_title: c.hours for c in s.exec(select(Credit))}
    assert credits == {f"Structural Drying Seminar Part {i}": Decimal(i % 5 + 1) for i in others}

    blocked.unlink()  # the cause is fixed; the retry is due after its backoff
    with session_scope(app.engine) as s:
        row = s.exec(select(InboundMessage).where(InboundMessage.state == "retry")).one()
        row.next_attempt_at = None
        s.add(row)
    again = poll_tick(app)
    assert (again.fetched, again.recorded, again.filed) == (1, 1, 1)
    assert _rows(app)[f"Fwd: cert {victim}"] == ("recorded", True)


def test_evidence_of_a_batch_appears_only_when_the_batch_ends_well(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    with store.synced_together():
        first = store.put(b"%PDF-1.4 first", "application/pdf")
        assert store.put(b"%PDF-1.4 first", "application/pdf") == first  # same bytes, same path
        second = store.put(b"raw email", "message/rfc822")
        assert not first.exists() and not second.exists()  # not before the flush
    assert first.read_bytes() == b"%PDF-1.4 first" and second.read_bytes() == b"raw email"

    with pytest.raises(RuntimeError), store.synced_together():
        lost = store.put(b"%PDF-1.4 lost", "application/pdf")
        raise RuntimeError("the transaction failed")
    assert not lost.exists()
    leftovers = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file() and p.name.startswith(".tmp-")]
    assert leftovers == []


def test_nested_batches_join_and_other_threads_write_at_once(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    seen_from_thread = []
    with store.synced_together():
        with store.synced_together():
            inner = store.put(b"inner", "application/pdf")
        assert not inner.exists()  # the outer block decides

        def elsewhere() -> None:
            path = store.put(b"another thread", "application/pdf")
            seen_from_thread.append(path.exists())

        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join()
    assert inner.exists() and seen_from_thread == [True]
