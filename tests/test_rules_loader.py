"""The packaged rules file, and the config's [rules] overrides merged into it."""
from __future__ import annotations

from decimal import Decimal

import pytest

from mailbot.errors import ConfigError
from mailbot.rules import former_units_to_hours, load_rules

D = Decimal


def test_packaged_rules_carry_the_published_iicrc_numbers() -> None:
    rules = load_rules()
    assert rules.levels["technician"].cycle_years == 4 and rules.levels["technician"].required_hours == 14
    assert rules.levels["master"].cycle_years == 2 and rules.levels["master"].required_hours == 14
    assert rules.levels["inspector"].cycle_years == 2 and rules.levels["inspector"].required_hours == 14
    assert rules.units.booth_visit_hours == 2
    assert rules.units.former_unit_hours == 7


def test_every_designation_named_in_the_product_brief_is_there() -> None:
    rules = load_rules()
    technician = ["WRT", "ASD", "AMRT", "FSRT", "OCT", "CDS", "HST", "CCT", "UFT", "RCT", "LCT", "CRT", "RRT", "FCT", "SMT", "RFMT"]
    for code in technician:
        assert rules.designations[code].level == "technician", code
    for code in ("MTC", "MWR", "MSR"):
        assert rules.designations[code].level == "master", code
    assert any(d.level == "inspector" for d in rules.designations.values())
    assert rules.designations["WRT"].categories == ("water",)
    assert "fire" in rules.designations["FSRT"].categories
    assert "mold" in rules.designations["AMRT"].categories
    assert {"water", "fire", "mold", "cleaning", "carpet", "upholstery"} <= set(rules.categories)


def test_designation_lookup_ignores_case_and_spaces() -> None:
    rules = load_rules()
    assert rules.designation(" wrt ").code == "WRT"
    assert rules.designation("nope") is None


def test_policy_defaults_are_the_documented_ones() -> None:
    policy = load_rules().policy
    assert policy.carry_over is False
    assert policy.per_day_cap is None
    assert policy.due_soon_days == 180
    assert policy.reinstatement_after_months == 24
    assert policy.invoice_address == "renewals@iicrcnet.org"
    assert policy.reinstatement_address == "reinstatements@iicrcnet.org"
    assert policy.fee_reminder_days == (30, 7)


def test_overrides_merge_key_by_key() -> None:
    rules = load_rules({"levels": {"master": {"required_hours": 16}}, "policy": {"per_day_cap": 8}})
    assert rules.levels["master"].required_hours == 16
    assert rules.levels["master"].cycle_years == 2  # untouched key kept
    assert rules.policy.per_day_cap == 8
    assert rules.policy.due_soon_days == 180


def test_an_override_does_not_leak_into_the_next_load() -> None:
    load_rules({"policy": {"carry_over": True}})
    assert load_rules().policy.carry_over is False


def test_a_float_from_another_toml_reader_becomes_an_exact_decimal() -> None:
    rules = load_rules({"units": {"booth_visit_hours": 0.1}, "levels": {"technician": {"required_hours": "1.5"}}})
    assert rules.units.booth_visit_hours == D("0.1")
    assert rules.levels["technician"].required_hours == D("1.5")


def test_a_new_designation_can_be_added_and_an_old_one_moved() -> None:
    rules = load_rules({"designations": {
        "xyz": {"name": "New thing", "level": "master", "categories": ["Water"]},
        "wrt": {"level": "master"},
    }})
    assert rules.designations["XYZ"].categories == ("water",)
    assert rules.designations["WRT"].level == "master"
    assert rules.designations["WRT"].name == "Water Damage Restoration Technician"


def test_per_day_cap_none_is_accepted() -> None:
    assert load_rules({"policy": {"per_day_cap": "none"}}).policy.per_day_cap is None


@pytest.mark.parametrize(("overrides", "key"), [
    ({"polcy": {}}, "rules.polcy"),
    ({"policy": {"carryover": True}}, "rules.policy.carryover"),
    ({"policy": {"carry_over": "yes"}}, "rules.policy.carry_over"),
    ({"policy": {"per_day_cap": 0}}, "rules.policy.per_day_cap"),
    ({"policy": {"per_day_cap": "-2"}}, "rules.policy.per_day_cap"),
    ({"policy": {"due_soon_days": 1.5}}, "rules.policy.due_soon_days"),
    ({"policy": {"fee_reminder_days": 30}}, "rules.policy.fee_reminder_days"),
    ({"policy": {"fee_reminder_days": [30, "x"]}}, "rules.policy.fee_reminder_days[1]"),
    ({"levels": {"master": {"required_hours": "lots"}}}, "rules.levels.master.required_hours"),
    ({"levels": {"master": {"cycle_years": 0}}}, "rules.levels.master.cycle_years"),
    ({"levels": {"guru": {"rank": 9, "cycle_years": 1}}}, "rules.levels.guru.required_hours"),
    ({"designations": {"XYZ": {"name": "x", "level": "wizard", "categories": ["water"]}}},
     "rules.designations.XYZ.level"),
    ({"designations": {"XYZ": {"name": "x", "level": "master"}}}, "rules.designations.XYZ.categories"),
    ({"designations": {"WRT": {"categories": []}}}, "rules.designations.WRT.categories"),
    ({"units": {"booth_visit_hours": True}}, "rules.units.booth_visit_hours"),
    ({"plan_template": [{"month": 2, "day": 30, "hours": 1, "title": "x", "kind": "class"}]},
     "rules.plan_template[0].day"),
    ({"plan_template": [{"month": 2, "day": 1, "title": "x", "kind": "class"}]}, "rules.plan_template[0].hours"),
    ({"plan_template": [{"month": 2, "day": 1, "hours": 1, "title": "x", "kind": "party"}]},
     "rules.plan_template[0].kind"),
])
def test_bad_overrides_name_the_key(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_rules(overrides)
    assert str(raised.value).startswith(key + ":"), str(raised.value)


def test_overrides_that_are_not_a_table_are_refused() -> None:
    with pytest.raises(ConfigError, match="^rules:"):
        load_rules(["policy"])  # type: ignore[arg-type]


def test_the_plan_template_is_replaced_as_a_whole() -> None:
    rules = load_rules({"plan_template": [{"month": 6, "day": 1, "title": "Booth", "kind": "booth"}]})
    assert len(rules.plan_template) == 1
    assert rules.plan_template[0].hours == 2  # a booth item without hours takes the booth rule


def test_hours_step_defaults_to_exact_and_can_be_set() -> None:
    assert load_rules().policy.hours_step is None
    assert load_rules({"policy": {"hours_step": "0.25"}}).policy.hours_step == D("0.25")
    with pytest.raises(ConfigError, match=r"^rules\.policy\.hours_step:"):
        load_rules({"policy": {"hours_step": "half"}})


def test_former_unit_converts_at_seven_hours_unless_overridden() -> None:
    assert former_units_to_hours(D("1"), load_rules()) == 7
    assert former_units_to_hours(D("1.5"), load_rules()) == D("10.5")
    assert former_units_to_hours(D("2"), load_rules({"units": {"former_unit_hours": 8}})) == 16
