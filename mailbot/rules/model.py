"""Plain, frozen data for the rules engine: the rules themselves, its inputs and its outputs.

Inputs are what the ledger hands over (technicians, credits, plan items); outputs are what the
`balances`, `coverage` and roll-up commands print. Nothing here reads a clock, a file or a database.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

CREDIT_STATES = ("recorded", "voided", "pending_review")
SUBMISSION_STATES = ("none", "drafted", "sent", "confirmed")
CREDIT_KINDS = ("class", "online", "event", "booth", "manual")
# Status values, most urgent first (team_risk_order sorts on this order).
STATUSES = ("lapsed", "due-soon", "behind-pace", "on-track", "complete", "no-certifications")


# --- the rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    name: str
    rank: int  # higher rank = "higher level"; the highest held sets the pool's cycle length
    cycle_years: int
    required_hours: Decimal


@dataclass(frozen=True)
class Designation:
    code: str
    name: str
    level: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Units:
    booth_visit_hours: Decimal
    former_unit_hours: Decimal


@dataclass(frozen=True)
class Policy:
    carry_over: bool
    per_day_cap: Decimal | None
    hours_step: Decimal | None
    fee_reminder_days: tuple[int, ...]
    due_soon_days: int
    reinstatement_after_months: int
    invoice_address: str
    reinstatement_address: str
    days_per_month: Decimal


@dataclass(frozen=True)
class PlanTemplateItem:
    month: int
    day: int
    hours: Decimal
    title: str
    kind: str


@dataclass(frozen=True)
class Rules:
    units: Units
    levels: Mapping[str, Level]
    designations: Mapping[str, Designation]
    policy: Policy
    plan_template: tuple[PlanTemplateItem, ...]

    def designation(self, code: str) -> Designation | None:
        """The designation for a code as typed (any case, surrounding spaces ignored)."""
        return self.designations.get(code.strip().upper())

    def level_of(self, code: str) -> Level | None:
        found = self.designation(code)
        return self.levels[found.level] if found else None

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({c for d in self.designations.values() for c in d.categories}))


def frozen_mapping(items: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(items))


# --- inputs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CertRecord:
    designation: str
    certified_on: date


@dataclass(frozen=True)
class TechRecord:
    id: int
    name: str
    email: str
    iicrc_id: str | None
    cycle_start: date | None  # as shown on My IICRC; else the earliest certification anchors the cycle
    certifications: tuple[CertRecord, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class CreditRecord:
    id: int
    completed_on: date
    hours: Decimal
    state: str = "recorded"  # recorded | voided | pending_review
    submission: str = "none"  # none | drafted | sent | confirmed
    kind: str = "class"  # class | online | event | booth | manual
    event_key: str | None = None  # booth visits: one per event_key counts
    former_unit: bool = False  # hours were converted from the former 1 CEC = 7 h unit: flagged
    cap_exempt: bool = False  # the admin accepted this credit past the per-day cap


@dataclass(frozen=True)
class PlanItem:
    date: date
    hours: Decimal
    title: str


# --- outputs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeeDue:
    on: date  # next anniversary of the cycle anchor, on or after the as-of date
    days_until: int
    status: str  # due-today | due-soon (within the largest reminder window) | upcoming
    remind_today: bool = False  # days_until is one of policy.fee_reminder_days


@dataclass(frozen=True)
class CertificationStatus:
    designation: str
    level: str | None  # None when the designation is not in the rules
    status: str  # a STATUSES value, or "unknown-designation"
    cycle_start: date | None = None
    cycle_end: date | None = None  # exclusive
    earned: Decimal = Decimal(0)


@dataclass(frozen=True)
class Balance:
    """One technician's pool at a date; field names match `mailbot balances --json`."""

    name: str
    email: str
    iicrc_id: str | None
    level: str | None
    cycle_start: date | None
    cycle_end: date | None  # exclusive: the first day of the next cycle
    required: Decimal
    earned: Decimal  # counted credits in the cycle (+ carried_in when carry-over is on)
    submitted: Decimal  # part of earned already sent to IICRC (sent or confirmed)
    confirmed: Decimal  # part of earned IICRC confirmed
    pending_review: Decimal  # in the cycle but waiting for the admin (incl. over the per-day cap)
    planned: Decimal  # plan items from the as-of date to the cycle end
    remaining: Decimal
    status: str
    pace: Decimal  # hours per month still needed, 2 places, rounded up
    fee_due: FeeDue | None
    projected: Decimal  # earned + planned by the cycle end
    certifications: tuple[CertificationStatus, ...]
    as_of: date
    active: bool = True
    carried_in: Decimal = Decimal(0)
    lapsed_since: date | None = None  # end of the first short cycle in the unbroken short run
    months_lapsed: int | None = None  # full months from lapsed_since to as_of
    review_credit_ids: tuple[int, ...] = ()  # credits the rules want a person to look at
    notes: tuple[str, ...] = field(default=())  # readable reasons for the review list and skipped input

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, hours as exact decimal strings without trailing zeros
        ("14", "0.3"), pace with its two places ("0.30")."""
        plain = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        plain["pace"] = str(self.pace)
        return plain


def hours_text(hours: Decimal) -> str:
    """An exact, canonical spelling: 14.0 → "14", 0.30 → "0.3", 10 → "10" (never "1E+1")."""
    text = format(hours.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return hours_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value
