"""mailbot review: what the parser was unsure about, for a person to confirm or dismiss."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

import click
from sqlmodel import select

from mailbot.cli.common import Group, actor, emit_json_lines, load_app, parse_date, print_table
from mailbot.ledger.db import session_scope


@click.group(cls=Group)
def review() -> None:
    """The review queue: uncertain certificates, name mismatches, unknown senders.

    \b
    Example:
      mailbot review list
    """


@review.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved items.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(show_all: bool, as_json: bool) -> None:
    """List open review items with what was read and why it needs a look.

    \b
    Example:
      mailbot review list --json
    """
    from mailbot.ledger.models import Document, InboundMessage, ReviewItem

    app = load_app()
    with session_scope(app.engine) as s:
        query = select(ReviewItem).order_by(ReviewItem.id)
        if not show_all:
            query = query.where(ReviewItem.state == "open")
        rows = []
        for item in s.exec(query):
            doc = s.get(Document, item.document_id) if item.document_id else None
            msg = s.get(InboundMessage, item.message_row_id) if item.message_row_id else None
            read = json.loads(doc.extraction_json) if doc and doc.extraction_json else {}
            rows.append({"id": item.id, "kind": item.kind, "state": item.state, "reason": item.reason,
                         "from": msg.from_addr if msg else None, "message_id": item.message_row_id,
                         "file": doc.stored_path if doc else None,
                         "read": {k: read.get(k) for k in ("person_name", "course_title", "hours",
                                                           "completed_on", "provider")} if read else None})
    if as_json:
        emit_json_lines(rows)
        return
    print_table(["id", "kind", "from", "reason"], ([r["id"], r["kind"], r["from"], r["reason"]] for r in rows))


@review.command("accept")
@click.argument("item_id", type=int)
@click.option("--tech", "tech_email", default=None, help="Whose credit it is (needed for unknown senders).")
@click.option("--title", default=None, help="Course title (default: as read).")
@click.option("--hours", default=None, help="CEC hours (default: as read).")
@click.option("--date", "when", default=None, help="Completion date YYYY-MM-DD (default: as read).")
@click.option("--provider", default=None)
@click.option("--approval-number", default=None)
def accept(item_id: int, tech_email: str | None, title: str | None, hours: str | None, when: str | None,
           provider: str | None, approval_number: str | None) -> None:
    """Record the credit after checking the certificate; its submission is drafted for approval.

    \b
    Example:
      mailbot review accept 4 --hours 7 --date 2026-03-14
    """
    from mailbot.review import Facts
    from mailbot.review import accept as accept_item

    try:
        amount = Decimal(hours) if hours is not None else None
    except InvalidOperation:
        raise click.BadParameter(f"--hours must be a number, got {hours!r}") from None
    facts = Facts(title=title, hours=amount, completed_on=parse_date(when, "--date") if when else None,
                  provider=provider, approval_number=approval_number)
    app = load_app()
    with session_scope(app.engine) as s:
        credit_id, draft_id = accept_item(s, app, item_id, facts, actor=actor(), tech_email=tech_email)
    click.echo(f"review item #{item_id}: recorded credit #{credit_id}, draft #{draft_id} awaits approval")


@review.command("dismiss")
@click.argument("item_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def dismiss(item_id: int, reason: str) -> None:
    """Close a review item without a credit (not a certificate, not ours, a duplicate …).

    \b
    Example:
      mailbot review dismiss 4 --reason "marketing flyer"
    """
    from mailbot.review import dismiss as dismiss_item

    app = load_app()
    with session_scope(app.engine) as s:
        dismiss_item(s, item_id, reason=reason, actor=actor())
    click.echo(f"review item #{item_id} dismissed")
