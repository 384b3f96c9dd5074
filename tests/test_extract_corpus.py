"""The generated corpus (tests/data/certs): each certificate read right, or flagged; not-certificates refused."""
from __future__ import annotations

import pytest

from mailbot.extract import ocr_available
from tests.test_extract_summary import (
    all_specs,
    cert_specs,
    expected_list,
    field_checks,
    generated_result,
    needs_ocr,
    silently_wrong,
)


def _params():
    for spec in all_specs():
        marks = [pytest.mark.slow] if needs_ocr(spec) else []
        yield pytest.param(spec, id=spec["id"], marks=marks)


def test_corpus_has_at_least_forty_certificates_in_every_layout():
    certificates = cert_specs.CERTIFICATES
    assert len(certificates) + sum(len(s["pages"]) for s in cert_specs.MULTI) >= 40
    layouts = {s["layout"] for s in certificates}
    assert {"iicrc", "school", "conference", "booth", "manufacturer", "lms"} <= layouts
    forms = {s["form"] for s in certificates}
    assert {"pdf", "spaced", "rotate90", "rotate180", "rotate270", "scan", "photo_jpeg", "photo_png"} <= forms


@pytest.mark.parametrize("spec", list(_params()))
def test_generated_document_is_read_right(spec):
    if needs_ocr(spec) and not ocr_available():
        pytest.skip("needs Tesseract: apt-get install tesseract-ocr")
    results = generated_result(spec["id"])
    expects = expected_list(spec)
    if expects is None:
        assert len(results) == 1 and not results[0].is_certificate, results
        assert results[0].reasons, "a refusal says why"
        return
    assert len(results) == len(expects), results
    for expect, got in zip(expects, results):
        assert got.is_certificate and got.error is None, got
        checks = field_checks(expect, got)
        assert not silently_wrong(checks, got), f"wrong and not flagged: {checks} {got}"
        assert all(checks.values()), f"mismatched {[f for f, ok in checks.items() if not ok]}: {got}"
        if got.needs_review:
            assert got.reasons, "review always comes with a reason"
