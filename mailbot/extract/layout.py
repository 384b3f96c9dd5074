"""Lines of text with their position and size, built from positioned characters or OCR words.

Both the PDF text layer and Tesseract give us boxes; the field parsers want lines in reading
order with a size (big text is a name or a title, small text is boilerplate). Spacing is
decided from the gaps between glyphs rather than trusted from the producer, because
letter-spaced text layers ("Feb 2 2 , 2 02 4") put a space between every glyph.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median
from typing import NamedTuple


class Glyph(NamedTuple):
    """One character (or one OCR word) in display coordinates: y grows downwards.

    A NamedTuple, not a dataclass: a page makes thousands and this is the fast path's hot loop.
    """

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    after_space: bool = False  # the producer put whitespace before this glyph
    conf: float = 100.0  # OCR word confidence (0-100); text layers are certain


@dataclass
class Line:
    text: str
    top: float
    bottom: float
    x0: float
    x1: float
    conf: float = 100.0  # the least confident OCR word on the line
    words: tuple[tuple[str, float], ...] = ()  # OCR words with their confidence; empty for text layers

    @property
    def size(self) -> float:
        return self.bottom - self.top


@dataclass
class Page:
    number: int  # 1-based
    lines: list[Line] = field(default_factory=list)
    ocr: bool = False

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def _split_runs(glyphs: list[Glyph], word_mode: bool = False) -> list[list[Glyph]]:
    """Group glyphs in content order into runs on one baseline; a big jump starts a new run.

    A glyph joins the run when its centre lies within the run's band (plus a quarter height), it
    does not jump back or far ahead, and (for PDF glyphs) its height is not a different font size
    on the same baseline (a logo, a second column).
    """
    runs: list[list[Glyph]] = []
    current: list[Glyph] = []
    top = bottom = last_height = 0.0
    last_x1 = 0.0
    for glyph in glyphs:
        g_height = glyph.bottom - glyph.top
        if current:
            band = bottom - top
            height = max(1.0, band)
            slack = 0.25 * (band if band > g_height else max(1.0, g_height))
            centre = (glyph.top + glyph.bottom) / 2
            jump = glyph.x0 - last_x1
            ratio = g_height / (max(0.1, last_height))
            if (top - slack <= centre <= bottom + slack and -height < jump < 4 * height
                    and (word_mode or 0.6 < ratio < 1.6)):
                current.append(glyph)
                top = min(top, glyph.top)
                bottom = max(bottom, glyph.bottom)
                last_height, last_x1 = g_height, glyph.x1
                continue
            runs.append(current)
        current, top, bottom = [glyph], glyph.top, glyph.bottom
        last_height, last_x1 = g_height, glyph.x1
    if current:
        runs.append(current)
    return runs


def _looks_letter_spaced(words: list[str]) -> bool:
    short = sum(1 for word in words if len(word) <= 1)
    return len(words) >= 4 and short >= 0.4 * len(words)


def _join_by_gaps(run: list[Glyph]) -> str:
    """Re-space a letter-spaced run: only gaps clearly wider than the letter spacing are spaces."""
    heights = sorted(g.bottom - g.top for g in run)
    height = heights[len(heights) // 2] or 1.0
    gaps = [b.x0 - a.x1 for a, b in pairwise(run)]
    typical = median(gaps) if gaps else 0.0
    threshold = max(typical + 0.12 * height, 1.8 * typical)
    parts = [run[0].text]
    for gap, glyph in zip(gaps, run[1:]):
        if gap > threshold:
            parts.append(" ")
        parts.append(glyph.text)
    return "".join(parts)


def _join_glyphs(run: list[Glyph], word_mode: bool) -> str:
    """Join glyphs with the producer's spaces, unless the run is letter-spaced ("Feb 2 2 , 2 02 4")."""
    if word_mode:
        return " ".join(g.text for g in run)
    parts = []
    for glyph in run:
        if glyph.after_space and parts:
            parts.append(" ")
        parts.append(glyph.text)
    text = "".join(parts)
    if _looks_letter_spaced(text.split()):
        return _join_by_gaps(run)
    return text


def build_lines(glyphs: list[Glyph], word_mode: bool = False) -> list[Line]:
    """Glyphs (whitespace already removed) → lines sorted top to bottom, left to right.

    Text drawn several times on the same spot (fake bold, shadows, layered templates) is kept once.
    """
    lines, seen = [], set()
    for run in _split_runs(glyphs, word_mode):
        text = " ".join(_join_glyphs(run, word_mode).split())
        top, x0 = min(g.top for g in run), min(g.x0 for g in run)
        key = (text, round(top), round(x0))
        if text and key not in seen:
            seen.add(key)
            lines.append(Line(text, top, max(g.bottom for g in run), x0, max(g.x1 for g in run),
                              min(g.conf for g in run), tuple((g.text, g.conf) for g in run) if word_mode else ()))
    return _reading_order(lines)


def _reading_order(lines: list[Line]) -> list[Line]:
    """Sort by baseline bands, so text drawn out of order (a name stamped last) reads in place."""
    lines.sort(key=lambda line: (line.top + line.bottom) / 2)
    ordered: list[Line] = []
    band: list[Line] = []
    for line in lines:
        if band and not _overlaps(band[0], line):
            ordered.extend(sorted(band, key=lambda item: item.x0))
            band = []
        band.append(line)
    ordered.extend(sorted(band, key=lambda item: item.x0))
    return ordered


def _overlaps(a: Line, b: Line) -> bool:
    centre = (b.top + b.bottom) / 2
    return a.top <= centre <= a.bottom


def value_below(lines: list[Line], index: int) -> int | None:
    """The line right under a form label ("DATE", "TRAINING TYPE") in the same column, if any."""
    label = lines[index]
    best = None
    for other, line in enumerate(lines):
        below = line.top >= label.bottom - 0.3 * label.size and line.top - label.bottom < 2.5 * max(label.size, 1)
        same_column = abs(line.x0 - label.x0) < 1.5 * max(label.size, 1)
        if other != index and below and same_column and (best is None or line.top < lines[best].top):
            best = other
    return best


def label_above(lines: list[Line], index: int) -> str:
    """The text right above line `index` in the same column (a form label), else the previous line's."""
    line = lines[index]
    for other in range(index - 1, max(index - 8, -1), -1):
        above = lines[other]
        close = 0 <= line.top - above.bottom < 1.5 * max(line.size, 1) or above.bottom <= line.top + 0.3 * line.size
        if close and abs(above.x0 - line.x0) < 1.5 * max(line.size, 1) and above.top < line.top:
            return above.text
    return lines[index - 1].text if index else ""


NEXT_LABEL = re.compile(
    r"\s+(?=(?:(?:Completion|Course|Issue|Issued|Class|Credit|CE|CEC|Contact|Training|Event|Expiration|Start|End)\s+)?"
    r"(?:Date|Dates|Hours|Course|Title|Name|ID|Number|No\.|#|Score|Location|Instructor|Provider|Credits?|CECs?|CEUs?|"
    r"Expires|Issued|Completed)\s*#?:)", re.IGNORECASE)


def before_next_label(text: str) -> str:
    """"Jane Doe Date: 3/5/2026" → "Jane Doe": a form row holds several "Label: value" pairs."""
    return NEXT_LABEL.split(text, maxsplit=1)[0]
