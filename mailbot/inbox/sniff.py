"""What a part's bytes are, whatever its label says.

Senders mislabel attachments all the time (a PDF as application/octet-stream, a PNG as
application/ms-tnef, an HTML "session expired" page saved as cert.pdf), so every decision
about a candidate certificate is made from magic numbers, never from the MIME label.
"""
from __future__ import annotations

import io
import warnings

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
TIFF = "image/tiff"
CERTIFICATE_TYPES = (PDF, JPEG, PNG, HEIC, TIFF)
IMAGE_TYPES = (JPEG, PNG, HEIC, TIFF)

# Acrobat accepts a PDF header anywhere in the first 1024 bytes (some generators emit a
# BOM or a blank line first); the HTML error pages we must reject never contain one.
_PDF_HEADER_WINDOW = 1024
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def sniff_content_type(data: bytes) -> str | None:
    """The certificate type these bytes really are, or None when they are none of them."""
    if data[:_PDF_HEADER_WINDOW].find(b"%PDF-") >= 0:
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return HEIC
    return None


def looks_like_html(data: bytes) -> bool:
    head = data[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta"))


def describe_bytes(data: bytes) -> str:
    """A few words on what non-certificate bytes look like, for a readable problem note."""
    if not data.strip():
        return "it is empty"
    if looks_like_html(data):
        return "it is an HTML page"
    if data.startswith(b"PK\x03\x04"):
        return "it is a zip archive"
    return "its content is not a PDF or image"


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from the image header only (no decoding), or None if unreadable."""
    try:
        from PIL import Image

        if sniff_content_type(data) == HEIC:
            import pillow_heif

            pillow_heif.register_heif_opener()  # idempotent; makes Image.open read HEIC headers

        with warnings.catch_warnings():
            # Only the header is read; a decompression-bomb warning is for decoding, not us.
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as img:
                return img.size
    except Exception:  # noqa: BLE001 - any unreadable header just means "size unknown"
        return None
