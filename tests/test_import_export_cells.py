"""Reading cells and headers the way a person meant them (pure functions, no database)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from mailbot.ledger.cells import CellError, parse_active, parse_date, parse_hours, split_designations
from mailbot.ledger.columns import (
    CE_LOG,
    CERTIFICATIONS,
    TECHNICIANS,
    guess_field,
    map_headers,
    parse_overrides,
)
from mailbot.ledger.import_rows import CERT_TOKENS


@pytest.mark.parametrize("cell, expected", [
    ("2026-03-02", date(2026, 3, 2)),
    ("03/02/2026", date(2026, 3, 2)),  # US order
    ("3/2/26", date(2026, 3, 2)),
    ("14/03/2026", date(2026, 3, 14)),  # 14 cannot be a month: day first
    ("14 March 2026", date(2026, 3, 14)),
    ("March 14, 2026", date(2026, 3, 14)),
    ("14-Mar-26", date(2026, 3, 14)),
    ("9th Feb 2026", date(2026, 2, 9)),
    ("2024-02-29", date(2024, 2, 29)),
    (46083, date(2026, 3, 2)),  # Excel serial: 1900-01-01 is 1, with Excel's phantom 1900-02-29
    ("46083", date(2026, 3, 2)),
    (datetime(2026, 3, 2, 0, 0), date(2026, 3, 2)),
    ("2026-03-02 00:00:00", date(2026, 3, 2)),
])
def test_dates_people_type(cell, expected):
    assert parse_date(cell) == expected


@pytest.mark.parametrize("cell", ["31/31/2026", "2025-02-29", "soon", "", None, 12, True, "Smarch 3 2026"])
def test_dates_that_are_not(cell):
    with pytest.raises(CellError):
        parse_date(cell)


@pytest.mark.parametrize("cell, hours, former", [
    (7, "7", None), (3.5, "3.5", None), ("7 hrs", "7", None), ("7 CECs", "7", None), ("0,5 h", "0.5", None),
    ("2.25 hours", "2.25", None), ("1 CEC (7h)", "7", "1"), ("2 CEC (14 hours)", "14", "2"),
    ("3 CEC (3 h)", "3", None),
])
def test_hours_people_type(cell, hours, former):
    read = parse_hours(cell)
    assert read.hours == Decimal(hours)
    assert read.former_units == (Decimal(former) if former else None)


@pytest.mark.parametrize("cell", ["seven", "", "0", "-2", "101", "1 CEC (5h)", "1.333", True])
def test_hours_that_are_not(cell):
    with pytest.raises(CellError):
        parse_hours(cell)


def test_designations_and_status_words():
    assert split_designations("WRT/ASD") == ["WRT", "ASD"]
    assert split_designations("wrt, asd & AMRT, WRT") == ["WRT", "ASD", "AMRT"]
    assert [t.strip() for t in CERT_TOKENS.split("WRT 03/02/2024; ASD 2024-05-10")] == \
        ["WRT 03/02/2024", "ASD 2024-05-10"]
    assert [t.strip() for t in CERT_TOKENS.split("WRT/ASD")] == ["WRT", "ASD"]
    assert [parse_active(w) for w in ("Active", "Former", "left", "", "Y")] == [True, False, False, None, True]
    with pytest.raises(CellError):
        parse_active("maybe")


def test_headers_common_spellings_typos_and_overrides():
    mapped = map_headers(CE_LOG, ["Tech Name", "E-mail", "Course Title", "CE Hrs", "Date Completed", "Notes"])
    assert mapped.columns == {0: "name", 1: "email", 2: "course", 3: "hours", 4: "date"}
    assert mapped.unmapped == ["Notes"] and mapped.usable()
    assert guess_field(TECHNICIANS, "Technican Name") == "name"  # typo
    assert guess_field(CE_LOG, "Certificate ID") is None  # a decoy number, not the IICRC ID
    assert guess_field(CE_LOG, "IICRC #") == "iicrc_id" and guess_field(CE_LOG, "Approval #") == "approval_number"
    assert guess_field(TECHNICIANS, "Cert #") is None  # a certificate number, not the designations held
    forced = map_headers(CE_LOG, ["Who", "What", "When", "How long"],
                         overrides=parse_overrides(["who=name", "WHAT=course", "When=date", "How long=hours"]))
    assert forced.columns == {0: "name", 1: "course", 2: "date", 3: "hours"}
    remembered = map_headers(CE_LOG, ["Who", "What"], remembered={"who": "name", "what": "course"})
    assert remembered.columns == {0: "name", 1: "course"} and not remembered.usable()
    # a --map meant for the CE log does not hide the usual meaning on the Certifications tab
    assert map_headers(CERTIFICATIONS, ["Email", "Designation", "Date"], overrides={"Date": "date"}).columns == \
        {0: "email", 1: "designation", 2: "certified_on"}
    with pytest.raises(ValueError, match="unknown field"):
        parse_overrides(["Who=nobody"])
