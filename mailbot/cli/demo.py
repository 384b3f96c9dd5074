"""mailbot demo: the whole product on one screen, in a throwaway workspace, with no server."""
from __future__ import annotations

from pathlib import Path

import click
from sqlmodel import select

from mailbot.cli.common import Command, print_table


@click.command(cls=Command)
@click.option("--dir", "directory", default="mailbot-demo", show_default=True,
              help="Workspace folder (re-created on each run).")
def demo(directory: str) -> None:
    """Run mailbot on generated sample mail and show what it did.

    Builds a workspace (SQLite ledger, a Maildir inbox seeded with forwarded certificates, a file
    outbox), registers two technicians, reads the inbox once, approves one drafted submission and
    "sends" it to the file outbox.

    \b
    Example:
      mailbot demo --dir /tmp/mailbot-demo
    """
    from mailbot.demo import run_demo

    run = run_demo(Path(directory))
    _show(run)


def _show(run) -> None:  # type: ignore[no-untyped-def]
    from mailbot.app import App
    from mailbot.demo import demo_config
    from mailbot.ledger.db import session_scope
    from mailbot.ledger.models import Credit, Draft, InboundMessage, Notice

    app = App(demo_config(run.root))
    click.secho(f"mailbot demo — workspace {run.root}", bold=True)
    click.echo("Technicians forwarded 5 emails to the company inbox (a Maildir). One pass read them:\n")
    with session_scope(app.engine) as s:
        messages = s.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
        credits = s.exec(select(Credit).order_by(Credit.id)).all()
        drafts = s.exec(select(Draft).order_by(Draft.id)).all()
        notices = s.exec(select(Notice).order_by(Notice.id)).all()
    print_table(["#", "from", "outcome", "folder", "why"],
                ([m.id, m.from_addr, m.state, m.target_folder, m.reason] for m in messages), title="Inbox pass")
    print_table(["credit", "technician", "course", "hours", "completed"],
                ([c.id, c.tech_id, c.course_title, c.hours, c.completed_on] for c in credits),
                title="Credits recorded in the ledger")
    print_table(["draft", "state", "to", "cc", "subject"],
                ([d.id, d.state, d.to_addr, d.cc_addrs, d.subject] for d in drafts),
                title="Submissions to IICRC (test mode: [iicrc] live is false, so they go to the office)")
    print_table(["to", "kind", "subject", "state"], ([n.recipient, n.kind, n.subject, n.state] for n in notices),
                title="Receipts to technicians (nobody replies to the unknown sender)")
    click.echo("\nDrafted submissions, as .eml files you can open:")
    for path in run.drafts_exported:
        click.echo(f"  {path}")
    if run.approved_id is not None:
        click.echo(f"\nThe admin approved draft #{run.approved_id} (`mailbot drafts approve {run.approved_id}`) and "
                   f"the sender sent {len(run.send.sent)} message(s) to the file outbox.")
    click.echo(f"Outbox ({app.config.resolve_path(app.config.outbox.path)}):")
    for path in run.outbox_files:
        click.echo(f"  {path}")
    click.echo(f"\nTry: mailbot --config {run.root / 'mailbot.toml'} drafts list")
