"""Send approved drafts to IICRC: claim approved → sending, send once, record the SMTP Message-ID.

Fail-closed twice over: only drafts with an approval row are claimed, and a draft addressed to IICRC is
refused while [iicrc] live is not true. A draft found in `sending` after a crash is not resent blindly:
it becomes `interrupted`; if its copy is in the Sent folder it did go out and is marked sent, otherwise the
admin decides (drafts show / resend).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import formatdate, make_msgid
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, select

from mailbot.config import Config
from mailbot.errors import ProcessingError
from mailbot.ledger import audit
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import durable_scope, session_scope
from mailbot.ledger.models import Draft, utcnow
from mailbot.mail.compose import Attachment, Envelope, Rendered, build_message
from mailbot.mail.smtp import DeliveryUnknown, PartialDeliveryError

log = logging.getLogger("mailbot.outgoing")
SENT_LOOKBACK = 50  # the copy of a send cut short is among the newest messages of the Sent folder
RESOLVED_FROM_SENT = "interrupted while sending; its copy in the Sent folder shows it went out"


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    retry: list[tuple[int, str]] = field(default_factory=list)


def build(draft: Draft, config: Config, message_id: str) -> EmailMessage:
    envelope = Envelope(from_addr=config.outbox.from_, from_name=config.company.name, to=(draft.to_addr,),
                        cc=tuple(a for a in draft.cc_addrs.split(",") if a), reply_to=draft.reply_to,
                        headers={"Date": formatdate(localtime=False), "X-Mailbot-Draft": str(draft.id)})
    attachments = []
    if draft.attachment_path:
        attachments.append(Attachment(draft.attachment_name or "certificate", draft.attachment_type or
                                      "application/octet-stream", Path(draft.attachment_path).read_bytes()))
    return build_message(Rendered(draft.subject, draft.body_text, draft.body_html), envelope, attachments,
                         message_id=message_id)


def _guard_live(draft: Draft, config: Config) -> None:
    iicrc = {config.iicrc.renewals_address.lower(), config.iicrc.reinstatements_address.lower()}
    if not config.iicrc.live and draft.to_addr.lower() in iicrc:
        raise ProcessingError(f"draft #{draft.id} is addressed to IICRC but [iicrc] live is not true", permanent=True)


def recover_interrupted(session: Session) -> int:
    """Only the lock holder calls this, so any `sending` row belongs to a process that died mid-send."""
    stale = session.execute(update(Draft).where(Draft.state == "sending").values(
        state="interrupted", updated_at=utcnow(),
        error="mailbot stopped while sending; check the Sent folder, then `mailbot drafts resend ID` if it is not there"))
    return stale.rowcount


def _newest_message_ids(source, newest: int) -> set[str]:  # type: ignore[no-untyped-def]
    keys = source.folder_state().keys[-newest:]
    parser = BytesHeaderParser()
    return {str(parser.parsebytes(raw).get("Message-ID", "")).strip() for _, raw in source.fetch(keys)}


def resolve_from_sent_folder(engine, open_sent_folder) -> list[int]:  # type: ignore[no-untyped-def]
    """Interrupted drafts whose copy is in the Sent folder did go out (SentFolderCopy APPENDs only after the
    SMTP server accepted the message): mark them sent. The rest stay interrupted for the admin (the server
    may still have accepted one whose copy was never made). `open_sent_folder()` gives a mail source over
    the Sent folder. Never raises: on any failure nothing changes."""
    with session_scope(engine) as s:
        waiting = {d.smtp_message_id: d.id for d in s.exec(select(Draft).where(
            Draft.state == "interrupted", Draft.smtp_message_id.is_not(None))).all()}
    if not waiting:
        return []
    try:
        with open_sent_folder() as source:
            found = _newest_message_ids(source, SENT_LOOKBACK)
    except Exception as exc:  # noqa: BLE001 - unresolved drafts simply stay interrupted, listed for the admin
        log.warning("could not read the Sent folder to resolve interrupted sends: %r", str(exc))
        return []
    resolved = []
    with session_scope(engine) as s:
        for message_id in sorted(set(waiting) & found):
            won = s.execute(update(Draft).where(Draft.id == waiting[message_id], Draft.state == "interrupted")
                            .values(state="sent", sent_at=utcnow(), updated_at=utcnow(),
                                    error=RESOLVED_FROM_SENT))
            if won.rowcount == 1:
                audit.record(s, "mailbot", "draft.sent", "draft", waiting[message_id], message_id=message_id,
                             resolved_by="Sent folder copy")
                resolved.append(waiting[message_id])
    return resolved


def _send_one(engine, transport, config: Config, draft_id: int, report: SendReport) -> None:  # type: ignore[no-untyped-def]
    message_id = make_msgid(domain=config.outbox.from_.rpartition("@")[2] or "localhost")
    with durable_scope(engine) as s:  # on disk before the send: a claim lost to a power cut would resend
        if not draft_ops.claim_for_sending(s, draft_id):
            return
        draft = s.get(Draft, draft_id)
        draft.smtp_message_id = message_id  # known before we talk to the server: findable after a crash
        s.add(draft)
    try:
        _guard_live(draft, config)
        transport.send(build(draft, config, message_id))
    except DeliveryUnknown as exc:  # the server may have it: never resent blindly, a person checks
        with session_scope(engine) as s:
            s.execute(update(Draft).where(Draft.id == draft_id, Draft.state == "sending")
                      .values(state="interrupted", error=str(exc), updated_at=utcnow()))
            audit.record(s, "mailbot", "draft.interrupted", "draft", draft_id, error=str(exc))
        report.failed.append((draft_id, str(exc)))
        return
    except PartialDeliveryError as exc:  # it went out to some recipients: sent, never resent
        with session_scope(engine) as s:
            draft_ops.mark_sent(s, draft_id, exc.message_id)
            s.get(Draft, draft_id).error = f"some recipients refused: {exc}"
        report.sent.append(draft_id)
        return
    except (ProcessingError, OSError) as exc:
        permanent = getattr(exc, "permanent", True)
        with session_scope(engine) as s:
            draft_ops.mark_failed(s, draft_id, str(exc), permanent=permanent)
        (report.failed if permanent else report.retry).append((draft_id, str(exc)))
        return
    with session_scope(engine) as s:
        draft_ops.mark_sent(s, draft_id, message_id)
    report.sent.append(draft_id)


def send_approved(engine, transport, config: Config) -> SendReport:  # type: ignore[no-untyped-def]
    report = SendReport()
    with session_scope(engine) as s:
        ids = draft_ops.approved_ids(s)
    for draft_id in ids:
        _send_one(engine, transport, config, draft_id, report)
        if report.retry:  # the server is unwell: leave the rest approved for the next tick
            break
    return report
