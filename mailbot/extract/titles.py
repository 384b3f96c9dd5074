"""The course title: a labelled value, a quoted name, the line after "has completed", or the big heading."""
from __future__ import annotations

import re

from mailbot.extract.dates import dates_in_line
from mailbot.extract.hours import hours_in_line
from mailbot.extract.layout import Line, before_next_label, value_below

LABEL = re.compile(r"^(?:course title|course name|course|title|class(?: title)?|training(?: type| title| course)?|"
                   r"program(?:me)? title|seminar|session|event|module title|subject)\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
LABEL_ALONE = re.compile(r"^(?:course title|course name|course|title|training type|training title|class|"
                         r"program title|event|seminar)\s*:?\s*$", re.IGNORECASE)
COMPLETED = re.compile(r"(?:has )?(?:successfully )?(?:completed|attended|participated in|finished|passed)"
                       r"(?: the)?(?: following)?(?: [A-Z]+ Program)?(?: course| class| training| program| seminar)?"
                       r"(?: entitled| titled)?\s*:?|completion of(?: the)?(?: [a-z ]+ course)?\s*:?|"
                       r"for (?:successfully )?(?:completing|attending|participating in)(?: the)?\s*:?", re.IGNORECASE)
# "…completed the IICRC-approved course" / "the manufacturer training": the title follows on the next line
GENERIC_REST = re.compile(r"^(?:the\s+)?(?:[\w-]+\s+){0,2}(?:course|class|training|program|seminar|workshop)"
                          r"(?:\s+(?:entitled|titled|named))?\s*:?$", re.IGNORECASE)
BEFORE_COMPLETED_BY = re.compile(r"^course completed (?:by|on)\b", re.IGNORECASE)
QUOTED = re.compile(r"[“\"]([^”\"]{6,160})[”\"]")
GENERIC_HEADING = re.compile(r"^(?:(?:certificate|statement|record|letter|diploma|award)(?: of)?"
                             r"(?: (?:completion|achievement|attendance|participation|training|excellence|"
                             r"appreciation|recognition))?|participant certificate|training record|certificate|"
                             r"continuing education(?: certificate)?|transcript)$", re.IGNORECASE)
STRIP_TAIL = re.compile(r"\s*(?:[-–—]\s*\d+(?:\.\d+)?\s*(?:hours?|hrs?|CECs?)|\((?:[^()]*group|stage)\))\s*$", re.IGNORECASE)
CODE_LINE = re.compile(r"^[A-Z1]{1,5}[- ]?\d{2,6}(?:\.[A-Za-z0-9]+)?$")  # 1 for OCR's I
CUE_WORDS = re.compile(r"certif(?:y|ies)|presented|awarded|congratulations|completed|verify|signature|"
                       r"instructor|director|\bdate\b|issued|\bid\b|number|#", re.IGNORECASE)  # "Update" is a title word


def clean_title(text: str) -> str:
    text = " ".join(text.split()).strip(" :;,-–“”\"'|_~•*©°`")
    previous = None
    while previous != text:
        previous, text = text, STRIP_TAIL.sub("", text).strip(" :;,.-–“”\"'|_~•*©°`")
    return text


def _plausible(text: str) -> bool:
    if len(text) < 3 or len(text) > 160 or GENERIC_HEADING.match(text) or CODE_LINE.match(text):
        return False
    if sum(ch.isalpha() for ch in text) < 0.5 * len(text.replace(" ", "")):
        return False  # codes and numbers, not words
    if dates_in_line(text, 0) or hours_in_line(text, 0):
        return False
    return not CUE_WORDS.search(text) and any(ch.isalpha() for ch in text)


def _continues(first: Line, nxt: Line) -> bool:
    same_size = abs(nxt.size - first.size) <= 0.12 * max(first.size, 1)
    close = nxt.top - first.bottom < 0.9 * max(first.size, 1)
    return same_size and close and not first.text.rstrip().endswith(")") and len(nxt.text) < 120


def _with_wrap(lines: list[Line], index: int, taken: set[int]) -> str:
    """A title wrapped over two lines: join the next line when it is the same size and right below."""
    text = lines[index].text
    nxt = index + 1
    if nxt < len(lines) and nxt not in taken and _continues(lines[index], lines[nxt]):
        tail = clean_title(lines[nxt].text)
        if tail and _plausible(tail):
            text = f"{text} {lines[nxt].text}"
    return clean_title(text)


def _labelled(lines: list[Line]) -> str | None:
    for index, line in enumerate(lines):
        match = LABEL.match(line.text)
        value = clean_title(before_next_label(match.group("rest"))) if match else ""
        if value and _plausible(value):
            return value
        below = value_below(lines, index) if LABEL_ALONE.match(line.text) else None
        if below is not None and _plausible(clean_title(lines[below].text)):
            return clean_title(lines[below].text)
    return None


def _quoted(lines: list[Line]) -> str | None:
    match = QUOTED.search(" ".join(line.text for line in lines))
    return clean_title(match.group(1)) if match else None


def _after_completed(lines: list[Line], taken: set[int]) -> str | None:
    for index, line in enumerate(lines):
        match = COMPLETED.search(line.text)
        if not match:
            continue
        raw_rest = line.text[match.end():].strip()
        rest = clean_title(raw_rest)
        if re.match(r"(?:by|on)\b", raw_rest, re.IGNORECASE):
            continue  # "Course completed by <name>", "completed on <date>"
        # "…completed all requirements for" → the title is on the next line, not this lower-case rest
        if rest and not GENERIC_REST.match(rest) and not rest[0].islower():
            if _plausible(rest):
                return _with_wrap([Line(rest, line.top, line.bottom, line.x0, line.x1), *lines[index + 1:]], 0, set())
            continue
        for nxt in range(index + 1, min(index + 4, len(lines))):
            if nxt in taken or CODE_LINE.match(lines[nxt].text):
                continue
            candidate = clean_title(lines[nxt].text)
            if _plausible(candidate) and not candidate[0].islower():
                return _with_wrap(lines, nxt, taken)
            break  # "the requirements of …": a sentence goes on, the title is not where we look
    return None


def _before_completed_by(lines: list[Line], taken: set[int]) -> str | None:
    for index, line in enumerate(lines):
        if BEFORE_COMPLETED_BY.match(line.text):
            for prev in range(index - 1, max(index - 3, -1), -1):
                if prev not in taken and _plausible(clean_title(lines[prev].text)):
                    return clean_title(lines[prev].text)
    return None


def _after_name(lines: list[Line], name_line: int | None) -> str | None:
    if name_line is None or name_line + 1 >= len(lines):
        return None
    nxt = lines[name_line + 1]
    if ":" in nxt.text:
        return None  # a form field ("Current Address: …"), not a title
    if _plausible(clean_title(nxt.text)) and nxt.size >= 0.6 * lines[name_line].size:
        return _with_wrap(lines, name_line + 1, {name_line})
    return None


def _largest_heading(lines: list[Line], taken: set[int]) -> str | None:
    # two-word giant text is usually a logo; real headings are longer
    candidates = [(line.size * (1.0 if len(line.text.split()) >= 3 else 0.5), -i, i) for i, line in enumerate(lines)
                  if i not in taken and _plausible(clean_title(line.text)) and not line.text[0].islower()]
    if not candidates:
        return None
    _, _, index = max(candidates)
    return _with_wrap(lines, index, taken)


def find_title(lines: list[Line], name_line: int | None) -> tuple[str | None, bool]:
    """(title, sure): sure is False when only the layout (not a label or cue) pointed at it."""
    taken = {name_line} if name_line is not None else set()
    for finder in (_labelled, _quoted):
        title = finder(lines)
        if title:
            return title, True
    for finder in (_before_completed_by, _after_completed):
        title = finder(lines, taken)
        if title:
            return title, True
    title = _after_name(lines, name_line)
    if title:
        return title, False
    return _largest_heading(lines, taken), False
