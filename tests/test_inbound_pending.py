"""Mailbox bookkeeping on real SQLite and PostgreSQL: which listed keys a pass works on, and batch claims.

The expected answers are written out by hand from the rules in mailbot/ledger/inbound.py: a listed key
needs work when the ledger has never seen it, when it was received and never finished, when its retry is
due, or when it is finished but not yet filed; a retry that is not due is left alone.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from mailbot.ledger import inbound
from mailbot.ledger.db import init_db, make_engine
from mailbot.ledger.models import InboundMessage

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOX = inbound.Mailbox("imap://certs@mail.example:993", "INBOX", 1700000000)
OTHER_FOLDER = inbound.Mailbox(BOX.account, "Archive", BOX.uidvalidity)
OLD_UIDVALIDITY = inbound.Mailbox(BOX.account, BOX.folder, 1600000000)


@pytest.fixture
def engine(db_url):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    init_db(engine)
    yield engine
    engine.dispose()


def _row(box: inbound.Mailbox, key: str, state: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"account": box.account, "folder": box.folder, "uidvalidity": box.uidvalidity, "mailbox_key": key,
            "state": state, "attempts": 0, "created_at": NOW, "updated_at": NOW, **extra}


def _insert(engine, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(insert(InboundMessage), [row])


def test_only_the_listed_keys_that_need_work_come_back_in_listing_order(engine):
    _insert(engine, [
        _row(BOX, "2", "received"),
        _row(BOX, "3", "retry", next_attempt_at=NOW - timedelta(minutes=1)),  # due
        _row(BOX, "4", "retry", next_attempt_at=NOW + timedelta(hours=1)),  # not due
        _row(BOX, "5", "retry", next_attempt_at=None),  # due at once
        _row(BOX, "6", "recorded", target_folder="mailbot/Processed"),  # move failed: file it
        _row(BOX, "7", "review", target_folder="mailbot/Review", filed_at=NOW),  # \\Deleted copy still listed
        _row(BOX, "8", "dead", target_folder="mailbot/Review"),
        _row(BOX, "9", "recorded", target_folder="mailbot/Processed", filed_at=NOW),  # history, not listed
        _row(OTHER_FOLDER, "1", "retry", next_attempt_at=NOW + timedelta(hours=1)),
        _row(OLD_UIDVALIDITY, "10", "retry", next_attempt_at=NOW + timedelta(hours=1)),
    ])
    listed = ["10", "8", "7", "6", "5", "4", "3", "2", "1"]
    got = [(p.key, p.state, p.to_fetch, p.to_file) for p in inbound.pending(engine, BOX, listed, NOW)]
    assert got == [
        ("10", None, True, False),  # known only under the old UIDVALIDITY: another message now
        ("8", "dead", False, True),
        ("7", "review", False, True),
        ("6", "recorded", False, True),
        ("5", "retry", True, False),
        ("3", "retry", True, False),
        ("2", "received", True, False),
        ("1", None, True, False),  # known only in another folder
    ]


def test_an_inbox_of_held_messages_needs_nothing_until_their_retry_is_due(engine):
    keys = [str(uid) for uid in range(1, 1201)]
    _insert(engine, [_row(BOX, key, "retry", next_attempt_at=NOW + timedelta(hours=1)) for key in keys])
    assert inbound.pending(engine, BOX, keys, NOW) == []
    later = inbound.pending(engine, BOX, keys + ["1201"], NOW + timedelta(hours=2))
    assert [p.key for p in later] == keys + ["1201"]
    assert [p.id is None for p in later].count(True) == 1


def test_no_keys_listed_is_no_work(engine):
    assert inbound.pending(engine, BOX, [], NOW) == []


def test_maildir_keys_are_matched_exactly(engine):
    box = inbound.Mailbox("maildir:/srv/mail", "INBOX", 0)
    _insert(engine, [_row(box, "1733050000.M1P2.host,S=10", "retry", next_attempt_at=NOW + timedelta(hours=1)),
                     _row(box, "1733050001.M1P2.host", "received")])
    listed = ["1733050000.M1P2.host,S=10", "1733050001.M1P2.host", "1733050000.M1P2.host"]
    assert [(p.key, p.state) for p in inbound.pending(engine, box, listed, NOW)] == [
        ("1733050001.M1P2.host", "received"), ("1733050000.M1P2.host", None)]


def test_a_batch_claim_keeps_rows_that_exist_and_creates_the_rest(engine):
    _insert(engine, [_row(BOX, "5", "retry", attempts=2, next_attempt_at=NOW)])
    ids = inbound.claim(engine, BOX, ["4", "5", "6"])
    again = inbound.claim(engine, BOX, ["6", "5", "4"])
    assert ids == again and sorted(ids) == ["4", "5", "6"] and len(set(ids.values())) == 3
    with engine.connect() as conn:
        rows = {r.mailbox_key: (r.state, r.attempts) for r in conn.execute(select(InboundMessage))}
    assert rows == {"4": ("received", 0), "5": ("retry", 2), "6": ("received", 0)}
    inbound.mark_filed(engine, [ids["4"], ids["6"]])
    with engine.connect() as conn:
        filed = {r.mailbox_key for r in conn.execute(select(InboundMessage)) if r.filed_at is not None}
    assert filed == {"4", "6"}
