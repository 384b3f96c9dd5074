"""robot_reason: mail from machines is recognised so mailbot never answers it."""
from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest

from mailbot.inbox.mime import read_message
from mailbot.inbox.robots import robot_reason


def message(headers: str, body: str = "Hello\n") -> EmailMessage:
    raw = f"From: Morgan Tech <morgan@example.com>\nTo: certs@company.example\nSubject: s\n{headers}\n{body}"
    return email.message_from_string(raw, policy=default_policy)


@pytest.mark.parametrize("headers, word", [
    ("Auto-Submitted: auto-replied\n", "auto-replied"),
    ("Auto-Submitted: auto-generated; owner-email=x@y\n", "auto-generated"),
    ("Precedence: bulk\n", "bulk"),
    ("Precedence: list\n", "list"),
    ("Precedence: junk\n", "junk"),
    ("X-Autoreply: yes\n", "X-Autoreply"),
    ("X-Autorespond: Out of office\n", "X-Autorespond"),
    ("List-Id: Restoration pros <pros.lists.example>\n", "List-Id"),
    ("List-Unsubscribe: <mailto:leave@lists.example>\n", "List-Unsubscribe"),
    ("Return-Path: <>\n", "null sender"),
    ("Return-Path: \n", "null sender"),
    ("X-Failed-Recipients: someone@example.com\n", "bounce"),
])
def test_robot_headers(headers, word):
    reason = robot_reason(message(headers))
    assert reason is not None and word.lower() in reason.lower()


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.com", "Mail Delivery System <MAILER-DAEMON@mx.example>",
                                    "postmaster@company.example"])
def test_daemon_senders(sender):
    msg = email.message_from_string(f"From: {sender}\nSubject: Undelivered\n\nx\n", policy=default_policy)
    assert robot_reason(msg) is not None


def test_delivery_status_report_is_a_bounce():
    bounce = EmailMessage()
    bounce["From"] = "Mail System <noreply@mx.example>"
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce.set_content("Your message could not be delivered.")
    bounce.make_mixed()
    bounce.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b1"')
    parsed = email.message_from_bytes(bounce.as_bytes(), policy=default_policy)
    assert "bounce" in robot_reason(parsed)


def test_read_receipt_report():
    raw = ('From: a@b.example\nContent-Type: multipart/report; report-type=disposition-notification; boundary=x\n\n'
           '--x\nContent-Type: text/plain\n\nread\n--x--\n')
    assert "read receipt" in robot_reason(email.message_from_string(raw, policy=default_policy))


@pytest.mark.parametrize("headers", [
    "",
    "Auto-Submitted: no\n",
    "Precedence: first-class\n",
    "Return-Path: <morgan@example.com>\n",
    "X-Auto-Response-Suppress: All\n",  # Outlook asks others not to auto-reply; it is not one itself
])
def test_people_are_not_robots(headers):
    assert robot_reason(message(headers)) is None


def test_people_whose_address_merely_contains_postmaster_words_are_not_robots():
    msg = email.message_from_string("From: Jo <jo.postmasterson@example.com>\n\nhi\n", policy=default_policy)
    assert robot_reason(msg) is None


def test_malformed_and_huge_headers_do_not_raise():
    msg = message("Auto-Submitted: " + "x" * 1_000_000 + "\nReturn-Path: <<<>\nContent-Type: multipart/report\n")
    assert robot_reason(msg) is not None


def test_read_message_reports_the_robot_reason():
    facts = read_message(b"From: MAILER-DAEMON@mx.example\nReturn-Path: <>\nSubject: failure\n\nsorry\n")
    assert facts.robot_reason is not None
    assert read_message(b"From: a@b.example\nSubject: hi\n\nhi\n").robot_reason is None


@pytest.mark.parametrize("subject, robot", [
    ("Automatic reply: Your certificate", True),
    ("Out of Office: back Monday", True),
    ("Undeliverable: Receipt for your course", True),
    ("Delivery Status Notification (Failure)", True),
    ("Mail delivery failed: returning message to sender", True),
    ("Fwd: Out of office training certificate", False),
    ("Fwd: Certificate of completion", False),
])
def test_automatic_subjects(subject, robot):
    msg = email.message_from_string(f"From: a@b.example\nSubject: {subject}\n\nx\n", policy=default_policy)
    assert (robot_reason(msg) is not None) is robot


def test_bounce_carrying_the_original_certificate_is_still_marked_robot():
    # The caller files it without a reply even though read_message found a PDF in it.
    original = EmailMessage()
    original["From"] = "certs@company.example"
    original["Subject"] = "Receipt"
    original.set_content("Recorded.")
    original.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="r.pdf")
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.example"
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce.set_content("Delivery failed.")
    bounce.add_attachment(original)
    facts = read_message(bounce.as_bytes())
    assert facts.robot_reason is not None and len(facts.documents) == 1
