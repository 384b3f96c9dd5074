"""The hand-computed cases of test_rules_cases.py, checked again through the ledger and the published
command `mailbot balances --as-of … --json`, on SQLite and PostgreSQL.

Credits go in the way a user puts them in (`credits add` semantics: ledger rows, voids as voids, sent and
confirmed submissions as drafts); cases that need a state the ledger only reaches through other flows
(former-unit conversions, cap exemptions, pending review with a date) stay with the pure tests.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from mailbot.cli.main import cli
from mailbot.ledger import credits as credit_ops
from mailbot.ledger.db import init_db, make_engine, session_scope
from mailbot.ledger.models import Draft, PlanEntry, to_centi, utcnow
from mailbot.ledger.techs import add_technician
from tests.test_rules_cases import CASES, Case

UNSUPPORTED = ("former_unit", "cap_exempt")


def through_ledger(case: Case) -> bool:
    return not any(getattr(c, f) for c in case.credits for f in UNSUPPORTED) and \
        not any(c.state == "pending_review" for c in case.credits)


LEDGER_CASES = [c for c in CASES if through_ledger(c)]


def write_config(tmp_path, db_url: str, rules: dict | None) -> str:
    path = tmp_path / "mailbot.toml"
    text = f'[company]\nadmins = ["o@x.example"]\n[database]\nurl = "{db_url}"\n'
    path.write_text(text)
    if rules:  # the override goes in as TOML, the way an admin writes it
        path.write_text(text + "\n".join(toml_tables("rules", rules)) + "\n")
    return str(path)


def toml_tables(name: str, table: dict) -> list[str]:
    lines = [f"[{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += toml_tables(f"{name}.{key}", value)
    return lines


def load(engine, case: Case) -> None:  # type: ignore[no-untyped-def]
    latest: dict[str, date] = {}  # the ledger keeps one row per designation: a re-test moves its date
    for designation, on in case.certs:
        latest[designation.upper()] = max(latest.get(designation.upper(), date.min), date.fromisoformat(on))
    with session_scope(engine) as s:
        tech = add_technician(s, "Case Person", ["case@x.example"], certifications=list(latest.items()),
                              cycle_start=date.fromisoformat(case.cycle_start) if case.cycle_start else None)
        tech.active = case.active
        for credit in case.credits:
            row = credit_ops.add_credit(s, tech, title=f"Course {credit.id}", hours=credit.hours,
                                        completed_on=credit.completed_on, actor="test", kind=credit.kind,
                                        event_key=credit.event_key)
            if credit.state == "voided":
                credit_ops.void_credit(s, row.id, reason="case", actor="test")
            if credit.submission != "none":
                s.add(Draft(tech_id=tech.id, credit_id=row.id, to_addr="r@x.example", subject="s", body_text="t",
                            body_html="h", state="drafted" if credit.submission == "drafted" else "sent",
                            confirmed_at=utcnow() if credit.submission == "confirmed" else None))
        for day, hours in case.plans:
            s.add(PlanEntry(tech_id=tech.id, on=date.fromisoformat(day), hours_centi=to_centi(hours), title="plan"))
        s.add(tech)


def same(shown, expected) -> bool:  # type: ignore[no-untyped-def]
    if isinstance(expected, str) and isinstance(shown, (int, float)):
        return Decimal(str(shown)) == Decimal(expected)
    return shown == expected


@pytest.mark.parametrize("case", LEDGER_CASES, ids=[c.name for c in LEDGER_CASES])
def test_case_through_balances_json(case: Case, tmp_path, db_url) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    load(engine, case)
    engine.dispose()
    config = write_config(tmp_path, db_url, case.rules)
    result = CliRunner().invoke(cli, ["--config", config, "balances", "--as-of", case.as_of, "--json"])
    assert result.exit_code == 0, result.output
    [shown] = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    for key, expected in case.expect.items():
        if key == "fee_due" and expected is None:
            assert shown["fee_due"] is None
        elif key == "fee_due":
            assert (shown["fee_due"], shown["fee_status"]) == (expected["on"], expected["status"])
        elif key == "certifications":
            got = [{k: c[k] for k in ("designation", "level", "status")} for c in shown["certifications"]]
            assert got == [{k: c[k] for k in ("designation", "level", "status")} for c in expected]
        elif key in shown:
            assert same(shown[key], expected), f"{key}: {shown[key]!r} != {expected!r}"


def test_most_cases_run_through_the_command() -> None:
    assert len(LEDGER_CASES) >= 30
