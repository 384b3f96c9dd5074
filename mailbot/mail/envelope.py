"""What every transport needs from a message before it goes out: its Message-ID and its envelope."""
from __future__ import annotations

from email.errors import ObsoleteHeaderDefect
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid, parseaddr

from mailbot.errors import ProcessingError

FALLBACK_MSGID_DOMAIN = "mailbot.invalid"


def ensure_message_id(msg: EmailMessage) -> str:
    """Return the message's Message-ID, first adding one (on the From domain) if it has none.

    Raises a permanent ProcessingError for a Message-ID that would not go out as it reads: the stdlib
    parser silently truncates some malformed ones (a space cuts "<a b@x>" to "<a"), and the ID returned
    here is what the ledger uses to find the message again.
    """
    existing = msg.get("Message-ID")
    if existing and str(existing).strip():
        message_id = str(existing).strip()
        if not _is_faithful(existing):
            raise ProcessingError(f"message has a malformed Message-ID: {message_id[:200]!r}", permanent=True)
        return message_id
    if "Message-ID" in msg:  # present but blank: replace rather than add a second header
        del msg["Message-ID"]
    _, from_addr = parseaddr(str(msg.get("From", "")))
    domain = from_addr.rpartition("@")[2].strip() if "@" in from_addr else ""
    msg["Message-ID"] = make_msgid(domain=domain or FALLBACK_MSGID_DOMAIN)
    return str(msg["Message-ID"])


# Parser complaints that leave the value intact (the ID still goes out exactly as given).
_HARMLESS_DEFECTS = ("invalid repeated '.'", "invalid leading '.'", "invalid trailing '.'")


def _is_faithful(header: object) -> bool:
    """True when the header holds the Message-ID as the caller gave it and it can be written as is."""
    for defect in getattr(header, "defects", ()):  # compat32 headers are plain str: no defects, no parsing
        if isinstance(defect, ObsoleteHeaderDefect) or str(defect).lower().startswith(_HARMLESS_DEFECTS):
            continue
        return False
    text = str(header).strip()
    return (text.isascii() and text.startswith("<") and text.endswith(">") and "@" in text
            and not any(char.isspace() for char in text))


def envelope_of(msg: EmailMessage) -> tuple[str, list[str]]:
    """(envelope sender, recipients): Sender or From, and To + Cc + Bcc without duplicates, in order.

    Raises a permanent ProcessingError when either is missing: resending would not fix the message.
    """
    _, sender = parseaddr(str(msg.get("Sender") or msg.get("From") or ""))
    if "@" not in sender:
        raise ProcessingError("message has no usable From address", permanent=True)
    fields = [str(value) for name in ("To", "Cc", "Bcc") for value in msg.get_all(name, [])]
    recipients: list[str] = []
    for _, address in getaddresses(fields):
        if "@" in address and address not in recipients:
            recipients.append(address)
    if not recipients:
        raise ProcessingError("message has no recipients in To, Cc or Bcc", permanent=True)
    return sender, recipients
