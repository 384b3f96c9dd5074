"""Issue 6, "a crash between sending and sent": `mailbot run` sending approved submissions to the real SMTP
server is SIGKILLed again and again. Every approved draft reaches the server at most once, and none is
dropped silently: each ends `sent` (with its Message-ID at the server and in the Sent folder) or
`interrupted`, listed for the admin with the Message-ID it was given before the send.

Size (issue 9, "Torture": at least 20 kills): 60 drafts, 3 approved before each of 20 starts, each start
SIGKILLed at a random moment of its sends (see send_under_fire). MAILBOT_CHAOS_SEED replays a run (the seed is printed)."""
from __future__ import annotations

import os
import random
import time
from collections import Counter

import pytest

from mailbot.app import App
from mailbot.config import load_config
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Draft
from mailbot.samples import SampleCertificate
from tests.chaos import (
    RENEWALS,
    SENT,
    Daemon,
    db_rows,
    forward_pdf,
    header_values,
    json_lines,
    mailbot,
    register,
    technicians,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.servers

DRAFTS, KILLS = 60, 20
PER_TECH = 6


def ingest(config: str, server, user: str, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` certificates forwarded, recorded by one clean pass: `count` drafts waiting for approval."""
    techs = technicians(-(-count // PER_TECH))
    register(config, techs)
    raws = []
    for i in range(count):
        addr, name = techs[i % len(techs)]
        cert = SampleCertificate(name, f"Mold Remediation Refresher Session {i}", f"{i % 5 + 1} CECs",
                                 f"March {i % 28 + 1}, 2026", "Gulf Coast Restoration Academy")
        raws.append(forward_pdf(addr, name, cert, subject=f"certificate {i}"))
    server.deliver_to_maildir(user, raws)
    mailbot(config, "poll", "--once")


def approve(config: str, ids: list[int]) -> None:
    app = App(load_config(config))
    with session_scope(app.engine) as s:
        for draft_id in ids:
            draft_ops.approve(s, draft_id, actor="office@testco.example")
    app.engine.dispose()


def submitted(smtp_server) -> int:  # type: ignore[no-untyped-def]
    return sum(RENEWALS in m.rcpt_tos for m in smtp_server.messages)


def wait_for_submissions(smtp_server, count: int, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Until the server holds `count` submissions (other mail, e.g. a digest tick's, does not count)."""
    deadline = time.monotonic() + timeout
    while submitted(smtp_server) < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # fine-grained: a submission takes a few tens of ms end to end
    return True


def send_under_fire(daemon: Daemon, config: str, smtp_server, ids: list[int], rng: random.Random) -> int:  # type: ignore[no-untyped-def]
    """Approve a few drafts before each start, so each run has sends to be killed in the middle of. The
    kill comes 0–1 s after the run leads, or sooner: 0–50 ms after the server received a random one of this
    run's drafts, so kills spread over claim, SMTP, the Sent copy and the write of `sent` however fast the
    machine is. Returns how many kills came after a submission of their run had arrived."""
    per_run = -(-len(ids) // KILLS)
    mid_send = 0
    for k in range(KILLS):
        approve(config, ids[k * per_run:(k + 1) * per_run])
        before = submitted(smtp_server)
        daemon.start()
        daemon.wait_leading()
        if wait_for_submissions(smtp_server, before + rng.randint(1, per_run), rng.uniform(0.0, 1.0)):
            time.sleep(rng.uniform(0.0, 0.05))
        mid_send += submitted(smtp_server) > before
        daemon.kill()
    return mid_send


def finish(daemon: Daemon, config: str, db_url: str) -> None:
    """One last run left alone until nothing is approved or sending, stopped cleanly; then a one-shot pass."""
    daemon.start()
    daemon.wait_leading()
    wait_until(lambda: not db_rows(db_url, Draft, Draft.state.in_(("approved", "sending"))), timeout=120)
    assert daemon.stop() == 0
    mailbot(config, "send", "--once")


def assert_outcome(config: str, db_url: str, server, user: str, smtp_server, ids: list[int]) -> str:  # type: ignore[no-untyped-def]
    """Each approved draft at the server at most once, and each ends sent or listed as interrupted."""
    drafts = {d.id: d for d in db_rows(db_url, Draft)}
    submissions = [m for m in smtp_server.messages if RENEWALS in m.rcpt_tos]
    per_draft = Counter(int(m.message["X-Mailbot-Draft"]) for m in submissions)
    assert set(per_draft) <= set(ids) and max(per_draft.values()) == 1  # at most once each
    at_server = {int(m.message["X-Mailbot-Draft"]): m.message["Message-ID"] for m in submissions}
    in_sent_folder = set(header_values(server, user, SENT))
    states = Counter(d.state for d in drafts.values())
    assert set(states) <= {"sent", "interrupted"}, states  # nothing approved, sending or failed is left

    for draft in drafts.values():
        assert draft.smtp_message_id, f"draft #{draft.id} has no recorded Message-ID"
        if draft.state == "sent":
            assert at_server.get(draft.id) == draft.smtp_message_id
            assert draft.smtp_message_id in in_sent_folder
        else:  # reached the server or not, it is never resent; if it did, under the recorded Message-ID
            assert at_server.get(draft.id, draft.smtp_message_id) == draft.smtp_message_id
            assert "Sent folder" in (draft.error or "")

    listed = json_lines(mailbot(config, "drafts", "list", "--state", "interrupted", "--json"))
    interrupted = [d for d in drafts.values() if d.state == "interrupted"]
    assert sorted(d["id"] for d in listed) == sorted(d.id for d in interrupted)  # the admin sees each one
    # A Sent copy proves the server accepted it: recovery resolved every such draft as sent.
    assert not [d.id for d in interrupted if d.smtp_message_id in in_sent_folder]
    resolved = [d for d in drafts.values() if d.state == "sent" and "Sent folder" in (d.error or "")]
    delivered = [d for d in interrupted if d.id in at_server]
    return (f"sent={states['sent']} (of which resolved from the Sent folder={len(resolved)}), "
            f"interrupted={len(interrupted)} (of which had reached the server, killed before the Sent "
            f"copy={len(delivered)})")


def test_sigkilled_sender_sends_each_approved_draft_at_most_once_and_drops_none(
        tmp_path, db_url, imap_account, smtp_server):
    seed = int(os.environ.get("MAILBOT_CHAOS_SEED", time.time_ns() % 1_000_000))
    print(f"send chaos seed={seed}")
    server, user = imap_account.server, imap_account.user
    config = write_config(tmp_path, imap_account, smtp_server, db_url)
    started = time.monotonic()
    ingest(config, server, user, DRAFTS)
    ids = [d["id"] for d in json_lines(mailbot(config, "drafts", "list", "--state", "drafted", "--json"))]
    assert len(ids) == DRAFTS
    smtp_server.clear()  # the receipts of the ingest pass; from here on only submissions
    ingested = time.monotonic()

    daemon = Daemon(config, tmp_path / "daemon.log")
    mid_send = send_under_fire(daemon, config, smtp_server, ids, random.Random(seed))
    killed = time.monotonic()
    finish(daemon, config, db_url)
    outcome = assert_outcome(config, db_url, server, user, smtp_server, ids)
    print(f"send chaos: {DRAFTS} drafts, {KILLS} SIGKILLs ({mid_send} after a submission of their run arrived): "
          f"{outcome}; ingest {ingested - started:.1f} s, "
          f"kills {killed - ingested:.1f} s, last run {time.monotonic() - killed:.1f} s")


def test_a_send_cut_short_is_resolved_from_the_sent_folder_and_never_resent(
        tmp_path, db_url, imap_account, smtp_server):
    """The state a SIGKILL leaves, built step by step as the sender does it: both drafts claimed (`sending`,
    Message-ID recorded); the first reached the server and its Sent copy was made, the second never left."""
    from mailbot.mail.outgoing import build

    server, user = imap_account.server, imap_account.user
    config = write_config(tmp_path, imap_account, smtp_server, db_url)
    ingest(config, server, user, 2)
    went_out, never_left = [d["id"] for d in json_lines(mailbot(config, "drafts", "list", "--json"))]
    approve(config, [went_out, never_left])
    app = App(load_config(config))
    with session_scope(app.engine) as s:
        for draft_id in (went_out, never_left):
            assert draft_ops.claim_for_sending(s, draft_id)
            s.get(Draft, draft_id).smtp_message_id = f"<cut-short-{draft_id}@testco.example>"
    with session_scope(app.engine) as s:
        message = build(s.get(Draft, went_out), app.config, f"<cut-short-{went_out}@testco.example>")
    with app.transport() as transport:
        transport.send(message)
    server.append(user, message.as_bytes(), folder=SENT)
    app.engine.dispose()
    smtp_server.clear()

    mailbot(config, "send", "--once")  # recovery, then a send pass

    assert smtp_server.messages == []  # neither is resent
    drafts = {d["id"]: d for d in json_lines(mailbot(config, "drafts", "list", "--json"))}
    assert drafts[went_out]["state"] == "sent" and "Sent folder" in drafts[went_out]["error"]
    assert drafts[never_left]["state"] == "interrupted"  # for the admin: `drafts resend` if it is not there
    assert drafts[never_left]["smtp_message_id"] == f"<cut-short-{never_left}@testco.example>"
