"""One document's bytes → certificates, inside the limits (runs in the isolated worker)."""
from __future__ import annotations

import io
import subprocess
import time

import pypdfium2.raw as pdfium_c
from PIL import Image

from mailbot.domain import Document, Extraction
from mailbot.extract.classify import page_kind
from mailbot.extract.document import extract_pages
from mailbot.extract.layout import Page
from mailbot.extract.limits import ExtractLimits, sniff_content_type
from mailbot.extract.ocr import OCR_MAX_SIDE, OcrUnavailable, ocr_image
from mailbot.extract.pdftext import UnreadableDocument, open_pdf, text_pages

MIN_TEXT_CHARS = 20  # fewer characters than this on a page: it is a scan, OCR it


class TooSlow(UnreadableDocument):
    pass


def failed(reason: str) -> list[Extraction]:
    return [Extraction(is_certificate=False, error=reason, needs_review=True, reasons=[reason], confidence=0.0)]


def _check_deadline(deadline: float, limits: ExtractLimits) -> None:
    if time.monotonic() > deadline:
        raise TooSlow(f"reading took longer than the {limits.timeout_seconds:g} s limit")


def _render(pdf_page, limits: ExtractLimits) -> Image.Image:
    width, height = pdf_page.get_size()
    scale = min(OCR_MAX_SIDE / max(width, height, 1), 400 / 72)  # the size OCR reads: no resize after
    if width * height * scale * scale > limits.max_pixels:
        scale = (limits.max_pixels / max(width * height, 1)) ** 0.5
    # grey from the start: OCR reads grey anyway (ocr._prepare), and an RGB page at this width held
    # ~40 MB more in the worker (the bitmap, its RGB copy, the copies made from that) than one byte a pixel
    return pdf_page.render(scale=scale, may_draw_forms=False, grayscale=True).to_pil()


def _check_embedded_images(pdf_page, number: int, limits: ExtractLimits) -> None:
    """Refuse a page whose images decode to more pixels than allowed (a decompression bomb)."""
    for obj in pdf_page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        width, height = obj.get_px_size()
        if width * height > limits.max_pixels:
            raise UnreadableDocument(f"page {number} holds a {width}×{height} pixel image, more than the limit "
                                     f"of {limits.max_pixels:,} (decompression bomb?)")


def _needs_ocr(page: Page, pdf_page) -> bool:
    """No usable text layer: next to nothing, mostly junk (a broken font map), or only a footer
    beside a picture of the certificate (scanning software adds a text stamp to the scan)."""
    text = page.text.replace(" ", "")
    if len(text) < MIN_TEXT_CHARS:
        return True
    readable = sum(ch.isascii() and ch.isalnum() for ch in text) / len(text)
    if readable < 0.5:
        return True
    if page_kind(page.text) in ("empty", "unknown"):
        return any(True for _ in pdf_page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    return False


def pdf_pages(data: bytes, limits: ExtractLimits, deadline: float) -> list[Page]:
    pdf = open_pdf(data, limits.max_pages)
    pages = text_pages(pdf)
    scanned = [page for page in pages if _needs_ocr(page, pdf[page.number - 1])]
    if len(scanned) > limits.max_ocr_pages:
        raise UnreadableDocument(f"{len(scanned)} scanned pages, more than the OCR limit of {limits.max_ocr_pages}")
    for page in scanned:
        _check_deadline(deadline, limits)
        _check_embedded_images(pdf[page.number - 1], page.number, limits)
        ocr_page = ocr_image(_render(pdf[page.number - 1], limits), page.number, deadline)
        page.lines, page.ocr = ocr_page.lines, True  # the stamp or junk layer is in the picture too
    return pages


def image_pages(data: bytes, limits: ExtractLimits, deadline: float) -> list[Page]:
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise UnreadableDocument(f"image too large to read safely ({exc.args[0][:60]}…)") from exc
    width, height = image.size
    if width * height > limits.max_pixels:
        raise UnreadableDocument(f"image is {width}×{height} pixels, more than the limit of {limits.max_pixels:,}")
    pages = []
    frames = min(getattr(image, "n_frames", 1), limits.max_ocr_pages)
    for frame in range(frames):
        _check_deadline(deadline, limits)
        image.seek(frame)
        pages.append(ocr_image(image.copy(), frame + 1, deadline))
    return pages


def _register_heif() -> None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # HEIC photos then fail with a readable error below
        pass


def read_document(doc: Document, limits: ExtractLimits) -> list[Extraction]:
    """Never raises: every failure becomes one Extraction with `error` set."""
    deadline = time.monotonic() + limits.timeout_seconds
    if len(doc.data) > limits.max_bytes:
        return failed(f"file is {len(doc.data):,} bytes, more than the limit of {limits.max_bytes:,}")
    kind = sniff_content_type(doc.data) or ""
    try:
        if kind == "application/pdf":
            pages = pdf_pages(doc.data, limits, deadline)
        elif kind.startswith("image/"):
            _register_heif()
            pages = image_pages(doc.data, limits, deadline)
        elif not doc.data:
            return failed("empty file")
        else:
            return failed("not a PDF or an image this reader understands (unknown file type)")
    except (UnreadableDocument, OcrUnavailable) as exc:
        return failed(str(exc))
    except subprocess.TimeoutExpired:
        return failed(f"OCR took longer than the {limits.timeout_seconds:g} s limit")
    except MemoryError:
        return failed(f"needed more than the {limits.max_memory_mb} MB memory limit (decompression bomb?)")
    except (OSError, ValueError, SyntaxError) as exc:  # PIL's ways of saying "corrupt"
        return failed(f"corrupt or unreadable {kind or 'file'} ({type(exc).__name__}: {str(exc)[:80]})")
    return extract_pages(pages)
