"""mailbot techs: who the technicians are, the addresses they forward from, the certifications they hold."""
from __future__ import annotations

import click

from mailbot.cli.common import Group, actor, emit_json_lines, load_app, parse_date, print_table
from mailbot.ledger import audit
from mailbot.ledger.db import session_scope
from mailbot.ledger.techs import add_technician, deactivate, edit_technician, get_by_email, list_views, view


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


@techs.command("edit")
@click.argument("email")
@click.option("--name", default=None, help="New legal name.")
@click.option("--iicrc-id", default=None, help="New IICRC registrant ID ('' clears it).")
@click.option("--cycle-start", default=None, help="Cycle start from My IICRC, YYYY-MM-DD.")
@click.option("--add-email", "add_emails", multiple=True, help="Another address that identifies them (repeat).")
@click.option("--remove-email", "remove_emails", multiple=True, help="Forget an address (repeat).")
@click.option("--add-cert", "add_certs", multiple=True, help="Certification gained, DESIGNATION:YYYY-MM-DD.")
@click.option("--reactivate", is_flag=True, help="A former technician is back: active again.")
@click.option("--json", "as_json", is_flag=True, help="Print the technician as JSON afterwards.")
def edit(email: str, name: str | None, iicrc_id: str | None, cycle_start: str | None,
         add_emails: tuple[str, ...], remove_emails: tuple[str, ...], add_certs: tuple[str, ...],
         reactivate: bool, as_json: bool) -> None:
    """Change a technician's details (every change goes to the audit trail).

    \b
    Example:
      mailbot techs edit dana@example.com --cycle-start 2024-03-01 --add-cert AMRT:2026-02-10 \\
          --add-email dana.phone@example.net
    """
    certs = [_parse_cert(c) for c in add_certs]
    start = parse_date(cycle_start, "--cycle-start") if cycle_start else None
    app = load_app()
    with session_scope(app.engine) as s:
        tech = get_by_email(s, email)
        changes = edit_technician(s, tech, actor=actor(), name=name, iicrc_id=iicrc_id, cycle_start=start,
                                  add_emails=list(add_emails), remove_emails=list(remove_emails), add_certs=certs,
                                  reactivate=reactivate)
        v = view(s, tech)
    if as_json:
        emit_json_lines([v.as_json()])
    elif changes:
        click.echo(f"technician #{v.id} {v.name}: " + "; ".join(changes))
    else:
        click.echo(f"technician #{v.id} {v.name}: nothing to change")


@techs.command("deactivate")
@click.argument("email")
@click.option("--on", "left_on", default=None, help="Leaving date, YYYY-MM-DD (default today).")
def deactivate_(email: str, left_on: str | None) -> None:
    """Mark a technician as a leaver. Their history stays; their mail is still recognised; no more digests.

    \b
    Example:
      mailbot techs deactivate dana@example.com --on 2026-06-30
      mailbot audit-pack dana-leaver.zip --tech dana@example.com   # their records to take along
    """
    app = load_app()
    day = parse_date(left_on, "--on") if left_on else app.today()
    with session_scope(app.engine) as s:
        tech = get_by_email(s, email)
        deactivate(s, tech, on=day, actor=actor())
        name = tech.name
    click.echo(f"{name} is inactive from {day}; history kept")
