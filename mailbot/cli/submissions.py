"""mailbot submissions / lapses: what went to IICRC, what IICRC confirmed, and lapse triage."""
from __future__ import annotations

from datetime import timedelta

import click
from sqlmodel import select

from mailbot.cli.common import Command, Group, actor, emit_json_lines, load_app, parse_date, print_table
from mailbot.ledger import audit
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Draft, utcnow


def submission_json(d: Draft, overdue_after: timedelta) -> dict:
    waiting = (utcnow() - d.sent_at) if d.sent_at and not d.confirmed_at else None
    return {"id": d.id, "tech_id": d.tech_id, "tech_email": d.cc_addrs.split(",")[0] if d.cc_addrs else None,
            "kind": d.kind, "to": d.to_addr, "subject": d.subject, "sent_at": d.sent_at,
            "smtp_message_id": d.smtp_message_id, "acknowledged_at": d.acknowledged_at,
            "confirmed_at": d.confirmed_at, "overdue": bool(waiting and waiting > overdue_after)}


@click.group(cls=Group)
def submissions() -> None:
    """Submissions sent to IICRC and their confirmation.

    \b
    Example:
      mailbot submissions list --unconfirmed
    """


@submissions.command("list")
@click.option("--unconfirmed", is_flag=True, help="Only those not yet confirmed in My IICRC.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(unconfirmed: bool, as_json: bool) -> None:
    """List sent submissions; `overdue` marks those unconfirmed after [iicrc] confirm_weeks.

    \b
    Example:
      mailbot submissions list --json
    """
    app = load_app()
    overdue = timedelta(weeks=app.config.iicrc.confirm_weeks)
    with session_scope(app.engine) as s:
        query = select(Draft).where(Draft.state == "sent").order_by(Draft.sent_at)
        if unconfirmed:
            query = query.where(Draft.confirmed_at.is_(None))
        rows = [submission_json(d, overdue) for d in s.exec(query).all()]
    if as_json:
        emit_json_lines(rows)
        return
    print_table(["id", "technician", "sent", "acknowledged", "confirmed", "overdue", "subject"],
                ([r["id"], r["tech_email"], r["sent_at"], r["acknowledged_at"], r["confirmed_at"],
                  "yes" if r["overdue"] else "", r["subject"]] for r in rows))


@submissions.command("confirm")
@click.argument("draft_id", type=int)
def confirm(draft_id: int) -> None:
    """Record that you saw this submission's credit in My IICRC.

    \b
    Example:
      mailbot submissions confirm 3
    """
    app = load_app()
    with session_scope(app.engine) as s:
        draft = draft_ops.get(s, draft_id)
        if draft.state != "sent":
            raise click.ClickException(f"draft #{draft_id} is {draft.state}; only a sent submission is confirmed")
        draft.confirmed_at = utcnow()
        s.add(draft)
        audit.record(s, actor(), "submission.confirm", "draft", draft_id)
    click.echo(f"submission #{draft_id} confirmed")


@click.command(cls=Command)
@click.option("--as-of", "as_of", default=None, help="Judge lapses at this date (default today).")
def lapses(as_of: str | None) -> None:
    """Draft the right request for every lapsed technician (invoice under 24 months, else reinstatement),
    for approval like any submission.

    \b
    Example:
      mailbot lapses
    """
    from mailbot.mail.lapses import draft_lapse_requests

    app = load_app()
    day = parse_date(as_of, "--as-of") if as_of else app.today()
    with session_scope(app.engine) as s:
        made = draft_lapse_requests(s, app, day)
        lines = [f"draft #{d.id} ({d.kind}) to {d.to_addr}: {d.subject}" for d in made]
    for line in lines or ["no lapsed technician without a request"]:
        click.echo(line)
