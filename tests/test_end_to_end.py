"""The whole spine on real servers: a forwarded certificate APPENDed to Dovecot → `mailbot poll --once` →
credit, draft, receipt at the SMTP server, message moved and still unseen → approve → exactly one
submission at the SMTP server, to the renewals address, with the PDF and the right fields."""
from __future__ import annotations

import subprocess
import sys

import pytest

from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.chaos import RENEWALS, write_config
from tests.helpers import INBOX_ADDR

pytestmark = pytest.mark.servers

CERT = SampleCertificate("Dana Reyes", "Applied Structural Drying Refresher", "7 CECs", "March 14, 2026",
                         "Gulf Coast Restoration Academy", approval_number="ASD-5521")


def mailbot(config: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mailbot", "--config", config, *args],
                          capture_output=True, text=True, timeout=120, check=False)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def json_lines(text: str) -> list[dict]:
    import json

    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_forward_to_submission_on_real_servers(tmp_path, imap_account, smtp_server, db_url):
    config = write_config(tmp_path, imap_account, smtp_server, db_url)
    ok(mailbot(config, "techs", "add", "--name", "Dana Reyes", "--email", "dana@techs.example",
               "--iicrc-id", "IICRC-778899", "--cert", "ASD:2024-03-01"))
    pdf = certificate_pdf(CERT)
    raw = forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                          provider_addr="registrar@gulfcoast.example", subject="Your certificate",
                          attachment=pdf, filename="asd-refresher.pdf")
    server = imap_account.server
    server.append(imap_account.user, raw)

    ok(mailbot(config, "poll", "--once"))

    [credit] = json_lines(ok(mailbot(config, "credits", "list", "--json")))
    assert (credit["tech_email"], credit["hours"], credit["completed_on"]) == ("dana@techs.example", 7, "2026-03-14")
    assert credit["course_title"].lower() == CERT.title.lower()
    [draft] = json_lines(ok(mailbot(config, "drafts", "list", "--json")))
    assert (draft["state"], draft["to"], draft["cc"]) == ("drafted", RENEWALS, ["dana@techs.example"])

    [receipt] = smtp_server.wait_for(1)
    assert receipt.rcpt_tos == ["dana@techs.example"]
    assert receipt.message["Auto-Submitted"] == "auto-replied"
    assert "Recorded" in receipt.message["Subject"]
    assert "awaits approval" in receipt.message.get_body(("plain",)).get_content()

    assert server.uids(imap_account.user, "INBOX") == []
    [(_uid, flags)] = server.flags(imap_account.user, "mailbot/Processed").items()
    assert "\\Seen" not in flags  # people still see it as unread

    ok(mailbot(config, "drafts", "approve", str(draft["id"])))
    ok(mailbot(config, "send", "--once"))
    ok(mailbot(config, "send", "--once"))  # a second run sends nothing more

    messages = smtp_server.wait_for(2)
    submissions = [m for m in messages if RENEWALS in m.rcpt_tos]
    assert len(submissions) == 1
    sub = submissions[0]
    assert sorted(sub.rcpt_tos) == sorted([RENEWALS, "dana@techs.example"])  # technician in Cc
    assert sub.message["Cc"] == "dana@techs.example"
    assert sub.message["Reply-To"] == INBOX_ADDR
    text = sub.message.get_body(("plain",)).get_content()
    for expected in ("Dana Reyes", "IICRC-778899", CERT.title, "Gulf Coast Restoration Academy", "ASD-5521",
                     "2026-03-14", "CEC hours:               7"):
        assert expected in text
    [attachment] = list(sub.message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf  # the original bytes
    [sent] = json_lines(ok(mailbot(config, "drafts", "list", "--json")))
    assert sent["state"] == "sent" and sent["smtp_message_id"] == sub.message["Message-ID"]


def test_bad_messages_go_to_review_and_the_pass_continues(tmp_path, imap_account, smtp_server, db_url):
    config = write_config(tmp_path, imap_account, smtp_server, db_url)
    ok(mailbot(config, "techs", "add", "--name", "Dana Reyes", "--email", "dana@techs.example"))
    server = imap_account.server
    no_pdf = forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                             provider_addr="x@provider.example", subject="link only", attachment=None)
    broken = forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                             provider_addr="x@provider.example", subject="broken", attachment=b"%PDF-1.4 garbage",
                             filename="broken.pdf")
    stranger = forwarded_email(sender="stranger@elsewhere.example", sender_name="Stranger", to=INBOX_ADDR,
                               provider_addr="x@provider.example", subject="cert",
                               attachment=certificate_pdf(CERT), filename="c.pdf")
    good = forwarded_email(sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
                           provider_addr="x@provider.example", subject="good", attachment=certificate_pdf(CERT))
    for raw in (no_pdf, broken, stranger, good):
        server.append(imap_account.user, raw)

    ok(mailbot(config, "poll", "--once"))

    assert len(server.uids(imap_account.user, "mailbot/Review")) == 3
    assert len(server.uids(imap_account.user, "mailbot/Processed")) == 1
    assert server.uids(imap_account.user, "INBOX") == []
    assert len(json_lines(ok(mailbot(config, "credits", "list", "--json")))) == 1
    receipts = smtp_server.wait_for(3)
    assert sorted(m.rcpt_tos[0] for m in receipts) == ["dana@techs.example"] * 3  # nothing to the stranger
    subjects = " | ".join(m.message["Subject"] for m in receipts)
    assert "could not find a certificate" in subjects


def test_unknown_config_key_is_a_one_line_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[inbox]\nhostname = "x"\n')
    result = mailbot(str(path), "techs", "list")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "inbox.hostname" in result.stderr


def test_usage_error_exits_2():
    result = subprocess.run([sys.executable, "-m", "mailbot", "drafts", "approve"], capture_output=True, text=True, check=False)
    assert result.returncode == 2


def test_every_command_has_help_with_an_example():
    from mailbot.cli.main import cli

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            yield f"{prefix} {name}".strip(), cmd
            if hasattr(cmd, "commands"):
                yield from walk(cmd, f"{prefix} {name}")

    for name, cmd in walk(cli, ""):
        assert "Example" in (cmd.help or ""), f"`mailbot {name} --help` has no example"

