"""The stall alarm: one email per incident, and an all-clear when it recovers (real database)."""
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from mailbot.alarms import alarm_tick, incidents
from mailbot.ledger import health
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Notice
from tests.helpers import ADMIN, make_app

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_incidents_are_pure_functions_of_health_and_time():
    poll = health.JobHealth(name="poll", last_ok_at=T0)
    send = health.JobHealth(name="send", consecutive_failures=3, last_error="SMTP 421")
    assert incidents([poll, send], T0 + timedelta(minutes=29), 30, 3, T0) == {"send": "3 failures in a row; last: SMTP 421"}
    assert "poll" in incidents([poll], T0 + timedelta(minutes=31), 30, 3, T0)
    assert incidents([], T0 + timedelta(minutes=10), 30, 3, T0) == {}  # just started: not stalled yet


def test_one_email_per_incident_then_an_all_clear(tmp_path, db_url):
    now = [T0]
    app = make_app(tmp_path, db_url)
    app.clock = lambda: now[0]
    with session_scope(app.engine) as s:
        health.record_ok(s, "poll", when=T0)
    now[0] = T0 + timedelta(hours=1)  # no successful poll for an hour
    assert alarm_tick(app, started_at=T0) == (1, 0)
    now[0] = T0 + timedelta(hours=2)
    assert alarm_tick(app, started_at=T0) == (0, 0)  # same incident: no second email
    with session_scope(app.engine) as s:
        health.record_ok(s, "poll", when=now[0])
    assert alarm_tick(app, started_at=T0) == (0, 1)
    with session_scope(app.engine) as s:
        sent = [(n.recipient, n.kind, n.subject) for n in s.exec(select(Notice).order_by(Notice.id))]
    assert sent == [(ADMIN, "alarm", "mailbot needs attention: poll"), (ADMIN, "all-clear", "mailbot recovered: poll")]
