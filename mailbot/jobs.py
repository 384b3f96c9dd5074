"""One function per scheduled tick. Each does a bounded unit of work and returns what it did.

The ingestion pass itself (claim, read, record in one transaction a batch, then file) is mailbot/ingest.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import select

from mailbot.app import App
from mailbot.ingest import PassReport, ingest_folder, process_one
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger import inbound
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import InboundMessage, utcnow
from mailbot.mail import notices
from mailbot.mail.outgoing import SendReport, recover_interrupted, resolve_from_sent_folder, send_approved
from mailbot.mail.transport import SentFolderCopy

log = logging.getLogger("mailbot.jobs")


def poll_tick(app: App) -> PassReport:
    """One ingestion pass over the inbox, then the receipts it queued go out."""
    report = PassReport()
    inbox = app.config.inbox
    with app.source() as source:
        source.ensure_folders([inbox.processed_folder, inbox.review_folder])
        ingest_folder(app, source, report)
    with report.timed("receipts"):
        report.receipts_sent = send_notices(app)
    log.info("poll done seen=%d fetched=%d recorded=%d review=%d ignored=%d duplicate=%d retry=%d dead=%d filed=%d %s",
             report.seen, report.fetched, report.recorded, report.review, report.ignored, report.duplicate,
             report.retry, report.dead, report.filed, report.timings())
    return report


def recover_interrupted_work(app: App) -> None:
    """Run once by whoever just took the leader lock: sends that a dead process left mid-way are marked
    interrupted (never resent blindly), then those whose copy is in the Sent folder are marked sent. What
    this process remembered of the inbox from before is forgotten: the next pass lists it afresh."""
    app.quiet_listings.clear()
    notices.recover_interrupted(app.engine)
    with session_scope(app.engine) as s:
        recover_interrupted(s)
    if app.config.inbox.kind == "imap" and app.config.outbox.sent_folder:
        resolve_from_sent_folder(app.engine, lambda: _sent_folder_source(app))


def _sent_folder_source(app: App):  # type: ignore[no-untyped-def]
    source = app.source()
    source.folder = app.config.outbox.sent_folder  # the same account, reading Sent instead of the inbox
    return source


def send_notices(app: App) -> int:
    if not notices.pending_count(app.engine):
        return 0  # no connection to the SMTP server when there is nothing to say
    with app.transport() as transport:
        sent, _failed = notices.send_pending(app.engine, transport, app.config.outbox.from_,
                                             app.config.company.name)
    return sent


def send_tick(app: App) -> SendReport:
    """Send every approved draft (one connection for the batch); with an IMAP inbox, a copy of each goes
    to the Sent folder so the shared mailbox shows what went out."""
    with session_scope(app.engine) as s:
        if not draft_ops.approved_ids(s):
            return SendReport()
    sent_folder = app.config.outbox.sent_folder if app.config.inbox.kind == "imap" else ""
    with app.transport() as transport:
        if not sent_folder:
            report = send_approved(app.engine, transport, app.config)
        else:
            with app.source() as source:
                source.ensure_folders([sent_folder])
                copying = SentFolderCopy(transport, lambda raw: source.append(sent_folder, raw))
                report = send_approved(app.engine, copying, app.config)
    log.info("send done sent=%d failed=%d retry=%d", len(report.sent), len(report.failed), len(report.retry))
    return report


def reprocess(app: App, row_id: int, actor: str) -> InboundMessage:
    """Run one reviewed or dead-lettered message again from its stored raw email (after the admin added
    the technician, or the cause is fixed). Its open review items are resolved first; the mailbox copy
    stays where it is."""
    from pathlib import Path

    from mailbot.errors import MailbotError, NotFound
    from mailbot.ledger.models import ReviewItem

    with session_scope(app.engine) as s:
        row = s.get(InboundMessage, row_id)
        if row is None:
            raise NotFound(f"no message #{row_id}")
        if row.state not in ("review", "dead", "retry"):
            raise MailbotError(f"message #{row_id} is {row.state}; only review, dead or retry messages are reprocessed")
        if not row.raw_path or not Path(row.raw_path).is_file():
            raise MailbotError(f"message #{row_id} has no stored raw email; it will be fetched again on the next pass")
        raw = Path(row.raw_path).read_bytes()
        for item in s.exec(select(ReviewItem).where(ReviewItem.message_row_id == row_id, ReviewItem.state == "open")):
            item.state, item.resolved_by, item.resolved_at = "resolved", actor, utcnow()
            s.add(item)
        row.attempts, row.next_attempt_at = 0, None
        s.add(row)
    return process_one(app, row_id, raw, PassReport())


@dataclass
class ReconcileReport:
    in_folder: int = 0
    unknown: int = 0  # in the folder, never seen: picked up by the pass that follows
    unfiled: int = 0  # done but still in the folder: filed by the pass that follows
    vanished: list[int] = field(default_factory=list)  # claimed, never finished, no longer in the folder


def reconcile_tick(app: App) -> ReconcileReport:
    """Nightly: the folder's full UID list against the ledger. Messages claimed but never finished that a
    person moved away are listed for the admin (a review item) instead of waiting forever; then a normal
    pass picks up anything unknown and files anything unfiled."""
    from mailbot.ledger.models import ReviewItem

    report = ReconcileReport()
    with app.source() as source:
        state = source.folder_state()
    work = inbound.pending(app.engine, inbound.Mailbox(source.account, state.folder, state.uidvalidity), state.keys)
    present = set(state.keys)
    report.in_folder = len(present)
    report.unknown = sum(1 for p in work if p.id is None)
    report.unfiled = sum(1 for p in work if p.to_file)
    with session_scope(app.engine) as s:
        unfinished = s.exec(select(InboundMessage).where(
            InboundMessage.account == source.account, InboundMessage.folder == state.folder,
            InboundMessage.uidvalidity == state.uidvalidity, InboundMessage.state.in_(("received", "retry"))))
        for fresh in unfinished.all():
            if fresh.mailbox_key in present:
                continue
            fresh.state, fresh.reason = "dead", "left the inbox before mailbot could read it (moved by a person?)"
            s.add(fresh)
            s.add(ReviewItem(message_row_id=fresh.id, kind="vanished", reason=fresh.reason))
            report.vanished.append(fresh.id)
    poll_tick(app)
    return report
