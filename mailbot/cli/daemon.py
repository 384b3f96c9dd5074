"""mailbot run / poll / send: the daemon and its ticks, one at a time from the terminal."""
from __future__ import annotations

import click

from mailbot.cli.common import Command, emit_json_lines, load_app


@click.command(cls=Command)
def run() -> None:
    """Run the daemon in the foreground (for systemd): poll the inbox, send approved drafts, keep running.

    \b
    Example:
      mailbot --config /etc/mailbot/config.toml run
    """
    from mailbot.daemon import run_daemon

    raise SystemExit(run_daemon(load_app()))


@click.command(cls=Command)
@click.option("--once", is_flag=True, required=True, help="One pass, then exit (the daemon polls on its own).")
@click.option("--json", "as_json", is_flag=True, help="Print the pass report as JSON.")
def poll(once: bool, as_json: bool) -> None:
    """Read the inbox once: record certificates, draft submissions, send receipts.

    \b
    Example:
      mailbot poll --once
    """
    from dataclasses import asdict

    from mailbot.jobs import poll_tick
    from mailbot.leader import sole_worker
    from mailbot.ledger import health
    from mailbot.ledger.db import session_scope

    app = load_app()
    with sole_worker(app):
        report = poll_tick(app)
    with session_scope(app.engine) as s:
        health.record_ok(s, "poll")
    if as_json:
        emit_json_lines([asdict(report)])
        return
    click.echo(f"seen {report.seen}, fetched {report.fetched}: {report.credits} credit(s) recorded, "
               f"{report.drafts} draft(s) awaiting approval, {report.review} to review, {report.ignored} ignored, "
               f"{report.duplicate} duplicate(s), {report.retry} to retry, {report.dead} dead; "
               f"{report.filed} filed, {report.receipts_sent} receipt(s) sent")
    for error in report.errors:
        click.echo(f"  ! {error}", err=True)


@click.command(cls=Command)
@click.option("--once", is_flag=True, required=True, help="Send what is approved now, then exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the send report as JSON.")
def send(once: bool, as_json: bool) -> None:
    """Send approved drafts now.

    \b
    Example:
      mailbot send --once
    """
    from dataclasses import asdict

    from mailbot.jobs import send_tick
    from mailbot.leader import sole_worker

    app = load_app()
    with sole_worker(app):
        report = send_tick(app)
    if as_json:
        emit_json_lines([asdict(report)])
        return
    click.echo(f"sent {len(report.sent)}, failed {len(report.failed)}, will retry {len(report.retry)}")
    for draft_id, error in report.failed + report.retry:
        click.echo(f"  ! draft #{draft_id}: {error}", err=True)
    if report.failed:
        raise SystemExit(1)
