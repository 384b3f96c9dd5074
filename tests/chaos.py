"""Helpers for the ingest and chaos tests: a config pointed at the real Dovecot and SMTP servers, `mailbot`
subprocesses (one-shot commands and the daemon, which the tests kill with SIGKILL), certificates forwarded
in the ways people forward them, and read-only looks at the database the daemon writes."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from sqlalchemy import create_engine
from sqlmodel import Session, select

from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.helpers import INBOX_ADDR

RENEWALS = "renewals@iicrc-test.example"
PROCESSED, REVIEW, SENT = "mailbot/Processed", "mailbot/Review", "Sent"


def write_config(tmp_path: Path, imap_account, smtp_server, db_url: str, *, imap_host: str | None = None,  # type: ignore[no-untyped-def]
                 imap_port: int | None = None, folder: str = "INBOX", poll_seconds: int = 1,
                 send_seconds: int = 1) -> str:
    path = tmp_path / "mailbot.toml"
    path.write_text(f"""
[company]
name = "Test Restoration"
timezone = "UTC"
admins = ["office@testco.example"]
address = "{INBOX_ADDR}"
[database]
url = "{db_url}"
[inbox]
kind = "imap"
host = "{imap_host or imap_account.host}"
port = {imap_port or imap_account.port}
security = "none"
username = "{imap_account.user}"
password = "{imap_account.password}"
folder = "{folder}"
processed_folder = "{PROCESSED}"
review_folder = "{REVIEW}"
[outbox]
kind = "smtp"
host = "{smtp_server.host}"
port = {smtp_server.port}
security = "none"
from = "{INBOX_ADDR}"
sent_folder = "{SENT}"
[iicrc]
live = true
renewals_address = "{RENEWALS}"
[schedule]
poll_seconds = {poll_seconds}
send_seconds = {send_seconds}
[storage]
evidence_dir = "evidence"
""")
    return str(path)


def mailbot(config: str, *args: str, timeout: float = 180) -> str:
    """Run one CLI command to completion; its stdout, or an AssertionError with its stderr.

    On PostgreSQL the leader lock is one advisory lock per database, and other test sessions run daemons
    in other schemas of the same database: a one-shot command refused for that reason is tried again."""
    deadline = time.monotonic() + 120
    while True:
        result = subprocess.run([sys.executable, "-m", "mailbot", "--config", config, *args], check=False,
                                capture_output=True, text=True, timeout=timeout)
        if "daemon is running on this database" not in result.stderr or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert result.returncode == 0, f"mailbot {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Daemon:
    """`mailbot run` as a real process; its stderr goes to `log` (appended across restarts)."""

    def __init__(self, config: str, log: Path):
        self.config, self.log = config, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "mailbot", "--config", self.config, "run"],
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
        self.starts += 1

    def wait_leading(self, timeout: float = 120) -> None:
        """Until this start's process holds the leader lock (its pid in a 'leader pid=' line). Generous: on
        PostgreSQL a daemon of another test session (another schema, same database) may hold the lock."""
        assert self.proc is not None
        marker = f"leader pid={self.proc.pid}"
        wait_until(lambda: marker in self.log.read_text(errors="replace") or self.proc.poll() is not None, timeout)
        assert self.proc.poll() is None, f"daemon exited early:\n{self.log.read_text()[-3000:]}"

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released except by the kernel."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> int:
        """SIGTERM: the running tick finishes, then exit 0."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.proc = None
        return code


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# ---- the ways people forward a certificate ---------------------------------------------------------

def forward_pdf(sender: str, name: str, cert: SampleCertificate, subject: str = "Your certificate") -> bytes:
    return forwarded_email(sender=sender, sender_name=name, to=INBOX_ADDR, provider_addr="desk@academy.example",
                           subject=subject, attachment=certificate_pdf(cert), filename="certificate.pdf")


def forward_as_attachment(sender: str, name: str, cert: SampleCertificate) -> bytes:
    """Outlook's "Forward as attachment": the provider's whole email inside a message/rfc822 part."""
    original = EmailMessage()
    original["From"] = "Training Desk <desk@academy.example>"
    original["To"] = formataddr((name, sender))
    original["Subject"] = "Certificate of completion"
    original["Message-ID"] = make_msgid(domain="academy.example")
    original.set_content("Congratulations! Your certificate is attached.\n")
    original.add_attachment(certificate_pdf(cert), maintype="application", subtype="pdf", filename="cert.pdf")
    outer = EmailMessage()
    outer["From"], outer["To"] = formataddr((name, sender)), INBOX_ADDR
    outer["Subject"], outer["Message-ID"] = "FW: Certificate of completion", make_msgid(domain="techs.example")
    outer.set_content("See attached.\n")
    outer.add_attachment(original)
    return outer.as_bytes()


def forward_zipped_octet_stream(sender: str, name: str, cert: SampleCertificate) -> bytes:
    """The PDF inside a .zip sent as application/octet-stream (what some phones and webmails do)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("my certificate.pdf", certificate_pdf(cert))
    msg = EmailMessage()
    msg["From"], msg["To"] = formataddr((name, sender)), INBOX_ADDR
    msg["Subject"], msg["Message-ID"] = "certificate (zipped)", make_msgid(domain="techs.example")
    msg.set_content("Zipped it, the file was big.\n")
    msg.add_attachment(buf.getvalue(), maintype="application", subtype="octet-stream", filename="certificate.zip")
    return msg.as_bytes()


# ---- read-only looks at what the daemon wrote -----------------------------------------------------

def db_rows(db_url: str, model, *where) -> list:  # type: ignore[no-untyped-def]
    """Rows of a ledger table, read with a short-lived engine of our own (the daemon is another process)."""
    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            return list(s.exec(select(model).where(*where)).all())
    finally:
        engine.dispose()


def deliveries(smtp_server, recipient: str) -> Counter:
    """How many times each original message (In-Reply-To) was answered at `recipient`."""
    return Counter(m.message["In-Reply-To"] for m in smtp_server.messages if recipient in m.rcpt_tos)


def header_values(server, user: str, folder: str, header: str = "Message-ID") -> list[str]:  # type: ignore[no-untyped-def]
    """The `header` of every message in `folder` (BODY.PEEK: read without setting \\Seen)."""
    import email

    with server.client(user) as box:
        typ, _ = box.client.select(f'"{folder}"', readonly=True)
        if typ != "OK":
            return []
        typ, data = box.client.uid("FETCH", "1:*", f"(BODY.PEEK[HEADER.FIELDS ({header.upper()})])")
    values = []
    for item in data:
        if isinstance(item, tuple):
            value = email.message_from_bytes(item[1]).get(header)
            values.append(value.strip() if value else "")
    return values


FIRST = ["Dana", "Lee", "Samira", "Jordan", "Priya", "Tomas", "Grace", "Omar", "Hana", "Victor", "Elena",
         "Marcus", "Ines", "Kofi", "Rosa", "Felix", "Amara", "Dmitri", "Lucia", "Nathan"]
LAST = ["Reyes", "Okafor", "Haddad", "Whitfield", "Raman", "Kowalski", "Lindqvist", "Farouk", "Sato", "Alvarez"]


def technicians(count: int) -> list[tuple[str, str]]:
    """`count` invented technicians as (address, legal name), all different."""
    people = [(f"{first} {LAST[i % len(LAST)]}") for i, first in enumerate(FIRST * (count // len(FIRST) + 1))]
    return [(f"{name.split()[0].lower()}{i}@techs.example", name) for i, name in enumerate(people[:count])]


def register(config: str, techs: list[tuple[str, str]]) -> None:
    """Add technicians straight through the ledger API (a CLI process per technician costs a second each)."""
    from mailbot.app import App
    from mailbot.config import load_config
    from mailbot.ledger.db import session_scope
    from mailbot.ledger.techs import add_technician

    app = App(load_config(config))
    with session_scope(app.engine) as s:
        for addr, name in techs:
            add_technician(s, name, [addr])
    app.engine.dispose()
