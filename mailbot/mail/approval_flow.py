"""Approval requests to admins, and their replies. The checks themselves are pure (mail/approvals.py);
this module reads and writes the rows: it sends a request with a fresh single-use nonce, and applies a
verified reply — or records the refusal without changing anything."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from email import policy
from email.parser import BytesHeaderParser

from sqlmodel import Session

from mailbot.app import App
from mailbot.domain import MailFacts
from mailbot.ledger import audit
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.models import Draft
from mailbot.mail import notices
from mailbot.mail.approvals import find_tag, make_tag, parse_command, verify_reply
from mailbot.mail.compose import render

log = logging.getLogger("mailbot.approvals")


def email_approvals_enabled(app: App) -> bool:
    return app.config.approvals.email and bool(app.config.approvals.secret) and bool(app.config.company.admins)


def request_approval(session: Session, app: App, draft: Draft) -> None:
    """Queue one approval request per admin, carrying a token bound to this draft and a fresh nonce."""
    if not email_approvals_enabled(app):
        return
    draft.approval_nonce = secrets.token_urlsafe(16)
    session.add(draft)
    expires = app.clock() + timedelta(days=app.config.approvals.token_days)
    tag = make_tag(app.config.approvals.secret, draft.id, draft.approval_nonce, expires)
    context = {"tag": tag, "expires": expires.strftime("%Y-%m-%d %H:%M UTC"), "company": {"name": app.config.company.name},
               "draft": {"id": draft.id, "to": draft.to_addr, "cc": draft.cc_addrs, "reply_to": draft.reply_to or "",
                         "subject": draft.subject, "attachment": draft.attachment_name, "body_text": draft.body_text}}
    rendered = render(app.templates, "approval_request", context)
    for admin in app.config.company.admins:
        notices.queue(session, recipient=admin, kind="approval-request",
                      period=f"draft{draft.id}-{draft.approval_nonce[:8]}", rendered=rendered)


def is_approval_reply(app: App, facts: MailFacts) -> bool:
    """A reply to an approval request, or an admin's message that reads like one (it is then refused,
    loudly, for lacking the token, instead of passing silently as an unknown sender)."""
    if find_tag(facts.subject) is not None:
        return True
    admins = {a.lower() for a in app.config.company.admins}
    return (facts.from_addr or "") in admins and parse_command(facts.body_text) is not None


def _nonce_of(session: Session):  # type: ignore[no-untyped-def]
    def nonce(draft_id: int) -> str | None:
        draft = session.get(Draft, draft_id)
        return draft.approval_nonce if draft is not None and draft.state == "drafted" else None
    return nonce


def handle_reply(session: Session, app: App, facts: MailFacts, raw: bytes) -> tuple[str, str]:
    """Apply a verified APPROVE/REJECT reply. Returns (message state, reason); refusals change nothing."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    verdict = verify_reply(secret=app.config.approvals.secret, admins=app.config.company.admins,
                           sender=facts.from_addr, subject=facts.subject, body=facts.body_text,
                           auth_results=[str(h) for h in headers.get_all("Authentication-Results", [])],
                           nonce_of=_nonce_of(session), now=app.clock())
    if not email_approvals_enabled(app) or not verdict.ok:
        reason = verdict.reason if email_approvals_enabled(app) else "email approvals are not enabled"
        log.warning("approval refused draft=%s sender=%s reason=%r", verdict.draft_id, facts.from_addr, reason)
        audit.record(session, f"email:{facts.from_addr}", "approval.refused", "draft", verdict.draft_id, reason=reason)
        return "review", f"approval reply refused: {reason}"
    draft = session.get(Draft, verdict.draft_id)
    draft.approval_nonce = None  # single use
    session.add(draft)
    actor = f"email:{facts.from_addr}"
    if verdict.command.action == "approve":
        draft_ops.approve(session, draft.id, actor=actor)
    else:
        draft_ops.reject(session, draft.id, reason=verdict.command.reason, actor=actor)
    return "handled", f"draft #{draft.id} {verdict.command.action}d by {facts.from_addr}"
