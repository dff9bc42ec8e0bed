"""`monitor demo`: the whole loop offline, through the same code as real use.

A loopback server serves the two seed articles as WordPress pages; a fresh folder gets a config
and a database; the seeds are imported as baselines; both pages are checked; then one teaser is
edited and the other paywall lifted, and the second check reports both changes.
"""

from __future__ import annotations

import importlib.resources
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

import monitor.views.terminal as report
from monitor.app import open_app
from monitor.config.settings import load_settings
from monitor.demo.site import Article, PageServer, parse_snapshot
from monitor.errors import ConfigError

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
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"--dir {folder}: the folder is not empty; choose a new or empty one")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_config(folder: Path, server: PageServer) -> Path:
    (folder / "seeds").mkdir()
    lines = [
        "# Written by `monitor demo`: two sources served by a loopback server.",
        "[monitor]",
        'database = "monitor.db"',
        'timeout = "10s"',
        "",
        "[email]  # no host: alerts are written as .eml files to the outbox folder",
        'to = ["you@example.org"]',
        "",
    ]
    for source_id, path, seed, _ in ARTICLES:
        shutil.copyfile(seeds_folder() / seed, folder / "seeds" / seed)
        lines += [
            "[[source]]",
            f'id = "{source_id}"',
            f'url = "{server.url(path)}"',
            f'baseline = "seeds/{seed}"',
            "",
        ]
    config = folder / "config.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def run_demo(console: Console, folder: Path | None = None) -> Path:
    """Run the demo, print what it does; returns the folder holding its config and database."""
    folder = _folder(folder)
    server = PageServer()
    articles: dict[str, Article] = {}
    for source_id, path, seed, title in ARTICLES:
        text = (seeds_folder() / seed).read_text(encoding="utf-8")
        articles[source_id] = parse_snapshot(text, title)
        server.put_article(path, articles[source_id])
    with server.running():
        config = _write_config(folder, server)
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
            console.print(
                f"alerts: {delivery.sent} emails written to {settings.email.outbox}",
                highlight=False,
            )

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
    console.print(
        f"\nExplore: monitor --config {config} changes | show 1 | history {first}", highlight=False
    )
    return folder
