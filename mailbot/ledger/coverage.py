"""`mailbot coverage`: per work category, who is current, and which categories the next lapse would empty."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from mailbot.ledger.balances import compute_for
from mailbot.ledger.models import Technician
from mailbot.rules import coverage
from mailbot.rules.team import NOT_CURRENT


def coverage_report(session: Session, rules: Any, as_of: date) -> dict[str, Any]:
    """{"as_of", "categories": [{category, current, technicians, uncovered, at_risk}], "next_lapse_on",
    "next_lapse_emails"}; at_risk means the next lapse leaves the category with no current technician."""
    techs = session.exec(select(Technician).order_by(Technician.name, Technician.id)).all()
    balances = [compute_for(session, rules, t, as_of) for t in techs]
    summary = coverage(balances, rules)
    names: dict[str, list[str]] = {category: [] for category in summary.current}
    for b in balances:
        if not b.active or b.status in NOT_CURRENT:
            continue
        for category in _categories(b, rules):
            names.setdefault(category, []).append(b.email)
    rows = [{"category": category, "current": count, "technicians": sorted(names.get(category, [])),
             "uncovered": category in summary.uncovered, "at_risk": category in summary.at_risk}
            for category, count in summary.current.items()]
    return {"as_of": as_of, "categories": rows, "next_lapse_on": summary.next_lapse_on,
            "next_lapse_emails": list(summary.next_lapse_emails)}


def _categories(balance: Any, rules: Any) -> set[str]:
    found: set[str] = set()
    for cert in balance.certifications:
        designation = rules.designation(cert.designation)
        if designation is not None:
            found.update(designation.categories)
    return found
