"""pytest plugin: a real SMTP server (aiosmtpd) on loopback. See tests/smtp_server.py for the API.

    def test_x(smtp_server):                       # plain, no auth, no TLS
        ... send to smtp_server.host / smtp_server.port ...
        [received] = smtp_server.wait_for(1)

    def test_y(smtp_server_factory):
        sink = smtp_server_factory(security="starttls", users={"bot": "s3cret"})
        transport = SmtpTransport(**sink.settings())
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.smtp_server import SmtpSink


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def smtp_server_factory(tmp_path_factory) -> Iterator[Callable[..., SmtpSink]]:
    """Call with SmtpSink options (security="none"|"starttls"|"ssl", users={...}, require_tls=...)."""
    started: list[SmtpSink] = []

    def start(**options) -> SmtpSink:
        if options.get("security", "none") != "none":
            options.setdefault("cert_dir", tmp_path_factory.mktemp("smtp-tls"))
        sink = SmtpSink(**options).start()
        started.append(sink)
        return sink

    try:
        yield start
    finally:
        for sink in started:
            sink.stop()
