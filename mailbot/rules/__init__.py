"""IICRC rules as data, and balances, deadlines and pace as pure functions of (records, rules, date).

Nothing in this package reads a clock, a file outside the package, the network or the database.
"""
from mailbot.rules.balance import compute_balance
from mailbot.rules.loader import load_rules
from mailbot.rules.model import (
    Balance,
    CertificationStatus,
    CertRecord,
    CreditRecord,
    FeeDue,
    PlanItem,
    Rules,
    TechRecord,
)
from mailbot.rules.plan import plan_from_template
from mailbot.rules.tally import former_units_to_hours
from mailbot.rules.team import Coverage, LapseAction, coverage, lapse_action, team_risk_order

__all__ = [
    "Balance",
    "CertRecord",
    "CertificationStatus",
    "Coverage",
    "CreditRecord",
    "FeeDue",
    "LapseAction",
    "PlanItem",
    "Rules",
    "TechRecord",
    "compute_balance",
    "coverage",
    "former_units_to_hours",
    "lapse_action",
    "load_rules",
    "plan_from_template",
    "team_risk_order",
]
