"""`techs edit` and `techs deactivate` (what import and the leaver packet rely on), through the real CLI."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from mailbot.ledger.db import session_scope
from mailbot.ledger.models import AuditEvent
from mailbot.ledger.techs import find_by_address
from tests.helpers import make_app
from tests.test_import_export import run, write_config


@pytest.fixture
def setup(tmp_path, db_url, capsys):
    config = write_config(tmp_path, db_url)
    code, _, err = run(capsys, config, "techs", "add", "--name", "Dana Reyes", "--email", "dana@example.com",
                       "--cert", "WRT:2023-04-03")
    assert code == 0, err
    return config, make_app(tmp_path, db_url)


def test_edit_changes_fields_addresses_and_certifications(setup, capsys):
    config, app = setup
    code, out, err = run(capsys, config, "techs", "edit", "dana@example.com", "--name", "Dana M. Reyes",
                         "--iicrc-id", "100234", "--cycle-start", "2023-05-01", "--add-email", "dana@phone.example",
                         "--add-cert", "asd:2025-02-01", "--json")
    assert code == 0, err
    tech = json.loads(out)
    assert (tech["name"], tech["iicrc_id"], tech["cycle_start"]) == ("Dana M. Reyes", "100234", "2023-05-01")
    assert tech["emails"] == ["dana@example.com", "dana@phone.example"]
    assert {c["designation"] for c in tech["certifications"]} == {"WRT", "ASD"}
    code, out, _ = run(capsys, config, "techs", "edit", "dana@phone.example", "--remove-email", "dana@example.com",
                       "--json")
    assert code == 0 and json.loads(out)["emails"] == ["dana@phone.example"]  # the other became primary
    with session_scope(app.engine) as s:
        assert find_by_address(s, "dana@example.com") is None
        edits = s.exec(select(AuditEvent).where(AuditEvent.action == "tech.edit")).all()
        assert len(edits) == 2 and "Dana M. Reyes" in edits[0].detail


def test_edit_refuses_what_would_break_the_ledger(setup, capsys):
    config, _ = setup
    code, _, err = run(capsys, config, "techs", "edit", "dana@example.com", "--remove-email", "dana@example.com")
    assert code == 1 and "only address" in err
    code, _, err = run(capsys, config, "techs", "edit", "dana@example.com", "--add-cert", "WRT:2024-01-01")
    assert code == 1 and "already holds WRT" in err
    code, _, err = run(capsys, config, "techs", "edit", "dana@example.com", "--cycle-start", "01/05/2023")
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = run(capsys, config, "techs", "edit", "nobody@example.com", "--name", "X")
    assert code == 1 and err.count("\n") == 1


def test_deactivate_keeps_the_technician_recognisable_and_their_history(setup, capsys):
    config, app = setup
    code, _, _ = run(capsys, config, "credits", "add", "--tech", "dana@example.com", "--hours", "2",
                     "--title", "IICRC booth", "--date", "2026-03-14", "--kind", "booth")
    assert code == 0
    code, out, err = run(capsys, config, "techs", "deactivate", "dana@example.com", "--on", "2026-06-30")
    assert code == 0, err
    _, out, _ = run(capsys, config, "techs", "list", "--json")
    [tech] = map(json.loads, out.splitlines())
    assert (tech["active"], tech["left_on"]) == (False, "2026-06-30")
    _, out, _ = run(capsys, config, "credits", "list", "--tech", "dana@example.com", "--json")
    assert len(out.splitlines()) == 1  # history kept
    with session_scope(app.engine) as s:
        assert find_by_address(s, "dana@example.com").active is False  # mail still identifies her
    code, _, err = run(capsys, config, "techs", "deactivate", "dana@example.com")
    assert code == 1 and "already inactive" in err
    code, out, _ = run(capsys, config, "techs", "edit", "dana@example.com", "--reactivate", "--json")
    assert code == 0 and (json.loads(out)["active"], json.loads(out)["left_on"]) == (True, None)
