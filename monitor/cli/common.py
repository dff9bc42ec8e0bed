"""What the command modules share: the config context and option, the error boundary, output
helpers.

Domain errors become click exceptions here and nowhere else. Exit statuses, for every command:
0 ok; 1 a check or an operation failed; 2 bad usage or a bad config (nothing is written);
130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor.config.settings import Settings, load_settings
from monitor.errors import ConfigError, MonitorError, NotFound
from monitor.store.schema import iso

if TYPE_CHECKING:
    # Loaded by the commands that print for people: `check --json` from cron starts without.
    from rich.console import Console

    from monitor.alerts.outbox import DeliveryReport
    from monitor.store.db import Store

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print JSON instead of text (for scripts)."


class UsageProblem(click.ClickException):
    """Bad usage or a bad config: exit 2, like click's own usage errors."""

    exit_code = EXIT_USAGE


ConfigProblem = UsageProblem  # the name the commands used before; both mean exit 2


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the package's exceptions into click's, with the right exit status."""
    try:
        yield
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    except NotFound as exc:
        # An id that does not exist is a wrong argument, not a failed operation.
        raise UsageProblem(str(exc)) from None
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None


def console() -> Console:
    from rich.console import Console

    # Piped output is read by scripts and pagers: wide lines rather than wrapped tables, as
    # wide as COLUMNS says (which rich reads itself) or else 120.
    columns = os.environ.get("COLUMNS", "")
    piped = not sys.stdout.isatty() and not (columns.isdigit() and int(columns) > 0)
    return Console(highlight=False, width=120 if piped else None)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


class Context:
    def __init__(self, config: str | None, *, named_by: str | None = None) -> None:
        self.explicit = False
        self.path = Path("config.toml")
        self.named_by: str | None = None  # the variable the path came from, if not --config
        self._settings: Settings | None = None
        if config is not None:
            self.use(config)
            self.named_by = named_by

    def use(self, config: str) -> None:
        """Read this config file (given with `--config`, before or after the command)."""
        self.explicit = True
        self.path = Path(config)
        self.named_by = None
        self._settings = None

    def settings(self) -> Settings:
        if self._settings is None:
            with domain_errors():
                self._settings = load_settings(self.path, named_by=self.named_by)
        return self._settings


pass_context = click.make_pass_decorator(Context)


def _take_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    found = ctx.find_object(Context)
    if found is None:
        ctx.obj = Context(value)
    else:
        found.use(value)


def config_option(command: F) -> F:
    """`--config` on a command, so that `monitor changes --config X` works as well as
    `monitor --config X changes`; the one given last wins."""
    decorator = click.option(
        "--config",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=_take_config,
        help="Config file (default ./config.toml, or $MONITOR_CONFIG).",
    )
    return decorator(command)


def paging_options(noun: str, page: int) -> Callable[[F], F]:
    """`--limit`, `--offset` and `--all` on a command whose table lists `page` of its `noun`
    at a time (its --json lists them all unless --limit)."""

    def decorate(command: F) -> F:
        options = (
            click.option(
                "--limit",
                type=click.IntRange(min=1),
                default=None,
                help=f"At most this many {noun} (default {page} as a table, all with --json).",
            ),
            click.option(
                "--offset",
                type=click.IntRange(min=0),
                default=0,
                help=f"Skip this many {noun} first.",
            ),
            click.option("--all", "show_all", is_flag=True, help=f"List all {noun} in the table."),
        )
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def page_line(noun: str, offset: int, shown: int, total: int) -> str | None:
    """The line under a table that is one page of `total` rows: which rows, and the next
    --offset; None when the table shows them all."""
    if not (offset + shown < total or offset):
        return None
    more = f"; next: --offset {offset + shown}" if offset + shown < total else ""
    return f"{noun} {offset + 1}-{offset + shown} of {total}{more} (--all lists every one)"


def require_source(settings: Settings, store: Store, source_id: str | None) -> None:
    """An unknown `--source` is a usage error (exit 2), not an empty answer. A source that was
    checked once and has since left the config still has its history: not an error."""
    if source_id is None or store.has_source(source_id):
        return
    with domain_errors():
        settings.source(source_id)


def parse_since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use an ISO date such as 2026-11-01 or 2026-11-01T12:00Z",
            param_hint="--since",
        ) from None
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def report_delivery(delivery: DeliveryReport, settings: Settings, *, stderr: bool) -> None:
    from monitor.views.summary import delivery_line

    line = delivery_line(delivery, settings.email.outbox if settings.email.host is None else None)
    if line is None:
        return
    click.echo(line, err=stderr)
    for error in delivery.errors:
        click.echo(f"  {error}", err=True)
