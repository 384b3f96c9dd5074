"""A loopback OAuth2 provider over TLS, playing Microsoft's and Google's token endpoints for tests.

The only stand-in in the OAuth2 tests: msal and google-auth talk to it over real HTTPS (a self-signed
certificate the test session trusts), and every access token it issues is handed to `on_issue` callbacks
so the test Dovecot (introspection) and SMTP server accept exactly those tokens.

It does what the providers do that matters to mailbot: short-lived access tokens, refresh grants that
rotate the refresh token (a spent one is refused and recorded in `reused`), revocation, the device-code
flow (approved on the second poll, as `approve_as`), the authorization-code flow with PKCE, and the
JWT-bearer grant of a Google service account (the assertion's signature is checked against its key).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import jwt

from tests.smtp_cert import make_self_signed_cert

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
# google-auth addresses every service-account assertion to Google's token endpoint, whatever token_uri is.
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


@dataclass
class RefreshGrant:
    user: str
    client_id: str
    scope: str


@dataclass
class Apps:
    """Registered clients: confidential apps (secret + the mailbox they may open), public ones, keys."""

    secrets: dict[str, str] = field(default_factory=dict)  # client_id → client secret
    mailboxes: dict[str, str] = field(default_factory=dict)  # client_id → mailbox of app-only tokens
    public: set[str] = field(default_factory=set)
    service_keys: dict[str, str] = field(default_factory=dict)  # service account email → public key PEM


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenEndpoint:
    def __init__(self, cert_dir: Path, tenant: str = "contoso-test"):
        self.cert_path, key_path = make_self_signed_cert(cert_dir)
        self.tenant = tenant
        self.apps = Apps()
        self.access_lifetime = 3600  # seconds; tests shorten it below mailbot's 5-minute margin
        self.approve_as = ""  # who finishes device-code and browser sign-ins
        self.live: dict[str, RefreshGrant] = {}  # refresh token → grant
        self.spent: set[str] = set()  # rotated away
        self.revoked: set[str] = set()
        self.reused: list[str] = []  # spent refresh tokens presented again (a client bug)
        self.grants: list[str] = []  # grant_type of every token request, in order
        self.access_tokens: dict[str, str] = {}  # access token → user
        self.on_issue: list[Callable[[str, str], None]] = []  # called with (user, access token)
        self._device: dict[str, dict] = {}
        self._codes: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, name="token-endpoint", daemon=True).start()

    # -- addresses -------------------------------------------------------------------------------------

    @property
    def authority(self) -> str:  # Microsoft: what msal is given
        return f"{self.base_url}/{self.tenant}"

    @property
    def token_uri(self) -> str:  # Google: the token endpoint
        return f"{self.base_url}/token"

    @property
    def auth_uri(self) -> str:  # Google: the browser sign-in page
        return f"{self.base_url}/authorize"

    # -- test controls ---------------------------------------------------------------------------------

    def revoke_user(self, user: str) -> None:
        """What an admin (or a password reset) does: every refresh token of the user stops working."""
        with self._lock:
            for token, grant in list(self.live.items()):
                if grant.user == user:
                    self.revoked.add(token)
                    del self.live[token]

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    # -- the provider ----------------------------------------------------------------------------------

    def openid_configuration(self) -> dict:
        base = f"{self.authority}/oauth2/v2.0"
        return {"issuer": f"{self.authority}/v2.0", "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token", "device_authorization_endpoint": f"{base}/devicecode"}

    def device_authorization(self, form: dict[str, str]) -> dict:
        if form.get("client_id") not in self.apps.public:
            raise OAuthError("unauthorized_client", "AADSTS700016: application not found in the directory")
        code = secrets.token_urlsafe(16)
        user_code = secrets.token_hex(4).upper()
        self._device[code] = {"polls": 0, "client_id": form["client_id"], "scope": form.get("scope", "")}
        uri = f"{self.base_url}/devicelogin"
        return {"device_code": code, "user_code": user_code, "verification_uri": uri, "expires_in": 900,
                "interval": 1, "message": f"To sign in, open {uri} and enter the code {user_code}."}

    def authorize(self, query: dict[str, str]) -> str:
        """GET /authorize: the admin signs in as approve_as; returns where the browser is sent."""
        code = secrets.token_urlsafe(16)
        self._codes[code] = dict(query)
        target = {"code": code, "state": query.get("state", "")}
        return f"{query['redirect_uri']}?{urlencode(target)}"

    def token(self, form: dict[str, str]) -> dict:
        grant_type = form.get("grant_type", "")
        with self._lock:
            self.grants.append(grant_type)
            handlers = {"client_credentials": self._client_credentials, DEVICE_CODE: self._device_code,
                        "refresh_token": self._refresh, "authorization_code": self._authorization_code,
                        JWT_BEARER: self._jwt_bearer}
            if grant_type not in handlers:
                raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
            return handlers[grant_type](form)

    def _client_credentials(self, form: dict[str, str]) -> dict:
        client_id = form.get("client_id", "")
        if not client_id or self.apps.secrets.get(client_id) != form.get("client_secret"):
            raise OAuthError("invalid_client", "AADSTS7000215: invalid client secret provided")
        return self._access(self.apps.mailboxes[client_id], form.get("scope", ""))

    def _device_code(self, form: dict[str, str]) -> dict:
        pending = self._device.get(form.get("device_code", ""))
        if pending is None:
            raise OAuthError("expired_token", "AADSTS70019: the device code has expired")
        if pending["polls"] == 0:  # the admin has not finished signing in at the first poll
            pending["polls"] += 1
            raise OAuthError("authorization_pending", "AADSTS70016: pending end-user authorization")
        del self._device[form["device_code"]]
        return self._user_tokens(self.approve_as, pending["client_id"], pending["scope"])

    def _refresh(self, form: dict[str, str]) -> dict:
        token = form.get("refresh_token", "")
        if token in self.spent:
            self.reused.append(token)
        grant = self.live.pop(token, None)
        if grant is None or grant.client_id != form.get("client_id"):
            raise OAuthError("invalid_grant", "AADSTS700082: the refresh token has expired or been revoked")
        self.spent.add(token)
        return self._user_tokens(grant.user, grant.client_id, form.get("scope") or grant.scope)

    def _authorization_code(self, form: dict[str, str]) -> dict:
        asked = self._codes.pop(form.get("code", ""), None)
        if asked is None or asked.get("redirect_uri") != form.get("redirect_uri"):
            raise OAuthError("invalid_grant", "Bad Request: malformed or spent authorization code")
        if self.apps.secrets.get(form.get("client_id", "")) != form.get("client_secret"):
            raise OAuthError("invalid_client", "The OAuth client was not found.")
        challenge = _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge != asked.get("code_challenge"):
            raise OAuthError("invalid_grant", "Invalid code verifier.")
        return self._user_tokens(self.approve_as, form["client_id"], asked.get("scope", ""))

    def _jwt_bearer(self, form: dict[str, str]) -> dict:
        assertion = form.get("assertion", "")
        issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss", "")
        key = self.apps.service_keys.get(issuer)
        if key is None:
            raise OAuthError("invalid_client", "Invalid service account")
        try:
            claims = jwt.decode(assertion, key, algorithms=["RS256"], audience=GOOGLE_AUDIENCE)
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", f"Invalid JWT Signature ({type(exc).__name__})") from None
        if not claims.get("sub"):
            raise OAuthError("unauthorized_client", "domain-wide delegation needs a subject")
        return self._access(claims["sub"], claims.get("scope", ""))

    def _access(self, user: str, scope: str) -> dict:
        token = "at-" + secrets.token_urlsafe(24)
        self.access_tokens[token] = user
        for callback in self.on_issue:
            callback(user, token)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.access_lifetime,
                "scope": scope}

    def _user_tokens(self, user: str, client_id: str, scope: str) -> dict:
        refresh = "rt-" + secrets.token_urlsafe(24)
        self.live[refresh] = RefreshGrant(user, client_id, scope)
        claims = {"iss": f"{self.authority}/v2.0", "aud": client_id, "sub": user, "oid": user,
                  "tid": self.tenant, "preferred_username": user, "iat": 0, "exp": 4102444800}
        id_token = ".".join([_b64(b'{"alg":"none","typ":"JWT"}'), _b64(json.dumps(claims).encode()), ""])
        info = _b64(json.dumps({"uid": user, "utid": self.tenant}).encode())
        return dict(self._access(user, scope), refresh_token=refresh, id_token=id_token, client_info=info)


def _handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    return type("TokenEndpointHandler", (_Handler,), {"endpoint": endpoint})


class _Handler(BaseHTTPRequestHandler):
    endpoint: TokenEndpoint  # set per server by _handler

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/.well-known/openid-configuration"):
            self._json(200, self.endpoint.openid_configuration())
        elif url.path.endswith("/authorize"):
            self.send_response(302)
            self.send_header("Location", self.endpoint.authorize(query))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        try:
            if self.path.endswith("/devicecode"):
                self._json(200, self.endpoint.device_authorization(form))
            elif self.path.endswith("/token"):
                self._json(200, self.endpoint.token(form))
            else:
                self._json(404, {"error": "not_found"})
        except OAuthError as exc:
            self._json(exc.status, {"error": exc.error, "error_description": exc.description})

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass  # keep pytest output clean
