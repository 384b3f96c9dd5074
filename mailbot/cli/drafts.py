"""mailbot drafts: submissions to IICRC waiting for an admin. Nothing is sent without approval."""
from __future__ import annotations

import click

from mailbot.cli.common import Group, actor, emit_json_lines, load_app, print_table
from mailbot.ledger import drafts as draft_ops
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Draft


def draft_json(d: Draft) -> dict:
    return {"id": d.id, "tech_id": d.tech_id, "credit_id": d.credit_id, "kind": d.kind,
            "tech_email": d.cc_addrs.split(",")[0] if d.cc_addrs else None, "to": d.to_addr,
            "cc": [a for a in d.cc_addrs.split(",") if a], "subject": d.subject, "state": d.state,
            "attachment": d.attachment_name, "approved_by": d.approved_by, "approved_at": d.approved_at,
            "sent_at": d.sent_at, "smtp_message_id": d.smtp_message_id, "error": d.error,
            "created_at": d.created_at}


@click.group(cls=Group)
def drafts() -> None:
    """Drafted submissions to IICRC: list, show, approve, reject.

    \b
    Example:
      mailbot drafts list --state drafted
    """


@drafts.command("list")
@click.option("--state", type=click.Choice(draft_ops.STATES), default=None, help="Only drafts in this state.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(state: str | None, as_json: bool) -> None:
    """List drafts.

    \b
    Example:
      mailbot drafts list --state drafted
    """
    app = load_app()
    with session_scope(app.engine) as s:
        rows = [draft_json(d) for d in draft_ops.list_drafts(s, state)]
    if as_json:
        emit_json_lines(rows)
        return
    print_table(["id", "state", "to", "cc", "subject"],
                ([r["id"], r["state"], r["to"], ", ".join(r["cc"]), r["subject"]] for r in rows))


@drafts.command("show")
@click.argument("draft_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="As JSON, with the text body.")
def show(draft_id: int, as_json: bool) -> None:
    """Show exactly what will be sent.

    \b
    Example:
      mailbot drafts show 3
    """
    app = load_app()
    with session_scope(app.engine) as s:
        d = draft_ops.get(s, draft_id)
    if as_json:
        emit_json_lines([{**draft_json(d), "body_text": d.body_text}])
        return
    click.echo(f"Draft #{d.id} ({d.state})")
    click.echo(f"To:       {d.to_addr}\nCc:       {d.cc_addrs}\nReply-To: {d.reply_to or ''}")
    click.echo(f"Subject:  {d.subject}\nAttached: {d.attachment_name or '(nothing)'}")
    if d.error:
        click.echo(f"Error:    {d.error}")
    click.echo("")
    click.echo(d.body_text)


@drafts.command("approve")
@click.argument("draft_ids", type=int, nargs=-1)
@click.option("--all", "approve_all", is_flag=True, help="Approve every draft in state drafted.")
def approve(draft_ids: tuple[int, ...], approve_all: bool) -> None:
    """Approve drafts; the sender sends them on its next run (or now with `mailbot send --once`).

    \b
    Example:
      mailbot drafts approve 3
      mailbot drafts approve --all
    """
    if not draft_ids and not approve_all:
        raise click.UsageError("give a draft ID or --all")
    app = load_app()
    who = actor()
    with session_scope(app.engine) as s:
        ids = list(draft_ids) or [d.id for d in draft_ops.list_drafts(s, "drafted")]
        for draft_id in ids:
            draft_ops.approve(s, draft_id, actor=who)
    for draft_id in ids:
        click.echo(f"approved draft #{draft_id}")


@drafts.command("reject")
@click.argument("draft_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def reject(draft_id: int, reason: str) -> None:
    """Reject a draft: it will never be sent.

    \b
    Example:
      mailbot drafts reject 3 --reason "course not IICRC-approved"
    """
    app = load_app()
    with session_scope(app.engine) as s:
        draft_ops.reject(s, draft_id, reason=reason, actor=actor())
    click.echo(f"rejected draft #{draft_id}")


@drafts.command("edit")
@click.argument("draft_id", type=int)
@click.option("--hours", default=None, help="Corrected CEC hours.")
@click.option("--title", default=None, help="Corrected course title.")
@click.option("--date", "when", default=None, help="Corrected completion date, YYYY-MM-DD.")
@click.option("--provider", default=None)
@click.option("--approval-number", default=None)
def edit(draft_id: int, hours: str | None, title: str | None, when: str | None, provider: str | None,
         approval_number: str | None) -> None:
    """Correct a draft (and its credit) before approval; the change is recorded.

    \b
    Example:
      mailbot drafts edit 3 --hours 6 --title "Water Damage Restoration Refresher"
    """
    from decimal import Decimal, InvalidOperation

    from mailbot.cli.common import parse_date
    from mailbot.ledger.edits import apply_edit
    from mailbot.mail.approval_flow import request_approval
    from mailbot.mail.drafting import rerender_submission

    try:
        amount = Decimal(hours) if hours is not None else None
    except InvalidOperation:
        raise click.BadParameter(f"--hours must be a number, got {hours!r}") from None
    day = parse_date(when, "--date") if when else None
    app = load_app()
    with session_scope(app.engine) as s:
        draft = draft_ops.get(s, draft_id)
        credit, tech, changes = apply_edit(s, draft, actor=actor(), hours=amount, title=title, completed_on=day,
                                           provider=provider, approval_number=approval_number)
        rerender_submission(s, app.templates, app.config, draft, tech, credit)
        request_approval(s, app, draft)
    for name, change in changes.items():
        click.echo(f"draft #{draft_id}: {name} {change['from']} → {change['to']}")


@drafts.command("resend")
@click.argument("draft_id", type=int)
def resend(draft_id: int) -> None:
    """Queue an interrupted or failed draft again, after checking the Sent folder shows it did not go out.

    \b
    Example:
      mailbot drafts resend 3
    """
    app = load_app()
    with session_scope(app.engine) as s:
        draft_ops.requeue(s, draft_id, actor=actor())
    click.echo(f"draft #{draft_id} is approved again; it goes out on the next send")


@drafts.command("mark-sent")
@click.argument("draft_id", type=int)
def mark_sent(draft_id: int) -> None:
    """Record that an interrupted draft did go out (you found it in the Sent folder): it is never resent.

    \b
    Example:
      mailbot drafts mark-sent 3
    """
    app = load_app()
    with session_scope(app.engine) as s:
        draft_ops.confirm_interrupted_sent(s, draft_id, actor=actor())
    click.echo(f"draft #{draft_id} recorded as sent")
