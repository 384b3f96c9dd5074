"""The migrations build exactly the schema the models describe, on every backend."""
import subprocess
import sys

from alembic import command
from alembic.config import Config as AlembicConfig

from mailbot.ledger.db import alembic_config, at_head, init_db, make_engine, schema_differences


def test_empty_database_migrates_to_the_models(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    assert schema_differences(engine) == []
    init_db(engine)  # running it again at the next start is harmless
    engine.dispose()


def test_the_head_read_from_the_revision_files_is_alembics_head():
    from alembic.script import ScriptDirectory

    from mailbot.ledger.db import MIGRATIONS, head_revision

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_database_at_head_starts_without_importing_alembic(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    engine.dispose()
    code = ("import sys; from mailbot.ledger.db import at_head, init_db, make_engine; e = make_engine(sys.argv[1]); "
            "assert at_head(e); init_db(e); print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('alembic', 'mako', 'pygments')))")
    done = subprocess.run([sys.executable, "-c", code, db_url], capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_database_one_revision_behind_is_still_upgraded(db_url):
    engine = make_engine(db_url)
    assert not at_head(engine)  # a fresh database has no alembic_version table yet
    init_db(engine)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "-1")
    assert not at_head(engine)
    init_db(engine)
    assert at_head(engine)
    assert schema_differences(engine) == []
    engine.dispose()
