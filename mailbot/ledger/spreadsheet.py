"""Workbooks in and out: .xlsx through openpyxl, .csv as three sibling files (no database here).

CSV convention: `team.csv` stands for `team-technicians.csv`, `team-ce-log.csv` and
`team-certifications.csv` side by side. Export writes all three; import reads whichever exist, or, when
none do, reads `team.csv` itself as one tab recognised by its headers.
"""
from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from mailbot.errors import MailbotError
from mailbot.ledger.columns import KINDS, TAB_TITLES

MAX_HEADER_SCAN = 20  # title rows, logos and notes above the header: look this far down for it
MAX_FILE_BYTES = 50_000_000  # a shop's tracker is kilobytes; refuse anything absurd before parsing it
MAX_UNZIPPED_BYTES = 500_000_000  # an .xlsx is a zip: refuse a decompression bomb before openpyxl expands it
FORMULA_PREFIXES = ("=", "+", "-", "@")  # text a spreadsheet program would run as a formula
# In CSV such text is written with a leading apostrophe (and so is text that starts with one), which
# import removes again: the file is safe to open in Excel and still round-trips exactly.
CSV_PROTECTED = FORMULA_PREFIXES + ("'",)


@dataclass
class Sheet:
    """One tab as read: 1-based row numbers with their cell values, merged cells filled from their corner."""

    title: str
    rows: list[tuple[int, list[Any]]]
    cell_problems: dict[int, dict[int, str]] = field(default_factory=dict)  # row → column → what is wrong


def csv_paths(path: Path) -> dict[str, Path]:
    """The three sibling files that `path` (team.csv) stands for, by tab kind."""
    return {kind: path.with_name(f"{path.stem}-{kind}{path.suffix}") for kind in KINDS}


def read_sheets(path: Path) -> list[Sheet]:
    """Every tab of an .xlsx, or the CSV file(s) `path` stands for. Unreadable files raise MailbotError."""
    suffix = path.suffix.lower()
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        raise MailbotError(f"{path.name} is over {MAX_FILE_BYTES // 1_000_000} MB; a CE tracker never is")
    if suffix == ".csv":
        return _read_csv_set(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise MailbotError(f"{path.name}: not a spreadsheet this reads (.xlsx or .csv)")


def _read_csv_set(path: Path) -> list[Sheet]:
    siblings = [(TAB_TITLES[kind], p) for kind, p in csv_paths(path).items() if p.is_file()]
    if not siblings:
        if not path.is_file():
            raise MailbotError(f"{path}: no such file (nor {path.stem}-technicians.csv and friends)")
        siblings = [(path.stem, path)]
    return [_read_csv(title, p) for title, p in siblings]


def _read_csv(title: str, path: Path) -> Sheet:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [(i, [_unprotect(c) for c in r]) for i, r in enumerate(csv.reader(fh), start=1)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MailbotError(f"cannot read {path.name}: {exc}") from None
    return Sheet(title, rows)


def _unprotect(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:2] and cell[1:2] in CSV_PROTECTED else cell


def _read_xlsx(path: Path) -> list[Sheet]:
    import openpyxl

    _refuse_bomb(path)
    try:
        values = openpyxl.load_workbook(path, data_only=True)
        formulas = openpyxl.load_workbook(path, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file; one reason out
        raise MailbotError(f"cannot read {path.name} as an .xlsx workbook: {exc or type(exc).__name__}") from None
    return [_sheet_of(ws, formulas[ws.title]) for ws in values.worksheets]


def _refuse_bomb(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(item.file_size for item in archive.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise MailbotError(f"cannot read {path.name} as an .xlsx workbook: {exc}") from None
    if expanded > MAX_UNZIPPED_BYTES:
        raise MailbotError(f"{path.name} expands to over {MAX_UNZIPPED_BYTES // 1_000_000} MB; refused")


def _sheet_of(ws: Any, formula_ws: Any) -> Sheet:
    grid = {r: [c.value for c in row] for r, row in enumerate(ws.iter_rows(), start=1)}
    # a merged block (a title across the top, a technician's name down several course rows) means
    # the same value in every cell of the block
    for block in ws.merged_cells.ranges:
        corner = ws.cell(block.min_row, block.min_col).value
        for r in range(block.min_row, block.max_row + 1):
            for c in range(block.min_col, block.max_col + 1):
                grid[r][c - 1] = corner
    return Sheet(ws.title, sorted(grid.items()), _cell_problems(ws, formula_ws))


def _cell_problems(ws: Any, formula_ws: Any) -> dict[int, dict[int, str]]:
    """Cells whose value cannot be trusted: an error a formula saved (typed as an error cell, so a course
    really called "#REF!" is still text), or a formula with no saved value at all."""
    problems: dict[int, dict[int, str]] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "e":
                problems.setdefault(cell.row, {})[cell.column - 1] = f"shows the Excel error {cell.value}"
    for row in formula_ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" and ws.cell(cell.row, cell.column).value is None:
                problems.setdefault(cell.row, {})[cell.column - 1] = (
                    "holds a formula with no saved value (open and save the file in Excel, or type the value)")
    return problems


Table = tuple[list[str], list[list[Any]]]  # headers, rows


def write_tables(path: Path, tables: dict[str, Table]) -> list[Path]:
    """Write the tabs (by kind) to an .xlsx, or to the three sibling CSV files. Returns the files written."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        written = []
        for kind, target in csv_paths(path).items():
            try:
                _write_csv(target, *tables[kind])
            except OSError as exc:
                raise MailbotError(f"cannot write {target}: {exc.strerror or exc}") from None
            written.append(target)
        return written
    if suffix == ".xlsx":
        _write_xlsx(path, tables)
        return [path]
    raise MailbotError(f"{path.name}: export writes .xlsx or .csv")


def _write_csv(path: Path, headers: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(headers)
        for row in rows:
            out.writerow([_csv_cell(v) for v in row])


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    # a leading apostrophe keeps Excel from running a title like "=HYPERLINK(...)"; import drops it
    return "'" + text if isinstance(value, str) and text.startswith(CSV_PROTECTED) else text


def _write_xlsx(path: Path, tables: dict[str, Table]) -> None:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    book.remove(book.active)
    for kind in KINDS:
        headers, rows = tables[kind]
        ws = book.create_sheet(TAB_TITLES[kind])
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(r, c, value)
                if isinstance(value, str):
                    # control characters cannot be stored in .xlsx at all; they are dropped
                    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    cell.data_type = "s"  # text stays text, even "=1+1"
                elif isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
    try:
        book.save(path)
    except OSError as exc:
        raise MailbotError(f"cannot write {path}: {exc}") from None
