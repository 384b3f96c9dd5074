"""mailbot status / check: is it working, and if not, which step fails and how to fix it."""
from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import func
from sqlmodel import select

from mailbot.cli.common import Command, emit_json_lines, load_app, print_table


def _counts(s) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from mailbot.ledger.models import Draft, InboundMessage, ReviewItem

    def count(model, *where) -> int:  # type: ignore[no-untyped-def]
        return s.exec(select(func.count()).select_from(model).where(*where)).one()

    return {
        "review": count(ReviewItem, ReviewItem.state == "open"),
        "drafts_waiting": count(Draft, Draft.state == "drafted"),
        "approved_unsent": count(Draft, Draft.state == "approved"),
        "unconfirmed": count(Draft, Draft.state == "sent", Draft.confirmed_at.is_(None)),
        "failed_sends": count(Draft, Draft.state.in_(("failed", "interrupted"))),
        "dead_letters": count(InboundMessage, InboundMessage.state == "dead"),
        "retrying": count(InboundMessage, InboundMessage.state == "retry"),
        "quarantine": count(InboundMessage, InboundMessage.state == "review", InboundMessage.tech_id.is_(None)),
    }


def _role(app) -> str:  # type: ignore[no-untyped-def]
    """Whether a daemon holds the leader lock right now (probed without keeping it)."""
    from mailbot.leader import leader_lock

    lock = leader_lock(app.engine, app.sqlite_path)
    if lock.try_acquire():
        lock.release()
        return "no daemon running"
    return "a daemon is leading"


@click.command(cls=Command)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(as_json: bool) -> None:
    """Leader or not, last successful poll and IDLE event, counts, next runs, last error per job.

    \b
    Example:
      mailbot status --json
    """
    from mailbot.ledger.db import session_scope
    from mailbot.ledger.health import all_rows

    app = load_app()
    intervals = {"poll": app.config.schedule.poll_seconds, "send": app.config.schedule.send_seconds, "alarm": 60}
    with session_scope(app.engine) as s:
        counts = _counts(s)
        jobs = [{"job": r.name, "last_ok_at": r.last_ok_at, "last_error": r.last_error,
                 "last_error_at": r.last_error_at, "consecutive_failures": r.consecutive_failures,
                 "alarm_open": r.alarm_open, "detail": r.detail,
                 "next_run_at": (r.last_ok_at + timedelta(seconds=intervals[r.name]))
                 if r.name in intervals and r.last_ok_at else None} for r in all_rows(s)]
    report = {"daemon": _role(app), "counts": counts, "jobs": jobs}
    if as_json:
        emit_json_lines([report])
        return
    click.echo(f"daemon: {report['daemon']}")
    click.echo("  ".join(f"{k}={v}" for k, v in counts.items()))
    print_table(["job", "last ok", "next run", "failures", "last error", "detail"],
                ([j["job"], j["last_ok_at"], j["next_run_at"], j["consecutive_failures"], j["last_error"], j["detail"]]
                 for j in jobs))


@click.command(cls=Command)
@click.option("--create-folders", is_flag=True, help="Create missing IMAP folders instead of only reporting.")
def check(create_folders: bool) -> None:
    """Try each step (config, database, inbox, outbox, OCR) and print ✓/✗ with the fix for each ✗.

    \b
    Example:
      mailbot --config /etc/mailbot/config.toml check
    """
    from mailbot.checks import run_checks

    results = run_checks(load_app(), create_folders=create_folders)
    for result in results:
        mark = click.style("✓", fg="green") if result.ok else click.style("✗", fg="red")
        click.echo(f"{mark} {result.step}: {result.detail}")
        if not result.ok and result.fix:
            click.echo(f"    fix: {result.fix}")
    if not all(r.ok for r in results):
        raise SystemExit(1)
