"""mailbot mail: messages that need a person — review items and dead letters — and running one again."""
from __future__ import annotations

import click
from sqlmodel import select

from mailbot.cli.common import Group, actor, emit_json_lines, load_app, print_table


@click.group(cls=Group)
def mail() -> None:
    """Inbox messages that went to review or failed.

    \b
    Example:
      mailbot mail failures
    """


@mail.command("failures")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def failures(as_json: bool) -> None:
    """List messages in review, retrying or dead-lettered, with the reason.

    \b
    Example:
      mailbot mail failures --json
    """
    from mailbot.ledger.db import session_scope
    from mailbot.ledger.models import InboundMessage, ReviewItem

    app = load_app()
    with session_scope(app.engine) as s:
        rows = s.exec(select(InboundMessage).where(InboundMessage.state.in_(("review", "retry", "dead")))
                      .order_by(InboundMessage.id)).all()
        items = s.exec(select(ReviewItem).where(ReviewItem.state == "open")).all()
    kinds: dict[int, list[str]] = {}
    for item in items:
        kinds.setdefault(item.message_row_id or 0, []).append(item.kind)
    out = [{"id": r.id, "state": r.state, "from": r.from_addr, "subject": r.subject, "reason": r.reason,
            "review_kinds": kinds.get(r.id, []), "attempts": r.attempts, "next_attempt_at": r.next_attempt_at,
            "folder": r.target_folder, "raw_path": r.raw_path, "received_at": r.created_at} for r in rows]
    if as_json:
        emit_json_lines(out)
        return
    print_table(["id", "state", "from", "subject", "reason"],
                ([r["id"], r["state"], r["from"], r["subject"], r["reason"]] for r in out))


@mail.command("reprocess")
@click.argument("message_id", type=int)
def reprocess(message_id: int) -> None:
    """Run one message again from its stored raw email (e.g. after adding its sender as a technician).

    \b
    Example:
      mailbot mail reprocess 17
    """
    from mailbot.errors import MailbotError
    from mailbot.jobs import reprocess as run_again
    from mailbot.jobs import send_notices
    from mailbot.leader import sole_worker

    app = load_app()
    row = run_again(app, message_id, actor())  # ledger only: safe beside a running daemon
    click.echo(f"message #{row.id}: {row.state} ({row.reason})")
    try:
        with sole_worker(app):
            send_notices(app)
    except MailbotError:
        click.echo("the running daemon sends the receipt on its next pass")
