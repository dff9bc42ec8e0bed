"""The commands that read pages: `compare` (two captures, no database) and `check` (a pass over
the configured sources)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import click

from monitor.app import open_app, open_fetcher
from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    Context,
    UsageProblem,
    config_option,
    console,
    domain_errors,
    echo_json,
    pass_context,
    report_delivery,
)
from monitor.cli.interrupt import CANCELLED, NOT_STARTED, StoppableFetcher, run_interruptibly
from monitor.config.settings import default_settings
from monitor.detect.compare import compare
from monitor.detect.extract import extract
from monitor.detect.rules import ExtractRules
from monitor.errors import CaptureError
from monitor.store.rows import CheckResult


@click.command("compare", short_help="Compare two captures (files or URLs), no database.")
@click.argument("old")
@click.argument("new")
@click.option("--source", "source_id", help="Use this configured source's extraction rules.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_option
@pass_context
def compare_cmd(ctx: Context, old: str, new: str, source_id: str | None, as_json: bool) -> None:
    """Compare two captures (text snapshots, HTML files or URLs) with no database.

    Exit 1 when either capture cannot be read or NEW holds no recognisable article (an error
    page, a login wall, a bot challenge); the JSON then has an "error".
    """
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
    if comparison.error:
        sys.exit(EXIT_FAILED)


@click.command("check", short_help="Check sources now, once; store versions and changes.")
@click.argument("sources", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Fetch and compare, store nothing, send nothing.")
@click.option(
    "--changes-only",
    is_flag=True,
    help="List only sources that are new, changed or failed (the summary counts all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per source.")
@config_option
@pass_context
def check_cmd(
    ctx: Context, sources: tuple[str, ...], dry_run: bool, changes_only: bool, as_json: bool
) -> None:
    """Check SOURCES now, once (every configured source when none is named): store each new
    version and change, send the alerts that are due, and end with a summary line.

    Exit 1 when any check failed; 130 on Ctrl-C, which stops the pass within a second and
    keeps what was checked.
    """
    import monitor.views.terminal as report

    settings = ctx.settings()
    with domain_errors():
        chosen = [settings.source(s) for s in dict.fromkeys(sources)] or list(settings.sources)
    if not chosen:
        raise UsageProblem(f"{settings.path}: no [[source]] configured; add one to check")
    show_progress = not as_json and sys.stderr.isatty()
    began = time.monotonic()
    with domain_errors(), open_app(settings) as app:
        fetcher = StoppableFetcher.wrapping(app.fetcher)
        app.checker.fetcher = fetcher
        sending = nullcontext(None) if dry_run else app.sender.delivering()
        with sending as delivery, _progress(show_progress, len(chosen)) as step:
            results, interrupted = run_interruptibly(
                lambda: app.checker.check(chosen, dry_run=dry_run, on_result=step), fetcher
            )
    took = time.monotonic() - began
    shown = [r for r in results if not (changes_only and r.outcome in report.QUIET_OUTCOMES)]
    if as_json:
        echo_json([r.to_json() for r in shown])
    else:
        report.print_results(console(), shown)
        click.echo(report.summary_line(results, took))
    if delivery is not None:
        report_delivery(delivery, settings, stderr=as_json)
    if interrupted:
        cut = sum(r.error in (NOT_STARTED, CANCELLED) for r in results)
        kept = "" if dry_run else " (stored)"
        click.echo(
            f"interrupted: {len(results) - cut} of {len(results)} sources checked{kept}, {cut} "
            "cancelled or not started; run `monitor check` again to check them",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    if any(r.outcome == "error" for r in results):
        sys.exit(EXIT_FAILED)


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


COMMANDS = (compare_cmd, check_cmd)
