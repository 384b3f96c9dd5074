"""Plain data shared by every stage of the pipeline.

Nothing here talks to the network, the database or the clock: the adapters turn
library types (imap-tools messages, SQLModel rows, pdf pages) into these at the edge.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Document:
    """One candidate certificate file found inside a message (or given on the command line).

    `content_type` is what the bytes are (sniffed), not what the sender's label said:
    application/pdf, image/jpeg, image/png, image/heic, image/tiff.
    `filename` is a safe base name (no directories), or None when the part had none.
    `origin` says where in the message it was found, outermost first, e.g.
    ("message/rfc822", "winmail.dat", "cert.pdf").
    """

    filename: str | None
    content_type: str
    data: bytes
    origin: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)


@dataclass(frozen=True)
class MailFacts:
    """What mailbot needs to know about one email, read from its raw bytes."""

    from_addr: str | None  # lower-cased address of the forwarder, None when missing/unparseable
    from_name: str | None
    message_id: str | None  # with angle brackets, as in the header
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    robot_reason: str | None  # why this is automatic mail (bounce, auto-reply, list, bulk), else None
    original_sender: str | None  # sender named in an inline forward header block (the provider)
    body_text: str  # the top-level plain text (for "APPROVE" replies and forwarded-link hints)
    documents: tuple[Document, ...]
    problems: tuple[str, ...] = ()  # readable notes about parts that were skipped (zip too big, …)


@dataclass
class Extraction:
    """The fields read off one certificate, each uncertain one explained in `reasons`."""

    is_certificate: bool
    person_name: str | None = None
    course_title: str | None = None
    hours: Decimal | None = None  # clock hours of credit
    completed_on: date | None = None
    provider: str | None = None
    approval_number: str | None = None
    category: str | None = None  # water, fire, mold, cleaning, … when recognisable
    confidence: float = 0.0
    needs_review: bool = True
    reasons: list[str] = field(default_factory=list)
    error: str | None = None  # one-line reason the document could not be read at all
    page: int | None = None  # 1-based page where this certificate starts (multi-certificate PDFs)
    ocr: bool = False
    former_unit: bool = False  # printed in the old 1 CEC = 7 h unit

    @property
    def ok(self) -> bool:
        return self.error is None and self.is_certificate and not self.needs_review
