"""Large watch lists: how `status`, `changes`, the web UI, a `check` pass and an idle `run`
behave with N sources. Run on demand, never in the test suite:

.venv/bin/python bench/scale.py --sources 100000 [--save after.json] [--compare before.json]
.venv/bin/python bench/scale.py --sources 100000 --code /tmp/head   # the code of another commit
.venv/bin/python bench/scale.py --sources 100000 --config-only  # only the cost of config.toml
.venv/bin/python bench/scale.py --sources 100000 --discovered   # N sources found by [[discover]]

Builds a folder holding a config with N sources read from local snapshot files (inside the
config's folder, as local captures must be), checks them all once (the first pass fills the
database), edits 1% of the teasers and checks again (so there are changes to list), then
measures real processes:

- wall time of `monitor status` / `status --json` / `changes` / `changes --json` (median of 3),
  beside the same-run baselines `sqlite3` reading the whole `sources` table and `monitor
  --version` (the interpreter and the CLI's start-up), as ratios, and loading the config
  (from the cache of validated settings once a command has written it, and validated anew);
- wall time of every page kind of `monitor serve` (changes, a later page, filtered by source
  and kind, sources, a source, a change, the feed, healthz), beside `/healthz` as a baseline;
- peak RSS of both `check` passes: the parent's high-water mark (`VmHWM`), the largest of the
  process tree (`wait4`), and the largest sum over the tree, sampled every 50 ms, of RSS (a
  page a worker shares with its parent counts twice) and of PSS (each page once);
- CPU seconds of `monitor run` with nothing due (every source checked a moment ago, interval
  1d): in its first 75 s, and from 15 s to 75 s as a share of one core (`/proc/<pid>/stat`,
  with its worker threads; the service starts no processes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MONITOR = [str(ROOT / ".venv" / "bin" / "python"), "-m", "monitor"]
WORDS = (ROOT / "seeds" / "000_c860228f409f0487.txt").read_text(encoding="utf-8").split()
NOTICE = (
    "Members-Only Content\nThis article is reserved for War on the Rocks members. "
    "Join our community to unlock exclusive insights and analysis."
)
TICKS = os.sysconf("SC_CLK_TCK")
EDITED = 100  # one source in this many is edited before the second pass
# What every command does first: read and validate the config with its N sources.
LOAD_CONFIG = (
    "from pathlib import Path; from monitor.config.settings import load_settings; "
    "load_settings(Path('config.toml'))"
)
# The same, validating whatever the cache of validated settings holds (code from before the
# cache has none, and no such argument).
VALIDATE_CONFIG = (
    "from pathlib import Path; from monitor.config.settings import load_settings\n"
    "try:\n    load_settings(Path('config.toml'), cache=False)\n"
    "except TypeError:\n    load_settings(Path('config.toml'))"
)


def source_id(i: int) -> str:
    return f"report-{i:06d}"


def snapshot(i: int, version: int = 0) -> str:
    """A text capture: a ~1,500-character teaser of its own, the notice, a description."""
    rng = random.Random(i)
    start = rng.randrange(0, len(WORDS) - 260)
    words = WORDS[start : start + 240]
    if version:
        words[7] = f"edited{version}"
    teaser = f"Report {i}. " + " ".join(words)
    return f"{teaser}\n{NOTICE}\n{teaser[:300]}\n"


def build(folder: Path, n: int) -> None:
    pages = folder / "pages"
    pages.mkdir(parents=True)
    lines = [
        "[monitor]",
        'database = "monitor.db"',
        'interval = "1d"',
        "",
    ]
    for i in range(n):
        (pages / f"{i}.txt").write_text(snapshot(i), encoding="utf-8")
        lines += ["[[source]]", f'id = "{source_id(i)}"', f'url = "pages/{i}.txt"', ""]
    (folder / "config.toml").write_text("\n".join(lines), encoding="utf-8")


def edit(folder: Path, n: int) -> int:
    edited = 0
    for i in range(0, n, EDITED):
        (folder / "pages" / f"{i}.txt").write_text(snapshot(i, 1), encoding="utf-8")
        edited += 1
    return edited


# -- processes ------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """pid and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def _pss_kib(pid: int) -> int:
    """Proportional set size: each page shared by n processes counts 1/n in each, so a sum
    over the tree counts every page once (RSS counts the pages a forked worker shares with
    its parent in both)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def timed(cmd: list[str], cwd: Path, repeats: int = 3) -> tuple[float, int, str]:
    """Median wall time, exit status and the output size of a command."""
    times, code, size = [], 0, ""
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - start)
        code, size = proc.returncode, f"{len(proc.stdout) / 1024:.0f} KiB"
        if code not in (0, 1):
            raise RuntimeError(f"{cmd} exited {code}: {proc.stderr[-2000:]!r}")
    return statistics.median(times), code, size


def check_pass(folder: Path) -> dict[str, float]:
    """One `monitor check` pass: wall, CPU, the parent's peak RSS, the largest process's, and
    the largest sum over the process tree, of RSS and of PSS (`_pss_kib`)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*MONITOR, "check", "--changes-only"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak_sum = peak_parent = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_sum, peak_parent, peak_pss
        while not done.is_set():
            pids = _tree(proc.pid)
            peak_sum = max(peak_sum, sum(_status_kib(p, "VmRSS") for p in pids))
            peak_pss = max(peak_pss, sum(_pss_kib(p) for p in pids))
            peak_parent = max(peak_parent, _status_kib(proc.pid, "VmHWM"))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"check exited {code}: {err[-2000:]!r}")
    return {
        "wall_s": time.perf_counter() - start,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "parent_peak_mib": peak_parent / 1024,
        "largest_process_mib": usage.ru_maxrss / 1024,
        "tree_sum_peak_mib": peak_sum / 1024,
        "tree_pss_peak_mib": peak_pss / 1024,
    }


def serve_pages(folder: Path, n: int, change_id: int, last_page: int) -> dict[str, float]:
    proc = subprocess.Popen(
        [*MONITOR, "serve", "--port", "0"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = ""
        deadline = time.monotonic() + 60
        while not base and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if m := re.search(r"http://127\.0\.0\.1:\d+", line):
                base = m.group(0)
        if not base:
            raise RuntimeError("monitor serve printed no URL")
        pages = {
            "healthz (baseline)": "/healthz",
            "changes": "/",
            "changes, page 2": "/?page=2",
            f"changes, page {last_page} (last)": f"/?page={last_page}",
            "changes of a source": f"/?source={source_id(0)}",
            "changes of a kind": "/?kind=teaser_rewritten",
            "sources": "/sources",
            "sources, page 2": "/sources?page=2",
            "sources, last": f"/sources?page={n // 50}",
            "source": f"/sources/{source_id(0)}",
            "change": f"/changes/{change_id}",
            "feed": "/feed.atom",
        }
        out: dict[str, float] = {}
        for name, path in pages.items():
            times = []
            for _ in range(3):
                start = time.perf_counter()
                with urllib.request.urlopen(base + path, timeout=300) as response:
                    body = response.read()
                times.append(time.perf_counter() - start)
            out[name] = statistics.median(times)
            out[name + " KiB"] = len(body) / 1024
        return out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def idle_run(folder: Path, seconds: float = 75.0, settle: float = 15.0) -> dict[str, float]:
    log = (folder / "run.log").open("wb")
    proc = subprocess.Popen(
        [*MONITOR, "run", "--log-level", "warning"], cwd=folder, stdout=log, stderr=log
    )
    start = time.monotonic()
    try:
        time.sleep(settle)
        settled = cpu_seconds(proc.pid)
        time.sleep(seconds - settle)
        total = cpu_seconds(proc.pid)
        status_alive, _, _ = timed([*MONITOR, "status"], folder, repeats=1)
        rss = _status_kib(proc.pid, "VmHWM") / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        log.close()
    if proc.returncode != 0:
        raise RuntimeError(f"run exited {proc.returncode}: {(folder / 'run.log').read_text()}")
    steady = total - settled
    return {
        "cpu_first_15s (start-up)": settled,
        "cpu_first_75s": total,
        "cpu_15_to_75s": steady,
        "core_share_pct": steady / (seconds - settle) * 100,
        "status_with_service_up_s": status_alive,
        "peak_rss_mib": rss,
        "elapsed_s": time.monotonic() - start,
    }


# -- report ---------------------------------------------------------------------------------


def measure(folder: Path, n: int) -> dict[str, Any]:
    results: dict[str, Any] = {"sources": n}
    print(f"first pass over {n} sources ...", flush=True)
    results["first pass"] = check_pass(folder)
    edited = edit(folder, n)
    print(f"second pass, {edited} edited ...", flush=True)
    results["second pass"] = check_pass(folder)
    db = folder / "monitor.db"
    with sqlite3.connect(db) as conn:
        (changes,) = conn.execute("select count(*) from changes").fetchone()
        (change_id,) = conn.execute("select max(id) from changes").fetchone()
    if changes != edited:
        raise RuntimeError(f"{edited} sources edited, {changes} changes stored")

    print("commands ...", flush=True)
    commands: dict[str, Any] = {}
    for name, cmd in {
        "sqlite3 select * from sources (baseline)": ["sqlite3", str(db), "select * from sources"],
        "monitor --version (baseline)": [*MONITOR, "--version"],
        "load config.toml only (baseline)": [MONITOR[0], "-c", LOAD_CONFIG],
        "validate config.toml, no cache": [MONITOR[0], "-c", VALIDATE_CONFIG],
        "status": [*MONITOR, "status"],
        "status --json": [*MONITOR, "status", "--json"],
        "changes": [*MONITOR, "changes"],
        "changes --json": [*MONITOR, "changes", "--json"],
        "changes --limit 50": [*MONITOR, "changes", "--limit", "50"],
    }.items():
        wall, code, size = timed(cmd, folder)
        commands[name] = {"wall_s": wall, "exit": code, "output": size}
    results["commands"] = commands

    print("web pages ...", flush=True)
    results["web"] = serve_pages(folder, n, change_id, max(1, -(-changes // 50)))
    print("idle run, 75 s ...", flush=True)
    results["idle run"] = idle_run(folder)
    return results


PARSE_ONLY = (
    "import tomllib; from pathlib import Path; "
    "tomllib.loads(Path('config.toml').read_text(encoding='utf-8'))"
)
# Fills the database with N discovered sources, through the code being measured.
DISCOVER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from monitor.config.settings import load_settings
from monitor.store.db import Store
from monitor.store.discovered import Candidate, record_found
n = int(sys.argv[1])
settings = load_settings(Path("config.toml"))
store = Store.open(settings.monitor.database)
found = [
    Candidate(f"found-{i:06d}", f"https://warontherocks.com/2026/11/report-{i}/")
    for i in range(n)
]
record_found(store, settings.discover[0], found, now=datetime.now(UTC), configured=[])
store.close()
"""


def config_commands(folder: Path) -> dict[str, Any]:
    """Only what loading the config costs each command: no check pass, no service."""
    commands: dict[str, Any] = {}
    for name, cmd in {
        "monitor --version (baseline)": [*MONITOR, "--version"],
        "tomllib.loads of config.toml alone": [MONITOR[0], "-c", PARSE_ONLY],
        "load config.toml only (baseline)": [MONITOR[0], "-c", LOAD_CONFIG],
        "validate config.toml, no cache": [MONITOR[0], "-c", VALIDATE_CONFIG],
        "status": [*MONITOR, "status"],
        "changes": [*MONITOR, "changes"],
    }.items():
        wall, code, size = timed(cmd, folder)
        commands[name] = {"wall_s": wall, "exit": code, "output": size}
        print(f"  {name}: {wall:.2f} s", flush=True)
    return {"commands": commands}


def build_discovered(folder: Path, n: int) -> None:
    """A config with no [[source]] and one [[discover]], and N sources it found."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(
        '[monitor]\ndatabase = "monitor.db"\n\n[[discover]]\nid = "reports"\n'
        'feed = "https://warontherocks.com/feed/"\nmax_sources = 100000\n',
        encoding="utf-8",
    )
    subprocess.run([MONITOR[0], "-c", DISCOVER, str(n)], cwd=folder, check=True)


def show(results: dict[str, Any], before: dict[str, Any] | None) -> None:
    def old(*path: str) -> Any:
        node: Any = before
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def cell(value: float | None, digits: int = 2) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    n = results["sources"]
    print(f"\n### N = {n:,}\n")
    head = "| measure | before | after |" if before else "| measure | value |"
    rule = "|---|---|---|" if before else "|---|---|"

    def row(name: str, value: float, *path: str, digits: int = 2) -> None:
        if before:
            print(f"| {name} | {cell(old(*path), digits)} | {cell(value, digits)} |")
        else:
            print(f"| {name} | {cell(value, digits)} |")

    print(head + "\n" + rule)
    for phase in ("first pass", "second pass"):
        for key, value in results[phase].items():
            row(f"{phase}: {key}", value, phase, key)
    base = results["commands"]["sqlite3 select * from sources (baseline)"]["wall_s"]
    start = results["commands"]["monitor --version (baseline)"]["wall_s"]
    for name, data in results["commands"].items():
        row(
            f"`{name}` s (exit {data['exit']}, {data['output']})",
            data["wall_s"],
            "commands",
            name,
            "wall_s",
        )
    for key, value in results["idle run"].items():
        row(f"idle run: {key}", value, "idle run", key)
    print("\n| web page | before s | after s | KiB |" if before else "\n| web page | s | KiB |")
    print("|---|---|---|---|" if before else "|---|---|---|")
    web = results["web"]
    for name, value in web.items():
        if name.endswith(" KiB"):
            continue
        size = f"{web[name + ' KiB']:.0f}"
        if before:
            print(f"| {name} | {cell(old('web', name), 3)} | {value:.3f} | {size} |")
        else:
            print(f"| {name} | {value:.3f} | {size} |")
    print("\nratios (same run):")
    config = results["commands"].get("load config.toml only (baseline)", {}).get("wall_s")
    for name in ("status", "status --json", "changes", "changes --json"):
        wall = results["commands"][name]["wall_s"]
        if config:
            print(f"  {name}: {wall - config:.2f} s beyond loading the config")
        print(
            f"  {name}: {wall / base:.1f}x sqlite3 reading every source row,"
            f" {wall / start:.1f}x monitor --version"
        )
    health = web["healthz (baseline)"]
    worst = max((v, k) for k, v in web.items() if not k.endswith(" KiB"))
    print(f"  slowest web page ({worst[1]}): {worst[0] / health:.1f}x /healthz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sources", type=int, default=10_000, choices=(1_000, 10_000, 50_000, 100_000)
    )
    parser.add_argument("--save", type=Path, help="write the figures here as JSON")
    parser.add_argument("--compare", type=Path, help="figures of an earlier run, shown beside")
    parser.add_argument("--keep", action="store_true", help="keep the folder it builds")
    parser.add_argument(
        "--code",
        type=Path,
        help="run the `monitor` package in this folder instead (a baseline: `git archive HEAD "
        "monitor | tar -x -C DIR`), with this checkout's virtualenv",
    )
    parser.add_argument(
        "--config-only",
        action="store_true",
        help="only the commands' cost of reading config.toml: no check pass, web or run",
    )
    parser.add_argument(
        "--discovered",
        action="store_true",
        help="N sources found by one [[discover]] (in the database), none in config.toml; "
        "times `status` and `changes` only",
    )
    args = parser.parse_args()
    if args.code:
        os.environ["PYTHONPATH"] = str(args.code.resolve())
    folder = Path(tempfile.mkdtemp(prefix=f"monitor-scale-{args.sources}-"))
    # The cache of validated settings (`monitor.config.cache`) of this run, not the user's.
    cache = Path(tempfile.mkdtemp(prefix="monitor-scale-cache-"))
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        print(f"building {args.sources} sources in {folder} ...", flush=True)
        if args.discovered:
            build_discovered(folder, args.sources)
            results = config_commands(folder)
        elif args.config_only:
            build(folder, args.sources)
            results = config_commands(folder)
        else:
            build(folder, args.sources)
            results = measure(folder, args.sources)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")
    if args.save:
        args.save.write_text(json.dumps(results, indent=1), encoding="utf-8")
    before = json.loads(args.compare.read_text()) if args.compare else None
    if args.discovered or args.config_only:
        return  # the figures were printed as they came
    show(results, before)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
