"""The daemon as a real process: it polls on its own, stops cleanly on SIGTERM, and only one leads."""
from __future__ import annotations

import json
import mailbox
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.helpers import INBOX_ADDR

CERT = SampleCertificate("Dana Reyes", "Mold Remediation Update", "4 CEC hours", "2026-02-10", "Acme Academy")


def write_config(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "mailbot.toml"
    path.write_text(f"""
[company]
admins = ["office@testco.example"]
address = "{INBOX_ADDR}"
[database]
url = "{db_url}"
[inbox]
kind = "maildir"
path = "Maildir"
processed_folder = "Processed"
review_folder = "Review"
[outbox]
kind = "file"
path = "outbox"
from = "{INBOX_ADDR}"
[schedule]
poll_seconds = 1
send_seconds = 1
""")
    return str(path)


def cli(config: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "mailbot", "--config", config, *args], capture_output=True, check=False,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_daemon(config: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mailbot", "--config", config, "run"],
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def deliver(tmp_path: Path, raw: bytes) -> None:
    mailbox.Maildir(tmp_path / "Maildir", create=True).add(mailbox.MaildirMessage(raw))


def credits(config: str) -> list[dict]:
    return [json.loads(line) for line in cli(config, "credits", "list", "--json").splitlines()]


def test_daemon_records_mail_and_stops_cleanly_on_sigterm(tmp_path, db_url):
    config = write_config(tmp_path, db_url)
    cli(config, "techs", "add", "--name", "Dana Reyes", "--email", "dana@techs.example")
    daemon = start_daemon(config, tmp_path / "daemon.log")
    try:
        deliver(tmp_path, forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                                          provider_addr="x@acme.example", subject="cert",
                                          attachment=certificate_pdf(CERT)))
        wait_until(lambda: len(credits(config)) == 1)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert "stopped" in (tmp_path / "daemon.log").read_text()


def test_second_daemon_is_a_standby_and_takes_over_when_the_leader_dies(tmp_path, db_url):
    config = write_config(tmp_path, db_url)
    cli(config, "techs", "add", "--name", "Dana Reyes", "--email", "dana@techs.example")
    log1, log2 = tmp_path / "one.log", tmp_path / "two.log"
    first = start_daemon(config, log1)
    wait_until(lambda: "leader" in log1.read_text())
    second = start_daemon(config, log2)
    try:
        wait_until(lambda: "standby" in log2.read_text())
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        wait_until(lambda: "leader pid" in log2.read_text())
        deliver(tmp_path, forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                                          provider_addr="x@acme.example", subject="cert",
                                          attachment=certificate_pdf(CERT)))
        wait_until(lambda: len(credits(config)) == 1)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def test_sighup_rereads_the_config_and_systemd_hears_ready(tmp_path, db_url):
    import socket

    config = write_config(tmp_path, db_url)
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(30)
    log = tmp_path / "daemon.log"
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
    daemon = subprocess.Popen([sys.executable, "-m", "mailbot", "--config", config, "run"],
                              stdout=subprocess.DEVNULL, stderr=log.open("ab"), env=env)
    try:
        first = listener.recv(4096).decode()
        assert "READY=1" in first and "polling every 1s" in first
        Path(config).write_text(Path(config).read_text().replace("poll_seconds = 1", "poll_seconds = 7"))
        daemon.send_signal(signal.SIGHUP)
        messages = [listener.recv(4096).decode() for _ in range(2)]
        assert messages[0] == "RELOADING=1"
        assert "READY=1" in messages[1] and "polling every 7s" in messages[1]  # same process, new config
        assert daemon.poll() is None
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        listener.close()
        if daemon.poll() is None:
            daemon.kill()
