"""The Maildir mail source: a local Maildir++ tree (the inbox at the root, folders as ".Processed" etc.).

The embedded default (`mailbot demo`) and any host where an MTA delivers into a Maildir. The same promises
as IMAP: reading never changes flags (no new/ → cur/ move, no info change), filing renames the one file into
the folder's same subdirectory under the same name, so its key and flags travel with it and a crash can
never leave two copies. stdlib `mailbox.Maildir` creates the folders; files are located and moved here with
plain renames, which are atomic within one file system.
"""
from __future__ import annotations

import errno
import mailbox
import os
import secrets
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from mailbot.errors import ProcessingError
from mailbot.inbox.source import FolderState, batched

COLON = mailbox.Maildir.colon  # separates the unique key from the "2,FLAGS" info in a file name
# IMAP system flags and their Maildir info letters (kept in ASCII order when written).
FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
SUBDIRS = ("new", "cur")
# Errors that retrying will not fix: a person has to create the directory or fix its permissions.
PERMANENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EROFS}


class MaildirSource:
    """A Maildir inbox at `path`. `create` makes it (and its tmp/new/cur) when missing."""

    folder = "INBOX"

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, poll_interval: float = 0.2):
        self.path = Path(path).resolve()  # one identity however the path was spelled (symlinks, ..)
        self.account = f"maildir:{self.path}"
        self.create = create
        self.poll_interval = poll_interval
        self._maildir: mailbox.Maildir | None = None
        self._paths: dict[str, Path] = {}  # key → current file, refreshed whenever a key is not found
        self._seen_mtimes: tuple[int, ...] | None = None

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._maildir = None

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except ProcessingError:
            raise
        except (OSError, mailbox.Error) as exc:
            permanent = isinstance(exc, mailbox.NoSuchMailboxError) or getattr(exc, "errno", None) in PERMANENT_ERRNOS
            raise ProcessingError(f"{self.account}: cannot {action}: {exc}", permanent=permanent) from None

    def _open(self) -> mailbox.Maildir:
        if self._maildir is None:
            with self._guard("open the Maildir"):
                self._maildir = mailbox.Maildir(self.path, factory=None, create=self.create)
                for sub in ("tmp", *SUBDIRS):
                    if not (self.path / sub).is_dir():
                        raise mailbox.NoSuchMailboxError(f"{self.path} is not a Maildir (no {sub}/)")
        return self._maildir

    # ---- MailSource ---------------------------------------------------------------------------------
    def folder_state(self) -> FolderState:
        self._open()
        with self._guard("list the inbox"):
            self._seen_mtimes = self._mtimes()
            self._paths = self._scan()
        return FolderState(self.folder, 0, sorted(self._paths))

    def status_signature(self) -> tuple[int, int, int] | None:
        """A Maildir has no UIDNEXT; listing it is a local directory read anyway."""
        return None

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """Exact bytes of each key still in the inbox; the file is only read, never renamed."""
        self._open()
        for batch in batched(list(keys)):
            found = []
            with self._guard("read messages"):
                for key in batch:
                    raw = self._read(key)
                    if raw is not None:
                        found.append((key, raw))
            yield from found

    def _read(self, key: str) -> bytes | None:
        for _attempt in range(2):  # a second look after a rescan: another process may have renamed it
            path = self._locate(key)
            if path is None:
                return None
            try:
                return path.read_bytes()
            except FileNotFoundError:
                self._paths.pop(key, None)
        return None

    def file(self, key: str, folder: str) -> None:
        self._open()
        self.ensure_folders([folder])
        target_root = self._folder_path(folder)
        with self._guard(f"move {key} to {folder!r}"):
            for _attempt in range(2):
                source = self._locate(key)
                if source is None:
                    return  # already moved: filing is idempotent
                try:
                    # Same subdir, same name: key and flags (the ":2,FLAGS" info) are kept as they were.
                    os.rename(source, target_root / source.parent.name / source.name)
                    self._paths.pop(key, None)
                    return
                except FileNotFoundError:
                    self._paths.pop(key, None)

    def file_many(self, keys: Sequence[str], folder: str) -> None:
        for key in keys:  # a rename each: there is no round trip to save
            self.file(key, folder)

    def ensure_folders(self, names: Iterable[str]) -> None:
        maildir = self._open()
        with self._guard("create folders"):
            existing = set(maildir.list_folders())
            for name in map(_maildirpp_name, names):
                if name.upper() != "INBOX" and name not in existing:
                    maildir.add_folder(name)

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = ("\\Seen",)) -> None:
        """Deliver `raw` unchanged (tmp/ then rename, the Maildir way) with the flags it can express."""
        self._open()
        self.ensure_folders([folder])
        root = self._folder_path(folder)
        letters = "".join(sorted(FLAG_LETTERS[f] for f in set(flags) if f in FLAG_LETTERS))
        unique = f"{time.time_ns() // 1000}.M{secrets.token_hex(6)}P{os.getpid()}.{_hostname()}"
        with self._guard(f"append to {folder!r}"):
            tmp = root / "tmp" / unique
            tmp.write_bytes(raw)
            # Mail a person has "seen" lives in cur/ with info; unflagged new mail in new/ without.
            final = root / "cur" / f"{unique}{COLON}2,{letters}" if letters else root / "new" / unique
            os.rename(tmp, final)

    def wait_for_new(self, timeout: float) -> bool:
        """Poll the inbox's new/ and cur/ directory mtimes; True once they differ from the last listing."""
        self._open()
        deadline = time.monotonic() + timeout
        with self._guard("watch the inbox"):
            baseline = self._seen_mtimes if self._seen_mtimes is not None else self._mtimes()
            while True:
                if self._mtimes() != baseline:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                time.sleep(min(self.poll_interval, remaining))

    # ---- helpers ------------------------------------------------------------------------------------
    def _folder_path(self, folder: str) -> Path:
        return self.path if folder.upper() == "INBOX" else self.path / f".{_maildirpp_name(folder)}"

    def _mtimes(self) -> tuple[int, ...]:
        return tuple((self.path / sub).stat().st_mtime_ns for sub in SUBDIRS)

    def _scan(self) -> dict[str, Path]:
        paths: dict[str, Path] = {}
        for sub in SUBDIRS:
            for entry in os.scandir(self.path / sub):
                if not entry.name.startswith(".") and entry.is_file():
                    paths[entry.name.split(COLON, 1)[0]] = Path(entry.path)
        return paths

    def _locate(self, key: str) -> Path | None:
        path = self._paths.get(key)
        if path is None or not path.exists():
            self._paths = self._scan()
            path = self._paths.get(key)
        return path


def _maildirpp_name(folder: str) -> str:
    """Maildir++ keeps every folder flat at the top, hierarchy spelled with ".": "mailbot/Processed" is
    stored as ".mailbot.Processed", the same directory Dovecot uses for that IMAP folder."""
    return folder.replace("/", ".")


def _hostname() -> str:
    # "/" and ":" would break the file name; Maildir's convention escapes them.
    return socket.gethostname().replace("/", r"\057").replace(":", r"\072")
