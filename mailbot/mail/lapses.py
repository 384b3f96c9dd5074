"""Lapse triage: for a technician whose cycle ended short, draft the right request for approval —
an invoice request to renewals@ under 24 months lapsed, a reinstatement request to reinstatements@ after."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.ledger import audit
from mailbot.ledger.balances import compute_for
from mailbot.ledger.models import Draft, Technician
from mailbot.ledger.techs import view
from mailbot.mail.approval_flow import request_approval
from mailbot.mail.compose import render
from mailbot.mail.drafting import submission_routing
from mailbot.rules import lapse_action

KINDS = {"invoice": "lapse-invoice", "reinstatement": "reinstatement"}


def _open_lapse_draft(session: Session, tech_id: int) -> Draft | None:
    return session.exec(select(Draft).where(Draft.tech_id == tech_id, Draft.kind.in_(KINDS.values()),
                                            Draft.state.not_in(("rejected", "failed")))).first()


def draft_lapse_requests(session: Session, app: App, as_of: date) -> list[Draft]:
    """One draft per lapsed active technician that has none yet. Returns the new drafts."""
    made = []
    for tech in session.exec(select(Technician).where(Technician.active == True)).all():
        balance = compute_for(session, app.rules, tech, as_of)
        action = lapse_action(balance, app.rules)
        if action is None or _open_lapse_draft(session, tech.id) is not None:
            continue
        made.append(_draft(session, app, tech, balance, action))
    return made


def _draft(session: Session, app: App, tech: Technician, balance, action) -> Draft:  # type: ignore[no-untyped-def]
    iicrc = app.config.iicrc
    real_to = iicrc.renewals_address if action.kind == "invoice" else iicrc.reinstatements_address
    routing = submission_routing(app.config)
    context = {"test_mode": routing.test_mode, "kind": action.kind, "months": action.months_lapsed,
               "company": {"name": app.config.company.name, "address": app.config.company_address},
               "tech": {"name": tech.name, "iicrc_id": tech.iicrc_id},
               "lapsed_since": balance.lapsed_since.isoformat() if balance.lapsed_since else "unknown",
               "earned": balance.earned, "required": balance.required}
    rendered = render(app.templates, "lapse_request", context)
    draft = Draft(tech_id=tech.id, kind=KINDS[action.kind], to_addr=real_to if iicrc.live else routing.to,
                  cc_addrs=view(session, tech).email, reply_to=app.config.company_address,
                  subject=rendered.subject, body_text=rendered.text, body_html=rendered.html)
    session.add(draft)
    session.flush()
    audit.record(session, "mailbot", "draft.create", "draft", draft.id, kind=draft.kind,
                 months_lapsed=action.months_lapsed)
    request_approval(session, app, draft)
    return draft
