"""mailbot db: the ledger's schema."""
from __future__ import annotations

import click

from mailbot.cli.common import Group, load_app


@click.group(cls=Group)
def db() -> None:
    """Database schema (migrations run automatically when the daemon starts).

    \b
    Example:
      mailbot db upgrade
    """


@db.command("upgrade")
def upgrade() -> None:
    """Create or migrate the database to the newest schema.

    \b
    Example:
      MAILBOT_DATABASE_URL=postgresql+psycopg://mailbot@localhost/mailbot mailbot db upgrade
    """
    from mailbot.ledger.db import init_db, schema_differences

    app = load_app()
    init_db(app.engine)
    left = schema_differences(app.engine)
    if left:
        raise click.ClickException(f"schema still differs from the models after upgrade: {left[:3]}")
    click.echo(f"database is up to date ({app.engine.url.render_as_string(hide_password=True)})")
