"""mailbot audit-pack / calendar / coverage: what the ledger shows an auditor, a calendar and a manager."""
from __future__ import annotations

from datetime import UTC
from pathlib import Path

import click

from mailbot.cli.common import Command, emit_json_lines, json_line, load_app, parse_date, print_table
from mailbot.ledger.db import session_scope


@click.command("audit-pack", cls=Command)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tech", "tech_email", default=None, help="Only this technician (the leaver packet).")
@click.option("--json", "as_json", is_flag=True, help="Print what was packed as one JSON object.")
def audit_pack(out: Path, tech_email: str | None, as_json: bool) -> None:
    """Zip every credit with its evidence: certificate, raw email, who approved, when sent, audit trail.

    The zip holds index.csv (one row per credit), summary.txt (readable) and a folder per credit.
    With --tech it is the packet a departing technician takes along (their records are theirs).

    \b
    Example:
      mailbot audit-pack tpa-audit-2026.zip
      mailbot audit-pack dana-records.zip --tech dana@example.com
    """
    from mailbot.ledger.auditpack import build_pack
    from mailbot.ledger.techs import get_by_email

    app = load_app()
    root = app.config.resolve_path(app.config.storage.evidence_dir)
    with session_scope(app.engine) as s:
        tech = get_by_email(s, tech_email) if tech_email else None
        try:
            result = build_pack(s, out, evidence_root=root, tech=tech, rules=app.rules, as_of=app.today(),
                                generated_at=app.clock().astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json_line(result))
        return
    click.echo(f"wrote {out}: {result['credits']} credits for {result['technicians']} technicians")
    for problem in result["missing"]:
        click.echo(f"  warning: {problem}", err=True)


@click.command("calendar", cls=Command)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of", default=None, help="Compute cycles at this date (YYYY-MM-DD; default today).")
def calendar(out: Path, as_of: str | None) -> None:
    """Write an .ics calendar: CEC cycle ends, annual fee dates and planned courses of active technicians.

    Event UIDs are stable, so a calendar subscribed to the file updates instead of duplicating.

    \b
    Example:
      mailbot calendar /var/www/calendars/iicrc.ics
    """
    from mailbot.ledger.calendar import ledger_events, render_ics

    app = load_app()
    day = parse_date(as_of, "--as-of") if as_of else app.today()
    domain = app.config.company.address.rpartition("@")[2] or "mailbot.invalid"
    with session_scope(app.engine) as s:
        events = ledger_events(s, app.rules, day)
    text = render_ics(events, domain=domain, calendar_name=f"{app.config.company.name} IICRC CE",
                      stamp=app.clock())
    try:
        out.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(f"wrote {out}: {len(events)} events")


@click.command("coverage", cls=Command)
@click.option("--as-of", "as_of", default=None, help="At this date (YYYY-MM-DD; default today).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per category.")
def coverage(as_of: str | None, as_json: bool) -> None:
    """Work categories (water, fire, mold, cleaning …) and how many technicians are current in each.

    Categories with nobody current, and those the next lapse would leave with nobody, are called out.

    \b
    Example:
      mailbot coverage --as-of 2026-12-31 --json
    """
    from mailbot.ledger.coverage import coverage_report

    app = load_app()
    day = parse_date(as_of, "--as-of") if as_of else app.today()
    with session_scope(app.engine) as s:
        report = coverage_report(s, app.rules, day)
    if as_json:
        emit_json_lines({**row, "next_lapse_on": report["next_lapse_on"] if row["at_risk"] else None,
                         "next_lapse_emails": report["next_lapse_emails"] if row["at_risk"] else []}
                        for row in report["categories"])
        return
    print_table(["category", "current", "technicians", "note"],
                ([r["category"], r["current"], ", ".join(r["technicians"]), _note(r, report)]
                 for r in report["categories"]), title=f"Coverage as of {day}")
    for line in _callouts(report):
        click.echo(line)


def _note(row: dict, report: dict) -> str:
    if row["uncovered"]:
        return "NOBODY CURRENT"
    if row["at_risk"]:
        return f"AT RISK: nobody left if {', '.join(report['next_lapse_emails'])} lapse on {report['next_lapse_on']}"
    return ""


def _callouts(report: dict) -> list[str]:
    lines = []
    uncovered = [r["category"] for r in report["categories"] if r["uncovered"]]
    at_risk = [r["category"] for r in report["categories"] if r["at_risk"]]
    if uncovered:
        lines.append(f"no current certified technician: {', '.join(uncovered)}")
    if at_risk:
        lines.append(f"the next lapse ({', '.join(report['next_lapse_emails'])} on {report['next_lapse_on']}, "
                     f"unless their hours are in by then) would leave nobody current in: {', '.join(at_risk)}")
    return lines
