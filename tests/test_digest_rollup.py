"""The admin roll-up: team sorted by risk, lapses within 90 days, what is stuck and for how long, mailbox
health and coverage gaps, in both parts."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from mailbot.digests.rollup import MailboxHealth, RollupInputs, Waiting, gather_rollup, rollup_context
from mailbot.ledger.balances import compute_for
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import InboundMessage, Notice, ReviewItem
from mailbot.mail.compose import render
from tests.helpers import make_app
from tests.test_digest_support import AS_OF, build_team, check_html

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def message(state: str, sender: str, subject: str, *, tech_id=None, when=None, reason=None):  # type: ignore[no-untyped-def]
    return InboundMessage(account="certs", folder="INBOX", uidvalidity=7, mailbox_key=f"{sender}-{subject}",
                          from_addr=sender, subject=subject, state=state, tech_id=tech_id, reason=reason,
                          created_at=when, updated_at=when)


def rendered_rollup(tmp_path, db_url):  # type: ignore[no-untyped-def]
    app = make_app(tmp_path, db_url)
    build_team(app.engine)
    with session_scope(app.engine) as s:
        s.add(message("review", "stranger@else.example", "my cert", when=datetime(2026, 11, 21, tzinfo=UTC)))
        s.add(message("dead", "dan@techs.example", "broken pdf", tech_id=4, reason="PdfError: bad xref",
                      when=datetime(2026, 11, 30, 23, 15, tzinfo=UTC)))
        s.add(ReviewItem(kind="unknown-sender", reason="stranger@else.example is not a technician"))
        s.add(Notice(dedupe_key="x|receipt|1", recipient="oscar@techs.example", kind="receipt", subject="Recorded",
                     body_text="t", body_html="h", state="interrupted",
                     claimed_at=datetime(2026, 11, 28, tzinfo=UTC)))
    with session_scope(app.engine) as s:
        from mailbot.digests.gather import active_technicians

        balances = [compute_for(s, app.rules, t, AS_OF) for t in active_technicians(s)]
        inputs = gather_rollup(s, balances)
    context = rollup_context(inputs, app.rules, AS_OF, NOW, {"name": "Test Restoration", "address": "c@x"})
    rendered = render(app.templates, "rollup", context)
    return rendered, check_html(rendered.html)


def test_rollup_lists_team_by_risk_and_everything_stuck(tmp_path, db_url):  # type: ignore[no-untyped-def]
    rendered, html_text = rendered_rollup(tmp_path, db_url)
    text = " ".join(rendered.text.split())
    names = ["Lou Lapsed", "Dan Duesoon", "Bea Behind", "Oscar Ontrack", "Carla Complete", "Nina Nocert"]
    for part in (text, html_text):
        positions = [part.index(n) for n in names]
        assert positions == sorted(positions), "team not in risk order"
        # Dan: 4 h short, cycle ends 2027-03-01 (last day 2027-02-28), 90 days away → within 90 days.
        assert "Dan Duesoon: 4 h still needed by 2027-02-28 (90 days)" in part
        assert "behind-pace, 2/14 h" in part and "2028-05-31" in part and "0.67 h/month" in part
        assert "Drafts waiting for your approval (1)" in part and "Bea Behind: CEC Safety hour" in part
        assert "Sent to IICRC, not yet confirmed (1)" in part and "Carla Complete: CEC Drying refresher" in part
        assert "(61 days)" in part  # sent 2026-10-01, as of 2026-12-01 06:00
        assert "Quarantine (unknown senders) (1)" in part and "stranger@else.example: my cert (10 days)" in part
        assert "Dead letters (1)" in part and "PdfError: bad xref" in part
        assert "Review queue (2)" in part  # the extraction item of Bea + the unknown sender
        assert "interrupted while sending" in part and "receipt to oscar@techs.example" in part
        # newest message activity 2026-11-30 23:15 stands in for the last poll when the daemon kept none
        assert "last successful poll 2026-11-30 23:15 UTC" in part
        # only WRT (water) is held: every other category in the rules has nobody current
        assert "No current technician for: biohazard, carpet, cleaning, fire" in part
    assert "lapsing within 90 days" in rendered.subject and "1 draft to approve" in rendered.subject


def balance(name: str, status: str, cycle_end: date | None, remaining: str, categories: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    from mailbot.rules.model import Balance, CertificationStatus

    certs = tuple(CertificationStatus(c, "technician", status) for c in categories)
    return Balance(name=name, email=f"{name.lower()}@x.example", iicrc_id=None, level="technician",
                   cycle_start=date(2023, 1, 1), cycle_end=cycle_end, required=Decimal(14),
                   earned=Decimal(14) - Decimal(remaining), submitted=Decimal(0), confirmed=Decimal(0),
                   pending_review=Decimal(0), planned=Decimal(0), remaining=Decimal(remaining), status=status,
                   pace=Decimal("1.00"), fee_due=None, projected=Decimal(0), certifications=certs, as_of=AS_OF)


def test_pure_rollup_warns_when_the_next_lapse_leaves_a_category_uncovered(tmp_path):  # type: ignore[no-untyped-def]
    from mailbot.rules import load_rules

    rules = load_rules({})
    only_fire = balance("Fay", "due-soon", date(2027, 1, 20), "5", ("FSRT",))
    water = balance("Walt", "complete", date(2028, 1, 1), "0", ("WRT",))
    inputs = RollupInputs([water, only_fire], [], [], [], [], [], [], MailboxHealth(None, None))
    context = rollup_context(inputs, rules, AS_OF, NOW, {"name": "Co", "address": "c@x"})
    assert context["at_risk"] == ["fire"] and context["next_lapse_on"] == "2027-01-20"
    assert context["lapses"] == [{"name": "Fay", "cycle_end": "2027-01-19", "days_left": 50, "remaining": "5"}]
    assert context["last_poll"] == "never"
    assert [row["name"] for row in context["team"]] == ["Fay", "Walt"]


def test_long_sections_are_cut_and_counted():
    from mailbot.digests.rollup import MAX_ROWS, _section

    items = [Waiting(f"item {i}", datetime(2026, 11, 1 + i % 28, tzinfo=UTC)) for i in range(MAX_ROWS + 5)]
    section = _section(items, NOW)
    assert section["count"] == MAX_ROWS + 5 and section["more"] == 5 and len(section["rows"]) == MAX_ROWS
    assert section["rows"][0]["days"] == "30"  # oldest first
