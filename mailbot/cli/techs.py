"""mailbot techs: who the technicians are, the addresses they forward from, the certifications they hold."""
from __future__ import annotations

import click

from mailbot.cli.common import Group, actor, emit_json_lines, load_app, parse_date, print_table
from mailbot.ledger import audit
from mailbot.ledger.db import session_scope
from mailbot.ledger.techs import add_technician, list_views


def _parse_cert(value: str) -> tuple[str, object]:
    designation, sep, when = value.partition(":")
    if not sep or not designation.strip():
        raise click.BadParameter(f"--cert must look like WRT:2024-03-01, got {value!r}")
    return designation.strip().upper(), parse_date(when.strip(), "--cert date")


@click.group(cls=Group)
def techs() -> None:
    """Technicians and the addresses they forward certificates from.

    \b
    Example:
      mailbot techs list --json
    """


@techs.command("add")
@click.option("--name", required=True, help="Legal name, as IICRC has it.")
@click.option("--email", "emails", multiple=True, required=True, help="Forwarding address (repeat for more).")
@click.option("--alias", "aliases", multiple=True, help="Another address that also identifies them.")
@click.option("--iicrc-id", default=None, help="IICRC registrant ID.")
@click.option("--cert", "certs", multiple=True, help="Certification held, DESIGNATION:YYYY-MM-DD (repeat).")
@click.option("--cycle-start", default=None, help="Cycle start from My IICRC, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print the new technician as JSON.")
def add(name: str, emails: tuple[str, ...], aliases: tuple[str, ...], iicrc_id: str | None,
        certs: tuple[str, ...], cycle_start: str | None, as_json: bool) -> None:
    """Register a technician.

    \b
    Example:
      mailbot techs add --name "Dana Reyes" --email dana@example.com --iicrc-id 123456 \\
          --cert WRT:2024-03-01 --cert ASD:2024-05-10
    """
    parsed = [_parse_cert(c) for c in certs]
    start = parse_date(cycle_start, "--cycle-start") if cycle_start else None
    app = load_app()
    with session_scope(app.engine) as s:
        tech = add_technician(s, name, list(emails) + list(aliases), iicrc_id=iicrc_id, certifications=parsed,
                              cycle_start=start)
        audit.record(s, actor(), "tech.add", "technician", tech.id, name=name)
        v = next(v for v in list_views(s) if v.id == tech.id)
    if as_json:
        emit_json_lines([v.as_json()])
    else:
        click.echo(f"added technician #{v.id} {v.name} <{v.email}>")


@techs.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(as_json: bool) -> None:
    """List technicians.

    \b
    Example:
      mailbot techs list --json
    """
    app = load_app()
    with session_scope(app.engine) as s:
        views = list_views(s)
    if as_json:
        emit_json_lines(v.as_json() for v in views)
        return
    print_table(["id", "name", "emails", "IICRC id", "certifications", "active"],
                ([v.id, v.name, "\n".join(v.emails), v.iicrc_id, ", ".join(f"{d} {on}" for d, on in v.certifications),
                  "yes" if v.active else "no"] for v in views))
