"""The monthly run: queue one statement per technician and the roll-up per admin, then send them all.

Once and only once (see docs/digests.md): every email is a Notice whose dedupe key is
recipient|kind|period (period = "YYYY-MM"), so queueing is idempotent and a re-run only fills the gaps.
Sending is notices.send_pending (claim pending → sending, Message-ID recorded, then SMTP) over ONE
transport opened for the whole run. A notice claimed by a process that died mid-send is never resent
(the server may have it); it is reported to the admins instead.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from mailbot.digests.gather import TechSnapshot, active_technicians, snapshot, snapshots
from mailbot.digests.rollup import gather_rollup, rollup_context
from mailbot.digests.statement import statement_context
from mailbot.errors import MailbotError
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Notice, TechAddress, Technician, utcnow
from mailbot.mail import notices
from mailbot.mail.compose import Rendered, render

log = logging.getLogger("mailbot.digests")
QUEUE_CHUNK = 500  # technicians per bulk read + render + INSERT; keeps each write transaction short
SEND_CHUNK = 50  # notices per send_pending call; the progress bar moves between chunks
DEFAULT_DAY = 1


@dataclass
class MonthReport:
    period: str
    queued: int = 0
    already_queued: int = 0
    without_email: int = 0
    rollups_queued: int = 0
    sent: int = 0
    failed: int = 0
    interrupted: list[str] = field(default_factory=list)  # recipients whose statement may not have arrived


def month_as_of(month: str, day: int = DEFAULT_DAY) -> date:
    """"2026-12" → the statement date in that month. Raises MailbotError with a readable reason."""
    try:
        year, mon = (int(part) for part in month.split("-"))
        return date(year, mon, min(max(day, 1), 28))
    except ValueError:
        raise MailbotError(f"month must be YYYY-MM, got {month!r}") from None


def company_of(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"name": app.config.company.name, "address": app.config.company_address}


def primary_emails(session: Session) -> dict[int, str]:
    """tech id → the address statements go to (the primary one, else the first added)."""
    emails: dict[int, str] = {}
    for row in session.exec(select(TechAddress).order_by(TechAddress.is_primary.desc(), TechAddress.id)).all():
        emails.setdefault(row.tech_id, row.address)
    return emails


def render_statement(app, session: Session, tech, as_of: date) -> Rendered:  # type: ignore[no-untyped-def]
    return render_snapshot(app, snapshot(session, app.rules, tech, as_of), as_of)


def render_snapshot(app, snap: TechSnapshot, as_of: date) -> Rendered:  # type: ignore[no-untyped-def]
    from mailbot.intake import first_name

    context = statement_context(balance=snap.balance, credits=snap.credits, review=snap.review,
                                planned=snap.planned, next_step=snap.next_step, as_of=as_of,
                                company=company_of(app), first_name=first_name(snap.name))
    return render(app.templates, "statement", context)


def _queued_keys(session: Session, kind: str, period: str) -> set[str]:
    return set(session.exec(select(Notice.dedupe_key).where(Notice.kind == kind,
                                                            Notice.dedupe_key.endswith(f"|{kind}|{period}"))))


def _rollups_done(app, session: Session, period: str) -> bool:  # type: ignore[no-untyped-def]
    done = _queued_keys(session, "rollup", period)
    return all(f"{a.lower()}|rollup|{period}" in done for a in app.config.company.admins)


def queue_statements(app, as_of: date, period: str, report: MonthReport,  # type: ignore[no-untyped-def]
                     *, balances: bool = False) -> list[Any] | None:
    """Queue the month's missing statements, QUEUE_CHUNK technicians at a time (one bulk read, one INSERT).

    With balances=True, return every active technician's balance (for the roll-up: each is computed
    once for both), else None.
    """
    with session_scope(app.engine) as s:
        tech_ids, emails = [t.id for t in active_technicians(s)], primary_emails(s)
        done = _queued_keys(s, "statement", period)
    todo: dict[int, str] = {}
    for tech_id in tech_ids:
        email = emails.get(tech_id)
        if not email:
            report.without_email += 1
        elif f"{email.lower()}|statement|{period}" in done:
            report.already_queued += 1
        else:
            todo[tech_id] = email
    found: list[Any] = []
    for start in range(0, len(tech_ids), QUEUE_CHUNK):
        chunk = tech_ids[start:start + QUEUE_CHUNK]
        if balances or any(t in todo for t in chunk):
            found += _queue_chunk(app, chunk, todo, as_of, period, report)
    return found if balances else None


def _read_snapshots(app, tech_ids: list[int], as_of: date) -> list[TechSnapshot]:  # type: ignore[no-untyped-def]
    with session_scope(app.engine) as s:  # a read-only transaction: no write lock held while computing
        techs = list(s.exec(select(Technician).where(Technician.id.in_(tech_ids)).order_by(Technician.id)))
        return snapshots(s, app.rules, techs, as_of)


def _queue_chunk(app, tech_ids: list[int], todo: dict[int, str], as_of: date, period: str,  # type: ignore[no-untyped-def]
                 report: MonthReport) -> list[Any]:
    snaps = _read_snapshots(app, tech_ids, as_of)
    items = [(todo[snap.tech_id], render_snapshot(app, snap, as_of)) for snap in snaps if snap.tech_id in todo]
    with session_scope(app.engine) as s:  # one short write transaction: the poller shares the database
        queued = notices.queue_many(s, kind="statement", period=period, items=items)
    report.queued += queued
    report.already_queued += len(items) - queued  # another run queued them between our read and this write
    return [snap.balance for snap in snaps]


def team_balances(app, as_of: date) -> list[Any]:  # type: ignore[no-untyped-def]
    """Every active technician's balance, read in bulk QUEUE_CHUNK technicians at a time."""
    with session_scope(app.engine) as s:
        tech_ids = [t.id for t in active_technicians(s)]
    return [snap.balance for start in range(0, len(tech_ids), QUEUE_CHUNK)
            for snap in _read_snapshots(app, tech_ids[start:start + QUEUE_CHUNK], as_of)]


def queue_rollups(app, as_of: date, period: str, report: MonthReport,  # type: ignore[no-untyped-def]
                  balances: list[Any] | None = None) -> None:
    """Queue each admin's roll-up, from `balances` (every active technician's) when the caller has them."""
    with session_scope(app.engine) as s:
        if _rollups_done(app, s, period):
            return
    if balances is None:
        balances = team_balances(app, as_of)
    with session_scope(app.engine) as s:
        context = rollup_context(gather_rollup(s, balances), app.rules, as_of, app.clock(), company_of(app))
    rendered = render(app.templates, "rollup", context)
    # A write transaction of its own: on SQLite (WAL) a transaction that read first cannot take the write
    # lock once another process has committed meanwhile ("database is locked", busy timeout or not).
    with session_scope(app.engine) as s:
        for admin in app.config.company.admins:
            report.rollups_queued += notices.queue(s, recipient=admin, kind="rollup", period=period,
                                                   rendered=rendered)


def pending_total(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return s.exec(select(func.count()).select_from(Notice).where(Notice.state == "pending")).one()


def send_queued(app, on_progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Send every pending notice through one transport connection. Returns (sent, failed)."""
    notices.recover_interrupted(app.engine)
    total = pending_total(app.engine)
    if not total:
        return 0, 0
    sent = failed = 0
    with app.transport() as transport:
        while True:
            got, bad = notices.send_pending(app.engine, transport, app.config.outbox.from_,
                                            app.config.company.name, limit=SEND_CHUNK)
            sent, failed = sent + got, failed + bad
            if on_progress:
                on_progress(sent + failed, total)
            if got == 0:  # nothing left, or only failures (retried by the next run, bounded by attempts)
                break
    return sent, failed


def unresolved_statements(engine, period: str, started: datetime) -> list[Notice]:  # type: ignore[no-untyped-def]
    """Statements of `period` a dead process claimed: marked interrupted, or still `sending` from
    before this run started (our own claims are all finished when this is asked)."""
    with session_scope(engine) as s:
        rows = s.exec(select(Notice).where(Notice.kind == "statement",
                                           Notice.dedupe_key.endswith(f"|statement|{period}"),
                                           Notice.state.in_(("interrupted", "sending")))).all()
    return [n for n in rows if n.state == "interrupted" or (n.claimed_at and _naive(n.claimed_at) < _naive(started))]


def _naive(when: datetime) -> datetime:
    return when.replace(tzinfo=None) if when.tzinfo else when


def queue_interrupted_report(app, period: str, recipients: list[str]) -> int:  # type: ignore[no-untyped-def]
    """Tell the admins whose statement may not have arrived. Once per distinct list."""
    if not recipients:
        return 0
    digest = hashlib.sha256("\n".join(sorted(recipients)).encode()).hexdigest()[:12]
    lines = "\n".join(f"- {r}" for r in sorted(recipients))
    text = (f"The {period} statement run was interrupted while sending to these people. Their statement may "
            f"or may not have arrived; it was not resent, so nobody gets two. Forward it from "
            f"`mailbot digest preview --tech EMAIL --month {period}` if they ask.\n\n{lines}\n")
    html = "<p>" + escape(text.split("\n\n")[0]) + "</p><ul>" + \
        "".join(f"<li>{escape(r)}</li>" for r in sorted(recipients)) + "</ul>"
    rendered = Rendered(f"{period} statements: {len(recipients)} interrupted while sending", text, html)
    queued = 0
    with session_scope(app.engine) as s:
        for admin in app.config.company.admins:
            queued += notices.queue(s, recipient=admin, kind="digest-interrupted", period=f"{period}-{digest}",
                                    rendered=rendered)
    return queued


def send_month(app, month: str, *, day: int = DEFAULT_DAY,  # type: ignore[no-untyped-def]
               on_progress: Callable[[int, int], None] | None = None) -> MonthReport:
    """Queue and send the month's statements and roll-up. Safe to re-run: only the gaps are filled."""
    as_of = month_as_of(month, day)
    report = MonthReport(period=f"{as_of:%Y-%m}")
    started = utcnow()
    with session_scope(app.engine) as s:
        rollups_due = not _rollups_done(app, s, report.period)
    balances = queue_statements(app, as_of, report.period, report, balances=rollups_due)
    if rollups_due:
        queue_rollups(app, as_of, report.period, report, balances)
    report.sent, report.failed = send_queued(app, on_progress)
    report.interrupted = sorted(n.recipient for n in unresolved_statements(app.engine, report.period, started))
    if queue_interrupted_report(app, report.period, report.interrupted):
        sent, failed = send_queued(app)
        report.sent, report.failed = report.sent + sent, report.failed + failed
    log.info("digest %s queued=%d already=%d sent=%d failed=%d interrupted=%d", report.period, report.queued,
             report.already_queued, report.sent, report.failed, len(report.interrupted))
    return report


def month_done(app, period: str) -> bool:  # type: ignore[no-untyped-def]
    """Every active technician with an address has this month's statement queued (and each admin the roll-up)."""
    with session_scope(app.engine) as s:
        emails = primary_emails(s)
        wanted = {f"{emails[t.id].lower()}|statement|{period}" for t in active_technicians(s) if t.id in emails}
        wanted |= {f"{a.lower()}|rollup|{period}" for a in app.config.company.admins}
        have = _queued_keys(s, "statement", period) | _queued_keys(s, "rollup", period)
    return wanted <= have
