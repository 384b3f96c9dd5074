"""`mailbot import` on the spreadsheets shops really keep: title rows, merged headers, text dates, formulas,
duplicates, former staff, "WRT/ASD" in one cell, "7 hrs", the former unit. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from mailbot.cli.main import main
from mailbot.errors import MailbotError
from mailbot.ledger.balances import compute_for
from mailbot.ledger.db import session_scope
from mailbot.ledger.importer import import_file
from mailbot.ledger.mapping_models import ColumnMapping
from mailbot.ledger.models import AuditEvent, Credit, ReviewItem, Technician
from mailbot.ledger.techs import list_views
from tests.helpers import make_app

DANA, BOB = "dana.reyes@example.com", "bob.former@example.com"


def messy_workbook(path: Path) -> Path:
    """A shop tracker as found in the wild; expected outcomes are written next to each row."""
    book = openpyxl.Workbook()
    staff = book.active
    staff.title = "Staff"
    staff.append(["ACME Restoration — IICRC tracker (do not sort!)"])
    staff.merge_cells("A1:F1")
    staff.append([])
    staff.append(["Tech Name", "E-mail", "Certs", "Cert Date", "Status", "Date Left"])
    staff.append(["Dana Reyes", DANA, "WRT/ASD", "03/02/2024", "Active", None])  # two certs, 2 March 2024
    staff.append(["Bob Former", BOB, "WRT", "2019-01-05", "Former", "14 March 2025"])  # a leaver
    staff.append(["Lee Noemail", None, "WRT", "2020-01-01", "yes", None])  # row 6: no address → skipped
    log = book.create_sheet("CEC Log")
    log.append(["CE log 2026"])
    log.merge_cells("A1:D1")
    log.append(["Technician", "Course", None, "CE Hrs"])  # a group header over Title and Date
    log.merge_cells("B2:C2")
    log.merge_cells("A2:A3")
    log.merge_cells("D2:D3")
    log.append([None, "Title", "Date"])
    log.append(["Dana Reyes", "Water Damage Refresher", "03/02/2026", "7 hrs"])  # row 4: 2 March 2026, 7 h
    log.append(["Dana Reyes", "Mold Basics", "14 March 2026", 3.5])  # row 5
    log.append(["Dana Reyes", "water damage refresher.", datetime(2026, 3, 2), "7"])  # row 6: duplicate
    log.append(["Dana Reyes", "Old Drying Course", 43831, "1 CEC (7h)"])  # row 7: serial 2020-01-01, former unit
    log.append(["Bob Former", "IICRC booth visit", "2025-01-10", 2])  # row 8: former staff keep history
    log.append(["Dana Reyes", "Formula Course", "2026-04-01", "=D4*2"])  # row 9: formula never calculated
    log.append(["Nobody Known", "Some Course", "2026-04-01", 2])  # row 10: unknown technician
    log.append(["Dana Reyes", "Bad Date Course", "31/31/2026", 2])  # row 11: no such date
    log.append(["Dana Reyes", "Wordy Hours", "2026-05-01", "seven"])  # row 12: unreadable hours
    log.append(["Dana Reyes", "Broken Lookup", "2026-05-02", "#REF!"])  # row 13: a formula's error value
    certs = book.create_sheet("Certifications")
    certs.append(["Email", "Designation", "Certified on"])
    certs.append([DANA, "AMRT", "2025-06-01"])
    certs.append([DANA, "WRT", "2024-03-02"])  # row 3: already on file from the Staff tab
    book.save(path)
    return path


@pytest.fixture
def app(tmp_path, db_url):
    return make_app(tmp_path, db_url)


def _import(app, path, **kwargs):
    return import_file(app.engine, path, rules=app.rules, actor="test", **kwargs)


def test_messy_tracker_imports_what_it_can_and_says_why_for_the_rest(app, tmp_path):
    report = _import(app, messy_workbook(tmp_path / "tracker.xlsx"))
    assert report.added == {"technicians": 2, "certifications": 4, "credits": 3}  # Dana 3, Bob 1
    skipped = {(i.tab, i.row): i.reason for i in report.skipped}
    assert set(skipped) == {("Staff", 6), ("CEC Log", 6), ("CEC Log", 9), ("CEC Log", 10), ("CEC Log", 11),
                            ("CEC Log", 12), ("CEC Log", 13), ("Certifications", 3)}
    assert "no email address" in skipped[("Staff", 6)]
    assert "duplicate" in skipped[("CEC Log", 6)] and "same technician, course and date" in skipped[("CEC Log", 6)]
    assert "CE Hrs holds a formula with no saved value" in skipped[("CEC Log", 9)]
    assert "unknown technician 'Nobody Known'" in skipped[("CEC Log", 10)]
    assert "31/31/2026" in skipped[("CEC Log", 11)]
    assert "seven" in skipped[("CEC Log", 12)]
    assert "CE Hrs shows the Excel error #REF!" in skipped[("CEC Log", 13)]
    assert [(i.tab, i.row) for i in report.review] == [("CEC Log", 7)]
    assert "former unit" in report.review[0].reason
    with session_scope(app.engine) as s:
        views = {v.email: v for v in list_views(s)}
        assert set(views[DANA].certifications) == {("ASD", date(2024, 3, 2)), ("WRT", date(2024, 3, 2)),
                                                   ("AMRT", date(2025, 6, 1))}
        bob = s.get(Technician, views[BOB].id)
        assert (bob.active, bob.left_on) == (False, date(2025, 3, 14))
        credits = sorted((c.tech_id, c.course_title, c.hours, c.completed_on)
                         for c in s.exec(select(Credit)).all())
        assert credits == sorted([
            (views[DANA].id, "Water Damage Refresher", Decimal("7.00"), date(2026, 3, 2)),
            (views[DANA].id, "Mold Basics", Decimal("3.50"), date(2026, 3, 14)),
            (bob.id, "IICRC booth visit", Decimal("2.00"), date(2025, 1, 10))])
        [item] = s.exec(select(ReviewItem)).all()
        assert (item.tech_id, item.hours_centi, item.kind) == (views[DANA].id, 700, "former-unit")
        assert "2020-01-01" in item.reason
        balance = compute_for(s, app.rules, s.get(Technician, views[DANA].id), date(2026, 6, 1))
        assert (balance.earned, balance.pending_review) == (Decimal("10.5"), Decimal(7))  # 7 h waits for a person


def test_dry_run_reports_the_same_and_changes_nothing(app, tmp_path):
    report = _import(app, messy_workbook(tmp_path / "tracker.xlsx"), dry_run=True)
    assert report.dry_run and report.added["credits"] == 3 and len(report.skipped) == 8
    with session_scope(app.engine) as s:
        for table in (Technician, Credit, ReviewItem, ColumnMapping, AuditEvent):
            assert s.exec(select(table)).all() == []


def test_importing_the_same_file_twice_adds_nothing_the_second_time(app, tmp_path):
    path = messy_workbook(tmp_path / "tracker.xlsx")
    _import(app, path)
    again = _import(app, path)
    assert again.added == {"technicians": 0, "certifications": 0, "credits": 0}
    assert again.review == []
    assert sum("duplicate" in i.reason for i in again.skipped) == 7  # 4 credits, 1 review item, 2 cert rows
    with session_scope(app.engine) as s:
        assert len(s.exec(select(Credit)).all()) == 3
        assert len(s.exec(select(ReviewItem)).all()) == 1


def write_config(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "mailbot.toml"
    path.write_text(f'[company]\nadmins = ["office@testco.example"]\naddress = "certs@testco.example"\n'
                    f'[database]\nurl = "{db_url}"\n[storage]\nevidence_dir = "{tmp_path / "evidence"}"\n')
    return str(path)


def run(capsys, config: str, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", config, *args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_shop_headers_mapped_once_are_remembered(tmp_path, db_url, capsys):
    config = write_config(tmp_path, db_url)
    log = tmp_path / "log.csv"
    log.write_text("Who,Mail,What,When,How long\nDana Reyes,dana@example.com,Drying,2026-01-05,2 hrs\n")
    code, out, _ = run(capsys, config, "import", str(log), "--json")
    assert code == 1 and json.loads(out)["tabs"] == []  # nothing it could recognise, and it says so
    maps = ["--map", "Who=name", "--map", "Mail=email", "--map", "What=course", "--map", "When=date",
            "--map", "How long=hours"]
    code, out, _ = run(capsys, config, "import", str(log), *maps, "--json")
    assert code == 0 and json.loads(out)["added"] == {"technicians": 1, "certifications": 0, "credits": 1}
    later = tmp_path / "later.csv"
    later.write_text("Who,Mail,What,When,How long\nDana Reyes,dana@example.com,Odor,2026-02-07,3\n")
    code, out, _ = run(capsys, config, "import", str(later), "--json")
    assert json.loads(out)["added"]["credits"] == 1


def test_a_bad_map_is_a_usage_error(tmp_path, db_url, capsys):
    config = write_config(tmp_path, db_url)
    (tmp_path / "x.csv").write_text("a\n")
    code, _, err = run(capsys, config, "import", str(tmp_path / "x.csv"), "--map", "Who=nonsense")
    assert code == 2 and "unknown field 'nonsense'" in err


def test_an_unreadable_file_is_a_one_line_error(tmp_path, db_url, capsys):
    config = write_config(tmp_path, db_url)
    fake = tmp_path / "tracker.xlsx"
    fake.write_bytes(b"this is not a workbook")
    code, _, err = run(capsys, config, "import", str(fake))
    assert code == 1 and err.count("\n") == 1 and "tracker.xlsx" in err


def test_csv_export_writes_three_files_that_import_back(tmp_path, db_url, capsys):
    config = write_config(tmp_path, db_url)
    run(capsys, config, "import", str(messy_workbook(tmp_path / "tracker.xlsx")))
    code, out, _ = run(capsys, config, "export", str(tmp_path / "ledger.csv"))
    assert code == 0
    for kind in ("technicians", "ce-log", "certifications"):
        assert (tmp_path / f"ledger-{kind}.csv").is_file()
    (tmp_path / "fresh").mkdir()
    fresh = write_config(tmp_path / "fresh", f"sqlite:///{tmp_path / 'fresh.db'}")
    code, out, _ = run(capsys, fresh, "import", str(tmp_path / "ledger.csv"), "--json")
    report = json.loads(out)
    assert report["added"] == {"technicians": 2, "certifications": 4, "credits": 3} and report["skipped"] == []


def test_a_known_technician_shown_as_former_staff_becomes_inactive_but_never_the_reverse(app, tmp_path):
    _import(app, messy_workbook(tmp_path / "tracker.xlsx"))
    later = tmp_path / "later.csv"
    later.write_text(f"Name,Email,Status,Left on\nDana Reyes,{DANA},former,2026-08-31\nBob Former,{BOB},active,\n")
    report = _import(app, later)
    assert report.added == {"technicians": 0, "certifications": 0, "credits": 0}
    assert report.notes == ["Dana Reyes: marked inactive (former staff in the sheet)"]
    with session_scope(app.engine) as s:
        views = {v.email: s.get(Technician, v.id) for v in list_views(s)}
        assert (views[DANA].active, views[DANA].left_on) == (False, date(2026, 8, 31))
        assert views[BOB].active is False  # coming back is `techs edit --reactivate`, never an import


def test_a_formula_excel_saved_counts_with_its_saved_value(app, tmp_path):
    book = openpyxl.Workbook()
    log = book.active
    log.append(["Name", "Email", "Course", "Hours", "Date"])
    log.append(["Dana Reyes", DANA, "Split course", "=3+4", "2026-01-05"])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    saved = tmp_path / "saved.xlsx"  # what Excel writes: the formula and the value it computed
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(saved, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(b"<f>3+4</f><v></v>", b"<f>3+4</f><v>7</v>").replace(b"<f>3+4</f><v />",
                                                                                     b"<f>3+4</f><v>7</v>")
                assert b"<v>7</v>" in data
            dst.writestr(item, data)
    report = _import(app, saved)
    assert report.skipped == [] and report.added["credits"] == 1
    with session_scope(app.engine) as s:
        [credit] = s.exec(select(Credit)).all()
        assert credit.hours == Decimal(7)


def test_a_zip_bomb_named_xlsx_is_refused_before_it_is_expanded(app, tmp_path, monkeypatch):
    from mailbot.ledger import spreadsheet

    monkeypatch.setattr(spreadsheet, "MAX_UNZIPPED_BYTES", 1_000_000)  # a small limit, a small bomb
    bomb = tmp_path / "tracker.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * 2_000_000)
    with pytest.raises(MailbotError, match="expands to over 1 MB"):
        _import(app, bomb)
