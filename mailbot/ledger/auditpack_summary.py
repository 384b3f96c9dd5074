"""The readable summary.txt of an audit pack: per technician, their certifications and each credit's trail."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from mailbot.ledger.techs import view
from mailbot.rules.model import hours_text


def summary_text(session: Session, entries: list[tuple[Any, list[Any]]], generated_at: str,
                 balance_of: Any = None) -> str:
    """balance_of(tech) → the technician's Balance, or None to leave balances out."""
    lines = ["mailbot audit pack", f"generated: {generated_at}" if generated_at else "", "",
             "Every credit below has a row in index.csv; its files are in the folder named there.", ""]
    for tech, group in entries:
        lines += _technician_block(session, tech, group)
        if balance_of is not None:
            lines += _balance_lines(balance_of(tech))
        lines.append("")
    missing = [m for _, group in entries for e in group for m in e.missing]
    if missing:
        lines += ["EVIDENCE NOT FOUND", *(f"  - {m}" for m in missing), ""]
    return "\n".join(line for line in lines if line is not None) + "\n"


def _technician_block(session: Session, tech: Any, group: list[Any]) -> list[str]:
    v = view(session, tech)
    status = "active" if tech.active else f"left on {tech.left_on or 'unknown date'}"
    certs = ", ".join(f"{d} (certified {on})" for d, on in v.certifications) or "none on file"
    standing = sum((Decimal(e.row["hours"]) for e in group if e.row["state"] == "recorded"), Decimal(0))
    lines = [f"{tech.name} <{v.email}>", f"  IICRC ID: {tech.iicrc_id or 'not on file'}; {status}",
             f"  certifications: {certs}",
             f"  credits: {len(group)} ({hours_text(standing)} h standing, voided ones listed but not counted)"]
    for e in group:
        lines += _credit_lines(e.row)
    return lines


def _balance_lines(balance: Any) -> list[str]:
    if balance.cycle_end is None:
        return [f"  balance as of {balance.as_of}: {balance.status}"]
    last_day = balance.cycle_end - timedelta(days=1)  # cycle_end is exclusive
    line = (f"  balance as of {balance.as_of}: {hours_text(balance.earned)} of {hours_text(balance.required)} h "
            f"in the cycle {balance.cycle_start} to {last_day}; status {balance.status}")
    return [line]


def _credit_lines(row: dict[str, Any]) -> list[str]:
    head = f"  #{row['credit_id']} {row['completed_on']}  {row['hours']} h  {row['course']}"
    if row.get("provider"):
        head += f" ({row['provider']})"
    lines = [head, f"      recorded by {row['recorded_by']} at {_when(row['recorded_at'])}"]
    if row["state"] == "voided":
        lines.append(f"      VOIDED by {row['voided_by']} at {_when(row['voided_at'])}: {row['void_reason']}")
    lines.append(f"      certificate: {row.get('certificate') or 'none (manual entry)'}; "
                 f"email: {row.get('raw_email') or 'none'}")
    if row["draft_state"] != "none":
        approved = f"approved by {row['approved_by']} at {_when(row['approved_at'])}" if row["approved_by"] \
            else "not approved"
        sent = f"sent {_when(row['sent_at'])}" if row["sent_at"] else "not sent"
        lines.append(f"      submission to IICRC: {row['draft_state']}; {approved}; {sent}")
    else:
        lines.append("      submission to IICRC: none")
    return lines


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else str(value or "?")
