"""Certificates of completion → fields with confidence: name, course, hours, date, provider, approval #.

    from mailbot.extract import extract_document, ExtractLimits, ocr_available, document_from_path

`extract_document` never raises for bad input: an unreadable file gives one Extraction with
`error` set, and anything uncertain is `needs_review` with its `reasons`. The work runs in a warm
worker process capped in memory and time, so a hostile file cannot take the caller down.
"""
from __future__ import annotations

import atexit
from pathlib import Path

from mailbot.domain import Document, Extraction
from mailbot.extract.limits import ExtractLimits, sniff_content_type
from mailbot.extract.worker import Worker, WorkerFailed

__all__ = ["ExtractLimits", "document_from_path", "extract_document", "ocr_available", "sniff_content_type"]

_WORKER = Worker()
atexit.register(_WORKER.close)


def ocr_available() -> bool:
    """Whether Tesseract is installed. ocr.py is imported here, not at the top: it loads PIL, which only
    the extraction worker needs, and this package is imported by the daemon too."""
    from mailbot.extract.ocr import ocr_available as tesseract_found

    return tesseract_found()


def extract_document(doc: Document, limits: ExtractLimits | None = None) -> list[Extraction]:
    """One Extraction per certificate found in `doc` (with `page` set), or one explaining why none."""
    limits = limits or ExtractLimits()
    if len(doc.data) > limits.max_bytes:  # refuse before copying it to the worker
        reason = f"file is {len(doc.data):,} bytes, more than the limit of {limits.max_bytes:,}"
        return [Extraction(is_certificate=False, error=reason, reasons=[reason])]
    try:
        return _WORKER.run(doc, limits)
    except WorkerFailed as exc:
        return [Extraction(is_certificate=False, error=str(exc), reasons=[str(exc)])]


def document_from_path(path: str | Path) -> Document:
    """A Document for a file given on the command line, typed from its bytes, not its name."""
    path = Path(path)
    data = path.read_bytes()
    return Document(filename=path.name, content_type=sniff_content_type(data) or "application/octet-stream",
                    data=data, origin=(path.name,))
