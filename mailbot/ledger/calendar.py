"""`mailbot calendar`: cycle ends, annual fee dates and planned courses as an RFC 5545 feed.

UIDs are built from what an event *is* (technician id + kind + date, or the plan entry's id), never
from a counter or the export time, so a subscriber that re-reads the feed updates events instead of
duplicating them. All events are all-day (VALUE=DATE): deadlines have no time of day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mailbot.ledger.balances import compute_for
from mailbot.ledger.models import PlanEntry, Technician, from_centi
from mailbot.rules.model import hours_text

PRODID = "-//mailbot//IICRC CE calendar//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid_key: str  # unique and stable; the UID is uid_key@domain
    day: date
    summary: str
    description: str


def ledger_events(session: Session, rules: Any, as_of: date) -> list[CalendarEvent]:
    """Events for every active technician: last day of the current cycle, next fee date, plan items."""
    events: list[CalendarEvent] = []
    techs = session.exec(select(Technician).where(Technician.active == True)
                         .order_by(Technician.name, Technician.id)).all()
    for tech in techs:
        balance = compute_for(session, rules, tech, as_of)
        if balance.cycle_end is not None:
            last_day = balance.cycle_end - timedelta(days=1)  # cycle_end is exclusive
            events.append(CalendarEvent(
                f"cycle-end-{tech.id}-{last_day:%Y%m%d}", last_day,
                f"IICRC CEC cycle ends: {tech.name}",
                f"Last day to earn CEC hours for the cycle {balance.cycle_start} to {last_day}: "
                f"{hours_text(balance.earned)} of {hours_text(balance.required)} h earned as of {as_of} "
                f"(status {balance.status})."))
        if balance.fee_due is not None:
            events.append(CalendarEvent(
                f"fee-{tech.id}-{balance.fee_due.on:%Y%m%d}", balance.fee_due.on,
                f"IICRC annual fee due: {tech.name}", "The yearly IICRC renewal fee (separate from CEC hours)."))
        for entry in session.exec(select(PlanEntry).where(PlanEntry.tech_id == tech.id)
                                  .order_by(PlanEntry.on, PlanEntry.id)).all():
            events.append(CalendarEvent(
                f"plan-{entry.id}", entry.on, f"Planned CE: {entry.title} ({tech.name})",
                f"{hours_text(from_centi(entry.hours_centi))} h planned for {tech.name}."))
    return events


def escape_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF + space (never splitting a character)."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        limit = 75 if not out else 74  # continuation lines start with the space
        if len(current) + len(encoded) > limit:
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def render_ics(events: list[CalendarEvent], *, domain: str, calendar_name: str,
               stamp: datetime | None = None) -> str:
    stamp_text = (stamp or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape_text(calendar_name)}"]
    for event in sorted(events, key=lambda e: (e.day, e.uid_key)):
        lines += ["BEGIN:VEVENT", f"UID:{event.uid_key}@{domain}", f"DTSTAMP:{stamp_text}",
                  f"DTSTART;VALUE=DATE:{event.day:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{event.day + timedelta(days=1):%Y%m%d}",
                  f"SUMMARY:{escape_text(event.summary)}", f"DESCRIPTION:{escape_text(event.description)}",
                  "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
