"""SMTP transport against a real aiosmtpd server (tests/smtp_server.py); no mocks."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest


def make_message(subject: str = "Certificate", *, bcc: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Mailbot <bot@example.com>"
    msg["To"] = "renewals@example.org"
    msg["Cc"] = "Tech One <tech1@example.net>"
    if bcc:
        msg["Bcc"] = bcc
    msg["Subject"] = subject
    msg.set_content("Please record the attached course.\n")
    return msg


# -- the test server itself ---------------------------------------------------------------------------


def test_sink_records_envelope_and_connection(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.send_message(make_message("one", bcc="hidden@example.com"))
        client.send_message(make_message("two"))
    first, second = smtp_server.wait_for(2)
    assert first.mail_from == "bot@example.com"
    assert sorted(first.rcpt_tos) == ["hidden@example.com", "renewals@example.org", "tech1@example.net"]
    assert first.message["Subject"] == "one" and first.message["Bcc"] is None
    assert second.connection_id == first.connection_id
    assert smtp_server.connection_count == 1 and smtp_server.transaction_count == 2


def test_sink_scripted_replies_are_consumed_in_order(smtp_server):
    smtp_server.script("451 4.3.0 Try again later", "550 5.7.1 Refused")
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        with pytest.raises(smtplib.SMTPDataError) as first:
            client.send_message(make_message())
        with pytest.raises(smtplib.SMTPDataError) as second:
            client.send_message(make_message())
        client.send_message(make_message())
    assert (first.value.smtp_code, second.value.smtp_code) == (451, 550)
    assert len(smtp_server.wait_for(1)) == 1 and smtp_server.pending_script == 0


def test_sink_starttls_with_auth(smtp_server_factory):
    sink = smtp_server_factory(security="starttls", users={"bot": "s3cret"})
    with smtplib.SMTP(sink.host, sink.port) as client:
        client.starttls(context=sink.client_ssl_context())
        client.login("bot", "s3cret")
        client.send_message(make_message())
    [received] = sink.wait_for(1)
    assert received.auth_user == "bot" and received.tls


def test_sink_clear_forgets_everything(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.send_message(make_message())
    smtp_server.wait_for(1)
    smtp_server.script("451 4.3.0 later")
    smtp_server.clear()
    assert smtp_server.messages == [] and smtp_server.connection_count == 0
    assert smtp_server.pending_script == 0
