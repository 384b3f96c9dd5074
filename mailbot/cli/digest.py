"""mailbot digest: monthly statements, the admin roll-up and the daily escalation check."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from mailbot.cli.common import Command, Group, emit_json_lines, fail, load_app, parse_date, print_table


@click.group(cls=Group)
def digest() -> None:
    """Monthly statements to technicians, the admin roll-up, and deadline escalations.

    \b
    Example:
      mailbot digest preview --tech dana@techs.example
      mailbot digest send --month 2026-12
    """


def _progress_bar():  # type: ignore[no-untyped-def]
    """A rich progress bar on a terminal (stderr); silent otherwise, so logs and pipes stay clean."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import Progress

    progress = Progress(transient=False)
    task = progress.add_task("sending", total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


@digest.command(cls=Command)
@click.option("--month", default=None, metavar="YYYY-MM", help="The month to send (default: this month).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as one JSON object.")
def send(month: str | None, as_json: bool) -> None:
    """Queue and send the month's statements and roll-up. Safe to re-run: nobody gets two.

    \b
    Example:
      mailbot digest send --month 2026-12
    """
    from mailbot.digests.fanout import send_month
    from mailbot.digests.jobs import digest_day

    app = load_app()
    progress, update = _progress_bar()
    if progress is not None:
        with progress:
            report = send_month(app, month or f"{app.today():%Y-%m}", day=digest_day(app), on_progress=update)
    else:
        report = send_month(app, month or f"{app.today():%Y-%m}", day=digest_day(app))
    row = dict(vars(report))
    if as_json:
        emit_json_lines([row])
        return
    click.echo(f"{report.period}: queued {report.queued} statements ({report.already_queued} already queued, "
               f"{report.without_email} without an address), {report.rollups_queued} roll-ups; "
               f"sent {report.sent}, failed {report.failed}")
    for recipient in report.interrupted:
        click.echo(f"interrupted (not resent, admins told): {recipient}")


@digest.command(cls=Command)
@click.option("--tech", "tech_email", required=True, help="The technician's address.")
@click.option("--month", default=None, metavar="YYYY-MM", help="Statement month (default: this month).")
@click.option("--html", "html_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the HTML part to this file.")
def preview(tech_email: str, month: str | None, html_file: str | None) -> None:
    """Render a technician's statement without sending or queueing anything.

    \b
    Example:
      mailbot digest preview --tech dana@techs.example --month 2026-12 --html /tmp/statement.html
    """
    from mailbot.digests.fanout import month_as_of, render_statement
    from mailbot.digests.jobs import digest_day
    from mailbot.ledger.db import session_scope
    from mailbot.ledger.techs import get_by_email

    app = load_app()
    as_of = month_as_of(month or f"{app.today():%Y-%m}", digest_day(app))
    with session_scope(app.engine) as s:
        rendered = render_statement(app, s, get_by_email(s, tech_email), as_of)
    click.echo(f"Subject: {rendered.subject}\n\n{rendered.text}")
    if html_file:
        try:
            Path(html_file).write_text(rendered.html, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {html_file}: {exc.strerror}")


@digest.command(cls=Command)
@click.option("--as-of", "as_of", default=None, help="Check as of this date (YYYY-MM-DD; default today).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def escalate(as_of: str | None, as_json: bool) -> None:
    """Run the daily deadline check: queue and send the reminders due (each one once).

    \b
    Example:
      mailbot digest escalate --as-of 2027-01-15
    """
    from mailbot.digests.jobs import escalation_tick

    app = load_app()
    report = escalation_tick(app, parse_date(as_of, "--as-of") if as_of else None)
    if as_json:
        emit_json_lines([dict(vars(report))])
        return
    print_table(["topic", "queued"], sorted(report.topics.items()),
                title=f"Escalations as of {report.as_of}: {report.queued} new, {report.already} already sent")
