"""Reads the ledger for the digests: each technician's snapshot (balance, credits, review, plan, next step).

Thin: bulk queries and conversion to the pure builders' line types, nothing decided here. A single
snapshot (the preview) goes through the same bulk path as the monthly run, so both say the same.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from mailbot.digests.statement import CreditLine, NextStep, PlanLine, ReviewLine, next_suggested_step
from mailbot.ledger.balances import credit_records_of, pending_review_records_of, plan_items_of, record_of
from mailbot.ledger.models import (
    Certification,
    Credit,
    Draft,
    PlanEntry,
    ReviewItem,
    TechAddress,
    Technician,
    from_centi,
)
from mailbot.ledger.techs import TechView

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


@dataclass(frozen=True)
class TeamRows:
    """Every ledger row a statement reads, for a group of technicians, grouped by technician id.

    Read with one query per table for the whole group instead of eleven per technician: at 10,000
    technicians the per-technician reads were most of the monthly run's queueing time.
    """

    addresses: dict[int, list[TechAddress]]
    certifications: dict[int, list[Certification]]
    credits: dict[int, list[Credit]]
    drafts: dict[int, list[Draft]]
    open_review: dict[int, list[ReviewItem]]
    plans: dict[int, list[PlanEntry]]


def _grouped(session: Session, model: Any, ids: list[int], *order: Any, where: tuple = ()) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for row in session.exec(select(model).where(model.tech_id.in_(ids), *where).order_by(*order)):
        out[row.tech_id].append(row)
    return out


def load_team(session: Session, tech_ids: list[int]) -> TeamRows:
    """The rows of these technicians (keep the list to a few hundred: it becomes one IN (...) per table)."""
    return TeamRows(
        addresses=_grouped(session, TechAddress, tech_ids, TechAddress.is_primary.desc(), TechAddress.id),
        certifications=_grouped(session, Certification, tech_ids, Certification.certified_on, Certification.id),
        credits=_grouped(session, Credit, tech_ids, Credit.id),
        drafts=_grouped(session, Draft, tech_ids, Draft.id),
        open_review=_grouped(session, ReviewItem, tech_ids, ReviewItem.id, where=(ReviewItem.state == "open",)),
        plans=_grouped(session, PlanEntry, tech_ids, PlanEntry.on, PlanEntry.id),
    )


def cycle_credits(drafts: list[Draft], credits: list[Credit], start: date | None, end: date | None,
                  as_of: date) -> list[CreditLine]:
    if start is None or end is None:
        return []
    by_credit = {d.credit_id: d for d in drafts}
    return [CreditLine(c.course_title, c.completed_on, from_centi(c.hours_centi),
                       submission_state(by_credit.get(c.id)))
            for c in credits
            if c.state == "recorded" and start <= c.completed_on < end and c.completed_on <= as_of]


def open_review(items: list[ReviewItem]) -> list[ReviewLine]:
    return [ReviewLine(REVIEW_WORDS.get(r.kind, r.kind),
                       from_centi(r.hours_centi) if r.hours_centi is not None else None) for r in items]


def planned_items(plans: list[PlanEntry], as_of: date, end: date | None) -> list[PlanLine]:
    return [PlanLine(p.on, p.title, from_centi(p.hours_centi)) for p in plans
            if p.on >= as_of and (end is None or p.on < end)]


def next_step_for(record: Any, rules: Any, planned: list[PlanLine], as_of: date) -> NextStep | None:
    from mailbot.rules import plan_from_template

    kinds = {t.title: t.kind for t in rules.plan_template}
    items = plan_from_template(record, rules, as_of.year) + plan_from_template(record, rules, as_of.year + 1)
    return next_suggested_step([(i, kinds.get(i.title, "")) for i in items], {p.title for p in planned}, as_of)


def _snapshot_of(rules: Any, tech: Technician, rows: TeamRows, as_of: date) -> TechSnapshot:
    from mailbot.rules import compute_balance

    tid = tech.id
    view = TechView(tid, tech.name, tuple(a.address for a in rows.addresses[tid]), tech.iicrc_id,
                    tech.cycle_start, tech.active,
                    tuple((c.designation, c.certified_on) for c in rows.certifications[tid]), tech.left_on)
    record = record_of(tech, view)
    credits = credit_records_of(rows.drafts[tid], rows.credits[tid]) + \
        pending_review_records_of(rows.open_review[tid], as_of)
    balance = compute_balance(record, credits, plan_items_of(rows.plans[tid]), rules, as_of)
    planned = planned_items(rows.plans[tid], as_of, balance.cycle_end)
    return TechSnapshot(
        tech_id=tid, name=tech.name, email=record.email, balance=balance,
        credits=cycle_credits(rows.drafts[tid], rows.credits[tid], balance.cycle_start, balance.cycle_end, as_of),
        review=open_review(rows.open_review[tid]), planned=planned,
        next_step=next_step_for(record, rules, planned, as_of) if balance.status != "complete" else None,
    )


def snapshots(session: Session, rules: Any, techs: list[Technician], as_of: date) -> list[TechSnapshot]:
    """The snapshot of each technician (same order), each balance computed once, from one bulk read."""
    rows = load_team(session, [t.id for t in techs])
    return [_snapshot_of(rules, tech, rows, as_of) for tech in techs]


def snapshot(session: Session, rules: Any, tech: Technician, as_of: date) -> TechSnapshot:
    return snapshots(session, rules, [tech], as_of)[0]
