"""Remembered spreadsheet column mappings: a shop's own header, per tab kind, → a ledger field."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mailbot.ledger.models import utcnow


class ColumnMapping(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("sheet_kind", "header_key"),)
    id: int | None = Field(default=None, primary_key=True)
    sheet_kind: str  # technicians | ce-log | certifications
    header_key: str  # normalised header (see mailbot.ledger.columns.normalize_header)
    field_name: str
    updated_at: datetime = Field(default_factory=utcnow)
