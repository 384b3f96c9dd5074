"""The page goes to tesseract through a scratch file: it is read, and it is closed whatever happens."""
from __future__ import annotations

import io
import os
import subprocess
import time

import pytest
from PIL import Image

from mailbot.extract import ocr
from tests.test_extract_summary import generated

pytestmark = pytest.mark.skipif(not ocr.ocr_available(), reason="needs Tesseract: apt-get install tesseract-ocr")
READ = ["--psm", "3", "-l", "eng", "tsv"]


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _page() -> tuple[dict, Image.Image]:
    spec, data, _ = generated("photo-4")
    return spec, ocr._prepare(Image.open(io.BytesIO(data)))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_a_reading_gets_the_page_and_leaves_no_file_open():
    spec, page = _page()
    before = _open_fds()
    glyphs, confidence = ocr._words(ocr._run_tesseract(page, READ, time.monotonic() + 60))
    assert _open_fds() == before
    words = {glyph.text for glyph in glyphs}
    assert set(spec["expect"]["name"].split()) <= words and confidence >= ocr.MIN_GOOD_CONFIDENCE


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
@pytest.mark.parametrize("seconds_left", [-1.0, 0.001])
def test_a_reading_past_the_deadline_stops_and_leaves_no_file_open(seconds_left):
    _, page = _page()
    before = _open_fds()
    with pytest.raises(subprocess.TimeoutExpired):
        ocr._run_tesseract(page, READ, time.monotonic() + seconds_left)
    assert _open_fds() == before
