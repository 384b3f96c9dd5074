"""Content-addressed evidence files: original certificates and raw emails, kept exactly as received."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mailbot.domain import sha256_hex

EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic",
              "image/tiff": ".tif", "message/rfc822": ".eml"}


class EvidenceStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, data: bytes, content_type: str) -> Path:
        """Store bytes under their SHA-256 (idempotent: the same bytes always land on the same path)."""
        digest = sha256_hex(data)
        path = self.root / digest[:2] / (digest + EXTENSIONS.get(content_type, ".bin"))
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def read(self, path: str | Path) -> bytes:
        return Path(path).read_bytes()
