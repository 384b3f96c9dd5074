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
    from mailbot.ledger.models import Credit, Draft, InboundMessage, Notice, Technician

    app = App(demo_config(run.root))
    with session_scope(app.engine) as s:
        techs = {t.id: t.name for t in s.exec(select(Technician)).all()}
        messages = s.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
        credits = s.exec(select(Credit).order_by(Credit.id)).all()
        drafts = s.exec(select(Draft).order_by(Draft.id)).all()
        notices = s.exec(select(Notice).order_by(Notice.id)).all()
    click.secho(f"mailbot demo: workspace {run.root}", bold=True)
    click.echo(f"Technicians registered: {', '.join(techs.values())}. They forwarded {len(messages)} emails "
               "to the company inbox (a Maildir); one pass read them:\n")
    print_table(["#", "from", "outcome", "moved to", "why"],
                ([m.id, m.from_addr, m.state, m.target_folder, m.reason] for m in messages), title="Inbox pass")
    print_table(["credit", "technician", "course", "hours", "completed"],
                ([c.id, techs[c.tech_id], c.course_title, c.hours, c.completed_on] for c in credits),
                title="Credits recorded in the ledger")
    test_mode = "" if app.config.iicrc.live else " (test mode: [iicrc] live = false, so they go to the office)"
    print_table(["draft", "technician", "state", "to", "cc"],
                ([d.id, techs[d.tech_id], d.state, d.to_addr, d.cc_addrs] for d in drafts),
                title="Submissions to IICRC" + test_mode)
    print_table(["to", "subject", "state"],
                ([n.recipient, n.subject, n.state] for n in notices if n.kind == "receipt"),
                title="Receipts (nobody replies to the unknown sender)")
    requests = [n for n in notices if n.kind == "approval-request"]
    if requests:
        click.echo(f"\n{len(requests)} approval request(s) went to {requests[0].recipient}: replying APPROVE "
                   "(or REJECT and a reason) approves by email, as `mailbot drafts approve ID` does.")
    click.echo("\nOpen the drafted submissions in your mail program:")
    for path in run.drafts_exported:
        click.echo(f"  {path}")
    if run.approved_id is not None:
        click.echo(f"\nThe admin approved draft #{run.approved_id} (`mailbot drafts approve {run.approved_id}`); "
                   f"`mailbot send --once` sent {len(run.send.sent)} submission(s).")
    click.echo(f"File outbox, everything mailbot sent ({app.config.resolve_path(app.config.outbox.path)}):")
    for path in run.outbox_files:
        click.echo(f"  {_describe(path)}")
    click.echo(f"\nLook around: mailbot --config {run.root / 'mailbot.toml'} drafts list   (or credits list, balances)")


def _describe(path: Path) -> str:
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes(), headersonly=True)
    return f"→ {msg['To']}: {msg['Subject']}"
