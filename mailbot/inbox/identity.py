"""Who is this? Addresses normalised for lookup, and the printed name cross-checked.

The forwarding address names the technician; the name printed on the certificate must
then agree with the technician's registered name, or the certificate goes to review.
A false "ok" would credit the wrong person, so the rules lean strict: the surname must
match, and given names must match exactly, by nickname, or by initial.
Pure functions, no I/O.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.utils import getaddresses

from mailbot.inbox.nicknames import same_given_name

_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "cpa", "pmp", "wrt", "asd", "amrt"}
_NOT_NAME_CHARS = re.compile(r"[^a-z\s,\-]")
_PLAIN_ADDRESS = re.compile(r"^[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+$")


def normalize_address(addr: str) -> str:
    """"Morgan <D.Whitaker+certs@Example.COM>" → "d.whitaker@example.com"; "" when there is no
    single plain address in it (garbage, several addresses, CR/LF)."""
    if not isinstance(addr, str) or "\r" in addr or "\n" in addr:
        return ""  # a header-injection attempt is no address at all
    found = [address for _, address in getaddresses([addr]) if address]
    if len(found) > 1:
        return ""
    address = (found[0] if found else addr).strip().strip("<>").lower()
    if not _PLAIN_ADDRESS.match(address):
        return ""
    local, _, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


@dataclass(frozen=True)
class NameMatch:
    ok: bool
    score: float  # 1.0 same name … 0.0 clearly someone else
    reason: str


@dataclass(frozen=True)
class _Name:
    given: tuple[str, ...]  # first and middle names or initials, in order
    surname: str  # may be hyphenated ("smith-jones")


def names_match(printed: str, registered: str) -> NameMatch:
    """Does the name printed on a certificate belong to the registered technician?"""
    printed_name, registered_name = _parse_name(printed), _parse_name(registered)
    if registered_name is None:
        return NameMatch(False, 0.0, "no registered name to compare with")
    if printed_name is None:
        return NameMatch(False, 0.0, "no name printed on the certificate")
    result = _compare(printed_name, registered_name)
    if not result.ok and len(printed_name.given) == 1 and "," not in (printed or ""):
        # "WHITAKER MORGAN": some forms print the surname first without a comma.
        swapped = _compare(_Name((printed_name.surname,), printed_name.given[0]), registered_name)
        if swapped.ok:
            return NameMatch(True, round(swapped.score - 0.05, 2), swapped.reason + "; printed surname first")
    return result


def _compare(printed: _Name, registered: _Name) -> NameMatch:
    surname_score, surname_note = _surname_agreement(printed.surname, registered.surname)
    if surname_score == 0.0:
        return NameMatch(False, 0.1, f"surname '{printed.surname}' is not '{registered.surname}'")
    if not printed.given or not registered.given:
        return NameMatch(False, 0.5, "only the surname can be compared")
    given_score, given_note = _given_agreement(printed.given, registered.given)
    if given_score == 0.0:
        return NameMatch(False, 0.3, f"same surname, but given names '{' '.join(printed.given)}' do not "
                                     f"match '{' '.join(registered.given)}': possibly a different person")
    notes = [note for note in (surname_note, given_note) if note]
    return NameMatch(True, round(min(surname_score, given_score), 2), "; ".join(notes) or "same name")


def _surname_agreement(printed: str, registered: str) -> tuple[float, str]:
    if printed == registered:
        return 1.0, ""
    printed_parts, registered_parts = set(printed.split("-")), set(registered.split("-"))
    if printed_parts & registered_parts:
        return 0.8, "one part of a hyphenated surname"
    return 0.0, ""


def _given_agreement(printed: tuple[str, ...], registered: tuple[str, ...]) -> tuple[float, str]:
    """The registered first name must appear among the printed given names — in full, as a
    nickname, or as an initial; other given names may be extra (middle names, initials)."""
    first = registered[0]
    for index, token in enumerate(printed):
        if len(token) > 1 and token == first:
            return (1.0 if index == 0 else 0.9), ("" if index == 0 else "extra given names or initials printed")
    for token in printed:
        if len(token) > 1 and len(first) > 1 and same_given_name(token, first):
            return 0.9, f"nickname '{token}' for '{first}'"
    if _initials_agree(printed, registered):
        return 0.8, "given names printed as initials"
    if len(registered) > 1 and any(len(t) > 1 and t == registered[1] for t in printed):
        return 0.8, "goes by a middle name"
    return 0.0, ""


def _initials_agree(printed: tuple[str, ...], registered: tuple[str, ...]) -> bool:
    """"C. E. Whitaker" agrees with "Carl Edward Whitaker"; "M Whitaker" with "Morgan Whitaker"."""
    if not all(len(token) == 1 for token in printed):
        return False
    wanted = [name[0] for name in registered]
    return list(printed) == wanted[: len(printed)]


def _parse_name(text: str) -> _Name | None:
    if not isinstance(text, str):
        return None
    plain = unicodedata.normalize("NFKD", text[:300]).encode("ascii", "ignore").decode().lower()
    plain = _NOT_NAME_CHARS.sub(" ", plain.replace("'", "").replace(".", " "))
    # Comma-separated pieces that are only suffixes ("Jr.", "WRT") are dropped; two pieces
    # left means "Last, First": "WHITAKER, MORGAN, JR." → "morgan whitaker".
    pieces = [_tokens(piece) for piece in plain.split(",")]
    pieces = [piece for piece in pieces if piece and not set(piece) <= _SUFFIXES]
    if len(pieces) == 2:
        pieces.reverse()
    tokens = [t for piece in pieces for t in piece if t not in _TITLES]
    while len(tokens) > 1 and tokens[-1] in _SUFFIXES:
        tokens.pop()
    if not tokens:
        return None
    return _Name(given=tuple(tokens[:-1]), surname=tokens[-1])


def _tokens(text: str) -> list[str]:
    """Words, with hyphens kept inside surnames ("Smith - Jones" and "Smith-Jones" agree)."""
    text = re.sub(r"\s*-\s*", "-", text)
    return [token.strip("-") for token in text.split() if token.strip("-")]
