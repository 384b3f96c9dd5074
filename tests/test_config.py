from pathlib import Path

import pytest

from mailbot.config import load_config, parse_config
from mailbot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_example_config_loads_and_names_every_section():
    config = load_config(str(REPO / "config.example.toml"), env={})
    assert config.iicrc.renewals_address == "renewals@iicrcnet.org"
    assert config.iicrc.live is False  # a new install never sends to IICRC


def test_env_overrides_file_values_with_types():
    env = {"MAILBOT_SCHEDULE_POLL_SECONDS": "15", "MAILBOT_IICRC_LIVE": "true",
           "MAILBOT_COMPANY_ADMINS": "a@x.example, b@x.example", "MAILBOT_DATABASE_URL": "sqlite:///other.db"}
    config = parse_config({"schedule": {"poll_seconds": 60}}, env=env)
    assert config.schedule.poll_seconds == 15
    assert config.iicrc.live is True
    assert config.company.admins == ("a@x.example", "b@x.example")
    assert config.database.url == "sqlite:///other.db"


def test_outbox_from_is_spelled_from_in_the_file():
    config = parse_config({"outbox": {"from": "certs@x.example"}, "company": {"admins": ["o@x.example"]}}, env={})
    assert config.outbox.from_ == "certs@x.example"
    assert config.company_address == "certs@x.example"


@pytest.mark.parametrize("data, key", [
    ({"inbox": {"hostname": "x"}}, "inbox.hostname"),
    ({"imbox": {}}, "[imbox]"),
    ({"schedule": {"poll_seconds": "often"}}, "schedule.poll_seconds"),
    ({"inbox": {"kind": "pop3"}}, "inbox.kind"),
    ({"outbox": {"security": "tls"}}, "outbox.security"),
    ({"company": {"timezone": "Mars/Olympus"}}, "company.timezone"),
    ({"iicrc": {"live": "maybe"}}, "iicrc.live"),
    ({"inbox": {"kind": "imap"}}, "inbox.host"),
])
def test_bad_config_names_the_key(data, key):
    data.setdefault("company", {}).setdefault("admins", ["o@x.example"])
    with pytest.raises(ConfigError) as err:
        parse_config(data, env={})
    assert key in str(err.value)


def test_bad_env_value_names_the_variable():
    with pytest.raises(ConfigError, match="MAILBOT_INBOX_PORT"):
        parse_config({"company": {"admins": ["o@x.example"]}}, env={"MAILBOT_INBOX_PORT": "nine"})


def test_password_file_is_read_and_never_shown(tmp_path):
    secret = tmp_path / "imap.secret"
    secret.write_text("s3cret-pass\n")
    config = parse_config({"company": {"admins": ["o@x.example"]},
                           "inbox": {"kind": "imap", "host": "mail.x.example", "username": "certs",
                                     "password_file": str(secret)}}, env={})
    assert config.inbox.password == "s3cret-pass"
    assert "s3cret-pass" not in repr(config)


def test_not_live_without_a_test_address_or_admin_is_refused():
    with pytest.raises(ConfigError, match="iicrc.test_address"):
        parse_config({}, env={})


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.toml"), env={})


def test_every_key_is_documented_in_the_example():
    import dataclasses

    from mailbot import config as c

    text = (REPO / "config.example.toml").read_text()
    missing = [f"{name}.{f.name.rstrip('_')}" for name, cls in c._SECTION_TYPES.items()
               for f in dataclasses.fields(cls) if f"\n{f.name.rstrip('_')} " not in text]
    assert missing == []
