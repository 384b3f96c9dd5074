"""mailbot balances: each technician's pool of hours, cycle, status and pace, as an auditor would check it."""
from __future__ import annotations

import click
from sqlmodel import select

from mailbot.cli.common import Command, emit_json_lines, load_app, parse_date, print_table
from mailbot.ledger.balances import balance_json, compute_for
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import Technician
from mailbot.ledger.techs import get_by_email

BAR_WIDTH = 14


def progress_bar(earned, required) -> str:  # type: ignore[no-untyped-def]
    if not required:
        return ""
    filled = min(BAR_WIDTH, int(earned * BAR_WIDTH / required))
    return "█" * filled + "░" * (BAR_WIDTH - filled)


@click.command(cls=Command)
@click.option("--tech", "tech_email", default=None, help="Only this technician.")
@click.option("--as-of", "as_of", default=None, help="Compute at this date (YYYY-MM-DD; default today).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def balances(tech_email: str | None, as_of: str | None, as_json: bool) -> None:
    """Balances per technician: cycle, required, earned, status, pace, fee, each certification.

    \b
    Example:
      mailbot balances --as-of 2026-12-31 --json
    """
    app = load_app()
    day = parse_date(as_of, "--as-of") if as_of else app.today()
    with session_scope(app.engine) as s:
        techs = [get_by_email(s, tech_email)] if tech_email else \
            list(s.exec(select(Technician).order_by(Technician.name)).all())
        rows = [balance_json(compute_for(s, app.rules, t, day)) for t in techs]
    if as_json:
        emit_json_lines(rows)
        return
    print_table(["name", "status", "progress", "earned/required", "cycle end", "pace h/month", "fee due", "certs"],
                ([r["name"], r["status"], progress_bar(r["earned"], r["required"]),
                  f"{r['earned']}/{r['required']}", r["cycle_end"], r["pace"], r["fee_due"],
                  ", ".join(f"{c['designation']}:{c['status']}" for c in r["certifications"])] for r in rows),
                title=f"Balances as of {day}")
