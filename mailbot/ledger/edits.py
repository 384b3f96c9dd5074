"""Corrections before approval: `drafts edit` changes the credit's facts and re-renders the draft.

Every edit is an audit row with the old and new values; an open emailed approval token stops working
(the nonce is rotated and a fresh request goes out), so nobody approves text they did not see.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from mailbot.errors import MailbotError
from mailbot.ledger import audit
from mailbot.ledger import credits as credit_ops
from mailbot.ledger.models import Credit, Draft, Technician, to_centi, utcnow


def apply_edit(session: Session, draft: Draft, *, actor: str, hours: Decimal | None = None,
               title: str | None = None, completed_on: date | None = None, provider: str | None = None,
               approval_number: str | None = None) -> tuple[Credit, Technician, dict]:
    if draft.state != "drafted":
        raise MailbotError(f"draft #{draft.id} is {draft.state}; only a drafted draft can be edited")
    if draft.credit_id is None:
        raise MailbotError(f"draft #{draft.id} has no credit to edit")
    credit = session.get(Credit, draft.credit_id)
    changes: dict = {}
    if hours is not None and not (0 < hours <= 100):
        raise MailbotError(f"hours must be between 0 and 100, got {hours}")
    if hours is not None and to_centi(hours) != credit.hours_centi:
        changes["hours"] = {"from": str(credit.hours.normalize()), "to": str(hours)}
        credit.hours_centi = to_centi(hours)
    for field_name, value in (("course_title", title), ("completed_on", completed_on),
                              ("provider", provider), ("approval_number", approval_number)):
        if value is not None and getattr(credit, field_name) != value:
            changes[field_name] = {"from": str(getattr(credit, field_name)), "to": str(value)}
            setattr(credit, field_name, value)
    if not changes:
        raise MailbotError("nothing to change: give --hours, --title, --date, --provider or --approval-number")
    key = credit_ops.dedupe_key(credit.tech_id, credit.course_title, credit.completed_on)
    clash = credit_ops.find_duplicate(session, credit.tech_id, credit.course_title, credit.completed_on)
    if clash is not None and clash.id != credit.id:
        raise MailbotError(f"that would duplicate credit #{clash.id}")
    credit.dedupe_key = key
    session.add(credit)
    draft.updated_at = utcnow()
    draft.approval_nonce = None  # any emailed token for the old text stops working
    audit.record(session, actor, "draft.edit", "draft", draft.id, credit_id=credit.id, changes=changes)
    return credit, session.get(Technician, credit.tech_id), changes
