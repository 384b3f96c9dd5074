"""Configuration: one TOML file, read once, typed, validated, overridable from the environment.

Every key `[section] key` can be overridden by `MAILBOT_<SECTION>_<KEY>` (e.g. MAILBOT_INBOX_PASSWORD).
Secrets can come from a file (`password_file`) so they stay out of the config and the environment.
Unknown keys and bad values fail at start with a message naming the key.
"""
from __future__ import annotations

import os
import re
import tomllib
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.errors import ConfigError

DEFAULT_PATHS = ("mailbot.toml", "/etc/mailbot/config.toml")
SECURITY_MODES = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class Company:
    name: str = "Our Restoration Company"
    timezone: str = "UTC"
    admins: tuple[str, ...] = ()
    # The address technicians forward to; Reply-To of drafts. Defaults to outbox.from.
    address: str = ""


@dataclass(frozen=True)
class Database:
    url: str = "sqlite:///mailbot.db"


@dataclass(frozen=True)
class Inbox:
    kind: str = "maildir"
    host: str = ""
    port: int = 993
    security: str = "ssl"
    username: str = ""
    password: str = field(default="", repr=False)
    password_file: str = ""
    auth: str = "password"  # "password" or "oauth2" (XOAUTH2 with the token from [oauth2])
    folder: str = "INBOX"
    processed_folder: str = "mailbot/Processed"
    review_folder: str = "mailbot/Review"
    path: str = "Maildir"
    batch_size: int = 20
    max_attempts: int = 5
    tls_verify: bool = True
    # false: no IMAP IDLE, new mail is found by polling only (servers whose IDLE misbehaves; benchmarks)
    idle: bool = True


@dataclass(frozen=True)
class Outbox:
    kind: str = "file"
    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    password_file: str = ""
    auth: str = "password"  # "password" or "oauth2"
    from_: str = "mailbot@localhost"
    path: str = "outbox"
    sent_folder: str = "Sent"  # IMAP folder that gets a copy of each sent submission ("" = none)
    tls_verify: bool = True


@dataclass(frozen=True)
class Iicrc:
    renewals_address: str = "renewals@iicrcnet.org"
    reinstatements_address: str = "reinstatements@iicrcnet.org"
    # Fail-closed: until live = true every submission goes to test_address, subject tagged [TEST].
    live: bool = False
    test_address: str = ""
    confirm_weeks: int = 4  # sent submissions not confirmed in My IICRC after this long are listed


@dataclass(frozen=True)
class Approvals:
    # Approval by email: admins reply APPROVE / REJECT reason to a request carrying an HMAC token.
    email: bool = True
    secret: str = field(default="", repr=False)
    secret_file: str = ""
    token_days: int = 7


@dataclass(frozen=True)
class Schedule:
    poll_seconds: int = 60
    send_seconds: int = 60
    digest_day: int = 1  # day of the month for statements and the admin roll-up
    digest_hour: int = 7  # hour (company time) the monthly run and the daily escalation check start
    reconcile_at: str = "02:30"  # daily full reconcile of the inbox against the ledger (HH:MM, company time)


@dataclass(frozen=True)
class Alerts:
    # One email to the admins per incident (and an all-clear when it recovers).
    stall_minutes: int = 30  # no successful poll for this long is an incident
    failure_threshold: int = 3  # a job failing this many times in a row is an incident


@dataclass(frozen=True)
class Storage:
    # Evidence (original certificates, raw emails). Relative paths are relative to the config file.
    evidence_dir: str = "evidence"


@dataclass(frozen=True)
class OAuth2:
    # Sign-in for inbox/outbox auth = "oauth2" (mailbot/auth). Empty values get per-provider defaults there.
    provider: str = ""  # "microsoft" or "google"
    flow: str = ""  # microsoft: client_credentials | device_code; google: service_account | installed_app
    tenant: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    client_secret_file: str = ""
    service_account_file: str = ""
    subject: str = ""  # the mailbox user (domain-wide delegation); default inbox.username
    scopes: tuple[str, ...] = ()
    token_cache: str = "oauth2-tokens.json"
    authority: str = ""
    token_uri: str = ""
    refresh_token_days: int = 90


@dataclass(frozen=True)
class Config:
    company: Company = field(default_factory=Company)
    database: Database = field(default_factory=Database)
    inbox: Inbox = field(default_factory=Inbox)
    outbox: Outbox = field(default_factory=Outbox)
    iicrc: Iicrc = field(default_factory=Iicrc)
    approvals: Approvals = field(default_factory=Approvals)
    schedule: Schedule = field(default_factory=Schedule)
    storage: Storage = field(default_factory=Storage)
    alerts: Alerts = field(default_factory=Alerts)
    oauth2: OAuth2 = field(default_factory=OAuth2)
    rules: dict[str, Any] = field(default_factory=dict)  # overrides of mailbot/rules/iicrc.toml
    source: str = "<defaults>"  # where the config came from, for messages
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def company_address(self) -> str:
        return self.company.address or self.outbox.from_

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


_SECTION_TYPES = {"company": Company, "database": Database, "inbox": Inbox, "outbox": Outbox,
                  "iicrc": Iicrc, "approvals": Approvals, "schedule": Schedule, "storage": Storage,
                  "alerts": Alerts, "oauth2": OAuth2}


def _key_name(f: Any) -> str:
    return f.name.rstrip("_")  # `from_` is spelled `from` in the file


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check/convert one value to the field's type; strings (from the environment) are parsed."""
    origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    expected = {bool: "true or false", int: "a whole number", str: "a string"}.get(hint, "a list of strings")
    raise ConfigError(f"config key {key}: expected {expected}, got {value!r}")


def _build_section(name: str, table: dict[str, Any], env: dict[str, str]) -> Any:
    cls = _SECTION_TYPES[name]
    hints = typing.get_type_hints(cls)
    known = {_key_name(f): f for f in fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(f"unknown config key {name}.{key} (known: {', '.join(sorted(known))})")
    values = {}
    for key, f in known.items():
        env_key = f"MAILBOT_{name.upper()}_{key.upper()}"
        if env_key in env:
            values[f.name] = _coerce(env[env_key], hints[f.name], f"{name}.{key} (from ${env_key})")
        elif key in table:
            values[f.name] = _coerce(table[key], hints[f.name], f"{name}.{key}")
    return cls(**values)


def _read_secret_files(config: Config) -> Config:
    for name, key in (("inbox", "password"), ("outbox", "password"), ("approvals", "secret"),
                      ("oauth2", "client_secret")):
        section = getattr(config, name)
        file_name = getattr(section, f"{key}_file")
        if file_name and not getattr(section, key):
            path = config.resolve_path(file_name)
            try:
                secret = path.read_text().strip()
            except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
                reason = getattr(exc, "strerror", None) or str(exc)
                raise ConfigError(f"config key {name}.{key}_file: cannot read {path!r}: {reason}") from None
            config = replace(config, **{name: replace(section, **{key: secret})})
    return config


def _validate(config: Config) -> None:
    def one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            raise ConfigError(f"config key {key}: must be one of {', '.join(allowed)}, got {value!r}")

    one_of("inbox.kind", config.inbox.kind, ("imap", "maildir"))
    one_of("outbox.kind", config.outbox.kind, ("smtp", "file"))
    one_of("inbox.security", config.inbox.security, SECURITY_MODES)
    one_of("outbox.security", config.outbox.security, SECURITY_MODES)
    one_of("inbox.auth", config.inbox.auth, ("password", "oauth2"))
    one_of("outbox.auth", config.outbox.auth, ("password", "oauth2"))
    if "oauth2" in (config.inbox.auth, config.outbox.auth):
        one_of("oauth2.provider", config.oauth2.provider, ("microsoft", "google"))
    try:
        ZoneInfo(config.company.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"config key company.timezone: unknown time zone {config.company.timezone!r}") from None
    if config.inbox.kind == "imap" and not (config.inbox.host and config.inbox.username):
        raise ConfigError("config keys inbox.host and inbox.username are required when inbox.kind = \"imap\"")
    if config.outbox.kind == "smtp" and not config.outbox.host:
        raise ConfigError("config key outbox.host is required when outbox.kind = \"smtp\"")
    if config.approvals.email and config.approvals.secret and len(config.approvals.secret) < 16:
        raise ConfigError("config key approvals.secret: use at least 16 random characters")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", config.schedule.reconcile_at):
        raise ConfigError(f"config key schedule.reconcile_at: must be HH:MM, got {config.schedule.reconcile_at!r}")
    if not 1 <= config.schedule.digest_day <= 28:
        raise ConfigError("config key schedule.digest_day: must be 1..28 (every month has it)")
    if not 0 <= config.schedule.digest_hour <= 23:
        raise ConfigError("config key schedule.digest_hour: must be 0..23")
    if config.schedule.poll_seconds < 1:
        raise ConfigError("config key schedule.poll_seconds: must be at least 1")
    if not config.iicrc.live and not config.iicrc.test_address and not config.company.admins:
        raise ConfigError("config key iicrc.test_address: needed while iicrc.live is false "
                          "(or set company.admins: test submissions then go to the first admin)")


def parse_config(data: dict[str, Any], *, env: dict[str, str] | None = None, source: str = "<dict>",
                 base_dir: Path | None = None) -> Config:
    env = dict(os.environ) if env is None else env
    for name, table in data.items():
        if name not in _SECTION_TYPES and name != "rules":
            raise ConfigError(f"unknown config section [{name}] (known: {', '.join(list(_SECTION_TYPES) + ['rules'])})")
        if not isinstance(table, dict):
            raise ConfigError(f"config section [{name}] must be a table")
    sections = {name: _build_section(name, data.get(name, {}), env) for name in _SECTION_TYPES}
    config = Config(**sections, rules=dict(data.get("rules", {})), source=source,
                    base_dir=base_dir or Path.cwd())
    config = _read_secret_files(config)
    _validate(config)
    from mailbot.rules import load_rules

    load_rules(config.rules)  # a bad [rules] override fails at start, naming the key
    return config


def find_config_path(explicit: str | None, env: dict[str, str] | None = None) -> Path | None:
    env = dict(os.environ) if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("MAILBOT_CONFIG"):
        return Path(env["MAILBOT_CONFIG"])
    for candidate in DEFAULT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def load_config(explicit: str | None = None, *, env: dict[str, str] | None = None) -> Config:
    """Load the config named on the command line, in $MAILBOT_CONFIG, or at a default path."""
    path = find_config_path(explicit, env)
    if path is None:
        raise ConfigError("no config file: pass --config PATH, set MAILBOT_CONFIG, or create ./mailbot.toml "
                          "(see config.example.toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(data, env=env, source=str(path), base_dir=path.resolve().parent)
