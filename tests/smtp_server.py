"""A real SMTP server for tests: aiosmtpd on a free loopback port that records what it receives.

`SmtpSink` speaks real SMTP (optionally STARTTLS, implicit TLS and AUTH) so the transports are tested
against the protocol rather than against a mock. Tests can script the next replies (421, 451, 550, or a
dropped connection) to exercise retry and failure handling, and count connections, transactions and
AUTH attempts.
"""
from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import itertools
import json
import socket
import ssl
import threading
import warnings
import weakref
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from tests.smtp_cert import make_self_signed_cert

HOST = "127.0.0.1"
DROP = "DROP"  # a scripted "reply" that closes the connection without answering
STALL = "STALL"  # a scripted "reply" that never comes (until the server stops): the client must time out
_STALL_SECONDS = 120
STAGES = ("mail", "rcpt", "data")


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    connection_id: int
    auth_user: str | None
    tls: bool


@dataclass(frozen=True)
class AuthAttempt:
    connection_id: int
    username: str
    success: bool


@dataclass
class _ScriptedReply:
    stage: str
    reply: str


@dataclass
class _Record:
    """Everything the sink saw, guarded by one condition variable (the server runs in its own thread)."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    messages: list[ReceivedMessage] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)
    transactions: list[int] = field(default_factory=list)  # connection id of every MAIL FROM
    auth_attempts: list[AuthAttempt] = field(default_factory=list)
    script: list[_ScriptedReply] = field(default_factory=list)
    open_servers: weakref.WeakSet = field(default_factory=weakref.WeakSet)  # SMTP protocol instances


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class _RecordingHandler:
    """aiosmtpd handler: records connections, transactions and messages; answers scripted replies."""

    def __init__(self, record: _Record, users: dict[str, str], oauth_tokens: dict[str, str]):
        self.record = record
        self.users = users
        self.oauth_tokens = oauth_tokens

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # Defining this hook makes aiosmtpd leave host_name to us; without it MAIL says "send HELO first".
        session.host_name = hostname
        self._note_connection(server)
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self._note_connection(server)
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.record.cond:
            self.record.transactions.append(server.connection_id)
        scripted = await self._scripted_reply("mail", server)
        if scripted:
            return scripted
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        scripted = await self._scripted_reply("rcpt", server)
        if scripted:
            return scripted
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        scripted = await self._scripted_reply("data", server)
        if scripted:
            return scripted
        raw = bytes(envelope.original_content or b"")
        received = ReceivedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=email.message_from_bytes(raw, policy=email.policy.default),
            connection_id=server.connection_id,
            auth_user=session.auth_data if session.authenticated else None,
            tls=session.ssl is not None or server.implicit_tls,
        )
        with self.record.cond:
            self.record.messages.append(received)
            self.record.cond.notify_all()
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        username = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        success = username in self.users and self.users[username] == password
        with self.record.cond:
            self.record.auth_attempts.append(AuthAttempt(server.connection_id, username, success))
        # auth_data must be returned explicitly or the session's auth_data stays empty.
        return AuthResult(success=success, auth_data=username if success else None, handled=False)

    async def auth_XOAUTH2(self, server, args):
        """SASL XOAUTH2 as Gmail and Microsoft 365 speak it: user=..^Aauth=Bearer TOKEN^A^A."""
        if len(args) > 1:
            response = base64.b64decode(args[1].encode(), validate=False)
        else:
            response = await server.challenge_auth("")
            if response is MISSING:
                return AuthResult(success=False)
        fields = dict(part.split("=", 1) for part in response.decode("utf-8", "replace").split("\x01") if "=" in part)
        username, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        success = bool(token) and self.oauth_tokens.get(username) == token
        with self.record.cond:
            self.record.auth_attempts.append(AuthAttempt(server.connection_id, username, success))
        if success:
            return AuthResult(success=True, auth_data=username)
        # RFC 7628: a failure is a 334 with a JSON status; the client answers with an empty line, then 535.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False)

    def _note_connection(self, server) -> None:
        with self.record.cond:
            self.record.connections.add(server.connection_id)
            self.record.open_servers.add(server)

    async def _scripted_reply(self, stage: str, server) -> str | None:
        with self.record.cond:
            if not self.record.script or self.record.script[0].stage != stage:
                return None
            reply = self.record.script.pop(0).reply
        if reply == DROP or reply.startswith("421"):
            # A real server closes the connection after 421; DROP closes it without a word.
            # call_soon runs after the reply below has been written.
            server.loop.call_soon(server.transport.close)
        if reply == DROP:
            server.transport.close()
            return "250 ignored: connection already closed"
        if reply == STALL:
            await asyncio.sleep(_STALL_SECONDS)  # cancelled when the sink stops
            return "451 4.4.2 Stalled on purpose"
        return reply


class _SinkController(Controller):
    """Controller whose SMTP instances carry a connection id (kept across STARTTLS, unlike the session)."""

    def __init__(self, handler, *, implicit_tls: bool, **kwargs):
        super().__init__(handler, **kwargs)
        self._ids = itertools.count(1)
        self._implicit_tls = implicit_tls

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            # With implicit TLS the whole connection is encrypted, but aiosmtpd only knows STARTTLS.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            smtp = super().factory()
        smtp.connection_id = next(self._ids)
        smtp.implicit_tls = self._implicit_tls
        return smtp


class SmtpSink:
    """A running aiosmtpd server on a free loopback port that records every message it accepts.

    security: "none", "starttls" (offered; required when require_tls) or "ssl" (implicit TLS).
    users: {name: password}; oauth_tokens: {name: bearer token}. With either, AUTH (PLAIN, LOGIN and
    XOAUTH2) is offered and required before MAIL FROM.
    """

    def __init__(
        self,
        *,
        security: str = "none",
        users: dict[str, str] | None = None,
        oauth_tokens: dict[str, str] | None = None,
        cert_dir: Path | None = None,
        require_tls: bool = False,
    ):
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"security must be none, starttls or ssl, not {security!r}")
        if security != "none" and cert_dir is None:
            raise ValueError("TLS needs cert_dir for the self-signed certificate")
        self.security = security
        self.users = dict(users or {})
        self.oauth_tokens = dict(oauth_tokens or {})
        self.host = HOST
        self.port = 0
        self.cert_path: Path | None = None
        self._record = _Record()
        self._handler = _RecordingHandler(self._record, self.users, self.oauth_tokens)
        self._controller: _SinkController | None = None
        self._require_tls = require_tls
        if cert_dir is not None and security != "none":
            self.cert_path, self._key_path = make_self_signed_cert(cert_dir)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> SmtpSink:
        # Controller(port=0) cannot work (its readiness probe connects to port 0): pick a port first,
        # and pick again if another process grabbed it in between.
        for _ in range(5):
            port = free_port()
            controller = self._make_controller(port)
            try:
                controller.start()
            except OSError:
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError("could not bind a free loopback port for the test SMTP server")

    def stop(self) -> None:
        """Stop listening and close open connections. Safe to call twice."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _make_controller(self, port: int) -> _SinkController:
        kwargs: dict = {"hostname": HOST, "port": port, "server_hostname": "mailbot-test-smtp"}
        if self.security == "ssl":
            kwargs["ssl_context"] = self.server_ssl_context()
        elif self.security == "starttls":
            kwargs["tls_context"] = self.server_ssl_context()
            kwargs["require_starttls"] = self._require_tls
        if self.users or self.oauth_tokens:
            kwargs["authenticator"] = self._handler.authenticate
            kwargs["auth_required"] = True
            # aiosmtpd counts only STARTTLS as "TLS", so with implicit TLS (or none) AUTH must be
            # allowed without it; with STARTTLS it is refused until the client upgrades.
            kwargs["auth_require_tls"] = self.security == "starttls"
        return _SinkController(self._handler, implicit_tls=self.security == "ssl", **kwargs)

    # -- TLS -------------------------------------------------------------------------------------------

    def server_ssl_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self._key_path)
        return context

    def client_ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's self-signed certificate."""
        if self.cert_path is None:
            raise RuntimeError("this SMTP sink has no TLS")
        return ssl.create_default_context(cafile=str(self.cert_path))

    # -- scripting -------------------------------------------------------------------------------------

    def script(self, *replies: str, stage: str = "data") -> None:
        """Make the next transactions answer these replies at `stage`, in order, e.g.
        script("451 4.3.0 Try again later", "451 4.3.0 Try again later"). DROP closes the connection;
        STALL never answers, so the client times out."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}")
        with self._record.cond:
            self._record.script.extend(_ScriptedReply(stage, reply) for reply in replies)

    def drop_connections(self) -> None:
        """Close every open client connection, as a server does with idle ones; returns once closed."""
        if self._controller is None:
            return
        with self._record.cond:
            servers = list(self._record.open_servers)

        async def close_all() -> None:
            for server in servers:
                if server.transport is not None:
                    server.transport.close()
            await asyncio.sleep(0)  # the close callbacks were queued first, so they run before we return

        asyncio.run_coroutine_threadsafe(close_all(), self._controller.loop).result(timeout=5)

    def clear(self) -> None:
        """Forget everything received and any pending scripted replies."""
        with self._record.cond:
            self._record.messages.clear()
            self._record.connections.clear()
            self._record.transactions.clear()
            self._record.auth_attempts.clear()
            self._record.script.clear()

    # -- observations ----------------------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._record.cond:
            return list(self._record.messages)

    @property
    def connection_count(self) -> int:
        """Connections that greeted the server (EHLO/HELO); the start-up readiness probe does not count."""
        with self._record.cond:
            return len(self._record.connections)

    @property
    def transaction_count(self) -> int:
        """MAIL FROM commands received, whether or not the transaction then succeeded."""
        with self._record.cond:
            return len(self._record.transactions)

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        with self._record.cond:
            return list(self._record.auth_attempts)

    @property
    def pending_script(self) -> int:
        with self._record.cond:
            return len(self._record.script)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived; return them. Raises TimeoutError otherwise."""
        with self._record.cond:
            arrived = self._record.cond.wait_for(lambda: len(self._record.messages) >= count, timeout)
            if not arrived:
                raise TimeoutError(
                    f"SMTP sink received {len(self._record.messages)} message(s), expected {count}"
                )
            return list(self._record.messages)

    def settings(self, **overrides) -> dict:
        """Connection settings in the shape of the [outbox] config section, for SmtpTransport."""
        base = {"host": self.host, "port": self.port, "security": self.security}
        if self.users:
            username, password = next(iter(self.users.items()))
            base.update(username=username, password=password)
        elif self.oauth_tokens:
            username, token = next(iter(self.oauth_tokens.items()))
            base.update(username=username, oauth2_token=lambda: token)
        if self.security != "none":
            base["ssl_context"] = self.client_ssl_context()
        base.update(overrides)
        return base
