"""From one raw email to ledger rows: decide what each certificate in it means, then record it all at once.

`analyse` reads and extracts (slow, no database); `decide` is a pure function of what was read and who
sent it; `record` writes every row the decision implies — credits, review items, drafts, the receipt — in
the caller's single transaction, so a crash leaves either all of it or none of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mailbot.domain import Document as Doc
from mailbot.domain import Extraction, MailFacts
from mailbot.extract import extract_document
from mailbot.inbox.identity import names_match
from mailbot.inbox.mime import read_message


@dataclass
class Analysis:
    facts: MailFacts
    found: list[tuple[Doc, list[Extraction]]]


def analyse(raw: bytes) -> Analysis:
    facts = read_message(raw)
    return Analysis(facts=facts, found=[(doc, extract_document(doc)) for doc in facts.documents])


@dataclass
class Accept:
    doc: Doc
    extraction: Extraction


@dataclass
class Review:
    kind: str  # unknown-sender | no-certificate | unreadable | extraction | name-mismatch
    reason: str
    doc: Doc | None = None
    extraction: Extraction | None = None

    @property
    def hours(self) -> Decimal | None:
        return self.extraction.hours if self.extraction else None


@dataclass
class Decision:
    """What to do with one message. `reply` is False for robots and strangers (no backscatter)."""

    state: str  # recorded | review | ignored
    reason: str
    accepted: list[Accept] = field(default_factory=list)
    review: list[Review] = field(default_factory=list)
    reply: bool = True


def decide(analysis: Analysis, tech_name: str | None) -> Decision:
    facts = analysis.facts
    if facts.robot_reason:
        return Decision("ignored", f"automatic mail: {facts.robot_reason}", reply=False)
    if tech_name is None:
        who = facts.from_addr or "no sender address"
        hint = (f"unknown sender {who}: if a technician uses it, add it (mailbot techs edit THEIR-EMAIL "
                f"--add-email {who}) and run `mailbot mail reprocess` on this message")
        return Decision("review", f"unknown sender: {who}", review=[Review("unknown-sender", hint)], reply=False)
    accepted, review = _sort_extractions(analysis, tech_name)
    if not accepted and not review:
        notes = "; ".join(facts.problems) or "no PDF or photo attached"
        review = [Review("no-certificate", f"no certificate found ({notes})")]
    state = "review" if review else "recorded"
    reason = "; ".join(r.reason for r in review) or f"{len(accepted)} certificate(s) read"
    return Decision(state, reason, accepted=accepted, review=review)


def _sort_extractions(analysis: Analysis, tech_name: str) -> tuple[list[Accept], list[Review]]:
    accepted: list[Accept] = []
    review: list[Review] = []
    for doc, extractions in analysis.found:
        label = doc.filename or doc.content_type
        for ext in extractions:
            if ext.error:
                review.append(Review("unreadable", f"{label}: {ext.error}", doc, ext))
            elif not ext.is_certificate:
                continue  # a logo, an invoice, a flyer: not a certificate, nothing to review
            elif ext.needs_review:
                why = ", ".join(ext.reasons) or "low confidence"
                review.append(Review("extraction", f"{label}: needs a look ({why})", doc, ext))
            elif not names_match(ext.person_name or "", tech_name).ok:
                review.append(Review("name-mismatch", f"{label}: name on certificate "
                                     f"{ext.person_name!r} does not match {tech_name!r}", doc, ext))
            else:
                accepted.append(Accept(doc, ext))
    return accepted, review


def first_name(name: str) -> str:
    parts = name.replace(",", " ").split()
    return parts[0] if parts else name


@dataclass(frozen=True)
class RecordedCredit:
    credit_id: int
    title: str
    completed_on: date
    hours: Decimal


@dataclass(frozen=True)
class DuplicateCredit:
    title: str
    completed_on: date
    recorded_on: date


@dataclass
class Recorded:
    """What `record` wrote, for the receipt and the pass report."""

    credits: list[RecordedCredit] = field(default_factory=list)
    duplicates: list[DuplicateCredit] = field(default_factory=list)
    review: list[Review] = field(default_factory=list)
    draft_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"recorded {c.title} ({c.hours} h, {c.completed_on})" for c in self.credits]
        parts += [f"already recorded on {d.recorded_on}: {d.title}" for d in self.duplicates]
        parts += [r.reason for r in self.review]
        return "; ".join(parts) or "nothing to record"

    @property
    def state(self) -> str:
        if self.review:
            return "review"
        return "recorded" if self.credits else ("duplicate" if self.duplicates else "recorded")
