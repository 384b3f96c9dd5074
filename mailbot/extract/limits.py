"""Per-document limits, and what a file is from its first bytes (labels on attachments lie)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds on one document; going over one gives a clear error instead of a stuck daemon."""

    max_bytes: int = 40 * 1024 * 1024
    max_pages: int = 60
    max_pixels: int = 80_000_000  # one decoded image or rendered page (a 9,000 × 9,000 photo)
    timeout_seconds: float = 60.0
    max_memory_mb: int = 1536  # address space of the extraction worker (and tesseract under it)
    max_ocr_pages: int = 12  # OCR costs ~0.5 s a page: scanned bundles beyond this go to a person


SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
]
HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis", b"avif")


def sniff_content_type(data: bytes) -> str | None:
    """The content type the bytes say, or None when they are not a PDF or an image we read."""
    head = data[:1024]
    if b"%PDF-" in head:  # readers accept the header anywhere in the first kilobyte
        return "application/pdf"
    for magic, kind in SIGNATURES:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return "image/heic"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
