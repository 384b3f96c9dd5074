"""The wiring: one App per process holds the config and builds the adapters it names.

Library code takes what it needs as arguments; only this module knows which adapter a config means.
"""
from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy.engine import Engine

from mailbot.auth import token_function
from mailbot.config import Config
from mailbot.ledger.db import init_db, make_engine
from mailbot.ledger.evidence import EvidenceStore
from mailbot.mail.compose import template_env


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    config: Config
    clock: Callable[[], datetime] = field(default=_utcnow)
    # (account, folder) → ingest.QuietListing of the last complete pass: lets an idle pass skip listing
    # a folder the server says is unchanged. Process memory only: a restart lists again.
    quiet_listings: dict = field(default_factory=dict)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self._database_url())
        init_db(engine)
        return engine

    def _database_url(self) -> str:
        url = self.config.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.config.resolve_path(url[len(prefix):]))
        return url

    @property
    def sqlite_path(self) -> Path | None:
        url = self._database_url()
        return Path(url.split(":///", 1)[1]) if url.startswith("sqlite:///") and ":memory:" not in url else None

    @cached_property
    def evidence(self) -> EvidenceStore:
        return EvidenceStore(self.config.resolve_path(self.config.storage.evidence_dir))

    @cached_property
    def templates(self) -> Environment:
        override = self.config.resolve_path("templates")
        return template_env(override if override.is_dir() else None)

    @cached_property
    def rules(self):  # type: ignore[no-untyped-def]
        from mailbot.rules import load_rules

        return load_rules(self.config.rules)

    def today(self) -> date:
        return self.clock().astimezone(ZoneInfo(self.config.company.timezone)).date()

    def source(self):  # type: ignore[no-untyped-def]
        """The inbox adapter the config names (imap-tools or Maildir)."""
        inbox = self.config.inbox
        if inbox.kind == "maildir":
            from mailbot.inbox.maildir import MaildirSource

            return MaildirSource(self.config.resolve_path(inbox.path))
        from mailbot.inbox.imap import ImapSource

        return ImapSource(host=inbox.host, port=inbox.port, security=inbox.security, username=inbox.username,
                          password=inbox.password, folder=inbox.folder,
                          ssl_context=_ssl_context(inbox.tls_verify),
                          oauth2_token=token_function(self.config, inbox.auth), idle=inbox.idle)

    def transport(self):  # type: ignore[no-untyped-def]
        """The outbox adapter the config names (SMTP or the file outbox)."""
        out = self.config.outbox
        if out.kind == "file":
            from mailbot.mail.transport import FileTransport

            return FileTransport(Path(self.config.resolve_path(out.path)))
        from mailbot.mail.transport import SmtpTransport

        return SmtpTransport(host=out.host, port=out.port, security=out.security, username=out.username or None,
                             password=out.password or None, ssl_context=_ssl_context(out.tls_verify),
                             oauth2_token=token_function(self.config, out.auth))


@functools.cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    """One context per process and setting: loading the system CA store costs tens of milliseconds, which
    a pass every few seconds would otherwise pay on each connection. (SIGHUP re-executes, reloading it.)"""
    ctx = ssl.create_default_context()
    if not verify:  # for self-signed test servers only; documented in config.example.toml
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
