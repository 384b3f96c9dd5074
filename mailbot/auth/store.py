"""The token cache file: one JSON document, mode 0600, replaced atomically, locked while a refresh runs.

A refresh token that rotates must never be lost (the old one stops working), so every write goes to a
temporary file in the same folder, is fsynced, and then renamed over the old one. The IMAP and SMTP
adapters (and `mailbot auth status` in another process) share the file; an exclusive lock around
read → refresh → write keeps two of them from spending the same refresh token.
"""
from __future__ import annotations

import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mailbot.errors import ConfigError

FILE_MODE = 0o600


class TokenStore:
    """Reads and writes the token cache at `path` (a JSON object; empty when the file does not exist)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"config key oauth2.token_cache: cannot read {self.path}: {exc.strerror}") from None
        self._tighten_mode()
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigError(f"token cache {self.path} is not valid JSON: sign in again with "
                              "`mailbot auth login` (the file is replaced)") from None
        return data if isinstance(data, dict) else {}

    def save(self, data: dict[str, Any]) -> None:
        """Write atomically with mode 0600: the file is either the old document or the new one, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            os.fchmod(fd, FILE_MODE)  # mkstemp already uses 0600; say so explicitly, umask-independent
            self._give_to_directory_owner(fd)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._fsync_dir()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock (a separate .lock file, so the atomic rename does not drop it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        self._give_to_directory_owner(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _give_to_directory_owner(self, fd: int) -> None:
        """`mailbot auth login` run as root must leave a file the daemon's user can read: the state folder
        (systemd StateDirectory=, owned by that user) says who that is."""
        if os.geteuid() != 0:
            return
        owner = self.path.parent.stat()
        if owner.st_uid != 0:
            os.fchown(fd, owner.st_uid, owner.st_gid)

    def _tighten_mode(self) -> None:
        # A cache copied in by hand may be group/world readable; it holds bearer tokens.
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                os.chmod(self.path, FILE_MODE)
        except OSError:
            pass

    def _fsync_dir(self) -> None:
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
