"""Calendar arithmetic: years added across leap days, the cycle grid, anniversaries, full months."""
from __future__ import annotations

from datetime import date

import pytest

from mailbot.rules.cycles import Cycle, add_years, cycle_containing, full_months_between, next_anniversary


@pytest.mark.parametrize(("day", "years", "expected"), [
    (date(2024, 2, 29), 1, date(2025, 2, 28)),  # no Feb 29 in 2025
    (date(2024, 2, 29), 4, date(2028, 2, 29)),  # 2028 has one
    (date(2024, 2, 29), -1, date(2023, 2, 28)),
    (date(2021, 3, 1), 2, date(2023, 3, 1)),
])
def test_add_years(day: date, years: int, expected: date) -> None:
    assert add_years(day, years) == expected


def test_cycle_grid_from_a_leap_day_never_drifts() -> None:
    anchor = date(2024, 2, 29)
    # each start is anchor + k × 2 y computed from the anchor: Feb 28 in common years, Feb 29 in leap years
    assert cycle_containing(anchor, 2, date(2026, 2, 27)) == Cycle(date(2024, 2, 29), date(2026, 2, 28))
    assert cycle_containing(anchor, 2, date(2026, 2, 28)) == Cycle(date(2026, 2, 28), date(2028, 2, 29))
    assert cycle_containing(anchor, 2, date(2030, 3, 1)) == Cycle(date(2030, 2, 28), date(2032, 2, 29))


def test_cycles_before_the_anchor_follow_the_same_grid() -> None:
    assert cycle_containing(date(2020, 6, 1), 4, date(2019, 1, 1)) == Cycle(date(2016, 6, 1), date(2020, 6, 1))


def test_cycle_days_and_contains() -> None:
    cycle = Cycle(date(2020, 1, 1), date(2024, 1, 1))
    assert cycle.days == 1461  # 365 × 4 + one leap day
    assert cycle.contains(date(2020, 1, 1)) and cycle.contains(date(2023, 12, 31))
    assert not cycle.contains(date(2024, 1, 1))


@pytest.mark.parametrize(("anchor", "day", "expected"), [
    (date(2020, 1, 1), date(2021, 11, 15), date(2022, 1, 1)),
    (date(2020, 1, 1), date(2022, 1, 1), date(2022, 1, 1)),  # on the day itself
    (date(2020, 1, 1), date(2020, 1, 1), date(2021, 1, 1)),  # certified today: first fee next year
    (date(2024, 2, 29), date(2025, 3, 1), date(2026, 2, 28)),
])
def test_next_anniversary(anchor: date, day: date, expected: date) -> None:
    assert next_anniversary(anchor, day) == expected


@pytest.mark.parametrize(("start", "end", "months"), [
    (date(2024, 1, 15), date(2024, 2, 15), 1),
    (date(2024, 1, 15), date(2024, 2, 14), 0),
    (date(2024, 1, 31), date(2024, 2, 29), 1),  # month end completes the month
    (date(2023, 1, 31), date(2023, 2, 28), 1),
    (date(2024, 1, 30), date(2024, 2, 28), 0),  # Feb 29 exists in 2024, not reached yet
    (date(2024, 1, 1), date(2026, 1, 1), 24),
    (date(2024, 1, 1), date(2025, 12, 31), 23),
    (date(2024, 5, 1), date(2024, 4, 1), 0),  # never negative
])
def test_full_months_between(start: date, end: date, months: int) -> None:
    assert full_months_between(start, end) == months
