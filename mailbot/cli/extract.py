"""`mailbot extract`: read certificates from files and emails without touching the ledger or any server."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mailbot.cli.common import Command, emit_json_lines
from mailbot.domain import Document, Extraction
from mailbot.extract import ExtractLimits, document_from_path, extract_document, sniff_content_type

KEYS = ("source", "attachment", "sender", "is_certificate", "person_name", "course_title", "hours", "completed_on",
        "provider", "approval_number", "confidence", "needs_review", "reasons", "error")
EMAIL_HEADERS = (b"from:", b"received:", b"mime-version:", b"return-path:", b"message-id:", b"subject:",
                 b"delivered-to:", b"date:", b"to:")


def _row(source: str, attachment: str | None, sender: str | None, found: Extraction) -> dict[str, Any]:
    error = found.error
    if error is None and not found.is_certificate:
        error = "no certificate found" + (f" ({found.reasons[0]})" if found.reasons else "")
    return {"source": source, "attachment": attachment, "sender": sender, "is_certificate": found.is_certificate,
            "person_name": found.person_name, "course_title": found.course_title, "hours": found.hours,
            "completed_on": found.completed_on, "provider": found.provider, "approval_number": found.approval_number,
            "confidence": found.confidence, "needs_review": found.needs_review, "reasons": list(found.reasons),
            "error": error}


def _unreadable(source: str, reason: str, sender: str | None = None) -> dict[str, Any]:
    return _row(source, None, sender, Extraction(is_certificate=False, error=reason, reasons=[reason]))


def _looks_like_email(path: Path, data: bytes) -> bool:
    if path.suffix.lower() == ".eml":
        return True
    first = data.lstrip()[:200].lower()
    return sniff_content_type(data) is None and first.startswith(EMAIL_HEADERS)


def _email_rows(source: str, data: bytes) -> tuple[list[dict[str, Any]], bool]:
    """Rows for each document in an email; (rows, read_ok)."""
    try:
        from mailbot.inbox.mime import read_message
    except ImportError:
        return [_unreadable(source, "reading emails needs mailbot.inbox.mime, which is not installed")], False
    try:
        facts = read_message(data)
    except Exception as exc:  # noqa: BLE001 - a broken email is one unreadable input, not a crash
        return [_unreadable(source, f"could not read the email ({type(exc).__name__}: {exc})")], False
    if not facts.documents:
        note = "; ".join(facts.problems) if facts.problems else "no PDF or image attachment"
        return [_unreadable(source, f"no certificate found in the email ({note})", facts.from_addr)], True
    rows, ok = [], True
    for doc in facts.documents:
        for found in extract_document(doc):
            rows.append(_row(source, doc.filename, facts.from_addr, found))
            ok = ok and found.error is None
    return rows, ok


def rows_for_path(source: str) -> tuple[list[dict[str, Any]], bool]:
    """All result rows for one command-line input; (rows, every part could be read)."""
    path = Path(source)
    limit = ExtractLimits().max_bytes
    try:
        if path.stat().st_size > limit:  # refuse before reading a huge file into memory
            return [_unreadable(source, f"file is larger than the limit of {limit:,} bytes")], False
        data = path.read_bytes()
    except OSError as exc:
        return [_unreadable(source, f"cannot read the file ({exc.strerror or exc})")], False
    if path.suffix.lower() == ".msg":
        return [_unreadable(source, ".msg (Outlook) files are not supported: save the email as .eml")], False
    if _looks_like_email(path, data):
        return _email_rows(source, data)
    doc: Document = document_from_path(path)
    results = extract_document(doc)
    rows = [_row(source, None, None, found) for found in results]
    return rows, all(found.error is None for found in results)


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=True)
    for column in ("Source", "Name", "Course", "Hours", "Completed", "Review / error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        source = row["source"] + (f" › {row['attachment']}" if row["attachment"] else "")
        note = row["error"] or ("; ".join(row["reasons"]) if row["needs_review"] else "ok")
        hours = "" if row["hours"] is None else f"{row['hours'].normalize():f}"
        table.add_row(source, row["person_name"] or "", row["course_title"] or "", hours,
                      row["completed_on"].isoformat() if row["completed_on"] else "", note)
    Console().print(table)


EXAMPLE = """\b
Example:
  mailbot extract wrt-certificate.pdf photo.jpg forwarded.eml --json
"""


@click.command("extract", cls=Command, epilog=EXAMPLE)
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per certificate candidate.")
@click.pass_context
def extract(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Read certificates from PDFs, images (JPEG, PNG, HEIC, TIFF) and emails (.eml).

    Nothing is recorded and no server is contacted: this shows what mailbot would read.
    Exit code 0 when every input was read, 1 when any input could not be read at all.

    \b
    Example:
      mailbot extract certificate.pdf forwarded.eml --json
    """
    all_rows, all_ok = [], True
    for source in paths:
        rows, ok = rows_for_path(source)
        all_rows.extend(rows)
        all_ok = all_ok and ok
        if as_json:
            emit_json_lines(rows)
    if not as_json:
        _print_table(all_rows)
    ctx.exit(0 if all_ok else 1)
