"""The monthly statement a technician reads on a phone: a pure context builder over one snapshot.

No database, no clock: the caller hands over the balance, the cycle's credits, the open review items,
the planned items, the next suggested step and the date. The templates (templates/statement.*) only
print what is decided here, so every status's wording is testable without rendering.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from mailbot.mail.compose import format_hours

TEXT_BAR_WIDTH = 20
LAST_MONTH_DAYS = 31
MAX_CREDIT_LINES = 12  # a phone screen; the rest is summarised as "and N more"
SUBMISSION_WORDS = {"recorded": "recorded, not yet sent to IICRC", "sent": "sent to IICRC",
                    "confirmed": "confirmed by IICRC"}
HEADLINES = {
    "complete": "You're done for this cycle",
    "on-track": "You're on track",
    "behind-pace": "You're behind pace",
    "due-soon": "Hours due soon",
    "lapsed": "Your certification has lapsed",
    "no-certifications": "No certification on file",
}


@dataclass(frozen=True)
class CreditLine:
    title: str
    completed_on: date
    hours: Decimal
    submission: str  # recorded | sent | confirmed


@dataclass(frozen=True)
class ReviewLine:
    what: str
    hours: Decimal | None


@dataclass(frozen=True)
class PlanLine:
    on: date
    title: str
    hours: Decimal


@dataclass(frozen=True)
class NextStep:
    on: date
    title: str
    hours: Decimal
    booth: bool  # a trade show with an IICRC booth: the visit itself earns the booth hours


def progress(earned: Decimal, required: Decimal) -> tuple[int, str]:
    """(percent 0..100, a text bar of █/░). Whole blocks only, rounded down: never shows more than earned."""
    if not required:
        return 0, ""
    percent = min(100, int(earned * 100 / required))
    filled = min(TEXT_BAR_WIDTH, int(earned * TEXT_BAR_WIDTH / required))
    return percent, "█" * filled + "░" * (TEXT_BAR_WIDTH - filled)


def _plural(hours: Decimal, more: bool = False) -> str:
    """"1 hour", "2.5 hours"; with more=True "2 more hours" (the issue's wording)."""
    return f"{format_hours(hours)} {'more ' if more else ''}hour" + ("" if hours == 1 else "s")


def status_sentence(balance: Any, days_left: int | None, last_day: date | None) -> str:
    """The one line under the headline: what the status means and what to do, in numbers."""
    status = balance.status
    if status == "no-certifications":
        return ("We have no IICRC certification on file for you. If you hold one, tell the office so "
                "your hours count.")
    if status == "complete":
        return (f"You have {format_hours(balance.earned)} of {format_hours(balance.required)} hours this cycle. "
                f"Nothing more is needed before {last_day}.")
    if status == "lapsed":
        since = balance.lapsed_since.isoformat() if balance.lapsed_since else "the end of the last cycle"
        return (f"The last cycle ended short (lapsed since {since}). The office will ask IICRC how to "
                f"reinstate it; please reply if you have certificates we have not seen.")
    if status == "due-soon":
        needed = f"{_plural(balance.remaining)} still needed in {days_left} day{'' if days_left == 1 else 's'}" \
                 f" (by {last_day})"
        if days_left is not None and days_left < LAST_MONTH_DAYS:  # a monthly pace means nothing now
            return f"{needed}. Forward each certificate as soon as you have it."
        return f"{needed}: about {_plural(balance.pace)} a month."
    if status == "behind-pace":
        return f"{_plural(balance.pace, more=True)} a month gets you back on track by {last_day}."
    return f"{_plural(balance.pace, more=True)} a month keeps you on track."


def statement_context(*, balance: Any, credits: list[CreditLine], review: list[ReviewLine],
                      planned: list[PlanLine], next_step: NextStep | None, as_of: date,
                      company: dict[str, str], first_name: str) -> dict[str, Any]:
    """Everything statement.* templates print. `balance` is a mailbot.rules Balance at `as_of`."""
    last_day = balance.cycle_end - timedelta(days=1) if balance.cycle_end else None
    days_left = (balance.cycle_end - as_of).days if balance.cycle_end else None
    percent, bar = progress(balance.earned, balance.required)
    shown = sorted(credits, key=lambda c: c.completed_on, reverse=True)
    return {
        "company": company,
        "first_name": first_name,
        "month": f"{as_of:%B %Y}",
        "as_of": as_of.isoformat(),
        "status": balance.status,
        "headline": HEADLINES.get(balance.status, balance.status),
        "sentence": status_sentence(balance, days_left, last_day),
        "has_cycle": balance.cycle_end is not None,
        "earned": format_hours(balance.earned),
        "required": format_hours(balance.required),
        "remaining": format_hours(balance.remaining),
        "percent": percent,
        "bar": bar,
        "cycle_end": last_day.isoformat() if last_day else "",
        "days_left": days_left,
        "certifications": [{"designation": c.designation, "status": c.status}
                           for c in balance.certifications],
        "credits": [{"title": c.title, "completed_on": c.completed_on.isoformat(), "hours": format_hours(c.hours),
                     "state": SUBMISSION_WORDS.get(c.submission, c.submission)} for c in shown[:MAX_CREDIT_LINES]],
        "more_credits": max(0, len(shown) - MAX_CREDIT_LINES),
        "review": [{"what": r.what, "hours": format_hours(r.hours) if r.hours is not None else ""}
                   for r in review],
        "planned": [{"on": p.on.isoformat(), "title": p.title, "hours": format_hours(p.hours)} for p in planned],
        "next_step": _next_step(next_step),
    }


def _next_step(step: NextStep | None) -> dict[str, Any] | None:
    if step is None:
        return None
    text = (f"{step.title} around {step.on:%B %-d}: stop at the IICRC booth, the visit counts "
            f"{_plural(step.hours)}." if step.booth else
            f"{step.title} around {step.on:%B %-d}" + (f" ({_plural(step.hours)})." if step.hours else "."))
    return {"on": step.on.isoformat(), "text": text}


def next_suggested_step(template_items: list[Any], planned_titles: set[str], as_of: date) -> NextStep | None:
    """The first yearly-plan item from `as_of` on that the technician has not already planned.

    template_items: (PlanItem, kind) pairs for this year and the next, from rules.plan_from_template.
    Items without hours other than booth visits (e.g. a review meeting) are skipped: they earn nothing.
    """
    for item, kind in sorted(template_items, key=lambda pair: pair[0].date):
        if item.date < as_of or item.title in planned_titles:
            continue
        if kind != "booth" and not item.hours:
            continue
        return NextStep(item.date, item.title, item.hours, kind == "booth")
    return None
