"""The person's name: after a cue ("certify that", "presented to", "Name:") or, failing that, the
biggest line that looks like a person's name (which alone is not trusted without review)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailbot.extract.layout import Line, before_next_label, value_below

CUE_SAME_LINE = re.compile(
    r"(?:congratulations,?|course completed by|completed by|(?:learner|participant|attendee|student|"
    r"technician|candidate|trainee)(?:'s)?\s*name\s*:|^name\s*:|^participant\s*:|^attendee\s*:|^learner\s*:|"
    r"^student\s*:|^(?:technician|employee|recipient|trainee|candidate)\s*:|^issued to\s*:?|certif(?:y|ies) that:?|presented to:?|awarded to:?|granted to:?)\s*(?P<rest>.*)$",
    re.IGNORECASE)
CUE_NEXT_LINE = re.compile(
    r"(?:certif(?:y|ies)(?: that)?|presented to|awarded to|granted to|acknowledge that|recogni[sz]es|"
    r"is hereby|proudly|this is to|recognizes that|name|"
    r"(?:client|participant|attendee|learner|student|employee|recipient|trainee)(?:[- ]\w+)?\s*:)\s*:?\s*$", re.IGNORECASE)
NAME_LABEL_ALONE = re.compile(r"^(?:participant|attendee|student|learner|technician|recipient|trainee|employee|"
                              r"name|full name)(?:'s)?(?:\s+name)?\s*:?\s*$", re.IGNORECASE)
NEXT_LINE_EXCLAMATION = re.compile(r"^\s*congratulations\s*[!.]?\s*$", re.IGNORECASE)
HONORIFIC = re.compile(r"^(?:mr|mrs|ms|miss|dr|prof)\.?\s*", re.IGNORECASE)
SUFFIX_STOP = re.compile(r"\s+(?:has|have|who|for|on|in recognition|successfully|completed|attended)\b.*$", re.IGNORECASE)
NOT_NAME_WORDS = {
    "certificate", "completion", "course", "training", "program", "institute", "university", "school",
    "management", "of", "the", "and", "for", "to", "in", "on", "with", "at", "by", "a", "an", "is", "has",
    "achievement", "attendance", "participation", "award", "congratulations", "date", "hours", "credit",
    "learning", "foundations", "strategy", "director", "instructor", "manager", "professor", "associate",
    "signature", "record", "transcript", "technician", "inc", "llc", "ltd", "company", "services", "iicrc",
    "restoration", "water", "fire", "mold", "damage", "cleaning", "academy", "association", "council",
    "development", "professional", "continuing", "education", "presented", "certify", "this", "that",
    "agency", "federal", "emergency", "center", "department", "online", "seminar", "conference", "expo",
    "booth", "visit", "invoice", "total", "page", "science", "computer", "principles", "best", "practices",
    "partners", "group", "solutions", "enterprises", "corp", "co", "systems", "technologies", "pros", "industries",
    "contractors", "construction", "builders", "roofing", "plumbing", "cleaners", "carpet", "environmental",
    "international", "global", "holdings", "associates", "team", "staff", "branch", "office",
}
_UPPER = "[A-ZÀ-ÖØ-Þ]"
_LETTER = r"(?:[^\W\d_]|['’\-])"
NAME_TOKEN = re.compile(rf"^(?:{_UPPER}\.?|{_UPPER}{_LETTER}+\.?|(?:{_UPPER}\.){{1,3}}{_UPPER}{_LETTER}+|"
                        r"(?:de|van|von|der|la|le|da|di|del|bin|al))$")


@dataclass(frozen=True)
class NameFound:
    name: str
    line: int
    cued: bool


def clean_name(text: str) -> str:
    text = HONORIFIC.sub("", text.strip(" :,-–|_~•*©®™°`"))  # OCR leaves rules and specks at the edges
    text = SUFFIX_STOP.sub("", text)
    text = re.sub(r",\s*(?:jr|sr|ii|iii)\.?$", lambda m: m.group(0), text, flags=re.IGNORECASE)
    return " ".join(text.split()).strip(" ,:;")


def looks_like_name(text: str) -> bool:
    tokens = text.replace(",", " ").split()
    if not 1 < len(tokens) <= 5 or any(ch.isdigit() for ch in text) or len(text) > 60:
        return False
    if any(len(token) > 1 and token.lower() in NOT_NAME_WORDS for token in tokens):
        return False
    # "T.RAMASUBRAMANIAN" is one token holding an initial and a surname
    return all(NAME_TOKEN.match(token) for token in tokens) and sum(len(t.strip(".")) > 1 for t in tokens) >= 1


def looks_like_name_loose(text: str) -> bool:
    """Also accept one initial glued to a surname ("T.SMITH") as printed on some certificates."""
    return looks_like_name(text) or looks_like_name(re.sub(r"^([A-Z])\.(?=[A-Z])", r"\1. ", text))


def cued_names(lines: list[Line]) -> Iterator[NameFound]:
    """Every name introduced by a cue, on the cue's line or on one of the two lines below it."""
    for index, line in enumerate(lines):
        match = CUE_SAME_LINE.search(line.text)
        rest = clean_name(before_next_label(match.group("rest"))) if match else ""
        if rest and looks_like_name_loose(rest):
            yield NameFound(rest, index, True)
            continue
        if NAME_LABEL_ALONE.match(line.text):
            # a form or table: "PARTICIPANT" over the name, and over further names if it is a list
            below, found_any = value_below(lines, index), False
            while below is not None and looks_like_name_loose(clean_name(lines[below].text)):
                yield NameFound(clean_name(lines[below].text), below, True)
                below, found_any = value_below(lines, below), True
            if found_any:
                continue
        if (match and not rest) or CUE_NEXT_LINE.search(line.text) or NEXT_LINE_EXCLAMATION.search(line.text):
            for offset in (1, 2):
                if index + offset < len(lines):
                    candidate = clean_name(lines[index + offset].text)
                    if looks_like_name_loose(candidate):
                        yield NameFound(candidate, index + offset, True)
                        break


def cued_name(lines: list[Line]) -> NameFound | None:
    return next(cued_names(lines), None)


def distinct_people(lines: list[Line]) -> int:
    """How many different people the cues name on this page (a group certificate names several)."""
    return len({"".join(ch for ch in found.name.lower() if ch.isalnum()) for found in cued_names(lines)})


def largest_name_line(lines: list[Line]) -> NameFound | None:
    """No cue: take the biggest line that looks like a person's name (signatures are small)."""
    best: tuple[float, int] | None = None
    for index, line in enumerate(lines):
        if looks_like_name_loose(clean_name(line.text)) and (best is None or line.size > best[0]):
            best = (line.size, index)
    if best is None:
        return None
    sizes = sorted((line.size for line in lines), reverse=True)
    if best[0] < sizes[min(3, len(sizes) - 1)]:
        return None  # a small name is a signature or an instructor, not the learner
    return NameFound(clean_name(lines[best[1]].text), best[1], False)


def find_name(lines: list[Line]) -> NameFound | None:
    return cued_name(lines) or largest_name_line(lines)
