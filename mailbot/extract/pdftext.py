"""The PDF text layer through pypdfium2 (about 1 ms a page), upright whatever the page /Rotate says."""
from __future__ import annotations

import math

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from mailbot.extract.layout import Glyph, Page, build_lines


class UnreadableDocument(Exception):
    """The file cannot be read at all; str(e) is the one-line reason shown to people."""


def open_pdf(data: bytes, max_pages: int) -> pdfium.PdfDocument:
    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocument("not a PDF file (it does not start with %PDF-)")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadableDocument("the PDF is encrypted with a password; ask for an unprotected copy") from exc
        raise UnreadableDocument(f"corrupt or truncated PDF ({exc})") from exc
    pages = len(pdf)
    if pages == 0:
        raise UnreadableDocument("the PDF has no pages")
    if pages > max_pages:
        raise UnreadableDocument(f"the PDF has {pages} pages, more than the limit of {max_pages}")
    return pdf


def _to_display(box: tuple[float, float, float, float], rotation: int, width: float, height: float):
    """Map a glyph box from PDF user space to upright display space (y grows downwards)."""
    left, right, bottom, top = box
    if rotation == 90:
        return bottom, top, left, right
    if rotation == 180:
        return width - right, width - left, bottom, top
    if rotation == 270:
        return height - top, height - bottom, width - right, width - left
    return left, right, height - top, height - bottom


def reading_rotation(textpage, text: str, fallback: int) -> int:
    """The quarter turn that makes most glyphs upright, from the glyphs' own angles.

    This covers /Rotate pages and text drawn sideways with no /Rotate alike. pdfium reports angles
    clockwise, so text running up the page (LinkedIn's /Rotate 90 certificates) reads 270°.
    """
    step = max(1, len(text) // 60)
    votes: dict[int, int] = {}
    for index in range(0, len(text), step):
        if not text[index].isspace():
            angle = math.degrees(pdfium_c.FPDFText_GetCharAngle(textpage, index))
            quarter = round(angle / 90.0) % 4 * 90
            votes[quarter] = votes.get(quarter, 0) + 1
    if not votes:
        return fallback
    return (360 - max(votes, key=votes.get)) % 360


MAX_CHARS_PER_PAGE = 100_000  # a certificate has a few thousand; more is a manual or a hostile file


def page_glyphs(page: pdfium.PdfPage) -> list[Glyph]:
    textpage = page.get_textpage()
    count = textpage.count_chars()
    if count <= 0:
        return []
    if count > MAX_CHARS_PER_PAGE:
        raise UnreadableDocument(f"a page holds {count:,} characters of text, more than any certificate "
                                 f"(limit {MAX_CHARS_PER_PAGE:,})")
    text = textpage.get_text_range(0, count)
    rotation = reading_rotation(textpage, text, page.get_rotation() % 360)
    left, bottom, right, top = page.get_mediabox()
    width, height = right - left, top - bottom
    rect = pdfium_c.FS_RECTF()
    loose_box = pdfium_c.FPDFText_GetLooseCharBox
    glyphs = []
    spaced = False
    for index, char in enumerate(text[:count]):
        if char.isspace() or char == "\x00":
            spaced = True
            continue
        # the loose box spans the glyph's advance, so gaps inside a word are ~0 whatever the glyph shape
        loose_box(textpage, index, rect)
        l_, r_, b_, t_ = rect.left - left, rect.right - left, rect.bottom - bottom, rect.top - bottom
        if r_ <= l_ and t_ <= b_:
            continue  # a generated character with no glyph
        if rotation:
            x0, x1, y0, y1 = _to_display((l_, r_, b_, t_), rotation, width, height)
            glyphs.append(Glyph(char, x0, x1, min(y0, y1), max(y0, y1), spaced))
        else:
            glyphs.append(Glyph(char, l_, r_, height - t_, height - b_, spaced))
        spaced = False
    return glyphs


def text_pages(pdf: pdfium.PdfDocument) -> list[Page]:
    pages = []
    for index in range(len(pdf)):
        page = pdf[index]
        pages.append(Page(index + 1, build_lines(page_glyphs(page))))
    return pages
