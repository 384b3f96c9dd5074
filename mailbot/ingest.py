"""The ingestion pass: list the inbox, fetch what needs work in batches, record, then file.

Per batch of fetched messages (20 by default):
1. claim a bookkeeping row for each mailbox location, committed before anything else;
2. read and extract each message with no transaction open (the slow part);
3. write every consequence of the whole batch in ONE transaction, each message inside a savepoint of its
   own, so a message that fails rolls back alone and is marked for a retry afterwards; the evidence files
   (raw emails, certificates) are written as the batch goes and made durable together just before the
   commit, and the commit itself is durable (ledger.db.durable_scope): a few disk flushes a batch
   instead of two a message, and a power cut after the move cannot take back a recorded credit;
4. only after the commit, move the finished messages (one UID MOVE per target folder).
A crash anywhere leaves rows `received` (read again next pass) or finished-but-unfiled (filed next pass):
nothing is recorded twice and nothing is lost. A batch whose transaction cannot commit is processed again
one message per transaction, so one poisoned message cannot hold back the other nineteen.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.domain import sha256_hex
from mailbot.errors import ProcessingError
from mailbot.intake import Analysis, analyse, decide
from mailbot.ledger import inbound
from mailbot.ledger.db import durable_scope, session_scope
from mailbot.ledger.inbound import DONE
from mailbot.ledger.models import InboundMessage, utcnow
from mailbot.ledger.techs import find_by_address
from mailbot.mail.approval_flow import handle_reply, is_approval_reply
from mailbot.mail.iicrc_replies import handle_iicrc_reply, sent_submission_for
from mailbot.recording import record

log = logging.getLogger("mailbot.ingest")


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
    # Where the pass spent its time: list, fetch (and claim), read (MIME + extraction), record (the
    # batch's transaction), file (the moves), receipts (sending them). Seconds.
    seconds: dict[str, float] = field(default_factory=dict)

    def count(self, state: str) -> None:
        if hasattr(self, state):
            setattr(self, state, getattr(self, state) + 1)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

    def timings(self) -> str:
        """"list_ms=3 fetch_ms=40 …" for the log line of a pass."""
        return " ".join(f"{stage}_ms={seconds * 1000:.0f}" for stage, seconds in self.seconds.items())


@dataclass
class Fetched:
    """One message of a batch on its way through the pass."""

    key: str
    row_id: int
    raw: bytes
    analysis: Analysis | None = None
    error: Exception | None = None
    row: InboundMessage | None = None  # set once its state is written


def _same_message(s: Session, row: InboundMessage, sha: str, message_id: str | None) -> InboundMessage | None:
    """The same email seen before at another location (moved back, UIDVALIDITY reset, copied)."""
    query = select(InboundMessage).where(InboundMessage.id != row.id, InboundMessage.state.in_(DONE))
    match = s.exec(query.where(InboundMessage.raw_sha256 == sha)).first()
    if match is None and message_id:
        match = s.exec(query.where(InboundMessage.message_id == message_id)).first()
    return match


def _target(app: App, state: str) -> str:
    inbox = app.config.inbox
    return inbox.review_folder if state in ("review", "dead") else inbox.processed_folder


def _apply(s: Session, app: App, item: Fetched, report: PassReport) -> InboundMessage:
    """Write everything one analysed message implies, inside the caller's transaction."""
    raw, facts = item.raw, item.analysis.facts
    credits = drafts = 0
    row = s.get(InboundMessage, item.row_id)
    row.raw_sha256, row.message_id = sha256_hex(raw), facts.message_id
    row.raw_path = str(app.evidence.put(raw, "message/rfc822"))
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
        decision = decide(item.analysis, tech.name if tech else None)
        out = record(s, app, row, item.analysis, decision, tech)
        row.tech_id = tech.id if tech else None
        row.state = "ignored" if decision.state == "ignored" else out.state
        row.reason = out.summary() if decision.state != "ignored" and tech else decision.reason
        credits, drafts = len(out.credits), len(out.draft_ids)
    row.target_folder = _target(app, row.state)
    s.add(row)
    s.flush()
    report.credits += credits  # counted only once everything is written
    report.drafts += drafts
    return row


def _analyse_all(items: list[Fetched]) -> None:
    for item in items:
        try:
            item.analysis = analyse(item.raw)  # MIME + extraction: no transaction open
        except Exception as exc:  # noqa: BLE001 - one bad message never stops the rest
            item.error = exc


def _write_batch(app: App, items: list[Fetched], report: PassReport) -> None:
    """One transaction for the batch, a savepoint per message; evidence durable before the commit."""
    counts = PassReport()  # credits and drafts count only once the batch is committed
    with durable_scope(app.engine) as s, app.evidence.synced_together():
        for item in items:
            if item.error is not None:
                continue
            try:
                with s.begin_nested():
                    item.row = _apply(s, app, item, counts)
            except Exception as exc:  # noqa: BLE001 - rolled back alone; marked for a retry below
                item.error = exc
    report.credits += counts.credits
    report.drafts += counts.drafts


def process_one(app: App, row_id: int, raw: bytes, report: PassReport) -> InboundMessage:
    """One message on its own (reprocessing, and the fallback when a batch cannot commit)."""
    item = Fetched("", row_id, raw)
    _analyse_all([item])
    if item.error is not None:
        return fail(app, row_id, item.error, report)
    try:
        _write_batch(app, [item], report)
    except Exception as exc:  # noqa: BLE001 - even its commit failing is this message's failure alone
        item.error = exc
    if item.error is not None:
        return fail(app, row_id, item.error, report)
    report.count(item.row.state)
    return item.row


def fail(app: App, row_id: int, exc: Exception, report: PassReport) -> InboundMessage:
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


def _process_batch(app: App, items: list[Fetched], report: PassReport) -> list[InboundMessage]:
    with report.timed("read"):
        _analyse_all(items)
    try:
        with report.timed("record"):
            _write_batch(app, items, report)
    except Exception as exc:  # noqa: BLE001 - the commit itself failed: one transaction a message instead
        log.warning("batch of %d could not be committed (%s); writing them one by one", len(items), exc)
        with report.timed("record"):
            return [process_one(app, item.row_id, item.raw, report) for item in items]
    rows = []
    for item in items:
        if item.error is not None:
            rows.append(fail(app, item.row_id, item.error, report))
        else:
            report.count(item.row.state)
            rows.append(item.row)
    return rows


def file_done(app: App, source, done: list[tuple[str, int, str]], report: PassReport) -> None:  # type: ignore[no-untyped-def]
    """Move finished messages to their folders, one MOVE per target folder, then note them filed.
    A failed move is repaired on the next pass: each row says where its message belongs."""
    by_folder: dict[str, list[tuple[str, int]]] = {}
    for key, row_id, folder in done:
        by_folder.setdefault(folder, []).append((key, row_id))
    for folder, items in by_folder.items():
        with report.timed("file"):
            try:
                source.file_many([key for key, _ in items], folder)
            except ProcessingError as exc:
                report.errors.append(f"move of {len(items)} message(s) to {folder} failed: {exc}")
                continue
            inbound.mark_filed(app.engine, [row_id for _, row_id in items])
        report.filed += len(items)


@dataclass(frozen=True)
class QuietListing:
    """What a complete pass left behind: the folder's signature when it was listed, and its mailbox."""

    signature: tuple[int, int, int]
    box: inbound.Mailbox


def _unchanged(app: App, source, report: PassReport) -> bool:  # type: ignore[no-untyped-def]
    """True when this pass has nothing to do, known without listing the folder: the last pass was
    complete and listed it in the state the server states now (no message added or removed since),
    and the ledger has nothing of it due. Opening and listing a folder of 10,000 costs the server ~20 ms;
    asking its STATUS, ~0.3 ms. Anything else (a first pass, a change, an error) lists as usual."""
    quiet = app.quiet_listings.pop((source.account, source.folder), None)  # kept only if still true
    if quiet is None:
        return False
    signature = source.status_signature()
    if signature != quiet.signature or inbound.has_work(app.engine, quiet.box):
        return False  # this pass lists the folder, and remembers it again if it ends cleanly
    app.quiet_listings[(source.account, source.folder)] = quiet
    report.seen = signature[2]
    return True


def ingest_folder(app: App, source, report: PassReport) -> None:  # type: ignore[no-untyped-def]
    with report.timed("list"):
        if _unchanged(app, source, report):
            return
        state = source.folder_state()
        box = inbound.Mailbox(source.account, state.folder, state.uidvalidity)
        work = inbound.pending(app.engine, box, state.keys)
    report.seen = len(state.keys)
    errors_before = len(report.errors)
    # done but still in the inbox: a move that failed or was interrupted
    file_done(app, source, [(p.key, p.id, p.target_folder) for p in work if p.to_file], report)
    keys = [p.key for p in work if p.to_fetch]
    size = app.config.inbox.batch_size
    complete = True
    for start in range(0, len(keys), size):
        asked = keys[start:start + size]
        with report.timed("fetch"):
            fetched = list(source.fetch(asked))
            row_ids = inbound.claim(app.engine, box, [key for key, _ in fetched])  # committed before any work
        report.fetched += len(fetched)
        complete = complete and len(fetched) == len(asked)
        items = [Fetched(key, row_ids[key], raw) for key, raw in fetched]
        rows = _process_batch(app, items, report)
        file_done(app, source, [(item.key, row.id, row.target_folder) for item, row in zip(items, rows, strict=True)
                                if row.state in DONE], report)
    if state.signature is not None and complete and len(report.errors) == errors_before:
        # every listed message is now known to the ledger: while the folder stays as listed, the ledger
        # alone says whether there is work (a pass that moved mail changed the folder, so lists again)
        app.quiet_listings[(source.account, source.folder)] = QuietListing(state.signature, box)
