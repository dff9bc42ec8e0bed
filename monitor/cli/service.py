"""The commands of the running service and of what it produces: `run`, `status`, `gc`,
`alerts`, `test-email`, `report`, `feed`, `serve`. Registered on the group by `cli`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from monitor.app import open_app, open_store
from monitor.cli.common import (
    Context,
    console,
    domain_errors,
    echo_json,
    parse_since,
    pass_context,
    report_delivery,
)


@click.command("run")
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
    from monitor.logs import configure
    from monitor.service.runner import Service

    settings = ctx.settings()
    service = Service(ctx.path, settings, log=configure(log_level, log_format))
    with domain_errors():
        code = service.run()
    if service.abandoned:
        # Threads still inside a check would keep the interpreter alive; every write is
        # transactional, so leaving now loses nothing that was committed.
        os._exit(code)
    sys.exit(code)


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def status_cmd(ctx: Context, as_json: bool) -> None:
    """Is the service up, and how is each source doing? Exit 1 if down or a source is failing."""
    import monitor.views.terminal as report
    from monitor.views.status import status

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        state = status(store, settings, datetime.now(UTC))
    if as_json:
        echo_json(state.to_json())
    else:
        report.print_status(console(), state)
    sys.exit(0 if state.healthy else 1)


@click.command("gc")
@pass_context
def gc_cmd(ctx: Context) -> None:
    """Delete checks older than keep_checks (versions and changes are kept)."""
    from datetime import timedelta

    from monitor.views.status import prune_checks

    settings = ctx.settings()
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.monitor.keep_checks)
    with domain_errors(), open_store(settings) as store:
        deleted = prune_checks(store, cutoff)
    click.echo(f"deleted {deleted} checks older than {cutoff:%Y-%m-%d %H:%M}Z")


@click.command("alerts")
@click.option("--pending", "status", flag_value="pending", help="Only alerts waiting to be sent.")
@click.option("--failed", "status", flag_value="failed", help="Only alerts that gave up.")
@click.option("--retry", is_flag=True, help="Requeue failed alerts and try to send them now.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def alerts_cmd(ctx: Context, status: str | None, retry: bool, as_json: bool) -> None:
    """The alert outbox: what was sent, what waits, what failed."""
    import monitor.views.terminal as report
    from monitor.alerts.outbox import list_alerts, requeue_failed

    settings = ctx.settings()
    with domain_errors(), open_app(settings) as app:
        if retry:
            requeued = requeue_failed(app.store, datetime.now(UTC))
            click.echo(f"requeued {requeued} failed alerts", err=as_json)
            report_delivery(app.sender.deliver(), settings, stderr=as_json)
        rows = list_alerts(app.store, status)
    if as_json:
        echo_json([r.to_json() for r in rows])
    elif rows:
        console().print(report.alerts_table(rows))
    else:
        click.echo(f"no {status or ''} alerts".replace("  ", " "))


@click.command("test-email")
@click.option("--to", "recipient", help="Send here instead of [email].to.")
@pass_context
def test_email_cmd(ctx: Context, recipient: str | None) -> None:
    """Send one message through the configured transport and show the server's answer."""
    from email.utils import make_msgid

    from monitor.alerts.mailer import build_message, build_transport
    from monitor.errors import DeliveryError

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


@click.command("report")
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
    from monitor.views.html_report import build_report, write_report

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        html = build_report(
            store,
            now=datetime.now(UTC),
            source_id=source_id,
            since=parse_since(since),
            report_url=settings.email.report_url,
        )
    if output == "-":
        click.echo(html)
        return
    write_report(Path(output), html)
    click.echo(f"wrote {output}")


@click.command("feed")
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
    from monitor.views.feed import build_feed

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


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True)
@pass_context
def serve_cmd(ctx: Context, host: str, port: int) -> None:
    """A small read-only web UI (marking a change reviewed is the only write)."""
    import uvicorn

    from monitor.views.web import TOKEN_ENV, check_binding, create_app

    settings = ctx.settings()
    token = os.environ.get(TOKEN_ENV) or None
    with domain_errors():
        check_binding(host, token)
    app = create_app(settings.monitor.database, token=token, report_url=settings.email.report_url)
    uvicorn.run(app, host=host, port=port, log_level="warning")


COMMANDS = (
    run_cmd,
    status_cmd,
    gc_cmd,
    alerts_cmd,
    test_email_cmd,
    report_cmd,
    feed_cmd,
    serve_cmd,
)
