"""Replies to a sent submission (In-Reply-To/References match its Message-ID): acknowledged, never mistaken
for a new certificate; a reply that reads like a problem goes to the admin's review queue."""
from __future__ import annotations

import re

from sqlmodel import Session, select

from mailbot.domain import MailFacts
from mailbot.ledger import audit
from mailbot.ledger.models import Draft, InboundMessage, ReviewItem, utcnow

PROBLEM = re.compile(r"\b(unable|cannot|can't|could not|not (?:been )?approved|missing|rejected|denied|invalid|"
                     r"expired|lapsed|incomplete|not accepted|additional information|please (?:resend|provide))\b",
                     re.IGNORECASE)


def sent_submission_for(session: Session, facts: MailFacts) -> Draft | None:
    ids = [i for i in (facts.in_reply_to, *facts.references) if i]
    if not ids:
        return None
    return session.exec(select(Draft).where(Draft.smtp_message_id.in_(ids), Draft.state == "sent")).first()


def handle_iicrc_reply(session: Session, row: InboundMessage, draft: Draft, facts: MailFacts) -> tuple[str, str]:
    if draft.acknowledged_at is None:
        draft.acknowledged_at = utcnow()
        session.add(draft)
    audit.record(session, facts.from_addr or "unknown", "submission.reply", "draft", draft.id,
                 subject=facts.subject[:200])
    if PROBLEM.search(facts.body_text or "") or PROBLEM.search(facts.subject or ""):
        session.add(ReviewItem(message_row_id=row.id, tech_id=draft.tech_id, kind="iicrc-reply",
                               reason=f"IICRC replied to submission #{draft.id} and it may need action: "
                                      f"{facts.subject[:120]}"))
        return "review", f"reply to submission #{draft.id} that may need action"
    return "handled", f"reply to submission #{draft.id}: acknowledged"
