"""Calendar arithmetic for cycles, anniversaries and lapse months. Pure date math, no policy.

Leap days: a date anchored on Feb 29 falls on Feb 28 in years without one. Every cycle start is
computed from the anchor (anchor + k × length), never from the previous start, so an anchor of
2024-02-29 gives 2026-02-28 and then 2028-02-29 again: the date never drifts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Cycle:
    start: date  # inclusive
    end: date  # exclusive

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def add_years(day: date, years: int) -> date:
    """The same month and day `years` later (or earlier); Feb 29 becomes Feb 28 in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # only Feb 29 in a common year
        return day.replace(year=day.year + years, day=28)


def cycle_containing(anchor: date, cycle_years: int, day: date) -> Cycle:
    """The cycle of the grid anchor + k × cycle_years (k any integer) that contains `day`."""
    k = (day.year - anchor.year) // cycle_years
    while add_years(anchor, k * cycle_years) > day:
        k -= 1
    while add_years(anchor, (k + 1) * cycle_years) <= day:
        k += 1
    return Cycle(add_years(anchor, k * cycle_years), add_years(anchor, (k + 1) * cycle_years))


def next_anniversary(anchor: date, day: date) -> date:
    """The first anniversary of `anchor` (one year or more after it) falling on or after `day`."""
    years = max(1, day.year - anchor.year - 1)
    while add_years(anchor, years) < day:
        years += 1
    return add_years(anchor, years)


def full_months_between(start: date, end: date) -> int:
    """Whole calendar months from start to end (0 when end is before start).

    A month is full when the day of month is reached again: Jan 15 → Feb 15 is 1, → Feb 14 is 0;
    a month's last day completes it when the start day does not exist there (Jan 31 → Feb 28 is 1).
    """
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day and not _is_month_end(end):
        months -= 1
    return max(0, months)


def _is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month
