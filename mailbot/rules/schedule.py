"""Obligations over time: which cycle applies at a date, the one before it, carry-over, lapses.

A Schedule is a grid of cycles rolled from an anchor; the cycle length at a date is set by the
level held on that date. The pool uses the technician's anchor and the highest level held; each
certification has its own schedule anchored on its certification date with its own level.

Previous cycle: the cycle (under the level held then) containing the day before the current cycle
starts. When a higher level was earned, that older, longer cycle may not have ended yet: it was
superseded and is not judged; the search goes on to the cycle before it. Cycles starting before the
schedule's floor (the anchor: nothing is known before it) are never judged.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from mailbot.rules.cycles import Cycle, cycle_containing
from mailbot.rules.model import Level
from mailbot.rules.tally import ZERO, Tally

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Obligation:
    cycle: Cycle
    level: Level

    @property
    def required(self) -> Decimal:
        return self.level.required_hours


@dataclass(frozen=True)
class Schedule:
    anchor: date
    floor: date
    level_on: Callable[[date], Level | None]

    def at(self, day: date) -> Obligation | None:
        level = self.level_on(day)
        if level is None:
            return None
        return Obligation(cycle_containing(self.anchor, level.cycle_years, day), level)

    def previous(self, current: Obligation) -> Obligation | None:
        if current.cycle.start <= self.floor:
            return None
        before = self.at(current.cycle.start - ONE_DAY)
        if before is None or before.cycle.start < self.floor:
            return None
        return before


def carried_into(schedule: Schedule, current: Obligation, tally: Tally, carry_over: bool) -> Decimal:
    """Surplus of the previous cycle's own credits (never chained, never negative) when carry-over is on."""
    if not carry_over:
        return ZERO
    before = schedule.previous(current)
    if before is None:
        return ZERO
    own = tally.earned(before.cycle.start, min(before.cycle.end, current.cycle.start))
    return max(ZERO, own - before.required)


def total_for(schedule: Schedule, ob: Obligation, tally: Tally, carry_over: bool) -> Decimal:
    return tally.earned(ob.cycle.start, ob.cycle.end) + carried_into(schedule, ob, tally, carry_over)


def lapsed_since(schedule: Schedule, current: Obligation, tally: Tally, carry_over: bool,
                 as_of: date) -> date | None:
    """End of the first short cycle in the unbroken run of short cycles that ended by `as_of`, or None."""
    ended = schedule.previous(current)
    while ended is not None and ended.cycle.end > as_of:
        ended = schedule.previous(ended)  # superseded by a higher level before it ended
    since = None
    while ended is not None and total_for(schedule, ended, tally, carry_over) < ended.required:
        since = ended.cycle.end
        ended = schedule.previous(ended)
    return since


def status_of(total: Decimal, ob: Obligation, as_of: date, since: date | None, due_soon_days: int) -> str:
    """Issue 5's order: complete, lapsed, due-soon, behind-pace, on-track."""
    if total >= ob.required:
        return "complete"
    if since is not None:
        return "lapsed"
    if (ob.cycle.end - as_of).days <= due_soon_days:
        return "due-soon"
    # earned < required × elapsed / length, cross-multiplied so it stays exact
    if total * ob.cycle.days < ob.required * (as_of - ob.cycle.start).days:
        return "behind-pace"
    return "on-track"
