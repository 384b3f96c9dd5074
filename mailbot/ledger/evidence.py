"""Content-addressed evidence files: original certificates and raw emails, kept exactly as received.

A file only ever appears under its final name complete and flushed to disk (written to a temporary
name, fsync'd, then renamed), so a file that exists is always whole. Inside `synced_together()` the
flushes of many files are done at once, just before the caller commits the rows that point at them:
one trip to the disk for a batch of messages instead of one per file.
"""
from __future__ import annotations

import ctypes
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mailbot.domain import sha256_hex

EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic",
              "image/tiff": ".tif", "message/rfc822": ".eml"}


class EvidenceStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._local = threading.local()  # deferred files of this thread's open batch, if any

    def put(self, data: bytes, content_type: str) -> Path:
        """Store bytes under their SHA-256 (idempotent: the same bytes always land on the same path).
        Inside synced_together() the file reaches its path when the block ends."""
        digest = sha256_hex(data)
        path = self.root / digest[:2] / (digest + EXTENSIONS.get(content_type, ".bin"))
        batch: dict[Path, str] | None = getattr(self._local, "batch", None)
        if path.exists() or (batch is not None and path in batch):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if batch is None:
                    fh.flush()
                    os.fsync(fh.fileno())
            if batch is None:
                os.replace(tmp, path)
                _fsync(path.parent, os.O_RDONLY | os.O_DIRECTORY)  # the rename itself survives a power cut
            else:
                batch[path] = tmp
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @contextmanager
    def synced_together(self) -> Iterator[None]:
        """Files put inside the block are flushed and moved into place together when it ends without an
        error (and thrown away when it ends with one). Nested blocks join the outer one."""
        if getattr(self._local, "batch", None) is not None:
            yield
            return
        batch: dict[Path, str] = {}
        self._local.batch = batch
        try:
            yield
            _flush_and_place(batch)
        except BaseException:
            for tmp in batch.values():
                Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            self._local.batch = None

    def read(self, path: str | Path) -> bytes:
        return Path(path).read_bytes()


def _fsync(path: str | Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs():  # type: ignore[no-untyped-def]
    """Linux's syncfs(2): flush one filesystem in one go. None where the C library lacks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return getattr(libc, "syncfs", None)
    except OSError:
        return None


_SYNCFS = _load_syncfs()


def _flush(paths: Iterable[str | Path], flags: int = os.O_RDONLY) -> None:
    """Make these files (or directories) durable. With syncfs, the filesystem of the first one is flushed
    once: fsync'ing files one by one costs a journal commit each (delayed allocation), ~3 ms apiece."""
    paths = list(paths)
    if not paths:
        return
    if _SYNCFS is not None:
        fd = os.open(paths[0], flags)
        try:
            if _SYNCFS(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:  # no syncfs, or it failed: the portable way
        _fsync(path, flags)


def _flush_and_place(batch: dict[Path, str]) -> None:
    """Flush the temporary files, rename each to its final name, then flush again so the renames survive
    a power cut. A final name therefore never points at a file that is not whole."""
    _flush(batch.values())
    for path, tmp in batch.items():
        os.replace(tmp, path)
    _flush({path.parent for path in batch}, os.O_RDONLY | os.O_DIRECTORY)
