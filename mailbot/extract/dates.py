"""Dates printed on certificates, with what kind of date each one is (completion, issue, expiry …).

A range ("April 8-10, 2026", "July 26-28, 2022") counts as its last day. Numeric dates are read
month first (US certificates); when both orders are valid and nothing else confirms it, the hit
is marked ambiguous so the result goes to review.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MON = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
       r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"

# each pattern names day/mon/year; `day1` marks the first day of a range
PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)([-/.])(?P<mnum>\d{1,2})\2(?P<day>\d{1,2})\b"),
    re.compile(rf"\b{_MON}\s+(?P<day1>\d{{1,2}}){_ORD}\s*(?:-|–|—|to|through|thru)\s*(?P<day>\d{{1,2}}){_ORD},?\s+{_YEAR}",
               re.IGNORECASE),
    re.compile(rf"\b(?P<day1>\d{{1,2}}){_ORD}\s*(?:-|–|—|to)\s*(?P<day>\d{{1,2}}){_ORD}\s+{_MON},?\s+{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b{_MON}\s+(?P<day>\d{{1,2}}){_ORD},?\s+{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b(?P<day>\d{{1,2}}){_ORD}\s+(?:day\s+of\s+)?{_MON},?\s+{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b(?P<day>\d{{1,2}})-{_MON}-{_YEAR}", re.IGNORECASE),
    re.compile(r"(?<![\d/])(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<year>(?:19|20)\d\d)(?!\d)"),
]

COMPLETION = re.compile(r"complet|finished|date of (?:training|course|attendance)|attended on|passed", re.IGNORECASE)
ISSUE = re.compile(r"issued?|awarded|dated|printed|generated|signed", re.IGNORECASE)
EXPIRY = re.compile(r"expir|valid (?:until|through|thru)|renew|due|next|birth|dob\b", re.IGNORECASE)
START = re.compile(r"\bstart|began|enrol", re.IGNORECASE)
PLAIN_DATE_LABEL = re.compile(r"^\s*(?:date|training date|event date|class date)s?\s*:?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DateHit:
    value: date
    kind: str  # completion, issue, expiry, start, range, plain
    line: int
    ambiguous: bool = False


def _month(text: str) -> int:
    return MONTHS[text.lower().rstrip(".")[:4] if text.lower().startswith("sept") else text.lower()[:3]]


def _make(match: re.Match) -> tuple[date | None, bool]:
    groups = match.groupdict()
    try:
        year = int(groups["year"])
        if groups.get("a"):
            first, second = int(groups["a"]), int(groups["b"])
            ambiguous = first <= 12 and second <= 12 and first != second
            if first > 12:  # day first, as outside the US
                return date(year, second, first), False
            return date(year, first, second), ambiguous
        month = int(groups["mnum"]) if groups.get("mnum") else _month(groups["mon"])
        return date(year, month, int(groups["day"])), False
    except (ValueError, KeyError):
        return None, False


def _kind(context: str, label: str, is_range: bool) -> str:
    for text in (context, label):
        if EXPIRY.search(text):
            return "expiry"
        if COMPLETION.search(text):
            return "completion"
        if START.search(text):
            return "start"
        if ISSUE.search(text):
            return "issue"
    return "range" if is_range else "plain"


RANGE_JOIN = re.compile(r"^\s*(?:-|–|—|to|through|thru|until)\s*$", re.IGNORECASE)


def _join_ranges(found: list[tuple[int, int, DateHit]], text: str) -> list[DateHit]:
    """"March 2, 2026 - March 4, 2026": the first date starts the range, the second ends it."""
    found.sort(key=lambda item: item[0])
    hits = [hit for _, _, hit in found]
    for i in range(len(found) - 1):
        between = text[found[i][1]:found[i + 1][0]]
        if RANGE_JOIN.match(between):
            first, second = hits[i], hits[i + 1]
            hits[i] = DateHit(first.value, "start", first.line, first.ambiguous)
            if second.kind in ("plain", "issue"):
                hits[i + 1] = DateHit(second.value, "range", second.line, second.ambiguous)
    return hits


def dates_in_line(text: str, index: int, label: str = "") -> list[DateHit]:
    found: list[tuple[int, int, DateHit]] = []
    taken: list[tuple[int, int]] = []
    for pattern in PATTERNS:
        for match in pattern.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            value, ambiguous = _make(match)
            if value is None:
                continue
            taken.append((match.start(), match.end()))
            context = text[max(0, match.start() - 40):match.start()]
            kind = _kind(context, label, bool(match.groupdict().get("day1")))
            found.append((match.start(), match.end(), DateHit(value, kind, index, ambiguous)))
    return _join_ranges(found, text)


def find_dates(lines: list[str], labels: list[str] | None = None) -> list[DateHit]:
    """All dates on a page. A short label above a date ("DATE", "Completion Date") counts as its context:
    `labels[i]` is the label above line i (same column in a form), else the previous line is used."""
    hits = []
    for index, text in enumerate(lines):
        label = labels[index] if labels is not None else (lines[index - 1] if index else "")
        hits.extend(dates_in_line(text, index, label if len(label) < 40 else ""))
    return hits


YEAR_ONLY = re.compile(r"^\s*(?:19|20)\d\d\s*$")


def has_year_only(lines: list[str]) -> bool:
    return any(YEAR_ONLY.match(text) for text in lines)
