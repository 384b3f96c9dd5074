"""Scheduled ticks for the digests: the monthly run and the daily escalation check.

Each tick does one bounded unit of work, is idempotent (every email is a Notice queued once), and
returns what it did. The daemon schedules them; the CLI calls the same functions.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mailbot.digests import escalations as esc
from mailbot.digests.fanout import MonthReport, company_of, month_done, send_month, send_queued
from mailbot.digests.gather import active_technicians
from mailbot.ledger.db import session_scope
from mailbot.mail import notices
from mailbot.mail.compose import render

log = logging.getLogger("mailbot.digests")
CATCH_UP_DAYS = 7


def digest_day(app) -> int:  # type: ignore[no-untyped-def]
    """The day of the month statements go out ([schedule] digest_day, default the 1st)."""
    return app.config.schedule.digest_day


def digest_tick(app) -> MonthReport | None:  # type: ignore[no-untyped-def]
    """From the digest day to CATCH_UP_DAYS after it, send this month's run unless it is already done.
    None when not due.

    The window lets a daemon that was down on the day catch up, without a first start late in a month
    sending that month's statements at its end. The month's notices are queued once either way.
    """
    today = app.today()
    day = digest_day(app)
    if not day <= today.day < day + CATCH_UP_DAYS:
        return None
    period = f"{today:%Y-%m}"
    if month_done(app, period):
        return None
    return send_month(app, period, day=day)


@dataclass
class EscalationReport:
    as_of: date
    considered: int = 0
    queued: int = 0
    already: int = 0
    sent: int = 0
    topics: dict[str, int] = field(default_factory=dict)


def plan_escalations(app, session, as_of: date) -> list[esc.Escalation]:  # type: ignore[no-untyped-def]
    from mailbot.ledger.balances import compute_for

    admins = tuple(app.config.company.admins)
    fee_days = tuple(app.rules.policy.fee_reminder_days)
    found: list[esc.Escalation] = []
    for tech in active_technicians(session):
        balance = compute_for(session, app.rules, tech, as_of)
        found += esc.cycle_escalations(balance, as_of, admins) + esc.fee_escalations(balance, fee_days)
    found += esc.draft_escalations(esc.waiting_drafts(session), as_of, admins)
    found += esc.unsubmitted_escalations(esc.unsubmitted_credits(session, as_of), admins)
    return found


def _context(app, item: esc.Escalation) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from mailbot.intake import first_name

    return {**item.context, "topic": item.topic, "company": company_of(app),
            "first_name": first_name(item.context.get("name", ""))}


def queue_escalations(app, as_of: date) -> EscalationReport:  # type: ignore[no-untyped-def]
    report = EscalationReport(as_of)
    with session_scope(app.engine) as s:
        found = plan_escalations(app, s, as_of)
        report.considered = len(found)
        for item in found:
            rendered = render(app.templates, "escalation", _context(app, item))
            if notices.queue(s, recipient=item.recipient, kind="escalation", period=item.period, rendered=rendered):
                report.queued += 1
                report.topics[item.topic] = report.topics.get(item.topic, 0) + 1
            else:
                report.already += 1
    return report


def escalation_tick(app, as_of: date | None = None) -> EscalationReport:  # type: ignore[no-untyped-def]
    """The daily check: queue what is due (each once) and send it."""
    report = queue_escalations(app, as_of or app.today())
    if report.queued:
        report.sent, _failed = send_queued(app)
    log.info("escalations as_of=%s queued=%d already=%d sent=%d", report.as_of, report.queued, report.already,
             report.sent)
    return report
