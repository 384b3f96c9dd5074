"""Every candidate certificate in a parsed message, found by walking its MIME tree.

The walk is iterative with an explicit stack (stdlib `walk()` recurses, and a 1,000-level
multipart would hit the recursion limit) and bounded by MimeLimits. Labels are only hints:
each leaf's bytes are sniffed, containers (zip, winmail.dat) are opened one level deep,
and decorations (signature logos, tracking pixels) are dropped.
"""
from __future__ import annotations

import base64
import quopri
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.errors import MissingHeaderBodySeparatorDefect
from email.message import Message

from mailbot.domain import Document
from mailbot.inbox.containers import Opened, open_tnef, open_zip
from mailbot.inbox.limits import MB, MimeLimits
from mailbot.inbox.names import safe_filename
from mailbot.inbox.sniff import HEIC, IMAGE_TYPES, describe_bytes, image_size, sniff_content_type

_ZIP_TYPES = {"application/zip", "application/x-zip-compressed", "application/x-zip"}
_ENCRYPTED_TYPES = {"application/pkcs7-mime", "application/x-pkcs7-mime", "application/pgp-encrypted"}
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
# Parts that ride along with ordinary mail; skipping them is not worth a note to the admin.
_UNREMARKABLE_TYPES = {
    "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature",
    "application/pgp-keys", "text/calendar", "text/vcard", "text/x-vcard", "image/gif",
    "message/delivery-status", "message/disposition-notification", "text/rfc822-headers",
}
# Decorations: nothing narrower than this can carry a legible certificate (a phone photo or
# a scan is 1000+ px), while logos, banners and tracking pixels always are.
_MIN_CERT_SIDE_PX = 100
_MIN_CERT_LONG_SIDE_PX = 300
# An image the HTML body shows through cid: is a signature logo when it is also small in bytes
# and in size. Both, because a pasted screenshot of a certificate (1000+ px, mostly white) can
# compress under 40 KB too; a logo wrongly kept costs one OCR pass, a certificate dropped is lost.
_MAX_LOGO_BYTES = 40 * 1024
_MAX_LOGO_LONG_SIDE_PX = 800
_TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"  # 0x223E9F78, little-endian
_DATA_URI = re.compile(r"data:(?:image/[a-z.+-]+|application/pdf);base64,([A-Za-z0-9+/=\s]+)", re.IGNORECASE)
_CID_REF = re.compile(r"cid:([^\"'>\s)]+)", re.IGNORECASE)


@dataclass
class _Finder:
    limits: MimeLimits
    inline_cids: set[str]
    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)
    parts_seen: int = 0


def find_documents(msg: Message, limits: MimeLimits, html_bodies: list[str]) -> tuple[list[Document], list[str]]:
    finder = _Finder(limits, _referenced_cids(html_bodies))
    stack: list[tuple[Message, int, tuple[str, ...]]] = [(msg, 0, ())]
    depth_noted = False
    while stack:
        part, depth, origin = stack.pop()
        finder.parts_seen += 1
        if finder.parts_seen > limits.max_parts:
            finder.problems.append(f"more than {limits.max_parts} MIME parts; the rest were not read")
            break
        if depth > limits.max_depth:
            if not depth_noted:
                finder.problems.append(f"parts nested deeper than {limits.max_depth} levels were not read")
                depth_noted = True
            continue
        children = _children(part, finder.problems)
        if children is None:
            children = _consider_leaf(finder, part, origin)  # an .eml attachment has one child
        if children and (part.get_content_maintype() == "message" or not part.is_multipart()):
            origin = origin + ("message/rfc822",)
        stack.extend((child, depth + 1, origin) for child in reversed(children or []))
    _take_data_uris(finder, html_bodies)
    return finder.documents, finder.problems


def _take_data_uris(finder: _Finder, html_bodies: list[str]) -> None:
    """Images pasted into HTML as data: URIs (some webmail does this instead of cid:)."""
    for html in html_bodies:
        for count, found in enumerate(_DATA_URI.finditer(html)):
            if count >= finder.limits.max_parts:
                return
            encoded = found.group(1)
            if len(encoded) * 3 // 4 > finder.limits.max_attachment_bytes:
                finder.problems.append("an image pasted into the HTML body is over the size limit; skipped")
                continue
            try:
                data = base64.b64decode(re.sub(r"\s+", "", encoded) + "==", validate=False)
            except ValueError:
                continue
            _consider_bytes(finder, data, None, "text/html", ("text/html", "data-uri"), True)


def _children(part: Message, problems: list[str]) -> list[Message] | None:
    if not part.is_multipart():
        return None
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    if part.get_content_maintype() == "message" and _transfer_encoding(part) in ("base64", "quoted-printable"):
        # RFC 2046 forbids it, Exchange does it anyway: the parser then reads the base64
        # text as if it were the attached message. Decode it and parse again.
        reparsed = _reparse_encoded_message(part, payload, problems)
        return [reparsed] if reparsed is not None else []
    return [child for child in payload if isinstance(child, Message)]


def _transfer_encoding(part: Message) -> str:
    try:
        return str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    except Exception:  # noqa: BLE001 - a malformed header is simply no encoding
        return ""


def _reparse_encoded_message(part: Message, payload: list, problems: list[str]) -> Message | None:
    inner = payload[0] if payload and isinstance(payload[0], Message) else None
    try:
        text = inner.as_bytes() if inner is not None else b""
        if inner is not None and any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in inner.defects):
            # A soft-broken QP header line ended the parsed header early and regenerating it
            # added a blank line after the headers: take it out again before decoding.
            text = re.sub(rb"\r?\n\r?\n", b"\n", text, count=1)
        if _transfer_encoding(part) == "base64":
            data = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/]", b"", text) + b"===")
        else:
            data = quopri.decodestring(text)
        return parse_attached_message(data, part.policy)
    except Exception as exc:  # noqa: BLE001 - undecodable: say so, keep going
        problems.append(f"an attached message could not be decoded ({type(exc).__name__}); skipped")
        return None


def parse_attached_message(data: bytes, policy) -> Message:
    """An attached message given as bytes (.eml attachment, encoded message/rfc822)."""
    return message_from_bytes(data, policy=policy)


def _referenced_cids(html_bodies: list[str]) -> set[str]:
    return {ref.strip("<>").lower() for html in html_bodies for ref in _CID_REF.findall(html)}


def _consider_leaf(finder: _Finder, part: Message, origin: tuple[str, ...]) -> list[Message] | None:
    """Collect what this leaf holds; returns a message to descend into for .eml attachments."""
    name = _part_filename(part)
    ctype = part.get_content_type()
    if part.get_content_maintype() == "text" and not name and part.get_content_disposition() != "attachment":
        return None  # a body, not a document
    data = _decoded(part)
    label = name or ctype
    if len(data) > finder.limits.max_attachment_bytes:
        finder.problems.append(f"{label}: {len(data) / MB:.1f} MB, over the "
                               f"{finder.limits.max_attachment_bytes / MB:.0f} MB attachment limit; skipped")
        return None
    lowered = (name or "").lower()
    if ctype in _TNEF_TYPES or lowered == "winmail.dat":
        opened = open_tnef(data, label)
        if opened is not None:
            _take_members(finder, opened, origin + (label,))
            return None
    elif ctype in _ZIP_TYPES or lowered.endswith(".zip"):
        _take_members(finder, open_zip(data, label, finder.limits), origin + (label,))
        return None
    elif lowered.endswith(".eml") and sniff_content_type(data) is None:
        return _eml_attachment(data, part, label, finder.problems)
    _consider_bytes(finder, data, name, ctype, origin + (label,), _content_id(part) in finder.inline_cids)
    return None


def _eml_attachment(data: bytes, part: Message, label: str, problems: list[str]) -> list[Message] | None:
    try:
        return [parse_attached_message(data, part.policy)]
    except Exception as exc:  # noqa: BLE001 - RecursionError on absurd nesting, among others
        problems.append(f"{label}: attached message could not be read ({type(exc).__name__}); skipped")
        return None


def _content_id(part: Message) -> str | None:
    try:
        return str(part.get("Content-ID") or "").strip().strip("<>").lower() or None
    except Exception:  # noqa: BLE001 - malformed header: no Content-ID
        return None


def _take_members(finder: _Finder, opened: Opened, origin: tuple[str, ...]) -> None:
    finder.problems.extend(opened.problems)
    for name, data in opened.members:
        if _is_archive(name, data):
            # Archives inside archives are how zip bombs multiply: one level only.
            finder.problems.append(f"{'/'.join(origin)}/{name}: an archive inside an archive; not opened")
            continue
        _consider_bytes(finder, data, name, "application/octet-stream", origin + (name or "unnamed",), False)


def _is_archive(name: str | None, data: bytes) -> bool:
    is_zip = data.startswith(b"PK\x03\x04") and (name or "").lower().endswith(".zip")
    return is_zip or data.startswith(_TNEF_SIGNATURE)


def _consider_bytes(finder: _Finder, data: bytes, name: str | None, declared: str,
                    origin: tuple[str, ...], shown_inline: bool) -> None:
    sniffed = sniff_content_type(data)
    if sniffed is None:
        note = _skip_note(data, name, declared)
        if note:
            finder.problems.append(f"{'/'.join(origin)}: {note}")
        return
    if sniffed in IMAGE_TYPES:
        size = image_size(data)
        if size is None and sniffed != HEIC:
            finder.problems.append(f"{'/'.join(origin)}: a damaged {sniffed} image; skipped")
            return
        if _is_decoration(size, len(data), shown_inline):
            return
    document = Document(filename=name, content_type=sniffed, data=data, origin=origin)
    # The same file attached twice (or in the HTML and the plain alternative) is one certificate.
    if document.sha256 not in finder.hashes:
        finder.hashes.add(document.sha256)
        finder.documents.append(document)


def _skip_note(data: bytes, name: str | None, declared: str) -> str | None:
    lowered = (name or "").lower()
    if declared in _ENCRYPTED_TYPES or lowered.endswith((".p7m", ".pgp", ".gpg")):
        return "encrypted (S/MIME or PGP); mailbot cannot read it, ask the sender to forward it unencrypted"
    if declared == "application/vnd.ms-outlook" or lowered.endswith(".msg"):
        return "an Outlook item (.msg) that mailbot cannot open; ask for the original email to be forwarded"
    if declared in _TNEF_TYPES or lowered == "winmail.dat":
        return "a winmail.dat that is not readable TNEF; skipped"
    if declared == "application/pdf" or lowered.endswith(".pdf"):
        return f"labelled a PDF but {describe_bytes(data)} (an expired download link?); skipped"
    if name and declared not in _UNREMARKABLE_TYPES and not lowered.endswith((".gif", ".ics", ".vcf")):
        return f"not a PDF or image ({declared}); skipped"
    return None


def _is_decoration(size: tuple[int, int] | None, nbytes: int, shown_inline: bool) -> bool:
    if size is not None:
        width, height = size
        if min(width, height) < _MIN_CERT_SIDE_PX or max(width, height) < _MIN_CERT_LONG_SIDE_PX:
            return True
    small_picture = size is None or max(size) < _MAX_LOGO_LONG_SIDE_PX
    return shown_inline and nbytes < _MAX_LOGO_BYTES and small_picture


def _part_filename(part: Message) -> str | None:
    try:
        return safe_filename(part.get_filename())
    except Exception:  # noqa: BLE001 - malformed RFC 2231 parameters
        return None


def _decoded(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding: treat as empty
        return b""
    return data if isinstance(data, bytes) else b""
