"""Render a submission to IICRC into a Draft row: exactly what the admin will approve and IICRC receive."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from sqlmodel import Session

from mailbot.config import Config
from mailbot.ledger import audit
from mailbot.ledger.models import Credit, Document, Draft, Technician
from mailbot.mail.compose import render


@dataclass(frozen=True)
class Routing:
    to: str
    test_mode: bool


def submission_routing(config: Config) -> Routing:
    """Fail-closed: unless [iicrc] live = true, submissions go to the test address (or first admin)."""
    if config.iicrc.live:
        return Routing(config.iicrc.renewals_address, False)
    return Routing(config.iicrc.test_address or config.company.admins[0], True)


def submission_context(config: Config, tech: Technician, credit: Credit, *, test_mode: bool) -> dict[str, Any]:
    return {
        "test_mode": test_mode,
        "company": {"name": config.company.name, "address": config.company_address},
        "tech": {"name": tech.name, "iicrc_id": tech.iicrc_id},
        "credit": {"title": credit.course_title, "provider": credit.provider,
                   "approval_number": credit.approval_number, "completed_on": credit.completed_on.isoformat(),
                   "hours": credit.hours},
    }


def draft_submission(session: Session, env: Environment, config: Config, tech: Technician, credit: Credit,
                     document: Document | None, tech_email: str) -> Draft:
    routing = submission_routing(config)
    rendered = render(env, "submission", submission_context(config, tech, credit, test_mode=routing.test_mode))
    draft = Draft(tech_id=tech.id, credit_id=credit.id, kind="submission", to_addr=routing.to,
                  cc_addrs=tech_email, reply_to=config.company_address, subject=rendered.subject,
                  body_text=rendered.text, body_html=rendered.html)
    if document is not None:
        draft.attachment_path = document.stored_path
        draft.attachment_name = document.filename or f"certificate-{credit.id}{_ext(document.content_type)}"
        draft.attachment_type = document.content_type
    session.add(draft)
    session.flush()
    audit.record(session, "mailbot", "draft.create", "draft", draft.id, credit_id=credit.id, to=routing.to)
    return draft


def _ext(content_type: str) -> str:
    return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(content_type, "")


def rerender_submission(session: Session, env: Environment, config: Config, draft: Draft, tech: Technician,
                        credit: Credit) -> None:
    """After an edit: the draft shows the corrected facts (same recipients and test-mode routing)."""
    test_mode = draft.subject.startswith("[TEST")
    rendered = render(env, "submission", submission_context(config, tech, credit, test_mode=test_mode))
    draft.subject, draft.body_text, draft.body_html = rendered.subject, rendered.text, rendered.html
    session.add(draft)
