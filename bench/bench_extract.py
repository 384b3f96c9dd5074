"""Per-page medians: mailbot's full extraction (warm worker, text → fields) beside poppler's `pdftotext`
(a process per file, as a caller would run it) and pdfplumber's text extraction alone.

    python -m bench.bench_extract            # text PDFs, plus OCR when tesseract is installed

Text PDFs come from ../shared/corpus/realworld/pdf (the ones mailbot reads without OCR) and the generated
corpus (text, letter-spaced and rotated forms). The target is ≤ 2× pdftotext per page.
"""
from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium

from mailbot.domain import Document
from mailbot.extract import extract_document, ocr_available, sniff_content_type

REPO = Path(__file__).resolve().parents[1]
REALWORLD = REPO.parent / "shared" / "corpus" / "realworld" / "pdf"
RUNS = 7
OCR_RUNS = 3  # each scan is read this many times and its median kept: one reading of a busy page is noise


def _generated(forms: set[str]) -> list[tuple[str, bytes]]:
    sys.path.insert(0, str(REPO))
    from tests.test_extract_summary import all_specs, cert_layouts

    return [(spec["id"], cert_layouts.build(spec)[0]) for spec in all_specs()
            if spec.get("form", "pdf") in forms and spec.get("form") != "logo"]


def _pages(data: bytes) -> int:
    return len(pdfium.PdfDocument(data))


def _ocr_pages(data: bytes) -> int:
    """Pages mailbot OCRs (its own test, reader._needs_ocr): a scan with a text stamp or a junk
    text layer has characters but is read by OCR, so a character count misfiles it as a text PDF."""
    from mailbot.extract.pdftext import open_pdf, text_pages
    from mailbot.extract.reader import _needs_ocr

    pdf = open_pdf(data, 1000)
    return sum(_needs_ocr(page, pdf[page.number - 1]) for page in text_pages(pdf))


def _has_text(data: bytes) -> bool:
    """Read from its text layer alone (no page OCR'd): the text benchmark's files; the others are OCR's."""
    return _ocr_pages(data) == 0


def _median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pdfplumber_text(data: bytes) -> None:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_text()


def bench_text(files: list[tuple[str, bytes]]) -> list[tuple[str, float, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files:
            path = Path(tmp) / "doc.pdf"
            path.write_bytes(data)
            doc = Document(name, "application/pdf", data)
            pages = _pages(data)
            extract_document(doc)  # warm the worker and the file cache
            ours = _median_seconds(lambda doc=doc: extract_document(doc), RUNS) / pages
            command = ["pdftotext", "-q", str(path), "-"]
            theirs = _median_seconds(lambda command=command: subprocess.run(command, capture_output=True, check=False),
                                     RUNS) / pages
            plumber = _median_seconds(lambda data=data: _pdfplumber_text(data), 3) / pages
            rows.append((name, ours, theirs, plumber))
    return rows


def bench_ocr(files: list[tuple[str, bytes]]) -> list[tuple[str, float]]:
    rows = []
    for name, data in files:
        doc = Document(name, sniff_content_type(data) or "", data)
        pages = _ocr_pages(data) if data.startswith(b"%PDF") else 1  # the OCR'd pages cost the time
        rows.append((name, _median_seconds(lambda doc=doc: extract_document(doc), OCR_RUNS) / pages))
    return rows


def main() -> None:
    realworld = [(p.name[:40], p.read_bytes()) for p in sorted(REALWORLD.glob("*.pdf"))] if REALWORLD.is_dir() else []
    text_forms = {"pdf", "spaced", "sideways", "rotate90", "rotate180", "rotate270"}
    text_files = [f for f in realworld if _has_text(f[1])] + _generated(text_forms)
    if not shutil.which("pdftotext"):
        sys.exit("pdftotext not found: apt-get install poppler-utils")
    rows = bench_text(text_files)
    print(f"{'file':42} {'mailbot ms/page':>16} {'pdftotext ms/page':>18} {'ratio':>6} {'pdfplumber text':>16}")
    for name, ours, theirs, plumber in rows:
        print(f"{name:42} {ours * 1000:16.2f} {theirs * 1000:18.2f} {ours / theirs:6.2f} {plumber * 1000:16.2f}")
    ours_median, theirs_median, plumber_median = (statistics.median(r[i] for r in rows) * 1000 for i in (1, 2, 3))
    print(f"\ntext PDFs ({len(rows)} files): median per page mailbot {ours_median:.2f} ms (full extraction), "
          f"pdftotext {theirs_median:.2f} ms, ratio {ours_median / theirs_median:.2f}; "
          f"pdfplumber text alone {plumber_median:.2f} ms")
    if ocr_available():
        scans = [f for f in realworld if not _has_text(f[1])] + _generated({"scan", "photo_jpeg", "photo_png",
                                                                              "photo_turned"})
        ocr_rows = bench_ocr(scans)
        for name, seconds in ocr_rows:
            print(f"OCR {name:38} {seconds * 1000:10.0f} ms/page")
        print(f"OCR ({len(ocr_rows)} files): median per page {statistics.median(r[1] for r in ocr_rows) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
