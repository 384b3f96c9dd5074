"""`mailbot import`: read a shop's workbook into the ledger, and say exactly which rows it could not take.

Each tab is recognised by its header row (found below any title rows), read in the order Technicians,
Certifications, CE log, one savepoint per row so one bad row never spoils the others. A dry run does the
same work and rolls it all back. Column mappings are remembered after a real import.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailbot.errors import MailbotError
from mailbot.ledger import audit
from mailbot.ledger.columns import (
    CE_LOG,
    CERTIFICATIONS,
    KINDS,
    TAB_TITLES,
    TECHNICIANS,
    HeaderMap,
    map_headers,
)
from mailbot.ledger.import_rows import RowImporter, RowIssue
from mailbot.ledger.mapping_models import ColumnMapping
from mailbot.ledger.models import utcnow
from mailbot.ledger.spreadsheet import MAX_HEADER_SCAN, Sheet, read_sheets


@dataclass
class ImportReport:
    dry_run: bool = False
    tabs: list[dict[str, Any]] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=lambda: {"technicians": 0, "certifications": 0, "credits": 0})
    skipped: list[RowIssue] = field(default_factory=list)  # rows not taken, with why
    review: list[RowIssue] = field(default_factory=list)  # rows taken as review items for a person
    notes: list[str] = field(default_factory=list)  # taken, but worth knowing (ignored columns, unknown codes)

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "tabs": self.tabs, "added": dict(self.added),
                "skipped": [i.as_json() for i in self.skipped], "review": [i.as_json() for i in self.review],
                "notes": list(self.notes)}


@dataclass
class Tab:
    sheet: Sheet
    kind: str
    header_row: int
    columns: HeaderMap

    def records(self):  # type: ignore[no-untyped-def]
        """(row number, {field: value}, ["<header> <problem>" for unusable cells]) for each non-blank row."""
        for number, cells in self.sheet.rows:
            if number <= self.header_row or all(c is None or str(c).strip() == "" for c in cells):
                continue
            values = {f: cells[i] if i < len(cells) else None for i, f in self.columns.columns.items()}
            problems = self.sheet.cell_problems.get(number, {})
            yield number, values, [f"{self.columns.headers[i]} {problems[i]}" for i in sorted(problems)
                                   if i in self.columns.columns]


def detect_tab(sheet: Sheet, overrides: dict[str, str], remembered: dict[str, dict[str, str]]) -> Tab | None:
    """The tab kind and header row that explain the most columns (a tab named like a kind wins ties)."""
    best: tuple[tuple[int, int, int], Tab] | None = None
    for number, cells in sheet.rows[:MAX_HEADER_SCAN]:
        for kind in KINDS:
            mapped = map_headers(kind, cells, overrides=overrides, remembered=remembered.get(kind, {}))
            if not mapped.usable():
                continue
            named = int(_same_name(sheet.title, kind))
            score = (len(mapped.columns) + named, named, -number)
            if best is None or score > best[0]:
                best = (score, Tab(sheet, kind, number, mapped))
    return best[1] if best else None


def _same_name(title: str, kind: str) -> bool:
    from mailbot.ledger.columns import normalize_header

    return normalize_header(title).replace(" ", "") == normalize_header(TAB_TITLES[kind]).replace(" ", "")


def remembered_mappings(session: Session) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for row in session.exec(select(ColumnMapping)).all():
        out.setdefault(row.sheet_kind, {})[row.header_key] = row.field_name
    return out


def remember(session: Session, tabs: list[Tab]) -> None:
    """Store every header → field used, so the next import of the same workbook needs no --map."""
    for tab in tabs:
        for key, field_name in tab.columns.learned().items():
            row = session.exec(select(ColumnMapping).where(ColumnMapping.sheet_kind == tab.kind,
                                                           ColumnMapping.header_key == key)).first()
            if row is None:
                row = ColumnMapping(sheet_kind=tab.kind, header_key=key, field_name=field_name)
            row.field_name, row.updated_at = field_name, utcnow()
            session.add(row)
    session.flush()


def import_sheets(session: Session, sheets: list[Sheet], *, rules: Any, actor: str,
                  overrides: dict[str, str] | None = None) -> ImportReport:
    """Apply every recognised tab to the ledger in `session` (the caller commits or rolls back)."""
    report = ImportReport()
    remembered = remembered_mappings(session)
    tabs = []
    for sheet in sheets:
        tab = detect_tab(sheet, overrides or {}, remembered)
        if tab is None:
            report.notes.append(f"tab {sheet.title!r}: no header row found (need a technician column plus "
                                f"course/hours/date, designation, or name); use --map \"Header=field\"")
            continue
        tabs.append(tab)
        report.tabs.append({"tab": sheet.title, "kind": tab.kind, "header_row": tab.header_row,
                            "columns": {tab.columns.headers[i]: f for i, f in tab.columns.columns.items()}})
        if tab.columns.unmapped:
            report.notes.append(f"tab {sheet.title!r}: columns not imported: {', '.join(tab.columns.unmapped)}")
    importer = RowImporter(session, rules, actor, report)
    for kind in (TECHNICIANS, CERTIFICATIONS, CE_LOG):
        for tab in (t for t in tabs if t.kind == kind):
            importer.run(tab)
    remember(session, tabs)
    audit.record(session, actor, "ledger.import", "import", None, added=report.added,
                 skipped=len(report.skipped), review=len(report.review))
    return report


def import_file(engine: Any, path: Path, *, rules: Any, actor: str, overrides: dict[str, str] | None = None,
                dry_run: bool = False) -> ImportReport:
    """Read `path` and import it in one transaction; with dry_run nothing is kept (not even mappings)."""
    sheets = read_sheets(path)
    with Session(engine, expire_on_commit=False) as session:
        try:
            report = import_sheets(session, sheets, rules=rules, actor=actor, overrides=overrides)
        except MailbotError:
            session.rollback()
            raise
        report.dry_run = dry_run
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report
