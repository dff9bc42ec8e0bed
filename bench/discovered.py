"""Sources found by `[[discover]]` cost no more per check than configured ones (issue 17).

.venv/bin/python bench/discovered.py [--sources 1000] [--repeats 3]

One loopback site (nginx when installed, else the asyncio server of `bench/website.py`) serves
N article pages with rotating chrome and no validators, so every check is a full request and
an extraction. Two folders watch the same N pages: one lists them as N `[[source]]` tables in
`config.toml`; the other has one `[[discover]]` and the same N URLs recorded in its database as
articles its discovery found in the site's RSS feed (which lists the N pages), none in
`config.toml`. Each folder is checked once to fill its database (the discovered one's first
pass reads the feed and adds the N sources), then the two are checked in turn (`monitor
check`, a real process, workers included), `--repeats` times each: the discovered folder's
passes read the feed again first (nothing new in it), as `check` does with `[[discover]]`;
"discovered, named" checks the same sources named on the command line (`monitor check ID
...`), which reads no feed: the cost of the checks alone.
Printed: wall time and CPU seconds (the process and every process under it, workers and a
fork server, reaped by this one) per pass and per check, their medians, and the ratio
discovered / configured of the same run; and that every pass recorded N checks, all unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import email.utils
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from website import Nginx, PythonServer, Site

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PR_SET_CHILD_SUBREAPER = 36
HEAD = '[monitor]\ndatabase = "monitor.db"\ninterval = "1d"\n\n'


def configured(folder: Path, urls: list[str]) -> None:
    folder.mkdir(parents=True)
    body = "".join(
        f'[[source]]\nid = "page-{i:05d}"\nurl = "{url}"\n\n' for i, url in enumerate(urls)
    )
    (folder / "config.toml").write_text(HEAD + body, encoding="utf-8")


def discovered(folder: Path, feed: str) -> None:
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(
        HEAD + f'[[discover]]\nid = "reports"\nfeed = "{feed}"\nmax_sources = 100000\n',
        encoding="utf-8",
    )


def write_feed(path: Path, urls: list[str]) -> None:
    """An RSS feed listing every page, as a publisher's feed would list its articles."""
    items = "".join(
        f"<item><title>Report {i}</title><link>{url}</link>"
        f"<pubDate>{email.utils.formatdate(time.time() - i * 60, usegmt=True)}</pubDate></item>"
        for i, url in enumerate(urls)
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Reports</title>{items}'
        "</channel></rss>",
        encoding="utf-8",
    )


def _reap_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (Linux): a pass's workers
    started through a fork server are the server's children, and the server outlives the
    `monitor check` that started it; reaped here, their CPU time counts in this process's
    RUSAGE_CHILDREN."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _children(keep: set[int]) -> set[int]:
    me = os.getpid()
    found = set()
    for task in Path(f"/proc/{me}/task").iterdir():
        text = (task / "children").read_text()
        found |= {int(pid) for pid in text.split()}
    return found - keep


def check_pass(folder: Path, keep: set[int], names: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of `monitor check`: the process and every process under it
    (workers, a fork server), each reaped before the CPU is read. `keep`: children of this
    process that are not the pass's (the web server). `names`: the sources to check (none:
    every source, after reading the feeds of `[[discover]]`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", "monitor", "check", "--changes-only", *names],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"check in {folder} failed: {err[-2000:]!r}")
    deadline = time.monotonic() + 60
    while left := _children(keep):
        for pid in left:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {sorted(left)} outlived the pass")
        time.sleep(0.01)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def outcomes(folder: Path) -> dict[str, int]:
    """The outcomes of the last pass: each source's latest check."""
    with sqlite3.connect(folder / "monitor.db") as conn:
        rows = conn.execute(
            "select outcome, count(*) from checks where id in"
            " (select max(id) from checks group by source_id) group by outcome"
        ).fetchall()
    return dict(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.sources
    _reap_orphans()
    work = Path(tempfile.mkdtemp(prefix="monitor-discovered-"))
    site = Site(n, work / "site")
    server: Nginx | PythonServer = (
        Nginx(work / "site") if shutil.which("nginx") else PythonServer(work / "site")
    )
    keep = _children(set())  # nginx, if it serves
    try:
        urls = [server.url(f"/rotating/p{i}.html") for i in range(n)]
        kinds = {"configured": work / "configured", "discovered": work / "discovered"}
        configured(kinds["configured"], urls)
        write_feed(work / "site" / "feed.xml", urls)
        discovered(kinds["discovered"], server.url("/feed.xml"))
        print(f"{n} pages of {site.size() // 1024} KiB on {type(server).__name__}", flush=True)
        for kind, folder in kinds.items():
            check_pass(folder, keep, [])  # the first: every page new
            print(f"  {kind}: database filled", flush=True)
        with sqlite3.connect(kinds["discovered"] / "monitor.db") as conn:
            found = [r[0] for r in conn.execute("select source_id from discovered")]
        if len(found) != n:
            raise RuntimeError(f"the discovery found {len(found)} of the {n} pages")
        passes = {
            "configured": (kinds["configured"], []),
            "discovered": (kinds["discovered"], []),
            "discovered, named": (kinds["discovered"], found),
        }
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in passes}
        for _ in range(args.repeats):
            for kind, (folder, names) in passes.items():
                runs[kind].append(check_pass(folder, keep, names))
                seen = outcomes(folder)
                if seen != {"unchanged": n}:
                    raise RuntimeError(f"{kind}: {n} checks expected unchanged, got {seen}")
        print(f"\n| {n} sources | pass wall s | pass CPU s | CPU ms per check | passes |")
        print("|---|---|---|---|---|")
        medians = {}
        for kind, values in runs.items():
            wall = statistics.median(v[0] for v in values)
            cpu = statistics.median(v[1] for v in values)
            medians[kind] = (wall, cpu)
            shown = ", ".join(f"{w:.2f}/{c:.2f}" for w, c in values)
            print(f"| {kind} | {wall:.2f} | {cpu:.2f} | {cpu / n * 1000:.2f} | {shown} |")
        cw, cc = medians["configured"]
        print()
        for kind in ("discovered", "discovered, named"):
            dw, dc = medians[kind]
            print(
                f"{kind} / configured, same run: CPU per check {dc / cc:.2f}x, "
                f"wall per pass {dw / cw:.2f}x"
            )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
