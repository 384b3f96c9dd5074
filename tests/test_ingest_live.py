"""The running daemon against the real Dovecot and aiosmtpd servers: IMAP IDLE picks a forwarded certificate
up while the poll interval is an hour away, and a Dovecot stop/start under the daemon is ridden out — it
reconnects and catches up on its own, including mail delivered while IMAP was down."""
from __future__ import annotations

import time

import pytest

from mailbot.ledger.health import JobHealth
from mailbot.ledger.models import Credit
from mailbot.samples import SampleCertificate
from tests.chaos import Daemon, db_rows, forward_pdf, register, wait_until, write_config

pytestmark = pytest.mark.servers

DANA = ("dana@techs.example", "Dana Reyes")


def cert(n: int) -> bytes:
    return forward_pdf(*DANA, SampleCertificate("Dana Reyes", f"Odor Control Workshop Session {n}", "3 CECs",
                                                f"April {n}, 2026", "Gulf Coast Restoration Academy"),
                       subject=f"certificate {n}")


def health(db_url: str, name: str) -> JobHealth | None:
    rows = db_rows(db_url, JobHealth, JobHealth.name == name)
    return rows[0] if rows else None


def failures(db_url: str, name: str) -> int:
    row = health(db_url, name)
    return row.consecutive_failures if row else 0


def message_id(raw: bytes) -> str:
    from email.parser import BytesHeaderParser

    return BytesHeaderParser().parsebytes(raw)["Message-ID"].strip()


def idle_connected(db_url: str) -> bool:
    row = health(db_url, "idle")
    return row is not None and row.consecutive_failures == 0 and row.last_ok_at is not None


def test_a_message_appended_while_the_daemon_idles_is_recorded_and_answered_within_seconds(
        tmp_path, db_url, imap_account, smtp_server):
    config = write_config(tmp_path, imap_account, smtp_server, db_url, poll_seconds=3600, send_seconds=3600)
    register(config, [DANA])
    daemon = Daemon(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        daemon.wait_leading()
        wait_until(lambda: "poll done" in daemon.log.read_text() and idle_connected(db_url), timeout=60)
        time.sleep(1)  # the watcher is now inside IDLE; the next scheduled poll is an hour away
        waits = []
        for n in (1, 2, 3):
            started = time.monotonic()
            imap_account.server.append(imap_account.user, cert(n))
            receipt = smtp_server.wait_for(n, timeout=30)[-1]
            waits.append(time.monotonic() - started)
            assert receipt.rcpt_tos == [DANA[0]] and "Recorded" in receipt.message["Subject"]
            assert len(db_rows(db_url, Credit)) == n
        print(f"IDLE: append → receipt at the SMTP server in {', '.join(f'{w:.2f}' for w in waits)} s")
        assert max(waits) < 10, waits  # only IDLE can explain it: the poll interval is 3600 s
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def test_dovecot_stopped_and_restarted_under_the_daemon_is_caught_up_without_help(
        tmp_path, db_url, imap_account, smtp_server):
    server, user = imap_account.server, imap_account.user
    config = write_config(tmp_path, imap_account, smtp_server, db_url, poll_seconds=1)
    register(config, [DANA])
    daemon = Daemon(config, tmp_path / "daemon.log")
    daemon.start()
    try:
        raws = {n: cert(n) for n in (1, 2, 3)}
        daemon.wait_leading()
        server.append(user, raws[1])
        smtp_server.wait_for(1, timeout=30)

        server.stop()
        # Both the poll job and the IDLE watcher notice the outage; the daemon keeps going.
        wait_until(lambda: failures(db_url, "poll") >= 2 and failures(db_url, "idle") >= 1, timeout=30)
        server.deliver_to_maildir(user, [raws[2]])  # the MTA still delivers while IMAP is down
        time.sleep(2)
        outage_started = time.monotonic()
        server.start()
        server.append(user, raws[3])

        receipts = smtp_server.wait_for(3, timeout=60)
        caught_up = time.monotonic() - outage_started
        assert sorted(c.course_title for c in db_rows(db_url, Credit)) == [
            f"Odor Control Workshop Session {n}" for n in (1, 2, 3)]
        assert sorted(m.message["In-Reply-To"] for m in receipts) == sorted(message_id(r) for r in raws.values())
        wait_until(lambda: idle_connected(db_url), timeout=60)  # the IDLE watcher is back too
        assert server.uids(user, "INBOX") == []
        assert daemon.proc is not None and daemon.proc.poll() is None  # same process, no restart needed
        print(f"Dovecot restart: caught up {caught_up:.1f} s after the server came back")
        assert daemon.stop() == 0
    finally:
        daemon.kill()
