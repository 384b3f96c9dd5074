"""Raw RFC 5322 bytes → MailFacts: who forwarded it, who it came from, what it carries.

`read_message` never raises on bad input. Whatever it cannot read (a part over a limit,
a zip bomb, a "PDF" that is an HTML page, nesting too deep for the parser) becomes a
readable line in `MailFacts.problems`, and everything else is still read.
"""
from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes, utils
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy

from mailbot.domain import MailFacts
from mailbot.inbox.forwards import parse_forward_chain, split_printed_sender
from mailbot.inbox.htmltext import html_to_text
from mailbot.inbox.identity import normalize_address
from mailbot.inbox.limits import MB, MimeLimits
from mailbot.inbox.parts import find_documents
from mailbot.inbox.robots import robot_reason

__all__ = ["MimeLimits", "read_message"]

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_BODY_SPLIT = re.compile(rb"\r?\n\r?\n")
_PLAIN_ADDRESS = re.compile(r"^[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+$")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class _BoundedPolicy(EmailPolicy):
    """policy.default, except each header is cut short before structured parsing: the
    parser is super-linear, and a 10 MB Subject must not cost minutes."""

    max_header_chars = MimeLimits.max_header_chars

    def __init__(self, **kw):  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        # Every msg.get() (and get_content_type(), get_filename() …) parses the header again, dozens of
        # times per part while walking a message: parse each distinct header once per message read.
        # Parsed headers are immutable, and each read_message makes its own policy, so nothing is shared
        # between messages.
        object.__setattr__(self, "_parsed", {})

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):  # already a parsed header object
            return value
        cache_key = (name.lower(), value)
        parsed = self._parsed.get(cache_key)
        if parsed is None:
            short = value[: self.max_header_chars] if len(value) > self.max_header_chars else value
            parsed = self._parsed[cache_key] = super().header_fetch_parse(name, short)
        return parsed


def read_message(raw: bytes, limits: MimeLimits | None = None) -> MailFacts:
    """Everything mailbot needs from one email. Never raises on bad input."""
    limits = limits or MimeLimits()
    problems: list[str] = []
    if not isinstance(raw, (bytes, bytearray)):
        raw, problems = b"", [f"not a message: got {type(raw).__name__} instead of bytes"]
    try:
        return _read(bytes(raw), limits, problems)
    except Exception as exc:  # noqa: BLE001 - last line of defence: the daemon must go on
        return _empty_facts(problems + [f"message could not be read ({type(exc).__name__}: {exc})"[:300]])


def _read(raw: bytes, limits: MimeLimits, problems: list[str]) -> MailFacts:
    policy = _BoundedPolicy(max_header_chars=limits.max_header_chars)
    msg, whole = _parse(raw, limits, policy, problems)
    # Each stage is guarded on its own, so a bug in one (say, attachments) still leaves the
    # sender and subject known and the message can be filed for review with a reason.
    html_bodies = _attempt("body", lambda: _html_bodies(msg), [], problems) if whole else []
    body_text = _attempt("body", lambda: _body_text(msg, html_bodies), "", problems) if whole else ""
    documents, part_problems = (_attempt("attachments", lambda: find_documents(msg, limits, html_bodies),
                                         ([], []), problems) if whole else ([], []))
    from_addr, from_name = _sender(msg)
    return MailFacts(
        from_addr=from_addr,
        from_name=from_name,
        message_id=_first_message_id(_header(msg, "Message-ID")),
        subject=" ".join((_header(msg, "Subject") or "").split()),
        date=_date(msg),
        in_reply_to=_first_message_id(_header(msg, "In-Reply-To")),
        references=tuple(_MESSAGE_ID.findall(_header(msg, "References") or ""))[:100],
        robot_reason=robot_reason(msg),
        original_sender=_provider(msg, body_text, html_bodies, from_addr, problems) if whole else None,
        body_text=body_text,
        documents=tuple(documents),
        problems=tuple(problems + part_problems),
    )


def _attempt(stage: str, compute, default, problems: list[str]):
    try:
        return compute()
    except Exception as exc:  # noqa: BLE001 - see _read: one stage failing must not lose the rest
        problems.append(f"message could not be read ({stage}: {type(exc).__name__})")
        return default


def _parse(raw: bytes, limits: MimeLimits, policy: EmailPolicy, problems: list[str]) -> tuple[Message, bool]:
    """(message, True) normally; (headers only, False) when the body must not or cannot be read."""
    if len(raw) > limits.max_message_bytes:
        problems.append(f"message is {len(raw) / MB:.1f} MB, over the {limits.max_message_bytes / MB:.0f} MB "
                        "limit; only its headers were read")
        return _headers_only(raw, policy), False
    try:
        return message_from_bytes(raw, policy=policy), True
    except RecursionError:
        problems.append("message is nested too deeply to read; only its headers were read")
    except Exception as exc:  # noqa: BLE001 - the stdlib parser is lenient, but not perfectly so
        problems.append(f"message structure could not be parsed ({type(exc).__name__}); only its headers were read")
    return _headers_only(raw, policy), False


def _headers_only(raw: bytes, policy: EmailPolicy) -> Message:
    split = _BODY_SPLIT.search(raw, 0, 2 * MB)
    head = raw[: split.start()] if split else raw[: 2 * MB]
    try:
        return BytesHeaderParser(policy=policy).parsebytes(head + b"\n\n")
    except Exception:  # noqa: BLE001
        return BytesHeaderParser(policy=policy).parsebytes(b"\n\n")


def _empty_facts(problems: list[str]) -> MailFacts:
    return MailFacts(from_addr=None, from_name=None, message_id=None, subject="", date=None,
                     in_reply_to=None, references=(), robot_reason=None, original_sender=None,
                     body_text="", documents=(), problems=tuple(problems))


def _header(msg: Message, name: str) -> str | None:
    """The decoded header text, falling back to the raw text when structured parsing fails."""
    try:
        value = msg.get(name)
        return None if value is None else str(value)
    except Exception:  # noqa: BLE001 - known stdlib header-parser crashes on malformed input
        for key, value in msg.raw_items():
            if key.lower() == name.lower():
                return str(value)
        return None


def _sender(msg: Message) -> tuple[str | None, str | None]:
    try:
        addresses = msg["From"].addresses if msg["From"] is not None else ()
    except Exception:  # noqa: BLE001 - fall back to the lenient parser below
        addresses = ()
    if addresses and "@" in addresses[0].addr_spec:
        address, name = addresses[0].addr_spec, addresses[0].display_name
    else:  # the stdlib refuses some headers outright (e.g. an encoded CR/LF in the name)
        name, address = utils.parseaddr(_header(msg, "From") or "")
        name = _decoded_words(name)
    return _clean_address(address), _clean_name(name)


def _decoded_words(text: str) -> str:
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # noqa: BLE001 - unknown charset, bad base64: keep it as written
        return text


def _clean_address(address: str) -> str | None:
    """Lower-cased, or None unless it is one plain address: an encoded-word display name can
    smuggle CR/LF ("Bcc: …") and a quoted local part spaces, and both end up in replies."""
    address = (address or "").strip().lower()
    return address if _PLAIN_ADDRESS.match(address) else None


def _clean_name(name: str | None) -> str | None:
    return " ".join(_CONTROL_CHARS.sub(" ", name or "").split())[:200] or None


def _first_message_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MESSAGE_ID.search(value)
    return found.group(0) if found else (value.strip() or None)


def _date(msg: Message) -> datetime | None:
    try:
        header = msg["Date"]
        parsed = getattr(header, "datetime", None)
        return parsed if isinstance(parsed, datetime) else None
    except Exception:  # noqa: BLE001 - bad dates are common; None is the documented answer
        return None


def _top_level_leaves(msg: Message) -> list[Message]:
    """Body candidates: leaves of the outer message, not inside attached messages."""
    leaves, stack = [], [msg]
    while stack and len(leaves) < 200:
        part = stack.pop()
        if part.get_content_maintype() == "message":
            continue
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(child for child in reversed(payload) if isinstance(child, Message))
        elif part.get_content_disposition() != "attachment" and not part.get_filename():
            leaves.append(part)
    return leaves


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()
    except Exception:  # noqa: BLE001 - unknown charset etc.: decode by hand below
        content = None
    if isinstance(content, str):
        return content
    data = part.get_payload(decode=True) or b""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else ""


def _html_bodies(msg: Message) -> list[str]:
    return [_text_of(part) for part in _top_level_leaves(msg) if part.get_content_type() == "text/html"]


def _body_text(msg: Message, html_bodies: list[str]) -> str:
    for part in _top_level_leaves(msg):
        if part.get_content_type() == "text/plain":
            text = _text_of(part).replace("\r\n", "\n").strip()
            if text:  # some clients send an empty plain alternative beside the real HTML
                return text
    return html_to_text(html_bodies[0]) if html_bodies else ""


def _provider(msg: Message, body_text: str, html_bodies: list[str], forwarder: str | None,
              problems: list[str]) -> str | None:
    return _attempt("forward header", lambda: _original_sender(msg, body_text, html_bodies, forwarder), None,
                    problems)


def _original_sender(msg: Message, body_text: str, html_bodies: list[str], forwarder: str | None) -> str | None:
    """The provider: from the forward header blocks in the body (plain text first, then the
    HTML alternative), else the sender of the first message attached as message/rfc822.

    The first block whose sender is not the forwarder wins: a technician who first sent the
    provider's mail from a personal address to a work one leaves their own block on top.
    """
    for text in [body_text] + [html_to_text(html) for html in html_bodies[:1]]:
        for info in parse_forward_chain(text):
            if info.from_addr and normalize_address(info.from_addr) != normalize_address(forwarder or ""):
                return info.from_addr
    return _attached_message_sender(msg)


def _attached_message_sender(msg: Message) -> str | None:
    stack = [msg]
    while stack:
        part = stack.pop(0)
        payload = part.get_payload() if part.is_multipart() else None
        if not isinstance(payload, list):
            continue
        if part is not msg and part.get_content_type() == "message/rfc822" and payload:
            address, _ = split_printed_sender(_header(payload[0], "From") or "")
            return address
        stack.extend(child for child in payload if isinstance(child, Message))
    return None
