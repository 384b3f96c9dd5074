"""Mailbox bookkeeping queries: which listed messages need work, and claiming rows for fetched ones.

A pass lists every UID in the inbox and needs only the keys that want work: unknown ones, ones received
but never finished, retries that are due, and finished ones still waiting to be filed. Two steps keep a
pass cheap however the inbox and the ledger grow:
1. the keys waiting for a retry that is not due yet come back as one string, read from a partial index
   of the rows not filed yet (filed history is never touched): a held inbox of 10,000 costs one index
   scan, not 10,000 lookups;
2. every other listed key is looked up exactly, as one JSON-array parameter joined in SQL (not thousands
   of bound parameters).
Step 1 only drops keys that step 2 would also drop, so the answer is the same as looking up every key.
When the folder has not changed since a clean pass listed it, the pass does not list it at all and
asks `has_work` instead (mailbot/ingest.py).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement

from mailbot.ledger.models import InboundMessage, utcnow

DONE = ("recorded", "review", "ignored", "duplicate", "handled", "dead")


@dataclass(frozen=True)
class Mailbox:
    """One listing of one folder: rows are keyed by (account, folder, uidvalidity, mailbox_key)."""

    account: str
    folder: str
    uidvalidity: int


@dataclass(frozen=True)
class Pending:
    """A listed message that needs work. id is None for a message the ledger has never seen."""

    key: str
    id: int | None
    state: str | None
    target_folder: str | None

    @property
    def to_fetch(self) -> bool:
        return self.state not in DONE

    @property
    def to_file(self) -> bool:
        return self.state in DONE and bool(self.target_folder)


def _listed_keys(dialect: str, keys: Sequence[str]):  # type: ignore[no-untyped-def]
    """The keys as a one-column table made from a single JSON parameter."""
    if dialect == "postgresql":
        return func.jsonb_array_elements_text(literal(list(keys), JSONB)).table_valued("value").alias("listed")
    return func.json_each(literal(json.dumps(list(keys)))).table_valued("value").alias("listed")


def _needs_work(now: datetime) -> ColumnElement[bool]:
    m = InboundMessage
    return or_(
        m.id.is_(None),
        m.state == "received",
        and_(m.state == "retry", or_(m.next_attempt_at.is_(None), m.next_attempt_at <= now)),
        and_(m.state.in_(DONE), m.target_folder.is_not(None)),
    )


def pending(engine: Engine, box: Mailbox, keys: Sequence[str], now: datetime | None = None) -> list[Pending]:
    """The listed keys that need work, in listing order. History (messages long filed elsewhere) and
    held messages whose retry is not due are never loaded, so an idle pass stays flat as both grow."""
    now = now or utcnow()
    with engine.connect() as conn:
        waiting = _waiting_keys(conn, box, now) if keys else set()
        unsure = [key for key in keys if key not in waiting]
        if not unsure:
            return []
        m, listed = InboundMessage, _listed_keys(conn.dialect.name, unsure)
        on = and_(m.account == box.account, m.folder == box.folder, m.uidvalidity == box.uidvalidity,
                  m.mailbox_key == listed.c.value)
        query = (select(listed.c.value, m.id, m.state, m.target_folder)
                 .select_from(listed.outerjoin(m, on)).where(_needs_work(now)))
        found = {key: Pending(key, *rest) for key, *rest in conn.execute(query)}
    return [found[key] for key in unsure if key in found]


def _waiting_keys(conn, box: Mailbox, now: datetime) -> set[str]:  # type: ignore[no-untyped-def]
    """Keys of this folder's unfiled messages whose retry is not due: one aggregated string from the
    partial index ix_inboundmessage_unfiled. Keys are IMAP UIDs or Maildir file names: never a "/"."""
    m = InboundMessage
    joined = (func.string_agg(m.mailbox_key, literal_column("'/'")) if conn.dialect.name == "postgresql"
              else func.group_concat(m.mailbox_key, "/"))
    query = select(joined).where(
        m.account == box.account, m.folder == box.folder, m.uidvalidity == box.uidvalidity,
        m.filed_at.is_(None), m.state == "retry", m.next_attempt_at > now)
    return set(filter(None, (conn.execute(query).scalar() or "").split("/")))


def has_work(engine: Engine, box: Mailbox, now: datetime | None = None) -> bool:
    """Whether any message of this folder the ledger knows and has not filed wants work now (read again,
    a retry that is due, a move to repeat): what a pass over an unchanged folder could still have to do.
    Each case is its own probe of the partial index of unfiled rows (by state, then retry time), so
    10,000 held messages whose retry is not due are never visited."""
    now = now or utcnow()
    m = InboundMessage

    def probe(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return select(m.id).where(m.account == box.account, m.folder == box.folder, m.uidvalidity == box.uidvalidity,
                                  m.filed_at.is_(None), *conditions).exists()

    query = select(or_(probe(m.state == "received"),
                       probe(m.state == "retry", m.next_attempt_at.is_(None)),
                       probe(m.state == "retry", m.next_attempt_at <= now),
                       probe(m.state.in_(DONE), m.target_folder.is_not(None))))
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar())


def claim(engine: Engine, box: Mailbox, keys: Sequence[str]) -> dict[str, int]:
    """Create (or find) the bookkeeping rows for these locations in one transaction, committed before any
    work on them: {key: row id}. Rows that exist already (a crash mid-way, a retry) are kept as they are."""
    if not keys:
        return {}
    now = utcnow()
    rows = [{"account": box.account, "folder": box.folder, "uidvalidity": box.uidvalidity, "mailbox_key": key,
             "state": "received", "attempts": 0, "created_at": now, "updated_at": now} for key in keys]
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    m = InboundMessage
    with engine.begin() as conn:
        conn.execute(insert(m).on_conflict_do_nothing(
            index_elements=["account", "folder", "uidvalidity", "mailbox_key"]), rows)
        found = conn.execute(select(m.mailbox_key, m.id).where(
            m.account == box.account, m.folder == box.folder, m.uidvalidity == box.uidvalidity,
            m.mailbox_key.in_(list(keys))))
        return dict(found.all())


def mark_filed(engine: Engine, row_ids: Sequence[int]) -> None:
    """The messages now sit in their target folders (one UPDATE for a whole batch of moves)."""
    if row_ids:
        with engine.begin() as conn:
            conn.execute(InboundMessage.__table__.update().where(InboundMessage.id.in_(list(row_ids)))
                         .values(filed_at=utcnow()))
