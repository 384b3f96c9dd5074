"""mailbot plan: courses and events planned ahead, so balances can project the cycle end."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from mailbot.cli.common import Group, actor, load_app, parse_date
from mailbot.ledger import audit
from mailbot.ledger.db import session_scope
from mailbot.ledger.models import PlanEntry, from_centi, to_centi
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


@plan.command("template")
@click.option("--tech", "tech_email", default=None, help="One technician (default: every active one).")
@click.option("--year", type=int, default=None, help="Year to plan (default: this year).")
def template(tech_email: str | None, year: int | None) -> None:
    """Fill the plan from the yearly template (Q1 online course + trade-show booth, Q2 manufacturer
    training, Q3 regional conference, Q4 review); `balances` then projects the cycle end with it.

    \b
    Example:
      mailbot plan template --year 2027
    """
    from sqlmodel import select

    from mailbot.ledger.balances import tech_record
    from mailbot.ledger.models import Technician
    from mailbot.rules import plan_from_template

    app = load_app()
    year = year or app.today().year
    added = 0
    with session_scope(app.engine) as s:
        techs = [get_by_email(s, tech_email)] if tech_email else \
            list(s.exec(select(Technician).where(Technician.active == True)))
        for tech in techs:
            have = {(p.on, p.title) for p in s.exec(select(PlanEntry).where(PlanEntry.tech_id == tech.id))}
            for item in plan_from_template(tech_record(s, tech), app.rules, year):
                if (item.date, item.title) in have or item.hours <= 0:
                    continue
                s.add(PlanEntry(tech_id=tech.id, on=item.date, hours_centi=to_centi(item.hours), title=item.title,
                                created_by=actor()))
                added += 1
    click.echo(f"planned {added} item(s) for {year} across {len(techs)} technician(s)")


@plan.command("list")
@click.option("--tech", "tech_email", default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(tech_email: str | None, as_json: bool) -> None:
    """List planned items.

    \b
    Example:
      mailbot plan list --tech dana@example.com
    """
    from sqlmodel import select

    from mailbot.cli.common import emit_json_lines, print_table
    from mailbot.ledger.techs import view

    app = load_app()
    with session_scope(app.engine) as s:
        query = select(PlanEntry).order_by(PlanEntry.on)
        if tech_email:
            query = query.where(PlanEntry.tech_id == get_by_email(s, tech_email).id)
        from mailbot.ledger.models import Technician
        emails = {t.id: view(s, t).email for t in s.exec(select(Technician))}
        rows = [{"id": p.id, "tech_email": emails.get(p.tech_id), "date": p.on, "hours": from_centi(p.hours_centi),
                 "title": p.title} for p in s.exec(query)]
    if as_json:
        emit_json_lines(rows)
        return
    print_table(["id", "technician", "date", "hours", "title"],
                ([r["id"], r["tech_email"], r["date"], r["hours"], r["title"]] for r in rows))
