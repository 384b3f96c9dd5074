"""Properties of compute_balance that hold for any records (hypothesis).

The counted window of a balance is [cycle_start, min(cycle_end, as_of + 1 day)).
- earned is exactly the sum of the counted credits in that window (defaults: no carry-over, no cap);
- a credit dated after that window never changes anything;
- a credit dated before it never changes the window's numbers (it may still end a lapse of an
  earlier cycle, so status and lapse fields are left out of that comparison);
- hours add up exactly in decimal (0.1 + 0.2 == 0.3).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.rules import CertRecord, CreditRecord, PlanItem, TechRecord, compute_balance, load_rules

RULES = load_rules()
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
HOURS = st.decimals(min_value=0, max_value=20, places=2, allow_nan=False, allow_infinity=False)
NON_BOOTH = st.sampled_from(["class", "online", "event", "manual"])
CODES = st.sampled_from(["WRT", "ASD", "AMRT", "MWR", "MSR", "SCI"])

certs = st.lists(st.builds(CertRecord, designation=CODES, certified_on=DAYS), min_size=1, max_size=3)
techs = st.builds(TechRecord, id=st.just(1), name=st.just("Sam Tech"), email=st.just("sam@example.com"),
                  iicrc_id=st.just("000000"), cycle_start=st.none() | DAYS, certifications=certs.map(tuple),
                  active=st.booleans())


@st.composite
def credit_lists(draw) -> list[CreditRecord]:
    rows = draw(st.lists(st.tuples(DAYS, HOURS, st.sampled_from(["recorded", "voided", "pending_review"]),
                                   st.sampled_from(["none", "drafted", "sent", "confirmed"]), NON_BOOTH),
                         max_size=25))
    return [CreditRecord(id=i, completed_on=d, hours=h, state=s, submission=sub, kind=k)
            for i, (d, h, s, sub, k) in enumerate(rows, start=1)]


def window_end(balance, as_of: date) -> date:
    return min(balance.cycle_end, as_of + timedelta(days=1))


@settings(max_examples=100, deadline=None)
@given(techs, credit_lists(), DAYS)
def test_earned_is_the_sum_of_counted_credits_in_the_window(tech, credits, as_of) -> None:
    balance = compute_balance(tech, credits, [], RULES, as_of)
    if balance.status == "no-certifications":
        assert balance.earned == 0 and balance.cycle_start is None
        return
    assert balance.cycle_start <= as_of < balance.cycle_end
    end = window_end(balance, as_of)
    counted = [c for c in credits if c.state == "recorded" and balance.cycle_start <= c.completed_on < end]
    assert balance.earned == sum((c.hours for c in counted), Decimal(0))
    assert balance.submitted == sum((c.hours for c in counted if c.submission in ("sent", "confirmed")), Decimal(0))
    assert balance.confirmed == sum((c.hours for c in counted if c.submission == "confirmed"), Decimal(0))
    assert balance.remaining == max(Decimal(0), balance.required - balance.earned)
    assert (balance.status == "complete") == (balance.earned >= balance.required)


@settings(max_examples=100, deadline=None)
@given(techs, credit_lists(), DAYS, st.integers(min_value=0, max_value=3000), HOURS)
def test_a_credit_after_the_window_changes_nothing(tech, credits, as_of, days_after, hours) -> None:
    before = compute_balance(tech, credits, [], RULES, as_of)
    start = window_end(before, as_of) if before.cycle_end else as_of + timedelta(days=1)
    extra = CreditRecord(id=10_000, completed_on=start + timedelta(days=days_after), hours=hours)
    assert compute_balance(tech, [*credits, extra], [], RULES, as_of) == before


@settings(max_examples=60, deadline=None)
@given(techs, credit_lists(), DAYS)
def test_with_carry_over_earned_is_the_window_plus_a_non_negative_carry(tech, credits, as_of) -> None:
    carrying = load_rules({"policy": {"carry_over": True}})
    balance = compute_balance(tech, credits, [], carrying, as_of)
    plain = compute_balance(tech, credits, [], RULES, as_of)
    assert balance.carried_in >= 0
    assert balance.earned == plain.earned + balance.carried_in


WINDOW_FIELDS = ("level", "cycle_start", "cycle_end", "required", "earned", "submitted", "confirmed",
                 "pending_review", "planned", "remaining", "pace", "projected", "fee_due")


@settings(max_examples=100, deadline=None)
@given(techs, credit_lists(), DAYS, st.integers(min_value=1, max_value=3000), HOURS)
def test_a_credit_before_the_window_leaves_its_numbers_alone(tech, credits, as_of, days_before, hours) -> None:
    before = compute_balance(tech, credits, [], RULES, as_of)
    if before.cycle_start is None:
        return
    extra = CreditRecord(id=10_000, completed_on=before.cycle_start - timedelta(days=days_before), hours=hours)
    after = compute_balance(tech, [*credits, extra], [], RULES, as_of)
    assert {f: getattr(after, f) for f in WINDOW_FIELDS} == {f: getattr(before, f) for f in WINDOW_FIELDS}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=30))
def test_tenths_of_hours_add_up_exactly(tenths) -> None:
    tech = TechRecord(1, "Sam Tech", "sam@example.com", None, None, (CertRecord("WRT", date(2020, 1, 1)),))
    credits = [CreditRecord(i, date(2021, 1, 1) + timedelta(days=i), Decimal(t) / 10)
               for i, t in enumerate(tenths)]
    balance = compute_balance(tech, credits, [], RULES, date(2023, 12, 31))
    assert balance.earned == Decimal(sum(tenths)) / 10
    whole, tenth = divmod(sum(tenths), 10)
    assert balance.to_dict()["earned"] == (f"{whole}.{tenth}" if tenth else f"{whole}")


def test_point_one_plus_point_two_is_point_three() -> None:
    tech = TechRecord(1, "Sam Tech", "sam@example.com", None, None, (CertRecord("WRT", date(2020, 1, 1)),))
    credits = [CreditRecord(1, date(2021, 1, 1), Decimal("0.1")), CreditRecord(2, date(2021, 1, 2), Decimal("0.2"))]
    plans = [PlanItem(date(2022, 1, 1), Decimal("0.1"), "a"), PlanItem(date(2022, 2, 1), Decimal("0.2"), "b")]
    balance = compute_balance(tech, credits, plans, RULES, date(2021, 6, 1))
    assert balance.earned == Decimal("0.3") and balance.planned == Decimal("0.3")
    assert balance.projected == Decimal("0.6") and balance.remaining == Decimal("13.7")
    assert balance.to_dict()["earned"] == "0.3"


JUNK = st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 5), st.floats(allow_nan=True), DAYS, HOURS)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(CreditRecord, id=st.integers(0, 50) | st.text(max_size=3), completed_on=JUNK,
                          hours=JUNK, state=JUNK | st.just("recorded"), submission=JUNK | st.just("none"),
                          kind=JUNK | st.just("booth"), event_key=st.none() | st.text(max_size=3)), max_size=8),
       st.lists(st.builds(CertRecord, designation=JUNK | CODES, certified_on=JUNK), max_size=3),
       st.lists(st.builds(PlanItem, date=JUNK, hours=JUNK, title=st.text(max_size=5)), max_size=3),
       st.none() | DAYS | st.text(max_size=4), DAYS)
def test_unreadable_records_never_raise(credits, certs, plans, cycle_start, as_of) -> None:
    tech = TechRecord(1, "Sam Tech", "sam@example.com", None, cycle_start, tuple(certs))
    balance = compute_balance(tech, credits, plans, RULES, as_of)
    assert balance.status in ("lapsed", "due-soon", "behind-pace", "on-track", "complete", "no-certifications")
    assert balance.to_dict()["email"] == "sam@example.com"
