"""`mailbot audit-pack`: every credit with its evidence, for a TPA auditor or a departing technician.

Zip layout (all names built from ids and sanitised text, never from a raw title or file name):
  index.csv                     one row per credit: hours, dates, state, evidence paths, approval, sending
  summary.txt                   the same, readable, grouped by technician with their certifications
  credits/<tech>/<credit>/certificate.<ext>   the certificate exactly as received (Document.stored_path)
  credits/<tech>/<credit>/message.eml         the raw email it came in (InboundMessage.raw_path)
  credits/<tech>/<credit>/events.json         the audit trail of the credit and its submission draft
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, or_, select

from mailbot.ledger.models import AuditEvent, Credit, Document, Draft, InboundMessage, Technician
from mailbot.ledger.techs import view
from mailbot.rules.model import hours_text

INDEX_COLUMNS = ["credit_id", "technician", "email", "iicrc_id", "course", "hours", "completed_on", "kind",
                 "provider", "approval_number", "state", "void_reason", "voided_by", "voided_at", "recorded_by",
                 "recorded_at", "certificate", "certificate_sha256", "raw_email", "draft_state", "approved_by",
                 "approved_at", "sent_at", "smtp_message_id", "confirmed_at", "events"]
MAX_NAME = 60


def safe_name(text: str | None, fallback: str = "untitled") -> str:
    """A file-name part that cannot climb out of its folder: ASCII letters, digits, '-', '_' and inner dots."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", plain)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip(".-_")[:MAX_NAME].strip(".-_")
    return cleaned or fallback


@dataclass
class PackEntry:
    """One credit's row in the index, and the evidence files that go with it."""

    row: dict[str, Any]
    files: dict[str, bytes | Path] = field(default_factory=dict)  # path in zip → bytes, or a file to copy
    missing: list[str] = field(default_factory=list)


def _evidence(path_text: str | None, evidence_root: Path | None) -> tuple[Path | None, str | None]:
    """The evidence file (copied into the zip when it is written), or why it is not there."""
    if not path_text:
        return None, None
    path = Path(path_text)
    if not path.is_absolute() and evidence_root is not None:
        path = evidence_root / path
    if not path.is_file():
        return None, f"evidence file missing: {path_text}"
    return path, None


def _events(session: Session, credit: Credit, draft: Draft | None) -> list[dict[str, Any]]:
    conditions = [(AuditEvent.entity == "credit") & (AuditEvent.entity_id == credit.id)]
    if draft is not None:
        conditions.append((AuditEvent.entity == "draft") & (AuditEvent.entity_id == draft.id))
    rows = session.exec(select(AuditEvent).where(or_(*conditions)).order_by(AuditEvent.at, AuditEvent.id)).all()
    return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "entity": e.entity,
             "entity_id": e.entity_id, "detail": json.loads(e.detail) if e.detail else None} for e in rows]


def pack_entry(session: Session, credit: Credit, tech: Technician, evidence_root: Path | None) -> PackEntry:
    v = view(session, tech)
    folder = f"credits/{tech.id}-{safe_name(tech.name, 'technician')}/{credit.id}-{safe_name(credit.course_title)}"
    draft = session.exec(select(Draft).where(Draft.credit_id == credit.id)).first()
    entry = PackEntry({
        "credit_id": credit.id, "technician": tech.name, "email": v.email, "iicrc_id": tech.iicrc_id or "",
        "course": credit.course_title, "hours": hours_text(credit.hours), "completed_on": credit.completed_on,
        "kind": credit.kind, "provider": credit.provider, "approval_number": credit.approval_number,
        "state": credit.state, "void_reason": credit.void_reason, "voided_by": credit.voided_by,
        "voided_at": credit.voided_at, "recorded_by": credit.created_by, "recorded_at": credit.created_at,
        "draft_state": draft.state if draft else "none", "approved_by": draft.approved_by if draft else None,
        "approved_at": draft.approved_at if draft else None, "sent_at": draft.sent_at if draft else None,
        "smtp_message_id": draft.smtp_message_id if draft else None,
        "confirmed_at": draft.confirmed_at if draft else None})
    document = session.get(Document, credit.document_id) if credit.document_id else None
    if document is not None:
        _attach(entry, "certificate", f"{folder}/certificate{_extension(document)}", document.stored_path,
                evidence_root)
        entry.row["certificate_sha256"] = document.sha256
    message_id = credit.message_row_id or (document.message_row_id if document else None)
    message = session.get(InboundMessage, message_id) if message_id else None
    if message is not None:
        _attach(entry, "raw_email", f"{folder}/message.eml", message.raw_path, evidence_root)
    events = _events(session, credit, draft)
    entry.files[f"{folder}/events.json"] = json.dumps(events, indent=2, ensure_ascii=False).encode()
    entry.row["events"] = f"{folder}/events.json"
    return entry


def _attach(entry: PackEntry, column: str, name: str, stored: str | None, root: Path | None) -> None:
    found, problem = _evidence(stored, root)
    if found is not None:
        entry.files[name] = found
        entry.row[column] = name
    elif problem:
        entry.missing.append(problem)
        entry.row[column] = "MISSING"


def _extension(document: Document) -> str:
    suffix = Path(document.stored_path or "").suffix or Path(document.filename or "").suffix
    return "." + safe_name(suffix.lstrip("."), "bin").lower() if suffix else ".bin"


def build_pack(session: Session, out: Path, *, evidence_root: Path | None = None,
               tech: Technician | None = None, generated_at: str = "", rules: Any = None,
               as_of: date | None = None) -> dict[str, Any]:
    """Write the zip; returns counts and the evidence that could not be found (the pack is still written).
    With rules and as_of, the summary also shows each technician's balance at that date."""
    from mailbot.ledger.auditpack_summary import summary_text

    techs = [tech] if tech else list(session.exec(select(Technician).order_by(Technician.name)).all())
    entries: list[tuple[Technician, list[PackEntry]]] = []
    for t in techs:
        credits = session.exec(select(Credit).where(Credit.tech_id == t.id)
                               .order_by(Credit.completed_on, Credit.id)).all()
        entries.append((t, [pack_entry(session, c, t, evidence_root) for c in credits]))
    flat = [e for _, group in entries for e in group]
    summary = summary_text(session, entries, generated_at, _balances(session, rules, as_of))
    partial = out.with_name(out.name + ".partial")  # a failed run never leaves a half pack under the real name
    try:
        _write_zip(partial, flat, summary)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return {"technicians": len(techs), "credits": len(flat),
            "missing": [m for e in flat for m in e.missing], "path": str(out)}


def _balances(session: Session, rules: Any, as_of: date | None) -> Callable[[Technician], Any] | None:
    if rules is None or as_of is None:
        return None
    from mailbot.ledger.balances import compute_for

    return lambda tech: compute_for(session, rules, tech, as_of)


def _write_zip(path: Path, entries: list[PackEntry], summary: str) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("index.csv", _index_csv(entries))
        zf.writestr("summary.txt", summary)
        for e in entries:
            for name, item in e.files.items():
                if isinstance(item, Path):
                    zf.write(item, name)  # streamed: certificates and emails are never all held in memory
                else:
                    zf.writestr(name, item)


def _index_csv(entries: list[PackEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INDEX_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for e in entries:
        writer.writerow({k: _cell(e.row.get(k)) for k in INDEX_COLUMNS})
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # the index is opened in spreadsheet programs: text starting like a formula is kept as text
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
