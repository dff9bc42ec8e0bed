"""The commands of the running service and its upkeep: `run`, `status`, `gc`, `alerts`,
`test-email`. Registered on the group by `cli.main`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

import click

from monitor.app import open_app, open_store
from monitor.cli.common import (
    EXIT_FAILED,
    JSON_HELP,
    Context,
    UsageProblem,
    config_option,
    console,
    domain_errors,
    echo_json,
    page_line,
    paging_options,
    pass_context,
    report_delivery,
)
from monitor.store.schema import iso

# How many alerts the table shows unless asked for more (`--limit`, `--all`).
ALERTS_PAGE = 100

# Sources listed by `status` unless asked for more: a table of 100,000 rows helps nobody.
STATUS_PAGE = 100


@click.command("run", short_help="The background service: check every source on schedule.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Least important log lines to write (info: one line per check).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr as text, or as JSON objects one per line.",
)
@config_option
@pass_context
def run_cmd(ctx: Context, log_level: str, log_format: str) -> None:
    """The background service: check every source on its schedule until stopped.

    SIGTERM or Ctrl-C lets the checks in flight finish and exits 0; SIGHUP reloads the config.
    """
    from monitor.logs import configure
    from monitor.service.runner import Service

    settings = ctx.settings()
    service = Service(ctx.path, settings, open_app=open_app, log=configure(log_level, log_format))
    with domain_errors():
        code = service.run()
    if service.abandoned:
        # Threads still inside a check would keep the interpreter alive; every write is
        # transactional, so leaving now loses nothing that was committed.
        os._exit(code)
    sys.exit(code)


@click.command("status", short_help="Is the service up, and how is each source doing?")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option(
    "--service",
    "service_only",
    is_flag=True,
    help="Only whether the service works: exit 0 if its heartbeat is fresh and not every "
    "worker holds a stuck check, else 1, whatever the watched sites do. For Docker's and "
    "systemd's health checks.",
)
@paging_options("sources", STATUS_PAGE)
@config_option
@pass_context
def status_cmd(
    ctx: Context,
    as_json: bool,
    service_only: bool,
    limit: int | None,
    offset: int,
    show_all: bool,
) -> None:
    """Is the service up, and how is each source doing? Exit 1 if the service is down, a
    source is failing, a check is stuck (running past the longest a check may take) or
    overdue (the service runs but has not checked a source by its due time plus that bound:
    checks that cannot keep up); `--service` asks only whether the service works.

    The table lists the first 100 sources (--limit, --offset, --all for more); the counts and
    the exit status cover every source.
    """
    import monitor.views.terminal as report
    from monitor.views.status import status

    settings = ctx.settings()
    if limit is None and not (as_json or show_all):
        limit = STATUS_PAGE
    with domain_errors(), open_store(settings, create=False) as store:
        state = status(
            store, settings, datetime.now(UTC), limit=0 if service_only else limit, offset=offset
        )
    if service_only:
        # A site that is down is the publisher's outage, not ours: a health check that failed
        # on it would have the container restarted for nothing.
        # Every worker stuck is another matter: the service checks nothing until restarted.
        if as_json:
            echo_json(
                {
                    "alive": state.alive,
                    "working": state.working,
                    "stuck": state.stuck,
                    "workers": state.workers,
                    "pid": state.pid,
                    "heartbeat_at": state.heartbeat_at,
                }
            )
        else:
            beat = f"last heartbeat {state.heartbeat_at}" if state.heartbeat_at else "no heartbeat"
            if state.stalled:
                click.echo(
                    f"service stalled: all {state.workers} workers hold a stuck check ({beat})"
                )
            else:
                click.echo(f"service {'up' if state.alive else 'down'} ({beat})")
        sys.exit(0 if state.working else EXIT_FAILED)
    if as_json:
        echo_json(state.to_json())
    else:
        report.print_status(console(), state)
    sys.exit(0 if state.healthy else EXIT_FAILED)


@click.command("gc", short_help="Delete checks older than keep_checks.")
@config_option
@pass_context
def gc_cmd(ctx: Context) -> None:
    """Delete checks older than keep_checks (versions and changes are kept)."""
    from datetime import timedelta

    from monitor.store.heartbeat import prune_checks

    settings = ctx.settings()
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.monitor.keep_checks)
    with domain_errors(), open_store(settings, create=False) as store:
        deleted = prune_checks(store, cutoff)
    click.echo(f"deleted {deleted} checks older than {iso(cutoff)}")


@click.command("alerts", short_help="The alert outbox: sent, waiting, failed.")
@click.option("--pending", is_flag=True, help="Only alerts waiting to be sent.")
@click.option("--failed", is_flag=True, help="Only alerts that gave up.")
@click.option("--retry", is_flag=True, help="Requeue failed alerts and try to send them now.")
@paging_options("alerts", ALERTS_PAGE)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@config_option
@pass_context
def alerts_cmd(
    ctx: Context,
    pending: bool,
    failed: bool,
    retry: bool,
    limit: int | None,
    offset: int,
    show_all: bool,
    as_json: bool,
) -> None:
    """The alert outbox: what was sent, what waits, what failed, newest first.

    The table lists the newest 100 (--limit, --offset, --all for more)."""
    if pending and failed:
        raise UsageProblem("--pending and --failed exclude each other; give one, or neither")
    status = "pending" if pending else "failed" if failed else None
    import monitor.views.terminal as report
    from monitor.alerts.outbox import count_alerts, list_alerts, requeue_failed

    if limit is None and not (as_json or show_all):
        limit = ALERTS_PAGE
    total = 0
    settings = ctx.settings()
    with domain_errors(), open_app(settings, create=retry) as app:
        if retry:
            requeued = requeue_failed(app.store, datetime.now(UTC))
            click.echo(f"requeued {requeued} failed alerts", err=as_json)
            report_delivery(app.sender.deliver(), settings, stderr=as_json)
        rows = list_alerts(app.store, status, limit=limit, offset=offset)
        if not as_json and (offset or len(rows) == limit):
            total = count_alerts(app.store, status)
    if as_json:
        echo_json([r.to_json() for r in rows])
    elif rows:
        console().print(report.alerts_table(rows))
        # A table cut short says so: the newest page is not the whole outbox.
        if line := page_line("alerts", offset, len(rows), total):
            click.echo(line)
    else:
        click.echo(f"no {status or ''} alerts".replace("  ", " "))


@click.command("test-email", short_help="Send one test message; show the server's answer.")
@click.option("--to", "recipient", help="Send here instead of the first of [email].to.")
@config_option
@pass_context
def test_email_cmd(ctx: Context, recipient: str | None) -> None:
    """Send one message through the configured transport and show the server's answer."""
    from email.utils import make_msgid

    from monitor.alerts.mailer import build_message, build_transport
    from monitor.config.settings import check_address
    from monitor.errors import DeliveryError

    if recipient is not None:
        with domain_errors():
            check_address(recipient, "--to")
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


COMMANDS = (run_cmd, status_cmd, gc_cmd, alerts_cmd, test_email_cmd)
