"""Adapter from ledger rows to the pure rules engine: TechRecord/CreditRecord in, Balance out."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import Session, select

from mailbot.ledger.models import Credit, Draft, PlanEntry, ReviewItem, Technician, from_centi
from mailbot.ledger.techs import TechView, view
from mailbot.rules.model import CertRecord, CreditRecord, PlanItem, TechRecord

SUBMISSION_OF_DRAFT = {"drafted": "drafted", "approved": "drafted", "sending": "drafted", "interrupted": "drafted",
                       "failed": "drafted", "rejected": "none", "sent": "sent", "confirmed": "confirmed"}


def tech_record(session: Session, tech: Technician) -> TechRecord:
    return record_of(tech, view(session, tech))


def record_of(tech: Technician, v: TechView) -> TechRecord:
    return TechRecord(id=tech.id, name=tech.name, email=v.email, iicrc_id=tech.iicrc_id,
                      cycle_start=tech.cycle_start,
                      certifications=tuple(CertRecord(d, on) for d, on in v.certifications), active=tech.active)


def credit_records(session: Session, tech_id: int) -> list[CreditRecord]:
    return credit_records_of(session.exec(select(Draft).where(Draft.tech_id == tech_id)).all(),
                             session.exec(select(Credit).where(Credit.tech_id == tech_id)).all())


def credit_records_of(drafts: Iterable[Draft], credits: Iterable[Credit]) -> list[CreditRecord]:
    """One technician's drafts and credits (rows already read) as the rules engine's records."""
    states = {d.credit_id: ("confirmed" if d.confirmed_at else d.state) for d in drafts}
    return [CreditRecord(id=c.id, completed_on=c.completed_on, hours=c.hours, state=c.state,
                         submission=SUBMISSION_OF_DRAFT.get(states.get(c.id, ""), "none"), kind=c.kind,
                         event_key=c.event_key)
            for c in credits]


def pending_review_records(session: Session, tech_id: int, today: date) -> list[CreditRecord]:
    items = session.exec(select(ReviewItem).where(ReviewItem.tech_id == tech_id, ReviewItem.state == "open",
                                                  ReviewItem.hours_centi.is_not(None))).all()
    return pending_review_records_of(items, today)


def pending_review_records_of(open_items: Iterable[ReviewItem], today: date) -> list[CreditRecord]:
    """Open review items with known hours count as pending review (dated today when the date is unknown)."""
    return [CreditRecord(id=-item.id, completed_on=today, hours=from_centi(item.hours_centi),
                         state="pending_review") for item in open_items if item.hours_centi is not None]


def plan_items(session: Session, tech_id: int) -> list[PlanItem]:
    return plan_items_of(session.exec(select(PlanEntry).where(PlanEntry.tech_id == tech_id)
                                      .order_by(PlanEntry.on)).all())


def plan_items_of(rows: Iterable[PlanEntry]) -> list[PlanItem]:
    return [PlanItem(date=p.on, hours=from_centi(p.hours_centi), title=p.title) for p in rows]


def compute_for(session: Session, rules: Any, tech: Technician, as_of: date):  # type: ignore[no-untyped-def]
    from mailbot.rules import compute_balance

    credits = credit_records(session, tech.id) + pending_review_records(session, tech.id, as_of)
    return compute_balance(tech_record(session, tech), credits, plan_items(session, tech.id), rules, as_of)


def balance_json(balance) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The published `balances --json` shape: hours as numbers, dates as YYYY-MM-DD."""
    keys = ("name", "email", "iicrc_id", "level", "cycle_start", "cycle_end", "required", "earned", "submitted",
            "confirmed", "pending_review", "planned", "projected", "remaining", "status", "pace")
    out = {k: getattr(balance, k) for k in keys}
    fee = balance.fee_due
    out["fee_due"] = fee.on if fee else None
    out["fee_status"] = fee.status if fee else None
    out["lapsed_since"], out["months_lapsed"] = balance.lapsed_since, balance.months_lapsed
    out["active"] = balance.active
    out["certifications"] = [{"designation": c.designation, "level": c.level, "status": c.status}
                             for c in balance.certifications]
    out["notes"] = list(balance.notes)
    return out


def balance_summary(session: Session, app: Any, tech: Technician) -> dict[str, Any] | None:
    """The few numbers a receipt shows; None when the technician has no certification on file."""
    balance = compute_for(session, app.rules, tech, app.today())
    if balance.cycle_end is None or not balance.required:
        return None
    percent = min(100, int(balance.earned * 100 / balance.required))
    return {"earned": balance.earned, "required": balance.required, "cycle_end": balance.cycle_end.isoformat(),
            "status": balance.status, "percent": percent}
