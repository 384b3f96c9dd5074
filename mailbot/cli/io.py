"""mailbot import / export: the ledger to and from the shop's spreadsheet."""
from __future__ import annotations

from pathlib import Path

import click

from mailbot.cli.common import Command, actor, json_line, load_app
from mailbot.ledger.columns import parse_overrides

CSV_NOTE = ("A .csv name stands for three files side by side: NAME-technicians.csv, NAME-ce-log.csv and "
            "NAME-certifications.csv (when none exist, NAME.csv itself is read as one tab).")


@click.command("import", cls=Command, epilog=CSV_NOTE)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read and check everything, change nothing.")
@click.option("--map", "maps", multiple=True, metavar="'HEADER=field'",
              help="Say what a column means, e.g. --map 'Tech Name=name' (repeat; field 'ignore' drops it). "
                   "Remembered after a successful import.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def import_(file: Path, dry_run: bool, maps: tuple[str, ...], as_json: bool) -> None:
    """Import technicians, certifications and CE credits from FILE (.xlsx or .csv).

    Tabs are recognised by their headers (Technicians, CE log, Certifications), below any title rows.
    Every row that cannot be taken is listed with its row number and why; duplicates (same technician,
    course and date) are skipped; hours in the former unit (1 CEC = 7 h) become review items.

    \b
    Example:
      mailbot import ce-tracker.xlsx --dry-run
      mailbot import ce-tracker.xlsx --map "Tech Name=name" --map "CE Hrs=hours"
    """
    from mailbot.ledger.importer import import_file

    try:
        overrides = parse_overrides(maps)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    app = load_app()
    report = import_file(app.engine, file, rules=app.rules, actor=actor(), overrides=overrides, dry_run=dry_run)
    if as_json:
        click.echo(json_line(report.as_json()))
    else:
        _print_report(report)
    if not report.tabs:  # nothing was recognised: a script should not carry on as if it had imported
        raise click.ClickException(f"{file.name}: no tab recognised; see the notes above, or use --map")


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    for tab in report.tabs:
        click.echo(f"tab {tab['tab']!r}: read as {tab['kind']} (header on row {tab['header_row']})")
    added = report.added
    verb = "would add" if report.dry_run else "added"
    click.echo(f"{verb} {added['technicians']} technicians, {added['certifications']} certifications, "
               f"{added['credits']} credits; {len(report.review)} for review; {len(report.skipped)} rows skipped")
    for issue in report.review:
        click.echo(f"  review  {issue}")
    for issue in report.skipped:
        click.echo(f"  skipped {issue}")
    for note in report.notes:
        click.echo(f"  note    {note}")
    if report.dry_run:
        click.echo("dry run: nothing was changed")


@click.command("export", cls=Command, epilog=CSV_NOTE)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export(file: Path) -> None:
    """Write the ledger to FILE (.xlsx with three tabs, or three .csv files).

    `mailbot import` reads the result back exactly (same technicians, certifications and credits).

    \b
    Example:
      mailbot export ledger-2026.xlsx
      mailbot export ledger.csv     # ledger-technicians.csv, ledger-ce-log.csv, ledger-certifications.csv
    """
    from mailbot.ledger.db import session_scope
    from mailbot.ledger.exporter import export_file

    app = load_app()
    with session_scope(app.engine) as s:
        written = export_file(s, file)
    for path in written:
        click.echo(f"wrote {path}")
