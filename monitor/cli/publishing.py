"""The commands that show the stored changes to others: `report` (an HTML file), `feed` (Atom)
and `serve` (the web UI)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click

from monitor.app import open_store
from monitor.cli.common import (
    Context,
    UsageProblem,
    config_option,
    domain_errors,
    parse_since,
    pass_context,
    require_source,
)


def _output(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An --output whose folder does not exist is a usage error naming it, as a folder given
    for the file is: a mistyped path is not taken as a wish for new folders."""
    if value is None or value == "-":
        return value
    folder = Path(value).parent
    if not folder.is_dir():
        raise click.BadParameter(f"{value!r}: folder {str(folder)!r} does not exist")
    return value


@click.command("report", short_help="One self-contained HTML file of sources and changes.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    callback=_output,
    help="Where to write the HTML file ('-' for stdout; default: report.html beside the database).",
)
@click.option("--source", "source_id", help="Only this source (a configured id).")
@click.option("--since", help="Only changes detected at or after this date (ISO 8601).")
@config_option
@pass_context
def report_cmd(ctx: Context, output: str | None, source_id: str | None, since: str | None) -> None:
    """One self-contained HTML file: sources, then every change with its word diffs. It opens
    from file:// and loads nothing from the network."""
    from monitor.views.html_report import build_report, write_report

    settings = ctx.settings()
    with domain_errors(), open_store(settings, create=False) as store:
        require_source(settings, store, source_id)
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
    # Beside the database, not in whatever folder the command runs from (often a checkout).
    path = Path(output) if output else settings.monitor.database.parent / "report.html"
    try:
        write_report(path, html)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {path}; open it in a browser: {path.resolve().as_uri()}")


@click.command("feed", short_help="The changes as an Atom feed (stdout by default).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default="-",
    show_default=True,
    callback=_output,
    help="Where to write the Atom feed ('-' for stdout).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="The newest this many changes.",
)
@config_option
@pass_context
def feed_cmd(ctx: Context, output: str, limit: int) -> None:
    """The changes as an Atom feed, newest first (for a feed reader, or a static web folder)."""
    from monitor.views.feed import build_feed

    settings = ctx.settings()
    with domain_errors(), open_store(settings, create=False) as store:
        body = build_feed(
            store, now=datetime.now(UTC), limit=limit, report_url=settings.email.report_url
        )
    if not body.endswith(b"\n"):
        body += b"\n"  # a text file ends with a newline; a shell prompt after `feed` too
    if output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        try:
            Path(output).write_bytes(body)
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
        click.echo(f"wrote {output}")


@click.command("serve", short_help="The web UI (loopback by default).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; beyond loopback, $MONITOR_WEB_TOKEN must be set.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8750,
    show_default=True,
    help="Port to listen on (0: any free port, printed at start).",
)
@config_option
@pass_context
def serve_cmd(ctx: Context, host: str, port: int) -> None:
    """A small read-only web UI (marking a change reviewed is the only write). Ctrl-C stops
    it (exit 0). Exit 2 when the port is in use or the address cannot be bound."""
    import uvicorn

    from monitor.views.web import TOKEN_ENV, check_binding, create_app

    settings = ctx.settings()
    token = os.environ.get(TOKEN_ENV) or None
    with domain_errors():
        check_binding(host, token)
    # The server opens the database as it starts, where a failure would be a traceback in
    # uvicorn's log: opened here first, as the server will, it is one line and exit 1.
    with domain_errors(), open_store(settings, snapshot=False):
        pass
    # Bound here rather than by uvicorn, so that a busy port is a clear error with exit 2
    # (uvicorn logs its errno and exits 3) and the banner can name the real port.
    sock = _bind(host, port)
    app = create_app(settings.monitor.database, token=token, report_url=settings.email.report_url)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(app, log_level="warning")
    # uvicorn shuts down cleanly, then raises the signal that stopped it again, under the
    # handler it found: SIGINT's raises KeyboardInterrupt, SIGTERM's default would end the
    # process with 143. For a server either is how it is stopped, not a failure (exit 0, as
    # `monitor run`), so SIGTERM gets a handler that raises too, before the banner tells
    # anyone that the server is there to be stopped.
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with contextlib.suppress(KeyboardInterrupt, _Stopped):
            click.echo(f"serving the web UI at http://{shown}:{bound}/ (Ctrl-C to stop)")
            sys.stdout.flush()
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("stopped")


class _Stopped(Exception):
    """SIGTERM, raised as an exception so that `serve` ends as after Ctrl-C."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageProblem(
                f"port {port} on {host} is in use (another `monitor serve`?); "
                "stop it, or choose another port with --port"
            ) from None
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            raise UsageProblem(f"--host {host}: not an address of this machine") from None
        raise UsageProblem(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


COMMANDS = (report_cmd, feed_cmd, serve_cmd)
