"""Microsoft 365 sign-in (msal) against a loopback token endpoint, used for real XOAUTH2 logins.

The endpoint (tests/token_endpoint.py) is the only stand-in: msal talks HTTPS to it, Dovecot checks every
access token with the introspection server, and the SMTP server accepts only the token last issued.
"""
from __future__ import annotations

import json
import stat
from datetime import timedelta

import pytest

from mailbot.auth.microsoft import MicrosoftProvider
from mailbot.auth.tokens import Settings, http_session
from mailbot.errors import ProcessingError
from mailbot.inbox.imap import ImapSource
from mailbot.mail.transport import SmtpTransport
from tests.test_imap_source import message
from tests.token_endpoint import TokenEndpoint

pytestmark = pytest.mark.servers

APP_ID, APP_SECRET, PUBLIC_ID = "mailbot-app", "app-secret-0123456789", "mailbot-public"


class ScriptedPrompt:
    """The admin at the terminal: records what mailbot shows, answers nothing (device code needs no answer)."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def show(self, text: str) -> None:
        self.shown.append(text)

    def ask(self, text: str) -> str:
        raise AssertionError(f"the device-code flow should not ask anything ({text})")


@pytest.fixture
def endpoint(tmp_path_factory):
    server = TokenEndpoint(tmp_path_factory.mktemp("idp"))
    server.apps.public.add(PUBLIC_ID)
    yield server
    server.close()


@pytest.fixture
def mailbox(dovecot_oauth2, endpoint):
    """A Dovecot user whose access tokens are whatever the endpoint issues for them."""
    introspection = dovecot_oauth2.provider
    user, _ = dovecot_oauth2.server.add_user()
    endpoint.on_issue.append(lambda who, token: introspection.tokens.__setitem__(token, who))
    endpoint.apps.secrets[APP_ID] = APP_SECRET
    endpoint.apps.mailboxes[APP_ID] = user
    endpoint.approve_as = user
    return dovecot_oauth2.server, user


def provider(endpoint, tmp_path, user: str, flow: str = "client_credentials") -> MicrosoftProvider:
    settings = Settings(provider="microsoft", flow=flow, account=user,
                        client_id=APP_ID if flow == "client_credentials" else PUBLIC_ID,
                        client_secret=APP_SECRET if flow == "client_credentials" else "",
                        token_cache=tmp_path / "tokens.json", authority=endpoint.authority)
    return MicrosoftProvider(settings, session=http_session(str(endpoint.cert_path)))


def imap(server, user, token) -> ImapSource:
    return ImapSource(server.host, server.port, "none", user, oauth2_token=token, timeout=10)


def cached_refresh_tokens(path) -> list[str]:
    cache = json.loads(json.loads(path.read_text())["cache"])
    return [entry["secret"] for entry in cache.get("RefreshToken", {}).values()]


def test_client_credentials_log_in_to_dovecot_and_reuse_the_cached_token(mailbox, endpoint, tmp_path):
    server, user = mailbox
    uid = server.append(user, message("app-only"))
    tokens = provider(endpoint, tmp_path, user)
    with imap(server, user, tokens.token) as source:
        assert source.folder_state().keys == [str(uid)]
    # A second process (a fresh provider) reads the cached token from the file: still an hour left.
    assert provider(endpoint, tmp_path, user).token() in endpoint.access_tokens
    assert endpoint.grants == ["client_credentials"]
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600


def test_client_credentials_send_over_smtp(mailbox, endpoint, tmp_path, smtp_server_factory):
    _, user = mailbox
    sink = smtp_server_factory(oauth_tokens={user: "none-yet"})
    endpoint.on_issue.append(lambda who, token: sink.oauth_tokens.__setitem__(who, token))
    transport = SmtpTransport(host=sink.host, port=sink.port, security="none", username=user,
                              oauth2_token=provider(endpoint, tmp_path, user).token, retries=0)
    transport.send(_email("certs@example.com"))
    [received] = sink.wait_for(1)
    assert received.auth_user == user and received.message["Subject"] == "CEC submission"


def _email(sender: str):
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "renewals@example.org", "CEC submission"
    msg.set_content("Certificate attached.")
    return msg


def test_token_within_five_minutes_of_expiry_is_refreshed_before_use(mailbox, endpoint, tmp_path):
    server, user = mailbox
    introspection_tokens = {}
    endpoint.on_issue.append(lambda who, token: introspection_tokens.__setitem__(token, who))
    endpoint.access_lifetime = 240  # still valid for 4 minutes: inside the margin, so it counts as expired
    tokens = provider(endpoint, tmp_path, user)
    first = tokens.token()
    with imap(server, user, tokens.token) as source:
        source.folder_state()
    second = tokens.token()
    assert len({first, second, *introspection_tokens}) == len(introspection_tokens) == 3
    assert endpoint.grants == ["client_credentials"] * 3
    endpoint.access_lifetime = 3600
    fresh = tokens.token()
    assert tokens.token() == fresh  # an hour left: no new request
    assert endpoint.grants == ["client_credentials"] * 4


def test_device_code_sign_in_end_to_end_then_imap(mailbox, endpoint, tmp_path):
    server, user = mailbox
    uid = server.append(user, message("delegated"))
    prompt = ScriptedPrompt()
    status = provider(endpoint, tmp_path, user, "device_code").login(prompt)
    assert any(endpoint.base_url + "/devicelogin" in line for line in prompt.shown)
    assert status.signed_in and status.account == user and status.renew_by is not None
    assert endpoint.grants.count("urn:ietf:params:oauth:grant-type:device_code") == 2  # pending, then approved
    with imap(server, user, provider(endpoint, tmp_path, user, "device_code").token) as source:
        assert source.folder_state().keys == [str(uid)]


def test_rotated_refresh_token_is_persisted_and_the_old_one_never_reused(mailbox, endpoint, tmp_path):
    server, user = mailbox
    cache = tmp_path / "tokens.json"
    endpoint.access_lifetime = 60  # every use refreshes, every refresh rotates
    provider(endpoint, tmp_path, user, "device_code").login(ScriptedPrompt())
    [first_rt] = cached_refresh_tokens(cache)
    seen = [first_rt]
    for _ in range(3):  # a new provider each time: what is on disk is all that carries over
        with imap(server, user, provider(endpoint, tmp_path, user, "device_code").token) as source:
            source.folder_state()
        [current] = cached_refresh_tokens(cache)
        assert current not in seen and current in endpoint.live
        seen.append(current)
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert endpoint.grants.count("refresh_token") == 3
    assert endpoint.reused == []
    assert first_rt not in cache.read_text()


def test_revoked_refresh_token_is_a_permanent_error_naming_the_account(mailbox, endpoint, tmp_path):
    server, user = mailbox
    endpoint.access_lifetime = 60  # the next use must refresh
    tokens = provider(endpoint, tmp_path, user, "device_code")
    tokens.login(ScriptedPrompt())
    [refresh_token] = cached_refresh_tokens(tmp_path / "tokens.json")
    endpoint.revoke_user(user)
    with pytest.raises(ProcessingError) as failed, imap(server, user, tokens.token) as source:
        source.folder_state()
    text = str(failed.value)
    assert failed.value.permanent is True
    assert user in text and "invalid_grant" in text and "mailbot auth login" in text
    assert refresh_token not in text and APP_SECRET not in text
    [warning] = tokens.warnings(tokens.clock())
    assert user in warning and "invalid_grant" in warning and refresh_token not in warning


def test_refresh_token_close_to_its_lifetime_warns_the_admin(mailbox, endpoint, tmp_path):
    _, user = mailbox
    tokens = provider(endpoint, tmp_path, user, "device_code")
    status = tokens.login(ScriptedPrompt())
    issued = status.refresh_token_issued_at
    assert tokens.warnings(issued + timedelta(days=82)) == []
    [warning] = tokens.warnings(issued + timedelta(days=84))
    assert user in warning and "6 day(s)" in warning and "mailbot auth login" in warning


def test_unreachable_provider_is_transient_and_warned(mailbox, endpoint, tmp_path):
    _, user = mailbox
    endpoint.access_lifetime = 60  # the cached access token is already inside the refresh margin
    provider(endpoint, tmp_path, user, "device_code").login(ScriptedPrompt())
    endpoint.close()
    tokens = provider(endpoint, tmp_path, user, "device_code")
    with pytest.raises(ProcessingError) as failed:
        tokens.token()
    assert failed.value.permanent is False and user in str(failed.value)
    [warning] = tokens.warnings(tokens.clock())
    assert user in warning and "will retry" in warning


def test_device_code_sign_in_as_another_user_is_refused_and_nothing_stored(mailbox, endpoint, tmp_path):
    _, user = mailbox
    endpoint.approve_as = "someone.else@acme.example"
    with pytest.raises(ProcessingError) as failed:
        provider(endpoint, tmp_path, user, "device_code").login(ScriptedPrompt())
    assert "someone.else@acme.example" in str(failed.value) and user in str(failed.value)
    assert not (tmp_path / "tokens.json").exists()


def test_wrong_client_secret_is_permanent_and_not_shown(mailbox, endpoint, tmp_path):
    _, user = mailbox
    endpoint.apps.secrets[APP_ID] = "the-secret-the-provider-expects"
    with pytest.raises(ProcessingError) as failed:
        provider(endpoint, tmp_path, user).token()
    assert failed.value.permanent is True and "invalid_client" in str(failed.value)
    assert APP_SECRET not in str(failed.value)


def test_a_cached_token_does_not_rewrite_the_file(mailbox, endpoint, tmp_path):
    _, user = mailbox
    tokens = provider(endpoint, tmp_path, user)
    tokens.token()
    written = (tmp_path / "tokens.json").stat().st_ino
    tokens.token()
    assert (tmp_path / "tokens.json").stat().st_ino == written  # an atomic rewrite would be a new inode


def test_concurrent_users_of_one_cache_never_spend_the_same_refresh_token(mailbox, endpoint, tmp_path):
    """IMAP and SMTP (or the daemon and a CLI command) share the cache: the lock serialises refreshes."""
    import threading

    _, user = mailbox
    endpoint.access_lifetime = 60  # every call refreshes and rotates
    provider(endpoint, tmp_path, user, "device_code").login(ScriptedPrompt())
    errors: list[Exception] = []

    def use_tokens() -> None:
        tokens = provider(endpoint, tmp_path, user, "device_code")  # its own msal app and memory
        for _ in range(4):
            try:
                tokens.token()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=use_tokens) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and endpoint.reused == []
    assert endpoint.grants.count("refresh_token") == 12
