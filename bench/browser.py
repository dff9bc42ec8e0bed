"""The cost of a browser check beside a plain one, measured in the same run, loopback only.

N copies of the seed article are served twice by the demo's page server: as WordPress pages
(`fetch = "http"`) and as pages whose teaser and notice a script builds (`fetch = "browser"`).
Each kind is checked in passes over its N sources through the real `Checker`, with the default
limits (`concurrency` 16, `per_host` raised so that only `browser_pages` limits the browser);
a first pass stores the versions and starts the browser, and the timed passes find every page
unchanged (a plain page answers 304), the common case. Prints the wall time per check of each
kind, and their ratio. Needs `monitor[browser]` and Chromium.

    .venv/bin/python bench/browser.py [--pages 40] [--passes 3] [--browser-pages 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from monitor.app import open_app
from monitor.config.settings import load_settings
from monitor.demo.site import PageServer, parse_snapshot
from monitor.fetch.browser import missing
from monitor.store.rows import CheckResult

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_c860228f409f0487.txt"


def write_config(folder: Path, server: PageServer, count: int, fetch: str, pages: int) -> Path:
    prefix = "/scripted" if fetch == "browser" else "/plain"
    lines = [
        "[monitor]",
        f'database = "{fetch}.db"',
        "confirm = false",
        "retries = 0",
        "concurrency = 16",
        "per_host = 16",
        f"browser_pages = {pages}",
        "",
    ]
    for i in range(count):
        url = server.url(f"{prefix}/{i}")
        lines += ["[[source]]", f'id = "{fetch}-{i}"', f'url = "{url}"', f'fetch = "{fetch}"', ""]
    path = folder / f"{fetch}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def passes(config: Path, count: int) -> list[float]:
    """Seconds per check of each timed pass (after a first one that stores the versions)."""
    settings = load_settings(config)
    times = []
    with open_app(settings) as app:
        for n in range(count + 1):
            began = time.perf_counter()
            results = app.checker.check(settings.sources)
            took = time.perf_counter() - began
            check(results, ("new",) if n == 0 else ("unchanged", "not_modified"))
            if n:
                times.append(took / len(results))
    return times


def check(results: list[CheckResult], expected: tuple[str, ...]) -> None:
    wrong = [r for r in results if r.outcome not in expected]
    if wrong:
        r = wrong[0]
        sys.exit(f"{r.source_id}: {r.outcome} ({r.error}), not {' or '.join(expected)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="sources of each kind")
    parser.add_argument("--passes", type=int, default=3, help="timed passes of each kind")
    parser.add_argument("--browser-pages", type=int, default=2, help="[monitor] browser_pages")
    args = parser.parse_args()
    if reason := missing():
        sys.exit(reason)
    article = parse_snapshot(SEED.read_text(encoding="utf-8"), "In Brief: Benchmark")
    server = PageServer()
    for i in range(args.pages):
        server.put_article(f"/plain/{i}", article)
        server.put_scripted(f"/scripted/{i}", article)
    with server.running(), tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        folder = Path(tmp)
        plain = passes(write_config(folder, server, args.pages, "http", 1), args.passes)
        browser = passes(
            write_config(folder, server, args.pages, "browser", args.browser_pages), args.passes
        )
    p, b = statistics.median(plain) * 1000, statistics.median(browser) * 1000
    print(
        f"{args.pages} sources of each kind, {args.passes} passes, {os.cpu_count()} cores, "
        f"loopback; browser_pages = {args.browser_pages}, concurrency = 16"
    )
    print(f"plain check:   {p:8.1f} ms per check (median of passes, wall time / sources)")
    print(f"browser check: {b:8.1f} ms per check")
    print(f"ratio:         {b / p:8.1f} x (browser / plain, same run)")


if __name__ == "__main__":
    main()
