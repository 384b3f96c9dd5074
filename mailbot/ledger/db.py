"""Engine and schema. SQLite runs in WAL mode with a busy timeout so the daemon and the CLI can share it."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, create_engine

from mailbot.errors import MailbotError
from mailbot.ledger import (  # noqa: F401 - registers the tables
    health,
    mapping_models,
    models,
)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # pysqlite's own transaction handling does not BEGIN before a SAVEPOINT, so releasing a savepoint
    # (session.begin_nested) would commit at once. Let SQLAlchemy issue BEGIN itself (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision\b[^=]*=\s*['\"](\w+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*=(.*)$", re.MULTILINE)


def alembic_config(connection: Connection) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # alembic (+ mako, pygments: ~11 MB) only to migrate

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration's id, read from the revision files (not through alembic, see at_head);
    None unless they show exactly one head (alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if found:
            revisions.add(found[1])
            parents.update(re.findall(r"['\"](\w+)['\"]", down[1]) if down else ())
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """True when the database is already at the newest migration. A running daemon then never imports
    alembic, mako and pygments (~11 MB it would keep for good) just to learn there is nothing to do."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table (a fresh database) or no connection: init_db's alembic path says which
        return False
    return versions == [head]


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest migration (`mailbot db upgrade`). Safe to run at every start."""
    if at_head(engine):
        return
    from alembic import command  # only when there is something to migrate (see at_head)

    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
            return
        except OperationalError as exc:
            raise MailbotError(f"database error ({engine.url.render_as_string(hide_password=True)}): "
                               f"{exc.orig}") from None
        except (IntegrityError, ProgrammingError):
            if attempt == 2:  # another process was migrating the same fresh database at the same moment
                raise


def schema_differences(engine: Engine) -> list:
    """What the models have that the migrated database does not (empty when they agree)."""
    from alembic.autogenerate import compare_metadata  # a check command's, never the daemon's
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


@contextmanager
def _committed(bind: Engine | Connection) -> Iterator[Session]:
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def session_scope(engine: Engine) -> AbstractContextManager[Session]:
    """A session that commits on success and rolls back on error."""
    return _committed(engine)


@contextmanager
def durable_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose every commit is on disk when it returns, for commits that something outside
    the database is about to rely on (the inbox moves a message away once its credit is committed; an
    email goes out once its claim is committed: a claim lost to a power cut would send it twice).

    PostgreSQL commits durably anyway. SQLite runs its WAL with synchronous=NORMAL, where a commit
    survives a crash of the process but not a power cut; this connection runs with FULL (set on the
    driver connection outside any transaction: SQLite refuses the change inside one), costing one flush
    of the WAL per commit here instead of everywhere.
    """
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            yield conn
            return
        driver = conn.connection.driver_connection
        driver.execute("PRAGMA synchronous=FULL")
        try:
            yield conn
        finally:
            driver.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def durable_scope(engine: Engine) -> Iterator[Session]:
    """session_scope whose commit is on disk when the block ends (see durable_connection)."""
    with durable_connection(engine) as conn, _committed(conn) as session:
        yield session
