"""import(export(x)) == x: a ledger written to a spreadsheet and read into an empty database comes back the same."""
from __future__ import annotations

import shutil
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from mailbot.ledger.credits import KINDS, add_credit, course_key, void_credit
from mailbot.ledger.db import init_db, make_engine, session_scope
from mailbot.ledger.exporter import export_file
from mailbot.ledger.importer import import_file
from mailbot.ledger.models import Certification, Credit, Technician
from mailbot.ledger.techs import add_technician, list_views
from mailbot.rules import load_rules

RULES = load_rules({})
# Text as people type it: any letters, digits, punctuation and inner spaces (also "=1+1" and "'quoted"),
# never surrounding whitespace (the ledger strips it) nor control characters (.xlsx cannot hold them).
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30) \
    .map(lambda s: " ".join(s.split())).filter(bool)
DAYS = st.dates(date(1995, 1, 1), date(2040, 12, 31))
CODES = st.sampled_from(["WRT", "ASD", "AMRT", "FSRT", "MWR", "XYZ"])


@st.composite
def ledgers(draw):  # type: ignore[no-untyped-def]
    count = draw(st.integers(1, 4))
    techs = []
    for i in range(count):
        techs.append({
            "name": draw(TEXT), "emails": [f"tech{i}@example.com"] + draw(st.sampled_from([[], [f"alt{i}@x.org"]])),
            "iicrc_id": draw(st.none() | st.from_regex(r"0?[0-9]{4,7}", fullmatch=True).map(lambda s, i=i: f"{s}{i}")),
            "cycle_start": draw(st.none() | DAYS), "active": draw(st.booleans()), "left_on": draw(st.none() | DAYS),
            "certs": draw(st.lists(st.tuples(CODES, DAYS), max_size=3, unique_by=lambda c: c[0])),
            "credits": draw(st.lists(st.fixed_dictionaries({
                "title": TEXT, "hours": st.integers(1, 10_000).map(lambda c: Decimal(c) / 100), "on": DAYS,
                "kind": st.sampled_from(KINDS), "provider": st.none() | TEXT, "approval_number": st.none() | TEXT,
                "category": st.none() | TEXT, "event_key": st.none() | TEXT, "void": st.none() | TEXT}),
                max_size=5, unique_by=lambda c: (course_key(c["title"]), c["on"]))),
        })
    return techs


def build(engine, ledger) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        for t in ledger:
            tech = add_technician(s, t["name"], t["emails"], iicrc_id=t["iicrc_id"], certifications=t["certs"],
                                  cycle_start=t["cycle_start"])
            tech.active, tech.left_on = t["active"], t["left_on"]
            for c in t["credits"]:
                credit = add_credit(s, tech, title=c["title"], hours=c["hours"], completed_on=c["on"], actor="t",
                                    kind=c["kind"], provider=c["provider"], approval_number=c["approval_number"],
                                    category=c["category"], event_key=c["event_key"])
                if c["void"]:
                    void_credit(s, credit.id, reason=c["void"], actor="t")


def snapshot(engine) -> list:  # type: ignore[no-untyped-def]
    """Everything the spreadsheet carries, without ids and timestamps."""
    with session_scope(engine) as s:
        out = []
        for v in list_views(s):
            tech = s.get(Technician, v.id)
            certs = sorted((c.designation, c.certified_on) for c in
                           s.exec(select(Certification).where(Certification.tech_id == v.id)).all())
            credits = sorted((c.course_title, c.hours_centi, c.completed_on, c.kind, c.provider, c.approval_number,
                              c.category, c.event_key, c.state, c.void_reason)
                             for c in s.exec(select(Credit).where(Credit.tech_id == v.id)).all())
            out.append((v.name, v.emails, v.iicrc_id, v.cycle_start, v.active, tech.left_on, certs, credits))
        return sorted(out, key=repr)


def round_trip(source_url: str, target_url: str, ledger, path: Path, *,  # type: ignore[no-untyped-def]
               migrate: bool = True) -> None:
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        if migrate:
            init_db(source)
            init_db(target)
        build(source, ledger)
        with session_scope(source) as s:
            export_file(s, path)
        report = import_file(target, path, rules=RULES, actor="t")
        assert report.skipped == [] and report.review == []
        assert snapshot(target) == snapshot(source)
    finally:
        source.dispose()
        target.dispose()


@pytest.fixture(scope="module")
def empty_sqlite(tmp_path_factory) -> Path:
    """A migrated, empty SQLite file; each example copies it (migrating per example would be slow)."""
    path = tmp_path_factory.mktemp("template") / "empty.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(), suffix=st.sampled_from([".xlsx", ".csv"]))
def test_export_then_import_into_an_empty_ledger_is_the_same_ledger(empty_sqlite, ledger, suffix) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(empty_sqlite, root / "a.db")
        shutil.copy(empty_sqlite, root / "b.db")
        round_trip(f"sqlite:///{root / 'a.db'}", f"sqlite:///{root / 'b.db'}", ledger, root / f"ledger{suffix}",
                   migrate=False)


FIXED = [{"name": "Dana Reyes", "emails": ["dana@example.com", "dana.phone@example.net"], "iicrc_id": "0012345",
          "cycle_start": date(2024, 3, 1), "active": True, "left_on": None,
          "certs": [("WRT", date(2024, 3, 1)), ("MWR", date(2025, 6, 2))],
          "credits": [{"title": "=HYPERLINK(\"x\")", "hours": Decimal("3.75"), "on": date(2026, 2, 29 - 1),
                       "kind": "online", "provider": "Acme, Inc.", "approval_number": "00042", "category": None,
                       "event_key": None, "void": None},
                      {"title": "IICRC booth", "hours": Decimal(2), "on": date(2026, 3, 14), "kind": "booth",
                       "provider": None, "approval_number": None, "category": None,
                       "event_key": "Experience 2026", "void": "entered twice"}]},
         {"name": "Bob Former", "emails": ["bob@example.com"], "iicrc_id": None, "cycle_start": None,
          "active": False, "left_on": date(2025, 12, 31), "certs": [], "credits": []}]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_round_trip_on_each_database(db_url, tmp_path, suffix) -> None:
    round_trip(f"sqlite:///{tmp_path / 'source.db'}", db_url, FIXED, tmp_path / f"ledger{suffix}")
