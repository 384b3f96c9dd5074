"""Pytest plugin: a real Dovecot IMAP server for the session and a fresh account per test.

- `dovecot`: the session-wide server (tests/dovecot.py). start()/stop()/restart() keep the ports; stop()
  also cuts logged-in clients. Helpers: add_user(), client(user) (a logged-in imap-tools MailBox),
  append(user, raw, folder, flags) → UID, append_many, deliver_to_maildir (fast bulk), flags(user, folder)
  → {uid: flags}, uids, folders, store_flags (as a person's mail client would), maildir(user), ssl_context().
  Folder hierarchy separator "/" (so "mailbot/Processed" works); Dovecot(separator=".") for the other kind.
- `imap_account`: a new user with a random password per test (host, port, user, password, ssl_port, server),
  so tests never see each other's mail; restarts the server if an earlier test left it stopped.
- `dovecot_proxy`: a TcpProxy in front of the plain port: byte counters, drop_connections(), stall()/resume().
- `dovecot_oauth2`: a second server that also accepts XOAUTH2 tokens issued by a loopback introspection
  endpoint (provider.issue(user) / provider.revoke(token)); it uses Dovecot's default "." separator.
Skips, with a hint, when the dovecot binary is not installed.
"""
from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.dovecot import Dovecot, dovecot_available
from tests.oauth2_server import IntrospectionServer
from tests.tcp_proxy import TcpProxy


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int  # plain IMAP (STARTTLS offered)
    user: str
    password: str
    ssl_port: int  # implicit TLS
    server: Dovecot

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the test server's self-signed certificate."""
        return self.server.ssl_context()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if not dovecot_available():
        pytest.skip("dovecot not found: install dovecot-imapd (make test does)")
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def imap_account(dovecot: Dovecot) -> ImapAccount:
    # A test may have stopped the server (outage tests); every test starts from a running one.
    if not dovecot.running:
        dovecot.start()
    user, password = dovecot.add_user()
    return ImapAccount(dovecot.host, dovecot.port, user, password, dovecot.ssl_port, dovecot)


@pytest.fixture
def dovecot_proxy(dovecot: Dovecot) -> Iterator[TcpProxy]:
    """A byte-counting, connection-dropping TCP proxy in front of the plain IMAP port."""
    with TcpProxy(dovecot.host, dovecot.port) as proxy:
        yield proxy


@dataclass(frozen=True)
class OAuth2Imap:
    server: Dovecot  # accepts XOAUTH2 as well as passwords
    provider: IntrospectionServer  # issue(user) → token Dovecot will accept; revoke(token)


@pytest.fixture(scope="session")
def dovecot_oauth2() -> Iterator[OAuth2Imap]:
    """A second Dovecot whose oauth2 passdb asks a loopback RFC 7662 endpoint about XOAUTH2 tokens."""
    if not dovecot_available():
        pytest.skip("dovecot not found: install dovecot-imapd (make test does)")
    provider = IntrospectionServer()
    # The "." separator (Dovecot's Maildir++ default) makes this the "other kind" of server too, saving a start.
    server = Dovecot(separator=".", oauth2_introspection_url=provider.url)
    server.start()
    try:
        yield OAuth2Imap(server, provider)
    finally:
        server.cleanup()
        provider.close()
