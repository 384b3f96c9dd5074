"""The admin's review queue: what the parser was unsure about, turned into a credit by a person (with the
facts they checked) or dismissed with a reason. Either way the item is resolved with who/when/why."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from mailbot.app import App
from mailbot.errors import MailbotError, NotFound
from mailbot.intake import RecordedCredit
from mailbot.ledger import audit
from mailbot.ledger import credits as credit_ops
from mailbot.ledger.models import Document, InboundMessage, ReviewItem, Technician, utcnow
from mailbot.ledger.techs import get_by_email, view
from mailbot.mail import notices
from mailbot.mail.approval_flow import request_approval
from mailbot.mail.compose import render
from mailbot.mail.drafting import draft_submission


@dataclass(frozen=True)
class Facts:
    """What the admin confirms; anything left None is taken from the extraction."""

    title: str | None = None
    hours: Decimal | None = None
    completed_on: date | None = None
    provider: str | None = None
    approval_number: str | None = None


def _open_item(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"no review item #{item_id}")
    if item.state != "open":
        raise MailbotError(f"review item #{item_id} is already {item.state}")
    return item


def _merged(document: Document | None, given: Facts) -> Facts:
    read = json.loads(document.extraction_json) if document and document.extraction_json else {}
    hours = given.hours if given.hours is not None else (Decimal(str(read["hours"])) if read.get("hours") else None)
    day = given.completed_on or (date.fromisoformat(read["completed_on"]) if read.get("completed_on") else None)
    facts = Facts(title=given.title or read.get("course_title"), hours=hours, completed_on=day,
                  provider=given.provider or read.get("provider"),
                  approval_number=given.approval_number or read.get("approval_number"))
    missing = [name for name in ("title", "hours", "completed_on") if getattr(facts, name) in (None, "")]
    if missing:
        flags = {"title": "--title", "hours": "--hours", "completed_on": "--date"}
        raise MailbotError("the certificate did not say " + ", ".join(missing) + "; give "
                           + " ".join(flags[m] for m in missing))
    return facts


def accept(session: Session, app: App, item_id: int, given: Facts, *, actor: str,
           tech_email: str | None = None) -> tuple[int, int]:
    """Record the credit the admin confirmed and draft its submission. Returns (credit id, draft id)."""
    item = _open_item(session, item_id)
    tech = get_by_email(session, tech_email) if tech_email else \
        (session.get(Technician, item.tech_id) if item.tech_id else None)
    if tech is None:
        raise MailbotError(f"review item #{item_id} has no technician: give --tech EMAIL")
    document = session.get(Document, item.document_id) if item.document_id else None
    facts = _merged(document, given)
    credit = credit_ops.add_credit(session, tech, title=facts.title, hours=facts.hours,
                                   completed_on=facts.completed_on, actor=actor, provider=facts.provider,
                                   approval_number=facts.approval_number, document_id=item.document_id,
                                   message_row_id=item.message_row_id)
    draft = draft_submission(session, app.templates, app.config, tech, credit, document, view(session, tech).email)
    request_approval(session, app, draft)
    _resolve(session, item, actor, "accepted", credit_id=credit.id)
    _tell_technician(session, app, tech, item, RecordedCredit(credit.id, credit.course_title,
                                                               credit.completed_on, credit.hours))
    return credit.id, draft.id


def dismiss(session: Session, item_id: int, *, reason: str, actor: str) -> None:
    _resolve(session, _open_item(session, item_id), actor, "dismissed", reason=reason)


def _resolve(session: Session, item: ReviewItem, actor: str, how: str, **detail) -> None:  # type: ignore[no-untyped-def]
    item.state, item.resolved_by, item.resolved_at = "resolved", actor, utcnow()
    session.add(item)
    audit.record(session, actor, f"review.{how}", "review", item.id, **detail)


def _tell_technician(session: Session, app: App, tech: Technician, item: ReviewItem, credit: RecordedCredit) -> None:
    from mailbot.ledger.balances import balance_summary

    row = session.get(InboundMessage, item.message_row_id) if item.message_row_id else None
    context = {"company": {"name": app.config.company.name, "address": app.config.company_address},
               "tech": {"name": tech.name, "first_name": tech.name.split()[0]}, "original_subject": "",
               "recorded": [{"title": credit.title, "completed_on": credit.completed_on.isoformat(),
                             "hours": credit.hours}],
               "duplicates": [], "review": [], "no_certificate": False,
               "balance": balance_summary(session, app, tech)}
    notices.queue(session, recipient=(row.from_addr if row and row.from_addr else view(session, tech).email),
                  kind="receipt", period=f"review{item.id}", rendered=render(app.templates, "receipt", context),
                  in_reply_to=row.message_id if row else None)
