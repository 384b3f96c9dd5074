"""Small pieces of IMAP wire handling that imaplib and imap-tools leave to the caller.

Kept apart from `imap.py` (the adapter's behaviour) because they deal in imaplib's raw response shapes:
FETCH literals, IDLE continuations, lines already sitting in imaplib's read buffer, SASL XOAUTH2.
"""
from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator

from imap_tools import BaseMailBox
from imap_tools.errors import MailboxLoginError, UnexpectedCommandStatusError

_UID_IN_FETCH = re.compile(rb"\bUID (\d+)")


def login_xoauth2(box: BaseMailBox, user: str, token: str) -> None:
    """SASL XOAUTH2 login. On rejection the server sends an error challenge; answer it empty (RFC 7628)."""
    first = [True]

    def respond(_challenge: bytes) -> bytes:
        if first[0]:
            first[0] = False
            return f"user={user}\1auth=Bearer {token}\1\1".encode()
        return b""

    typ, data = box.client.authenticate("XOAUTH2", respond)
    if typ != "OK":
        raise MailboxLoginError((typ, data), "OK")


def idle_start(client: imaplib.IMAP4) -> tuple[bytes, list[bytes]]:
    """Send IDLE and read up to the "+ idling" continuation. Returns the tag and the untagged lines that
    came before it or together with it: those are already in imaplib's buffer, where a socket poll
    would never see them."""
    tag = client._command("IDLE")
    early: list[bytes] = []
    while (response := client._get_response()) is not None:  # None = the continuation
        if client.tagged_commands.get(tag):
            raise imaplib.IMAP4.error(f"IDLE refused: {client.tagged_commands.pop(tag)}")
        early.append(response if response.startswith(b"* ") else b"* " + response)
    return tag, early + _buffered_lines(client)


def idle_done(box: BaseMailBox, tag: bytes) -> list[bytes]:
    """End the IDLE; the lines the server sent before its tagged OK."""
    box.client.send(b"DONE\r\n")
    _, lines = box.consume_until_tagged_response(tag)
    return [line for line in lines if isinstance(line, bytes)]


def _buffered_lines(client: imaplib.IMAP4) -> list[bytes]:
    """Complete lines imaplib has already read from the socket but not handed out."""
    lines = []
    while b"\r\n" in _peek_buffer(client):
        lines.append(client._get_line())
    return lines


def _peek_buffer(client: imaplib.IMAP4) -> bytes:
    """What is buffered without blocking: the socket is non-blocking for the peek, so an empty buffer
    costs one failed read instead of a wait."""
    sock = client.sock
    previous = sock.gettimeout()
    sock.settimeout(0)
    try:
        return client.file.peek(1) or b""
    except OSError:  # BlockingIOError, ssl.SSLWantReadError: nothing there yet
        return b""
    finally:
        sock.settimeout(previous)


def is_exists(line: bytes | None) -> bool:
    return bool(line) and line.startswith(b"* ") and line.rstrip().endswith(b" EXISTS")


def bodies_from_fetch(data: list) -> Iterator[tuple[str, bytes]]:
    """(uid, bytes) from imaplib's FETCH data: (b'1 (UID 7 BODY[] {n}', body) tuples, then b')' trailers."""
    for index, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        found = _UID_IN_FETCH.search(item[0])
        if found is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            found = _UID_IN_FETCH.search(data[index + 1])  # some servers put UID after the literal
        if found is not None:
            yield found.group(1).decode(), item[1]


def server_text(exc: BaseException) -> str:
    if isinstance(exc, UnexpectedCommandStatusError):
        return decode(exc.command_result[1])
    return str(exc)


def decode(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    if isinstance(data, (list, tuple)):
        return " ".join(decode(d) for d in data if d is not None)
    return str(data)


def close_quietly(box: BaseMailBox) -> None:
    try:
        box.client.shutdown()
    except (OSError, EOFError, imaplib.IMAP4.error):
        pass
