"""Whatever is in the cells, import never raises: every non-blank row is taken, sent to review, or reported."""
from __future__ import annotations

import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.ledger.db import init_db, make_engine, session_scope
from mailbot.ledger.importer import import_sheets
from mailbot.ledger.spreadsheet import Sheet
from mailbot.ledger.techs import add_technician
from mailbot.rules import load_rules

RULES = load_rules({})
CELLS = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-10, 90_000), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.dates(date(1900, 1, 1), date(2100, 1, 1)), st.datetimes(datetime(1950, 1, 1)),
    st.sampled_from(["7 hrs", "1 CEC (7h)", "03/02/2026", "14 March 2026", "#REF!", "voided", "booth", "=1+1",
                     "dana@example.com", "WRT/ASD", "", "  "]))
HEADERS = ["Email", "Course", "Hours", "Date", "Kind", "State", "Event"]


@pytest.fixture(scope="module")
def empty_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "empty.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with session_scope(engine) as s:
        add_technician(s, "Dana Reyes", ["dana@example.com"])
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.just("dana@example.com") | CELLS, *[CELLS] * 6).map(list), max_size=8))
def test_any_cells_are_taken_or_reported_never_raised(empty_sqlite, rows) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.db"
        shutil.copy(empty_sqlite, db)
        engine = make_engine(f"sqlite:///{db}")
        try:
            sheet = Sheet("CE log", [(1, HEADERS)] + [(i, row) for i, row in enumerate(rows, start=2)])
            with session_scope(engine) as s:
                report = import_sheets(s, [sheet], rules=RULES, actor="fuzz")
        finally:
            engine.dispose()
    non_blank = [i for i, row in enumerate(rows, start=2) if any(c is not None and str(c).strip() for c in row)]
    accounted = [i.row for i in report.skipped] + [i.row for i in report.review]
    assert report.added["credits"] + len(accounted) == len(non_blank)
    assert set(accounted) <= set(non_blank)
    assert all(i.reason for i in report.skipped)


TECH_HEADERS = ["Name", "Email", "Certs", "Cert date", "Status", "Left on", "Cycle start", "IICRC ID"]
CERT_HEADERS = ["Email", "Designation", "Certified on"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(techs=st.lists(st.tuples(*[CELLS] * 8).map(list), max_size=5),
       certs=st.lists(st.tuples(st.just("dana@example.com") | CELLS, CELLS, CELLS).map(list), max_size=5))
def test_technician_and_certification_tabs_never_raise(empty_sqlite, techs, certs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.db"
        shutil.copy(empty_sqlite, db)
        engine = make_engine(f"sqlite:///{db}")
        try:
            sheets = [Sheet("Technicians", [(1, TECH_HEADERS)] + [(i, r) for i, r in enumerate(techs, start=2)]),
                      Sheet("Certifications", [(1, CERT_HEADERS)] + [(i, r) for i, r in enumerate(certs, start=2)])]
            with session_scope(engine) as s:
                report = import_sheets(s, sheets, rules=RULES, actor="fuzz")
        finally:
            engine.dispose()
    assert all(i.reason and i.tab in ("Technicians", "Certifications") for i in report.skipped)
    assert report.added["technicians"] <= len(techs)
