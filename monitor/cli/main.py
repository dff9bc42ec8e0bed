"""The command line: parse options, call one function of the package, format the result.

This module has the group and the detector's commands (`compare`, `check`, `history`,
`changes`, `show`, `demo`); the service's are in `cli_service`, the shared parts in
`cli_common`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

import monitor.cli.service as cli_service
from monitor.app import open_app, open_fetcher, open_store
from monitor.cli.common import (
    ConfigProblem,
    Context,
    console,
    domain_errors,
    echo_json,
    parse_since,
    pass_context,
    report_delivery,
)
from monitor.config.settings import default_settings
from monitor.detect.rules import ExtractRules
from monitor.detect.compare import KINDS, compare
from monitor.detect.diff import render_plain
from monitor.detect.extract import extract
from monitor.errors import CaptureError
from monitor.service.check import CheckResult


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
    import monitor.views.terminal as report

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
        echo_json(comparison.to_json())
    else:
        report.print_comparison(console(), comparison, old, new)


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
        echo_json([r.to_json() for r in results])
    else:
        import monitor.views.terminal as report

        report.print_results(console(), results)
    if delivery is not None:
        report_delivery(delivery, settings, stderr=as_json)
    if any(r.outcome == "error" for r in results):
        sys.exit(1)


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
    import monitor.views.terminal as report

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        if source_id not in store.known_sources():
            settings.source(source_id)  # a configured source not yet checked is no error
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
    import monitor.views.terminal as report

    settings = ctx.settings()
    with domain_errors(), open_store(settings) as store:
        rows = store.changes(source_id=source_id, kind=kind, since=parse_since(since), limit=limit)
    if as_json:
        echo_json([r.to_json() for r in rows])
    elif rows:
        console().print(report.changes_table(rows))
    else:
        click.echo("no changes")


@cli.command("show")
@click.argument("change_id", type=int)
@click.option("--full", is_flag=True, help="Diff the whole regions, not only around the edits.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show_cmd(ctx: Context, change_id: int, full: bool, as_json: bool) -> None:
    """One change: what changed and the word diff (colour on a terminal)."""
    import monitor.views.terminal as report

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
        echo_json(data)
        return
    report.print_change(console(), change, url, before, after, full=full)


@cli.command("demo")
@click.option(
    "--dir", "folder", type=click.Path(file_okay=False), help="Keep the demo's files here."
)
def demo_cmd(folder: str | None) -> None:
    """The whole loop offline: a loopback server with the seed articles, edits, reports."""
    from monitor.demo.run import run_demo

    with domain_errors():
        run_demo(console(), Path(folder) if folder else None)


for _command in cli_service.COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="monitor")


if __name__ == "__main__":  # pragma: no cover
    main()
