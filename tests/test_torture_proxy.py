"""Torture: a loopback proxy in front of the real Dovecot and another in front of the real SMTP sink cut
connections mid-FETCH, mid-MOVE and mid-DATA, stall them, and refuse new ones. The ticks (and the daemon,
in the last test) recover by themselves on later ticks and lose nothing: every credit recorded once,
every message in its folder once, every receipt and submission delivered at most once, and every draft
ends sent or listed for the admin.

The faults are rules that fire on what crosses the wire (e.g. "the first time the server sends a message
body, pass 300 bytes of it and cut"), so each test hits the moment it names, every run.
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import date

import pytest
from sqlmodel import select

from bench.common import Daemon, write_config
from mailbot.jobs import poll_tick, send_tick
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Credit, Draft, InboundMessage, Notice
from mailbot.ledger.techs import add_technician
from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.fault_proxy import TO_CLIENT, TO_SERVER, FaultProxy
from tests.helpers import INBOX_ADDR, make_app

pytestmark = pytest.mark.servers

PROCESSED, REVIEW = "mailbot/Processed", "mailbot/Review"
TECHS = [("dana@techs.example", "Dana Reyes"), ("omar@techs.example", "Omar Haddad")]


# ---- set-up and checks ------------------------------------------------------------------------------

@pytest.fixture
def proxies(dovecot, smtp_server):  # type: ignore[no-untyped-def]
    if not dovecot.running:
        dovecot.start()
    imap, smtp = FaultProxy(dovecot.port), FaultProxy(smtp_server.port)
    yield imap, smtp
    imap.close()
    smtp.close()


def certificates(count: int) -> list[tuple[bytes, tuple]]:
    """(forwarded email, the credit it must record) for `count` certificates, alternating technicians."""
    out = []
    for i in range(count):
        addr, name = TECHS[i % len(TECHS)]
        day = date(2026, 1, 5 + i)
        title = f"Odor Control Workshop Session {i}"
        cert = SampleCertificate(name, title, f"{i % 5 + 1} CECs", f"{day:%B} {day.day}, {day.year}", "Academy")
        raw = forwarded_email(sender=addr, sender_name=name, to=INBOX_ADDR, provider_addr="desk@academy.example",
                              subject=f"certificate {i}", attachment=certificate_pdf(cert))
        out.append((raw, (addr, title.lower(), day, i % 5 + 1)))
    return out


def make_proxied_app(tmp_path, db_url, dovecot, imap: FaultProxy, smtp: FaultProxy):  # type: ignore[no-untyped-def]
    user, password = dovecot.add_user()
    app = make_app(tmp_path, db_url,
                   inbox={"kind": "imap", "host": "127.0.0.1", "port": imap.port, "security": "none",
                          "username": user, "password": password, "processed_folder": PROCESSED,
                          "review_folder": REVIEW},
                   outbox={"kind": "smtp", "host": "127.0.0.1", "port": smtp.port, "security": "none",
                           "from": INBOX_ADDR, "sent_folder": "Sent"})
    with session_scope(app.engine) as s:
        for addr, name in TECHS:
            add_technician(s, name, [addr])
    return app, user


def tick_until(tick, done, app, limit: int = 12) -> int:  # type: ignore[no-untyped-def]
    """Run `tick` as the daemon would (a failing tick is logged, the next one runs) until `done()`.
    Returns how many ticks failed."""
    failures = 0
    for _ in range(limit):
        try:
            tick(app)
        except Exception:  # noqa: BLE001 - what the daemon's job guard does
            failures += 1
        if done():
            return failures
    raise AssertionError(f"not recovered after {limit} ticks ({failures} failed)")


def ingested(app, dovecot, user: str, count: int):  # type: ignore[no-untyped-def]
    def check() -> bool:
        with session_scope(app.engine) as s:
            rows = s.exec(select(InboundMessage)).all()
            pending = s.exec(select(Notice).where(Notice.state.in_(("pending", "sending")))).all()
        done = [r for r in rows if r.state not in ("received", "retry")]
        return len(done) >= count and not pending and dovecot.uids(user, "INBOX") == []
    return check


def assert_nothing_lost(app, dovecot, user: str, expected: list[tuple], sink) -> None:  # type: ignore[no-untyped-def]
    with session_scope(app.engine) as s:
        credits = Counter((c.course_title.lower(), c.completed_on, c.hours_centi // 100)
                          for c in s.exec(select(Credit).where(Credit.state == "recorded")))
        notices = s.exec(select(Notice).where(Notice.kind == "receipt")).all()
        messages = s.exec(select(InboundMessage)).all()
    assert credits == Counter((title, day, hours) for _, title, day, hours in expected)  # each exactly once
    assert dovecot.uids(user, "INBOX") == []
    assert len(dovecot.uids(user, PROCESSED)) == len(expected)  # each filed once, none lost or copied twice
    assert Counter(m.state for m in messages if m.message_id) == Counter({"recorded": len(expected)})
    answered = Counter(m.message["In-Reply-To"] for m in sink.messages if m.rcpt_tos != ["office@testco.example"])
    assert max(answered.values(), default=0) <= 1  # no receipt twice
    assert {n.state for n in notices} <= {"sent", "interrupted"}  # none stuck pending or failed
    assert len([n for n in notices if n.state == "sent"]) <= len(answered)  # every `sent` arrived


# ---- ingestion over a broken IMAP link --------------------------------------------------------------

def test_poll_recovers_from_refusal_cut_mid_fetch_and_cut_mid_move(tmp_path, db_url, dovecot, proxies,
                                                                   smtp_server):
    imap, smtp = proxies
    app, user = make_proxied_app(tmp_path, db_url, dovecot, imap, smtp)
    certs = certificates(6)
    dovecot.append_many(user, [raw for raw, _ in certs])
    imap.refuse(1)  # the first tick cannot even connect
    mid_fetch = imap.cut(TO_CLIENT, b"BODY[] {", keep=300)  # 300 bytes into the first body, then EOF
    before_move = imap.cut(TO_SERVER, b"UID MOVE", keep=0)  # the MOVE never reaches the server
    after_move = imap.cut(TO_SERVER, b"UID MOVE", keep=10_000)  # the next MOVE: done, but its OK is lost

    failures = tick_until(poll_tick, ingested(app, dovecot, user, len(certs)), app)

    assert imap.refused == 1 and mid_fetch.fired == 1 and before_move.fired == 1 and after_move.fired == 1
    # the refused and the cut-mid-FETCH ticks failed and the next went on; a failed MOVE fails no tick (the
    # row says where the message belongs, and the next pass files it)
    assert failures >= 2
    assert_nothing_lost(app, dovecot, user, [c for _, c in certs], smtp_server)
    assert len(smtp_server.messages) == len(certs)  # and every receipt went out


def test_a_stalled_imap_server_only_slows_a_pass(tmp_path, db_url, dovecot, proxies, smtp_server):
    imap, smtp = proxies
    app, user = make_proxied_app(tmp_path, db_url, dovecot, imap, smtp)
    certs = certificates(2)
    dovecot.append_many(user, [raw for raw, _ in certs])
    imap.stall()
    threading.Timer(1.5, imap.resume).start()  # shorter than the client's 30 s timeout: nothing breaks
    tick_until(poll_tick, ingested(app, dovecot, user, len(certs)), app, limit=1)
    assert_nothing_lost(app, dovecot, user, [c for _, c in certs], smtp_server)


# ---- receipts over a broken SMTP link ---------------------------------------------------------------

def test_receipts_survive_refusals_stalls_and_a_cut_mid_data(tmp_path, db_url, dovecot, proxies, smtp_server):
    imap, smtp = proxies
    app, user = make_proxied_app(tmp_path, db_url, dovecot, imap, smtp)
    certs = certificates(4)
    dovecot.append_many(user, [raw for raw, _ in certs])
    mid_data = smtp.cut(TO_SERVER, b"Subject:", keep=5)  # the server never sees the end of DATA: discarded
    smtp.refuse(2)
    smtp.stall()
    threading.Timer(1.0, smtp.resume).start()

    tick_until(poll_tick, ingested(app, dovecot, user, len(certs)), app)

    assert mid_data.fired == 1 and smtp.refused == 2
    assert_nothing_lost(app, dovecot, user, [c for _, c in certs], smtp_server)
    # The client handed the whole message to the network before the cut, so it cannot know the server
    # never saw its end: at most once, the receipt is not sent again but marked for a person.
    with session_scope(app.engine) as s:
        states = sorted(n.state for n in s.exec(select(Notice).where(Notice.kind == "receipt")))
    assert len(smtp_server.messages) + states.count("interrupted") == len(certs)
    assert set(states) <= {"sent", "interrupted"}


def test_a_receipt_whose_reply_is_lost_after_the_end_of_data_is_not_delivered_twice(tmp_path, db_url, dovecot,
                                                                                    proxies, smtp_server):
    imap, smtp = proxies
    app, user = make_proxied_app(tmp_path, db_url, dovecot, imap, smtp)
    certs = certificates(1)
    dovecot.append_many(user, [raw for raw, _ in certs])
    smtp.cut(TO_SERVER, b"\r\n.\r\n", keep=5)  # the whole message reaches the server; its "250 OK" does not

    tick_until(poll_tick, ingested(app, dovecot, user, len(certs)), app)

    answered = Counter(m.message["In-Reply-To"] for m in smtp_server.messages)
    assert max(answered.values()) == 1
    with session_scope(app.engine) as s:  # not resent: marked for a person, with the reason
        [receipt] = s.exec(select(Notice).where(Notice.kind == "receipt")).all()
    assert receipt.state == "interrupted" and "may have been delivered" in receipt.error


# ---- submissions over a broken SMTP link ------------------------------------------------------------

def test_approved_drafts_end_sent_or_listed_through_cuts_and_refusals(tmp_path, db_url, dovecot, proxies,
                                                                     smtp_server):
    imap, smtp = proxies
    app, user = make_proxied_app(tmp_path, db_url, dovecot, imap, smtp)
    certs = certificates(4)
    dovecot.append_many(user, [raw for raw, _ in certs])
    tick_until(poll_tick, ingested(app, dovecot, user, len(certs)), app)
    smtp_server.clear()
    with session_scope(app.engine) as s:
        for draft in draft_ops.list_drafts(s, "drafted"):
            draft_ops.approve(s, draft.id, actor="office@testco.example")
    mid_data = smtp.cut(TO_SERVER, b"Subject:", keep=3)  # mid-DATA of the first submission
    smtp.refuse(2)  # then the server is away for a moment
    sent_copy = imap.cut(TO_SERVER, b"APPEND", keep=0)  # and the Sent-folder copy of one submission is cut

    def settled() -> bool:
        with session_scope(app.engine) as s:
            return not s.exec(select(Draft).where(Draft.state.in_(("approved", "sending")))).all()
    tick_until(send_tick, settled, app)

    with session_scope(app.engine) as s:
        drafts = s.exec(select(Draft)).all()
    assert (mid_data.fired, smtp.refused, sent_copy.fired) == (1, 2, 1)  # every fault happened
    assert len(drafts) == len(certs)
    assert {d.state for d in drafts} <= {"sent", "interrupted", "failed"}  # sent, or listed for the admin
    delivered = Counter(m.message["Message-ID"] for m in smtp_server.messages)
    assert max(delivered.values()) == 1  # no submission twice
    sent = {d.smtp_message_id for d in drafts if d.state == "sent"}
    assert sent <= set(delivered)  # every `sent` arrived
    assert len(set(delivered)) <= len(certs)


# ---- the daemon itself ------------------------------------------------------------------------------

def inject(fault: str, imap: FaultProxy, smtp: FaultProxy, rng: random.Random) -> None:
    """One fault of each kind the daemon must ride out; timings and sizes vary with the seed."""
    if fault == "drop":
        imap.drop_all()  # IMAP only: a random SMTP drop could land after the end of DATA (see above)
    elif fault.startswith("stall"):
        target = imap if fault == "stall-imap" else smtp
        target.stall()
        threading.Timer(rng.uniform(0.3, 1.5), target.resume).start()
    elif fault.startswith("refuse"):
        (imap if fault == "refuse-imap" else smtp).refuse(rng.randint(1, 3))
    elif fault == "cut-fetch":
        imap.cut(TO_CLIENT, b"BODY[] {", keep=rng.randint(0, 2000))
    elif fault == "cut-data":
        smtp.cut(TO_SERVER, b"Subject:", keep=rng.randint(0, 8))


FAULTS = ["cut-fetch", "refuse-imap", "cut-data", "drop", "stall-imap", "refuse-smtp", "stall-smtp", "cut-fetch"]


def test_daemon_recovers_by_itself_from_drops_stalls_cuts_and_refusals(tmp_path, db_url, dovecot, proxies,
                                                                      smtp_server):
    imap, smtp = proxies
    app, user = make_proxied_app(tmp_path, db_url, dovecot, imap, smtp)
    config = write_config(tmp_path, db_url, imap_port=imap.port, user=user, password=dovecot.passwords[user],
                          smtp_port=smtp.port, poll_seconds=1)
    certs = certificates(len(FAULTS))
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    print(f"torture seed={seed}")  # shown with a failure; replay by fixing the seed here
    with Daemon(config, tmp_path / "daemon.log") as daemon:
        daemon.wait_for_log("poll done")
        for (raw, _), fault in zip(certs, rng.sample(FAULTS, len(FAULTS)), strict=True):
            inject(fault, imap, smtp, rng)
            dovecot.append(user, raw)
            time.sleep(rng.uniform(0.2, 0.8))
        deadline, check = time.monotonic() + 90, ingested(app, dovecot, user, len(certs))
        while not check():
            assert time.monotonic() < deadline, f"not recovered (seed {seed}):\n{daemon.log.read_text()[-2000:]}"
            time.sleep(0.3)
    assert_nothing_lost(app, dovecot, user, [c for _, c in certs], smtp_server)
    assert [rule.fired for rule in imap.rules + smtp.rules] == [1, 1, 1]  # both cuts mid-FETCH, the one mid-DATA
    assert imap.refused >= 1 and smtp.refused >= 1
