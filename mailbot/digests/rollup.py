"""The admin roll-up: the whole team on one screen, most urgent first, plus what is stuck and why.

`rollup_context` is pure (balances, rows and dates in, a template context out); `gather_rollup` is the
thin ledger reader that feeds it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mailbot.ledger.models import Draft, InboundMessage, Notice, ReviewItem, Technician
from mailbot.mail.compose import format_hours

LAPSE_WINDOW_DAYS = 90
MAX_ROWS = 25  # per section; the rest is counted


@dataclass(frozen=True)
class Waiting:
    """Something stuck: a draft for approval, a sent submission not confirmed, a message for review."""

    what: str
    since: datetime | None


@dataclass(frozen=True)
class MailboxHealth:
    last_poll_ok: datetime | None
    idle: str | None  # e.g. "IDLE active"; None when unknown


@dataclass(frozen=True)
class RollupInputs:
    balances: list[Any]  # mailbot.rules Balance, one per active technician
    drafts_waiting: list[Waiting]
    sent_unconfirmed: list[Waiting]
    review_open: list[Waiting]
    quarantine: list[Waiting]
    dead_letters: list[Waiting]
    interrupted: list[Waiting]
    health: MailboxHealth


def _aware(when: datetime | None) -> datetime:
    """SQLite hands back naive UTC; unknown times sort last."""
    if when is None:
        return datetime.max.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _age_days(since: datetime | None, now: datetime) -> str:
    return "?" if since is None else str(max(0, (_aware(now) - _aware(since)).days))


def _section(items: list[Waiting], now: datetime) -> dict[str, Any]:
    ordered = sorted(items, key=lambda w: _aware(w.since))  # oldest first: waiting longest matters most
    return {"count": len(items), "more": max(0, len(items) - MAX_ROWS),
            "rows": [{"what": w.what, "days": _age_days(w.since, now)} for w in ordered[:MAX_ROWS]]}


def _team_row(b: Any) -> dict[str, Any]:
    last_day = (b.cycle_end - timedelta(days=1)).isoformat() if b.cycle_end else ""
    return {"name": b.name, "status": b.status, "earned": format_hours(b.earned),
            "required": format_hours(b.required), "cycle_end": last_day,
            "pace": format_hours(b.pace) if b.pace > 0 else ""}  # nothing more needed: no pace to show


def lapses_within(balances: list[Any], as_of: date, days: int = LAPSE_WINDOW_DAYS) -> list[dict[str, Any]]:
    """Short technicians whose cycle ends within `days`: they lapse unless they earn the rest in time."""
    soon = [b for b in balances if b.status not in ("complete", "lapsed", "no-certifications")
            and b.cycle_end is not None and (b.cycle_end - as_of).days <= days]
    return [{"name": b.name, "cycle_end": (b.cycle_end - timedelta(days=1)).isoformat(),
             "days_left": (b.cycle_end - as_of).days, "remaining": format_hours(b.remaining)}
            for b in sorted(soon, key=lambda b: (b.cycle_end, b.name))]


def rollup_context(inputs: RollupInputs, rules: Any, as_of: date, now: datetime,
                   company: dict[str, str]) -> dict[str, Any]:
    from mailbot.rules import coverage, team_risk_order

    cover = coverage(inputs.balances, rules)
    statuses = [b.status for b in inputs.balances]
    health = inputs.health
    return {
        "company": company,
        "month": f"{as_of:%B %Y}",
        "as_of": as_of.isoformat(),
        "team": [_team_row(b) for b in team_risk_order(inputs.balances)],
        "counts": {s: statuses.count(s) for s in dict.fromkeys(statuses)},
        "lapses": lapses_within(inputs.balances, as_of),
        "drafts": _section(inputs.drafts_waiting, now),
        "unconfirmed": _section(inputs.sent_unconfirmed, now),
        "review": _section(inputs.review_open, now),
        "quarantine": _section(inputs.quarantine, now),
        "dead": _section(inputs.dead_letters, now),
        "interrupted": _section(inputs.interrupted, now),
        "last_poll": health.last_poll_ok.strftime("%Y-%m-%d %H:%M UTC") if health.last_poll_ok else "never",
        "poll_age_days": _age_days(health.last_poll_ok, now) if health.last_poll_ok else None,
        "idle": health.idle or "unknown",
        "uncovered": list(cover.uncovered),
        "at_risk": list(cover.at_risk),
        "next_lapse_on": cover.next_lapse_on.isoformat() if cover.next_lapse_on else "",
        "coverage": [{"category": c, "current": n} for c, n in cover.current.items()],
    }


# --- the ledger side ---------------------------------------------------------------------------

def _tech_names(session: Session) -> dict[int, str]:
    return {t.id: t.name for t in session.exec(select(Technician)).all()}


def _drafts(session: Session, names: dict[int, str]) -> tuple[list[Waiting], list[Waiting]]:
    waiting, unconfirmed = [], []
    for d in session.exec(select(Draft).where(Draft.state.in_(("drafted", "sent")))).all():
        label = f"{names.get(d.tech_id, '?')}: {d.subject}"
        if d.state == "drafted":
            waiting.append(Waiting(label, d.created_at))
        elif d.confirmed_at is None:
            unconfirmed.append(Waiting(label, d.sent_at))
    return waiting, unconfirmed


def _messages(session: Session) -> tuple[list[Waiting], list[Waiting]]:
    rows = session.exec(select(InboundMessage).where(InboundMessage.state.in_(("review", "dead")))).all()
    quarantine = [Waiting(f"{m.from_addr or '?'}: {m.subject or '(no subject)'}", m.created_at)
                  for m in rows if m.state == "review" and m.tech_id is None]
    dead = [Waiting(f"{m.from_addr or '?'}: {m.subject or '(no subject)'} ({(m.reason or '')[:120]})", m.updated_at)
            for m in rows if m.state == "dead"]
    return quarantine, dead


def mailbox_health(session: Session) -> MailboxHealth:
    """The poll job's own record when the daemon keeps one (ledger.health), else the newest message seen."""
    try:
        from mailbot.ledger.health import JobHealth
    except ImportError:  # health rows not available in this build
        JobHealth = None
    if JobHealth is not None:
        poll, idle = session.get(JobHealth, "poll"), session.get(JobHealth, "idle")
        if poll is not None and poll.last_ok_at is not None:
            return MailboxHealth(poll.last_ok_at, idle.detail if idle is not None else None)
    newest = session.exec(select(InboundMessage.updated_at).order_by(InboundMessage.updated_at.desc())).first()
    return MailboxHealth(newest, None)


def gather_rollup(session: Session, balances: list[Any]) -> RollupInputs:
    names = _tech_names(session)
    drafts_waiting, unconfirmed = _drafts(session, names)
    quarantine, dead = _messages(session)
    review = [Waiting(f"{names.get(r.tech_id, 'unknown sender')}: {r.kind} - {r.reason[:120]}", r.created_at)
              for r in session.exec(select(ReviewItem).where(ReviewItem.state == "open")).all()]
    interrupted = [Waiting(f"{n.kind} to {n.recipient}: {n.subject}", n.claimed_at)
                   for n in session.exec(select(Notice).where(Notice.state == "interrupted")).all()]
    return RollupInputs(balances, drafts_waiting, unconfirmed, review, quarantine, dead, interrupted,
                        mailbox_health(session))
