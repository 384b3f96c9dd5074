"""Attachment file names made safe to show and to store."""
from __future__ import annotations

import re

_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_MAX_NAME_CHARS = 200


def safe_filename(name: object) -> str | None:
    """The base name only: "../../etc/passwd.pdf" → "passwd.pdf", "C:\\x\\cert.pdf" → "cert.pdf".

    Control characters (CR/LF could forge headers downstream) are removed; a name that is
    empty, only dots or only a path gives None, as if the part had no name.
    """
    if not isinstance(name, str):
        return None
    base = re.split(r"[/\\]", name)[-1]
    base = " ".join(_UNSAFE_CHARS.sub(" ", base).split())
    if not base.strip("."):
        return None
    base = base.lstrip(".")  # never a hidden file: "..cert.pdf" → "cert.pdf"
    if base and len(base) > _MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: _MAX_NAME_CHARS - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else base[:_MAX_NAME_CHARS]
    return base
