"""`mailbot calendar`: an RFC 5545 feed that parses back, with UIDs stable across exports."""
from __future__ import annotations

from datetime import date

import pytest

from mailbot.ledger.calendar import fold
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import PlanEntry
from mailbot.ledger.techs import add_technician, deactivate
from tests.helpers import make_app
from tests.test_import_export import run, write_config

LONG_TITLE = "Séance de formation — " + "applied structural drying, advanced; " * 3


def parse_ics(raw: bytes) -> list[dict[str, str]]:
    """A small reader written from RFC 5545 (not from the writer): CRLF lines, folding, TEXT escapes."""
    text = raw.decode("utf-8")
    assert "\n" not in text.replace("\r\n", "")  # every line ends in CRLF
    for line in text.split("\r\n"):
        assert len(line.encode()) <= 75, line
    unfolded = text.replace("\r\n ", "").split("\r\n")
    assert unfolded[0] == "BEGIN:VCALENDAR" and unfolded[-2] == "END:VCALENDAR"
    events, current = [], None
    for line in unfolded:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = _unescape(value)
    return events


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append("\n" if value[i + 1] in "nN" else value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@pytest.fixture
def config(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    with session_scope(app.engine) as s:
        dana = add_technician(s, "Reyes, Dana; Jr", ["dana@example.com"], certifications=[("WRT", date(2023, 4, 3))])
        s.add(PlanEntry(tech_id=dana.id, on=date(2026, 3, 10), hours_centi=200, title="Trade show booth"))
        s.add(PlanEntry(tech_id=dana.id, on=date(2026, 9, 15), hours_centi=400, title=LONG_TITLE))
        lee = add_technician(s, "Lee Park", ["lee@example.com"], certifications=[("MWR", date(2024, 1, 5))])
        deactivate(s, lee, on=date(2025, 12, 31), actor="test")
    return write_config(tmp_path, db_url)


def export(capsys, config, path):
    code, _, err = run(capsys, config, "calendar", str(path), "--as-of", "2026-01-10")
    assert code == 0, err
    return parse_ics(path.read_bytes())


def test_cycle_end_fee_and_plan_events_with_hand_computed_dates(config, tmp_path, capsys):
    events = {e["DTSTART;VALUE=DATE"]: e for e in export(capsys, config, tmp_path / "a.ics")}
    # WRT certified 2023-04-03, technician level: cycle 2023-04-03 .. 2027-04-03 (exclusive), last day 04-02;
    # the annual fee falls on the anchor's anniversary, next one after 2026-01-10 is 2026-04-03.
    assert set(events) == {"20270402", "20260403", "20260310", "20260915"}
    assert events["20270402"]["SUMMARY"] == "IICRC CEC cycle ends: Reyes, Dana; Jr"
    assert events["20270402"]["DTEND;VALUE=DATE"] == "20270403"
    assert events["20260403"]["SUMMARY"] == "IICRC annual fee due: Reyes, Dana; Jr"
    assert events["20260310"]["SUMMARY"] == "Planned CE: Trade show booth (Reyes, Dana; Jr)"
    assert events["20260915"]["SUMMARY"] == f"Planned CE: {LONG_TITLE} (Reyes, Dana; Jr)"
    assert all("Lee" not in e["SUMMARY"] for e in events.values())  # leavers get no reminders


def test_uids_are_unique_and_stable_across_exports(config, tmp_path, capsys):
    first = export(capsys, config, tmp_path / "a.ics")
    second = export(capsys, config, tmp_path / "b.ics")
    uids = [e["UID"] for e in first]
    assert len(set(uids)) == len(uids) == 4
    assert {e["UID"]: e["SUMMARY"] for e in first} == {e["UID"]: e["SUMMARY"] for e in second}
    assert all(uid.endswith("@testco.example") for uid in uids)


def test_folding_never_splits_a_character():
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
