"""Stall alarm: one email to the admins per incident, and an all-clear when it recovers.

`incidents` is pure (health rows + now → what is wrong); `alarm_tick` opens/closes incidents on the rows
and queues the emails as notices (so each is sent once).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from mailbot.app import App
from mailbot.ledger.db import session_scope
from mailbot.ledger.health import JobHealth, all_rows
from mailbot.mail import notices
from mailbot.mail.compose import render


def incidents(rows: list[JobHealth], now: datetime, stall_minutes: int, failure_threshold: int,
              started_at: datetime) -> dict[str, str]:
    """name → what is wrong, for every job that is in trouble now."""
    out: dict[str, str] = {}
    by_name = {r.name: r for r in rows}
    poll = by_name.get("poll")
    last_poll = poll.last_ok_at if poll and poll.last_ok_at else started_at
    if now - last_poll > timedelta(minutes=stall_minutes):
        out["poll"] = f"no successful inbox poll since {last_poll:%Y-%m-%d %H:%M} UTC"
    for row in rows:
        if row.consecutive_failures >= failure_threshold and row.name not in out:
            out[row.name] = f"{row.consecutive_failures} failures in a row; last: {row.last_error}"
    return out


def alarm_tick(app: App, started_at: datetime) -> tuple[int, int]:
    """Returns (incidents opened, incidents closed)."""
    now = app.clock()
    alerts = app.config.alerts
    opened = closed = 0
    with session_scope(app.engine) as s:
        rows = all_rows(s)
        trouble = incidents(rows, now, alerts.stall_minutes, alerts.failure_threshold, started_at)
        for name, what in trouble.items():
            row = s.get(JobHealth, name) or JobHealth(name=name)
            if not row.alarm_open:
                row.alarm_open = True
                s.add(row)
                _queue(s, app, "alarm", name, what, now)
                opened += 1
        for row in rows:
            if row.alarm_open and row.name not in trouble:
                row.alarm_open = False
                s.add(row)
                _queue(s, app, "all-clear", row.name, "working again", now)
                closed += 1
    return opened, closed


def _queue(session, app: App, kind: str, job: str, what: str, now: datetime) -> None:  # type: ignore[no-untyped-def]
    context = {"company": {"name": app.config.company.name}, "kind": kind, "job": job, "what": what,
               "when": now.strftime("%Y-%m-%d %H:%M UTC")}
    rendered = render(app.templates, "alarm", context)
    for admin in app.config.company.admins:
        notices.queue(session, recipient=admin, kind=kind, period=f"{job}-{now:%Y%m%d%H%M%S}", rendered=rendered)
