"""SMTP transport against a real aiosmtpd server (tests/smtp_server.py); no mocks."""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

import pytest

from mailbot.errors import ConfigError, ProcessingError
from mailbot.mail.smtp import DeliveryUnknown
from mailbot.mail.transport import (
    PartialDeliveryError,
    SentFolderCopy,
    SmtpError,
    SmtpTransport,
    open_transport,
)
from tests.smtp_server import DROP, STALL


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


def test_sink_clear_forgets_everything(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.send_message(make_message())
    smtp_server.wait_for(1)
    smtp_server.script("451 4.3.0 later")
    smtp_server.clear()
    assert smtp_server.messages == [] and smtp_server.connection_count == 0
    assert smtp_server.pending_script == 0


# -- SmtpTransport ------------------------------------------------------------------------------------

FAST = {"backoff": (0.01, 0.05), "timeout": 5}
PASSWORD = "correct-horse-7"


def transport_for(sink, **overrides) -> SmtpTransport:
    return SmtpTransport(**sink.settings(**{**FAST, **overrides}))


def test_batch_of_three_uses_one_connection_with_right_envelope(smtp_server):
    messages = [make_message("first", bcc="Auditor <audit@example.com>"), make_message("second"),
                make_message("third")]
    with transport_for(smtp_server) as transport:
        sent_ids = [transport.send(msg) for msg in messages]
    received = smtp_server.wait_for(3)
    assert smtp_server.connection_count == 1
    assert [r.message["Subject"] for r in received] == ["first", "second", "third"]
    assert [r.message["Message-ID"] for r in received] == sent_ids
    first = received[0]
    assert first.mail_from == "bot@example.com"
    assert set(first.rcpt_tos) == {"renewals@example.org", "tech1@example.net", "audit@example.com"}
    assert first.message["Cc"] == "Tech One <tech1@example.net>"
    assert first.message["Bcc"] is None and b"audit@example.com" not in first.raw
    assert set(received[1].rcpt_tos) == {"renewals@example.org", "tech1@example.net"}


def test_message_id_added_on_from_domain_and_existing_one_kept(smtp_server):
    fresh, preset = make_message("fresh"), make_message("preset")
    preset["Message-ID"] = "<preset-123@mailbot.example>"
    with transport_for(smtp_server) as transport:
        fresh_id = transport.send(fresh)
        preset_id = transport.send(preset)
    assert fresh_id.startswith("<") and fresh_id.endswith("@example.com>")
    assert fresh["Message-ID"] == fresh_id
    assert preset_id == "<preset-123@mailbot.example>"
    assert [r.message["Message-ID"] for r in smtp_server.wait_for(2)] == [fresh_id, preset_id]


def test_send_outside_a_batch_closes_its_connection(smtp_server):
    transport = transport_for(smtp_server)
    transport.send(make_message("one"))
    transport.send(make_message("two"))
    smtp_server.wait_for(2)
    assert smtp_server.connection_count == 2


def test_starttls_with_auth_delivers(smtp_server_factory):
    sink = smtp_server_factory(security="starttls", users={"bot": PASSWORD})
    with transport_for(sink) as transport:
        transport.send(make_message())
    [received] = sink.wait_for(1)
    assert received.auth_user == "bot" and received.tls


def test_wrong_password_is_permanent_and_never_shows_the_password(smtp_server_factory, caplog):
    sink = smtp_server_factory(security="starttls", users={"bot": PASSWORD})
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-battery-9"
    with pytest.raises(SmtpError) as failure, transport_for(sink, password=wrong) as transport:
        transport.send(make_message())
    error = failure.value
    assert error.permanent and error.code == 535
    assert "'bot'" in str(error)
    assert wrong not in str(error) and wrong not in caplog.text and wrong not in repr(transport)
    assert sink.connection_count == 1 and sink.transaction_count == 0  # not retried
    assert sink.messages == []


def test_implicit_tls_with_auth_delivers(smtp_server_factory):
    sink = smtp_server_factory(security="ssl", users={"bot": PASSWORD})
    with transport_for(sink) as transport:
        transport.send(make_message())
    [received] = sink.wait_for(1)
    assert received.auth_user == "bot" and received.tls


def test_untrusted_certificate_is_permanent(smtp_server_factory):
    sink = smtp_server_factory(security="ssl")
    with pytest.raises(SmtpError) as failure:
        transport_for(sink, ssl_context=ssl.create_default_context()).send(make_message())
    assert failure.value.permanent and "certificate" in str(failure.value)
    assert sink.messages == []


def test_starttls_not_offered_is_permanent_never_plain_text(smtp_server):
    with pytest.raises(SmtpError) as failure:
        transport_for(smtp_server, security="starttls").send(make_message())
    assert failure.value.permanent and "STARTTLS" in str(failure.value)
    assert smtp_server.transaction_count == 0


@pytest.mark.parametrize("stage", ["mail", "data"])
def test_421_then_250_delivers_once_on_a_new_connection(smtp_server, stage):
    smtp_server.script("421 4.3.2 Service shutting down", stage=stage)
    message_id = transport_for(smtp_server).send(make_message())
    [received] = smtp_server.wait_for(1)
    assert received.message["Message-ID"] == message_id
    assert smtp_server.transaction_count == 2 and smtp_server.connection_count == 2


def test_451_twice_then_250_delivers_once(smtp_server):
    smtp_server.script("451 4.3.0 Try again later", "451 4.3.0 Try again later")
    with transport_for(smtp_server) as transport:
        transport.send(make_message())
    assert len(smtp_server.wait_for(1)) == 1
    assert smtp_server.transaction_count == 3 and smtp_server.pending_script == 0


def test_dropped_connection_before_data_is_retried_and_delivers_once(smtp_server):
    smtp_server.script(DROP, stage="rcpt")  # nothing of the message was sent yet: a retry is safe
    with transport_for(smtp_server) as transport:
        transport.send(make_message())
    assert len(smtp_server.wait_for(1)) == 1
    assert smtp_server.connection_count == 2


def test_connection_lost_after_the_whole_message_is_not_sent_again(smtp_server):
    """The server may have accepted it: at most once, so the caller gets DeliveryUnknown, not a retry."""
    smtp_server.script(DROP)  # after the end of DATA, before the reply
    with pytest.raises(DeliveryUnknown) as unknown, transport_for(smtp_server) as transport:
        transport.send(make_message())
    assert unknown.value.permanent and "may have been delivered" in str(unknown.value)
    assert smtp_server.transaction_count == 1


def test_550_is_permanent_with_the_server_reason_after_one_attempt(smtp_server):
    smtp_server.script("550 5.7.1 Message rejected as spam")
    with pytest.raises(SmtpError) as failure, transport_for(smtp_server) as transport:
        transport.send(make_message())
    error = failure.value
    assert error.permanent and error.code == 550
    assert "550" in str(error) and "5.7.1 Message rejected as spam" in str(error)
    assert smtp_server.transaction_count == 1 and smtp_server.messages == []


def test_connection_survives_a_550_for_the_next_message_in_the_batch(smtp_server):
    smtp_server.script("550 5.7.1 Rejected")
    with transport_for(smtp_server) as transport:
        with pytest.raises(SmtpError):
            transport.send(make_message("refused"))
        transport.send(make_message("accepted"))
    [received] = smtp_server.wait_for(1)
    assert received.message["Subject"] == "accepted" and smtp_server.connection_count == 1


def test_transient_failures_give_up_after_bounded_attempts(smtp_server):
    smtp_server.script(*["451 4.3.0 Busy"] * 10)
    with pytest.raises(SmtpError) as failure:
        transport_for(smtp_server, retries=2).send(make_message())
    error = failure.value
    assert not error.permanent and error.code == 451 and "4.3.0 Busy" in str(error)
    assert "3 attempts" in str(error)
    assert smtp_server.transaction_count == 3 and smtp_server.pending_script == 7


def test_stopped_server_is_a_transient_error_after_bounded_attempts(smtp_server, caplog):
    transport = transport_for(smtp_server, retries=3)
    smtp_server.stop()
    caplog.set_level(logging.WARNING, logger="mailbot.mail.smtp")
    with pytest.raises(SmtpError) as failure:
        transport.send(make_message())
    assert not failure.value.permanent and "4 attempts" in str(failure.value)
    assert "Connection refused" in str(failure.value)
    retries_logged = [r for r in caplog.records if r.name == "mailbot.mail.smtp" and "retrying" in r.message]
    assert len(retries_logged) == 3


def test_some_recipients_refused_reports_them_without_resending(smtp_server):
    smtp_server.script("550 5.1.1 No such user", stage="rcpt")  # the first RCPT: renewals@
    with pytest.raises(PartialDeliveryError) as failure:
        transport_for(smtp_server).send(make_message())
    error = failure.value
    assert error.permanent and list(error.refused) == ["renewals@example.org"]
    assert "renewals@example.org" in str(error) and "5.1.1 No such user" in str(error)
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["tech1@example.net"] and received.message["Message-ID"] == error.message_id


def test_all_recipients_refused_is_permanent_with_the_addresses(smtp_server):
    smtp_server.script("550 5.1.1 No such user", "553 5.1.3 Bad address", stage="rcpt")
    with pytest.raises(SmtpError) as failure:
        transport_for(smtp_server).send(make_message())
    error = failure.value
    assert error.permanent and "renewals@example.org" in str(error) and "tech1@example.net" in str(error)
    assert smtp_server.transaction_count == 1 and smtp_server.messages == []


def test_message_without_recipients_is_permanent_and_never_connects(smtp_server):
    msg = EmailMessage()
    msg["From"] = "bot@example.com"
    msg["Subject"] = "nobody"
    msg.set_content("x")
    with pytest.raises(ProcessingError) as failure:
        transport_for(smtp_server).send(msg)
    assert failure.value.permanent and "recipients" in str(failure.value)
    assert smtp_server.connection_count == 0


def test_malformed_message_id_is_permanent_and_never_connects(smtp_server):
    msg = make_message()
    msg["Message-ID"] = "<two words@example.com>"
    with pytest.raises(ProcessingError) as failure:
        transport_for(smtp_server).send(msg)
    assert failure.value.permanent and "Message-ID" in str(failure.value)
    assert smtp_server.connection_count == 0


# -- open_transport -----------------------------------------------------------------------------------


def test_open_transport_builds_smtp_from_an_outbox_section(smtp_server):
    transport = open_transport("smtp", host=smtp_server.host, port=smtp_server.port, security="none",
                               username="", password="", password_file="", tls_verify=True,
                               path="outbox", **{"from": "bot@example.com"}, **FAST)
    assert isinstance(transport, SmtpTransport)
    with transport:
        transport.send(make_message())
    assert len(smtp_server.wait_for(1)) == 1


def test_open_transport_defaults_the_port_from_security():
    assert open_transport("smtp", host="mail.example.com", security="ssl").port == 465
    assert open_transport("smtp", host="mail.example.com").port == 587


@pytest.mark.parametrize(
    ("kind", "settings", "named"),
    [
        ("pigeon", {}, "outbox.kind"),
        ("smtp", {"port": 25}, "outbox.host"),
        ("smtp", {"host": "h", "hots": "typo"}, "outbox.hots"),
        ("file", {}, "outbox.path"),
        ("smtp", {"host": "h", "security": "tls"}, "security"),
    ],
)
def test_open_transport_bad_settings_name_the_key(kind, settings, named):
    with pytest.raises(ConfigError) as failure:
        open_transport(kind, **settings)
    assert named in str(failure.value)


def test_connection_closed_by_the_server_between_messages_is_reopened_without_a_retry(smtp_server):
    with transport_for(smtp_server, retries=0) as transport:
        transport.send(make_message("before"))
        smtp_server.drop_connections()
        transport.send(make_message("after"))
    assert [r.message["Subject"] for r in smtp_server.wait_for(2)] == ["before", "after"]
    assert smtp_server.connection_count == 2


def test_a_server_that_stops_answering_times_out_and_is_retried(smtp_server):
    smtp_server.script(STALL, stage="mail")  # stalls before the message is sent: a retry is safe
    with transport_for(smtp_server, timeout=0.5) as transport:
        message_id = transport.send(make_message())
    [received] = smtp_server.wait_for(1)
    assert received.message["Message-ID"] == message_id
    assert smtp_server.transaction_count == 2 and smtp_server.connection_count == 2


def test_a_server_that_stops_answering_after_the_message_is_not_sent_again(smtp_server):
    smtp_server.script(STALL)  # the whole message was sent; the reply never comes
    with pytest.raises(DeliveryUnknown), transport_for(smtp_server, timeout=0.5) as transport:
        transport.send(make_message())
    assert smtp_server.transaction_count == 1


def test_non_ascii_recipient_goes_out_with_smtputf8(smtp_server):
    msg = make_message()
    msg.replace_header("To", "Zoë <zoë@example.org>")
    transport_for(smtp_server).send(msg)
    [received] = smtp_server.wait_for(1)
    assert "zoë@example.org" in received.rcpt_tos


# -- a copy in the Sent folder (real Dovecot) ---------------------------------------------------------


@pytest.mark.servers
def test_sent_copy_is_appended_to_the_sent_folder_with_bcc(smtp_server, imap_account):
    from mailbot.inbox.imap import ImapSource

    imap = ImapSource(imap_account.host, imap_account.port, security="none", username=imap_account.user,
                      password=imap_account.password, timeout=10)
    with imap, SentFolderCopy(transport_for(smtp_server), lambda raw: imap.append("Sent", raw)) as out:
        message_id = out.send(make_message("copied", bcc="audit@example.com"))
    assert out.append_failures == []
    [delivered] = smtp_server.wait_for(1)
    assert delivered.message["Bcc"] is None
    with imap_account.server.client(imap_account.user) as box:
        box.folder.set("Sent")
        [copy] = list(box.fetch(mark_seen=False))
    assert copy.headers["message-id"] == (message_id,)
    assert copy.subject == "copied" and copy.bcc == ("audit@example.com",)


@pytest.mark.servers
def test_failed_sent_copy_is_reported_not_raised(smtp_server, imap_account):
    from mailbot.inbox.imap import ImapSource

    imap = ImapSource(imap_account.host, imap_account.port, security="none", username=imap_account.user,
                      password="not-the-password", timeout=10)
    with SentFolderCopy(transport_for(smtp_server), lambda raw: imap.append("Sent", raw)) as out:
        message_id = out.send(make_message())
    assert len(smtp_server.wait_for(1)) == 1
    [(failed_id, reason)] = out.append_failures
    assert failed_id == message_id and "login" in reason.lower()
    assert "not-the-password" not in reason


def test_xoauth2_token_authenticates(smtp_server_factory):
    sink = smtp_server_factory(security="starttls", oauth_tokens={"bot@example.com": "ya29.token-1"})
    with transport_for(sink) as transport:
        transport.send(make_message())
    [received] = sink.wait_for(1)
    assert received.auth_user == "bot@example.com"


def test_rejected_xoauth2_token_is_permanent_and_never_shows_the_token(smtp_server_factory, caplog):
    sink = smtp_server_factory(security="starttls", oauth_tokens={"bot@example.com": "ya29.token-1"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SmtpError) as failure:
        transport_for(sink, oauth2_token=lambda: "ya29.expired").send(make_message())
    assert failure.value.permanent and failure.value.code == 535
    assert "bot@example.com" in str(failure.value) and "ya29" not in str(failure.value)
    assert "ya29" not in caplog.text
    assert sink.transaction_count == 0 and len(sink.auth_attempts) == 1


def test_verify_logs_in_and_sends_nothing(smtp_server_factory):
    sink = smtp_server_factory(security="starttls", users={"bot": PASSWORD})
    transport_for(sink).verify()
    assert [(a.username, a.success) for a in sink.auth_attempts] == [("bot", True)]
    assert sink.transaction_count == 0


def test_verify_names_the_failing_step(smtp_server_factory):
    sink = smtp_server_factory(security="starttls", users={"bot": PASSWORD})
    with pytest.raises(SmtpError) as bad_login:
        transport_for(sink, password="nope-nope").verify()
    with pytest.raises(SmtpError) as bad_cert:
        transport_for(sink, ssl_context=ssl.create_default_context()).verify()
    assert "login as 'bot'" in str(bad_login.value) and "certificate" in str(bad_cert.value)
