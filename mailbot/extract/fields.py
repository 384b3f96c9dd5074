"""One certificate page (lines of text) → an Extraction whose every doubt is written in `reasons`."""
from __future__ import annotations

import re
from datetime import date

from mailbot.domain import Extraction
from mailbot.extract.dates import DateHit, find_dates, has_year_only
from mailbot.extract.hours import choose_hours, find_hours
from mailbot.extract.layout import Line, Page, label_above
from mailbot.extract.names import distinct_people, find_name
from mailbot.extract.titles import CODE_LINE, find_title

PROVIDER = re.compile(r"(?i:(?:training provider|approved provider|provider|sponsor)\s*:|"
                      r"(?:presented|sponsored|offered|conducted|hosted|issued|provided) by)\s*"
                      r"(?P<rest>[A-Z0-9][^|#\n]{1,80})")
APPROVAL = re.compile(r"(?:IICRC\s+)?(?:(?:course|approval|activity|class|program|event)\s*(?:#|no\.?|number|code|id)"
                      r"|(?:course\s+)?approval)\s*:?\s*(?P<code>[A-Z0-9][A-Za-z0-9\-\.]{2,24})", re.IGNORECASE)
CATEGORIES = [  # first match wins; IICRC course codes and the words in their titles
    ("mold", re.compile(r"\b(?:AMRT|mold|mould|microbial)\b", re.IGNORECASE)),
    ("fire", re.compile(r"\b(?:FSRT|OCT|fire|smoke|odou?r)\b", re.IGNORECASE)),
    ("water", re.compile(r"\b(?:WRT|ASD|CDS|water|drying|dehumidif\w*|moisture|flood)\b", re.IGNORECASE)),
    ("cleaning", re.compile(r"\b(?:CCT|UFT|RCT|HST|carpet|upholstery|rug|cleaning|stone|tile)\b", re.IGNORECASE)),
]
ORGANISATION = re.compile(r"\b(?:institute|academy|school|association|university|college|inc\.?|llc|ltd|"
                          r"products|training|learning|agency|council|corporation|company)\b", re.IGNORECASE)
NOT_CE = re.compile(r"volunteer|community service", re.IGNORECASE)
OCR_PENALTY = 0.85


def pick_date(hits: list[DateHit]) -> tuple[date | None, list[str]]:
    """Completion beats a range's last day beats an undescribed date beats the issue date."""
    for kind in ("completion", "range", "plain", "issue"):
        chosen = [hit for hit in hits if hit.kind == kind]
        values = sorted({hit.value for hit in chosen})
        if not values:
            continue
        if len(values) > 1:
            listed = ", ".join(v.isoformat() for v in values)
            return None, [f"several possible completion dates ({listed})"]
        if all(hit.ambiguous for hit in chosen) and not any(not h.ambiguous and h.value == values[0] for h in hits):
            return values[0], ["numeric date could be month/day or day/month"]
        return values[0], []
    return None, []


def find_provider(lines: list[Line]) -> str | None:
    for line in lines:
        match = PROVIDER.search(line.text)
        if match:
            value = re.split(r"\s+(?:on|at|in|for)\s+|[,;(]", match.group("rest"))[0].strip(" .:")
            if len(value) >= 3 and not value.lower().startswith(("logo", "id")):
                return value
    return None


def find_category(title: str | None) -> str | None:
    for category, pattern in CATEGORIES:
        if title and pattern.search(title):
            return category
    return None


def find_provider_heading(lines: list[Line], taken: set[str]) -> str | None:
    """No "provided by" label: an organisation's name among the first lines (the letterhead)."""
    for line in lines[:3]:
        text = line.text.strip()
        if ORGANISATION.search(text) and text not in taken and len(text) < 70 and ":" not in text:
            return text
    return None


def find_approval(lines: list[Line]) -> str | None:
    for line in lines:
        match = APPROVAL.search(line.text)
        if match and any(ch.isdigit() for ch in match.group("code")):
            return match.group("code").rstrip(".")
    for line in lines:
        if CODE_LINE.match(line.text.strip()):
            return re.sub(r"^1(?=[A-Z])", "I", line.text.strip())  # OCR reads a leading I as 1
    return None


def _date_reasons(texts: list[str], completed_on, date_reasons: list[str]) -> list[str]:
    if completed_on is not None:
        return date_reasons
    if has_year_only(texts):
        return date_reasons + ["year only, no completion date"]
    return date_reasons + ["no completion date found"]


OCR_SURE = 70.0  # tesseract word confidence below which an OCR'd field is not trusted alone


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _unsure_words(line: Line, wanted) -> bool:
    return any(conf < OCR_SURE for word, conf in line.words if wanted(word))


def ocr_doubts(lines: list[Line], name: str | None, name_line: int | None, title: str | None,
               value_lines: list[int]) -> list[str]:
    """Fields read from OCR words tesseract was unsure of: a misread name or number must not pass silently."""
    doubts = []
    if name and name_line is not None and _unsure_words(lines[name_line], lambda w: _squash(w) in _squash(name)):
        doubts.append("OCR is unsure of the name")
    squashed = _squash(title or "")
    if title and any(_unsure_words(line, lambda w: len(_squash(w)) > 1 and _squash(w) in squashed) for line in lines
                     if _squash(line.text) and _squash(line.text) in squashed):
        doubts.append("OCR is unsure of the course title")
    if any(_unsure_words(lines[index], lambda w: any(ch.isdigit() for ch in w)) for index in value_lines):
        doubts.append("OCR is unsure of the hours or the date")
    return doubts


def read_fields(page: Page) -> Extraction:
    lines = page.lines
    texts = [line.text for line in lines]
    reasons: list[str] = []
    name = find_name(lines)
    if name is None:
        reasons.append("no name found")
    elif not name.cued:
        reasons.append("name found by layout only")
    elif distinct_people(lines) > 1:
        reasons.append("several people named on one page")
    title, title_sure = find_title(lines, name.line if name else None)
    if not title:
        reasons.append("no course title found")
    elif not title_sure:
        reasons.append("course title found by layout only")
    labels = [label_above(lines, i) for i in range(len(lines))]
    hour_hits = find_hours(texts, labels)
    hours = choose_hours(hour_hits)
    reasons.extend(hours.reasons)
    date_hits = find_dates(texts, labels)
    completed_on, date_reasons = pick_date(date_hits)
    reasons.extend(_date_reasons(texts, completed_on, date_reasons))
    if page.ocr:
        used = [h.line for h in hour_hits if h.hours == hours.hours] + [d.line for d in date_hits if d.value == completed_on]
        reasons.extend(ocr_doubts(lines, name.name if name else None, name.line if name else None, title, used))
    if NOT_CE.search(page.text):
        reasons.append("community or volunteer service, not continuing education")
    return Extraction(
        is_certificate=True, person_name=name.name if name else None, course_title=title, hours=hours.hours,
        completed_on=completed_on, approval_number=find_approval(lines), category=find_category(title),
        provider=find_provider(lines) or find_provider_heading(lines, {title or "", name.name if name else ""}),
        reasons=reasons, needs_review=bool(reasons), page=page.number, ocr=page.ocr, former_unit=hours.former_unit,
        confidence=_confidence(reasons, page.ocr),
    )


def _confidence(reasons: list[str], ocr: bool) -> float:
    score = 0.97 * (0.8 ** len(reasons))
    return round(score * (OCR_PENALTY if ocr else 1.0), 2)
