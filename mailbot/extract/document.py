"""Pages → certificates: skip decoy pages (outlines, invoices), split several certificates, flag
several people, and say plainly why a document holds no certificate."""
from __future__ import annotations

from mailbot.domain import Extraction
from mailbot.extract.classify import NOT_CERTIFICATE_REASON, page_kind
from mailbot.extract.fields import read_fields
from mailbot.extract.layout import Page
from mailbot.extract.names import find_name

SEVERAL_PEOPLE = "several people on one document"


def _roster(page: Page) -> Extraction:
    found = read_fields(page)
    found.person_name = None  # the attendees' names are listed; each has a certificate page of their own
    found.reasons = ["a training record listing several people", *[r for r in found.reasons if "name" not in r]]
    return found


def _transcript(page: Page) -> Extraction:
    found = read_fields(page)
    name = find_name(page.lines)
    return Extraction(is_certificate=True, person_name=name.name if name else None, page=page.number,
                      ocr=page.ocr, needs_review=True, confidence=0.3,
                      reasons=["a transcript of several courses: enter each course by hand"],
                      provider=found.provider)


def _page_result(page: Page, kind: str) -> Extraction | None:
    if kind == "roster":
        return _roster(page)
    if kind == "transcript":
        return _transcript(page)
    found = read_fields(page)
    if found.person_name is None and found.course_title is None and found.completed_on is None:
        return None  # a continuation or back page, not a certificate of its own
    return found


def _unlabelled(page: Page) -> Extraction | None:
    """No certificate wording, but a name with a course or a date: a bare certificate, for review."""
    found = read_fields(page)
    if found.person_name is None or (found.course_title is None and found.completed_on is None):
        return None
    found.reasons.append("no certificate wording on the page")
    return found


def _dedupe(found: list[Extraction]) -> list[Extraction]:
    seen, unique = set(), []
    for item in found:
        key = (item.person_name, item.course_title, item.completed_on, item.hours)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _mark_several_people(found: list[Extraction]) -> None:
    names = {"".join(ch for ch in (f.person_name or "").lower() if ch.isalnum()) for f in found}
    rosters = any(f.person_name is None and f.reasons and f.reasons[0].startswith("a training record") for f in found)
    if len(names - {""}) > 1 or (rosters and len(found) > 1):
        for item in found:
            if SEVERAL_PEOPLE not in item.reasons:
                item.reasons.append(SEVERAL_PEOPLE)
            item.needs_review = True
            item.confidence = round(min(item.confidence, 0.6), 2)


def extract_pages(pages: list[Page]) -> list[Extraction]:
    kinds = [page_kind(page.text) for page in pages]
    found = []
    for page, kind in zip(pages, kinds):
        if kind in ("certificate", "roster", "transcript"):
            result = _page_result(page, kind)
            if result is not None:
                found.append(result)
        elif kind == "unknown":
            result = _unlabelled(page)
            if result is not None:
                found.append(result)
    found = _dedupe(found)
    if not found:
        return [_not_certificate(pages, kinds)]
    _mark_several_people(found)
    for item in found:
        item.needs_review = bool(item.reasons)
    return found


def _not_certificate(pages: list[Page], kinds: list[str]) -> Extraction:
    meaningful = [k for k in kinds if k not in ("empty", "unknown", "certificate")]
    kind = meaningful[0] if meaningful else ("empty" if all(k == "empty" for k in kinds) else "unknown")
    if kind == "unknown" and "certificate" in kinds:
        reason = "certificate wording but no name, course or date found"
    else:
        reason = NOT_CERTIFICATE_REASON[kind]
    return Extraction(is_certificate=False, needs_review=True, reasons=[reason], confidence=0.0,
                      ocr=any(p.ocr for p in pages))
