"""Which credits count, which wait for a person, and why: the credit side of every balance.

Applied once to all of a technician's credits, before any cycle window is cut:
- voided credits never count;
- pending_review credits wait (shown as pending_review hours in their cycle);
- a booth visit counts once per event_key (the earliest entry; later ones are flagged, not counted);
- with a per-day cap, a credit that would take its day over the cap waits for review (never cut);
- a credit converted from the former 1 CEC = 7 h unit counts, flagged for a check;
- with policy.hours_step, hours count in whole steps (rounded down), with a note;
- a record that cannot be read (bad hours, date, state or kind) is skipped with a readable note.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mailbot.rules.model import CREDIT_KINDS, CREDIT_STATES, SUBMISSION_STATES, CreditRecord, Rules

ZERO = Decimal(0)


@dataclass(frozen=True)
class Counted:
    id: Any
    day: date
    hours: Decimal
    submission: str
    cap_exempt: bool = False


@dataclass(frozen=True)
class Note:
    credit_id: Any
    day: date | None  # None when the record's own date could not be read
    text: str
    needs_review: bool = True


@dataclass(frozen=True)
class Tally:
    counted: tuple[Counted, ...]
    waiting: tuple[Counted, ...]  # pending_review, and credits held back by the per-day cap
    notes: tuple[Note, ...]

    def earned(self, start: date, end: date) -> Decimal:
        return _sum(c.hours for c in self.counted if start <= c.day < end)

    def submitted(self, start: date, end: date) -> Decimal:
        return _sum(c.hours for c in self.counted if start <= c.day < end and c.submission in ("sent", "confirmed"))

    def confirmed(self, start: date, end: date) -> Decimal:
        return _sum(c.hours for c in self.counted if start <= c.day < end and c.submission == "confirmed")

    def waiting_hours(self, start: date, end: date) -> Decimal:
        return _sum(c.hours for c in self.waiting if start <= c.day < end)

    def notes_for(self, start: date, end: date) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.day is None or start <= n.day < end)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def tally_credits(credits: Iterable[CreditRecord], rules: Rules) -> Tally:
    notes: list[Note] = []
    readable = [c for c in (_readable(credit, notes) for credit in credits) if c is not None]
    readable.sort(key=lambda c: (c.completed_on, _id_key(c.id)))
    counted: list[Counted] = []
    waiting: list[Counted] = []
    first_booth: dict[str, Any] = {}
    for credit in readable:
        if credit.state == "voided":
            continue
        if credit.state == "pending_review":
            waiting.append(Counted(credit.id, credit.completed_on, credit.hours, credit.submission))
            continue
        if credit.kind == "booth" and not _first_booth_visit(credit, first_booth, rules, notes):
            continue
        if credit.former_unit:
            notes.append(Note(credit.id, credit.completed_on,
                              f"credit {credit.id}: converted from the former unit (1 CEC = "
                              f"{rules.units.former_unit_hours} h); check the conversion"))
        hours = _in_steps(credit, rules.policy.hours_step, notes)
        counted.append(Counted(credit.id, credit.completed_on, hours, credit.submission, credit.cap_exempt))
    if rules.policy.per_day_cap is not None:
        counted, over = _apply_day_cap(counted, rules.policy.per_day_cap, notes)
        waiting.extend(over)
    return Tally(tuple(counted), tuple(waiting), tuple(notes))


def former_units_to_hours(units: Decimal, rules: Rules) -> Decimal:
    """Hours for a certificate printed in the former unit (1 CEC = 7 h by default); flag the credit."""
    return units * rules.units.former_unit_hours


def _in_steps(credit: CreditRecord, step: Decimal | None, notes: list[Note]) -> Decimal:
    """The credit's hours in whole steps (rounded down) when policy.hours_step is set; noted when it differs."""
    if step is None:
        return credit.hours
    stepped = (credit.hours // step) * step
    if stepped != credit.hours:
        notes.append(Note(credit.id, credit.completed_on,
                          f"credit {credit.id}: {credit.hours} h counted as {stepped} h (hours_step {step})",
                          needs_review=False))
    return stepped


def _id_key(credit_id: Any) -> tuple:
    # Ids are ints from the ledger; anything else still sorts (after the ints) instead of raising.
    return (0, credit_id, "") if isinstance(credit_id, int) else (1, 0, str(credit_id))


def _first_booth_visit(credit: CreditRecord, seen: dict[str, Any], rules: Rules, notes: list[Note]) -> bool:
    booth = rules.units.booth_visit_hours
    if credit.hours != booth:
        notes.append(Note(credit.id, credit.completed_on,
                          f"credit {credit.id}: booth visit recorded as {credit.hours} h; the rule is {booth} h"))
    key = (credit.event_key or "").strip().lower()
    if not key:
        notes.append(Note(credit.id, credit.completed_on,
                          f"credit {credit.id}: booth visit without an event name; cannot check it counts once"))
        return True
    if key in seen:
        notes.append(Note(credit.id, credit.completed_on,
                          f"credit {credit.id}: second booth visit at event {credit.event_key!r} "
                          f"(credit {seen[key]} already counts); not counted"))
        return False
    seen[key] = credit.id
    return True


def _apply_day_cap(counted: list[Counted], cap: Decimal, notes: list[Note]) -> tuple[list[Counted], list[Counted]]:
    """Keep credits in id order while the day's total stays within the cap; the rest wait.

    A cap-exempt credit (accepted by the admin) always counts and uses up the day's allowance."""
    kept: list[Counted] = []
    over: list[Counted] = []
    day_total: dict[date, Decimal] = {}
    for entry in sorted(counted, key=lambda c: (c.day, _id_key(c.id))):
        total = day_total.get(entry.day, ZERO) + entry.hours
        if total > cap and not entry.cap_exempt:
            over.append(entry)
            notes.append(Note(entry.id, entry.day,
                              f"credit {entry.id}: {entry.hours} h would take {entry.day.isoformat()} over the "
                              f"per-day cap of {cap} h; waiting for review, not counted"))
        else:
            day_total[entry.day] = total
            kept.append(entry)
    return kept, over


def _readable(credit: Any, notes: list[Note]) -> CreditRecord | None:
    """The credit with normalised fields, or None (and a note) when it cannot be used."""
    cid = getattr(credit, "id", None)
    problem, day, hours = None, getattr(credit, "completed_on", None), getattr(credit, "hours", None)
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        problem = f"completion date {day!r} is not a date"
    else:
        hours = as_hours(hours)
        if hours is None:
            problem = f"hours {getattr(credit, 'hours', None)!r} is not a non-negative number"
    for attr, allowed in (("state", CREDIT_STATES), ("submission", SUBMISSION_STATES), ("kind", CREDIT_KINDS)):
        if problem is None and getattr(credit, attr, None) not in allowed:
            problem = f"{attr} {getattr(credit, attr, None)!r} is not one of {', '.join(allowed)}"
    if problem is not None:
        notes.append(Note(cid, None, f"credit {cid}: skipped, {problem}"))
        return None
    return CreditRecord(id=cid, completed_on=day, hours=hours, state=credit.state, submission=credit.submission,
                        kind=credit.kind, event_key=getattr(credit, "event_key", None),
                        former_unit=bool(getattr(credit, "former_unit", False)),
                        cap_exempt=bool(getattr(credit, "cap_exempt", False)))


def as_hours(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        hours = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return hours if hours.is_finite() and hours >= 0 else None
