"""Approval by email, fail-closed. Pure: no database, no clock (times come in as arguments).

The approval request's subject carries a tag `[mailbot #12 1767225600.k3x9…]`: draft ID, expiry, and an
HMAC-SHA256 over (draft ID, expiry, the draft's current nonce) with the configured secret. The nonce is
rotated when a token is used, so a token works once. A reply counts only when every check passes; each
refusal says why.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

TAG = re.compile(r"\[mailbot #(\d{1,10}) (\d{9,11})\.([a-z2-7]{20,40})\]", re.IGNORECASE)
COMMAND = re.compile(r"^\s*(APPROVE|REJECT)\b[ \t:,-]*(.*)$", re.IGNORECASE)


def _mac(secret: str, draft_id: int, expires: int, nonce: str) -> str:
    digest = hmac.new(secret.encode(), f"{draft_id}.{expires}.{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode().rstrip("=").lower()


def make_tag(secret: str, draft_id: int, nonce: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"[mailbot #{draft_id} {expires}.{_mac(secret, draft_id, expires, nonce)}]"


@dataclass(frozen=True)
class ParsedTag:
    draft_id: int
    expires: int
    mac: str


def find_tag(subject: str) -> ParsedTag | None:
    m = TAG.search(subject or "")
    return ParsedTag(int(m.group(1)), int(m.group(2)), m.group(3).lower()) if m else None


@dataclass(frozen=True)
class Command:
    action: str  # approve | reject
    reason: str


def parse_command(body: str) -> Command | None:
    """The first non-empty, non-quoted line of the reply: APPROVE, or REJECT followed by a reason."""
    for line in (body or "").splitlines():
        if not line.strip() or line.lstrip().startswith(">"):
            continue
        m = COMMAND.match(line)
        if not m:
            return None
        return Command(m.group(1).lower(), m.group(2).strip())
    return None


def authentication_failed(auth_results: list[str]) -> str | None:
    """When the receiving server added Authentication-Results, require DKIM or SPF to have passed."""
    if not auth_results:
        return None
    text = " ".join(auth_results).lower()
    if re.search(r"\bdkim=pass\b", text) or re.search(r"\bspf=pass\b", text):
        if re.search(r"\bdmarc=fail\b", text):
            return "Authentication-Results: dmarc=fail"
        return None
    return "Authentication-Results shows neither dkim=pass nor spf=pass"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    draft_id: int | None = None
    command: Command | None = None


def verify_reply(*, secret: str, admins: tuple[str, ...], sender: str | None, subject: str, body: str,
                 auth_results: list[str], nonce_of, now: datetime) -> Verdict:  # type: ignore[no-untyped-def]
    """Check an approval reply. `nonce_of(draft_id)` returns the draft's current nonce or None."""
    tag = find_tag(subject)
    if tag is None:
        return Verdict(False, "no approval tag in the subject")
    if not sender or sender.lower() not in {a.lower() for a in admins}:
        return Verdict(False, f"{sender or 'no sender'} is not an admin", tag.draft_id)
    failed = authentication_failed(auth_results)
    if failed:
        return Verdict(False, failed, tag.draft_id)
    nonce = nonce_of(tag.draft_id)
    if not nonce:
        return Verdict(False, "token already used or draft not awaiting approval", tag.draft_id)
    if not hmac.compare_digest(_mac(secret, tag.draft_id, tag.expires, nonce), tag.mac):
        return Verdict(False, "token does not match this draft (forged, replayed or for another draft)", tag.draft_id)
    if tag.expires < int(now.astimezone(UTC).timestamp()):
        return Verdict(False, "token expired", tag.draft_id)
    command = parse_command(body)
    if command is None:
        return Verdict(False, "reply does not start with APPROVE or REJECT", tag.draft_id)
    if command.action == "reject" and not command.reason:
        return Verdict(False, "REJECT needs a reason", tag.draft_id)
    return Verdict(True, f"{command.action} by {sender}", tag.draft_id, command)
