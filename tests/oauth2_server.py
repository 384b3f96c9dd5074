"""A tiny OAuth2 token-introspection endpoint (RFC 7662) on loopback, so Dovecot's oauth2 passdb can check
XOAUTH2 logins for real. Only the provider is stand-in: the IMAP side (SASL XOAUTH2) is the real thing.
"""
from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class IntrospectionServer:
    """POST /introspect with token=… answers {"active": true, "username": …} for tokens it issued."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}  # token → username
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server calls do_POST
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self._answer((form.get("token") or [""])[0])

            def do_GET(self) -> None:
                self._answer((parse_qs(urlparse(self.path).query).get("token") or [""])[0])

            def _answer(self, token: str) -> None:
                server.requests += 1
                user = server.tokens.get(token)
                body = json.dumps({"active": True, "username": user} if user else {"active": False}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass  # keep pytest output clean

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/introspect"
        threading.Thread(target=self._http.serve_forever, name="oauth2-introspection", daemon=True).start()

    def issue(self, username: str) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = username
        return token

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
