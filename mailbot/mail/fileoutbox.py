"""The embedded "file outbox": each sent message becomes one .eml file in a directory.

Used by the demo and by installs that hand mail to something else. Files appear atomically: the bytes are
written to a hidden temporary file in the same directory, flushed to disk, then linked under the final name,
so a reader globbing *.eml never sees half a message and an existing file is never overwritten.
"""
from __future__ import annotations

import copy
import logging
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Self

from mailbot.errors import ProcessingError
from mailbot.mail.envelope import ensure_message_id, envelope_of

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]+")
_MAX_ID_CHARS = 80
_MAX_NAME_ATTEMPTS = 1000


def safe_file_stem(message_id: str) -> str:
    """A file-name-safe form of a Message-ID: no slashes, spaces, control or shell characters, bounded."""
    stem = _UNSAFE.sub("_", message_id.strip().strip("<>")).strip("._")
    return stem[:_MAX_ID_CHARS] or "message"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FileTransport:
    """Writes each message as <UTC timestamp>-<safe Message-ID>.eml under `path` (created if missing)."""

    def __init__(self, path: Path | str, *, clock: Callable[[], datetime] = _utcnow):
        self.path = Path(path)
        self.clock = clock
        self.last_path: Path | None = None

    def __repr__(self) -> str:
        return f"<FileTransport {self.path}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def send(self, msg: EmailMessage) -> str:
        """Write the message as it would go out (Bcc removed); return its Message-ID.

        Raises ProcessingError: permanent for a message without sender/recipients or an unwritable
        directory, transient for other disk errors (a full disk can recover).
        """
        message_id = ensure_message_id(msg)
        envelope_of(msg)  # same validation as SMTP, so the demo fails where a real send would
        data = _wire_bytes(msg)
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.last_path = self._write_atomically(f"{stamp}-{safe_file_stem(message_id)}", data)
        except (PermissionError, NotADirectoryError, FileExistsError) as exc:
            # A misconfigured path: retrying cannot fix it.
            raise ProcessingError(f"file outbox {self.path}: {exc.strerror or exc}", permanent=True) from None
        except OSError as exc:
            raise ProcessingError(f"file outbox {self.path}: {exc.strerror or exc}", permanent=False) from None
        log.info("wrote %s to %s", message_id, self.last_path)
        return message_id

    def _write_atomically(self, stem: str, data: bytes) -> Path:
        fd, tmp_name = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            final = self._link_under_free_name(tmp, stem)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_directory(self.path)
        return final

    def _link_under_free_name(self, tmp: Path, stem: str) -> Path:
        # os.link fails if the name exists, unlike rename, so two sends in the same microsecond with the
        # same Message-ID both survive.
        for attempt in range(_MAX_NAME_ATTEMPTS):
            final = self.path / (f"{stem}.eml" if attempt == 0 else f"{stem}-{attempt}.eml")
            try:
                os.link(tmp, final)
                return final
            except FileExistsError:
                continue
        raise FileExistsError(f"no free file name for {stem}")


def _wire_bytes(msg: EmailMessage) -> bytes:
    """The bytes an SMTP send would transmit: Bcc headers removed, CRLF line endings."""
    outgoing = copy.copy(msg)  # deleting headers rebinds the copy's header list; the caller's is untouched
    del outgoing["Bcc"]
    del outgoing["Resent-Bcc"]
    try:
        return outgoing.as_bytes(policy=outgoing.policy.clone(linesep="\r\n"))
    except (UnicodeError, ValueError) as exc:
        raise ProcessingError(f"message cannot be written as .eml: {exc}", permanent=True) from None


def _fsync_directory(path: Path) -> None:
    """Make the new directory entry durable too (a crash could otherwise lose a 'sent' file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
