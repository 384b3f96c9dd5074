"""Pytest plugin: a real Dovecot IMAP server for the session and a fresh account per test.

`dovecot` is the session-wide server (tests/dovecot.py: start/stop/restart, add_user, client, append, flags).
`imap_account` adds a new user with a random password for each test, so tests never see each other's mail.
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
    server = Dovecot(oauth2_introspection_url=provider.url)
    server.start()
    try:
        yield OAuth2Imap(server, provider)
    finally:
        server.cleanup()
        provider.close()
