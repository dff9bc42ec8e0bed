"""monitor against urlwatch and a fetch-only lower bound, measured side by side in one run.

    .venv/bin/python bench/run.py                      # N = 1,000 and 10,000, all variants
    .venv/bin/python bench/run.py --n 1000 --repeats 3 --variants static,rotating,latency

Every tool starts from an empty state and runs three cycles: baseline (all pages new),
unchanged, and mutated (10% of teasers edited). Loopback only; writes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tools import LowerBound, Monitor, Run, Urlwatch
from website import Nginx, PythonServer, Site

CYCLES = ("baseline", "unchanged", "mutated")
# In the latency variant: monitor's limits raised to this, and a second run at the defaults.
LATENCY_LIMIT = 32
DEFAULT_LIMITS = "monitor, concurrency 16"
HERE = Path(__file__).resolve().parent
NOTES = "<!-- Notes by hand: run.py rewrites what is above this line and keeps what follows. -->"


def correct(tool: str, cycle: str, run: Run, ids: set[str], mutated: set[str]) -> str:
    if tool == "lower bound":
        return "n/a"
    if run.errors:
        return f"NO ({run.errors} errors)"
    want_new, want_changed = (ids, set()) if cycle == "baseline" else (set(), set())
    if cycle == "mutated":
        want_changed = mutated
    ok = run.new == want_new and run.changed == want_changed
    return "yes" if ok else f"NO (new {len(run.new)}, changed {len(run.changed)})"


def one_round(variant: str, n: int, work: Path, tools: list[str]) -> dict[tuple[str, str], Run]:
    """Each tool gets pages of its own, the same pages, and the tools take turns cycle by
    cycle: a slower spell of the shared machine then weighs on all of them alike, not on the
    one whose three cycles it happened to cover. The pages just written are on disk before a
    cycle starts, so that their write-back does not fall on whichever tool runs first."""
    pages = work / "pages"
    sites = {tool: Site(n, pages / _slug(tool)) for tool in tools}
    server: Nginx | PythonServer
    if variant == "latency":
        server = PythonServer(pages, delay=0.1)
        kind = "static"
    else:
        server = Nginx(pages) if shutil.which("nginx") else PythonServer(pages)
        kind = "rotating" if variant == "rotating" else "static"
    results: dict[tuple[str, str], Run] = {}
    mutated: set[str] = set()
    try:
        runners: dict[str, Monitor | Urlwatch | LowerBound] = {}
        for tool in tools:
            ids = {f"p{i}": server.url(f"/{_slug(tool)}/{kind}/p{i}.html") for i in range(n)}
            folder = work / _slug(tool)
            if tool == "monitor" and variant == "latency":
                # one slow host: the per-host limit raised to the global one, both to 32
                runners[tool] = Monitor(
                    folder, ids, per_host=LATENCY_LIMIT, concurrency=LATENCY_LIMIT
                )
            elif tool == DEFAULT_LIMITS:  # the same at the default global limit, 16
                runners[tool] = Monitor(folder, ids, per_host=16, concurrency=16)
            elif tool == "monitor":
                runners[tool] = Monitor(folder, ids, per_host=2)
            elif tool == "urlwatch":
                runners[tool] = Urlwatch(folder, ids)
            else:
                runners[tool] = LowerBound(folder, ids)
        names = {f"p{i}" for i in range(n)}
        for cycle in CYCLES:
            if cycle == "mutated":
                for site in sites.values():  # the same pages edited on every tool's site
                    mutated = {f"p{i}" for i in site.mutate(0.10, seed=n)}
            os.sync()
            for tool in tools:
                run = runners[tool].cycle()
                run.correct = correct(tool, cycle, run, names, mutated)
                results[(tool, cycle)] = run
    finally:
        server.stop()
    return results


def _slug(tool: str) -> str:
    return tool.replace(" ", "-").replace(",", "")


def median_runs(rounds: list[dict[tuple[str, str], Run]]) -> dict[tuple[str, str], Run]:
    merged = {}
    for key in rounds[0]:
        runs = [r[key] for r in rounds]
        m = Run(
            statistics.median(r.wall for r in runs),
            statistics.median(r.cpu for r in runs),
            max(r.rss_mib for r in runs),
        )
        m.correct = "; ".join(sorted({r.correct for r in runs}))
        merged[key] = m
    return merged


def table(title: str, res: dict[tuple[str, str], Run], tools: list[str]) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| cycle | tool | wall s | CPU s | peak RSS MiB | correct |",
        "|---|---|---|---|---|---|",
    ]
    for cycle in CYCLES:
        for tool in tools:
            r = res[(tool, cycle)]
            lines.append(
                f"| {cycle} | {tool} | {r.wall:.2f} | {r.cpu:.2f} | {r.rss_mib:.0f} | {r.correct} |"
            )
    lines += ["", "| cycle | monitor / urlwatch | monitor / lower bound |", "|---|---|---|"]
    for cycle in CYCLES:
        mon = res[("monitor", cycle)].wall
        uw = res.get(("urlwatch", cycle))
        lb = res.get(("lower bound", cycle))
        lines.append(
            f"| {cycle} | {mon / uw.wall:.2f} | {mon / lb.wall:.2f} |"
            if uw and lb
            else f"| {cycle} | - | - |"
        )
    return [*lines, ""]


def targets(variant: str, n: int, res: dict[tuple[str, str], Run]) -> list[str]:
    out = []
    for cycle in CYCLES:
        mon = res[("monitor", cycle)]
        out.append(f"- {variant} N={n} {cycle}: monitor correct: {mon.correct}")
        if ("urlwatch", cycle) in res:
            factor = 2 if variant == "latency" else 3
            ratio = res[("urlwatch", cycle)].wall / mon.wall
            out.append(
                f"- {variant} N={n} {cycle}: at least {factor}x faster than urlwatch: "
                f"{'HOLDS' if ratio >= factor else 'MISSED'} ({ratio:.2f}x)"
            )
        if ("lower bound", cycle) in res and variant == "static":
            lb = res[("lower bound", cycle)].wall
            if cycle == "baseline":
                verdict = mon.wall <= 1.5 * lb
                out.append(
                    f"- {variant} N={n} baseline within 1.5x of the lower bound: "
                    f"{'HOLDS' if verdict else 'MISSED'} ({mon.wall / lb:.2f}x)"
                )
            if cycle == "unchanged":
                verdict = mon.wall < lb
                out.append(
                    f"- {variant} N={n} unchanged below the lower bound: "
                    f"{'HOLDS' if verdict else 'MISSED'} ({mon.wall / lb:.2f}x)"
                )
    return out


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    nginx = (
        subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        if shutil.which("nginx")
        else "no nginx: pages served by the asyncio fallback server"
    )
    import httpcore
    import httpx

    from monitor import __version__

    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {cpu}, {os.cpu_count()} cores",
        f"- Python {platform.python_version()}, monitor {__version__}, "
        f"httpcore {httpcore.__version__} (monitor), httpx {httpx.__version__} (lower bound), "
        f"urlwatch 2.29, {nginx}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repeats-large", type=int, default=1, help="repeats at N >= 5,000")
    parser.add_argument("--variants", default="static,rotating,latency")
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    if args.output.exists() and NOTES not in args.output.read_text(encoding="utf-8"):
        # Everything below the marker is kept; a file without it would lose all its notes.
        sys.exit(f"{args.output} has no line {NOTES!r}: add it above the notes to keep them")
    tools = ["monitor", "lower bound"] + ([] if args.no_urlwatch else ["urlwatch"])
    # Installed packages carry their bytecode (pip compiled urlwatch's); so does this checkout.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "monitor")])
    report = ["# Benchmark results", "", *machine(), ""]
    verdicts: list[str] = []
    for variant in args.variants.split(","):
        sizes = [200] if variant == "latency" else args.n
        for n in sizes:
            rounds = []
            repeats = args.repeats if n < 5000 else args.repeats_large
            used = [*tools[:1], DEFAULT_LIMITS, *tools[1:]] if variant == "latency" else tools
            for r in range(repeats):
                with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
                    print(f"{variant} N={n} round {r + 1}/{repeats}", flush=True)
                    rounds.append(one_round(variant, n, Path(tmp), used))
            res = median_runs(rounds)
            lines = table(f"{variant}, N = {n} (median of {repeats})", res, used)
            print("\n".join(lines), flush=True)
            report += lines
            verdicts += targets(variant, n, res)
    report += ["## Targets", "", *verdicts, ""]
    print("\n".join(verdicts))
    # The notes written by hand after the marker (other targets, where the time goes) stay.
    notes = ""
    if args.output.exists():
        _, found, notes = args.output.read_text(encoding="utf-8").partition(NOTES)
        notes = found + notes
    args.output.write_text("\n".join(report) + "\n" + notes, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
