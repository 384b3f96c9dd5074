"""Which of a shop's column headers means which ledger field, per tab (pure: no database, no files).

Order of trust: an explicit `--map "Header=field"`, then a mapping remembered from an earlier
import, then the common spellings below (exact after normalising, else a close fuzzy match).
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

TECHNICIANS, CE_LOG, CERTIFICATIONS = "technicians", "ce-log", "certifications"
KINDS = (TECHNICIANS, CE_LOG, CERTIFICATIONS)
TAB_TITLES = {TECHNICIANS: "Technicians", CE_LOG: "CE log", CERTIFICATIONS: "Certifications"}
IGNORE = "ignore"  # `--map "Notes=ignore"` drops a column on purpose

# field → common header spellings (already normalised: lower-case words separated by one space)
_TECH_REF = {
    "email": ("email", "e mail", "email address", "work email", "tech email", "technician email", "mail"),
    "name": ("name", "tech", "technician", "tech name", "technician name", "employee", "employee name",
             "full name", "legal name", "registrant", "staff", "person"),
    "iicrc_id": ("iicrc id", "iicrc", "iicrc number", "iicrc no", "iicrc registrant id", "registrant id",
                 "iicrc reg", "iicrc registration"),
}
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    TECHNICIANS: {
        **_TECH_REF,
        "other_emails": ("other emails", "other email", "aliases", "alias", "other addresses", "also from"),
        "cycle_start": ("cycle start", "cycle start date", "cycle begins", "renewal cycle start", "cycle anchor"),
        "active": ("active", "status", "employment status", "current", "employed"),
        "left_on": ("left on", "left", "date left", "end date", "termination date", "departed", "leaving date"),
        "certifications": ("certifications", "certs", "designations", "certs held", "certifications held"),
        "certified_on": ("certified on", "certification date", "date certified", "cert date", "certified"),
    },
    CE_LOG: {
        **_TECH_REF,
        "course": ("course", "course title", "title", "class", "training", "course name", "description",
                   "course description", "class name"),
        "hours": ("hours", "cec", "cecs", "ce hours", "cec hours", "credit hours", "credits", "hrs", "ceh"),
        "date": ("date", "completed", "completed on", "completion date", "date completed", "course date",
                 "class date", "date taken"),
        "kind": ("kind", "type", "course type"),
        "provider": ("provider", "school", "instructor", "vendor", "training provider", "trainer"),
        "approval_number": ("approval number", "approval no", "approval", "course number", "course no",
                            "course id", "iicrc approval number"),
        "category": ("category",),
        "event": ("event", "trade show", "show"),
        "state": ("state", "credit state"),
        "void_reason": ("void reason", "voided because", "reason voided"),
    },
    CERTIFICATIONS: {
        **_TECH_REF,
        "designation": ("designation", "certification", "cert", "code", "designations", "certifications"),
        "certified_on": ("certified on", "certification date", "date certified", "cert date", "date",
                         "certified", "issued"),
    },
}
# What a tab must have before rows can be read from it; a technician reference is any of email/name/iicrc_id.
REQUIRED = {TECHNICIANS: ("name",), CE_LOG: ("course", "hours", "date"), CERTIFICATIONS: ("designation",)}
TECH_REF_FIELDS = ("email", "name", "iicrc_id")
FUZZY_CUTOFF = 0.85


def normalize_header(text: object) -> str:
    """'  Tech-Name (legal) ' → 'tech name legal'. Case, accents and punctuation do not matter."""
    # "#" means number: "Cert #" is a certificate number, not a designation; "IICRC #" is the IICRC ID
    spelled = str(text or "").replace("#", " number ")
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def fields_of(kind: str) -> tuple[str, ...]:
    return tuple(SYNONYMS[kind])


@dataclass
class HeaderMap:
    """Column index → field for one tab, and what could not be mapped."""

    kind: str
    columns: dict[int, str] = field(default_factory=dict)
    headers: dict[int, str] = field(default_factory=dict)  # column index → the header as written
    unmapped: list[str] = field(default_factory=list)

    @property
    def fields(self) -> set[str]:
        return set(self.columns.values())

    def usable(self) -> bool:
        has_ref = bool(self.fields & set(TECH_REF_FIELDS))
        return has_ref and all(f in self.fields for f in REQUIRED[self.kind])

    def learned(self) -> dict[str, str]:
        """normalised header → field, as it should be remembered."""
        return {normalize_header(self.headers[i]): f for i, f in self.columns.items()}


def guess_field(kind: str, header: str) -> str | None:
    """The field a header means by its spelling alone, or None."""
    key = normalize_header(header)
    if not key:
        return None
    for name, spellings in SYNONYMS[kind].items():
        if key in spellings:
            return name
    spelled = {s: name for name, spellings in SYNONYMS[kind].items() for s in spellings}
    close = difflib.get_close_matches(key, list(spelled), n=1, cutoff=FUZZY_CUTOFF)
    return spelled[close[0]] if close else None


def map_headers(kind: str, headers: list[object], *, overrides: dict[str, str] | None = None,
                remembered: dict[str, str] | None = None) -> HeaderMap:
    """Map each header of a tab to a field; each field is taken by the first column that claims it."""
    overrides = {normalize_header(k): v for k, v in (overrides or {}).items()}
    remembered = remembered or {}
    result = HeaderMap(kind)
    known = set(fields_of(kind))
    for index, raw in enumerate(headers):
        key = normalize_header(raw)
        if not key:
            continue
        # an override or memory for a field this tab does not have (a --map meant for another tab)
        # falls through to the next source
        candidates = (overrides.get(key), remembered.get(key), guess_field(kind, key))
        chosen = next((c for c in candidates if c in known or c == IGNORE), None)
        if chosen == IGNORE:
            continue
        if chosen is not None and chosen not in result.fields:
            result.columns[index] = chosen
            result.headers[index] = str(raw).strip()
        else:
            result.unmapped.append(str(raw).strip())
    return result


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["Tech Name=name", "Notes=ignore"]` → {header: field}; a bad pair raises ValueError naming it."""
    every = {f for kind in KINDS for f in fields_of(kind)} | {IGNORE}
    out: dict[str, str] = {}
    for pair in pairs:
        header, sep, target = pair.rpartition("=")
        target = target.strip().lower().replace("-", "_").replace(" ", "_")
        if not sep or not header.strip():
            raise ValueError(f"--map must look like \"Tech Name=name\", got {pair!r}")
        if target not in every:
            raise ValueError(f"--map {pair!r}: unknown field {target!r} (one of {', '.join(sorted(every))})")
        out[header.strip()] = target
    return out
