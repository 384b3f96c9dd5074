"""Is this message from a machine? Then mailbot files it and never answers.

Answering an auto-reply, a bounce or a mailing list is how two robots start mailing each
other forever (RFC 3834 §2). The checks follow RFC 3834 (Auto-Submitted), RFC 2369/2919
(List-*), RFC 3464/6522 (multipart/report) and the de-facto Precedence / X-Autoreply headers.
"""
from __future__ import annotations

import re
from email.message import Message

_ROBOT_LOCAL_PARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Autoreply-From")
_LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post")
_ADDRESS_IN_ANGLES = re.compile(r"<([^<>]*)>")
_HEADER_PEEK_CHARS = 2000
# Robots that set none of the headers above still announce themselves in the subject
# (Exchange OOF, Postfix/Exim/Gmail bounces). Anchored at the start: "Fwd: Out of office
# training certificate" is a person's forward.
_ROBOT_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|autoreply|out of (the )?office|undeliverable|undelivered mail"
    r"|delivery status notification|mail delivery (failed|failure|subsystem)|returned mail|delivery failure)\b",
    re.IGNORECASE,
)


def robot_reason(msg: Message) -> str | None:
    """A short reason when `msg` was sent by a machine (bounce, auto-reply, list, bulk), else None."""
    for check in (_report_reason, _auto_submitted_reason, _autoreply_reason, _precedence_reason,
                  _list_reason, _null_sender_reason, _daemon_sender_reason, _failed_recipients_reason,
                  _subject_reason):
        try:
            reason = check(msg)
        except Exception:  # noqa: BLE001 - a malformed header must not make a robot look human
            reason = None
        if reason:
            return reason
    return None


def header_text(msg: Message, name: str) -> str | None:
    """The header's raw text, unfolded and cut short; None when absent.

    Raw on purpose: the policy's structured parsing is slow on huge values and can raise on
    malformed ones, and every check here only needs a keyword.
    """
    value = _raw_header(msg, name)
    if value is None:
        return None
    return " ".join(value[:_HEADER_PEEK_CHARS].split())


def _raw_header(msg: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def _report_reason(msg: Message) -> str | None:
    if msg.get_content_type() != "multipart/report":
        return None
    report_type = (msg.get_param("report-type") or "").lower()
    if report_type == "disposition-notification":
        return "read receipt (multipart/report)"
    return "delivery status report (bounce)"


def _auto_submitted_reason(msg: Message) -> str | None:
    value = header_text(msg, "Auto-Submitted")
    if value is None or value.split(";")[0].strip().lower() in ("", "no"):
        return None
    return f"Auto-Submitted: {value.split(';')[0].strip()[:40]}"


def _autoreply_reason(msg: Message) -> str | None:
    for name in _AUTOREPLY_HEADERS:
        if header_text(msg, name) is not None:
            return f"auto-reply ({name} header)"
    return None


def _precedence_reason(msg: Message) -> str | None:
    value = (header_text(msg, "Precedence") or "").strip().lower()
    return f"Precedence: {value}" if value in _BULK_PRECEDENCE else None


def _list_reason(msg: Message) -> str | None:
    for name in _LIST_HEADERS:
        if header_text(msg, name) is not None:
            return f"mailing list ({name} header)"
    return None


def _null_sender_reason(msg: Message) -> str | None:
    value = header_text(msg, "Return-Path")
    if value is None:
        return None
    inside = _ADDRESS_IN_ANGLES.search(value)
    address = (inside.group(1) if inside else value).strip()
    return "null sender (Return-Path: <>), a bounce" if address == "" else None


def _daemon_sender_reason(msg: Message) -> str | None:
    for name in ("From", "Sender"):
        value = (header_text(msg, name) or "").lower()
        for local in _ROBOT_LOCAL_PARTS:
            if re.search(rf"(^|[\s<\"']){local}(@|\s|>|$)", value):
                return f"sent by {local.upper() if local.startswith('mailer') else local}"
    return None


def _failed_recipients_reason(msg: Message) -> str | None:
    return "bounce (X-Failed-Recipients header)" if header_text(msg, "X-Failed-Recipients") is not None else None


def _subject_reason(msg: Message) -> str | None:
    subject = header_text(msg, "Subject") or ""
    found = _ROBOT_SUBJECT.match(subject)
    return f"automatic subject ({found.group(0).strip()!r})" if found else None
