"""Photos in every format the inbox sees (JPEG, PNG, HEIC, TIFF), and a clear error without Tesseract."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from mailbot.domain import Document
from mailbot.extract import extract_document, ocr_available, sniff_content_type
from mailbot.extract.limits import ExtractLimits
from mailbot.extract.reader import read_document
from tests.test_extract_summary import generated

needs_tesseract = pytest.mark.skipif(not ocr_available(), reason="needs Tesseract: apt-get install tesseract-ocr")


def _photo_as(fmt: str) -> tuple[dict, bytes]:
    spec, data, _ = generated("photo-4")
    image = Image.open(io.BytesIO(data))
    buffer = io.BytesIO()
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    image.save(buffer, format=fmt)
    return spec, buffer.getvalue()


@needs_tesseract
@pytest.mark.slow
@pytest.mark.parametrize("fmt, content_type", [("TIFF", "image/tiff"), ("HEIF", "image/heic")])
def test_photo_in_tiff_and_heic_is_read(fmt, content_type):
    spec, data = _photo_as(fmt)
    assert sniff_content_type(data) == content_type
    (found,) = extract_document(Document(f"photo.{fmt.lower()}", content_type, data))
    assert found.person_name == spec["expect"]["name"] and found.hours is not None
    assert float(found.hours) == spec["expect"]["hours"] and found.ocr


def test_without_tesseract_a_scan_says_how_to_install_it(monkeypatch):
    # read_document runs in this process here, so an empty PATH really hides the tesseract program
    monkeypatch.setenv("PATH", "/nonexistent")
    _, data, _ = generated("scan-3")
    (found,) = read_document(Document("scan.pdf", "application/pdf", data), ExtractLimits())
    assert not found.is_certificate and "apt-get install tesseract-ocr" in found.error


def test_text_pdf_needs_no_tesseract(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    spec, data, _ = generated("lms-1")
    (found,) = read_document(Document("lms.pdf", "application/pdf", data), ExtractLimits())
    assert found.person_name == spec["expect"]["name"] and not found.ocr
