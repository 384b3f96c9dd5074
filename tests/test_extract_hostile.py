"""Hostile and broken files: each gives a clear one-line error within the limits, and the worker
survives to read the next certificate."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from reportlab.pdfgen import canvas

from mailbot.domain import Document
from mailbot.extract import ExtractLimits, extract_document, ocr_available, sniff_content_type
from tests.test_extract_summary import generated

CHUNK = 1 << 24  # 16 MiB of zero bytes


def pdf_file(objects: list[bytes]) -> bytes:
    """A well-formed PDF from object bodies (object 1 must be the catalog)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def zero_bomb(chunks: int) -> bytes:
    """A zlib stream inflating to chunks × 16 MiB of zeros, built without compressing it all."""
    compressor = zlib.compressobj(9)
    first = compressor.compress(b"\0" * CHUNK) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(b"\0" * CHUNK) + compressor.flush(zlib.Z_FULL_FLUSH)
    adler = ((chunks * CHUNK) % 65521) << 16 | 1  # adler-32 of n zero bytes
    return first + repeat * (chunks - 1) + b"\x03\x00" + struct.pack(">I", adler)


def one_page_pdf(content: bytes, resources: bytes = b"<< >>", extra: list[bytes] = ()) -> bytes:
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + resources + b" /Contents 4 0 R >>"
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page,
                     stream(b"/Filter /FlateDecode", zlib.compress(content)), *extra])


def many_pages_pdf(count: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
                     *[page] * count])


def decompression_bomb_pdf() -> bytes:
    width, height = 65536, 150 * 256  # 2.5 GB of pixels from a 2.5 MB file
    image = stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                   b"/BitsPerComponent 8 /Filter /FlateDecode" % (width, height), zero_bomb(150))
    return one_page_pdf(b"q 612 0 0 792 0 0 cm /Im0 Do Q", b"<< /XObject << /Im0 5 0 R >> >>", [image])


def spinning_pdf(operators: int = 6_000_000) -> bytes:
    """Millions of text-show operators: the parser is kept busy long past any sane time limit."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    body = b"BT /F1 1 Tf " + b"(x) Tj " * operators + b"ET"
    return one_page_pdf(body, b"<< /Font << /F1 5 0 R >> >>", [font])


def encrypted_pdf() -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, encrypt="open-sesame")
    c.drawString(72, 720, "This is to certify that Jane Example completed 7 CECs")
    c.showPage()
    c.save()
    return buffer.getvalue()


def huge_png_header(width: int = 100_000, height: int = 100_000) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def read(data: bytes, limits: ExtractLimits | None = None):
    return extract_document(Document("hostile", sniff_content_type(data) or "application/octet-stream", data), limits)


def assert_clear_error(results, *words: str) -> None:
    assert len(results) == 1, results
    found = results[0]
    assert not found.is_certificate and found.error, found
    assert "\n" not in found.error and len(found.error) < 200
    assert any(word in found.error.lower() for word in words), found.error


def assert_worker_still_reads():
    spec, data, _ = generated("iicrc-wrt")
    assert read(data)[0].person_name == spec["expect"]["name"]


def test_encrypted_pdf_says_so():
    assert_clear_error(read(encrypted_pdf()), "encrypted", "password")


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage \x00\xff" * 10, b"\x00\x01\x02 not a file",
                                  b"\xff\xd8\xff\xe0 truncated jpeg", b"\x89PNG\r\n\x1a\n\x00"],
                         ids=["empty", "garbage-pdf", "unknown", "truncated-jpeg", "truncated-png"])
def test_garbage_bytes_give_a_clear_error(data):
    assert_clear_error(read(data), "empty", "corrupt", "unknown", "not a pdf", "truncated", "unreadable")


def test_truncated_certificate_pdf():
    _, data, _ = generated("iicrc-wrt")
    results = read(data[: len(data) // 3])
    assert len(results) == 1 and (results[0].error or not results[0].is_certificate or results[0].needs_review)


def test_five_thousand_pages_are_refused():
    assert_clear_error(read(many_pages_pdf(5000)), "5000 pages", "limit")


def test_huge_pixel_image_is_refused():
    assert_clear_error(read(huge_png_header()), "pixels", "too large")


def test_file_over_the_byte_limit_is_refused():
    assert_clear_error(read(b"%PDF-1.7\n" + b"0" * 2000, ExtractLimits(max_bytes=1000)), "bytes")


@pytest.mark.slow
def test_decompression_bomb_is_stopped_and_the_worker_recovers():
    results = read(decompression_bomb_pdf(), ExtractLimits(timeout_seconds=10, max_memory_mb=1024))
    assert_clear_error(results, "pixel", "memory", "longer than")
    assert_worker_still_reads()


@pytest.mark.slow
def test_parser_spinning_pdf_times_out_and_the_worker_recovers():
    results = read(spinning_pdf(), ExtractLimits(timeout_seconds=1, max_memory_mb=1024))
    assert_clear_error(results, "longer than", "memory", "crashed", "characters")
    assert_worker_still_reads()


def test_a_page_with_too_much_text_is_refused():
    assert_clear_error(read(spinning_pdf(operators=150_000)), "characters")


@pytest.mark.slow
@pytest.mark.skipif(not ocr_available(), reason="needs Tesseract: apt-get install tesseract-ocr")
def test_ocr_past_the_time_limit_stops_with_a_clear_error():
    _, data, _ = generated("scan-1")
    assert_clear_error(read(data, ExtractLimits(timeout_seconds=0.2)), "longer than")
    assert_worker_still_reads()


def test_a_worker_killed_between_documents_is_replaced():
    import mailbot.extract as extract_api

    assert_worker_still_reads()
    proc = extract_api._WORKER._proc
    proc.kill()  # the worker this test session started, by its own handle
    proc.wait()
    assert_worker_still_reads()
