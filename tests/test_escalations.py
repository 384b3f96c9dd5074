"""The daily escalation check: the right people hear about each deadline once, at the real SMTP server.

Team at 2026-12-01 (tests/test_digest_support.py), expected by hand:
- Dan: WRT from 2023-03-01, 10 of 14 h, cycle ends 2027-03-01 → 90 days → the 90-day warning (to Dan only;
  the admin hears from 60 days). Fee due 2027-03-01 (90 days: no fee reminder yet, reminders at 60/30/7).
- Carla: fee due 2027-01-10 (40 days) → the 60-day fee reminder. Lou: fee due 2027-01-15 (45 days) → same.
- Bea's draft, made 2026-11-20, waited 11 days (> 3) → the admin is chased once.
- Oscar, Dan and Lou each have a credit recorded 2026-11-01 with no draft (> 7 days) → the admin, once each.
"""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import update

from mailbot.digests.escalations import cycle_escalations, threshold_reached
from mailbot.digests.jobs import escalation_tick
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Credit, Draft
from tests.helpers import ADMIN, make_app
from tests.test_digest_send import smtp_outbox
from tests.test_digest_support import AS_OF, build_team, check_html

# The cases below were worked out with fee reminders at 60/30/7 days (an admin's override of the
# default 30/7), so the 60-day reminder is exercised too.
FEE_DAYS = {"policy": {"fee_reminder_days": [60, 30, 7]}}


def test_threshold_is_the_smallest_one_reached():
    thresholds = (180, 90, 60, 30, 14, 7)
    got = {days: threshold_reached(days, thresholds) for days in (200, 181, 180, 100, 90, 61, 60, 8, 7, 1, 0, -1)}
    assert got == {200: None, 181: None, 180: 180, 100: 180, 90: 90, 61: 90, 60: 60, 8: 14, 7: 7, 1: 7, 0: 7,
                   -1: None}


def short_balance(cycle_end: date, status: str = "due-soon"):  # type: ignore[no-untyped-def]
    from mailbot.rules.model import Balance

    return Balance(name="Dan Duesoon", email="dan@techs.example", iicrc_id=None, level="technician",
                   cycle_start=date(2023, 3, 1), cycle_end=cycle_end, required=Decimal(14), earned=Decimal(10),
                   submitted=Decimal(0), confirmed=Decimal(0), pending_review=Decimal(0), planned=Decimal(0),
                   remaining=Decimal(4), status=status, pace=Decimal("2.07"), fee_due=None, projected=Decimal(10),
                   certifications=(), as_of=AS_OF)


def test_admin_hears_from_sixty_days():
    far = cycle_escalations(short_balance(date(2027, 3, 1)), AS_OF, (ADMIN,))  # 90 days
    assert [(e.recipient, e.period) for e in far] == [("dan@techs.example", "cycle-2027-03-01-90d")]
    near = cycle_escalations(short_balance(date(2027, 1, 30)), AS_OF, (ADMIN,))  # 60 days
    assert [(e.recipient, e.period) for e in near] == [
        ("dan@techs.example", "cycle-2027-01-30-60d"), (ADMIN, "cycle-dan@techs.example-2027-01-30-60d")]
    assert cycle_escalations(short_balance(date(2027, 1, 30), "lapsed"), AS_OF, (ADMIN,)) == []
    assert cycle_escalations(short_balance(date(2027, 1, 30), "complete"), AS_OF, (ADMIN,)) == []


def subjects_by_recipient(messages) -> Counter:  # type: ignore[no-untyped-def]
    return Counter((m.rcpt_tos[0], str(m.message["Subject"])) for m in messages)


def test_daily_check_sends_each_warning_once(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server), rules=FEE_DAYS)
    build_team(app.engine)
    with session_scope(app.engine) as s:
        s.execute(update(Draft).values(created_at=datetime(2026, 11, 20, tzinfo=UTC)))
        s.execute(update(Credit).values(created_at=datetime(2026, 11, 1, tzinfo=UTC)))

    first = escalation_tick(app, AS_OF)
    assert first.queued == first.sent == 7
    assert first.topics == {"cycle": 1, "fee": 2, "draft-waiting": 1, "unsubmitted": 3}
    got = subjects_by_recipient(smtp_server.wait_for(7))
    assert got[("dan@techs.example", "4 CEC hours needed in 90 days")] == 1
    assert got[("carla@techs.example", "IICRC annual fee due 2027-01-10 (40 days)")] == 1
    assert got[("lou@techs.example", "IICRC annual fee due 2027-01-15 (45 days)")] == 1
    assert got[(ADMIN, "Waiting 11 days for approval: Bea Behind")] == 1
    for name in ("Oscar Ontrack", "Dan Duesoon", "Lou Lapsed"):
        assert got[(ADMIN, f"{name}: 1 certificate recorded but not submitted")] == 1
    for m in smtp_server.messages:
        check_html(m.message.get_body(("html",)).get_content())

    again = escalation_tick(app, AS_OF)
    assert (again.queued, again.already) == (0, 7)
    assert len(smtp_server.messages) == 7

    # A month on (2027-01-01): Dan has 59 days → the 60-day warning, now to the admin too; Dan's fee
    # (2027-03-01, 59 days) → 60-day reminder; Carla (9 days) and Lou (14 days) → their 30-day reminders.
    later = escalation_tick(app, date(2027, 1, 1))
    assert later.topics == {"cycle": 1, "cycle-admin": 1, "fee": 3}
    new = subjects_by_recipient(smtp_server.wait_for(12)[7:])
    assert new == Counter({("dan@techs.example", "4 CEC hours needed in 59 days"): 1,
                           (ADMIN, "Dan Duesoon: 4 CEC hours short, cycle ends in 59 days"): 1,
                           ("dan@techs.example", "IICRC annual fee due 2027-03-01 (59 days)"): 1,
                           ("carla@techs.example", "IICRC annual fee due 2027-01-10 (9 days)"): 1,
                           ("lou@techs.example", "IICRC annual fee due 2027-01-15 (14 days)"): 1})
    text = [m for m in smtp_server.messages if m.rcpt_tos == ["dan@techs.example"]][-2].message
    body = text.get_body(("plain",)).get_content()
    assert "4 more are needed by 2027-02-28 (59 days left)" in body


def test_no_admins_means_only_technicians_hear(tmp_path, db_url, smtp_server):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url, outbox=smtp_outbox(smtp_server), rules=FEE_DAYS,
                   company={"admins": [], "name": "Co", "timezone": "UTC", "address": "c@x.example"},
                   iicrc={"live": False, "test_address": "t@x.example"})
    build_team(app.engine)
    report = escalation_tick(app, AS_OF)
    assert ADMIN not in {m.rcpt_tos[0] for m in smtp_server.wait_for(report.sent)}
    assert report.topics == {"cycle": 1, "fee": 2}
