"""The commands that read pages: `compare` (two captures, no database), `check` (a pass over
the configured sources) and `doctor` (can this install read every configured source?)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import TYPE_CHECKING

import click

from monitor.app import open_app, open_browser, open_fetcher, open_store
from monitor.cli.common import (
    EXIT_FAILED,
    Context,
    UsageProblem,
    config_option,
    console,
    domain_errors,
    echo_json,
    pass_context,
    report_delivery,
)
from monitor.cli.interrupt import run_interruptibly
from monitor.config.settings import Settings, Source, default_settings
from monitor.detect.capture import Capture
from monitor.detect.compare import compare
from monitor.detect.rules import ExtractRules
from monitor.errors import CaptureError
from monitor.fetch.browser import missing as browser_missing
from monitor.store.discovered import all_sources, find_source, forget_runs
from monitor.store.rows import CheckResult

if TYPE_CHECKING:
    from monitor.discover.run import Discoverer


@click.command("compare", short_help="Compare two captures (files or URLs), no database.")
@click.argument("old")
@click.argument("new")
@click.option("--source", "source_id", help="Use this configured source's extraction rules.")
@click.option(
    "--browser",
    is_flag=True,
    help='Load URLs in headless Chromium, as fetch = "browser" does (implied by a --source '
    "that uses it); needs monitor[browser] and Chromium.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_option
@pass_context
def compare_cmd(
    ctx: Context, old: str, new: str, source_id: str | None, browser: bool, as_json: bool
) -> None:
    """Compare two captures (text snapshots, HTML files or URLs) with no database.

    Exit 1 when either capture cannot be read or NEW holds no recognisable article (an error
    page, a login wall, a bot challenge); the JSON then has an "error". Exit 2 with --browser
    when Playwright or Chromium is missing.
    """
    import monitor.views.terminal as report
    from monitor.detect.extract import extract  # not with the module: `check` does without

    use_config = ctx.explicit or ctx.path.exists() or source_id is not None
    settings = ctx.settings() if use_config else default_settings()
    with domain_errors():
        source = settings.source(source_id) if source_id else None
    rules = source.extract if source else ExtractRules()
    settle = source.settle if source else None
    browser = browser or (source is not None and source.fetch == "browser")
    if browser and (reason := browser_missing()):
        raise UsageProblem(reason)
    with (
        domain_errors(),
        open_fetcher(settings) as fetcher,
        open_browser(settings, fetcher) as chromium,
    ):

        def read(where: str) -> Capture:
            if browser:
                return chromium.fetch(where, rules=rules, settle=settle)
            return fetcher.fetch(where)

        which, where = "old", old
        try:
            before = extract(read(old), rules)
            which, where = "new", new
            after = extract(read(new), rules)
        except CaptureError as exc:
            detail = str(exc).removeprefix(f"{where}: ")  # a file's error starts with its path
            message = f"cannot read the {which} capture {where}: {detail}"
            if as_json:
                # A script reading stdout gets its answer; a person reads stderr.
                echo_json(
                    {"changed": False, "error": message, "unreadable": which, "location": where}
                )
            raise click.ClickException(message) from None
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
    from monitor.views.summary import QUIET_OUTCOMES, summary_line

    settings = ctx.settings()
    with domain_errors():
        chosen = _chosen(settings, sources)
    if not chosen and not settings.discover:
        raise UsageProblem(f"{settings.path}: no [[source]] configured; add one to check")
    show_progress = not as_json and sys.stderr.isatty()
    began = time.monotonic()
    discovery_failed = False
    # Known before the database opens, unless discovery may add sources to the pass.
    size = None if dry_run or (not sources and settings.discover) else len(chosen)
    # Every outcome is counted as it comes; with --changes-only the pass keeps only the
    # results it lists, not one per source.
    outcomes: Counter[str] = Counter()

    def listed(result: CheckResult) -> bool:
        return result.outcome not in QUIET_OUTCOMES

    keep = listed if changes_only else None
    with domain_errors(), open_app(settings, sources=size, create=not dry_run) as app:
        if not sources and settings.discover:
            # every [[discover]] block is read first, so that a pass from cron watches new
            # articles as `monitor run` does
            if not dry_run:
                discovery_failed = _discover(app.discoverer, settings)
            else:
                # reading a feed records what it finds: a dry run checks only the articles
                # found before, and says so rather than "checked 0 sources" on a new config
                names = ", ".join(d.id for d in settings.discover)
                click.echo(
                    f"discover {names}: not read with --dry-run (it would record what it "
                    "finds); the articles found before are checked",
                    err=True,
                )
            chosen = all_sources(app.store, settings)
        fetcher = app.fetcher
        sending = nullcontext(None) if dry_run else app.sender.delivering()
        with sending as delivery, _progress(show_progress, len(chosen)) as step:

            def seen(result: CheckResult) -> None:
                outcomes[result.outcome] += 1
                if result.change_id is not None or result.event is not None:
                    app.sender.queued()  # its alerts go out now, not after the pass
                step(result)

            shown, interrupted = run_interruptibly(
                lambda: app.checker.check(chosen, dry_run=dry_run, on_result=seen, keep=keep),
                fetcher,
            )
    took = time.monotonic() - began
    if as_json:
        echo_json([r.to_json() for r in shown])
    else:
        import monitor.views.terminal as report  # rich, which --json does without

        report.print_results(console(), shown)
        click.echo(summary_line(outcomes, took))
    if delivery is not None:
        report_delivery(delivery, settings, stderr=as_json)
    if interrupted is not None:
        total, cut = outcomes.total(), outcomes["cancelled"]
        kept = "" if dry_run else " (stored)"
        click.echo(
            f"interrupted: {total - cut} of {total} sources checked{kept}, {cut} "
            "cancelled (not recorded); run `monitor check` again to check them",
            err=True,
        )
        sys.exit(interrupted)
    # An alert given up on for good is lost to its reader unless someone looks: a cron job or
    # a systemd timer shows a failed exit, not a line of output.
    alerts_failed = delivery is not None and delivery.failed > 0
    if discovery_failed or outcomes["error"] or alerts_failed:
        sys.exit(EXIT_FAILED)


def _chosen(settings: Settings, names: tuple[str, ...]) -> list[Source]:
    """The sources named (configured, or watched by a [[discover]]), else the configured ones."""
    if not names:
        return list(settings.sources)
    if not settings.discover or all(n in {s.id for s in settings.sources} for n in names):
        return [settings.source(n) for n in dict.fromkeys(names)]
    with open_store(settings, create=False) as store:
        return [find_source(store, settings, n) for n in dict.fromkeys(names)]


def _discover(discoverer: Discoverer, settings: Settings) -> bool:
    """Run every [[discover]] block once, a line each on stderr; True if one failed."""
    failed = False
    forget_runs(discoverer.store, [d.id for d in settings.discover])
    for discovery in settings.discover:
        found = discoverer.run(discovery, settings.sources, [d.id for d in settings.discover])
        if found.error:
            failed = True
            click.echo(f"discover {discovery.id}: failed: {found.error}", err=True)
            continue
        click.echo(
            f"discover {discovery.id}: {found.listed} listed, {found.matched} matching, "
            f"{len(found.added)} new, {len(found.retired)} no longer watched",
            err=True,
        )
        for unread in found.unread:
            click.echo(f"  a sitemap of the index could not be read: {unread}", err=True)
        if found.refused:
            shown = ", ".join(found.refused[:3]) + (" …" if len(found.refused) > 3 else "")
            click.echo(
                f"  {len(found.refused)} refused (not http(s), a private address seen from "
                f"the feed's public site, or a URL over 2,048 characters): {shown}",
                err=True,
            )
    return failed


@click.command("doctor", short_help="Can this install read every configured source?")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_option
@pass_context
def doctor_cmd(ctx: Context, as_json: bool) -> None:
    """Whether this install can read every configured source: the config loads, and for
    fetch = "browser" Playwright and Chromium are installed and render a test page.

    Exit 1 when a configured source needs something that is missing; a browser nobody needs
    is reported but is no failure.
    """
    from importlib.metadata import PackageNotFoundError, version

    settings = ctx.settings() if ctx.explicit or ctx.path.exists() else None
    needing = [] if settings is None else [s.id for s in settings.sources if s.fetch == "browser"]
    error = browser_missing()
    usable: str | None = None
    if error is None:
        with open_browser(settings or default_settings()) as chromium:
            try:
                usable = chromium.check()
            except CaptureError as exc:
                error = str(exc)
    if usable is not None:
        with suppress(PackageNotFoundError):
            usable += f", Playwright {version('playwright')}"
    ok = usable is not None or not needing
    if as_json:
        echo_json(
            {
                "ok": ok,
                "config": None if settings is None else str(settings.path),
                "sources": None if settings is None else len(settings.sources),
                "browser": {
                    "usable": usable is not None,
                    "version": usable,
                    "error": error,
                    "needed_by": needing,
                },
            }
        )
    else:
        if settings is None:
            click.echo(f"config: {ctx.path} not found (pass --config PATH)")
        else:
            click.echo(f"config: {settings.path}, {len(settings.sources)} sources")
        needed = (
            f"needed by {len(needing)} source(s): {', '.join(needing)}"
            if needing
            else 'no source uses fetch = "browser"'
        )
        if usable is not None:
            click.echo(f"browser: usable ({usable}); {needed}")
        else:
            click.echo(f"browser: not usable: {error}; {needed}")
    if not ok:
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


COMMANDS = (compare_cmd, check_cmd, doctor_cmd)
