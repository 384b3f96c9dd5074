"""Alembic environment: runs on the connection mailbot hands it (SQLite or PostgreSQL)."""
from alembic import context
from sqlmodel import SQLModel

from mailbot.ledger import db  # noqa: F401 - imports every table module

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
