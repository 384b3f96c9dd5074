"""Images and image-only PDF pages → text lines, with Tesseract run as a subprocess.

Tesseract is a separate program (Debian: tesseract-ocr); when it is missing we say how to install
it instead of failing. OMP_THREAD_LIMIT=1 because its OpenMP threads make a small page 4× slower
on two cores. Small skews are straightened here (tesseract copes badly past ~3°), and a page whose
text runs down it is stood up before the first reading; other quarter turns are found with
tesseract's own orientation detection, only when a reading fails (it costs ~0.5 s a call).

Cost per page is the tesseract run plus ~0.1 s here (mostly the skew search and straightening).
Tesseract spends ~0.1 s loading its model, then finds the text lines (most of the time on a page
with a dense decorative border) and recognises them (most of it on a plain page): ~0.3-0.6 s in all
on the benchmark pages. Past ~2000 px on the long side it gets slower, not better.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
import time
import typing

from PIL import Image, ImageChops, ImageOps, ImageStat

from mailbot.extract.layout import Glyph, Page, build_lines

INSTALL_HINT = "OCR needs Tesseract: install it with `apt-get install tesseract-ocr tesseract-ocr-eng`"
# Long side of the page tesseract reads, in px: 2000 is ~180 dpi for a letter page, and certificates
# print large. 1600 already lost a course title on the generated scans; 2400 read no better, slower.
OCR_MAX_SIDE = 2000
OCR_MIN_SIDE = 1400  # smaller photos are enlarged to this; larger ones keep their own pixels
SEARCH_SIDE = 600  # the skew / sideways search runs on a copy this small
BALANCE_SIDE = 1200  # which way up a sideways page is: told right on all 10 test pages with lines found
# Sideways when the columns step this much more sharply than the rows. Upright pages measured
# ≤ 0.64 (a big colour block beside the text), sideways ones ≥ 1.57 with that block, else ≥ 2.7.
SIDEWAYS_RATIO = 2.0
MIN_GOOD_CONFIDENCE = 60.0


class OcrUnavailable(Exception):
    pass


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def _scratch_file() -> typing.BinaryIO:
    """A file only this process and its tesseract see: in memory where Linux offers it, else unnamed on disk."""
    if hasattr(os, "memfd_create"):
        return open(os.memfd_create("ocr-page"), "w+b")
    return tempfile.TemporaryFile()


def _run_tesseract(image: Image.Image, args: list[str], deadline: float) -> str:
    """The page goes over as an uncompressed BMP in a file, not as PGM on stdin: tesseract reads stdin
    a byte at a time and leptonica reads PGM a pixel at a time, ~0.1 s of a 2000 px page between them
    (PNG took ~0.2 s a page to write). BMP, not TIFF: Pillow has its writer loaded already, while
    saving a TIFF loads every Pillow format plugin (+3 MB in the worker). No dpi in the file, as in
    the PGM: tesseract estimates it from the text (96 dpi, Pillow's default, reads differently)."""
    if not ocr_available():
        raise OcrUnavailable(INSTALL_HINT)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    with _scratch_file() as page:
        image.save(page, format="BMP", dpi=(0, 0))
        page.flush()
        page.seek(0)  # Linux opens /dev/fd/N afresh; elsewhere tesseract would share this offset
        command = ["tesseract", f"/dev/fd/{page.fileno()}", "stdout", *args]
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise subprocess.TimeoutExpired(command, 0)
        done = subprocess.run(command, capture_output=True, env=env, timeout=timeout, check=False,
                              pass_fds=(page.fileno(),))
    return done.stdout.decode("utf-8", "replace")


def _profile_score(small: Image.Image, angle: float) -> float:
    """How sharply ink rows give way to paper rows at this angle: highest when text rows are level.
    Squared steps between neighbouring rows, not the rows' spread: a big block of colour beside the
    text spreads the rows' values at any angle but steps only at its edges. NEAREST and ImageStat
    keep the ~40 tries of a search in C (bilinear tries in Python took ~1 s a page)."""
    rotated = small.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=255) if angle else small
    rows = rotated.resize((1, rotated.height), Image.Resampling.BOX)
    steps = ImageChops.difference(rows.crop((0, 1, 1, rows.height)), rows.crop((0, 0, 1, rows.height - 1)))
    return ImageStat.Stat(steps).rms[0] ** 2


def _best_angle(small: Image.Image) -> tuple[float, float]:
    """(skew in degrees, its score): ±8° in half degrees, then tenths around the best."""
    coarse = max((a / 2 for a in range(-16, 17)), key=lambda a: _profile_score(small, a))
    fine = max((coarse + a / 10 for a in range(-4, 5)), key=lambda a: _profile_score(small, a))
    return fine, _profile_score(small, fine)


def _ascender_balance(gray: Image.Image, angle: float) -> float:
    """Ink just above each text line's core minus ink just below it: positive for upright Latin text
    (ascenders and capitals outnumber descenders), negative upside down, ~0 when lines are not found.
    Only picks which way to stand a sideways page up first; a wrong pick costs a second reading."""
    small = gray.copy()
    small.thumbnail((BALANCE_SIDE, BALANCE_SIDE))  # lines need ~10 rows each: the skew copy is too small
    small = small.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255) if angle else small
    ink = [255 - v for v in small.resize((1, small.height), Image.Resampling.BOX).get_flattened_data()]
    paper = sorted(ink)[len(ink) // 2]
    cut = paper + (max(ink) - paper) * 0.15
    balance, start = 0.0, None
    for row, value in enumerate([*ink, paper]):  # the sentinel ends a line running to the bottom
        if value > cut and start is None:
            start = row
        elif value <= cut and start is not None:
            line, start = ink[start:row], None
            if len(line) >= 4:
                core = [k for k, v in enumerate(line) if v >= max(line) * 0.6]
                balance += sum(v - paper for v in line[:core[0]]) - sum(v - paper for v in line[core[-1] + 1:])
    return balance


def _level(gray: Image.Image) -> tuple[Image.Image, bool]:
    """Straighten a skewed scan, and stand a sideways one up (text running down the page: its
    columns, not its rows, alternate ink and paper). Returns the page and whether it was turned;
    whether a turned page now reads upright is only sure after reading it (see ocr_image)."""
    small = gray.copy()
    small.thumbnail((SEARCH_SIDE, SEARCH_SIDE))
    angle, across = _best_angle(small)
    turned_angle, down = _best_angle(small.transpose(Image.Transpose.ROTATE_270))
    sideways = down > SIDEWAYS_RATIO * across
    if sideways:
        stood = gray.transpose(Image.Transpose.ROTATE_270)  # a quarter turn clockwise
        if _ascender_balance(stood, turned_angle) < 0:
            stood = gray.transpose(Image.Transpose.ROTATE_90)  # same skew: a half turn keeps slopes
        gray, angle = stood, turned_angle
    if abs(angle) >= 0.2:
        gray = gray.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    return gray, sideways


def _prepare(image: Image.Image) -> Image.Image:
    """Grey, contrast stretched, long side between OCR_MIN_SIDE and OCR_MAX_SIDE."""
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    gray = ImageOps.autocontrast(image.convert("L"))
    long_side = max(gray.size)
    target = min(max(long_side, OCR_MIN_SIDE), OCR_MAX_SIDE)
    if long_side < OCR_MIN_SIDE or long_side > OCR_MAX_SIDE * 1.02:  # a rendered page is already the size
        scale = target / long_side
        size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.LANCZOS)
    return gray


def _words(tsv: str) -> tuple[list[Glyph], float]:
    glyphs, confidences = [], []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        try:
            conf = float(row.get("conf") or -1)
            left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
        except (TypeError, ValueError, KeyError):
            continue
        if not text or conf < 0:
            continue
        confidences.append(conf)
        glyphs.append(Glyph(text, left, left + width, top, top + height, conf=conf))
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return glyphs, mean


def _quarter_turn(image: Image.Image, deadline: float) -> int:
    """Degrees (clockwise) that tesseract's orientation detection says the page needs, or 0."""
    try:
        out = _run_tesseract(image, ["--psm", "0"], deadline)
    except subprocess.TimeoutExpired:
        return 0
    match = re.search(r"Rotate:\s*(\d+)", out)
    return int(match.group(1)) % 360 if match else 0


def _read(image: Image.Image, deadline: float) -> tuple[list[Glyph], float]:
    return _words(_run_tesseract(image, ["--psm", "3", "-l", "eng", "tsv"], deadline))


def _reads_badly(glyphs: list[Glyph], confidence: float) -> bool:
    return confidence < MIN_GOOD_CONFIDENCE or len(glyphs) < 5


def _retry_turn(page: Image.Image, sideways: bool, deadline: float) -> int:
    """The turn to try when the first reading failed: a page stood up from sideways reads either
    way up, so the other way (no detection pass needed); otherwise what tesseract's OSD says."""
    return 180 if sideways else _quarter_turn(page, deadline)


def ocr_image(image: Image.Image, number: int, deadline: float) -> Page:
    """OCR one page image; when the text reads badly, turn the page and read it once more."""
    prepared, sideways = _level(_prepare(image))
    glyphs, confidence = _read(prepared, deadline)
    if _reads_badly(glyphs, confidence):
        turn = _retry_turn(prepared, sideways, deadline)
        if turn:
            turned, _ = _level(prepared.rotate(-turn, expand=True, fillcolor=255))
            retry, retry_conf = _read(turned, deadline)
            if retry_conf > confidence:
                glyphs, confidence = retry, retry_conf
    page = Page(number, build_lines(glyphs, word_mode=True), ocr=True)
    page.confidence = confidence  # type: ignore[attr-defined]
    return page
