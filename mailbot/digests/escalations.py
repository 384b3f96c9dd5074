"""The daily check: who must hear about a deadline today. Pure decisions first, then the thin ledger side.

Thresholds. The rules data (mailbot/rules/iicrc.toml) has the fee reminder days (`policy.fee_reminder_days`),
so the fee reminders follow it. It has no cycle-end thresholds, so those are the constants below
(issue 7: 180/90/60/30/14/7 days; the admin is told from 60 days on).

Catch-up, not exact days: a threshold is "reached" when the days left are at or under it, and the
notice for the smallest reached threshold is queued. Its period names the threshold (e.g.
"cycle-2028-03-01-60d"), and the notice dedupe key makes it go out once, so a daemon that was down on
the exact day still warns the next day, and the warnings already due are not all sent at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mailbot.mail.compose import format_hours

CYCLE_THRESHOLDS = (180, 90, 60, 30, 14, 7)
ADMIN_FROM_DAYS = 60
DRAFT_WAIT_DAYS = 3  # the seed's advice is "submit promptly": a draft unapproved this long is chased
UNSUBMITTED_AFTER_DAYS = 7  # a credit with no submission draft this long after it was recorded
SHORT_STATUSES = ("on-track", "behind-pace", "due-soon")


@dataclass(frozen=True)
class Escalation:
    recipient: str
    period: str  # the notice period: with recipient and kind "escalation", queued once
    topic: str  # cycle | cycle-admin | fee | draft-waiting | unsubmitted
    context: dict[str, Any] = field(default_factory=dict)


def threshold_reached(days_left: int, thresholds: tuple[int, ...] | list[int]) -> int | None:
    """The smallest threshold at or above `days_left` (None when none is reached or the day has passed)."""
    if days_left < 0:
        return None
    reached = [t for t in thresholds if days_left <= t]
    return min(reached) if reached else None


def cycle_escalations(balance: Any, as_of: date, admins: tuple[str, ...],
                      thresholds: tuple[int, ...] = CYCLE_THRESHOLDS,
                      admin_from: int = ADMIN_FROM_DAYS) -> list[Escalation]:
    """A short technician nearing the cycle end: the technician, and the admins from `admin_from` days."""
    if balance.status not in SHORT_STATUSES or balance.cycle_end is None or balance.remaining <= 0 \
            or not balance.email:
        return []
    days_left = (balance.cycle_end - as_of).days
    reached = threshold_reached(days_left, thresholds)
    if reached is None:
        return []
    end = balance.cycle_end.isoformat()
    context = {"name": balance.name, "days_left": days_left, "threshold": reached,
               "cycle_end": (balance.cycle_end - timedelta(days=1)).isoformat(),
               "remaining": format_hours(balance.remaining), "earned": format_hours(balance.earned),
               "required": format_hours(balance.required), "pace": format_hours(balance.pace)}
    found = [Escalation(balance.email, f"cycle-{end}-{reached}d", "cycle", context)]
    if reached <= admin_from:
        found += [Escalation(admin, f"cycle-{balance.email.lower()}-{end}-{reached}d", "cycle-admin", context)
                  for admin in admins]
    return found


def fee_escalations(balance: Any, thresholds: tuple[int, ...]) -> list[Escalation]:
    fee = balance.fee_due
    if fee is None or not balance.email or balance.status == "no-certifications":
        return []
    reached = threshold_reached(fee.days_until, thresholds)
    if reached is None:
        return []
    context = {"name": balance.name, "due_on": fee.on.isoformat(), "days_left": fee.days_until,
               "threshold": reached}
    return [Escalation(balance.email, f"fee-{fee.on.isoformat()}-{reached}d", "fee", context)]


@dataclass(frozen=True)
class WaitingDraft:
    draft_id: int
    tech_name: str
    subject: str
    created_on: date


def draft_escalations(drafts: list[WaitingDraft], as_of: date, admins: tuple[str, ...],
                      wait_days: int = DRAFT_WAIT_DAYS) -> list[Escalation]:
    """Each draft unapproved for more than `wait_days` is chased once."""
    found = []
    for d in drafts:
        waited = (as_of - d.created_on).days
        if waited > wait_days:
            context = {"name": d.tech_name, "subject": d.subject, "waited": waited, "wait_days": wait_days}
            found += [Escalation(a, f"draft-{d.draft_id}-{wait_days}d", "draft-waiting", context) for a in admins]
    return found


@dataclass(frozen=True)
class Unsubmitted:
    tech_id: int
    tech_name: str
    credit_ids: tuple[int, ...]
    hours: Any  # Decimal


def unsubmitted_escalations(items: list[Unsubmitted], admins: tuple[str, ...]) -> list[Escalation]:
    """Credits recorded with no submission on the way: once per technician per newest such credit."""
    found = []
    for item in items:
        context = {"name": item.tech_name, "count": len(item.credit_ids), "hours": format_hours(item.hours)}
        period = f"unsubmitted-{item.tech_id}-{max(item.credit_ids)}"
        found += [Escalation(a, period, "unsubmitted", context) for a in admins]
    return found


# --- the ledger side ---------------------------------------------------------------------------

def waiting_drafts(session: Session) -> list[WaitingDraft]:
    from mailbot.ledger.models import Draft, Technician

    names = {t.id: t.name for t in session.exec(select(Technician)).all()}
    return [WaitingDraft(d.id, names.get(d.tech_id, "?"), d.subject, _day(d.created_at))
            for d in session.exec(select(Draft).where(Draft.state == "drafted").order_by(Draft.id)).all()]


def unsubmitted_credits(session: Session, as_of: date, after_days: int = UNSUBMITTED_AFTER_DAYS) -> list[Unsubmitted]:
    """Recorded credits with no draft (or only a rejected/failed one), recorded over `after_days` ago."""
    from mailbot.ledger.models import Credit, Draft, Technician

    live_drafts = {d.credit_id for d in session.exec(select(Draft).where(
        Draft.state.not_in(("rejected", "failed")))).all()}
    by_tech: dict[int, list[Any]] = {}
    for c in session.exec(select(Credit).where(Credit.state == "recorded").order_by(Credit.id)).all():
        if c.id not in live_drafts and (as_of - _day(c.created_at)).days > after_days:
            by_tech.setdefault(c.tech_id, []).append(c)
    names = {t.id: t.name for t in session.exec(select(Technician)).all()}
    return [Unsubmitted(tech_id, names.get(tech_id, "?"), tuple(c.id for c in rows),
                        sum((c.hours for c in rows), start=type(rows[0].hours)(0)))
            for tech_id, rows in sorted(by_tech.items())]


def _day(when: datetime | date) -> date:
    return when.date() if isinstance(when, datetime) else when
