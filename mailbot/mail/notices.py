"""Automatic emails to people (receipts, statements, escalations): queued once, claimed, sent at most once.

Each notice has a dedupe key recipient|kind|period, so queueing twice is a no-op. The sender claims
pending → sending with a conditional UPDATE and records the Message-ID before it talks to the server. A
notice found in `sending` after a crash is not resent blindly (the server may have accepted it): it is
marked `interrupted` for the admin to see.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mailbot.errors import ProcessingError
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Notice, utcnow
from mailbot.mail.compose import Envelope, Rendered, build_message
from mailbot.mail.smtp import DeliveryUnknown, PartialDeliveryError

MAX_ATTEMPTS = 5
Outcome = tuple[int, dict[str, Any]]  # (notice id, column values) to write
_UPSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # dialects with ON CONFLICT DO NOTHING


def queue(session: Session, *, recipient: str, kind: str, period: str, rendered: Rendered,
          in_reply_to: str | None = None) -> bool:
    """Queue a notice unless the same (recipient, kind, period) exists. True if newly queued."""
    notice = Notice(dedupe_key=f"{recipient.lower()}|{kind}|{period}", recipient=recipient, kind=kind,
                    subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
                    in_reply_to=in_reply_to)
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:
        return False
    return True


def queue_many(session: Session, *, kind: str, period: str, items: list[tuple[str, Rendered]]) -> int:
    """Queue (recipient, rendered) notices of one kind and period in one INSERT; a notice whose
    recipient|kind|period exists is skipped, as queue() does. Returns how many were newly queued."""
    if not items:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect not in _UPSERT:  # no INSERT … ON CONFLICT here: one savepoint per row instead
        return sum(queue(session, recipient=r, kind=kind, period=period, rendered=x) for r, x in items)
    now = utcnow()
    rows = [{"dedupe_key": f"{recipient.lower()}|{kind}|{period}", "recipient": recipient, "kind": kind,
             "subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html,
             "in_reply_to": None, "state": "pending", "attempts": 0, "created_at": now}
            for recipient, rendered in items]
    insert = _UPSERT[dialect](Notice).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Notice.id)
    return len(session.execute(insert, rows).all())


def build(notice: Any, from_addr: str, from_name: str, message_id: str) -> EmailMessage:
    headers = {"Auto-Submitted": "auto-replied" if notice.kind == "receipt" else "auto-generated",
               "X-Auto-Response-Suppress": "All", "Date": formatdate(localtime=False)}
    if notice.in_reply_to:
        headers["In-Reply-To"] = notice.in_reply_to
        headers["References"] = notice.in_reply_to
    envelope = Envelope(from_addr=from_addr, from_name=from_name, to=(notice.recipient,), headers=headers)
    rendered = Rendered(notice.subject, notice.body_text, notice.body_html)
    return build_message(rendered, envelope, message_id=message_id)


_NOTICE = Notice.__table__


def _claim(conn: Connection, notice_id: int, message_id: str, settle: Outcome | None = None) -> Any:
    """pending → sending (with the Message-ID), returning the row to send, in one transaction; None if lost.

    `settle` is the previous notice's outcome, written in the same transaction: one commit per email
    instead of two, and that outcome is still durable before this email goes out."""
    with conn.begin():
        if settle is not None:
            _write(conn, settle)
        return conn.execute(update(_NOTICE).where(_NOTICE.c.id == notice_id, _NOTICE.c.state == "pending")
                            .values(state="sending", message_id=message_id, claimed_at=utcnow(),
                                    attempts=_NOTICE.c.attempts + 1)
                            .returning(*_NOTICE.c)).first()


def _write(conn: Connection, outcome: Outcome) -> None:
    notice_id, values = outcome
    conn.execute(update(_NOTICE).where(_NOTICE.c.id == notice_id).values(**values))


def _outcome(notice: Any, error: ProcessingError | None) -> Outcome:
    if error is None:
        return notice.id, {"state": "sent", "sent_at": utcnow(), "error": None}
    retry = not error.permanent and notice.attempts < MAX_ATTEMPTS
    return notice.id, {"state": "pending" if retry else "failed", "error": str(error)}


def _record(conn: Connection, outcome: Outcome) -> None:
    with conn.begin():
        _write(conn, outcome)


def recover_interrupted(engine) -> int:  # type: ignore[no-untyped-def]
    """Only the lock holder calls this, so any `sending` row belongs to a process that died mid-send."""
    with session_scope(engine) as s:
        stale = s.execute(update(Notice).where(Notice.state == "sending")
                          .values(state="interrupted",
                                  error="interrupted while sending; not resent so nobody gets it twice"))
        return stale.rowcount


def pending_count(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return len(list(s.exec(select(Notice.id).where(Notice.state == "pending").limit(1))))


def _send_one(conn: Connection, transport: Any, notice: Any, msg: EmailMessage) -> str:
    """Send one claimed notice: "sent" (the caller records it), "failed" or "stop" (the server is unwell;
    the rest stay pending for the next tick). Failures are recorded here, at once."""
    try:
        transport.send(msg)
    except PartialDeliveryError:
        return "sent"  # delivered to its only recipient or none that matter: never resend
    except DeliveryUnknown as exc:  # it may have arrived: at most once, so it is not sent again
        _record(conn, (notice.id, {"state": "interrupted", "error": str(exc)}))
        return "failed"
    except ProcessingError as exc:
        _record(conn, _outcome(notice, exc))
        return "failed" if exc.permanent else "stop"
    return "sent"


def send_pending(engine, transport, from_addr: str, from_name: str, limit: int = 500) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Send up to `limit` pending notices over one open transport. Returns (sent, failed).

    Each email is claimed (committed) before it goes out; its success is committed with the next
    claim, or at the end. One database connection serves the whole batch."""
    domain = from_addr.rpartition("@")[2] or "localhost"
    sent = failed = 0
    with engine.connect() as conn:
        with conn.begin():
            ids = list(conn.execute(select(_NOTICE.c.id).where(_NOTICE.c.state == "pending")
                                    .order_by(_NOTICE.c.id).limit(limit)).scalars())
        settle: Outcome | None = None  # the last success, not yet written
        try:
            for notice_id in ids:
                message_id = make_msgid(domain=domain)
                notice, settle = _claim(conn, notice_id, message_id, settle), None
                if notice is None:
                    continue
                result = _send_one(conn, transport, notice, build(notice, from_addr, from_name, message_id))
                if result == "sent":
                    sent, settle = sent + 1, _outcome(notice, None)
                    continue
                failed += 1
                if result == "stop":
                    break
        finally:
            if settle is not None:
                _record(conn, settle)
    return sent, failed
