"""The yearly plan template (rules.plan_template) turned into dated plan items for one technician."""
from __future__ import annotations

from datetime import date

from mailbot.rules.model import PlanItem, Rules, TechRecord


def plan_from_template(tech: TechRecord, rules: Rules, year: int) -> list[PlanItem]:
    """The template's items dated in `year`, in date order.

    Empty for a technician who has left (inactive) or holds no certification known to the rules
    by the end of that year: there is nothing to keep up. A Feb 29 item falls on Feb 28 in a common year.
    """
    if not tech.active or not _holds_any(tech, rules, date(year, 12, 31)):
        return []
    items = [PlanItem(_day_in(year, t.month, t.day), t.hours, t.title) for t in rules.plan_template]
    return sorted(items, key=lambda item: item.date)


def _holds_any(tech: TechRecord, rules: Rules, by: date) -> bool:
    return any(isinstance(c.certified_on, date) and c.certified_on <= by and rules.designation(str(c.designation))
               for c in tech.certifications)


def _day_in(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:  # Feb 29 in a common year (the loader refuses every other impossible day)
        return date(year, month, 28)
