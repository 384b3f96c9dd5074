"""`mailbot coverage`: current technicians per work category; empty and at-risk categories called out."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from mailbot.ledger.credits import add_credit
from mailbot.ledger.db import session_scope
from mailbot.ledger.techs import add_technician, deactivate
from tests.helpers import make_app
from tests.test_import_export import run, write_config


@pytest.fixture
def config(tmp_path, db_url):
    """As of 2026-06-01 (hand-computed from the default rules):
    Ann  WRT 2024-01-10, 14 h earned       → complete, current for water until 2028-01-10.
    Ben  AMRT 2022-09-01, nothing earned   → cycle ends 2026-09-01, due-soon but current: the only mold tech.
    Cal  FSRT 2018-01-01, nothing earned   → lapsed since 2022-01-01: fire has nobody current.
    Dee  MWR, left the company             → counts nowhere."""
    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        ann = add_technician(s, "Ann", ["ann@example.com"], certifications=[("WRT", date(2024, 1, 10))])
        add_credit(s, ann, title="Drying refresher", hours=Decimal(14), completed_on=date(2025, 5, 1), actor="t")
        add_technician(s, "Ben", ["ben@example.com"], certifications=[("AMRT", date(2022, 9, 1))])
        add_technician(s, "Cal", ["cal@example.com"], certifications=[("FSRT", date(2018, 1, 1))])
        dee = add_technician(s, "Dee", ["dee@example.com"], certifications=[("MWR", date(2025, 1, 1))])
        deactivate(s, dee, on=date(2026, 1, 31), actor="t")
    return write_config(tmp_path, db_url)


def test_counts_per_category_and_the_next_lapse(config, capsys):
    code, out, err = run(capsys, config, "coverage", "--as-of", "2026-06-01", "--json")
    assert code == 0, err
    rows = {r["category"]: r for r in map(json.loads, out.splitlines())}
    assert (rows["water"]["current"], rows["water"]["technicians"], rows["water"]["at_risk"]) == \
        (1, ["ann@example.com"], False)
    assert (rows["mold"]["current"], rows["mold"]["at_risk"], rows["mold"]["next_lapse_on"],
            rows["mold"]["next_lapse_emails"]) == (1, True, "2026-09-01", ["ben@example.com"])
    assert (rows["fire"]["current"], rows["fire"]["uncovered"]) == (0, True)
    # Dee's MWR would count for water and mold, but she left: both counts above are 1, not 2
    assert rows["odor"]["uncovered"] and rows["odor"]["current"] == 0


def test_human_output_calls_out_empty_and_at_risk_categories(config, capsys):
    code, out, _ = run(capsys, config, "coverage", "--as-of", "2026-06-01")
    assert code == 0
    callouts = [line for line in out.splitlines() if line.startswith(("no current", "the next lapse"))]
    assert len(callouts) == 2
    assert "fire" in callouts[0] and "water" not in callouts[0]
    assert "ben@example.com" in callouts[1] and "2026-09-01" in callouts[1] and callouts[1].endswith("mold")


def test_once_ben_catches_up_mold_is_no_longer_at_risk(config, tmp_path, capsys):
    code, _, _ = run(capsys, config, "credits", "add", "--tech", "ben@example.com", "--hours", "14",
                     "--title", "Mold update", "--date", "2026-05-20")
    assert code == 0
    _, out, _ = run(capsys, config, "coverage", "--as-of", "2026-06-01", "--json")
    rows = {r["category"]: r for r in map(json.loads, out.splitlines())}
    assert rows["mold"]["at_risk"] is False and rows["mold"]["current"] == 1
