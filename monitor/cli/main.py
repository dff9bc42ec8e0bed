"""The command line: parse options, call one function of the package, format the result.

This module has the group, the commands that read the stored history (`history`, `changes`,
`show`) and `demo`. The others are grouped by responsibility: `checking` (`compare`, `check`),
`service` (`run`, `status`, `gc`, `alerts`, `test-email`), `publishing` (`report`, `feed`,
`serve`); `common` has what they share.

Exit statuses, the same for every command: 0 ok; 1 a check or an operation failed; 2 bad usage
or a bad config; 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

import monitor.cli.checking as cli_checking
import monitor.cli.ending as ending
import monitor.cli.publishing as cli_publishing
import monitor.cli.service as cli_service
from monitor.app import open_store
from monitor.cli.common import (
    EXIT_INTERRUPTED,
    JSON_HELP,
    Context,
    config_option,
    console,
    domain_errors,
    echo_json,
    page_line,
    paging_options,
    parse_since,
    pass_context,
    require_source,
)
from monitor.detect.compare import KINDS, REGIONS
from monitor.detect.diff import render_plain

# Changes listed by `changes` unless asked for more: the newest are what a person reads.
CHANGES_PAGE = 100


class MonitorGroup(click.Group):
    """Ctrl-C anywhere exits 130 with one line, not click's "Aborted!" and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(
    cls=MonitorGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit status: 0 ok; 1 a check or operation failed; 2 bad usage or config; "
    "130 interrupted (Ctrl-C). `monitor COMMAND --help` describes each command.",
)
@click.option(
    "--config",
    envvar="MONITOR_CONFIG",
    type=click.Path(dir_okay=False),
    help="Config file (default ./config.toml, or $MONITOR_CONFIG); also accepted after the "
    "command.",
)
@click.version_option(package_name="monitor")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Watch paywalled article pages and report every change to teaser, paywall notice,
    description and access state, with word-level diffs.

    Start with `monitor demo`, or write a config.toml and run `monitor check`.
    """
    from_env = ctx.get_parameter_source("config") is click.core.ParameterSource.ENVIRONMENT
    ctx.obj = Context(config, named_by="MONITOR_CONFIG" if from_env else None)


@cli.command("history", short_help="Every distinct version of a source.")
@click.argument("source_id", metavar="SOURCE")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@config_option
@pass_context
def history_cmd(ctx: Context, source_id: str, as_json: bool) -> None:
    """Every distinct version of SOURCE, and the changes between them."""
    import monitor.views.terminal as report

    settings = ctx.settings()
    with domain_errors(), open_store(settings, create=False) as store:
        require_source(settings, store, source_id)
        versions = store.versions(source_id)
        changes = store.changes(source_id=source_id)
    if as_json:
        echo_json(
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
    console().print(report.history_table(versions, changes))


@cli.command("changes", short_help="Detected changes, newest first.")
@click.option("--source", "source_id", help="Only this source (a configured id).")
@click.option("--kind", type=click.Choice(KINDS), help="Only changes of this kind.")
@click.option("--since", help="Only changes detected at or after this date (ISO 8601).")
@paging_options("changes", CHANGES_PAGE)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@config_option
@pass_context
def changes_cmd(
    ctx: Context,
    source_id: str | None,
    kind: str | None,
    since: str | None,
    limit: int | None,
    offset: int,
    show_all: bool,
    as_json: bool,
) -> None:
    """List detected changes, newest first; `monitor show ID` shows one with its diff.

    The table lists the newest 100 (--limit, --offset, --all for more)."""
    import monitor.views.terminal as report

    settings = ctx.settings()
    if limit is None and not (as_json or show_all):
        limit = CHANGES_PAGE
    after = parse_since(since)
    total = 0
    with domain_errors(), open_store(settings, create=False) as store:
        require_source(settings, store, source_id)
        rows = store.changes(
            source_id=source_id, kind=kind, since=after, limit=limit, offset=offset
        )
        if not as_json and (offset or len(rows) == limit):
            total = store.count_changes(source_id=source_id, kind=kind, since=after)
    if as_json:
        echo_json([r.to_json() for r in rows])
    elif rows:
        console().print(report.changes_table(rows))
        if line := page_line("changes", offset, len(rows), total):
            click.echo(line)
    else:
        click.echo("no changes" + (" matching the filters" if source_id or kind or since else ""))


@cli.command("show", short_help="One change with its word diff.")
@click.argument("change_id", type=int)
@click.option("--full", is_flag=True, help="Diff the whole regions, not only around the edits.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the change as JSON, with regions shaped as in `compare --json`.",
)
@config_option
@pass_context
def show_cmd(ctx: Context, change_id: int, full: bool, as_json: bool) -> None:
    """One change: what changed, access before and after, and the word diff (colour on a
    terminal, [-old-]{+new+} otherwise). Exit 2 when there is no such change."""
    import monitor.views.terminal as report

    settings = ctx.settings()
    with domain_errors(), open_store(settings, create=False) as store:
        change = store.change(change_id)
        before = store.version(change.from_version_id)
        after = store.version(change.to_version_id)
        stored_url = store.source_link(change.source_id)[0]  # a discovered source's
    url = next((s.url for s in settings.sources if s.id == change.source_id), None) or (
        stored_url or None
    )
    if as_json:
        data = change.to_json()
        data["url"] = url
        data["changed"] = True
        # Every region, changed or not, so that a script reads `show` as it reads `compare`.
        data["regions"] = {
            name: {
                "changed": name in change.diff,
                "before": getattr(before.regions, name),
                "after": getattr(after.regions, name),
                "diff": render_plain(change.diff[name]) if name in change.diff else "",
            }
            for name in REGIONS
        }
        echo_json(data)
        return
    report.print_change(console(), change, url, before, after, full=full)


@cli.command("demo", short_help="The whole loop offline, on a loopback server.")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    help="Keep the demo's config, database and pages here (a new or empty folder; default: a "
    "new temporary folder).",
)
def demo_cmd(folder: str | None) -> None:
    """The whole loop offline: a loopback server with the seed articles, a first check, the
    publisher's edits, a second check, the alert emails and the change reports.

    The folder it leaves is ready for the other commands; it prints them at the end.
    """
    from monitor.demo.run import run_demo

    with domain_errors():
        run_demo(console(), Path(folder) if folder else None, prog=_how_invoked())


def _how_invoked() -> str:
    """How to run monitor again, as the user did: `monitor` only when that name on PATH is
    this program; else the path typed (`.venv/bin/monitor`), or `python -m monitor`."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "__main__.py":
        return f"{shlex.quote(sys.executable)} -m monitor"
    on_path = shutil.which("monitor")
    if on_path and argv0.exists() and Path(on_path).resolve() == argv0.resolve():
        return "monitor"
    if not argv0.exists():
        return f"{shlex.quote(sys.executable)} -m monitor"
    typed = os.path.relpath(argv0.resolve()) if not argv0.is_absolute() else str(argv0)
    if "/" not in typed:
        typed = f"./{typed}"
    return shlex.quote(typed)


for _command in (*cli_checking.COMMANDS, *cli_service.COMMANDS, *cli_publishing.COMMANDS):
    cli.add_command(_command)


def main() -> None:
    """The `monitor` command (`python -m monitor`, the installed script)."""
    try:
        cli(prog_name="monitor")
    except SystemExit as exc:  # click's standalone mode always ends with one
        ending.note(exc.code)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
