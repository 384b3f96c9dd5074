"""Team views over many balances: risk order for the admin roll-up, category coverage, lapse triage."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from mailbot.rules.model import STATUSES, Balance, Rules

# A technician counts as current in a category while active, holding a certification for it, and
# with a pool that has not lapsed (the industry reading: one renewal per person).
NOT_CURRENT = ("lapsed", "no-certifications")


def team_risk_order(balances: Iterable[Balance]) -> list[Balance]:
    """Most urgent first: lapsed (longest lapse first), due-soon (soonest end first), behind-pace
    (highest pace first), on-track (highest pace first), complete, no-certifications; ties by name, email."""
    return sorted(balances, key=_risk_key)


def _risk_key(b: Balance) -> tuple:
    rank = STATUSES.index(b.status) if b.status in STATUSES else len(STATUSES)
    if b.status == "lapsed":
        within = (b.lapsed_since or date.max).toordinal()
    elif b.status == "due-soon":
        within = (b.cycle_end or date.max).toordinal()
    else:
        within = -b.pace  # a Decimal; the higher pace needed, the more urgent
    return (rank, within, -b.remaining, b.name.lower(), b.email.lower())


@dataclass(frozen=True)
class Coverage:
    current: dict[str, int]  # category → number of current technicians (every category in the rules)
    uncovered: tuple[str, ...]  # categories with no current technician now
    next_lapse_on: date | None  # the earliest cycle end among current technicians still short
    next_lapse_emails: tuple[str, ...]  # who lapses then
    at_risk: tuple[str, ...]  # categories that next lapse would leave with no current technician


def coverage(balances: Iterable[Balance], rules: Rules) -> Coverage:
    holders: dict[str, set[str]] = {category: set() for category in rules.categories}
    current = [b for b in balances if b.active and b.status not in NOT_CURRENT]
    for b in current:
        for category in _categories_of(b, rules):
            holders.setdefault(category, set()).add(b.email)
    short = [b for b in current if b.status != "complete" and b.cycle_end is not None]
    next_on = min((b.cycle_end for b in short), default=None)
    leaving = {b.email for b in short if b.cycle_end == next_on}
    return Coverage(
        current={category: len(emails) for category, emails in sorted(holders.items())},
        uncovered=tuple(c for c, emails in sorted(holders.items()) if not emails),
        next_lapse_on=next_on,
        next_lapse_emails=tuple(sorted(leaving)),
        at_risk=tuple(c for c, emails in sorted(holders.items()) if emails and emails <= leaving),
    )


def _categories_of(balance: Balance, rules: Rules) -> set[str]:
    found: set[str] = set()
    for cert in balance.certifications:
        designation = rules.designation(cert.designation)
        if designation is not None:
            found.update(designation.categories)
    return found


@dataclass(frozen=True)
class LapseAction:
    kind: str  # invoice | reinstatement
    address: str
    months_lapsed: int


def lapse_action(balance: Balance, rules: Rules) -> LapseAction | None:
    """Whom to write to about a lapse: under `reinstatement_after_months` full months an invoice
    (renewals), from then on reinstatement. None when the balance is not lapsed."""
    if balance.status != "lapsed" or balance.months_lapsed is None:
        return None
    policy = rules.policy
    if balance.months_lapsed < policy.reinstatement_after_months:
        return LapseAction("invoice", policy.invoice_address, balance.months_lapsed)
    return LapseAction("reinstatement", policy.reinstatement_address, balance.months_lapsed)
