"""Google Workspace / Gmail tokens through google-auth: a service account with domain-wide delegation
(app-only: it signs a JWT for the mailbox user), or an installed-app sign-in that keeps a refresh token.

The installed-app sign-in runs on a headless server: the admin opens the printed address on any computer,
signs in, and pastes back the address the browser was sent to (a loopback page that will not load; the
code is in it). PKCE and a state value protect the exchange.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import requests
from google.auth import exceptions as google_errors
from google.auth.transport.requests import Request
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from mailbot.auth.tokens import (
    PERMANENT_ERRORS,
    REFRESH_MARGIN,
    AuthFailure,
    Grant,
    LoginPrompt,
    TokenProvider,
)

DEFAULT_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_SCOPES = ("https://mail.google.com/",)  # the only scope Gmail accepts for IMAP and SMTP
REDIRECT_URI = "http://localhost"  # a desktop client may redirect to loopback; nothing needs to listen
FLOWS = ("service_account", "installed_app")


class GoogleProvider(TokenProvider):
    @property
    def scopes(self) -> list[str]:
        return list(self.settings.scopes or DEFAULT_SCOPES)

    @property
    def token_uri(self) -> str:
        return self.settings.token_uri or DEFAULT_TOKEN_URI

    def _current(self, doc: dict[str, Any]) -> Grant:
        credentials = self._credentials(doc.get("cache") or {})
        if credentials.token and credentials.expiry and _aware(credentials.expiry) - _now() > REFRESH_MARGIN:
            return self._grant(doc, credentials)
        with _library_errors("refreshing the token"):
            credentials.refresh(Request(session=self.session))
        return self._grant(doc, credentials)

    def _credentials(self, cache: dict[str, Any]) -> Any:
        """google-auth credentials for the configured flow, primed with the cached access token."""
        expiry = _naive(cache.get("expiry"))
        if self.settings.flow == "service_account":
            with _library_errors("reading the service account key"):
                credentials = service_account.Credentials.from_service_account_info(
                    self._service_account_info(), scopes=self.scopes,
                    subject=self.settings.subject or self.account)
        else:
            if not cache.get("refresh_token"):
                raise AuthFailure("not signed in: the token cache holds no refresh token", permanent=True)
            credentials = user_credentials.Credentials(
                token=None, refresh_token=cache["refresh_token"], token_uri=self.token_uri,
                client_id=self.settings.client_id, client_secret=self.settings.client_secret, scopes=self.scopes)
        credentials.token, credentials.expiry = cache.get("token"), expiry
        return credentials

    def _service_account_info(self) -> dict[str, Any]:
        path = self.settings.service_account_file
        try:
            info = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError) as exc:
            raise AuthFailure(f"cannot read the service account key {path} ({type(exc).__name__})",
                              permanent=True) from None
        if not isinstance(info, dict) or "private_key" not in info or "client_email" not in info:
            raise AuthFailure(f"{path} is not a service account key file (JSON with private_key, client_email)",
                              permanent=True)
        # A key file names Google's token endpoint; a configured token_uri (another endpoint) wins.
        return dict(info, token_uri=self.settings.token_uri or info.get("token_uri") or DEFAULT_TOKEN_URI)

    def _grant(self, doc: dict[str, Any], credentials: Any) -> Grant:
        refresh_token = getattr(credentials, "refresh_token", None)
        expires_at = _aware(credentials.expiry) if credentials.expiry else _now()
        cache = {"token": credentials.token, "expiry": expires_at.isoformat(timespec="seconds")}
        if refresh_token:
            cache["refresh_token"] = refresh_token  # google-auth keeps a rotated one when Google sends it
        doc["cache"] = cache
        return Grant(credentials.token, expires_at, refresh_token)

    # -- sign-in ---------------------------------------------------------------------------------------

    def _sign_in(self, doc: dict[str, Any], prompt: LoginPrompt) -> Grant:
        if self.settings.flow == "service_account":
            prompt.show(f"Requesting a token for {self.account} with the service account key …")
            return self._current(doc)
        verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        prompt.show("Open this address in a browser (any computer), sign in as "
                    f"{self.account} and allow access:\n\n  {self._consent_url(verifier, state)}\n")
        prompt.show(f"The browser then goes to {REDIRECT_URI}/?…code=… and shows an error page: that is expected.")
        code = _code_from(prompt.ask("Paste the address of that page (or just the code)"), state)
        with _library_errors("exchanging the code"):
            reply = self.session.post(self.token_uri, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                "client_id": self.settings.client_id, "client_secret": self.settings.client_secret,
                "code_verifier": verifier})
        body = _json(reply)
        if reply.status_code != 200 or "access_token" not in body:
            raise _refused("exchanging the code", body)
        if not body.get("refresh_token"):
            raise AuthFailure("Google sent no refresh token: remove this app's access in the Google account's "
                              "security settings, then sign in again", permanent=True)
        expiry = _now() + timedelta(seconds=int(body.get("expires_in", 0)))
        doc["cache"] = {"token": body["access_token"], "expiry": expiry.isoformat(timespec="seconds"),
                        "refresh_token": body["refresh_token"]}
        return Grant(body["access_token"], expiry, body["refresh_token"])

    def _consent_url(self, verifier: str, state: str) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {"client_id": self.settings.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code",
                 "scope": " ".join(self.scopes), "access_type": "offline", "prompt": "consent",
                 "login_hint": self.account, "state": state, "code_challenge": challenge,
                 "code_challenge_method": "S256"}
        return f"{self.settings.authority or DEFAULT_AUTH_URI}?{urlencode(query)}"


def _code_from(answer: str, state: str) -> str:
    """The code from a pasted redirect address (checking its state) or a bare code."""
    answer = answer.strip()
    if not answer:
        raise AuthFailure("no code was pasted", permanent=True)
    if "://" not in answer and "?" not in answer:
        return answer
    query = parse_qs(urlparse(answer).query)
    if query.get("error"):
        raise AuthFailure(f"the sign-in was not completed ({query['error'][0]})", permanent=True)
    if query.get("state", [""])[0] != state:
        raise AuthFailure("the pasted address belongs to another sign-in attempt (state differs)", permanent=True)
    if not query.get("code"):
        raise AuthFailure("the pasted address holds no code", permanent=True)
    return query["code"][0]


def _json(reply: requests.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return {"error": f"HTTP {reply.status_code}"}
    return body if isinstance(body, dict) else {}


def _refused(doing: str, body: dict[str, Any]) -> AuthFailure:
    code = str(body.get("error") or "no_token")
    description = str(body.get("error_description") or "").strip()[:200]
    return AuthFailure(f"{doing} was refused ({code}{': ' + description if description else ''})",
                       permanent=code in PERMANENT_ERRORS)


@contextmanager
def _library_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except (google_errors.TransportError, requests.RequestException) as exc:
        raise AuthFailure(f"{doing}: cannot reach Google ({type(exc).__name__})", permanent=False) from None
    except google_errors.RefreshError as exc:
        reason = str(exc.args[0] if exc.args else exc).splitlines()[0][:200]
        raise AuthFailure(f"{doing} was refused ({reason})", permanent=not exc.retryable) from None
    except (google_errors.GoogleAuthError, ValueError) as exc:  # e.g. a malformed private key
        raise AuthFailure(f"{doing}: {str(exc).splitlines()[0][:200]}", permanent=True) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """google-auth keeps expiry as naive UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _naive(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None
