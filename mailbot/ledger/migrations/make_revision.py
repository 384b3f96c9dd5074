"""Developer tool: autogenerate a migration from the models.

    .venv/bin/python -m mailbot.ledger.migrations.make_revision "add plan table"

It migrates a scratch SQLite database to head, then compares it with the models.
"""
import sys
import tempfile
from pathlib import Path

from alembic import command

from mailbot.ledger.db import alembic_config, init_db, make_engine


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        init_db(engine)
        with engine.begin() as conn:
            command.revision(alembic_config(conn), message=message, autogenerate=True)


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "schema change")
