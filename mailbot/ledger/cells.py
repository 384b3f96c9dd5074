"""Reading one spreadsheet cell the way a person meant it (pure; each parser raises CellError with a reason).

Dates: real date cells, Excel serial numbers, ISO (2026-03-02), US slashes (03/02/2026 = 2 March; a
first number over 12 is read as day/month), "14 March 2026", "March 14, 2026", "14-Mar-26".
Hours: 7, "7 hrs", "3.5 hours", "7 CECs"; "1 CEC (7h)" is the former unit (1 CEC = 7 h): see parse_hours.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 with Excel's 1900 leap-year bug accounted for
SERIAL_RANGE = (20000, 80000)  # 1954 … 2119: a bare number outside this is not a date
MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
TRUE_WORDS = {"yes", "y", "true", "1", "active", "current", "employed", "x"}
FALSE_WORDS = {"no", "n", "false", "0", "inactive", "former", "left", "terminated", "quit", "resigned",
               "retired", "gone", "former staff", "ex employee", "departed"}


class CellError(ValueError):
    """A cell that cannot be read; str() is the reason shown to the admin."""


def text(value: object) -> str:
    """A cell as trimmed text; numbers typed into text columns lose Excel's '.0' (123456.0 → '123456')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_serial(value)
    raw = text(value)
    if not raw:
        raise CellError("no date")
    for parse in (_iso, _slashed, _words, _serial_text):
        found = parse(raw)
        if found is not None:
            return found
    raise CellError(f"unreadable date {raw!r}")


def _from_serial(number: float) -> date:
    if not SERIAL_RANGE[0] <= number <= SERIAL_RANGE[1]:
        raise CellError(f"{number:g} is not a date")
    return EXCEL_EPOCH + timedelta(days=int(number))


def _make(year: int, month: int, day: int, raw: str) -> date:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"no such date {raw!r}") from None


def _iso(raw: str) -> date | None:
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?", raw)
    return _make(int(m[1]), int(m[2]), int(m[3]), raw) if m else None


def _slashed(raw: str) -> date | None:
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})", raw)
    if not m:
        return None
    first, second, year = int(m[1]), int(m[2]), int(m[3])
    month, day = (second, first) if first > 12 else (first, second)  # US order unless it cannot be
    return _make(year, month, day, raw)


def _words(raw: str) -> date | None:
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", raw.lower()).replace(",", " ")
    parts = [p for p in re.split(r"[\s\-/.]+", cleaned) if p]
    if len(parts) != 3:
        return None
    month_index = next((i for i, p in enumerate(parts) if p[:3] in MONTHS and not p.isdigit()), None)
    if month_index not in (0, 1):  # "March 14 2026" or "14 March 2026"
        return None
    day, year = [p for i, p in enumerate(parts) if i != month_index]
    if not (day.isdigit() and year.isdigit()):
        return None
    return _make(int(year), MONTHS[parts[month_index][:3]], int(day), raw)


def _serial_text(raw: str) -> date | None:
    if re.fullmatch(r"\d{5}(\.\d+)?", raw):
        return _from_serial(float(raw))
    return None


@dataclass(frozen=True)
class Hours:
    hours: Decimal
    former_units: Decimal | None = None  # set when the cell was in the former unit (1 CEC = 7 h)


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_HOUR_WORDS = r"(?:h|hr|hrs|hour|hours|ce hours|cec hours|clock hours)"
_CEC_WORDS = r"(?:cec|cecs|ce|credits?|ceh)"


def parse_hours(value: object, former_unit_hours: Decimal = Decimal(7)) -> Hours:
    """Hours from a cell. "N CEC (M h)" with M = N × the former unit is the former unit: returned with
    former_units set so the caller flags it; M = N is plain N hours; any other pair is refused."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _checked(Decimal(str(value)), str(value))
    raw = text(value).lower()
    if not raw:
        raise CellError("no hours")
    plain = re.fullmatch(rf"{_NUMBER}\s*(?:{_HOUR_WORDS}|{_CEC_WORDS})?\.?", raw)
    if plain:
        return _checked(_decimal(plain[1]), raw)
    pair = re.fullmatch(rf"{_NUMBER}\s*{_CEC_WORDS}\s*\(\s*(?:=\s*)?{_NUMBER}\s*{_HOUR_WORDS}\s*\)", raw)
    if pair:
        units, hours = _decimal(pair[1]), _decimal(pair[2])
        if hours == units:
            return _checked(hours, raw)
        if hours == units * former_unit_hours:
            return Hours(_checked(hours, raw).hours, former_units=units)
        raise CellError(f"hours {raw!r}: {units} CEC and {hours} h do not agree")
    raise CellError(f"unreadable hours {raw!r}")


def _decimal(number: str) -> Decimal:
    try:
        return Decimal(number.replace(",", "."))
    except InvalidOperation:
        raise CellError(f"unreadable number {number!r}") from None


def _checked(hours: Decimal, raw: str) -> Hours:
    if not hours.is_finite() or hours <= 0 or hours > 100:
        raise CellError(f"hours must be between 0 and 100, got {raw!r}")
    if hours != hours.quantize(Decimal("0.01")):
        raise CellError(f"hours {raw!r} have more than two decimal places")
    return Hours(hours.quantize(Decimal("0.01")))


def split_designations(value: object) -> list[str]:
    """'WRT/ASD', 'wrt, asd', 'WRT & ASD' → ['WRT', 'ASD'] (order kept, repeats dropped)."""
    parts = re.split(r"[/,;&+|\n]|\s+and\s+|\s+", text(value).upper())
    out: list[str] = []
    for part in (p.strip(" .") for p in parts):
        if part and part not in out:
            out.append(part)
    return out


def parse_active(value: object) -> bool | None:
    """True/False for the usual words (yes, former, left …); None for an empty cell."""
    word = re.sub(r"[^a-z0-9 ]+", " ", text(value).lower()).strip()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"unreadable active/status value {text(value)!r} (use yes or no)")


def split_emails(value: object) -> list[str]:
    return [p.strip() for p in re.split(r"[,;\s]+", text(value)) if p.strip()]
