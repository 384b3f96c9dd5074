"""Images and image-only PDF pages → text lines, with Tesseract run as a subprocess.

Tesseract is a separate program (Debian: tesseract-ocr); when it is missing we say how to install
it instead of failing. OMP_THREAD_LIMIT=1 because its OpenMP threads make a small page 4× slower
on two cores. Small skews are straightened here (tesseract copes badly past ~3°); quarter turns
are found with tesseract's own orientation detection.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import time

from PIL import Image, ImageOps

from mailbot.extract.layout import Glyph, Page, build_lines

INSTALL_HINT = "OCR needs Tesseract: install it with `apt-get install tesseract-ocr tesseract-ocr-eng`"
OCR_WIDTH = 2400  # about 300 dpi for a letter page: small print stays readable
MIN_GOOD_CONFIDENCE = 60.0


class OcrUnavailable(Exception):
    pass


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def _run_tesseract(image: Image.Image, args: list[str], deadline: float) -> str:
    if not ocr_available():
        raise OcrUnavailable(INSTALL_HINT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    command = ["tesseract", "stdin", "stdout", *args]
    timeout = deadline - time.monotonic()
    if timeout <= 0:
        raise subprocess.TimeoutExpired(command, 0)
    done = subprocess.run(command, input=buffer.getvalue(), capture_output=True, env=env, timeout=timeout,
                          check=False)
    return done.stdout.decode("utf-8", "replace")


def _row_profile_score(image: Image.Image, angle: float) -> float:
    rotated = image.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    rows = list(rotated.resize((1, rotated.height), Image.Resampling.BOX).get_flattened_data())
    mean = sum(rows) / len(rows)
    return sum((value - mean) ** 2 for value in rows)


def deskew(image: Image.Image) -> Image.Image:
    """Straighten a skewed scan: text rows give the sharpest row profile when level."""
    small = ImageOps.autocontrast(image.convert("L"))
    small.thumbnail((700, 700))
    coarse = max((a / 2 for a in range(-16, 17)), key=lambda a: _row_profile_score(small, a))
    fine = max((coarse + a / 10 for a in range(-4, 5)), key=lambda a: _row_profile_score(small, a))
    if abs(fine) < 0.2:
        return image
    return image.rotate(fine, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def _prepare(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    gray = ImageOps.autocontrast(image.convert("L"))
    if gray.width < OCR_WIDTH * 0.8 or gray.width > OCR_WIDTH * 1.5:
        scale = OCR_WIDTH / gray.width
        gray = gray.resize((OCR_WIDTH, max(1, int(gray.height * scale))), Image.Resampling.LANCZOS)
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


def ocr_image(image: Image.Image, number: int, deadline: float) -> Page:
    """OCR one page image; when the text reads badly, turn the page as tesseract suggests and retry."""
    prepared = deskew(_prepare(image))
    glyphs, confidence = _words(_run_tesseract(prepared, ["--psm", "3", "-l", "eng", "tsv"], deadline))
    if confidence < MIN_GOOD_CONFIDENCE or len(glyphs) < 5:
        turn = _quarter_turn(prepared, deadline)
        if turn:
            turned = deskew(prepared.rotate(-turn, expand=True, fillcolor=255))
            retry, retry_conf = _words(_run_tesseract(turned, ["--psm", "3", "-l", "eng", "tsv"], deadline))
            if retry_conf > confidence:
                glyphs, confidence = retry, retry_conf
    page = Page(number, build_lines(glyphs, word_mode=True), ocr=True)
    page.confidence = confidence  # type: ignore[attr-defined]
    return page
