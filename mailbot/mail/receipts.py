"""The receipt a technician gets seconds after forwarding: what was recorded, what went to review, and why."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.domain import MailFacts
from mailbot.intake import Recorded, first_name
from mailbot.ledger.models import InboundMessage, Notice, Technician
from mailbot.mail import notices
from mailbot.mail.compose import one_line, render

log = logging.getLogger("mailbot.receipts")

REVIEW_WHAT = {
    "unreadable": "we could not read the file",
    "extraction": "part of the certificate was unclear",
    "name-mismatch": "the name on the certificate does not match yours",
}


def receipt_context(app: App, tech: Technician, facts: MailFacts, out: Recorded,
                    balance: dict[str, Any] | None) -> dict[str, Any]:
    review = [{"what": REVIEW_WHAT.get(r.kind, r.kind), "reason": r.reason}
              for r in out.review if r.kind != "no-certificate"]
    return {
        "company": {"name": app.config.company.name, "address": app.config.company_address},
        "tech": {"name": tech.name, "first_name": first_name(tech.name)},
        "original_subject": one_line(facts.subject)[:80],
        "recorded": [{"title": c.title, "completed_on": c.completed_on.isoformat(), "hours": c.hours}
                     for c in out.credits],
        "duplicates": [{"title": d.title, "completed_on": d.completed_on.isoformat(),
                        "recorded_on": d.recorded_on.isoformat()} for d in out.duplicates],
        "review": review,
        "no_certificate": any(r.kind == "no-certificate" for r in out.review),
        "balance": balance,
    }


RECEIPTS_PER_HOUR = 10  # per recipient: a loop with another robot, or a flood, stops here


def over_rate_limit(session: Session, recipient: str, now: datetime) -> bool:
    since = now - timedelta(hours=1)
    recent = session.exec(select(func.count()).select_from(Notice).where(
        Notice.recipient == recipient, Notice.kind == "receipt", Notice.created_at >= since)).one()
    return recent >= RECEIPTS_PER_HOUR


def queue_receipt(session: Session, app: App, row: InboundMessage, tech: Technician, facts: MailFacts,
                  out: Recorded) -> None:
    from mailbot.ledger.balances import balance_summary  # late: the rules engine is optional here

    if over_rate_limit(session, facts.from_addr, app.clock()):
        log.warning("receipt not sent: rate limit recipient=%s message=%s", facts.from_addr, row.id)
        return
    balance = balance_summary(session, app, tech)
    rendered = render(app.templates, "receipt", receipt_context(app, tech, facts, out, balance))
    notices.queue(session, recipient=facts.from_addr, kind="receipt", period=f"msg{row.id}",
                  rendered=rendered, in_reply_to=facts.message_id)
