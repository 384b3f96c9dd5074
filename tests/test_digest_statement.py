"""Monthly statements for a technician in every status: right numbers and words in both parts, valid HTML.

Expected numbers are worked out by hand below (as of 2026-12-01, WRT = 14 h every 4 years, a month =
30.4375 days, pace rounded up to the cent), never read back from the code.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from jinja2 import UndefinedError

from mailbot.digests.fanout import render_statement
from mailbot.digests.statement import NextStep, progress, statement_context
from mailbot.ledger.db import session_scope
from mailbot.ledger.techs import get_by_email
from mailbot.mail.compose import render
from tests.helpers import make_app
from tests.test_digest_support import AS_OF, build_team, check_html


@pytest.fixture
def statements(tmp_path, db_url):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url)
    team = build_team(app.engine)
    out = {}
    with session_scope(app.engine) as s:
        for status, email in team.items():
            rendered = render_statement(app, s, get_by_email(s, email), AS_OF)
            out[status] = (rendered, check_html(rendered.html))
    return out


def both(statements, status):  # type: ignore[no-untyped-def]
    rendered, html_text = statements[status]
    return " ".join(rendered.text.split()), html_text, rendered.subject


def test_complete(statements):  # type: ignore[no-untyped-def]
    # 8 h (sent) + 7 h (confirmed) = 15 of 14; cycle 2024-01-10 → 2028-01-10 (last day 2028-01-09):
    # 31 (Dec) + 365 (2027) + 9 = 405 days left.
    for part in both(statements, "complete")[:2]:
        assert "You're done for this cycle" in part
        assert "15 of 14" in part and "2028-01-09" in part and "405 days left" in part
        assert "Mold update, 7 h" in part and "confirmed by IICRC" in part
        assert "Drying refresher, 8 h" in part and "sent to IICRC" in part
        assert "Next step" not in part
    assert "█" * 20 + " 100%" in statements["complete"][0].text


def test_on_track(statements):  # type: ignore[no-untyped-def]
    # 7 of 14; cycle 2025-06-01 → 2029-06-01: 913 days left; pace 7 × 30.4375 / 913 = 0.2334 → 0.24.
    # 50%: 10 of 20 blocks. Next template item after Dec 1: Feb 15 "Q1 online course", 3 h.
    text, html, subject = both(statements, "on-track")
    for part in (text, html):
        assert "You're on track" in part and "0.24 more hours a month keeps you on track" in part
        assert "7 of 14" in part and "2029-05-31" in part and "913 days left" in part
        assert "Odor basics, 7 h" in part and "recorded, not yet sent to IICRC" in part
        assert "Q1 online course around February 15 (3 hours)" in part
    assert "█" * 10 + "░" * 10 + " 50%" in statements["on-track"][0].text
    html_part = statements["on-track"][0].html
    assert "width: 50%" in html_part and "<style" not in html_part  # CSS inlined for mail clients
    assert 'class="bar-fill" style="' in html_part
    assert subject == "December 2026 CEC statement: 7 of 14 hours, you're on track"


def test_behind_pace_shows_review_plan_and_booth_step(statements):  # type: ignore[no-untyped-def]
    # 2 of 14 at 913 of 1461 days (8.75 h expected); 548 days left; pace 12 × 30.4375 / 548 = 0.6665 → 0.67.
    # 2/14 = 14%; 2 × 20 / 14 = 2.86 → 2 blocks. The Q1 course is already planned, so the next step is the
    # trade-show booth visit (2 h, units.booth_visit_hours).
    for part in both(statements, "behind-pace")[:2]:
        assert "You're behind pace" in part
        assert "0.67 more hours a month gets you back on track by 2028-05-31" in part
        assert "2 of 14" in part and "548 days left" in part
        assert "a certificate with an unclear part (3 h)" in part
        assert "2027-02-15 Q1 online course, 3 h" in part
        assert "stop at the IICRC booth, the visit counts 2 hours" in part
    assert "██" + "░" * 18 + " 14%" in statements["behind-pace"][0].text


def test_due_soon(statements):  # type: ignore[no-untyped-def]
    # 10 of 14, cycle ends 2027-03-01 (last day 2027-02-28): 31 + 31 + 28 = 90 days; 4 h left;
    # pace 4 × 30.4375 / 90 = 1.3528 → 1.36.
    for part in both(statements, "due-soon")[:2]:
        assert "Hours due soon" in part
        assert "4 hours still needed in 90 days (by 2027-02-28): about 1.36 hours a month" in part


def test_lapsed(statements):  # type: ignore[no-untyped-def]
    # WRT from 2020-01-15, nothing in 2020-2024: lapsed since 2024-01-15; this cycle has 3 h.
    for part in both(statements, "lapsed")[:2]:
        assert "Your certification has lapsed" in part and "lapsed since 2024-01-15" in part
        assert "3 of 14" in part and "WRT" in part


def test_no_certifications(statements):  # type: ignore[no-untyped-def]
    text, html, subject = both(statements, "no-certifications")
    for part in (text, html):
        assert "We have no IICRC certification on file for you" in part
        assert "of 0" not in part and "days left" not in part and "%" not in part
    assert subject == "December 2026 CEC statement: no certification on file"


def test_progress_rounds_down_and_caps():
    assert progress(Decimal("13.99"), Decimal(14)) == (99, "█" * 19 + "░")
    assert progress(Decimal(20), Decimal(14)) == (100, "█" * 20)
    assert progress(Decimal(0), Decimal(0)) == (0, "")


def test_missing_template_variable_raises(tmp_path, db_url):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url)
    build_team(app.engine)
    with session_scope(app.engine) as s:
        tech = get_by_email(s, "oscar@techs.example")
        from mailbot.digests.gather import snapshot

        snap = snapshot(s, app.rules, tech, AS_OF)
    context = statement_context(balance=snap.balance, credits=snap.credits, review=snap.review,
                                planned=snap.planned, next_step=NextStep(date(2027, 2, 15), "x", Decimal(1), False),
                                as_of=AS_OF, company={"name": "Co", "address": "a@b.example"}, first_name="Oscar")
    del context["bar"]
    with pytest.raises(UndefinedError):
        render(app.templates, "statement", context)


def test_name_with_markup_is_escaped_in_html(tmp_path, db_url):  # type: ignore[no-untyped-def]
    from mailbot.ledger.techs import add_technician

    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        tech = add_technician(s, "<b>Eve</b> Smith", ["eve@techs.example"], certifications=[("WRT", date(2025, 6, 1))])
        rendered = render_statement(app, s, tech, AS_OF)
    assert "<b>Eve</b>" not in rendered.html and "&lt;b&gt;Eve&lt;/b&gt;" in rendered.html
    check_html(rendered.html)


def test_last_weeks_wording_has_no_monthly_pace():
    from mailbot.digests.statement import status_sentence
    from mailbot.rules.model import Balance

    def due(days_left: int) -> str:
        b = Balance(name="D", email="d@x", iicrc_id=None, level="technician", cycle_start=date(2023, 1, 1),
                    cycle_end=date(2027, 1, 1), required=Decimal(14), earned=Decimal("12.5"), submitted=Decimal(0),
                    confirmed=Decimal(0), pending_review=Decimal(0), planned=Decimal(0), remaining=Decimal("1.5"),
                    status="due-soon", pace=Decimal("1.50"), fee_due=None, projected=Decimal(0), certifications=(),
                    as_of=date(2026, 12, 22))
        return status_sentence(b, days_left, date(2026, 12, 31))

    assert due(10) == "1.5 hours still needed in 10 days (by 2026-12-31). Forward each certificate as soon as you have it."
    assert due(1).startswith("1.5 hours still needed in 1 day (by")
    assert due(45) == "1.5 hours still needed in 45 days (by 2026-12-31): about 1.5 hours a month."
