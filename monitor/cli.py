"""The command line: parse options, call one function of the package, format the result.

Domain errors become click exceptions here and nowhere else: exit 2 for bad usage or config,
1 for a failure to read a capture or a failed check.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .app import open_app, open_fetcher, open_store
from .check import CheckResult
from .compare import KINDS, compare
from .config import ExtractRules, Settings, default_settings, load_settings
from .diff import render_plain
from .errors import CaptureError, ConfigError, MonitorError, NotFound
from .extract import extract

if TYPE_CHECKING:
    # Loaded by the commands that print for people: `check --json` from cron starts without.
    from rich.console import Console

    from .alerts import DeliveryReport

F = TypeVar("F", bound=Callable[..., Any])


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


def _console() -> Console:
    from rich.console import Console

    # Piped output is read by scripts and pagers: wide lines rather than wrapped tables.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _echo_json(data: Any) -> None:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    envvar="MONITOR_CONFIG",
    type=click.Path(dir_okay=False),
    help="Config file (default ./config.toml, or $MONITOR_CONFIG).",
)
@click.version_option(package_name="monitor")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Watch paywalled article pages and report every change to teaser, paywall notice,
    description and access state, with word-level diffs."""
    ctx.obj = Context(config)


@cli.command("compare")
@click.argument("old")
@click.argument("new")
@click.option("--source", "source_id", help="Use this configured source's extraction rules.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_context
def compare_cmd(ctx: Context, old: str, new: str, source_id: str | None, as_json: bool) -> None:
    """Compare two captures (files or URLs) with no database."""
    from . import report

    use_config = ctx.explicit or ctx.path.exists() or source_id is not None
    settings = ctx.settings() if use_config else default_settings()
    with domain_errors():
        rules = settings.source(source_id).extract if source_id else ExtractRules()
    with open_fetcher(settings) as fetcher:
        try:
            before = extract(fetcher.fetch(old), rules)
            after = extract(fetcher.fetch(new), rules)
        except CaptureError as exc:
            raise click.ClickException(f"cannot read capture: {exc}") from None
    comparison = compare(before, after)
    if as_json:
        _echo_json(comparison.to_json())
    else:
        report.print_comparison(_console(), comparison, old, new)


@cli.command("check")
@click.argument("sources", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Fetch and compare, store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per source.")
@pass_context
def check_cmd(ctx: Context, sources: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Check sources now, once (all of them, or the ones named)."""
    settings = ctx.settings()
    with domain_errors():
        chosen = [settings.source(s) for s in dict.fromkeys(sources)] or list(settings.sources)
    if not chosen:
        raise ConfigProblem(f"{settings.path}: no [[source]] configured; add one to check")
    show_progress = not as_json and sys.stderr.isatty()
    with domain_errors(), open_app(settings) as app:
        sending = nullcontext(None) if dry_run else app.sender.delivering()
        with sending as delivery, _progress(show_progress, len(chosen)) as step:
            results = app.checker.check(chosen, dry_run=dry_run, on_result=step)
    if as_json:
        _echo_json([r.to_json() for r in results])
    else:
        from . import report

        report.print_results(_console(), results)
    if delivery is not None:
        _report_delivery(delivery, settings, stderr=as_json)
    if any(r.outcome == "error" for r in results):
        sys.exit(1)


def _report_delivery(delivery: DeliveryReport, settings: Settings, *, stderr: bool) -> None:
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


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[CheckResult], None]]:
    if not enabled:
        yield lambda result: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("check", total=total)
        yield lambda result: progress.advance(task)


@cli.command("history")
@click.argument("source_id", metavar="SOURCE")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def history_cmd(ctx: Context, source_id: str, as_json: bool) -> None:
    """Every distinct version of a source, and the changes between them."""
    from . import report

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        if source_id not in store.known_sources():
            settings.source(source_id)  # a configured source not yet checked is no error
        versions = store.versions(source_id)
        changes = store.changes(source_id=source_id)
    if as_json:
        _echo_json(
            {
                "source": source_id,
                "versions": [
                    {
                        "id": v.id,
                        "first_seen": v.first_seen,
                        "last_seen": v.last_seen,
                        "access": v.regions.access,
                        "origin": v.origin,
                        "fingerprint": v.fingerprint,
                    }
                    for v in versions
                ],
                "changes": [c.to_json() for c in changes],
            }
        )
        return
    if not versions:
        click.echo(f"{source_id}: no versions stored yet; run `monitor check {source_id}`")
        return
    _console().print(report.history_table(versions, changes))


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use an ISO date such as 2026-11-01 or 2026-11-01T12:00Z",
            param_hint="--since",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@cli.command("changes")
@click.option("--source", "source_id", help="Only this source.")
@click.option("--kind", type=click.Choice(KINDS), help="Only changes of this kind.")
@click.option("--since", help="Only changes detected at or after this date (ISO 8601).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def changes_cmd(
    ctx: Context,
    source_id: str | None,
    kind: str | None,
    since: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List detected changes, newest first."""
    from . import report

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        rows = store.changes(source_id=source_id, kind=kind, since=_since(since), limit=limit)
    if as_json:
        _echo_json([r.to_json() for r in rows])
    elif rows:
        _console().print(report.changes_table(rows))
    else:
        click.echo("no changes")


@cli.command("show")
@click.argument("change_id", type=int)
@click.option("--full", is_flag=True, help="Diff the whole regions, not only around the edits.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show_cmd(ctx: Context, change_id: int, full: bool, as_json: bool) -> None:
    """One change: what changed and the word diff (colour on a terminal)."""
    from . import report

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        change = store.change(change_id)
        before = store.version(change.from_version_id)
        after = store.version(change.to_version_id)
    url = next((s.url for s in settings.sources if s.id == change.source_id), None)
    if as_json:
        data = change.to_json()
        data["url"] = url
        data["regions"] = {
            name: {
                "before": getattr(before.regions, name),
                "after": getattr(after.regions, name),
                "diff": render_plain(segments),
            }
            for name, segments in change.diff.items()
        }
        _echo_json(data)
        return
    report.print_change(_console(), change, url, before, after, full=full)


@cli.command("run")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_context
def run_cmd(ctx: Context, log_level: str, log_format: str) -> None:
    """The background service: check every source on its schedule until stopped."""
    from .logs import configure
    from .service import Service

    settings = ctx.settings()
    service = Service(ctx.path, settings, log=configure(log_level, log_format))
    with domain_errors():
        code = service.run()
    if service.abandoned:
        # Threads still inside a check would keep the interpreter alive; every write is
        # transactional, so leaving now loses nothing that was committed.
        os._exit(code)
    sys.exit(code)


@cli.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def status_cmd(ctx: Context, as_json: bool) -> None:
    """Is the service up, and how is each source doing? Exit 1 if down or a source is failing."""
    from . import report
    from .health import status

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        state = status(store, settings, datetime.now(UTC))
    if as_json:
        _echo_json(state.to_json())
    else:
        report.print_status(_console(), state)
    sys.exit(0 if state.healthy else 1)


@cli.command("gc")
@pass_context
def gc_cmd(ctx: Context) -> None:
    """Delete checks older than keep_checks (versions and changes are kept)."""
    from datetime import timedelta

    from .health import prune_checks

    settings = ctx.settings()
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.monitor.keep_checks)
    with domain_errors(), open_store(settings) as store:
        deleted = prune_checks(store, cutoff)
    click.echo(f"deleted {deleted} checks older than {cutoff:%Y-%m-%d %H:%M}Z")


@cli.command("alerts")
@click.option("--pending", "status", flag_value="pending", help="Only alerts waiting to be sent.")
@click.option("--failed", "status", flag_value="failed", help="Only alerts that gave up.")
@click.option("--retry", is_flag=True, help="Requeue failed alerts and try to send them now.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def alerts_cmd(ctx: Context, status: str | None, retry: bool, as_json: bool) -> None:
    """The alert outbox: what was sent, what waits, what failed."""
    from . import report
    from .alerts import list_alerts, requeue_failed

    settings = ctx.settings()
    with domain_errors(), open_app(settings) as app:
        if retry:
            requeued = requeue_failed(app.store, datetime.now(UTC))
            click.echo(f"requeued {requeued} failed alerts", err=as_json)
            _report_delivery(app.sender.deliver(), settings, stderr=as_json)
        rows = list_alerts(app.store, status)
    if as_json:
        _echo_json([r.to_json() for r in rows])
    elif rows:
        _console().print(report.alerts_table(rows))
    else:
        click.echo(f"no {status or ''} alerts".replace("  ", " "))


@cli.command("test-email")
@click.option("--to", "recipient", help="Send here instead of [email].to.")
@pass_context
def test_email_cmd(ctx: Context, recipient: str | None) -> None:
    """Send one message through the configured transport and show the server's answer."""
    from email.utils import make_msgid

    from .errors import DeliveryError
    from .mailer import build_message, build_transport

    settings = ctx.settings()
    email = settings.email
    to = recipient or (email.to[0] if email.to else email.sender)
    message = build_message(
        sender=email.sender,
        recipient=to,
        subject="monitor test message",
        text="This is a test message from monitor: mail delivery works.",
        html="<p>This is a test message from <b>monitor</b>: mail delivery works.</p>",
        message_id=make_msgid("monitor-test", email.sender.rpartition("@")[2] or None),
    )
    transport = build_transport(email)
    try:
        answer = transport.send(message, to)
    except DeliveryError as exc:
        raise click.ClickException(f"not delivered to {to}: {exc}") from None
    finally:
        transport.close()
    click.echo(f"delivered to {to}: {answer}")


@cli.command("report")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="Where to write the HTML file ('-' for stdout).",
)
@click.option("--source", "source_id", help="Only this source.")
@click.option("--since", help="Only changes detected at or after this date (ISO 8601).")
@pass_context
def report_cmd(ctx: Context, output: str, source_id: str | None, since: str | None) -> None:
    """One self-contained HTML file: sources, then every change with its word diffs."""
    from .htmlreport import build_report, write_report

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        html = build_report(
            store,
            now=datetime.now(UTC),
            source_id=source_id,
            since=_since(since),
            report_url=settings.email.report_url,
        )
    if output == "-":
        click.echo(html)
        return
    write_report(Path(output), html)
    click.echo(f"wrote {output}")


@cli.command("feed")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default="-",
    show_default=True,
    help="Where to write the Atom feed ('-' for stdout).",
)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@pass_context
def feed_cmd(ctx: Context, output: str, limit: int) -> None:
    """The changes as an Atom feed."""
    from .feed import build_feed

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        body = build_feed(
            store, now=datetime.now(UTC), limit=limit, report_url=settings.email.report_url
        )
    if output == "-":
        sys.stdout.buffer.write(body)
    else:
        Path(output).write_bytes(body)
        click.echo(f"wrote {output}")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True)
@pass_context
def serve_cmd(ctx: Context, host: str, port: int) -> None:
    """A small read-only web UI (marking a change reviewed is the only write)."""
    import uvicorn

    from .web import TOKEN_ENV, check_binding, create_app

    settings = ctx.settings()
    token = os.environ.get(TOKEN_ENV) or None
    with domain_errors():
        check_binding(host, token)
    app = create_app(settings.monitor.database, token=token, report_url=settings.email.report_url)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@cli.command("demo")
@click.option(
    "--dir", "folder", type=click.Path(file_okay=False), help="Keep the demo's files here."
)
def demo_cmd(folder: str | None) -> None:
    """The whole loop offline: a loopback server with the seed articles, edits, reports."""
    from .demo import run_demo

    with domain_errors():
        run_demo(_console(), Path(folder) if folder else None)


def main() -> None:
    cli(prog_name="monitor")


if __name__ == "__main__":  # pragma: no cover
    main()
