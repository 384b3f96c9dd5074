"""Read the packaged IICRC rules, merge the config's [rules] overrides, validate, freeze.

Every problem is a ConfigError whose message starts with the dotted key (rules.policy.per_day_cap …),
so the admin knows which line of the config to fix.
"""
from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any

from mailbot.errors import ConfigError
from mailbot.rules.model import (
    CREDIT_KINDS,
    Designation,
    Level,
    PlanTemplateItem,
    Policy,
    Rules,
    Units,
    frozen_mapping,
)

TOP_KEYS = {"units", "levels", "designations", "policy", "plan_template"}


@lru_cache(maxsize=1)
def _packaged_text() -> str:
    return resources.files("mailbot.rules").joinpath("iicrc.toml").read_text(encoding="utf-8")


def packaged_rules_data() -> dict[str, Any]:
    """The packaged file as plain data (a fresh copy each call), floats read as Decimal."""
    return tomllib.loads(_packaged_text(), parse_float=Decimal)


def load_rules(overrides: dict | None = None) -> Rules:
    """The packaged rules merged with `overrides` (the config's [rules] table, same shape).

    Tables merge key by key; lists (fee_reminder_days, categories, plan_template) replace.
    Raises ConfigError naming the key for an unknown key or a bad value.
    """
    data = packaged_rules_data()
    if overrides is not None:
        if not isinstance(overrides, dict):
            raise ConfigError("rules: expected a table")
        data = _merge(data, overrides, "rules")
    return _build(data)


def _merge(base: dict, extra: dict, path: str) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        where = f"{path}.{key}"
        if path == "rules" and key not in TOP_KEYS:
            raise ConfigError(f"{where}: unknown key (expected one of {', '.join(sorted(TOP_KEYS))})")
        if path == "rules.designations":
            key = str(key).strip().upper()  # codes are upper case whatever the config says
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, where)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- value checks ----------------------------------------------------------------------------

def _table(value: Any, where: str, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table")
    for key in value:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: unknown key (expected one of {', '.join(sorted(allowed))})")
    for key in sorted(required - value.keys()):
        raise ConfigError(f"{where}.{key}: missing")
    return value


def _hours(value: Any, where: str, *, positive: bool = False) -> Decimal:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number of hours, got {value!r}")
    try:
        # str() first: a float from another TOML reader becomes its shortest exact spelling (0.1, not 0.1000…5).
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConfigError(f"{where}: expected a number of hours, got {value!r}") from None
    if not hours.is_finite() or hours < 0 or (positive and hours == 0):
        raise ConfigError(f"{where}: expected a {'positive' if positive else 'non-negative'} number, got {value!r}")
    return hours


def _optional_hours(value: Any, where: str) -> Decimal | None:
    """ "none" (any case) or a positive number of hours."""
    if isinstance(value, str) and value.strip().lower() == "none":
        return None
    return _hours(value, where, positive=True)


def _int(value: Any, where: str, low: int, high: int = 10**6) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: expected a whole number from {low} to {high}, got {value!r}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected non-empty text, got {value!r}")
    return value.strip()


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def _list(value: Any, where: str, item: Callable[[Any, str], Any]) -> tuple:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {value!r}")
    return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))


# --- sections --------------------------------------------------------------------------------

def _build(data: dict) -> Rules:
    _table(data, "rules", TOP_KEYS, TOP_KEYS)
    units = _units(data["units"])
    levels = _levels(data["levels"])
    return Rules(
        units=units,
        levels=frozen_mapping(levels),
        designations=frozen_mapping(_designations(data["designations"], levels)),
        policy=_policy(data["policy"]),
        plan_template=_list(data["plan_template"], "rules.plan_template",
                            lambda v, w: _plan_item(v, w, units)),
    )


def _units(value: Any) -> Units:
    keys = {"booth_visit_hours", "former_unit_hours"}
    t = _table(value, "rules.units", keys, keys)
    return Units(booth_visit_hours=_hours(t["booth_visit_hours"], "rules.units.booth_visit_hours", positive=True),
                 former_unit_hours=_hours(t["former_unit_hours"], "rules.units.former_unit_hours", positive=True))


def _levels(value: Any) -> dict[str, Level]:
    table = _table(value, "rules.levels", set(value) if isinstance(value, dict) else set(), set())
    if not table:
        raise ConfigError("rules.levels: at least one level is needed")
    levels = {}
    keys = {"rank", "cycle_years", "required_hours"}
    for name, entry in table.items():
        where = f"rules.levels.{name}"
        t = _table(entry, where, keys, keys)
        levels[name] = Level(name=name, rank=_int(t["rank"], f"{where}.rank", 0),
                             cycle_years=_int(t["cycle_years"], f"{where}.cycle_years", 1, 50),
                             required_hours=_hours(t["required_hours"], f"{where}.required_hours"))
    return levels


def _designations(value: Any, levels: dict[str, Level]) -> dict[str, Designation]:
    table = _table(value, "rules.designations", set(value) if isinstance(value, dict) else set(), set())
    keys = {"name", "level", "categories"}
    found = {}
    for code, entry in table.items():
        where = f"rules.designations.{code}"
        t = _table(entry, where, keys, keys)
        level = _text(t["level"], f"{where}.level")
        if level not in levels:
            raise ConfigError(f"{where}.level: unknown level {level!r} (known: {', '.join(sorted(levels))})")
        categories = _list(t["categories"], f"{where}.categories", lambda v, w: _text(v, w).lower())
        if not categories:
            raise ConfigError(f"{where}.categories: at least one category is needed")
        found[code.upper()] = Designation(code=code.upper(), name=_text(t["name"], f"{where}.name"),
                                          level=level, categories=categories)
    return found


def _policy(value: Any) -> Policy:
    keys = {"carry_over", "per_day_cap", "hours_step", "fee_reminder_days", "due_soon_days", "reinstatement_after_months",
            "invoice_address", "reinstatement_address", "days_per_month"}
    t = _table(value, "rules.policy", keys, keys)
    w = "rules.policy."
    return Policy(
        carry_over=_bool(t["carry_over"], w + "carry_over"),
        per_day_cap=_optional_hours(t["per_day_cap"], w + "per_day_cap"),
        hours_step=_optional_hours(t["hours_step"], w + "hours_step"),
        fee_reminder_days=_list(t["fee_reminder_days"], w + "fee_reminder_days", lambda v, x: _int(v, x, 0, 366)),
        due_soon_days=_int(t["due_soon_days"], w + "due_soon_days", 0, 3660),
        reinstatement_after_months=_int(t["reinstatement_after_months"], w + "reinstatement_after_months", 1, 600),
        invoice_address=_text(t["invoice_address"], w + "invoice_address"),
        reinstatement_address=_text(t["reinstatement_address"], w + "reinstatement_address"),
        days_per_month=_hours(t["days_per_month"], w + "days_per_month", positive=True),
    )


def _plan_item(value: Any, where: str, units: Units) -> PlanTemplateItem:
    t = _table(value, where, {"month", "day", "hours", "title", "kind"}, {"month", "day", "title", "kind"})
    kind = _text(t["kind"], f"{where}.kind")
    if kind not in CREDIT_KINDS:
        raise ConfigError(f"{where}.kind: expected one of {', '.join(CREDIT_KINDS)}, got {kind!r}")
    if "hours" in t:
        hours = _hours(t["hours"], f"{where}.hours")
    elif kind == "booth":
        hours = units.booth_visit_hours
    else:
        raise ConfigError(f"{where}.hours: missing (only a booth item may leave it out)")
    month = _int(t["month"], f"{where}.month", 1, 12)
    day = _int(t["day"], f"{where}.day", 1, 31)
    _check_month_day(month, day, f"{where}.day")
    return PlanTemplateItem(month=month, day=day, hours=hours, title=_text(t["title"], f"{where}.title"), kind=kind)


def _check_month_day(month: int, day: int, where: str) -> None:
    try:
        date(2000, month, day)  # a leap year, so Feb 29 is allowed (it falls back to Feb 28)
    except ValueError:
        raise ConfigError(f"{where}: {month}/{day} is not a calendar day") from None
