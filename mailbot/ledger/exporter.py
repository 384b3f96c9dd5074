"""`mailbot export`: the ledger as three tabs whose headers `mailbot import` reads back without a mapping.

What round-trips (import(export(x)) == x): technicians (name, addresses, IICRC ID, cycle start, active,
left on), certifications, and every credit with its state (voided ones with their reason). Evidence files,
drafts and the audit trail are not spreadsheet material: `mailbot audit-pack` carries those.
"""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from mailbot.ledger.columns import CE_LOG, CERTIFICATIONS, TECHNICIANS
from mailbot.ledger.models import Credit
from mailbot.ledger.spreadsheet import Table, write_tables
from mailbot.ledger.techs import list_views

TECH_HEADERS = ["Name", "Email", "Other emails", "IICRC ID", "Cycle start", "Active", "Left on"]
CE_HEADERS = ["Email", "Technician", "Course", "Hours", "Completed on", "Kind", "Provider", "Approval number",
              "Category", "Event", "State", "Void reason"]
CERT_HEADERS = ["Email", "Technician", "Designation", "Certified on"]


def ledger_tables(session: Session) -> dict[str, Table]:
    views = list_views(session)
    techs = [[v.name, v.email, ", ".join(v.emails[1:]), v.iicrc_id, v.cycle_start, "yes" if v.active else "no",
              _left_on(session, v.id)] for v in views]
    certs = [[v.email, v.name, designation, on] for v in views for designation, on in v.certifications]
    by_id = {v.id: v for v in views}
    credits = []
    for c in session.exec(select(Credit).order_by(Credit.completed_on, Credit.id)).all():
        v = by_id[c.tech_id]
        credits.append([v.email, v.name, c.course_title, c.hours, c.completed_on, c.kind, c.provider,
                        c.approval_number, c.category, c.event_key, c.state, c.void_reason])
    return {TECHNICIANS: (TECH_HEADERS, techs), CE_LOG: (CE_HEADERS, credits), CERTIFICATIONS: (CERT_HEADERS, certs)}


def _left_on(session: Session, tech_id: int):  # type: ignore[no-untyped-def]
    from mailbot.ledger.models import Technician

    return session.get(Technician, tech_id).left_on


def export_file(session: Session, path: Path) -> list[Path]:
    """Write the ledger to `path` (.xlsx, or three sibling .csv files); returns the files written."""
    return write_tables(path, ledger_tables(session))
