"""Outbound mail transports: SMTP or the embedded file outbox, behind one small interface.

    with open_transport("smtp", host="mail.example.com", port=587, username="bot", password=secret) as out:
        for msg in approved:
            message_id = out.send(msg)

A transport is a context manager: entering starts a batch (SMTP opens one connection on first use and reuses
it), leaving ends it. `send` returns the Message-ID that went out (one is added when missing) and raises
`ProcessingError` with `permanent` set for anything that went wrong.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from mailbot.errors import ConfigError, MailbotError
from mailbot.mail.envelope import ensure_message_id, envelope_of
from mailbot.mail.fileoutbox import FileTransport
from mailbot.mail.smtp import PartialDeliveryError, SmtpError, SmtpTransport

log = logging.getLogger(__name__)

__all__ = [
    "FileTransport",
    "PartialDeliveryError",
    "SentFolderCopy",
    "SmtpError",
    "SmtpTransport",
    "Transport",
    "ensure_message_id",
    "envelope_of",
    "open_transport",
]


class Transport(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, msg: EmailMessage) -> str:
        """Send (or write) one message; return its Message-ID. Raises ProcessingError."""
        ...


class SentFolderCopy:
    """Wraps a transport so each message that went out is also APPENDed to the mailbox's Sent folder.

    `append(raw)` stores the bytes (e.g. `lambda raw: imap.append("Sent", raw)`) and signals failure with a
    MailbotError (ImapSource raises ProcessingError) or OSError. The copy keeps Bcc, as
    mail clients' Sent copies do, so the shared mailbox shows every recipient. A failed APPEND is logged and
    listed in `append_failures`, never raised: the message did go out, and calling it failed would invite
    a second send.
    """

    def __init__(self, inner: Transport, append: Callable[[bytes], None]):
        self.inner = inner
        self.append = append
        self.append_failures: list[tuple[str, str]] = []  # (Message-ID, reason)

    def __enter__(self) -> Self:
        self.inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.inner.__exit__(exc_type, exc, tb)

    def send(self, msg: EmailMessage) -> str:
        try:
            message_id = self.inner.send(msg)
        except PartialDeliveryError as partial:  # delivered to some recipients: it belongs in Sent too
            self._copy(msg, partial.message_id)
            raise
        self._copy(msg, message_id)
        return message_id

    def _copy(self, msg: EmailMessage, message_id: str) -> None:
        try:
            self.append(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
        except (MailbotError, OSError) as exc:  # reported, never raised (see the class docstring)
            log.warning("sent %s but could not copy it to the Sent folder: %s", message_id, exc)
            self.append_failures.append((message_id, str(exc)))


# Keys of the [outbox] config section that a given kind does not use; accepted and ignored so a caller can
# pass the whole section.
_SHARED_OUTBOX_KEYS = {"kind", "from", "from_", "password_file", "tls_verify"}
_SMTP_KEYS = {"host", "port", "security", "username", "password", "timeout", "ssl_context", "retries",
              "backoff", "local_hostname", "oauth2_token"}
_FILE_KEYS = {"path"}
_DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


def open_transport(kind: str, **settings) -> Transport:
    """Build the transport an [outbox] section names. Raises ConfigError naming the offending key."""
    if kind == "file":
        used = _check_keys(settings, _FILE_KEYS, ignorable=_SMTP_KEYS)
        if not used.get("path"):
            raise ConfigError('config key outbox.path is required when outbox.kind = "file"')
        return FileTransport(Path(used["path"]))
    if kind == "smtp":
        used = _check_keys(settings, _SMTP_KEYS, ignorable=_FILE_KEYS)
        if not used.get("host"):
            raise ConfigError('config key outbox.host is required when outbox.kind = "smtp"')
        used = {key: value for key, value in used.items() if value not in (None, "")}
        used.setdefault("port", _DEFAULT_PORTS.get(used.get("security", "starttls"), 587))
        return SmtpTransport(**used)
    raise ConfigError(f'config key outbox.kind must be "smtp" or "file", not {kind!r}')


def _check_keys(settings: dict, wanted: set[str], *, ignorable: set[str]) -> dict:
    unknown = sorted(set(settings) - wanted - ignorable - _SHARED_OUTBOX_KEYS)
    if unknown:
        raise ConfigError(f"config key outbox.{unknown[0]} is not a known outbox setting")
    return {key: value for key, value in settings.items() if key in wanted}
