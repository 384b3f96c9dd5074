"""`mailbot auth login/status` and the App wiring, from a config file, against the loopback token endpoint.

The CLI builds its own HTTP session, so the test trusts the endpoint's certificate the way an admin
would trust a corporate proxy: REQUESTS_CA_BUNDLE.
"""
from __future__ import annotations

import json
from email.message import EmailMessage

import pytest
from click.testing import CliRunner

from mailbot.app import App
from mailbot.cli.main import cli
from mailbot.config import load_config
from tests.test_imap_source import message
from tests.token_endpoint import TokenEndpoint

pytestmark = pytest.mark.servers

APP_ID, APP_SECRET, PUBLIC_ID = "mailbot-app", "app-secret-0123456789", "mailbot-public"


@pytest.fixture
def endpoint(tmp_path_factory, monkeypatch):
    server = TokenEndpoint(tmp_path_factory.mktemp("idp"))
    server.apps.public.add(PUBLIC_ID)
    server.apps.secrets[APP_ID] = APP_SECRET
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert_path))
    yield server
    server.close()


@pytest.fixture
def mailbox(dovecot_oauth2, endpoint):
    introspection = dovecot_oauth2.provider
    user, _ = dovecot_oauth2.server.add_user()
    endpoint.on_issue.append(lambda who, token: introspection.tokens.__setitem__(token, who))
    endpoint.apps.mailboxes[APP_ID] = user
    endpoint.approve_as = user
    return dovecot_oauth2.server, user


def write_config(tmp_path, server, user, endpoint, flow="client_credentials", *, outbox=None):
    (tmp_path / "client-secret").write_text(APP_SECRET)
    client = APP_ID if flow == "client_credentials" else PUBLIC_ID
    outbox = outbox or {"kind": "file"}
    lines = ["[company]", 'admins = ["office@acme.example"]',
             "[inbox]", 'kind = "imap"', f'host = "{server.host}"', f"port = {server.port}",
             'security = "none"', f'username = "{user}"', 'auth = "oauth2"',
             "[outbox]", *(f"{k} = {json.dumps(v)}" for k, v in outbox.items()),
             "[oauth2]", 'provider = "microsoft"', f'flow = "{flow}"', f'client_id = "{client}"',
             'client_secret_file = "client-secret"', f'authority = "{endpoint.authority}"',
             'token_cache = "state/tokens.json"']
    path = tmp_path / "mailbot.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_app_builds_an_imap_source_that_signs_in_with_oauth2(mailbox, endpoint, tmp_path):
    server, user = mailbox
    uid = server.append(user, message("wired"))
    app = App(load_config(str(write_config(tmp_path, server, user, endpoint))))
    with app.source() as source:
        assert source.folder_state().keys == [str(uid)]
    assert (tmp_path / "state" / "tokens.json").exists()


def test_app_builds_an_smtp_transport_that_signs_in_with_oauth2(mailbox, endpoint, tmp_path,
                                                                 smtp_server_factory):
    server, user = mailbox
    sink = smtp_server_factory(oauth_tokens={user: "none-yet"})
    endpoint.on_issue.append(lambda who, token: sink.oauth_tokens.__setitem__(who, token))
    outbox = {"kind": "smtp", "host": sink.host, "port": sink.port, "security": "none", "username": user,
              "auth": "oauth2", "from": "certs@example.com"}
    app = App(load_config(str(write_config(tmp_path, server, user, endpoint, outbox=outbox))))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "certs@example.com", "office@example.com", "hello"
    msg.set_content("hi")
    app.transport().send(msg)
    assert sink.wait_for(1)[0].auth_user == user


def test_login_walks_through_the_device_code_and_status_shows_no_secret(mailbox, endpoint, tmp_path):
    server, user = mailbox
    path = str(write_config(tmp_path, server, user, endpoint, "device_code"))
    login = CliRunner().invoke(cli, ["--config", path, "auth", "login"])
    assert login.exit_code == 0, login.output
    assert f"{endpoint.base_url}/devicelogin" in login.output and "enter the code" in login.output
    assert f"signed in as {user}" in login.output
    result = CliRunner().invoke(cli, ["--config", path, "auth", "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["account"] == user and status["signed_in"] is True and status["warnings"] == []
    assert status["token_cache"] == str(tmp_path / "state" / "tokens.json")
    assert status["renew_by"] > status["refresh_token_issued_at"]
    for secret in [*endpoint.access_tokens, *endpoint.live, APP_SECRET]:
        assert secret not in login.output and secret not in result.output


def test_status_before_sign_in_warns_and_exits_1(mailbox, endpoint, tmp_path):
    server, user = mailbox
    path = str(write_config(tmp_path, server, user, endpoint, "device_code"))
    result = CliRunner().invoke(cli, ["--config", path, "auth", "status"])
    assert result.exit_code == 1
    assert "not signed in" in result.output and "mailbot auth login" in result.output


def test_login_without_oauth2_configured_is_a_one_line_error(tmp_path):
    path = tmp_path / "mailbot.toml"
    path.write_text('[company]\nadmins = ["office@acme.example"]\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "auth", "login"])
    assert result.exit_code == 1 and "OAuth2 is not in use" in result.output


def test_every_auth_command_has_an_example_in_its_help():
    for command in (["auth"], ["auth", "login"], ["auth", "status"]):
        result = CliRunner().invoke(cli, [*command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output
