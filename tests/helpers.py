"""Small builders the tests share: configs and Apps pointed at temp dirs and real servers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mailbot.app import App
from mailbot.config import parse_config

INBOX_ADDR = "certs@testco.example"
ADMIN = "office@testco.example"


def make_config(tmp_path: Path, db_url: str, *, inbox: dict[str, Any] | None = None,
                outbox: dict[str, Any] | None = None, **sections: dict[str, Any]):  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "company": {"name": "Test Restoration", "timezone": "UTC", "admins": [ADMIN], "address": INBOX_ADDR},
        "database": {"url": db_url},
        "inbox": inbox or {"kind": "maildir", "path": str(tmp_path / "Maildir"),
                           "processed_folder": "Processed", "review_folder": "Review"},
        "outbox": outbox or {"kind": "file", "path": str(tmp_path / "outbox"), "from": INBOX_ADDR},
        "iicrc": {"live": True},
        "storage": {"evidence_dir": str(tmp_path / "evidence")},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_config(data, env={}, base_dir=tmp_path)


def make_app(tmp_path: Path, db_url: str, **kwargs: Any) -> App:
    return App(make_config(tmp_path, db_url, **kwargs))
