"""Automatic emails to people (receipts, statements, escalations): queued once, claimed, sent at most once.

Each notice has a dedupe key recipient|kind|period, so queueing twice is a no-op. The sender claims
pending → sending with a conditional UPDATE and records the Message-ID before it talks to the server. A
notice found in `sending` after a crash is not resent blindly (the server may have accepted it): it is
marked `interrupted` for the admin to see.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mailbot.errors import ProcessingError
from mailbot.ledger.db import durable_connection, session_scope
from mailbot.ledger.models import Notice, utcnow
from mailbot.mail.compose import Envelope, Rendered, build_message
from mailbot.mail.smtp import DeliveryUnknown, PartialDeliveryError

MAX_ATTEMPTS = 5
READ_CHUNK = 20  # notices read (and built) ahead of sending at a time
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
# Built once: a monthly run executes these thousands of times, and building a statement costs more
# than running it on SQLite.
_CLAIM = (update(_NOTICE).where(_NOTICE.c.id == bindparam("claim_id"), _NOTICE.c.state == "pending")
          .values(state="sending", message_id=bindparam("claim_message_id"), claimed_at=bindparam("claim_at"),
                  attempts=_NOTICE.c.attempts + 1)
          .returning(_NOTICE.c.id, _NOTICE.c.attempts))


def _claim(conn: Connection, notice_id: int, message_id: str, settle: Outcome | None = None) -> Any:
    """pending → sending (with the Message-ID) in one transaction: the claimed (id, attempts), or None if
    lost. The sender has the notice's content already, so only what the outcome needs comes back.

    `settle` is the previous notice's outcome, written in the same transaction: one commit per email
    instead of two, and that outcome is still durable before this email goes out."""
    with conn.begin():
        if settle is not None:
            _write(conn, settle)
        return conn.execute(_CLAIM, {"claim_id": notice_id, "claim_message_id": message_id,
                                     "claim_at": utcnow()}).first()


@functools.cache
def _update_of(columns: tuple[str, ...]) -> Any:
    """UPDATE notice SET <columns> WHERE id = :row_id, built once per set of columns (outcomes use three)."""
    return update(_NOTICE).where(_NOTICE.c.id == bindparam("row_id")).values(
        {column: bindparam(f"new_{column}") for column in columns})


def _write(conn: Connection, outcome: Outcome) -> None:
    notice_id, values = outcome
    conn.execute(_update_of(tuple(sorted(values))),
                 {"row_id": notice_id, **{f"new_{column}": value for column, value in values.items()}})


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


def _sent(conn: Connection, notice: Any, delivery: Future) -> str:
    """Wait for one claimed notice's delivery: "sent" (the caller records it with its next claim),
    "failed" or "stop" (the server is unwell; the rest stay pending for the next tick). Failures are
    recorded here, at once."""
    try:
        delivery.result()
    except PartialDeliveryError:
        return "sent"  # delivered to its only recipient or none that matter: never resend
    except DeliveryUnknown as exc:  # it may have arrived: at most once, so it is not sent again
        _record(conn, (notice.id, {"state": "interrupted", "error": str(exc)}))
        return "failed"
    except ProcessingError as exc:
        _record(conn, _outcome(notice, exc))
        return "failed" if exc.permanent else "stop"
    return "sent"


def _land(conn: Connection, notice: Any, delivery: Future) -> tuple[str, Outcome | None]:
    """The in-flight notice's result, and the success to write with the next claim (None otherwise)."""
    result = _sent(conn, notice, delivery)
    return result, _outcome(notice, None) if result == "sent" else None


def _prepared(conn: Connection, ids: list[int], from_addr: str, from_name: str, domain: str,
              builder: ThreadPoolExecutor) -> Iterator[tuple[Any, str, EmailMessage]]:
    """Each notice with a fresh Message-ID and its message, read READ_CHUNK rows at a time (bodies are the
    bulk of a row: a whole batch of them is not held at once) and built ahead by `builder`, a thread
    that works while this one waits for a commit to reach the disk or for the server's reply."""
    for start in range(0, len(ids), READ_CHUNK):
        with conn.begin():
            rows = list(conn.execute(select(_NOTICE).where(_NOTICE.c.id.in_(ids[start:start + READ_CHUNK]))
                                     .order_by(_NOTICE.c.id)))
        ahead = []
        for row in rows:
            message_id = make_msgid(domain=domain)
            ahead.append((row, message_id, builder.submit(build, row, from_addr, from_name, message_id)))
        for row, message_id, msg in ahead:
            yield row, message_id, msg.result()


def send_pending(engine, transport, from_addr: str, from_name: str, limit: int = 500) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Send up to `limit` pending notices over one open transport. Returns (sent, failed).

    Each email is claimed (committed) only after the previous one's reply came back, so at most one
    email is ever in flight, and its success is committed with the next claim, or at the end. What
    overlaps is pure work: messages are built ahead in one helper thread while this one waits for a
    commit or a reply, and the SMTP conversation runs in another. One database connection serves the
    whole batch, and its commits are durable (a claim lost to a power cut would send that email again)."""
    domain = from_addr.rpartition("@")[2] or "localhost"
    sent = failed = 0
    with (durable_connection(engine) as conn, ThreadPoolExecutor(1, thread_name_prefix="mailbot-smtp") as wire,
          ThreadPoolExecutor(1, thread_name_prefix="mailbot-build") as builder):
        with conn.begin():
            ids = list(conn.execute(select(_NOTICE.c.id).where(_NOTICE.c.state == "pending")
                                    .order_by(_NOTICE.c.id).limit(limit)).scalars())
        settle: Outcome | None = None  # the last success, not yet written
        in_flight: tuple[Any, Future] | None = None
        try:
            for row, message_id, msg in _prepared(conn, ids, from_addr, from_name, domain, builder):
                if in_flight is not None:
                    (result, settle), in_flight = _land(conn, *in_flight), None
                    sent, failed = sent + (result == "sent"), failed + (result != "sent")
                    if result == "stop":
                        break
                claimed, settle = _claim(conn, row.id, message_id, settle), None
                if claimed is not None:
                    in_flight = (claimed, wire.submit(transport.send, msg))
        finally:
            if in_flight is not None:
                result, settle = _land(conn, *in_flight)
                sent, failed = sent + (result == "sent"), failed + (result != "sent")
            if settle is not None:
                _record(conn, settle)
    return sent, failed
