"""What every OAuth2 provider shares: the refresh/persist cycle, failure bookkeeping and admin warnings.

A provider (Microsoft via msal, Google via google-auth) only knows how to get a token from its library;
this module decides when that happens, what is written to the token cache, and what an admin is told.
The cache file holds {"cache": <provider state>, "meta": <our bookkeeping>}; "meta" never holds a token,
only a fingerprint of the current refresh token so a rotation can be noticed and dated.
"""
from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import requests

from mailbot.auth.store import TokenStore
from mailbot.errors import ConfigError, ProcessingError

log = logging.getLogger("mailbot.auth")

REFRESH_MARGIN = timedelta(minutes=5)  # an access token this close to expiry is refreshed before use
WARN_BEFORE = timedelta(days=7)  # warn the admin this long before a refresh token can no longer be renewed
HTTP_TIMEOUT = 30.0
# OAuth2 error codes (RFC 6749 §5.2 and the device flow) that no retry will fix: an admin must act.
PERMANENT_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope",
                              "unsupported_grant_type", "access_denied", "expired_token", "invalid_request"})


@dataclass(frozen=True)
class Settings:
    """The [oauth2] config section, resolved: paths absolute, defaults filled, secrets read."""

    provider: str
    flow: str
    account: str  # the mailbox signed in to (XOAUTH2 user); named in every message
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    tenant: str = ""
    scopes: tuple[str, ...] = ()
    token_cache: Path = Path("oauth2-tokens.json")
    authority: str = ""
    token_uri: str = ""
    service_account_file: Path | None = None
    subject: str = ""
    refresh_token_days: int = 90

    @property
    def uses_refresh_token(self) -> bool:
        """Delegated flows keep a refresh token; app-only flows (client secret, service key) need none."""
        return self.flow in ("device_code", "installed_app")


@dataclass(frozen=True)
class Grant:
    """What a provider hands back after getting or refreshing a token."""

    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)


class AuthFailure(Exception):
    """A provider could not get a token. `reason` is readable and holds no secret."""

    def __init__(self, reason: str, *, permanent: bool):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class LoginPrompt(Protocol):
    """The terminal side of `mailbot auth login`: show instructions, read what the admin pastes."""

    def show(self, text: str) -> None: ...

    def ask(self, text: str) -> str: ...


@dataclass(frozen=True)
class AuthStatus:
    provider: str
    flow: str
    account: str
    signed_in: bool
    access_expires_at: datetime | None
    refresh_token_issued_at: datetime | None
    renew_by: datetime | None  # after this the refresh token can no longer be renewed
    last_failure: str | None
    warnings: tuple[str, ...]


def http_session(ca_file: str | None = None, timeout: float = HTTP_TIMEOUT) -> requests.Session:
    """A requests session with a default timeout (a stuck provider must not hang the daemon).

    ca_file: trust this certificate bundle instead of the system's (REQUESTS_CA_BUNDLE works too).
    """
    return _TimeoutSession(timeout, ca_file)


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float, ca_file: str | None):
        super().__init__()
        self._timeout = timeout
        self._ca_file = ca_file

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        if self._ca_file:
            # Per request: requests lets $REQUESTS_CA_BUNDLE override a session's `verify`, not this.
            kwargs.setdefault("verify", self._ca_file)
        return super().request(method, url, *args, **kwargs)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def fingerprint(secret: str) -> str:
    """Enough to tell two refresh tokens apart, useless to anyone who reads the file."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


class TokenProvider(ABC):
    """Hands out current access tokens for one account; `token` is what ImapSource/SmtpTransport call."""

    def __init__(self, settings: Settings, *, session: requests.Session | None = None,
                 clock: Callable[[], datetime] = _utcnow):
        self.settings = settings
        self.store = TokenStore(settings.token_cache)
        self.session = session or http_session()
        self.clock = clock

    @property
    def account(self) -> str:
        return self.settings.account

    # -- provider hooks --------------------------------------------------------------------------------

    @abstractmethod
    def _current(self, doc: dict[str, Any]) -> Grant:
        """A token valid for at least REFRESH_MARGIN from the provider state in doc["cache"], refreshing it
        (and updating doc["cache"]) when needed. Raises AuthFailure."""

    @abstractmethod
    def _sign_in(self, doc: dict[str, Any], prompt: LoginPrompt) -> Grant:
        """Walk an admin through the provider's sign-in; update doc["cache"]. Raises AuthFailure."""

    # -- public ----------------------------------------------------------------------------------------

    def token(self) -> str:
        """A current access token. Raises ProcessingError (permanent when an admin must sign in again)."""
        with self._cache_file():
            doc = self.store.load()
            if not self._matches(doc):
                doc = {}
            before = repr(doc)
            try:
                grant = self._current(doc)
            except AuthFailure as failure:
                raise self._failed(doc, failure) from None
            self._succeeded(doc, grant)
            if repr(doc) != before:
                self.store.save(doc)
        return grant.access_token

    @contextmanager
    def _cache_file(self) -> Iterator[None]:
        """Hold the cache lock; a cache that cannot be read or written is an admin's problem (permanent)."""
        try:
            with self.store.locked():
                yield
        except requests.RequestException as exc:  # an OSError too, but the network's, not the file's
            raise ProcessingError(f"OAuth2 sign-in for {self.account}: cannot reach the provider "
                                  f"({type(exc).__name__})", permanent=False) from None
        except (OSError, ConfigError) as exc:
            reason = f"{exc.strerror} ({exc.filename})" if isinstance(exc, OSError) else str(exc)
            raise ProcessingError(f"OAuth2 sign-in for {self.account}: the token cache (config key "
                                  f"oauth2.token_cache) is unusable: {reason}", permanent=True) from None

    def login(self, prompt: LoginPrompt) -> AuthStatus:
        """Sign in interactively (or, for app-only flows, prove the credentials work) and store the tokens."""
        with self._cache_file():
            doc: dict[str, Any] = {}
            try:
                grant = self._sign_in(doc, prompt)
            except AuthFailure as failure:
                # Not recorded: a botched sign-in attempt says nothing about the tokens already stored.
                raise self._failed({}, failure) from None
            self._succeeded(doc, grant)
            self.store.save(doc)
        log.info("oauth2 signed in account=%s provider=%s flow=%s", self.account, self.settings.provider,
                 self.settings.flow)
        return self.status()

    def status(self, now: datetime | None = None) -> AuthStatus:
        now = now or self.clock()
        doc = self.store.load()
        meta = doc.get("meta", {}) if self._matches(doc) else {}
        issued = _parse(meta.get("refresh_token_issued_at"))
        failure = meta.get("last_failure") or {}
        return AuthStatus(
            provider=self.settings.provider, flow=self.settings.flow, account=self.account,
            signed_in=bool(meta.get("signed_in_at")),
            access_expires_at=_parse(meta.get("access_expires_at")),
            refresh_token_issued_at=issued,
            renew_by=self._renew_by(issued),
            last_failure=failure.get("reason"),
            warnings=tuple(self.warnings(now, meta)),
        )

    def warnings(self, now: datetime, meta: dict[str, Any] | None = None) -> list[str]:
        """Readable warnings for the admin (no secrets): failed refresh, refresh token near its end."""
        if meta is None:
            doc = self.store.load()
            meta = doc.get("meta", {}) if self._matches(doc) else {}
        return build_warnings(self.settings, meta, now)

    # -- bookkeeping -----------------------------------------------------------------------------------

    def _matches(self, doc: dict[str, Any]) -> bool:
        """A cache written for another provider, flow, client or account is not ours to use."""
        meta = doc.get("meta", {})
        return bool(doc) and all(meta.get(key) == value for key, value in self._identity().items())

    def _identity(self) -> dict[str, str]:
        s = self.settings
        return {"provider": s.provider, "flow": s.flow, "client_id": s.client_id, "account": s.account}

    def _succeeded(self, doc: dict[str, Any], grant: Grant) -> None:
        meta = doc.setdefault("meta", {})
        meta.update(self._identity())
        meta.setdefault("signed_in_at", _iso(self.clock()))
        if meta.get("access_token_fingerprint") != fingerprint(grant.access_token):
            # Only a new token moves the expiry: a cache hit then leaves the file untouched.
            meta["access_token_fingerprint"] = fingerprint(grant.access_token)
            meta["access_expires_at"] = _iso(grant.expires_at)
        meta.pop("last_failure", None)
        if grant.refresh_token and meta.get("refresh_token_fingerprint") != fingerprint(grant.refresh_token):
            # A new (rotated) refresh token starts a new lifetime.
            meta["refresh_token_fingerprint"] = fingerprint(grant.refresh_token)
            meta["refresh_token_issued_at"] = _iso(self.clock())
            log.info("oauth2 refresh token renewed account=%s provider=%s", self.account, self.settings.provider)

    def _failed(self, doc: dict[str, Any], failure: AuthFailure) -> ProcessingError:
        reason = self._scrub(failure.reason, doc)
        fix = " Run `mailbot auth login` to sign in again." if failure.permanent else ""
        message = (f"OAuth2 sign-in for {self.account} ({self.settings.provider}, {self.settings.flow}) "
                   f"failed: {reason}.{fix}")
        log.warning("oauth2 token refresh failed account=%s provider=%s permanent=%s reason=%r",
                    self.account, self.settings.provider, failure.permanent, reason)
        if doc and self._matches(doc):  # remember it for auth_warnings, even in another process
            doc["meta"]["last_failure"] = {"at": _iso(self.clock()), "reason": reason,
                                           "permanent": failure.permanent}
            self.store.save(doc)
        return ProcessingError(message, permanent=failure.permanent)

    def _scrub(self, text: str, doc: dict[str, Any]) -> str:
        secrets = [self.settings.client_secret, *_strings(doc.get("cache"))]
        for secret in secrets:
            if secret and len(secret) >= 8:
                text = text.replace(secret, "***")
        return text

    def _renew_by(self, issued: datetime | None) -> datetime | None:
        if issued is None or not self.settings.uses_refresh_token:
            return None
        return issued + timedelta(days=self.settings.refresh_token_days)


def _strings(value: Any) -> list[str]:
    """Every string inside a provider's cache (tokens among them), for scrubbing messages."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def build_warnings(settings: Settings, meta: dict[str, Any], now: datetime) -> list[str]:
    """Pure: what an admin must hear about this account's sign-in, given the cache bookkeeping and now."""
    who = f"OAuth2 sign-in for {settings.account} ({settings.provider})"
    out: list[str] = []
    failure = meta.get("last_failure")
    if failure:
        if failure.get("permanent"):
            out.append(f"{who} failed at {failure.get('at')}: {failure.get('reason')}. "
                       "Mail stops until an admin runs `mailbot auth login`.")
        else:
            out.append(f"{who}: refreshing the token failed at {failure.get('at')} "
                       f"({failure.get('reason')}); will retry.")
    if settings.uses_refresh_token:
        issued = _parse(meta.get("refresh_token_issued_at"))
        if issued is None:
            if not failure:
                out.append(f"{who}: not signed in yet. Run `mailbot auth login`.")
        else:
            renew_by = issued + timedelta(days=settings.refresh_token_days)
            if now >= renew_by - WARN_BEFORE:
                left = renew_by - now
                when = "has expired" if left <= timedelta(0) else f"expires in {max(left.days, 0)} day(s)"
                out.append(f"{who}: the refresh token {when} (can no longer be renewed after "
                           f"{renew_by.date().isoformat()}). Run `mailbot auth login` before then.")
    return out
