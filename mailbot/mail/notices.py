"""Automatic emails to people (receipts, statements, escalations): queued once, claimed, sent at most once.

Each notice has a dedupe key recipient|kind|period, so queueing twice is a no-op. The sender claims
pending → sending with a conditional UPDATE and records the Message-ID before it talks to the server. A
notice found in `sending` after a crash is not resent blindly (the server may have accepted it): it is
marked `interrupted` for the admin to see.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mailbot.errors import ProcessingError
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Notice, utcnow
from mailbot.mail.compose import Envelope, Rendered, build_message
from mailbot.mail.smtp import DeliveryUnknown, PartialDeliveryError

MAX_ATTEMPTS = 5


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


def build(notice: Notice, from_addr: str, from_name: str, message_id: str) -> EmailMessage:
    headers = {"Auto-Submitted": "auto-replied" if notice.kind == "receipt" else "auto-generated",
               "X-Auto-Response-Suppress": "All", "Date": formatdate(localtime=False)}
    if notice.in_reply_to:
        headers["In-Reply-To"] = notice.in_reply_to
        headers["References"] = notice.in_reply_to
    envelope = Envelope(from_addr=from_addr, from_name=from_name, to=(notice.recipient,), headers=headers)
    rendered = Rendered(notice.subject, notice.body_text, notice.body_html)
    return build_message(rendered, envelope, message_id=message_id)


def _claim(engine, notice_id: int, message_id: str) -> Notice | None:  # type: ignore[no-untyped-def]
    """pending → sending (with the Message-ID) and the row to send, in one transaction; None if lost."""
    with session_scope(engine) as s:
        won = s.execute(update(Notice).where(Notice.id == notice_id, Notice.state == "pending")
                        .values(state="sending", message_id=message_id, claimed_at=utcnow(),
                                attempts=Notice.attempts + 1))
        return s.get(Notice, notice_id) if won.rowcount == 1 else None


def _finish(engine, notice: Notice, error: ProcessingError | None) -> None:  # type: ignore[no-untyped-def]
    if error is None:
        values = {"state": "sent", "sent_at": utcnow(), "error": None}
    else:
        retry = not error.permanent and notice.attempts < MAX_ATTEMPTS
        values = {"state": "pending" if retry else "failed", "error": str(error)}
    with session_scope(engine) as s:
        s.execute(update(Notice).where(Notice.id == notice.id).values(**values))


def _interrupted(engine, notice_id: int, error: str) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        s.execute(update(Notice).where(Notice.id == notice_id).values(state="interrupted", error=error))


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


def send_pending(engine, transport, from_addr: str, from_name: str, limit: int = 500) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Send up to `limit` pending notices over one open transport. Returns (sent, failed)."""
    with session_scope(engine) as s:
        ids = list(s.exec(select(Notice.id).where(Notice.state == "pending").order_by(Notice.id).limit(limit)))
    sent = failed = 0
    for notice_id in ids:
        message_id = make_msgid(domain=from_addr.rpartition("@")[2] or "localhost")
        notice = _claim(engine, notice_id, message_id)
        if notice is None:
            continue
        try:
            transport.send(build(notice, from_addr, from_name, message_id))
        except PartialDeliveryError:
            pass  # delivered to its only recipient or none that matter: never resend
        except DeliveryUnknown as exc:  # it may have arrived: at most once, so it is not sent again
            _interrupted(engine, notice_id, str(exc))
            failed += 1
            continue
        except ProcessingError as exc:
            _finish(engine, notice, exc)
            failed += 1
            if not exc.permanent:
                break  # the server is unwell: the rest stay pending for the next tick
            continue
        _finish(engine, notice, None)
        sent += 1
    return sent, failed
