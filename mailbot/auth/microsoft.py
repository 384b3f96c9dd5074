"""Microsoft 365 (Entra ID) tokens through msal: app-only client credentials, or delegated device code.

msal keeps its own token cache (access tokens, and for the device-code flow the refresh token it rotates);
we serialize it into the token cache file after every change, and reload it before every use so a rotated
refresh token written by another process is the one spent. msal already treats an access token that
expires within 5 minutes as expired, which is our refresh margin too.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msal
import requests

from mailbot.auth.tokens import PERMANENT_ERRORS, AuthFailure, Grant, LoginPrompt, TokenProvider

DEFAULT_AUTHORITY = "https://login.microsoftonline.com/{tenant}"
APP_ONLY_SCOPES = ("https://outlook.office365.com/.default",)
DELEGATED_SCOPES = ("https://outlook.office365.com/IMAP.AccessAsUser.All",
                    "https://outlook.office365.com/SMTP.Send")
FLOWS = ("client_credentials", "device_code")


class MicrosoftProvider(TokenProvider):
    _app: msal.ClientApplication | None = None

    @property
    def scopes(self) -> list[str]:
        default = APP_ONLY_SCOPES if self.settings.flow == "client_credentials" else DELEGATED_SCOPES
        return list(self.settings.scopes or default)

    @property
    def authority(self) -> str:
        return self.settings.authority or DEFAULT_AUTHORITY.format(tenant=self.settings.tenant or "organizations")

    def _client(self, doc: dict[str, Any]) -> tuple[msal.ClientApplication, msal.SerializableTokenCache]:
        """The msal app (built once: building it fetches the tenant's OpenID configuration) and a cache
        loaded from doc — the file's state, not whatever this process held before."""
        if self._app is None:
            common = {"authority": self.authority, "http_client": self.session,
                      "token_cache": msal.SerializableTokenCache()}
            if self.settings.authority:  # a non-Microsoft host (tests, sovereign clouds): no instance lookup
                common.update(instance_discovery=False, validate_authority=False)
            with _library_errors("reading the tenant's sign-in configuration"):
                if self.settings.flow == "client_credentials":
                    self._app = msal.ConfidentialClientApplication(
                        self.settings.client_id, client_credential=self.settings.client_secret, **common)
                else:
                    self._app = msal.PublicClientApplication(self.settings.client_id, **common)
        cache = self._app.token_cache
        cache.deserialize(doc.get("cache") or None)
        return self._app, cache

    def _current(self, doc: dict[str, Any]) -> Grant:
        app, cache = self._client(doc)
        with _library_errors("getting a token"):
            if self.settings.flow == "client_credentials":
                result = app.acquire_token_for_client(self.scopes)
            else:
                result = self._silent(app)
        return self._grant(doc, cache, result)

    def _silent(self, app: msal.ClientApplication) -> dict[str, Any]:
        accounts = app.get_accounts()
        mine = [a for a in accounts if (a.get("username") or "").lower() == self.account.lower()] or accounts
        if not mine:
            raise AuthFailure("no signed-in account in the token cache", permanent=True)
        result = app.acquire_token_silent_with_error(self.scopes, account=mine[0])
        if result is None:  # msal found no refresh token for these scopes
            raise AuthFailure("the token cache holds no refresh token for these scopes", permanent=True)
        return result

    def _sign_in(self, doc: dict[str, Any], prompt: LoginPrompt) -> Grant:
        app, cache = self._client(doc)
        if self.settings.flow == "client_credentials":
            prompt.show(f"Requesting an app-only token for {self.account} from {self.authority} …")
            with _library_errors("getting a token"):
                return self._grant(doc, cache, app.acquire_token_for_client(self.scopes))
        with _library_errors("starting the device-code sign-in"):
            flow = app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            raise _failure(flow, "starting the device-code sign-in")
        prompt.show(flow.get("message") or f"Open {flow['verification_uri']} and enter the code {flow['user_code']}")
        prompt.show(f"Sign in as {self.account}. Waiting for you to finish …")
        with _library_errors("waiting for the device-code sign-in"):
            result = app.acquire_token_by_device_flow(flow)
        signed_in_as = (result.get("id_token_claims") or {}).get("preferred_username") or self.account
        if signed_in_as.lower() != self.account.lower():  # its token would be refused for the mailbox
            raise AuthFailure(f"signed in as {signed_in_as}, but the mailbox is {self.account}: "
                              "sign in again as the mailbox user", permanent=True)
        return self._grant(doc, cache, result)

    def _grant(self, doc: dict[str, Any], cache: msal.SerializableTokenCache, result: dict[str, Any]) -> Grant:
        if not result or "access_token" not in result:
            raise _failure(result or {}, "getting a token")
        if cache.has_state_changed:
            doc["cache"] = cache.serialize()
            cache.has_state_changed = False
        expires_at = datetime.now(UTC) + timedelta(seconds=int(result.get("expires_in", 0)))
        return Grant(result["access_token"], expires_at, _refresh_token(cache))


def _refresh_token(cache: msal.SerializableTokenCache) -> str | None:
    """The newest refresh token msal holds (it overwrites the old one when the provider rotates it)."""
    entries = sorted(cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN),
                     key=lambda e: int(e.get("last_modification_time", "0")))
    return entries[-1]["secret"] if entries else None


def _failure(result: dict[str, Any], doing: str) -> AuthFailure:
    code = result.get("error") or "no_token"
    description = (result.get("error_description") or "").strip().splitlines()
    text = f"{code}: {description[0][:200]}" if description else code
    return AuthFailure(f"{doing} was refused ({text})", permanent=code in PERMANENT_ERRORS)


@contextmanager
def _library_errors(doing: str) -> Iterator[None]:
    """Network trouble and msal's own exceptions become AuthFailure with a readable reason."""
    try:
        yield
    except AuthFailure:
        raise
    except requests.RequestException as exc:  # retrying may help
        raise AuthFailure(f"{doing}: cannot reach the provider ({type(exc).__name__})", permanent=False) from None
    except ValueError as exc:  # msal: bad authority, unknown tenant, malformed reply
        raise AuthFailure(f"{doing}: {str(exc).splitlines()[0][:200]}", permanent=True) from None
