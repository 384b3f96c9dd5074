"""mailbot credits: the ledger of continuing-education hours."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click
from sqlmodel import select

from mailbot.cli.common import Group, actor, emit_json_lines, load_app, parse_date, print_table
from mailbot.ledger import credits as credit_ops
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Draft, Technician
from mailbot.ledger.techs import get_by_email, view


def credit_json(credit, tech_email: str, submission: str) -> dict:  # type: ignore[no-untyped-def]
    return {"id": credit.id, "tech_id": credit.tech_id, "tech_email": tech_email,
            "course_title": credit.course_title, "hours": credit.hours, "completed_on": credit.completed_on,
            "provider": credit.provider, "approval_number": credit.approval_number, "kind": credit.kind,
            "state": credit.state, "submission": submission, "document_id": credit.document_id,
            "created_at": credit.created_at, "created_by": credit.created_by, "void_reason": credit.void_reason}


@click.group(cls=Group)
def credits() -> None:
    """Continuing-education credits: list, add by hand, void.

    \b
    Example:
      mailbot credits list --tech dana@example.com
    """


@credits.command("list")
@click.option("--tech", "tech_email", default=None, help="Only this technician (any of their addresses).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(tech_email: str | None, as_json: bool) -> None:
    """List credits, oldest first.

    \b
    Example:
      mailbot credits list --tech dana@example.com --json
    """
    app = load_app()
    with session_scope(app.engine) as s:
        tech_id = get_by_email(s, tech_email).id if tech_email else None
        emails = {t.id: view(s, t).email for t in s.exec(select(Technician)).all()}
        drafts = {d.credit_id: d.state for d in s.exec(select(Draft)).all()}
        rows = [credit_json(c, emails.get(c.tech_id, ""), drafts.get(c.id, "none"))
                for c in credit_ops.list_credits(s, tech_id)]
    if as_json:
        emit_json_lines(rows)
        return
    print_table(["id", "technician", "course", "hours", "completed", "state", "submission"],
                ([r["id"], r["tech_email"], r["course_title"], r["hours"], r["completed_on"], r["state"],
                  r["submission"]] for r in rows))


@credits.command("add")
@click.option("--tech", "tech_email", required=True, help="The technician's address.")
@click.option("--hours", required=True, help="CEC hours, e.g. 2 or 3.5.")
@click.option("--title", required=True, help="Course or event title.")
@click.option("--date", "when", required=True, help="Completion date, YYYY-MM-DD.")
@click.option("--kind", type=click.Choice(credit_ops.KINDS), default="manual", show_default=True)
@click.option("--provider", default=None)
@click.option("--event", "event_key", default=None, help="Event name for booth visits (counted once per event).")
def add(tech_email: str, hours: str, title: str, when: str, kind: str, provider: str | None,
        event_key: str | None) -> None:
    """Record a credit that has no certificate (an IICRC booth visit is the common case).

    \b
    Example:
      mailbot credits add --tech dana@example.com --hours 2 --title "IICRC booth" \\
          --date 2026-03-14 --kind booth --event "Experience 2026"
    """
    try:
        amount = Decimal(hours)
    except InvalidOperation:
        raise click.BadParameter(f"--hours must be a number, got {hours!r}") from None
    completed_on = parse_date(when, "--date")
    app = load_app()
    with session_scope(app.engine) as s:
        tech = get_by_email(s, tech_email)
        credit = credit_ops.add_credit(s, tech, title=title, hours=amount, completed_on=completed_on,
                                       actor=actor(), kind=kind, provider=provider, event_key=event_key)
    click.echo(f"recorded credit #{credit.id}: {amount} h, {title}, {completed_on}")


@credits.command("void")
@click.argument("credit_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def void(credit_id: int, reason: str) -> None:
    """Void a credit (it stays in the ledger, marked void, with who/when/why).

    \b
    Example:
      mailbot credits void 12 --reason "entered twice"
    """
    app = load_app()
    with session_scope(app.engine) as s:
        credit_ops.void_credit(s, credit_id, reason=reason, actor=actor())
    click.echo(f"voided credit #{credit_id}")
