"""compute_balance: one technician's CEC pool and per-certification status at a date.

One pool per technician: the cycle length comes from the highest level held on the as-of date,
the grid is anchored on `cycle_start` (from My IICRC) or else the earliest certification, and a
credit counts in the cycle containing its completion date (start inclusive, end exclusive).

Per certification (the seed practice's view): each certification has its own cycle anchored on its
own certification date with its own level's length, and the same pooled credits count toward it
(IICRC credits are not earmarked for one designation). When a designation is listed twice, the latest
certification date on or before the as-of date wins: a re-certification restarts its cycle.

Counted window: [cycle start, min(cycle end, as_of + 1 day)). Credits dated after the as-of date do
not count yet, so a balance "as of" a past date shows what was true on that date.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_UP, Decimal

from mailbot.rules.cycles import full_months_between, next_anniversary
from mailbot.rules.model import (
    Balance,
    CertificationStatus,
    CertRecord,
    CreditRecord,
    FeeDue,
    Level,
    PlanItem,
    Rules,
    TechRecord,
)
from mailbot.rules.schedule import Obligation, Schedule, carried_into, lapsed_since, status_of
from mailbot.rules.tally import ZERO, Tally, as_hours, tally_credits

CENT = Decimal("0.01")


def compute_balance(tech: TechRecord, credits: Iterable[CreditRecord], plans: Iterable[PlanItem],
                    rules: Rules, as_of: date) -> Balance:
    """The technician's pool and per-certification status on `as_of` (a date; a datetime is cut to its date).

    Unreadable records (a credit without a date, a certification with an unknown designation, …) do
    not raise: they are left out and explained in `notes`.
    """
    as_of = _day(as_of)
    tally = tally_credits(credits, rules)
    held, unknown, notes = _held_certifications(tech.certifications, rules, as_of)
    cert_statuses = tuple(_certification_status(c, rules, tally, as_of) for c in held) + tuple(
        CertificationStatus(str(c.designation), None, "unknown-designation") for c in unknown)
    if not held:
        return _without_certifications(tech, as_of, cert_statuses, notes)
    cycle_start = _day(tech.cycle_start) if isinstance(tech.cycle_start, date) else None
    if tech.cycle_start is not None and cycle_start is None:
        notes += (f"cycle_start {tech.cycle_start!r} is not a date; the earliest certification anchors the cycle",)
    anchor = cycle_start or min(c.certified_on for c in held)
    schedule = Schedule(anchor, anchor, lambda day: _highest_level(held, rules, day))
    current = schedule.at(as_of)
    assert current is not None  # held is non-empty, so a level is held on as_of
    return _pool_balance(tech, schedule, current, tally, list(plans), rules, as_of, cert_statuses, notes)


def _pool_balance(tech: TechRecord, schedule: Schedule, current: Obligation, tally: Tally, plans: list,
                  rules: Rules, as_of: date, cert_statuses: tuple, notes: tuple[str, ...]) -> Balance:
    start, end = current.cycle.start, current.cycle.end
    upto = _counting_end(end, as_of)
    carried = carried_into(schedule, current, tally, rules.policy.carry_over)
    earned = tally.earned(start, upto) + carried
    since = lapsed_since(schedule, current, tally, rules.policy.carry_over, as_of)
    status = status_of(earned, current, as_of, since, rules.policy.due_soon_days)
    remaining = max(ZERO, current.required - earned)
    planned, plan_notes = _planned_hours(plans, as_of, end)
    cycle_notes = tally.notes_for(start, upto)
    return Balance(
        name=tech.name, email=tech.email, iicrc_id=tech.iicrc_id, level=current.level.name,
        cycle_start=start, cycle_end=end, required=current.required, earned=earned,
        submitted=tally.submitted(start, upto), confirmed=tally.confirmed(start, upto),
        pending_review=tally.waiting_hours(start, upto), planned=planned, remaining=remaining,
        status=status, pace=_pace(remaining, end, as_of, rules.policy.days_per_month),
        fee_due=_fee_due(schedule.anchor, as_of, rules), projected=earned + planned,
        certifications=cert_statuses, as_of=as_of, active=tech.active, carried_in=carried,
        lapsed_since=since if status == "lapsed" else None,
        months_lapsed=full_months_between(since, as_of) if status == "lapsed" and since else None,
        review_credit_ids=tuple(dict.fromkeys(n.credit_id for n in cycle_notes if n.needs_review)),
        notes=notes + plan_notes + tuple(n.text for n in cycle_notes),
    )


def _counting_end(cycle_end: date, as_of: date) -> date:
    """Exclusive end of the counted window: the cycle end, or the day after as_of when that is earlier
    (a balance as of a past date does not count credits completed after it)."""
    return min(cycle_end, as_of + timedelta(days=1))


def _without_certifications(tech: TechRecord, as_of: date, cert_statuses: tuple,
                            notes: tuple[str, ...]) -> Balance:
    return Balance(
        name=tech.name, email=tech.email, iicrc_id=tech.iicrc_id, level=None, cycle_start=None, cycle_end=None,
        required=ZERO, earned=ZERO, submitted=ZERO, confirmed=ZERO, pending_review=ZERO, planned=ZERO,
        remaining=ZERO, status="no-certifications", pace=ZERO.quantize(CENT), fee_due=None, projected=ZERO,
        certifications=cert_statuses, as_of=as_of, active=tech.active, notes=notes,
    )


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _held_certifications(certs: Iterable[CertRecord], rules: Rules,
                         as_of: date) -> tuple[list[CertRecord], list[CertRecord], tuple[str, ...]]:
    """Known certifications held on as_of (latest date per designation), unknown ones, and notes."""
    latest: dict[str, CertRecord] = {}
    unknown: list[CertRecord] = []
    notes: list[str] = []
    for cert in certs or ():
        designation, day = getattr(cert, "designation", None), getattr(cert, "certified_on", None)
        if not isinstance(day, date):
            notes.append(f"certification {designation!r}: skipped, date {day!r} is not a date")
            continue
        day = _day(day)
        if day > as_of:
            continue
        found = rules.designation(str(designation))
        if found is None:
            unknown.append(cert)
            notes.append(f"certification {designation!r} is not in the rules; it is not counted")
        elif found.code not in latest or latest[found.code].certified_on < day:
            latest[found.code] = CertRecord(found.code, day)
    return sorted(latest.values(), key=lambda c: (c.certified_on, c.designation)), unknown, tuple(notes)


def _highest_level(held: list[CertRecord], rules: Rules, day: date) -> Level | None:
    levels = [rules.level_of(c.designation) for c in held if c.certified_on <= day]
    return max((lv for lv in levels if lv is not None), key=lambda lv: lv.rank, default=None)


def _certification_status(cert: CertRecord, rules: Rules, tally: Tally, as_of: date) -> CertificationStatus:
    level = rules.level_of(cert.designation)
    assert level is not None  # only known designations reach here
    schedule = Schedule(cert.certified_on, cert.certified_on,
                        lambda day: level if day >= cert.certified_on else None)
    current = schedule.at(as_of)
    assert current is not None
    carry = rules.policy.carry_over
    upto = _counting_end(current.cycle.end, as_of)
    earned = tally.earned(current.cycle.start, upto) + carried_into(schedule, current, tally, carry)
    since = lapsed_since(schedule, current, tally, carry, as_of)
    return CertificationStatus(cert.designation, level.name,
                               status_of(earned, current, as_of, since, rules.policy.due_soon_days),
                               current.cycle.start, current.cycle.end, earned)


def _planned_hours(plans: list, as_of: date, end: date) -> tuple[Decimal, tuple[str, ...]]:
    """Plan items dated from as_of (inclusive) to the cycle end (exclusive); unreadable ones noted."""
    total, notes = ZERO, []
    for item in plans:
        hours = as_hours(getattr(item, "hours", None))
        day = getattr(item, "date", None)
        if hours is None or not isinstance(day, date):
            notes.append(f"plan item {getattr(item, 'title', '?')!r}: skipped, unreadable date or hours")
        elif as_of <= day < end:
            total += hours
    return total, tuple(notes)


def _pace(remaining: Decimal, end: date, as_of: date, days_per_month: Decimal) -> Decimal:
    """Hours per month still needed, rounded up to the cent; with under a month left, all of it."""
    days_left = (end - as_of).days
    if remaining <= 0:
        return ZERO.quantize(CENT)
    if days_left <= days_per_month:
        return remaining.quantize(CENT, rounding=ROUND_UP)
    return (remaining * days_per_month / days_left).quantize(CENT, rounding=ROUND_UP)


def _fee_due(anchor: date, as_of: date, rules: Rules) -> FeeDue:
    due = next_anniversary(anchor, as_of)
    days = (due - as_of).days
    window = max(rules.policy.fee_reminder_days, default=0)
    status = "due-today" if days == 0 else "due-soon" if days <= window else "upcoming"
    return FeeDue(due, days, status, remind_today=days in rules.policy.fee_reminder_days)
