"""The parts of OAuth2 sign-in that need no provider: warnings, the token cache file, the [oauth2] config."""
from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.auth import auth_warnings, settings_from_config, token_function
from mailbot.auth.store import TokenStore
from mailbot.auth.tokens import Settings, build_warnings
from mailbot.config import parse_config
from mailbot.errors import ConfigError

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DELEGATED = Settings(provider="microsoft", flow="device_code", account="certs@acme.example", client_id="app")
APP_ONLY = Settings(provider="microsoft", flow="client_credentials", account="certs@acme.example")


def config(tmp_path: Path, oauth2: dict, **inbox):
    data = {"company": {"admins": ["office@acme.example"]},
            "inbox": {"kind": "imap", "host": "imap.acme.example", "username": "certs@acme.example",
                      "auth": "oauth2", **inbox},
            "oauth2": oauth2}
    return parse_config(data, env={}, base_dir=tmp_path)


# -- warnings (pure) -----------------------------------------------------------------------------------

def test_refresh_token_warning_starts_seven_days_before_its_lifetime_ends():
    issued = NOW - timedelta(days=90 - 8)
    assert build_warnings(DELEGATED, {"refresh_token_issued_at": issued.isoformat()}, NOW) == []
    issued = NOW - timedelta(days=90 - 7)
    [warning] = build_warnings(DELEGATED, {"refresh_token_issued_at": issued.isoformat()}, NOW)
    assert "certs@acme.example" in warning and "expires in 7 day(s)" in warning
    assert "2026-06-08" in warning and "mailbot auth login" in warning


def test_lifetime_is_configurable_and_an_ended_token_says_so():
    short = Settings(**{**DELEGATED.__dict__, "refresh_token_days": 30})
    issued = (NOW - timedelta(days=31)).isoformat()
    [warning] = build_warnings(short, {"refresh_token_issued_at": issued}, NOW)
    assert "has expired" in warning


def test_failed_refresh_warns_at_once_and_says_whether_it_retries():
    permanent = {"last_failure": {"at": "t", "reason": "invalid_grant: revoked", "permanent": True}}
    transient = {"last_failure": {"at": "t", "reason": "cannot reach the provider", "permanent": False},
                 "refresh_token_issued_at": NOW.isoformat()}
    [hard] = build_warnings(DELEGATED, permanent, NOW)
    [soft] = build_warnings(DELEGATED, transient, NOW)
    assert "invalid_grant" in hard and "mailbot auth login" in hard
    assert "will retry" in soft and "mailbot auth login" not in soft


def test_app_only_flows_have_no_refresh_token_to_warn_about():
    assert build_warnings(APP_ONLY, {}, NOW) == []
    [warning] = build_warnings(DELEGATED, {}, NOW)
    assert "not signed in" in warning


# -- the token cache file ------------------------------------------------------------------------------

def test_store_writes_mode_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        TokenStore(tmp_path / "cache" / "tokens.json").save({"cache": "x"})
    finally:
        os.umask(old)
    path = tmp_path / "cache" / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenStore(path).load() == {"cache": "x"}


def test_failed_write_leaves_the_previous_tokens_intact(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    store.save({"cache": "rotated-1"})
    with pytest.raises(TypeError):
        store.save({"cache": object()})  # not JSON: fails half-way through writing
    assert store.load() == {"cache": "rotated-1"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_readable_cache_is_tightened_and_a_corrupt_one_is_a_clear_error(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"cache": "x"}))
    path.chmod(0o644)
    assert TokenStore(path).load() == {"cache": "x"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("{half")
    with pytest.raises(ConfigError, match="mailbot auth login"):
        TokenStore(path).load()


# -- config ----------------------------------------------------------------------------------------------

def test_defaults_per_provider_and_secret_from_file(tmp_path):
    (tmp_path / "secret").write_text("s3cret-from-file\n")
    settings = settings_from_config(config(tmp_path, {"provider": "microsoft", "tenant": "acme", "client_id": "a",
                                                      "client_secret_file": "secret"}))
    assert settings.flow == "client_credentials" and settings.client_secret == "s3cret-from-file"
    assert settings.account == "certs@acme.example" and settings.token_cache == tmp_path / "oauth2-tokens.json"
    google = settings_from_config(config(tmp_path, {"provider": "google", "service_account_file": "key.json",
                                                    "subject": "certs@acme.example"}))
    assert google.flow == "service_account" and google.service_account_file == tmp_path / "key.json"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(("oauth2", "key"), [
    ({"provider": "microsoft", "client_id": "a", "tenant": "t"}, "oauth2.client_secret"),
    ({"provider": "microsoft", "flow": "service_account"}, "oauth2.flow"),
    ({"provider": "google", "flow": "installed_app", "client_id": "a"}, "oauth2.client_secret"),
    ({"provider": "google"}, "oauth2.service_account_file"),
    ({"provider": "microsoft", "flow": "device_code", "client_id": "a", "refresh_token_days": 0},
     "oauth2.refresh_token_days"),
])
def test_incomplete_oauth2_section_names_the_key(tmp_path, oauth2, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        settings_from_config(config(tmp_path, oauth2))


def test_oauth2_auth_needs_a_provider_and_password_auth_ignores_the_section(tmp_path):
    with pytest.raises(ConfigError, match="oauth2.provider"):
        config(tmp_path, {})
    with pytest.raises(ConfigError, match="inbox.auth"):
        config(tmp_path, {}, auth="token")
    plain = config(tmp_path, {}, auth="password")
    assert token_function(plain, plain.inbox.auth) is None
    assert auth_warnings(App(plain)) == []


def test_auth_warnings_for_a_delegated_account_never_signed_in(tmp_path):
    app = App(config(tmp_path, {"provider": "microsoft", "flow": "device_code", "client_id": "a"}),
              clock=lambda: NOW)
    [warning] = auth_warnings(app)
    assert "certs@acme.example" in warning and "not signed in" in warning


def test_a_cache_written_by_root_belongs_to_the_owner_of_the_state_folder(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (as `mailbot auth login` run by an admin would be)")
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 65534, 65534)  # the daemon's user (systemd StateDirectory=)
    store = TokenStore(state / "tokens.json")
    with store.locked():
        store.save({"cache": "x"})
    for path in (state / "tokens.json", state / "tokens.json.lock"):
        assert (path.stat().st_uid, stat.S_IMODE(path.stat().st_mode)) == (65534, 0o600)


def test_an_unwritable_cache_is_a_permanent_error_naming_the_key(tmp_path):
    from mailbot.auth.microsoft import MicrosoftProvider
    from mailbot.errors import ProcessingError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = Settings(**{**APP_ONLY.__dict__, "token_cache": blocker / "tokens.json"})
    with pytest.raises(ProcessingError) as failed:
        MicrosoftProvider(settings).token()
    assert failed.value.permanent is True and "oauth2.token_cache" in str(failed.value)
    assert "certs@acme.example" in str(failed.value)


def test_auth_warnings_are_logged_once_while_they_last(tmp_path, caplog):
    app = App(config(tmp_path, {"provider": "microsoft", "flow": "device_code", "client_id": "b"}),
              clock=lambda: NOW)
    with caplog.at_level("WARNING", logger="mailbot.auth"):
        first, second = auth_warnings(app), auth_warnings(app)
    assert first == second and len(first) == 1
    assert [r.getMessage() for r in caplog.records] == [f"oauth2 warning: {first[0]}"]
