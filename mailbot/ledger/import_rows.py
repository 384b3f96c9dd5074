"""One spreadsheet row → ledger rows, or a readable reason why not (used by mailbot.ledger.importer)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, select

from mailbot.errors import MailbotError
from mailbot.ledger import audit
from mailbot.ledger import credits as credit_ops
from mailbot.ledger.cells import (
    CellError,
    parse_active,
    parse_date,
    parse_hours,
    split_designations,
    split_emails,
    text,
)
from mailbot.ledger.models import Certification, Credit, ReviewItem, Technician, to_centi, utcnow
from mailbot.ledger.techs import add_technician, find_by_address
from mailbot.rules.model import hours_text

VOIDED = "voided"
# "WRT/ASD", "WRT, ASD", "WRT 03/02/2024; ASD 2024-05-10": a slash separates codes only between letters,
# so the slashes of a date stay with it
CERT_TOKENS = re.compile(r"[,;&\n]+|(?<=[A-Za-z])\s*/\s*(?=[A-Za-z])")


@dataclass(frozen=True)
class RowIssue:
    tab: str
    row: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"tab": self.tab, "row": self.row, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.tab} row {self.row}: {self.reason}"


class RowImporter:
    """Applies rows to the ledger, one savepoint each, and files what it could not take in the report."""

    def __init__(self, session: Session, rules: Any, actor: str, report: Any):
        self.session, self.rules, self.actor, self.report = session, rules, actor, report
        self.handlers = {"technicians": self._technician, "certifications": self._certification,
                         "ce-log": self._credit}
        self.where = ("", 0)  # (tab title, row number) of the row being read

    def issue(self, reason: str) -> RowIssue:
        return RowIssue(self.where[0], self.where[1], reason)

    def run(self, tab: Any) -> None:
        handler = self.handlers[tab.kind]
        for number, values, problems in tab.records():
            self.where = (tab.sheet.title, number)
            if problems:
                self.report.skipped.append(self.issue("; ".join(problems)))
                continue
            try:
                with self.session.begin_nested():
                    handler(values)
            except (CellError, MailbotError) as exc:
                self.report.skipped.append(self.issue(str(exc)))
            except (IntegrityError, DataError) as exc:  # the database refused a value the checks let through
                self.report.skipped.append(self.issue(f"the database refused this row: {exc.orig}"))

    # --- technicians -------------------------------------------------------------------------

    def _technician(self, v: dict[str, Any]) -> None:
        name, emails = text(v.get("name")), split_emails(v.get("email")) + split_emails(v.get("other_emails"))
        if not name:
            raise CellError("no name")
        existing = self._find(emails, text(v.get("iicrc_id")), None)
        left_on = parse_date(v["left_on"]) if text(v.get("left_on")) else None
        active = parse_active(v.get("active"))
        certs = self._cert_cell(v)
        cycle = parse_date(v["cycle_start"]) if text(v.get("cycle_start")) else None
        if existing is not None:
            self._add_certs(existing, certs)
            self._mark_leaver(existing, active, left_on)
            return
        if not emails:
            raise CellError(f"{name}: no email address (mailbot knows technicians by the address they forward from)")
        tech = add_technician(self.session, name, emails, iicrc_id=text(v.get("iicrc_id")) or None,
                              cycle_start=cycle)
        tech.active = bool(active if active is not None else left_on is None)
        tech.left_on = left_on
        self.session.add(tech)
        self.report.added["technicians"] += 1
        self._add_certs(tech, certs)

    def _mark_leaver(self, tech: Technician, active: bool | None, left_on: date | None) -> None:
        """A known technician the sheet now shows as former staff becomes inactive (never the reverse:
        bringing someone back is `mailbot techs edit --reactivate`, not a side effect of an import)."""
        if not tech.active or (active is not False and left_on is None):
            return
        tech.active, tech.left_on = False, left_on
        self.session.add(tech)
        audit.record(self.session, self.actor, "tech.deactivate", "technician", tech.id,
                     left_on=left_on.isoformat() if left_on else None, source="import")
        self.report.notes.append(f"{tech.name}: marked inactive (former staff in the sheet)")

    def _cert_cell(self, v: dict[str, Any]) -> list[tuple[str, date]]:
        """'WRT/ASD' with a Certified on column, or 'WRT 2024-03-01; ASD 2024-05-10' in one cell."""
        cell = text(v.get("certifications"))
        if not cell:
            return []
        shared = parse_date(v["certified_on"]) if text(v.get("certified_on")) else None
        out = []
        for token in CERT_TOKENS.split(cell):
            code, _, rest = token.strip().partition(" ") if ":" not in token else token.strip().partition(":")
            rest = rest.strip(" ()")
            if not code.strip():
                continue
            when = parse_date(rest) if rest else shared
            if when is None:
                raise CellError(f"no certification date for {code.strip().upper()} (add a Certified on column "
                                f"or write it as \"{code.strip().upper()} 2024-03-01\")")
            out.append((code.strip().upper(), when))
        return out

    def _add_certs(self, tech: Technician, certs: list[tuple[str, date]]) -> None:
        for code, when in certs:
            held = self.session.exec(select(Certification).where(Certification.tech_id == tech.id,
                                                                 Certification.designation == code)).first()
            if held is not None:
                if held.certified_on != when:
                    self.report.notes.append(f"{tech.name}: {code} already on file as certified "
                                             f"{held.certified_on}; the sheet says {when} (kept {held.certified_on})")
                continue
            if self.rules.designation(code) is None:
                self.report.notes.append(f"{tech.name}: {code} is not in the IICRC rules (kept; add it under "
                                         f"[rules.designations] if it is real)")
            self.session.add(Certification(tech_id=tech.id, designation=code, certified_on=when))
            self.session.flush()
            self.report.added["certifications"] += 1

    # --- certifications ----------------------------------------------------------------------

    def _certification(self, v: dict[str, Any]) -> None:
        tech = self._tech_of(v)
        codes = split_designations(v.get("designation"))
        if not codes:
            raise CellError("no designation")
        if not text(v.get("certified_on")):
            raise CellError(f"no certification date for {'/'.join(codes)}")
        when = parse_date(v["certified_on"])
        before = self.report.added["certifications"]
        self._add_certs(tech, [(code, when) for code in codes])
        if self.report.added["certifications"] == before:
            raise MailbotError(f"duplicate: {'/'.join(codes)} already on file for {tech.name}")

    # --- CE log ------------------------------------------------------------------------------

    def _credit(self, v: dict[str, Any]) -> None:
        tech = self._tech_of(v)
        title = text(v.get("course"))
        if not title:
            raise CellError("no course title")
        if not text(v.get("date")) and not isinstance(v.get("date"), date):
            raise CellError(f"{title}: no completion date")
        completed_on = parse_date(v.get("date"))
        hours = parse_hours(v.get("hours"), self.rules.units.former_unit_hours)
        kind = text(v.get("kind")).lower() or "class"
        if kind not in credit_ops.KINDS:
            raise CellError(f"unknown kind {kind!r} (one of {', '.join(credit_ops.KINDS)})")
        if hours.former_units is not None:
            self._former_unit(tech, title, completed_on, hours, text(v.get("hours")))
            return
        details = {"provider": text(v.get("provider")) or None, "approval_number": text(v.get("approval_number"))
                   or None, "category": text(v.get("category")) or None, "event_key": text(v.get("event")) or None}
        if text(v.get("state")).lower() == VOIDED:
            self._voided(tech, title, completed_on, hours.hours, kind, details, text(v.get("void_reason")))
            return
        duplicate = credit_ops.find_duplicate(self.session, tech.id, title, completed_on)
        if duplicate is not None:
            raise MailbotError(f"duplicate: {tech.name}, {title!r} on {completed_on} is already credit "
                               f"#{duplicate.id} (same technician, course and date)")
        credit_ops.add_credit(self.session, tech, title=title, hours=hours.hours, completed_on=completed_on,
                              actor=self.actor, kind=kind, **details)
        self.report.added["credits"] += 1

    def _voided(self, tech: Technician, title: str, on: date, hours: Any, kind: str, details: dict[str, Any],
                reason: str) -> None:
        """A credit the sheet shows as voided stays voided (history is kept, never counted)."""
        same = [c for c in self.session.exec(select(Credit).where(
            Credit.tech_id == tech.id, Credit.completed_on == on, Credit.state == VOIDED)).all()
            if credit_ops.course_key(c.course_title) == credit_ops.course_key(title)
            and c.hours_centi == to_centi(hours)]
        if same:
            raise MailbotError(f"duplicate: voided credit {title!r} on {on} is already on file (#{same[0].id})")
        self.session.add(Credit(tech_id=tech.id, course_title=title, hours_centi=to_centi(hours), completed_on=on,
                                kind=kind, state=VOIDED, created_by=self.actor, voided_by=self.actor,
                                voided_at=utcnow(), void_reason=reason or "voided in the imported sheet",
                                **details))
        self.session.flush()
        self.report.added["credits"] += 1

    def _former_unit(self, tech: Technician, title: str, on: date, hours: Any, cell: str) -> None:
        """Former unit (1 CEC = 7 h): never recorded silently; a review item a person confirms or corrects."""
        reason = (f"import: {title!r} on {on}: {cell!r} is in the former unit "
                  f"({hours_text(hours.former_units)} CEC = {hours_text(hours.hours)} h); check the certificate, "
                  f"then record it with `mailbot credits add`")
        taken = self.session.exec(select(func.count()).select_from(ReviewItem).where(
            ReviewItem.tech_id == tech.id, ReviewItem.reason == reason, ReviewItem.state == "open")).one()
        if taken:
            raise MailbotError(f"duplicate: {title!r} on {on} is already waiting for review")
        self.session.add(ReviewItem(tech_id=tech.id, kind="former-unit", reason=reason,
                                    hours_centi=to_centi(hours.hours)))
        self.session.flush()
        self.report.review.append(self.issue(reason.removeprefix("import: ")))

    # --- who a row is about --------------------------------------------------------------------

    def _tech_of(self, v: dict[str, Any]) -> Technician:
        emails, name = split_emails(v.get("email")), text(v.get("name"))
        tech = self._find(emails, text(v.get("iicrc_id")), name)
        if tech is not None:
            return tech
        if name and emails:  # a one-sheet workbook: the CE log is the only list of technicians
            tech = add_technician(self.session, name, emails, iicrc_id=text(v.get("iicrc_id")) or None)
            self.report.added["technicians"] += 1
            self.report.notes.append(f"added technician {name} <{emails[0]}> from the CE log")
            return tech
        raise CellError(f"unknown technician {name or (emails[0] if emails else text(v.get('iicrc_id')))!r}"
                        if (name or emails or text(v.get("iicrc_id"))) else "no technician on this row")

    def _find(self, emails: list[str], iicrc_id: str, name: str | None) -> Technician | None:
        for addr in emails:
            tech = find_by_address(self.session, addr)
            if tech is not None:
                return tech
        if iicrc_id:
            tech = self.session.exec(select(Technician).where(Technician.iicrc_id == iicrc_id)).first()
            if tech is not None:
                return tech
        if name and not emails:
            named = [t for t in self.session.exec(select(Technician)).all()
                     if " ".join(t.name.lower().split()) == " ".join(name.lower().split())]
            if len(named) > 1:
                raise CellError(f"{len(named)} technicians are named {name!r}: add an Email column")
            return named[0] if named else None
        return None
