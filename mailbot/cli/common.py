"""What every command shares: the --config option, JSON lines output, one-line errors."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click

CONFIG_HELP = "Config file (default: $MAILBOT_CONFIG, then ./mailbot.toml, then /etc/mailbot/config.toml)."


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.find_root().meta["mailbot.config_path"] = value


def config_option() -> click.Option:
    return click.Option(["--config", "-c"], metavar="PATH", help=CONFIG_HELP, expose_value=False,
                        is_eager=True, callback=_remember_config)


class Command(click.Command):
    """A click command that also takes --config, so it may be given before or after the subcommand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(config_option())


class Group(click.Group):
    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(config_option())


Group.group_class = Group


def config_path(ctx: click.Context | None = None) -> str | None:
    ctx = ctx or click.get_current_context()
    return ctx.find_root().meta.get("mailbot.config_path")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        # hours are exact decimals; JSON numbers keep them readable (7, 3.5, 2.17)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, default=_jsonable, ensure_ascii=False, sort_keys=False)


def emit_json_lines(rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        sys.stdout.write(json_line(row) + "\n")


def fail(message: str) -> None:
    """Stop the command with a one-line error and exit code 1."""
    raise click.ClickException(message)


def load_app():  # type: ignore[no-untyped-def]
    """The App for the config given with --config (or found by the usual search)."""
    from mailbot.app import App
    from mailbot.config import load_config

    return App(load_config(config_path()))


def actor() -> str:
    """Who is acting at the terminal, for the audit trail."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli:unknown"


def parse_date(value: str, what: str = "date"):  # type: ignore[no-untyped-def]
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{what} must be YYYY-MM-DD, got {value!r}") from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):  # hours: 7, 3.5, 2.17
        return format(value.normalize(), "f")
    return str(value)


def print_table(columns: list[str], rows: Iterable[list[Any]], title: str | None = None) -> None:
    """A readable table. Cells are plain text: a name like "[bold]" is shown, never interpreted."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*columns, title=Text(title) if title else None)
    for row in rows:
        table.add_row(*(Text(_cell(cell)) for cell in row))
    Console().print(table)
