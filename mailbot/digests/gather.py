"""Reads the ledger for the digests: one technician's snapshot (balance, credits, review, plan, next step).

Thin: queries and conversion to the pure builders' line types, nothing decided here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from mailbot.digests.statement import CreditLine, NextStep, PlanLine, ReviewLine, next_suggested_step
from mailbot.ledger.balances import compute_for, tech_record
from mailbot.ledger.models import Credit, Draft, PlanEntry, ReviewItem, Technician, from_centi

REVIEW_WORDS = {
    "extraction": "a certificate with an unclear part",
    "unreadable": "a file we could not read",
    "name-mismatch": "a certificate whose name does not match yours",
    "no-certificate": "an email without a certificate",
    "limit": "a file over the size limits",
    "unknown-sender": "an email from an address we do not know",
}


@dataclass(frozen=True)
class TechSnapshot:
    tech_id: int
    name: str
    email: str
    balance: Any  # mailbot.rules Balance
    credits: list[CreditLine]
    review: list[ReviewLine]
    planned: list[PlanLine]
    next_step: NextStep | None


def submission_state(draft: Draft | None) -> str:
    """recorded / sent / confirmed, as the technician understands it."""
    if draft is None:
        return "recorded"
    if draft.confirmed_at is not None or draft.state == "confirmed":
        return "confirmed"
    return "sent" if draft.state == "sent" else "recorded"


def active_technicians(session: Session) -> list[Technician]:
    return list(session.exec(select(Technician).where(Technician.active == True)
                             .order_by(Technician.id)).all())


def cycle_credits(session: Session, tech_id: int, start: date | None, end: date | None,
                  as_of: date) -> list[CreditLine]:
    if start is None or end is None:
        return []
    drafts = {d.credit_id: d for d in session.exec(select(Draft).where(Draft.tech_id == tech_id)).all()}
    rows = session.exec(select(Credit).where(Credit.tech_id == tech_id, Credit.state == "recorded",
                                             Credit.completed_on >= start, Credit.completed_on < end,
                                             Credit.completed_on <= as_of)).all()
    return [CreditLine(c.course_title, c.completed_on, from_centi(c.hours_centi), submission_state(drafts.get(c.id)))
            for c in rows]


def open_review(session: Session, tech_id: int) -> list[ReviewLine]:
    rows = session.exec(select(ReviewItem).where(ReviewItem.tech_id == tech_id, ReviewItem.state == "open")
                        .order_by(ReviewItem.id)).all()
    return [ReviewLine(REVIEW_WORDS.get(r.kind, r.kind),
                       from_centi(r.hours_centi) if r.hours_centi is not None else None) for r in rows]


def planned_items(session: Session, tech_id: int, as_of: date, end: date | None) -> list[PlanLine]:
    query = select(PlanEntry).where(PlanEntry.tech_id == tech_id, PlanEntry.on >= as_of)
    if end is not None:
        query = query.where(PlanEntry.on < end)
    return [PlanLine(p.on, p.title, from_centi(p.hours_centi)) for p in session.exec(query.order_by(PlanEntry.on))]


def next_step_for(record: Any, rules: Any, planned: list[PlanLine], as_of: date) -> NextStep | None:
    from mailbot.rules import plan_from_template

    kinds = {t.title: t.kind for t in rules.plan_template}
    items = plan_from_template(record, rules, as_of.year) + plan_from_template(record, rules, as_of.year + 1)
    return next_suggested_step([(i, kinds.get(i.title, "")) for i in items], {p.title for p in planned}, as_of)


def snapshot(session: Session, rules: Any, tech: Technician, as_of: date) -> TechSnapshot:
    balance = compute_for(session, rules, tech, as_of)
    record = tech_record(session, tech)
    planned = planned_items(session, tech.id, as_of, balance.cycle_end)
    return TechSnapshot(
        tech_id=tech.id, name=tech.name, email=record.email, balance=balance,
        credits=cycle_credits(session, tech.id, balance.cycle_start, balance.cycle_end, as_of),
        review=open_review(session, tech.id), planned=planned,
        next_step=next_step_for(record, rules, planned, as_of) if balance.status != "complete" else None,
    )
