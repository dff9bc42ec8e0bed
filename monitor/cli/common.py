"""What the command modules share: the config context, the error boundary, output helpers.

Domain errors become click exceptions here and nowhere else: exit 2 for bad usage or config,
1 for a failure to read a capture or a failed check.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.config.settings import Settings, load_settings
from monitor.errors import ConfigError, MonitorError, NotFound
from monitor.store.schema import iso

if TYPE_CHECKING:
    # Loaded by the commands that print for people: `check --json` from cron starts without.
    from rich.console import Console

    from monitor.alerts.outbox import DeliveryReport


class ConfigProblem(click.ClickException):
    exit_code = 2


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the package's exceptions into click's, with the right exit status."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None


def console() -> Console:
    from rich.console import Console

    # Piped output is read by scripts and pagers: wide lines rather than wrapped tables.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


class Context:
    def __init__(self, config: str | None) -> None:
        self.explicit = config is not None
        self.path = Path(config or "config.toml")
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            with domain_errors():
                self._settings = load_settings(self.path)
        return self._settings


pass_context = click.make_pass_decorator(Context)


def report_delivery(delivery: DeliveryReport, settings: Settings, *, stderr: bool) -> None:
    if not (delivery.sent or delivery.failed or delivery.deferred):
        return
    where = f" to {settings.email.outbox}" if settings.email.host is None else ""
    line = f"alerts: {delivery.sent} sent{where}"
    if delivery.deferred:
        line += f", {delivery.deferred} waiting to be retried"
    if delivery.failed:
        line += f", {delivery.failed} failed (see `monitor alerts --failed`)"
    click.echo(line, err=stderr)
    for error in delivery.errors:
        click.echo(f"  {error}", err=True)


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
