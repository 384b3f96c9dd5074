"""`mailbot demo`: a throwaway workspace (SQLite ledger, Maildir inbox, file outbox) that shows the whole flow."""
from __future__ import annotations

import mailbox
import secrets
import shutil
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mailbot.app import App
from mailbot.config import Config, parse_config
from mailbot.errors import MailbotError
from mailbot.jobs import PassReport, poll_tick, send_tick
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import session_scope
from mailbot.ledger.techs import add_technician
from mailbot.mail.outgoing import SendReport, build
from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email

MARKER = ".mailbot-demo"
INBOX = "certs@demo-restoration.example"
TECHS = [
    ("Dana Reyes", ["dana.reyes@demo-restoration.example"], "DEMO-100234", [("WRT", date(2023, 4, 3))]),
    ("Marcus Lee", ["marcus@demo-restoration.example", "mlee.mobile@demo-mail.example"], "DEMO-100871",
     [("WRT", date(2022, 9, 12)), ("AMRT", date(2024, 2, 20))]),
]


DEMO_TOML = f"""\
# Written by `mailbot demo`. Relative paths are relative to this file.
[company]
name = "Demo Restoration Co."
timezone = "America/Chicago"
admins = ["office@demo-restoration.example"]
address = "{INBOX}"

[database]
url = "sqlite:///mailbot.db"

[inbox]
kind = "maildir"
path = "Maildir"
processed_folder = "Processed"
review_folder = "Review"

[outbox]
kind = "file"
path = "outbox"
from = "{INBOX}"

[iicrc]
live = false  # fail-closed: submissions go to test_address until an admin sets live = true
test_address = "office@demo-restoration.example"

[approvals]
secret = "{{secret}}"  # made up for this workspace: admins may also approve by replying APPROVE
"""


def demo_config(root: Path) -> Config:
    path = root / "mailbot.toml"
    return parse_config(tomllib.loads(path.read_text()), env={}, source=str(path), base_dir=root)


def _seed_inbox(maildir: Path) -> None:
    box = mailbox.Maildir(maildir, create=True)
    dana = SampleCertificate("Dana Reyes", "Applied Microbial Remediation Refresher", "7 CECs", "March 14, 2026",
                             "Gulf Coast Restoration Academy", approval_number="DEMO-4471")
    marcus = SampleCertificate("Marcus Lee", "Drying Structures After Category 3 Losses",
                               "3.5 CEC hours", "2026-03-02", "Northwind Training Online")
    dana_pdf = certificate_pdf(dana)
    messages = [
        forwarded_email(sender="dana.reyes@demo-restoration.example", sender_name="Dana Reyes", to=INBOX,
                        provider_addr="registrar@gulfcoast-academy.example", subject="Your certificate",
                        attachment=dana_pdf, filename="AMRT-refresher-certificate.pdf"),
        forwarded_email(sender="mlee.mobile@demo-mail.example", sender_name="Marcus Lee", to=INBOX,
                        provider_addr="lms@northwind-training.example", subject="Course complete",
                        attachment=certificate_pdf(marcus), filename="certificate.pdf"),
        forwarded_email(sender="dana.reyes@demo-restoration.example", sender_name="Dana Reyes", to=INBOX,
                        provider_addr="registrar@gulfcoast-academy.example", subject="Your certificate (again)",
                        attachment=dana_pdf, filename="AMRT-refresher-certificate.pdf",
                        note="Sending this again just in case."),
        forwarded_email(sender="marcus@demo-restoration.example", sender_name="Marcus Lee", to=INBOX,
                        provider_addr="lms@northwind-training.example", subject="Download your certificate",
                        attachment=None, note="They sent me a link, is this enough?"),
        forwarded_email(sender="someone@unknown-sender.example", sender_name="Someone", to=INBOX,
                        provider_addr="promo@unknown-sender.example", subject="Free webinar",
                        attachment=certificate_pdf(dana), filename="cert.pdf"),
    ]
    for raw in messages:
        box.add(mailbox.MaildirMessage(raw))


def build_workspace(root: Path) -> App:
    """Create (or re-create) the demo workspace at `root` and return an App for it."""
    root = root.resolve()
    if root.exists():
        if not (root / MARKER).exists():
            raise MailbotError(f"{root} exists and is not a mailbot demo workspace; choose another --dir")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("created by `mailbot demo`; safe to delete\n")
    (root / "mailbot.toml").write_text(DEMO_TOML.replace("{secret}", secrets.token_hex(16)))
    app = App(demo_config(root))
    with session_scope(app.engine) as s:
        for name, emails, iicrc_id, certs in TECHS:
            add_technician(s, name, emails, iicrc_id=iicrc_id, certifications=certs)
    _seed_inbox(root / "Maildir")
    return app


def export_drafts(app: App, folder: Path) -> list[Path]:
    """Write each waiting draft as an .eml file people can open in their mail program."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with session_scope(app.engine) as s:
        for draft in draft_ops.list_drafts(s, "drafted"):
            path = folder / f"draft-{draft.id}.eml"
            path.write_bytes(build(draft, app.config, f"<draft-{draft.id}@mailbot.invalid>").as_bytes())
            paths.append(path)
    return paths


@dataclass
class DemoRun:
    root: Path
    poll: PassReport
    drafts_exported: list[Path]
    approved_id: int | None
    send: SendReport
    outbox_files: list[Path] = field(default_factory=list)


def run_demo(root: Path) -> DemoRun:
    app = build_workspace(root)
    report = poll_tick(app)
    exported = export_drafts(app, app.config.base_dir / "drafts")
    with session_scope(app.engine) as s:
        waiting = draft_ops.list_drafts(s, "drafted")
        approved = draft_ops.approve(s, waiting[0].id, actor="demo:admin").id if waiting else None
    sent = send_tick(app)
    outbox = sorted(app.config.resolve_path(app.config.outbox.path).glob("*.eml"))
    return DemoRun(app.config.base_dir, report, exported, approved, sent, outbox)
