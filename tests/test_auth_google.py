"""Google sign-in (google-auth) against the loopback token endpoint, used for real XOAUTH2 logins.

Service account: google-auth signs a JWT with a freshly made RSA key; the endpoint checks the signature
with the public half and issues a token for the delegated mailbox. Installed app: the admin's browser is
played by following the printed address to the endpoint's /authorize, which redirects with a code.
"""
from __future__ import annotations

import json
import re
import stat
from email.message import EmailMessage

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailbot.auth.google import GoogleProvider
from mailbot.auth.tokens import Settings, http_session
from mailbot.errors import ProcessingError
from mailbot.inbox.imap import ImapSource
from mailbot.mail.transport import SmtpTransport
from tests.test_imap_source import message
from tests.token_endpoint import TokenEndpoint

pytestmark = pytest.mark.servers

SERVICE_EMAIL = "mailbot@acme-project.iam.gserviceaccount.test"
CLIENT_ID, CLIENT_SECRET = "desktop-client.apps.test", "desktop-secret-0123456789"


@pytest.fixture
def endpoint(tmp_path_factory):
    server = TokenEndpoint(tmp_path_factory.mktemp("idp"))
    server.apps.secrets[CLIENT_ID] = CLIENT_SECRET
    yield server
    server.close()


@pytest.fixture
def mailbox(dovecot_oauth2, endpoint):
    introspection = dovecot_oauth2.provider
    user, _ = dovecot_oauth2.server.add_user()
    endpoint.on_issue.append(lambda who, token: introspection.tokens.__setitem__(token, who))
    endpoint.approve_as = user
    return dovecot_oauth2.server, user


def service_key_file(tmp_path, endpoint, *, registered: bool = True):
    """A service account key file as Google issues it; its public key is known to the endpoint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    if registered:
        endpoint.apps.service_keys[SERVICE_EMAIL] = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({"type": "service_account", "client_email": SERVICE_EMAIL, "private_key": pem,
                                "private_key_id": "key-1", "client_id": "1234",
                                "token_uri": "https://oauth2.googleapis.com/token"}))
    return path


def provider(endpoint, tmp_path, user, flow="service_account", key_file=None) -> GoogleProvider:
    settings = Settings(provider="google", flow=flow, account=user, client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET if flow == "installed_app" else "",
                        token_cache=tmp_path / "tokens.json", token_uri=endpoint.token_uri,
                        authority=endpoint.auth_uri, service_account_file=key_file, subject=user)
    return GoogleProvider(settings, session=http_session(str(endpoint.cert_path)))


class Browser:
    """The admin: opens the printed address, signs in (the endpoint approves), pastes the final address."""

    def __init__(self, endpoint, tamper=lambda url: url):
        self.endpoint, self.tamper, self.shown = endpoint, tamper, []

    def show(self, text: str) -> None:
        self.shown.append(text)

    def ask(self, text: str) -> str:
        [url] = re.findall(r"https://\S+/authorize\?\S+", "\n".join(self.shown))
        reply = requests.get(url, allow_redirects=False, verify=str(self.endpoint.cert_path), timeout=10)
        assert reply.status_code == 302
        return self.tamper(reply.headers["Location"])


def test_service_account_with_delegation_logs_in_to_dovecot(mailbox, endpoint, tmp_path):
    server, user = mailbox
    uid = server.append(user, message("service account"))
    tokens = provider(endpoint, tmp_path, user, key_file=service_key_file(tmp_path, endpoint))
    with ImapSource(server.host, server.port, "none", user, oauth2_token=tokens.token, timeout=10) as source:
        assert source.folder_state().keys == [str(uid)]
    assert endpoint.access_tokens[tokens.token()] == user  # the token was issued for the delegated user
    assert endpoint.grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]  # cached: one request


def test_service_account_token_sends_over_smtp(mailbox, endpoint, tmp_path, smtp_server_factory):
    _, user = mailbox
    sink = smtp_server_factory(oauth_tokens={user: "none-yet"})
    endpoint.on_issue.append(lambda who, token: sink.oauth_tokens.__setitem__(who, token))
    tokens = provider(endpoint, tmp_path, user, key_file=service_key_file(tmp_path, endpoint))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "certs@example.com", "renewals@example.org", "CEC submission"
    msg.set_content("Certificate attached.")
    SmtpTransport(host=sink.host, port=sink.port, security="none", username=user,
                  oauth2_token=tokens.token, retries=0).send(msg)
    [received] = sink.wait_for(1)
    assert received.auth_user == user


def test_service_account_token_near_expiry_is_refreshed(mailbox, endpoint, tmp_path):
    _, user = mailbox
    endpoint.access_lifetime = 120
    tokens = provider(endpoint, tmp_path, user, key_file=service_key_file(tmp_path, endpoint))
    assert tokens.token() != tokens.token()
    endpoint.access_lifetime = 3600
    assert tokens.token() == tokens.token()
    assert len(endpoint.grants) == 3


def test_unknown_service_key_is_a_permanent_error_without_key_material(mailbox, endpoint, tmp_path):
    _, user = mailbox
    key_file = service_key_file(tmp_path, endpoint, registered=False)
    with pytest.raises(ProcessingError) as failed:
        provider(endpoint, tmp_path, user, key_file=key_file).token()
    assert failed.value.permanent is True and user in str(failed.value)
    assert "PRIVATE KEY" not in str(failed.value)


def test_installed_app_sign_in_then_imap_and_rotation_persisted(mailbox, endpoint, tmp_path):
    server, user = mailbox
    uid = server.append(user, message("installed app"))
    endpoint.access_lifetime = 60  # each use refreshes
    status = provider(endpoint, tmp_path, user, "installed_app").login(Browser(endpoint))
    assert status.signed_in and status.renew_by is not None
    cache = tmp_path / "tokens.json"
    first = json.loads(cache.read_text())["cache"]["refresh_token"]
    tokens = provider(endpoint, tmp_path, user, "installed_app")
    with ImapSource(server.host, server.port, "none", user, oauth2_token=tokens.token, timeout=10) as source:
        assert source.folder_state().keys == [str(uid)]
    second = json.loads(cache.read_text())["cache"]["refresh_token"]
    assert second != first and second in endpoint.live and first not in cache.read_text()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert endpoint.grants == ["authorization_code", "refresh_token"] and endpoint.reused == []
    assert CLIENT_SECRET not in cache.read_text()


def test_installed_app_refuses_an_address_from_another_sign_in(mailbox, endpoint, tmp_path):
    _, user = mailbox
    browser = Browser(endpoint, tamper=lambda url: re.sub(r"state=[^&]+", "state=forged", url))
    with pytest.raises(ProcessingError) as failed:
        provider(endpoint, tmp_path, user, "installed_app").login(browser)
    assert failed.value.permanent is True and "state" in str(failed.value)
    assert endpoint.grants == []


def test_revoked_google_refresh_token_is_permanent_and_warned(mailbox, endpoint, tmp_path):
    _, user = mailbox
    endpoint.access_lifetime = 60
    tokens = provider(endpoint, tmp_path, user, "installed_app")
    tokens.login(Browser(endpoint))
    endpoint.revoke_user(user)
    with pytest.raises(ProcessingError) as failed:
        tokens.token()
    assert failed.value.permanent is True and user in str(failed.value) and "invalid_grant" in str(failed.value)
    [warning] = tokens.warnings(tokens.clock())
    assert "invalid_grant" in warning and "mailbot auth login" in warning


def test_pasted_answer_may_be_the_address_or_the_bare_code():
    from mailbot.auth.google import _code_from
    from mailbot.auth.tokens import AuthFailure

    assert _code_from("  4/0AbCdE  ", "s1") == "4/0AbCdE"
    assert _code_from("http://localhost/?state=s1&code=4%2F0AbCdE&scope=x", "s1") == "4/0AbCdE"
    for answer, reason in [("", "no code"), ("http://localhost/?error=access_denied&state=s1", "access_denied"),
                           ("http://localhost/?state=other&code=c", "state")]:
        with pytest.raises(AuthFailure, match=reason):
            _code_from(answer, "s1")
