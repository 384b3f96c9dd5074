"""OAuth2 sign-in for IMAP and SMTP (XOAUTH2): Microsoft 365 via msal, Gmail / Google Workspace via google-auth.

    provider = provider_from_config(config)      # reads [oauth2]; ConfigError naming the key when incomplete
    ImapSource(..., oauth2_token=provider.token)  # a current access token per connect, refreshed before expiry
    auth_warnings(app)                            # what the admin must hear (failed refresh, token near its end)

msal and google-auth are imported only when a provider is built, and requests (with the token
machinery in tokens.py) only when OAuth2 is configured, so a password-only daemon never loads them.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mailbot.errors import ConfigError

if TYPE_CHECKING:
    import requests

    from mailbot.auth.tokens import Settings, TokenProvider
    from mailbot.config import Config

__all__ = ["AuthStatus", "LoginPrompt", "Settings", "TokenProvider", "auth_warnings", "http_session",
           "oauth2_in_use", "provider_from_config", "settings_from_config", "token_function"]

log = logging.getLogger("mailbot.auth")
_FROM_TOKENS = ("AuthStatus", "LoginPrompt", "Settings", "TokenProvider", "http_session")


def __getattr__(name: str) -> Any:
    """The names re-exported from tokens.py, imported on first use: it imports requests (~8 MB)."""
    if name in _FROM_TOKENS:
        from mailbot.auth import tokens

        return getattr(tokens, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

FLOWS = {"microsoft": ("client_credentials", "device_code"), "google": ("service_account", "installed_app")}


def oauth2_in_use(config: Config) -> bool:
    return (config.inbox.kind == "imap" and config.inbox.auth == "oauth2") or \
        (config.outbox.kind == "smtp" and config.outbox.auth == "oauth2")


def settings_from_config(config: Config) -> Settings:
    """The [oauth2] section checked and resolved. Raises ConfigError naming the key that is wrong."""
    section = config.oauth2
    flows = FLOWS.get(section.provider)
    if flows is None:
        raise ConfigError(f"config key oauth2.provider: must be one of microsoft, google, got {section.provider!r}")
    flow = section.flow or flows[0]
    if flow not in flows:
        raise ConfigError(f"config key oauth2.flow: for {section.provider} use one of {', '.join(flows)}, "
                          f"got {flow!r}")
    account = section.subject or config.inbox.username or config.outbox.username
    if not account:
        raise ConfigError("config key oauth2.subject (or inbox.username): the mailbox to sign in as is needed")
    _require(section, flow)
    from mailbot.auth.tokens import Settings  # imports requests: only once OAuth2 is configured

    return Settings(
        provider=section.provider, flow=flow, account=account, client_id=section.client_id,
        client_secret=section.client_secret, tenant=section.tenant, scopes=section.scopes,
        token_cache=config.resolve_path(section.token_cache), authority=section.authority,
        token_uri=section.token_uri, subject=section.subject,
        service_account_file=config.resolve_path(section.service_account_file)
        if section.service_account_file else None,
        refresh_token_days=section.refresh_token_days)


def _require(section: Any, flow: str) -> None:
    needed = {"client_credentials": ("client_id", "client_secret", "tenant"), "device_code": ("client_id",),
              "service_account": ("service_account_file",), "installed_app": ("client_id", "client_secret")}[flow]
    for key in needed:
        if key == "tenant" and section.authority:
            continue  # the authority URL already names the tenant
        if not getattr(section, key):
            hint = " (or client_secret_file)" if key == "client_secret" else ""
            raise ConfigError(f"config key oauth2.{key}{hint}: required for oauth2.flow = \"{flow}\"")
    if section.refresh_token_days < 1:
        raise ConfigError("config key oauth2.refresh_token_days: must be at least 1")


def provider_from_config(config: Config, *, session: requests.Session | None = None,
                         clock: Callable[[], datetime] | None = None) -> TokenProvider:
    settings = settings_from_config(config)
    extra: dict[str, Any] = {"session": session}
    if clock is not None:
        extra["clock"] = clock
    if settings.provider == "microsoft":
        from mailbot.auth.microsoft import MicrosoftProvider

        return MicrosoftProvider(settings, **extra)
    from mailbot.auth.google import GoogleProvider

    return GoogleProvider(settings, **extra)


def token_function(config: Config, auth: str) -> Callable[[], str] | None:
    """What ImapSource/SmtpTransport take as oauth2_token: None for password auth."""
    return provider_from_config(config).token if auth == "oauth2" else None


def auth_warnings(app: Any) -> list[str]:
    """Readable warnings about OAuth2 sign-in for the daemon's alarm job (empty when all is well or unused).

    A refresh that failed (permanently or not), a refresh token within 7 days of the end of its lifetime,
    a delegated flow never signed in, or a broken [oauth2] section. Each is logged (once while it lasts);
    none holds a secret. The alarm job decides whom to tell.
    """
    config = app.config
    if not oauth2_in_use(config):
        return []
    clock = getattr(app, "clock", None) or (lambda: datetime.now(UTC))
    try:
        warnings = provider_from_config(config, clock=clock).warnings(clock())
    except ConfigError as exc:
        warnings = [f"OAuth2 sign-in is misconfigured: {exc}"]
    logged = _logged.setdefault(str(config.resolve_path(config.oauth2.token_cache)), set())
    for warning in warnings:
        if warning not in logged:  # the alarm job asks every tick: log each warning once, not every minute
            log.warning("oauth2 warning: %s", warning)
    logged.clear()
    logged.update(warnings)
    return warnings


_logged: dict[str, set[str]] = {}  # token cache → warnings logged and still standing
