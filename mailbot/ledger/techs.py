"""Technicians, the addresses they forward from, and the certifications they hold."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mailbot.errors import MailbotError, NotFound
from mailbot.inbox.identity import normalize_address
from mailbot.ledger.models import Certification, TechAddress, Technician

# One rule for "who is this address" everywhere: the inbox and the ledger must never disagree.
normalize = normalize_address


@dataclass(frozen=True)
class TechView:
    id: int
    name: str
    emails: tuple[str, ...]
    iicrc_id: str | None
    cycle_start: date | None
    active: bool
    certifications: tuple[tuple[str, date], ...]
    left_on: date | None = None

    @property
    def email(self) -> str:
        return self.emails[0] if self.emails else ""

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "email": self.email, "emails": list(self.emails),
                "iicrc_id": self.iicrc_id, "cycle_start": self.cycle_start, "active": self.active,
                "left_on": self.left_on,
                "certifications": [{"designation": d, "certified_on": c} for d, c in self.certifications]}


def add_technician(session: Session, name: str, emails: list[str], *, iicrc_id: str | None = None,
                   certifications: list[tuple[str, date]] = (), cycle_start: date | None = None) -> Technician:
    if not name.strip():
        raise MailbotError("a technician needs a name")
    if not emails:
        raise MailbotError("a technician needs at least one email address")
    tech = Technician(name=name.strip(), iicrc_id=(iicrc_id or None), cycle_start=cycle_start)
    session.add(tech)
    session.flush()
    for i, addr in enumerate(emails):
        add_address(session, tech.id, addr, primary=(i == 0))
    for designation, certified_on in certifications:
        session.add(Certification(tech_id=tech.id, designation=designation.upper(), certified_on=certified_on))
    try:
        session.flush()
    except IntegrityError:
        raise MailbotError("duplicate certification for this technician") from None
    return tech


def add_address(session: Session, tech_id: int, addr: str, *, primary: bool = False) -> None:
    given, addr = addr, normalize(addr)
    if not addr:
        raise MailbotError(f"not an email address: {given!r}")
    owner = session.exec(select(TechAddress).where(TechAddress.address == addr)).first()
    if owner is not None:
        raise MailbotError(f"{addr} already belongs to technician #{owner.tech_id}")
    session.add(TechAddress(tech_id=tech_id, address=addr, is_primary=primary))
    session.flush()


def find_by_address(session: Session, addr: str | None) -> Technician | None:
    if not addr:
        return None
    row = session.exec(select(TechAddress).where(TechAddress.address == normalize(addr))).first()
    return session.get(Technician, row.tech_id) if row else None


def get_by_email(session: Session, addr: str) -> Technician:
    tech = find_by_address(session, addr)
    if tech is None:
        raise NotFound(f"no technician with address {addr}")
    return tech


def view(session: Session, tech: Technician) -> TechView:
    addrs = session.exec(select(TechAddress).where(TechAddress.tech_id == tech.id)
                         .order_by(TechAddress.is_primary.desc(), TechAddress.id)).all()
    certs = session.exec(select(Certification).where(Certification.tech_id == tech.id)
                         .order_by(Certification.certified_on)).all()
    return TechView(tech.id, tech.name, tuple(a.address for a in addrs), tech.iicrc_id, tech.cycle_start,
                    tech.active, tuple((c.designation, c.certified_on) for c in certs), tech.left_on)


def list_views(session: Session, *, include_inactive: bool = True) -> list[TechView]:
    query = select(Technician).order_by(Technician.name)
    if not include_inactive:
        query = query.where(Technician.active == True)
    return [view(session, t) for t in session.exec(query).all()]


def edit_technician(session: Session, tech: Technician, *, actor: str, name: str | None = None,
                    iicrc_id: str | None = None, cycle_start: date | None = None, add_emails: list[str] = (),
                    remove_emails: list[str] = (), add_certs: list[tuple[str, date]] = (),
                    reactivate: bool = False) -> list[str]:
    """Change what is given; returns what changed (also written to the audit trail)."""
    from mailbot.ledger import audit

    changes = [f"{label} {old!r} → {new!r}" for label, old, new in _field_edits(tech, name, iicrc_id, cycle_start)]
    if reactivate and not tech.active:
        changes.append(f"active again (had left on {tech.left_on})")
        tech.active, tech.left_on = True, None
    for addr in add_emails:
        add_address(session, tech.id, addr)
        changes.append(f"address {normalize(addr)} added")
    for addr in remove_emails:
        _remove_address(session, tech, addr)
        changes.append(f"address {normalize(addr)} removed")
    for designation, certified_on in add_certs:
        _add_certification(session, tech, designation, certified_on)
        changes.append(f"certification {designation.upper()} {certified_on} added")
    session.add(tech)
    session.flush()
    if changes:
        audit.record(session, actor, "tech.edit", "technician", tech.id, changes=changes)
    return changes


def _field_edits(tech: Technician, name: str | None, iicrc_id: str | None, cycle_start: date | None) -> list:
    edits = []
    if name is not None:
        if not name.strip():
            raise MailbotError("a technician needs a name")
        edits.append(("name", tech.name, name.strip()))
        tech.name = name.strip()
    if iicrc_id is not None:
        edits.append(("IICRC ID", tech.iicrc_id, iicrc_id.strip() or None))
        tech.iicrc_id = iicrc_id.strip() or None
    if cycle_start is not None:
        edits.append(("cycle start", tech.cycle_start, cycle_start))
        tech.cycle_start = cycle_start
    return [e for e in edits if e[1] != e[2]]


def _remove_address(session: Session, tech: Technician, addr: str) -> None:
    rows = session.exec(select(TechAddress).where(TechAddress.tech_id == tech.id)
                        .order_by(TechAddress.is_primary.desc(), TechAddress.id)).all()
    target = next((r for r in rows if r.address == normalize(addr)), None)
    if target is None:
        raise MailbotError(f"{normalize(addr)} is not one of {tech.name}'s addresses")
    if len(rows) == 1:
        raise MailbotError(f"{normalize(addr)} is {tech.name}'s only address; add another first")
    session.delete(target)  # an address is a lookup key, not history: the audit event keeps the change
    if target.is_primary:
        successor = next(r for r in rows if r is not target)
        successor.is_primary = True
        session.add(successor)
    session.flush()


def _add_certification(session: Session, tech: Technician, designation: str, certified_on: date) -> None:
    code = designation.strip().upper()
    held = session.exec(select(Certification).where(Certification.tech_id == tech.id,
                                                    Certification.designation == code)).first()
    if held is not None:
        raise MailbotError(f"{tech.name} already holds {code} (certified {held.certified_on})")
    session.add(Certification(tech_id=tech.id, designation=code, certified_on=certified_on))


def deactivate(session: Session, tech: Technician, *, on: date, actor: str) -> None:
    """A leaver: kept with all their history, still recognised by their address, sent no more digests."""
    from mailbot.ledger import audit

    if not tech.active:
        raise MailbotError(f"{tech.name} is already inactive (left on {tech.left_on})")
    tech.active, tech.left_on = False, on
    session.add(tech)
    session.flush()
    audit.record(session, actor, "tech.deactivate", "technician", tech.id, left_on=on.isoformat())
