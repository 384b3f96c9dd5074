"""The ledger's tables. Nothing is ever deleted: corrections are new rows or state changes with who/when/why.

Hours are stored as whole hundredths of an hour (`*_centi` integers) so sums are exact on every
database (no 0.1 + 0.2 drift, no SQLite float storage of decimals).
IMAP UIDs and UIDVALIDITY are unsigned 32-bit: BigInteger, or PostgreSQL rejects 3,000,000,000.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_centi(hours: Decimal | float | str) -> int:
    return int((Decimal(str(hours)) * 100).quantize(Decimal(1)))


def from_centi(centi: int) -> Decimal:
    return (Decimal(centi) / 100).quantize(Decimal("0.01"))


class Technician(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str  # legal name, as IICRC has it
    iicrc_id: str | None = None
    cycle_start: date | None = None  # copied from My IICRC when known
    active: bool = True
    left_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)


class TechAddress(SQLModel, table=True):
    """An address that identifies a technician when they forward mail (normalised: lower-case, no +tag)."""

    id: int | None = Field(default=None, primary_key=True)
    tech_id: int = Field(foreign_key="technician.id", index=True)
    address: str = Field(unique=True)
    is_primary: bool = False


class Certification(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tech_id", "designation"),)
    id: int | None = Field(default=None, primary_key=True)
    tech_id: int = Field(foreign_key="technician.id", index=True)
    designation: str
    certified_on: date


class InboundMessage(SQLModel, table=True):
    """One message at one mailbox location, with where it is in the pipeline.

    state: received → recorded | review | ignored | duplicate, or retry (transient failure, with
    next_attempt_at) → dead after max attempts. filed_at is set once the message sits in its target folder.
    """

    __table_args__ = (
        UniqueConstraint("account", "folder", "uidvalidity", "mailbox_key"),
        # Only messages not yet filed: what can still be listed in the inbox. A pass reads the keys of
        # those waiting for a retry from this index alone, however much filed history the folder has.
        Index("ix_inboundmessage_unfiled", "account", "folder", "uidvalidity", "state", "next_attempt_at",
              "mailbox_key", sqlite_where=text("filed_at IS NULL"), postgresql_where=text("filed_at IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    account: str
    folder: str
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    mailbox_key: str
    message_id: str | None = Field(default=None, index=True)
    raw_sha256: str | None = Field(default=None, index=True)
    raw_path: str | None = None
    from_addr: str | None = None
    original_sender: str | None = None  # who sent the forwarded email (usually the course provider)
    subject: str | None = None
    tech_id: int | None = Field(default=None, foreign_key="technician.id")
    state: str = "received"
    reason: str | None = Field(default=None, sa_column=Column(Text))
    duplicate_of: int | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    target_folder: str | None = None
    filed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    """A certificate file kept as evidence, with what extraction read from it."""

    id: int | None = Field(default=None, primary_key=True)
    message_row_id: int | None = Field(default=None, foreign_key="inboundmessage.id", index=True)
    filename: str | None = None
    content_type: str
    sha256: str = Field(index=True)
    stored_path: str
    extraction_json: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class Credit(SQLModel, table=True):
    """Continuing-education hours for one technician. `dedupe_key` (technician|course|date) is unique
    while the credit stands and cleared when it is voided, so the same course can never count twice."""

    id: int | None = Field(default=None, primary_key=True)
    tech_id: int = Field(foreign_key="technician.id", index=True)
    course_title: str
    hours_centi: int
    completed_on: date
    provider: str | None = None
    approval_number: str | None = None
    category: str | None = None
    kind: str = "class"  # class | online | event | booth | manual
    event_key: str | None = None  # booth visits count once per event
    document_id: int | None = Field(default=None, foreign_key="document.id")
    message_row_id: int | None = Field(default=None, foreign_key="inboundmessage.id")
    state: str = "recorded"  # recorded | voided
    dedupe_key: str | None = Field(default=None, unique=True)
    created_by: str = "mailbot"
    created_at: datetime = Field(default_factory=utcnow)
    voided_by: str | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None

    @property
    def hours(self) -> Decimal:
        return from_centi(self.hours_centi)


class PlanEntry(SQLModel, table=True):
    """A planned course or event; balances project the cycle end with it."""

    id: int | None = Field(default=None, primary_key=True)
    tech_id: int = Field(foreign_key="technician.id", index=True)
    on: date
    hours_centi: int
    title: str
    created_by: str = "mailbot"
    created_at: datetime = Field(default_factory=utcnow)


class ReviewItem(SQLModel, table=True):
    """Something a person must look at: an uncertain extraction, an unknown sender, a name mismatch."""

    id: int | None = Field(default=None, primary_key=True)
    message_row_id: int | None = Field(default=None, foreign_key="inboundmessage.id", index=True)
    document_id: int | None = Field(default=None, foreign_key="document.id")
    tech_id: int | None = Field(default=None, foreign_key="technician.id")
    kind: str  # extraction | unknown-sender | name-mismatch | no-certificate | unreadable | limit
    reason: str = Field(sa_column=Column(Text, nullable=False))
    hours_centi: int | None = None
    state: str = "open"  # open | resolved
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Draft(SQLModel, table=True):
    """An email to IICRC, rendered at creation so the admin approves exactly what will be sent.

    state: drafted → approved → sending → sent, or rejected / failed. Only an approval row
    (approved_by/approved_at) lets a draft leave `drafted`; the sender claims approved → sending.
    """

    id: int | None = Field(default=None, primary_key=True)
    tech_id: int = Field(foreign_key="technician.id", index=True)
    credit_id: int | None = Field(default=None, foreign_key="credit.id", unique=True)
    kind: str = "submission"
    to_addr: str
    cc_addrs: str = ""  # comma-separated
    reply_to: str | None = None
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    attachment_path: str | None = None
    attachment_name: str | None = None
    attachment_type: str | None = None
    state: str = "drafted"
    approved_by: str | None = None
    approved_at: datetime | None = None
    approval_nonce: str | None = None  # set while an emailed approval request is open; rotated on use
    acknowledged_at: datetime | None = None  # IICRC replied to the sent submission
    confirmed_at: datetime | None = None  # the admin saw it in My IICRC
    rejected_reason: str | None = None
    smtp_message_id: str | None = None
    sent_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Notice(SQLModel, table=True):
    """Any automatic email to a person (receipt, statement, escalation), claimed before it is sent.

    `dedupe_key` = recipient|kind|period: the same notice can never be queued twice.
    """

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True)
    recipient: str
    kind: str
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    in_reply_to: str | None = None
    state: str = "pending"  # pending → sending → sent | failed
    attempts: int = 0
    message_id: str | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    sent_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    """Who did what, when, and why: approvals, edits, voids, sends."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str
    action: str
    entity: str
    entity_id: int | None = None
    detail: str | None = Field(default=None, sa_column=Column(Text))
