"""Credit hours: which number on the page is the credit, in which unit, and how sure we are.

Only numbers tied to a credit unit or label count; everything else on a certificate (course #,
certificate ID, score, module counts, class size, prices) is a decoy and never matched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

NUM = r"(?P<num>\d{1,3}(?:\.\d{1,2})?)(?![\d:/])"  # not "8:00" (a time) nor "24/7"
WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "sixteen": 16, "twenty": 20, "half": Decimal("0.5"),
}


@dataclass(frozen=True)
class HoursHit:
    hours: Decimal  # clock hours
    unit: str  # cec, hour, ceu, pdu, cpe50, credit, duration, former
    line: int
    review: str | None = None  # why this figure alone needs a human
    total: bool = False


# (unit, pattern); the first pattern that claims a span wins, so specific ones come first
_I = re.IGNORECASE
_CREDIT_LABELS = (r"CEC(?:'|’)?s?|CEC hours|CE hours|credit hours|contact hours|clock hours|training hours|"
                  r"PDUs?(?:\s*/\s*contact\s*hours)?|recertification credits|hours completed|hours earned|"
                  r"total hours|hours|(?:continuing education |CE )?credits?(?: earned| awarded)?")
PATTERNS: list[tuple[str, re.Pattern]] = [
    ("former", re.compile(rf"{NUM}\s*CECs?\s*\(\s*(?P<num2>\d{{1,3}}(?:\.\d{{1,2}})?)\s*(?:clock\s*)?"
                          r"(?:hours?|hrs?)\s*\)", _I)),
    ("range", re.compile(r"(?P<num>\d{1,2}(?:\.\d{1,2})?)\s*(?:-|–|to)\s*(?P<num2>\d{1,2}(?:\.\d{1,2})?)\s*"
                         r"(?:h|hrs?|hours?)\b", _I)),
    ("duration", re.compile(r"(?P<num>\d{1,2})\s*(?:hours?|hrs?|h)\s*(?:and\s*)?(?P<min>\d{1,2})\s*"
                            r"(?:min(?:ute)?s?|m)\b", _I)),
    ("minutes", re.compile(r"(?P<num>\d{2,3})\s*min(?:ute)?s\b", _I)),
    ("days", re.compile(r"(?P<num>\d{1,2})\s*days?\b", _I)),
    # OCR reads IACET as LACET or 1ACET: accept any short capitalised word before CEU
    ("ceu", re.compile(rf"{NUM}\s*(?:[A-Z1]{{3,6}}\s*)?(?:CEUs?|continuing education units?)\b", _I)),
    ("ceu", re.compile(rf"\bCEUs?\s*(?:awarded|earned|credits?)?\s*[:=]?\s*{NUM}(?!\s*(?:hours?|hrs?))", _I)),
    ("cpe", re.compile(rf"\bCPE\)?\s*(?:credits?)?\s*[:=]\s*{NUM}", _I)),
    ("cpe", re.compile(rf"{NUM}\s*CPE\s*credits?", _I)),
    ("hour", re.compile(rf"{NUM}\s*\)?\s*(?:CEC(?:'|’)?s?|(?:continuing education|CE|IICRC) credits?)"
                        rf"(?:\s*hours?)?\b", _I)),
    ("hour", re.compile(rf"\b(?:{_CREDIT_LABELS})\s*(?:\([^)]{{1,12}}\))?\s*(?:awarded|earned)?\s*[:=]\s*{NUM}\b",
                        _I)),
    ("hour", re.compile(rf"{NUM}\s*\)?\s*(?:clock\s+|contact\s+|credit\s+|CE\s+|training\s+)?(?:hours?|hrs?)\b",
                        _I)),
    ("hour", re.compile(rf"{NUM}\s*(?:PDUs?|contact hours)\b", _I)),
]
WORD_NUMBER = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|sixteen|twenty)"
                         r"\s*\(\s*(\d{1,2})\s*\)", _I)
# "Seven hours", "fourteen CECs": a spelled-out number right before a credit unit
BARE_WORD_NUMBER = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|sixteen|"
                              r"twenty)(?=\s+(?:clock\s+|contact\s+|CE\s+|credit\s+)?(?:hours?|CECs?)\b)", _I)
FIFTY_MINUTE = re.compile(r"50[- ]minute", _I)
TOTAL = re.compile(r"\btotal\b", _I)
NOT_CREDIT = re.compile(r"\b(?:per day|a day|per week|hours of operation|open|expires? in|within)\b", _I)


def _dec(text: str) -> Decimal:
    return Decimal(text)


def _clock(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _hit(unit: str, match: re.Match, index: int, fifty_minute: bool) -> HoursHit | None:
    num = _dec(match.group("num"))
    if unit == "former":
        return HoursHit(_clock(_dec(match.group("num2"))), "former", index, "printed in the former unit (1 CEC = 7 hours)")
    if unit == "range":
        return HoursHit(Decimal(0), "range", index, "hours are a range, not a stated credit")
    if unit == "duration":
        minutes = Decimal(int(match.group("min"))) / 60
        return HoursHit(_clock(num + minutes), "duration", index, "a course duration, not a stated credit")
    if unit == "minutes":
        return HoursHit(_clock(num / 60), "duration", index, "a course duration, not a stated credit")
    if unit == "days":
        return HoursHit(Decimal(0), "days", index, "duration in days, not hours")
    if unit == "ceu":
        return HoursHit(_clock(num * 10), "ceu", index)
    if unit == "cpe":
        if fifty_minute:
            return HoursHit(_clock(num * 50 / 60), "cpe50", index, "CPE credits on a 50-minute hour")
        return HoursHit(_clock(num), "cpe", index, "CPE credits: check the length of a credit hour")
    if num == 0 or num > 200:
        return None
    return HoursHit(_clock(num), "hour", index)


def hours_in_line(text: str, index: int, fifty_minute: bool = False) -> list[HoursHit]:
    text = WORD_NUMBER.sub(lambda m: m.group(2), text)  # "Seven (7) hours" → "7 hours"
    text = BARE_WORD_NUMBER.sub(lambda m: str(WORDS[m.group(1).lower()]), text)
    hits: list[HoursHit] = []
    taken: list[tuple[int, int]] = []
    for unit, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            taken.append((match.start(), match.end()))
            after = text[match.end():match.end() + 20]
            if unit == "hour" and NOT_CREDIT.match(after.strip()):
                continue
            hit = _hit(unit, match, index, fifty_minute)
            if hit is not None:
                before = text[max(0, match.start() - 25):match.start()]
                hits.append(HoursHit(hit.hours, hit.unit, hit.line, hit.review, bool(TOTAL.search(before + match.group(0)))))
    return hits


HOURS_LABEL_ALONE = re.compile(r"^(?:CEC hours|CEC(?:'|’)?s|CE hours|credit hours|contact hours|clock hours|hours|"
                               r"credits|CE credits|total hours|total CECs|CECs earned|hours earned)\s*:?\s*$", _I)
BARE_NUMBER = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,2})?)\s*$")


def find_hours(lines: list[str], labels: list[str] | None = None) -> list[HoursHit]:
    """Credit figures on a page; `labels[i]` is the form label above line i ("CEC HOURS" over "14")."""
    fifty_minute = any(FIFTY_MINUTE.search(text) for text in lines)
    hits = []
    for index, text in enumerate(lines):
        hits.extend(hours_in_line(text, index, fifty_minute))
        bare = BARE_NUMBER.match(text)
        if bare and labels and HOURS_LABEL_ALONE.match(labels[index]) and 0 < Decimal(bare.group(1)) <= 200:
            hits.append(HoursHit(_clock(Decimal(bare.group(1))), "hour", index,
                                 total=bool(TOTAL.search(labels[index]))))
    return hits


@dataclass(frozen=True)
class HoursChoice:
    hours: Decimal | None
    reasons: tuple[str, ...]
    former_unit: bool = False


def choose_hours(hits: list[HoursHit]) -> HoursChoice:
    """One figure for the certificate, or None and a reason; disagreeing figures go to review."""
    if not hits:
        return HoursChoice(None, ("no hours found",))
    totals = [hit for hit in hits if hit.total]
    pool = totals or hits
    credits = [hit for hit in pool if hit.unit not in ("range", "days", "duration")]
    if not credits:
        hit = pool[0]
        value = hit.hours if hit.unit == "duration" else None
        return HoursChoice(value, (hit.review or "no stated credit hours",))
    values = {hit.hours for hit in credits}
    if len(values) > 1:
        listed = ", ".join(str(v.normalize()) for v in sorted(values))
        return HoursChoice(max(values) if totals else None, (f"several different hour figures ({listed})",))
    hit = credits[0]
    reasons = tuple(dict.fromkeys(h.review for h in credits if h.review))
    # "Total CECs to date: 28" beside "This course: 7 CECs": a total is not always this course's credit
    others = {h.hours for h in hits if not h.total and h.unit not in ("range", "days", "duration")} - {hit.hours}
    if totals and others:
        listed = ", ".join(str(v.normalize()) for v in sorted(others))
        reasons += (f"a total differs from other hour figures ({listed})",)
    return HoursChoice(hit.hours, reasons, former_unit=any(h.unit == "former" for h in credits))
