"""The `mailbot` command: a thin shell over the library. Each command group lives in its own module."""
from __future__ import annotations

import importlib
import os
import sys
import traceback

import click

from mailbot.cli.common import Group
from mailbot.errors import MailbotError

# (module, attribute) of every top-level command, in the order `mailbot --help` lists them.
COMMANDS = [
    ("mailbot.cli.demo", "demo"),
    ("mailbot.cli.daemon", "run"),
    ("mailbot.cli.daemon", "poll"),
    ("mailbot.cli.daemon", "send"),
    ("mailbot.cli.techs", "techs"),
    ("mailbot.cli.credits", "credits"),
    ("mailbot.cli.drafts", "drafts"),
    ("mailbot.cli.submissions", "submissions"),
    ("mailbot.cli.submissions", "lapses"),
    ("mailbot.cli.balances", "balances"),
    ("mailbot.cli.plan", "plan"),
    ("mailbot.cli.io", "import_"),
    ("mailbot.cli.io", "export"),
    ("mailbot.cli.reports", "audit_pack"),
    ("mailbot.cli.reports", "calendar"),
    ("mailbot.cli.reports", "coverage"),
    ("mailbot.cli.digest", "digest"),
    ("mailbot.cli.review", "review"),
    ("mailbot.cli.mail", "mail"),
    ("mailbot.cli.extract", "extract"),
    ("mailbot.cli.ops", "status"),
    ("mailbot.cli.ops", "check"),
    ("mailbot.cli.auth", "auth"),
    ("mailbot.cli.db", "db"),
]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mailbot")
def cli() -> None:
    """mailbot turns the company inbox into an IICRC continuing-education desk.

    Technicians forward certificates to one address; mailbot records the hours, drafts the
    submission to IICRC for an admin to approve, and sends it once approved.

    \b
    Example:
      mailbot demo                 # see the whole flow in a throwaway workspace
      mailbot --config /etc/mailbot/config.toml poll --once
    """


def _register() -> None:
    for module_name, attr in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # a command module not written yet
                continue
            raise
        cli.add_command(getattr(module, attr))


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: ClickException → its code, MailbotError → 1, anything else → 1 with one line."""
    try:
        rv = cli.main(args=argv, prog_name="mailbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:  # UsageError has exit_code 2
        exc.show()
        sys.exit(exc.exit_code)
    except MailbotError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the CLI boundary: one line, not a traceback
        if os.environ.get("MAILBOT_DEBUG"):
            traceback.print_exc()
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} (set MAILBOT_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
