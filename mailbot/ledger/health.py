"""How the daemon is doing, per job: last success, last error, consecutive failures, open alarm.

The daemon writes one row per job after every tick; `mailbot status`, the stall alarm and the admin
roll-up read them. Rows are upserted by name, so there is never more than one per job.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, select

from mailbot.ledger.models import utcnow


class JobHealth(SQLModel, table=True):
    name: str = Field(primary_key=True)  # poll | send | idle | digest | escalate | reconcile | daemon
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    alarm_open: bool = False  # an incident email went out and no all-clear yet
    detail: str | None = None  # e.g. "leader pid=123 host=x", "IDLE active"
    updated_at: datetime = Field(default_factory=utcnow)


def _row(session: Session, name: str) -> JobHealth:
    row = session.get(JobHealth, name)
    if row is None:
        row = JobHealth(name=name)
        session.add(row)
    return row


def record_ok(session: Session, name: str, detail: str | None = None, when: datetime | None = None) -> JobHealth:
    row = _row(session, name)
    row.last_ok_at = row.updated_at = when or utcnow()
    row.consecutive_failures = 0
    if detail is not None:
        row.detail = detail
    session.add(row)
    return row


def record_failure(session: Session, name: str, error: str, when: datetime | None = None) -> JobHealth:
    row = _row(session, name)
    row.last_error, row.last_error_at = error[:2000], when or utcnow()
    row.updated_at = row.last_error_at
    row.consecutive_failures += 1
    session.add(row)
    return row


def all_rows(session: Session) -> list[JobHealth]:
    return list(session.exec(select(JobHealth).order_by(JobHealth.name)).all())
