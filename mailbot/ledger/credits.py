"""Credits: recorded once per (technician, course, date); voided, never deleted."""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mailbot.errors import MailbotError, NotFound
from mailbot.ledger import audit
from mailbot.ledger.models import Credit, Technician, to_centi, utcnow

KINDS = ("class", "online", "event", "booth", "manual")


def course_key(title: str) -> str:
    """The course part of the business key: case, accents, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def dedupe_key(tech_id: int, title: str, completed_on: date) -> str:
    return f"{tech_id}|{course_key(title)}|{completed_on.isoformat()}"


def find_duplicate(session: Session, tech_id: int, title: str, completed_on: date) -> Credit | None:
    key = dedupe_key(tech_id, title, completed_on)
    return session.exec(select(Credit).where(Credit.dedupe_key == key)).first()


def add_credit(session: Session, tech: Technician, *, title: str, hours: Decimal, completed_on: date,
               actor: str, kind: str = "class", provider: str | None = None,
               approval_number: str | None = None, category: str | None = None, event_key: str | None = None,
               document_id: int | None = None, message_row_id: int | None = None) -> Credit:
    """Record a credit, or raise MailbotError naming the existing one when it is a duplicate."""
    if kind not in KINDS:
        raise MailbotError(f"unknown credit kind {kind!r} (one of {', '.join(KINDS)})")
    if hours <= 0 or hours > 100:
        raise MailbotError(f"hours must be between 0 and 100, got {hours}")
    existing = find_duplicate(session, tech.id, title, completed_on)
    if existing is not None:
        raise MailbotError(f"already recorded on {existing.created_at:%Y-%m-%d} as credit #{existing.id}")
    credit = Credit(tech_id=tech.id, course_title=title.strip(), hours_centi=to_centi(hours),
                    completed_on=completed_on, provider=provider, approval_number=approval_number,
                    category=category, kind=kind, event_key=event_key, document_id=document_id,
                    message_row_id=message_row_id, dedupe_key=dedupe_key(tech.id, title, completed_on),
                    created_by=actor)
    session.add(credit)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a concurrent writer won the race
        raise MailbotError("already recorded (a concurrent pass recorded it first)") from None
    audit.record(session, actor, "credit.add", "credit", credit.id, hours=str(hours), title=title)
    return credit


def void_credit(session: Session, credit_id: int, *, reason: str, actor: str) -> Credit:
    credit = session.get(Credit, credit_id)
    if credit is None:
        raise NotFound(f"no credit #{credit_id}")
    if credit.state == "voided":
        raise MailbotError(f"credit #{credit_id} is already voided")
    credit.state, credit.dedupe_key = "voided", None
    credit.voided_by, credit.voided_at, credit.void_reason = actor, utcnow(), reason
    session.add(credit)
    audit.record(session, actor, "credit.void", "credit", credit.id, reason=reason)
    return credit


def list_credits(session: Session, tech_id: int | None = None) -> list[Credit]:
    query = select(Credit).order_by(Credit.completed_on, Credit.id)
    if tech_id is not None:
        query = query.where(Credit.tech_id == tech_id)
    return list(session.exec(query).all())
