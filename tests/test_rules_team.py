"""Team views: risk order for the admin roll-up, coverage per work category, lapse triage, plan template."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from mailbot.rules import (
    CertRecord,
    CreditRecord,
    TechRecord,
    compute_balance,
    coverage,
    lapse_action,
    load_rules,
    plan_from_template,
    team_risk_order,
)

AS_OF = date(2025, 1, 1)
RULES = load_rules()


def tech(key: str, certs: tuple, active: bool = True) -> TechRecord:
    return TechRecord(id=hash(key) % 1000, name=f"Tech {key}", email=f"{key}@example.com", iicrc_id=None,
                      cycle_start=None, active=active,
                      certifications=tuple(CertRecord(code, date.fromisoformat(day)) for code, day in certs))


def credit(day: str, hours: str) -> CreditRecord:
    return CreditRecord(id=1, completed_on=date.fromisoformat(day), hours=Decimal(hours))


def balance(key: str, certs: tuple, credits: tuple = (), active: bool = True):
    return compute_balance(tech(key, certs, active), list(credits), [], RULES, AS_OF)


def team() -> dict:
    """Statuses worked out by hand for 2025-01-01."""
    return {
        # [2016,2020) and [2020,2024) short → lapsed since 2020-01-01 (60 months)
        "a": balance("a", (("WRT", "2016-01-01"),)),
        # [2016,2020) met, [2020,2024) short → lapsed since 2024-01-01 (12 months)
        "b": balance("b", (("WRT", "2016-01-01"),), (credit("2017-01-01", "14"),)),
        # cycle ends 2025-06-01, 151 days away → due-soon
        "c": balance("c", (("WRT", "2021-06-01"),)),
        # [2024,2028): 366 elapsed, nothing earned → behind-pace, pace 14 × 30.4375 / 1095 = 0.39
        "d": balance("d", (("WRT", "2024-01-01"),)),
        # [2024-06-01, 2026-06-01) 730 d, 214 elapsed: 3 × 730 < 14 × 214 → behind-pace,
        # pace 11 × 30.4375 / 516 = 0.65
        "e": balance("e", (("MWR", "2024-06-01"),), (credit("2024-08-01", "3"),)),
        "f": balance("f", (("AMRT", "2023-01-01"),), (credit("2023-05-01", "14"),)),  # complete
        "g": balance("g", ()),  # no certifications
        # [2024-10-01, 2028-10-01): 92 elapsed, 2 × 1461 ≥ 14 × 92 → on-track
        "h": balance("h", (("OCT", "2024-10-01"),), (credit("2024-11-01", "2"),)),
        # [2021-03-01, 2025-03-01): 59 days left → due-soon, the next lapse of the team
        "i": balance("i", (("FSRT", "2021-03-01"),)),
        "j": balance("j", (("FSRT", "2023-01-01"),), (credit("2023-05-01", "14"),), active=False),  # left
    }


def test_statuses_are_as_worked_out_by_hand() -> None:
    statuses = {key: b.status for key, b in team().items()}
    assert statuses == {"a": "lapsed", "b": "lapsed", "c": "due-soon", "d": "behind-pace", "e": "behind-pace",
                        "f": "complete", "g": "no-certifications", "h": "on-track", "i": "due-soon",
                        "j": "complete"}


def test_risk_order_puts_the_longest_lapse_and_the_nearest_deadline_first() -> None:
    people = team()
    ordered = [b.email.split("@")[0] for b in team_risk_order(people.values())]
    # lapsed (2020 before 2024), due-soon (Mar before Jun), behind-pace (0.65 before 0.39), on-track,
    # complete (by name: f, j), no-certifications
    assert ordered == ["a", "b", "i", "c", "e", "d", "h", "f", "j", "g"]


def test_coverage_counts_current_technicians_and_calls_out_the_next_lapse() -> None:
    report = coverage(team().values(), RULES)
    # current: c (water), d (water), e (MWR: water, mold), f (mold), h (odor), i (fire); a, b lapsed,
    # g holds nothing, j left
    assert report.current["water"] == 3
    assert report.current["mold"] == 2
    assert report.current["odor"] == 1
    assert report.current["fire"] == 1
    assert report.current["carpet"] == 0
    assert "carpet" in report.uncovered and "water" not in report.uncovered
    # the earliest short cycle end among current technicians: i on 2025-03-01, the only fire tech
    assert report.next_lapse_on == date(2025, 3, 1)
    assert report.next_lapse_emails == ("i@example.com",)
    assert report.at_risk == ("fire",)


def test_coverage_lists_every_category_of_the_rules() -> None:
    assert set(coverage([], RULES).current) == set(RULES.categories)
    assert coverage([], RULES).next_lapse_on is None


def test_lapse_action_by_months_lapsed() -> None:
    people = team()
    assert lapse_action(people["a"], RULES).address == "reinstatements@iicrcnet.org"  # 60 months
    b = lapse_action(people["b"], RULES)  # 12 months
    assert (b.kind, b.address, b.months_lapsed) == ("invoice", "renewals@iicrcnet.org", 12)
    assert lapse_action(people["c"], RULES) is None


def test_plan_template_dates_a_year() -> None:
    items = plan_from_template(tech("p", (("WRT", "2020-01-01"),)), RULES, 2026)
    assert [(i.date.isoformat(), str(i.hours)) for i in items] == [
        ("2026-02-15", "3"), ("2026-03-15", "2"), ("2026-05-15", "4"), ("2026-09-15", "4"), ("2026-11-15", "0")]
    assert [i.title.split()[0] for i in items] == ["Q1", "Q1", "Q2", "Q3", "Q4"]


def test_plan_template_follows_overrides_and_leap_days() -> None:
    rules = load_rules({"units": {"booth_visit_hours": 3}, "plan_template": [
        {"month": 2, "day": 29, "hours": 1, "title": "leap", "kind": "online"},
        {"month": 1, "day": 10, "title": "booth", "kind": "booth"}]})
    items = plan_from_template(tech("p", (("WRT", "2020-01-01"),)), rules, 2027)
    assert [(i.date, i.hours) for i in items] == [(date(2027, 1, 10), 3), (date(2027, 2, 28), 1)]


def test_no_plan_for_leavers_or_people_without_certifications() -> None:
    assert plan_from_template(tech("p", (("WRT", "2020-01-01"),), active=False), RULES, 2026) == []
    assert plan_from_template(tech("p", ()), RULES, 2026) == []
    assert plan_from_template(tech("p", (("WRT", "2027-01-01"),)), RULES, 2026) == []
    assert plan_from_template(tech("p", (("XYZ", "2020-01-01"),)), RULES, 2026) == []
