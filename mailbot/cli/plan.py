"""mailbot plan: courses and events planned ahead, so balances can project the cycle end."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from mailbot.cli.common import Group, actor, load_app, parse_date
from mailbot.ledger import audit
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import PlanEntry, to_centi
from mailbot.ledger.techs import get_by_email


@click.group(cls=Group)
def plan() -> None:
    """Planned continuing education.

    \b
    Example:
      mailbot plan add --tech dana@example.com --date 2027-03-10 --hours 2 --title "Trade show booth"
    """


@plan.command("add")
@click.option("--tech", "tech_email", required=True)
@click.option("--date", "when", required=True, help="Planned date, YYYY-MM-DD.")
@click.option("--hours", required=True)
@click.option("--title", required=True)
def add(tech_email: str, when: str, hours: str, title: str) -> None:
    """Plan a course or event.

    \b
    Example:
      mailbot plan add --tech dana@example.com --date 2027-03-10 --hours 7 --title "WRT refresher"
    """
    try:
        amount = Decimal(hours)
    except InvalidOperation:
        raise click.BadParameter(f"--hours must be a number, got {hours!r}") from None
    day = parse_date(when, "--date")
    app = load_app()
    with session_scope(app.engine) as s:
        tech = get_by_email(s, tech_email)
        entry = PlanEntry(tech_id=tech.id, on=day, hours_centi=to_centi(amount), title=title, created_by=actor())
        s.add(entry)
        s.flush()
        audit.record(s, actor(), "plan.add", "plan", entry.id, title=title)
    click.echo(f"planned {amount} h on {day}: {title}")
