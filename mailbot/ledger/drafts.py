"""Drafts to IICRC and their one-way trip: drafted → approved → sending → sent (or rejected / failed).

Fail-closed: a draft leaves `drafted` only through approve(), which writes who approved it and when;
the sender claims approved → sending with a conditional UPDATE and acts only if it won the row.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, select

from mailbot.errors import MailbotError, NotFound
from mailbot.ledger import audit
from mailbot.ledger.models import Draft, utcnow

STATES = ("drafted", "approved", "sending", "sent", "rejected", "failed", "interrupted")


def get(session: Session, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFound(f"no draft #{draft_id}")
    return draft


def list_drafts(session: Session, state: str | None = None) -> list[Draft]:
    query = select(Draft).order_by(Draft.id)
    if state:
        query = query.where(Draft.state == state)
    return list(session.exec(query).all())


def approve(session: Session, draft_id: int, *, actor: str) -> Draft:
    draft = get(session, draft_id)
    if draft.state != "drafted":
        raise MailbotError(f"draft #{draft_id} is {draft.state}; only a drafted draft can be approved")
    now = utcnow()
    won = session.execute(update(Draft).where(Draft.id == draft_id, Draft.state == "drafted")
                          .values(state="approved", approved_by=actor, approved_at=now, updated_at=now))
    if won.rowcount != 1:
        raise MailbotError(f"draft #{draft_id} changed while approving; look again")
    audit.record(session, actor, "draft.approve", "draft", draft_id)
    session.refresh(draft)
    return draft


def reject(session: Session, draft_id: int, *, reason: str, actor: str) -> Draft:
    draft = get(session, draft_id)
    if draft.state not in ("drafted", "approved", "failed"):
        raise MailbotError(f"draft #{draft_id} is {draft.state}; it can no longer be rejected")
    draft.state, draft.rejected_reason, draft.updated_at = "rejected", reason, utcnow()
    session.add(draft)
    audit.record(session, actor, "draft.reject", "draft", draft_id, reason=reason)
    return draft


def approved_ids(session: Session) -> list[int]:
    rows = session.exec(select(Draft.id).where(Draft.state == "approved", Draft.approved_by.is_not(None))
                        .order_by(Draft.id))
    return list(rows.all())


def claim_for_sending(session: Session, draft_id: int) -> bool:
    """approved → sending, only if still approved (and approved by someone). True if this worker won it."""
    won = session.execute(update(Draft).where(Draft.id == draft_id, Draft.state == "approved",
                                              Draft.approved_by.is_not(None))
                          .values(state="sending", updated_at=utcnow()))
    return won.rowcount == 1


def mark_sent(session: Session, draft_id: int, message_id: str) -> None:
    session.execute(update(Draft).where(Draft.id == draft_id, Draft.state == "sending")
                    .values(state="sent", smtp_message_id=message_id, sent_at=utcnow(), updated_at=utcnow()))
    audit.record(session, "mailbot", "draft.sent", "draft", draft_id, message_id=message_id)


def mark_failed(session: Session, draft_id: int, error: str, *, permanent: bool) -> None:
    """A permanent failure is shown to the admin; a transient one goes back to approved for the next tick."""
    state = "failed" if permanent else "approved"
    session.execute(update(Draft).where(Draft.id == draft_id, Draft.state == "sending")
                    .values(state=state, error=error, updated_at=utcnow()))
    audit.record(session, "mailbot", "draft.failed" if permanent else "draft.retry", "draft", draft_id,
                 error=error)


def requeue(session: Session, draft_id: int, *, actor: str) -> Draft:
    """failed / interrupted → approved again (the original approval stands; this is recorded)."""
    draft = get(session, draft_id)
    if draft.state not in ("failed", "interrupted"):
        raise MailbotError(f"draft #{draft_id} is {draft.state}; only failed or interrupted drafts are resent")
    if not draft.approved_by:
        raise MailbotError(f"draft #{draft_id} was never approved")
    draft.state, draft.error, draft.updated_at = "approved", None, utcnow()
    session.add(draft)
    audit.record(session, actor, "draft.requeue", "draft", draft_id)
    return draft


def confirm_interrupted_sent(session: Session, draft_id: int, *, actor: str) -> Draft:
    draft = get(session, draft_id)
    if draft.state != "interrupted":
        raise MailbotError(f"draft #{draft_id} is {draft.state}; only an interrupted draft can be marked sent")
    draft.state, draft.sent_at, draft.updated_at = "sent", utcnow(), utcnow()
    session.add(draft)
    audit.record(session, actor, "draft.mark_sent", "draft", draft_id, message_id=draft.smtp_message_id)
    return draft
