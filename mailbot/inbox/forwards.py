"""The header block a mail client prints above an inline-forwarded message.

Technicians forward the course provider's mail; the provider is named only in the body:

    ---------- Forwarded message ---------        (Gmail)
    -----Original Message-----                    (Outlook, older)
    Begin forwarded message:                      (Apple Mail, often "> "-quoted)
    -------- Forwarded Message --------           (Thunderbird, Subject first)
    From: Provider <courses@provider.example>     (new Outlook: no separator at all)
    Sent: / Date: …   To: …   Subject: …

`parse_forward_block` returns the first (outermost) block: the message the forwarder
actually received. Pure and total: any text gives a ForwardInfo or None, never an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_MAX_SCAN_CHARS = 200_000  # forward headers sit near the top; don't regex megabytes of body
# Outlook and Gmail translate the labels; the common Western ones map to the English key.
_KEY_SYNONYMS = {
    "from": "from", "von": "from", "de": "from", "van": "from", "da": "from",
    "sent": "sent", "gesendet": "sent", "envoyé": "sent", "envoye": "sent", "enviado": "sent",
    "verzonden": "sent", "inviato": "sent",
    "date": "date", "datum": "date", "fecha": "date", "data": "date",
    "to": "to", "an": "to", "à": "to", "para": "to", "aan": "to", "a": "to",
    "cc": "cc", "bcc": "bcc", "reply-to": "reply-to",
    "subject": "subject", "betreff": "subject", "objet": "subject", "asunto": "subject",
    "onderwerp": "subject", "oggetto": "subject", "assunto": "subject",
}
_KEY_LINE = re.compile(
    r"^\s*\**\s*(" + "|".join(sorted(map(re.escape, _KEY_SYNONYMS), key=len, reverse=True))
    + r")\s*\**\s*:\s*\**\s*(.*)$",
    re.IGNORECASE,
)
_MARKERS = re.compile(
    r"(forwarded message|original message|begin forwarded message|weitergeleitete nachricht"
    r"|message transf[ée]r[ée]|mensaje reenviado|urspr[üu]ngliche nachricht|message d'origine"
    r"|mensaje original|doorgestuurd bericht)",
    re.IGNORECASE,
)
_QUOTE_PREFIX = re.compile(r"^(\s*>)+ ?")
_MAILTO_SUFFIX = re.compile(r"<mailto:[^>]*>|\[mailto:([^\]]*)\]", re.IGNORECASE)
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_MAX_BLOCK_LINES = 12
_MAX_CONTINUATIONS = 3


@dataclass(frozen=True)
class ForwardInfo:
    """The original message's sender as printed in the forward block.

    `date` is the text as printed ("Wed, Oct 27, 2021 at 9:31 AM"): clients print it in
    too many local formats to turn into a datetime without guessing.
    """

    from_addr: str | None
    from_name: str | None
    date: str | None
    subject: str | None


def parse_forward_block(text: str) -> ForwardInfo | None:
    """The first forward header block in a plain-text body, or None when there is none."""
    return next(iter(parse_forward_chain(text, limit=1)), None)


def parse_forward_chain(text: str, limit: int = 20) -> list[ForwardInfo]:
    """Every forward header block, outermost first (a forward of a forward has two)."""
    if not isinstance(text, str) or not text:
        return []
    lines = _unquote_lines(text[:_MAX_SCAN_CHARS])
    found: list[ForwardInfo] = []
    for index, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if not match or _key(match) != "from":
            continue
        fields = _collect_block(lines, index)
        if _is_forward_block(fields, _has_marker_above(lines, index)):
            found.append(_forward_info(fields))
            if len(found) >= limit:
                break
    return found


def _unquote_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    return [_QUOTE_PREFIX.sub("", line) for line in text.split("\n")]


def _collect_block(lines: list[str], from_index: int) -> dict[str, str]:
    """Key lines around the From: line, upwards and downwards, with wrapped continuations."""
    fields: dict[str, str] = {}
    start = from_index
    while start > 0 and from_index - start < _MAX_BLOCK_LINES and _KEY_LINE.match(lines[start - 1]):
        start -= 1
    last_key, continuations = None, 0
    window = lines[start : from_index + _MAX_BLOCK_LINES]
    for offset, line in enumerate(window):
        match = _KEY_LINE.match(line)
        if not line.strip() and _next_is_key_line(window, offset):
            continue  # clients that turn <p> per header line into text leave blank lines between
        if match:
            key = _key(match)
            if key in fields and key == "from":
                break  # the next block begins
            fields.setdefault(key, match.group(2).strip())
            last_key, continuations = key, 0
        elif line.strip() and last_key in ("to", "cc", "bcc") and continuations < _MAX_CONTINUATIONS:
            fields[last_key] += " " + line.strip()
            continuations += 1
        else:
            break
    return fields


def _next_is_key_line(window: list[str], offset: int) -> bool:
    following = window[offset + 1] if offset + 1 < len(window) else ""
    match = _KEY_LINE.match(following)
    return bool(match) and _key(match) != "from"


def _key(match: re.Match) -> str:
    return _KEY_SYNONYMS[match.group(1).lower()]


def _has_marker_above(lines: list[str], from_index: int) -> bool:
    for line in reversed(lines[max(0, from_index - 3) : from_index]):
        if _MARKERS.search(line):
            return True
        if line.strip() and not _KEY_LINE.match(line):
            return False
    return False


def _is_forward_block(fields: dict[str, str], marked: bool) -> bool:
    """A lone "From: the team" line in prose is not a header block: ask for company."""
    if not fields.get("from"):
        return False
    others = {"sent", "date", "to", "subject", "cc"} & fields.keys()
    has_when = bool({"sent", "date"} & fields.keys())
    return len(others) >= 1 if marked else (len(others) >= 2 and (has_when or "subject" in fields))


def _forward_info(fields: dict[str, str]) -> ForwardInfo:
    address, name = split_printed_sender(fields["from"])
    return ForwardInfo(
        from_addr=address,
        from_name=name,
        date=(fields.get("date") or fields.get("sent") or None),
        subject=(fields.get("subject") or None),
    )


def split_printed_sender(value: str) -> tuple[str | None, str | None]:
    """("addr", "Name") from printed forms such as `Name <a@b>`, `Name [mailto:a@b]`,
    `Name (a@b)`, `a@b<mailto:a@b>`, `"Name"` or just `Name`."""
    value = _MAILTO_SUFFIX.sub(lambda m: f" <{m.group(1)}>" if m.group(1) else "", value)
    found = _ADDRESS.search(value)
    address = found.group(0).lower().strip(".") if found else None
    name = _ADDRESS.sub(" ", value) if found else value
    name = re.sub(r"[<>()\[\]\"*]|\bmailto:", " ", name)
    name = re.sub(r"\s+", " ", name).strip(" ,;'")
    if address and name.lower() == address:
        name = ""
    return address, (name or None)
