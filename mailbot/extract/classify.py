"""Is this page a certificate, or an invoice, a flyer, a course outline, a logo?"""
from __future__ import annotations

import re

CERTIFICATE = re.compile(r"certif|completion|completed|attended|awarded|presented to|congratulations|transcript|"
                         r"\bCECs?\b|\bCEUs?\b|continuing education|credit hours|contact hours|participant|"
                         r"training record|has participated|achievement", re.IGNORECASE)
INVOICE = re.compile(r"\binvoice\b|amount due|balance due|bill to|subtotal|unit price|\bqty\b|payment terms|"
                     r"remit|receipt #|order total|sales tax", re.IGNORECASE)
FLYER = re.compile(r"register (?:now|today|online|at)|early bird|seats (?:are )?limited|sign up|save the date|"
                   r"reserve your|call to register|registration fee|space is limited|join us", re.IGNORECASE)
OUTLINE = re.compile(r"course outline|agenda|syllabus|learning objectives|module \d|day \d\b|schedule|"
                     r"table of contents|lesson \d|unit \d", re.IGNORECASE)
REGISTRATION = re.compile(r"you are registered|thank you for registering|registration confirm|your registration|"
                          r"upcoming class|seat is reserved|order confirmation", re.IGNORECASE)
# certificates that are not education: insurance (ACORD), mold clearance, calibration
OTHER_CERTIFICATE = re.compile(r"liability insurance|certificate of insurance|policy (?:number|no)|insurer|"
                               r"clearance|post[- ]remediation verification|calibration", re.IGNORECASE)
TRANSCRIPT = re.compile(r"\btranscript\b|course history|training history", re.IGNORECASE)
ROSTER = re.compile(r"\battendees\b|first name\s+last name|attendance (?:list|sheet|roster)|sign-in sheet", re.IGNORECASE)


def _count(pattern: re.Pattern, text: str) -> int:
    return len(pattern.findall(text))


def page_kind(text: str) -> str:
    """certificate, transcript, roster, invoice, flyer, outline, registration, other, unknown or empty."""
    words = len(text.split())
    if words < 4:
        return "empty"
    positive = _count(CERTIFICATE, text)
    scores = {"invoice": _count(INVOICE, text), "flyer": _count(FLYER, text), "outline": _count(OUTLINE, text),
              "registration": 2 * _count(REGISTRATION, text), "other": 2 * _count(OTHER_CERTIFICATE, text)}
    kind, score = max(scores.items(), key=lambda item: item[1])
    strong_certificate = re.search(r"certif(?:y|ies) that|presented to|awarded to|congratulations|"
                                   r"certificate of|has (?:successfully )?completed", text, re.IGNORECASE)
    if score >= 2 and (score > positive or not strong_certificate):
        return kind
    if TRANSCRIPT.search(text) and not strong_certificate:
        return "transcript"
    if ROSTER.search(text):
        return "roster"
    if positive == 0:
        return "unknown"
    return "certificate"


NOT_CERTIFICATE_REASON = {
    "invoice": "an invoice or receipt, not a certificate",
    "flyer": "a flyer or advertisement, not a certificate",
    "outline": "a course outline or agenda, not a certificate",
    "registration": "a registration or order confirmation, not a certificate",
    "other": "a certificate of another kind (insurance, clearance, calibration), not continuing education",
    "empty": "no readable text (a logo or blank page?)",
    "unknown": "no certificate wording found",
}
