"""One function per scheduled tick. Each does a bounded unit of work and returns what it did.

The ingestion tick, per batch of fetched messages: claim a row for each mailbox location (one transaction,
committed before anything else); per message, read and extract without holding the database and write
every consequence in one transaction; only then move the batch's finished messages (one MOVE per target
folder). A message already done but still in the inbox (a move that failed, a crash after the commit) is
simply filed on the next pass; nothing is recorded twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import select

from mailbot.app import App
from mailbot.errors import ProcessingError
from mailbot.intake import analyse, decide
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger import inbound
from mailbot.ledger.db import session_scope
from mailbot.ledger.inbound import DONE
from mailbot.ledger.models import InboundMessage, utcnow
from mailbot.ledger.techs import find_by_address
from mailbot.mail import notices
from mailbot.mail.approval_flow import handle_reply, is_approval_reply
from mailbot.mail.iicrc_replies import handle_iicrc_reply, sent_submission_for
from mailbot.mail.outgoing import SendReport, recover_interrupted, resolve_from_sent_folder, send_approved
from mailbot.mail.transport import SentFolderCopy
from mailbot.recording import record

log = logging.getLogger("mailbot.jobs")


@dataclass
class PassReport:
    seen: int = 0
    fetched: int = 0
    handled: int = 0  # approval replies and replies from IICRC
    recorded: int = 0
    review: int = 0
    ignored: int = 0
    duplicate: int = 0
    retry: int = 0
    dead: int = 0
    filed: int = 0
    credits: int = 0
    drafts: int = 0
    receipts_sent: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, state: str) -> None:
        if hasattr(self, state):
            setattr(self, state, getattr(self, state) + 1)


def _same_message(s, row: InboundMessage, sha: str, message_id: str | None) -> InboundMessage | None:  # type: ignore[no-untyped-def]
    """The same email seen before at another location (moved back, UIDVALIDITY reset, copied)."""
    query = select(InboundMessage).where(InboundMessage.id != row.id, InboundMessage.state.in_(DONE))
    match = s.exec(query.where(InboundMessage.raw_sha256 == sha)).first()
    if match is None and message_id:
        match = s.exec(query.where(InboundMessage.message_id == message_id)).first()
    return match


def _target(app: App, state: str) -> str:
    inbox = app.config.inbox
    return inbox.review_folder if state in ("review", "dead") else inbox.processed_folder


def _process(app: App, row_id: int, raw: bytes, report: PassReport) -> InboundMessage:
    """Everything for one fetched message except the move. Raises nothing for bad input."""
    from mailbot.domain import sha256_hex

    evidence = app.evidence.put(raw, "message/rfc822")
    analysis = analyse(raw)  # slow part: no transaction open
    facts = analysis.facts
    with session_scope(app.engine) as s:
        row = s.get(InboundMessage, row_id)
        row.raw_sha256, row.raw_path, row.message_id = sha256_hex(raw), str(evidence), facts.message_id
        row.from_addr, row.subject, row.updated_at = facts.from_addr, facts.subject[:500], utcnow()
        row.original_sender = (facts.original_sender or "")[:320] or None
        twin = _same_message(s, row, row.raw_sha256, facts.message_id)
        submission = sent_submission_for(s, facts)
        if twin is not None:
            row.state, row.duplicate_of, row.reason = "duplicate", twin.id, f"same email as message #{twin.id}"
        elif submission is not None:  # IICRC's answer (even an automatic one) to a sent submission
            row.state, row.reason = handle_iicrc_reply(s, row, submission, facts)
        elif is_approval_reply(app, facts) and not facts.robot_reason:
            row.state, row.reason = handle_reply(s, app, facts, raw)
        else:
            tech = find_by_address(s, facts.from_addr)
            decision = decide(analysis, tech.name if tech else None)
            out = record(s, app, row, analysis, decision, tech)
            row.tech_id = tech.id if tech else None
            row.state = "ignored" if decision.state == "ignored" else out.state
            row.reason = out.summary() if decision.state != "ignored" and tech else decision.reason
            report.credits += len(out.credits)
            report.drafts += len(out.draft_ids)
        row.target_folder = _target(app, row.state)
        s.add(row)
    report.count(row.state)
    return row


def _fail(app: App, row_id: int, exc: Exception, report: PassReport) -> InboundMessage:
    """Transient: retry later with exponential backoff; after max attempts (or permanent): dead letter."""
    permanent = isinstance(exc, ProcessingError) and exc.permanent
    with session_scope(app.engine) as s:
        row = s.get(InboundMessage, row_id)
        row.attempts += 1
        row.reason = f"{type(exc).__name__}: {exc}"[:2000]
        if permanent or row.attempts >= app.config.inbox.max_attempts:
            row.state, row.target_folder = "dead", app.config.inbox.review_folder
        else:
            row.state = "retry"
            row.next_attempt_at = utcnow() + timedelta(seconds=min(3600, 30 * 2 ** row.attempts))
        row.updated_at = utcnow()
        s.add(row)
    report.count(row.state)
    report.errors.append(f"message #{row_id}: {row.reason}")
    log.warning("message failed id=%s state=%s attempts=%s reason=%r", row_id, row.state, row.attempts, row.reason)
    return row


def _file_all(app: App, source, done: list[tuple[str, int, str]], report: PassReport) -> None:  # type: ignore[no-untyped-def]
    """Move finished messages to their folders, one MOVE per target folder, then note them filed.
    A failed move is repaired on the next pass: each row says where its message belongs."""
    by_folder: dict[str, list[tuple[str, int]]] = {}
    for key, row_id, folder in done:
        by_folder.setdefault(folder, []).append((key, row_id))
    for folder, items in by_folder.items():
        try:
            source.file_many([key for key, _ in items], folder)
        except ProcessingError as exc:
            report.errors.append(f"move of {len(items)} message(s) to {folder} failed: {exc}")
            continue
        inbound.mark_filed(app.engine, [row_id for _, row_id in items])
        report.filed += len(items)


def _batches(keys: list[str], size: int):  # type: ignore[no-untyped-def]
    for i in range(0, len(keys), size):
        yield keys[i:i + size]


def ingest_folder(app: App, source, report: PassReport) -> None:  # type: ignore[no-untyped-def]
    state = source.folder_state()
    box = inbound.Mailbox(source.account, state.folder, state.uidvalidity)
    work = inbound.pending(app.engine, box, state.keys)
    report.seen = len(state.keys)
    # done but still in the inbox: a move that failed or was interrupted
    _file_all(app, source, [(p.key, p.id, p.target_folder) for p in work if p.to_file], report)
    for batch in _batches([p.key for p in work if p.to_fetch], app.config.inbox.batch_size):
        fetched = list(source.fetch(batch))
        row_ids = inbound.claim(app.engine, box, [key for key, _ in fetched])  # committed before any work
        done = []
        for key, raw in fetched:
            report.fetched += 1
            try:
                row = _process(app, row_ids[key], raw, report)
            except Exception as exc:  # noqa: BLE001 - one bad message never stops the rest
                row = _fail(app, row_ids[key], exc, report)
            if row.state in DONE:
                done.append((key, row.id, row.target_folder))
        _file_all(app, source, done, report)


def poll_tick(app: App) -> PassReport:
    """One ingestion pass over the inbox, then the receipts it queued go out."""
    report = PassReport()
    inbox = app.config.inbox
    with app.source() as source:
        source.ensure_folders([inbox.processed_folder, inbox.review_folder])
        ingest_folder(app, source, report)
    report.receipts_sent = send_notices(app)
    log.info("poll done seen=%d fetched=%d recorded=%d review=%d ignored=%d duplicate=%d retry=%d dead=%d filed=%d",
             report.seen, report.fetched, report.recorded, report.review, report.ignored, report.duplicate,
             report.retry, report.dead, report.filed)
    return report


def recover_interrupted_work(app: App) -> None:
    """Run once by whoever just took the leader lock: sends that a dead process left mid-way are marked
    interrupted (never resent blindly), then those whose copy is in the Sent folder are marked sent."""
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
    return _process(app, row_id, raw, PassReport())


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
