"""Robots never get an answer: an out-of-office reply and a bounce to a receipt produce no further email.

End to end on real servers: a certificate forwarded to Dovecot → poll_tick → one receipt at aiosmtpd;
then the technician's auto-reply ("Re: Recorded…", Auto-Submitted: auto-replied) and a mailer-daemon
bounce of the receipt are APPENDed → poll_tick → the SMTP server receives nothing new, and a statement run
afterwards still sends exactly one statement (the robot mail recorded nothing).
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from mailbot.jobs import poll_tick
from mailbot.samples import SampleCertificate, certificate_pdf, forwarded_email
from tests.helpers import INBOX_ADDR, make_app
from tests.test_digest_send import smtp_outbox

pytestmark = pytest.mark.servers

CERT = SampleCertificate("Dana Reyes", "Applied Structural Drying Refresher", "7 CECs", "March 14, 2026",
                         "Gulf Coast Restoration Academy", approval_number="ASD-5521")


def out_of_office(receipt: EmailMessage) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Dana Reyes <dana@techs.example>"
    msg["To"] = INBOX_ADDR
    msg["Subject"] = f"Re: {receipt['Subject']}"
    msg["Message-ID"] = make_msgid(domain="techs.example")
    msg["In-Reply-To"] = receipt["Message-ID"]
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("I am out of the office until Monday. For urgent jobs call the shop.")
    return bytes(msg)


def bounce(receipt: EmailMessage) -> bytes:
    """A DSN as an MTA writes it (RFC 3464): multipart/report from MAILER-DAEMON with the receipt inside."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.techs.example>\r\n"
        f"To: {INBOX_ADDR}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.techs.example')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        "--dsn\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered: mailbox full.\r\n"
        "--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.techs.example\r\n\r\n"
        "Final-Recipient: rfc822; dana@techs.example\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        "--dsn\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + receipt.as_bytes(policy=receipt.policy.clone(linesep="\r\n")) + b"\r\n--dsn--\r\n"


def test_out_of_office_and_bounce_to_a_receipt_get_no_answer(tmp_path, db_url, imap_account, smtp_server):  # type: ignore[no-untyped-def]
    from datetime import date

    from mailbot.ledger.db import session_scope
    from mailbot.ledger.techs import add_technician

    inbox = {"kind": "imap", "host": imap_account.host, "port": imap_account.port, "security": "none",
             "username": imap_account.user, "password": imap_account.password,
             "processed_folder": "mailbot/Processed", "review_folder": "mailbot/Review"}
    app = make_app(tmp_path, db_url, inbox=inbox, outbox=smtp_outbox(smtp_server))
    with session_scope(app.engine) as s:
        add_technician(s, "Dana Reyes", ["dana@techs.example"], certifications=[("ASD", date(2024, 3, 1))])
    server = imap_account.server
    server.append(imap_account.user, forwarded_email(
        sender="dana@techs.example", sender_name="Dana Reyes", to=INBOX_ADDR,
        provider_addr="registrar@gulfcoast.example", subject="Your certificate",
        attachment=certificate_pdf(CERT), filename="asd-refresher.pdf"))
    poll_tick(app)
    [receipt] = smtp_server.wait_for(1)
    assert receipt.rcpt_tos == ["dana@techs.example"] and "Recorded" in receipt.message["Subject"]

    server.append(imap_account.user, out_of_office(receipt.message))
    server.append(imap_account.user, bounce(receipt.message))
    report = poll_tick(app)
    assert report.fetched == 2 and report.ignored == 2 and report.receipts_sent == 0
    assert len(smtp_server.messages) == 1  # nothing new at the SMTP server
    assert server.uids(imap_account.user, "INBOX") == []  # filed, not left to be read again

    from mailbot.digests.fanout import send_month

    month = send_month(app, "2026-12")
    assert month.sent == 2  # Dana's one statement and the admin's roll-up: the robots changed nothing
    statements = [m for m in smtp_server.wait_for(3) if "CEC statement" in str(m.message["Subject"])]
    assert [m.rcpt_tos for m in statements] == [["dana@techs.example"]]
    assert "7 of 14" in statements[0].message.get_body(("plain",)).get_content()
