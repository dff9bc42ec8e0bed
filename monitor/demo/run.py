"""`monitor demo`: the whole loop offline, through the same code as real use.

A loopback server serves the two seed articles as WordPress pages; a fresh folder gets a config
and a database; the seeds are imported as baselines; both pages are checked; then one teaser is
edited and the other paywall lifted, and the second check reports both changes.

The server stops with the demo, so the folder is left with each page as last served in `pages/`
and a config reading those files: every command it suggests, `check` included, works there.
"""

from __future__ import annotations

import importlib.resources
import shlex
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.rule import Rule

import monitor.views.summary as summary
import monitor.views.terminal as report
from monitor.app import open_app
from monitor.config.settings import load_settings
from monitor.demo.site import Article, PageServer, parse_snapshot
from monitor.detect.extract import extract
from monitor.detect.regions import Regions
from monitor.detect.rules import ExtractRules
from monitor.errors import CaptureError, ConfigError
from monitor.fetch.browser import missing

if TYPE_CHECKING:
    from monitor.app import App

ARTICLES = (
    (
        "north-korean-russian-threat",
        "/2023/09/in-brief-the-north-korean-russian-threat",
        "000_c860228f409f0487.txt",
        "In Brief: The North Korean-Russian Threat",
    ),
    (
        "north-koreas-critical-allies",
        "/2024/11/in-brief-north-koreas-critical-allies",
        "001_cf6815e734ac9f02.txt",
        "In Brief: North Korea's Critical Allies",
    ),
)

# Demo text only: what the rest of the second article could say once the paywall is lifted.
_REST_OF_ARTICLE = (
    " materials and technologies.\nVictor Cha, Korea Chair, Center for Strategic and "
    "International Studies\nBeijing has watched the partnership with a mix of interest and "
    "unease. It values a stable buffer on its border, but it does not want Moscow to become "
    "Pyongyang's indispensable patron, nor does it want a crisis that draws American forces "
    "closer to its coast.\n"
)


def seeds_folder() -> Path:
    """The baseline captures: inside the installed package, else beside it in a checkout."""
    packaged = Path(str(importlib.resources.files("monitor"))) / "seeds"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "seeds"


def _folder(folder: Path | None) -> Path:
    if folder is None:
        return Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    try:
        if folder.exists() and any(folder.iterdir()):
            raise ConfigError(f"--dir {folder}: the folder is not empty; choose a new or empty one")
        folder.mkdir(parents=True, exist_ok=True)
        # Tried now, before a server starts: a folder that can be made but not written (a
        # read-only mount, another user's) would otherwise fail half-way through the demo.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(
            f"--dir {folder}: cannot write there ({exc.strerror or exc}); choose a folder you "
            "can write, or leave out --dir for a new temporary one"
        ) from None
    return folder


def _write_config(folder: Path, urls: dict[str, str], comment: str) -> Path:
    (folder / "seeds").mkdir(exist_ok=True)
    lines = [
        f"# Written by `monitor demo`: {comment}",
        "[monitor]",
        'database = "monitor.db"',
        'timeout = "10s"',
        "",
        "[email]  # no host: alerts are written as .eml files to the outbox folder",
        'to = ["you@example.org"]',
        "",
    ]
    for source_id, _, seed, _ in ARTICLES:
        shutil.copyfile(seeds_folder() / seed, folder / "seeds" / seed)
        lines += [
            "[[source]]",
            f'id = "{source_id}"',
            f'url = "{urls[source_id]}"',
            f'baseline = "seeds/{seed}"',
            "",
        ]
    config = folder / "config.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def _keep_pages(folder: Path, server: PageServer) -> dict[str, str]:
    """Each article's page as last served, saved in `pages/`: the sources' URLs once the
    server is gone (paths relative to the config)."""
    (folder / "pages").mkdir(exist_ok=True)
    urls = {}
    for source_id, path, _, _ in ARTICLES:
        page = server.get(path)
        assert page is not None
        (folder / "pages" / f"{source_id}.html").write_bytes(page.body)
        urls[source_id] = f"pages/{source_id}.html"
    return urls


SCRIPTED = "/2024/11/in-brief-north-koreas-critical-allies-app"


def _scripted_step(console: Console, server: PageServer, app: App, article: Article) -> None:
    """The same article as a page whose paywall a script builds: read as served, and as headless
    Chromium renders it (`fetch = "browser"`), when Playwright and Chromium are installed."""
    console.print(Rule("a paywall built by a script"))
    console.print(
        '[bold]3. fetch = "browser"[/]: the second article as a page whose script cuts the '
        "teaser and inserts the notice"
    )
    server.put_scripted(SCRIPTED, article, rest=_REST_OF_ARTICLE)
    url = server.url(SCRIPTED)
    rules = ExtractRules()
    plain = extract(app.fetcher.fetch(url), rules)
    console.print(f"  as served:     {_describe(plain)}", highlight=False, markup=False)
    if (reason := missing()) is not None or app.checker.browser is None:
        console.print(f"  in a browser:  skipped; {reason}", highlight=False, markup=False)
        return
    try:
        seen = extract(app.checker.browser.fetch(url, rules=rules), rules)
    except CaptureError as exc:
        console.print(f"  in a browser:  failed: {exc}", highlight=False, markup=False)
        return
    console.print(f"  in a browser:  {_describe(seen)}", highlight=False, markup=False)


def _describe(regions: Regions) -> str:
    if regions.access == "unknown":
        return f"no article ({regions.error})"
    notice = regions.paywall.split("\n", 1)[0] if regions.paywall else "no notice"
    return f"{regions.access}, a teaser of {len(regions.teaser.split())} words, {notice!r}"


def run_demo(console: Console, folder: Path | None = None, *, prog: str = "monitor") -> Path:
    """Run the demo, print what it does; returns the folder holding its config and database.

    `prog` is how the user runs monitor (`.venv/bin/monitor`): the commands printed at the end
    are meant to be pasted."""
    folder = _folder(folder)
    server = PageServer()
    articles: dict[str, Article] = {}
    for source_id, path, seed, title in ARTICLES:
        text = (seeds_folder() / seed).read_text(encoding="utf-8")
        articles[source_id] = parse_snapshot(text, title)
        server.put_article(path, articles[source_id])
    with server.running():
        live = {source_id: server.url(path) for source_id, path, _, _ in ARTICLES}
        config = _write_config(folder, live, "two sources served by a loopback server.")
        settings = load_settings(config)
        console.print(Rule("monitor demo"))
        console.print(f"Serving the two seed articles as WordPress pages on {server.url('/')}")
        console.print(f"Config and database in {folder}\n")
        with open_app(settings) as app:
            console.print("[bold]1. First check[/]: seeds imported as baselines, pages compared")
            report.print_results(console, app.checker.check(settings.sources))

            first, second = (a[0] for a in ARTICLES)
            edited = replace(
                articles[first],
                teaser=articles[first].teaser.replace("took a rare trip", "made a rare journey"),
                chrome=1,
            )
            lifted = replace(
                articles[second],
                teaser=articles[second].teaser + _REST_OF_ARTICLE,
                locked=False,
                chrome=1,
            )
            server.put_article(ARTICLES[0][1], edited)
            server.put_article(ARTICLES[1][1], lifted)
            console.print(
                "\n[bold]2. The publisher edits[/]: a few words of one teaser; the other "
                "article's paywall lifted (and every page's chrome rotated)"
            )
            results = app.checker.check(settings.sources)
            report.print_results(console, results)
            delivery = app.sender.deliver()
            line = summary.delivery_line(delivery, settings.email.outbox)
            console.print(line or "alerts: none due", highlight=False)

            for result in results:
                if result.change_id is None:
                    continue
                change = app.store.change(result.change_id)
                console.print(Rule())
                report.print_change(
                    console,
                    change,
                    settings.source(change.source_id).url,
                    app.store.version(change.from_version_id),
                    app.store.version(change.to_version_id),
                )
            console.print(Rule("all changes"))
            console.print(report.changes_table(app.store.changes()))
            _scripted_step(console, server, app, articles[second])
        _write_config(
            folder,
            _keep_pages(folder, server),
            "the demo's two pages, saved in pages/ as last served (the demo's server has "
            "stopped).\n# Edit a few words of a page's teaser and run `monitor check` to see "
            "a change.",
        )
    run = f"{prog} --config {shlex.quote(str(config))}"
    shown = next((r.change_id for r in results if r.change_id is not None), 1)
    console.print(
        f"\nThe demo's server has stopped; {config} now reads its pages as last served, saved "
        f"in {folder / 'pages'}. Go on with:",
        highlight=False,
        markup=False,
    )
    # One command a line, nothing else on it: a pasted line must run as it is, in any shell.
    for why, command in (
        ("the changes, newest first:", "changes"),
        ("one of them with its word diff:", f"show {shown}"),
        ("a source's versions:", f"history {first}"),
        ("check again (unchanged; edit a teaser in pages/ first to see a change):", "check"),
        ("an HTML report, written beside the database:", "report"),
    ):
        console.print(f"  {why}", highlight=False, markup=False, style="dim")
        console.print(f"    {run} {command}", highlight=False, markup=False, soft_wrap=True)
    return folder
