"""One leader per database: two `mailbot run` never both act.

SQLite: an exclusive flock on a file beside the database (released by the kernel when the process dies).
PostgreSQL: a session-level advisory lock held on a dedicated connection (released when the connection
drops). The second daemon waits as a hot standby and takes over when the lock frees.
"""
from __future__ import annotations

import fcntl
import os
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from mailbot.errors import MailbotError


def lock_key(schema: str) -> int:
    """A stable 32-bit advisory lock key per schema: two installs sharing one PostgreSQL database in
    different schemas each get their own leader."""
    return zlib.crc32(f"mailbot-leader:{schema}".encode())


class FileLeaderLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresLeaderLock:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._conn: Connection | None = None
        self._key = 0

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.still_held()
        conn = self.engine.connect()
        self._key = lock_key(conn.execute(text("SELECT current_schema()")).scalar() or "public")
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def still_held(self) -> bool:
        """False when the lock connection died (the lock is then free for a standby: step down)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # noqa: BLE001 - any failure means we can no longer prove we hold it
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                self._conn.commit()
                self._conn.close()
            finally:
                self._conn = None


def leader_lock(engine: Engine, sqlite_path: Path | None):  # type: ignore[no-untyped-def]
    if engine.dialect.name == "sqlite":
        return FileLeaderLock(Path(f"{sqlite_path}.leader.lock"))
    return PostgresLeaderLock(engine)


def wait_for_leadership(lock, stop: threading.Event, interval: float = 2.0, on_wait=None) -> bool:  # type: ignore[no-untyped-def]
    """Block (as a hot standby) until the lock is ours or `stop` is set. True when we lead."""
    first = True
    while not stop.is_set():
        if lock.try_acquire():
            return True
        if first and on_wait:
            on_wait()
            first = False
        stop.wait(interval)
    return False


@contextmanager
def sole_worker(app):  # type: ignore[no-untyped-def]
    """For one-shot commands (poll --once, send --once): act only when no daemon leads this database.
    Holding the lock also makes every claim found mid-way (a `sending` row) provably stale."""
    lock = leader_lock(app.engine, app.sqlite_path)
    if not lock.try_acquire():
        raise MailbotError("a mailbot daemon is running on this database and does this on its schedule; "
                           "stop it first (systemctl stop mailbot) to run this by hand")
    try:
        from mailbot.jobs import recover_interrupted_work

        recover_interrupted_work(app)
        yield
    finally:
        lock.release()
