"""Write what a Decision implies, inside the caller's transaction: evidence rows, credits, review items,
drafts and the receipt. Duplicates (same file, or same technician + course + date) become "already
recorded on DATE" instead of a second credit."""
from __future__ import annotations

import json
from dataclasses import asdict

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.domain import Document as Doc
from mailbot.domain import Extraction
from mailbot.intake import Analysis, Decision, DuplicateCredit, Recorded, RecordedCredit, Review
from mailbot.ledger import credits as credit_ops
from mailbot.ledger.models import Credit, Document, InboundMessage, ReviewItem, Technician, to_centi
from mailbot.ledger.techs import view
from mailbot.mail.approval_flow import request_approval
from mailbot.mail.drafting import draft_submission
from mailbot.mail.receipts import queue_receipt


def store_document(session: Session, app: App, row: InboundMessage, doc: Doc,
                   extraction: Extraction | None) -> Document:
    path = app.evidence.put(doc.data, doc.content_type)
    stored = Document(message_row_id=row.id, filename=doc.filename, content_type=doc.content_type,
                      sha256=doc.sha256, stored_path=str(path),
                      extraction_json=json.dumps(asdict(extraction), default=str) if extraction else None)
    session.add(stored)
    session.flush()
    return stored


def _credit_for_file(session: Session, tech_id: int, sha256: str) -> Credit | None:
    """A standing credit of this technician that came from a file with the same bytes."""
    query = (select(Credit).join(Document, Credit.document_id == Document.id)
             .where(Document.sha256 == sha256, Credit.tech_id == tech_id, Credit.state == "recorded"))
    return session.exec(query).first()


def _record_accepted(session: Session, app: App, row: InboundMessage, tech: Technician, doc: Doc,
                     ext: Extraction, out: Recorded) -> None:
    existing = _credit_for_file(session, tech.id, doc.sha256) or \
        credit_ops.find_duplicate(session, tech.id, ext.course_title or "", ext.completed_on)
    if existing is not None:
        out.duplicates.append(DuplicateCredit(existing.course_title, existing.completed_on,
                                              existing.created_at.date()))
        return
    stored = store_document(session, app, row, doc, ext)
    credit = credit_ops.add_credit(
        session, tech, title=ext.course_title, hours=ext.hours, completed_on=ext.completed_on,
        actor="mailbot", kind="class", provider=ext.provider, approval_number=ext.approval_number,
        category=ext.category, document_id=stored.id, message_row_id=row.id)
    draft = draft_submission(session, app.templates, app.config, tech, credit, stored, view(session, tech).email)
    request_approval(session, app, draft)
    out.credits.append(RecordedCredit(credit.id, credit.course_title, credit.completed_on, credit.hours))
    out.draft_ids.append(draft.id)


def _record_review(session: Session, app: App, row: InboundMessage, tech: Technician | None, item: Review,
                   out: Recorded) -> None:
    stored = store_document(session, app, row, item.doc, item.extraction) if item.doc else None
    hours = to_centi(item.hours) if item.hours is not None else None
    session.add(ReviewItem(message_row_id=row.id, document_id=stored.id if stored else None,
                           tech_id=tech.id if tech else None, kind=item.kind, reason=item.reason,
                           hours_centi=hours))
    out.review.append(item)


def record(session: Session, app: App, row: InboundMessage, analysis: Analysis, decision: Decision,
           tech: Technician | None) -> Recorded:
    out = Recorded()
    if tech is not None:
        for accept in decision.accepted:
            _record_accepted(session, app, row, tech, accept.doc, accept.extraction, out)
    for item in decision.review:
        _record_review(session, app, row, tech, item, out)
    if decision.reply and tech is not None and analysis.facts.from_addr:
        queue_receipt(session, app, row, tech, analysis.facts, out)
    return out
