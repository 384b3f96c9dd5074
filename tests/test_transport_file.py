"""FileTransport (the embedded file outbox) on a real directory."""
from __future__ import annotations

import email
import email.policy
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.errors import ProcessingError
from mailbot.mail.fileoutbox import safe_file_stem
from mailbot.mail.transport import FileTransport, ensure_message_id, envelope_of, open_transport

SAFE_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+=-")


def make_message(subject: str = "Certificate", *, message_id: str | None = None,
                 attachment: bytes = b"") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Mailbot <bot@example.com>"
    msg["To"] = "renewals@example.org"
    msg["Cc"] = "tech1@example.net"
    msg["Bcc"] = "audit@example.com"
    msg["Subject"] = subject
    if message_id is not None:
        msg["Message-ID"] = message_id
    msg.set_content("Please record the attached course.\n")
    if attachment:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="cert.pdf")
    return msg


def parse(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def fixed_clock() -> datetime:
    return datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)


def test_writes_one_parseable_eml_per_message(tmp_path):
    outbox = tmp_path / "outbox"
    with FileTransport(outbox) as transport:
        first_id = transport.send(make_message("first"))
        second_id = transport.send(make_message("second"))
    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # nothing else: no temporary files left
    parsed = {parse(f)["Message-ID"]: parse(f) for f in files}
    assert set(parsed) == {first_id, second_id}
    assert parsed[first_id]["Subject"] == "first" and parsed[second_id]["Subject"] == "second"
    assert parsed[first_id]["Cc"] == "tech1@example.net"


def test_bcc_is_not_written_and_the_callers_message_keeps_it(tmp_path):
    msg = make_message()
    transport = FileTransport(tmp_path)
    transport.send(msg)
    assert b"audit@example.com" not in transport.last_path.read_bytes()
    assert msg["Bcc"] == "audit@example.com"


def test_file_name_is_timestamp_then_message_id(tmp_path):
    transport = FileTransport(tmp_path, clock=fixed_clock)
    transport.send(make_message(message_id="<abc.123@example.com>"))
    assert transport.last_path.name == "20260301T123005.123456Z-abc.123@example.com.eml"


def test_message_id_added_when_missing_on_the_from_domain(tmp_path):
    msg = make_message()
    message_id = FileTransport(tmp_path).send(msg)
    assert message_id.endswith("@example.com>") and msg["Message-ID"] == message_id


@pytest.mark.parametrize(
    "odd_id",
    [
        "<../../etc/passwd@evil.example>",
        "<a+b=c/d?e'$x|{y}~#%^!&@x.example>",
        '<"quoted"@x.example>',
        "<.hidden@x.example>",
        "<%2F..%00@x.example>",
        "<" + "x" * 500 + "@long.example>",
        "<id@[192.0.2.1]>",
    ],
)
def test_odd_message_ids_give_safe_names_inside_the_outbox(tmp_path, odd_id):
    outbox = tmp_path / "outbox"
    transport = FileTransport(outbox)
    assert transport.send(make_message(message_id=odd_id)) == odd_id
    [written] = list(outbox.iterdir())
    assert written.parent == outbox and written == transport.last_path
    assert set(written.name) <= SAFE_NAME_CHARS and not written.name.startswith(".")
    assert len(written.name) < 120
    assert parse(written)["Message-ID"] == odd_id


@pytest.mark.parametrize("malformed", ["<a b@x.example>", "<a;b@x.example>", "<a@b@c>", "no-brackets@x",
                                       "<no-at-sign>", "<ünïcødé@x.example>"])
def test_malformed_message_id_is_refused_rather_than_written_truncated(tmp_path, malformed):
    with pytest.raises(ProcessingError) as failure:
        FileTransport(tmp_path).send(make_message(message_id=malformed))
    assert failure.value.permanent and "Message-ID" in str(failure.value)
    assert list(tmp_path.iterdir()) == []


def test_same_message_id_at_the_same_instant_never_overwrites(tmp_path):
    transport = FileTransport(tmp_path, clock=fixed_clock)
    transport.send(make_message("one", message_id="<same@example.com>"))
    transport.send(make_message("two", message_id="<same@example.com>"))
    subjects = sorted(parse(f)["Subject"] for f in tmp_path.glob("*.eml"))
    assert subjects == ["one", "two"]


def test_a_reader_never_sees_a_partial_file(tmp_path):
    """A reader polling *.eml while large messages are written only ever finds complete messages."""
    attachment = bytes(range(256)) * 4096  # 1 MiB
    count, problems, done = 12, [], threading.Event()

    def read_while_writing() -> None:
        while not done.is_set():
            for path in tmp_path.glob("*.eml"):
                parts = list(parse(path).iter_attachments())
                if len(parts) != 1 or parts[0].get_content() != attachment:
                    problems.append(path.name)

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        transport = FileTransport(tmp_path)
        for number in range(count):
            transport.send(make_message(f"m{number}", attachment=attachment))
    finally:
        done.set()
        reader.join()
    assert problems == []
    assert len(list(tmp_path.glob("*.eml"))) == count and list(tmp_path.glob(".tmp-*")) == []


def test_message_without_recipients_is_a_permanent_error_and_writes_nothing(tmp_path):
    msg = EmailMessage()
    msg["From"] = "bot@example.com"
    msg.set_content("x")
    with pytest.raises(ProcessingError) as failure:
        FileTransport(tmp_path).send(msg)
    assert failure.value.permanent and list(tmp_path.iterdir()) == []


def test_outbox_path_that_is_a_file_is_a_permanent_error(tmp_path):
    not_a_dir = tmp_path / "outbox"
    not_a_dir.write_text("oops")
    with pytest.raises(ProcessingError) as failure:
        FileTransport(not_a_dir).send(make_message())
    assert failure.value.permanent and str(not_a_dir) in str(failure.value)


def test_open_transport_builds_the_file_outbox(tmp_path):
    transport = open_transport("file", path=str(tmp_path / "out"), host="", port=0, security="starttls")
    assert isinstance(transport, FileTransport)
    with transport:
        transport.send(make_message())
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1


# -- pure helpers shared by both transports -----------------------------------------------------------


@given(st.text(max_size=300))
def test_safe_file_stem_is_always_safe(message_id):
    stem = safe_file_stem(message_id)
    assert stem and set(stem) <= SAFE_NAME_CHARS
    assert not stem.startswith(".") and len(stem) <= 80


def test_envelope_is_to_cc_bcc_without_duplicates_in_order():
    msg = EmailMessage()
    msg["From"] = "Office <office@example.com>"
    msg["To"] = "Renewals <renewals@example.org>, b@example.net"
    msg["Cc"] = "b@example.net, Tech <tech@example.net>"
    msg["Bcc"] = "audit@example.com"
    assert envelope_of(msg) == (
        "office@example.com",
        ["renewals@example.org", "b@example.net", "tech@example.net", "audit@example.com"],
    )


def test_envelope_sender_prefers_the_sender_header():
    msg = make_message()
    msg["Sender"] = "robot@example.com"
    assert envelope_of(msg)[0] == "robot@example.com"


def test_message_id_without_a_from_domain_uses_a_reserved_one():
    msg = EmailMessage()
    msg["From"] = "no-domain"
    assert ensure_message_id(msg).endswith("@mailbot.invalid>")


def test_missing_from_is_a_permanent_error():
    msg = EmailMessage()
    msg["To"] = "renewals@example.org"
    with pytest.raises(ProcessingError) as failure:
        envelope_of(msg)
    assert failure.value.permanent and "From" in str(failure.value)
