"""mailbot auth login / status: OAuth2 sign-in for the mailbox (Microsoft 365 or Google), from a terminal."""
from __future__ import annotations

from typing import Any

import click

from mailbot.cli.common import Group, fail, json_line, load_app


class TerminalPrompt:
    """LoginPrompt on the terminal: instructions on stdout, the pasted answer from stdin."""

    def show(self, text: str) -> None:
        click.echo(text)

    def ask(self, text: str) -> str:
        return click.prompt(text, prompt_suffix=": ", default="", show_default=False)


def _provider():  # type: ignore[no-untyped-def]
    from mailbot.auth import oauth2_in_use, provider_from_config

    app = load_app()
    if not oauth2_in_use(app.config):
        fail('OAuth2 is not in use: set inbox.auth = "oauth2" (and/or outbox.auth) and fill [oauth2] '
             "(see config.example.toml)")
    return provider_from_config(app.config, clock=app.clock)


def _status_fields(status: Any, token_cache: Any) -> dict[str, Any]:
    return {"account": status.account, "provider": status.provider, "flow": status.flow,
            "token_cache": str(token_cache), "signed_in": status.signed_in, "access_token_expires_at": status.access_expires_at,
            "refresh_token_issued_at": status.refresh_token_issued_at, "renew_by": status.renew_by,
            "last_failure": status.last_failure, "warnings": list(status.warnings)}


def _show(status: Any, token_cache: Any) -> None:
    for key, value in _status_fields(status, token_cache).items():
        if key == "warnings" or value is None:
            continue
        click.echo(f"{key.replace('_', ' ')}: {value}")
    for warning in status.warnings:
        click.echo(f"warning: {warning}")


@click.group(cls=Group)
def auth() -> None:
    """OAuth2 sign-in for IMAP and SMTP (Microsoft 365, Google Workspace).

    \b
    Example:
      mailbot auth login
      mailbot auth status --json
    """


@auth.command()
def login() -> None:
    """Sign in and store the tokens (device code / browser code), or check app-only credentials.

    Microsoft device_code: prints an address and a code to enter there, then waits.
    Google installed_app: prints an address; paste back the address the browser ends on.
    client_credentials and service_account need no person: this fetches a token to prove they work.

    \b
    Example:
      mailbot --config /etc/mailbot/config.toml auth login
    """
    provider = _provider()
    status = provider.login(TerminalPrompt())
    click.echo(f"✓ signed in as {status.account} ({status.provider}, {status.flow}); "
               f"tokens stored in {provider.store.path}")
    _show(status, provider.store.path)


@auth.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(as_json: bool) -> None:
    """The account, token expiry and warnings (never a token). Exit 1 when a warning needs action.

    \b
    Example:
      mailbot auth status --json
    """
    provider = _provider()
    state = provider.status()
    if as_json:
        click.echo(json_line(_status_fields(state, provider.store.path)))
    else:
        _show(state, provider.store.path)
    if state.warnings:
        raise SystemExit(1)
