"""Real article pages: CPU per check and false alerts, monitor against urlwatch, in one run.

    .venv/bin/python bench/realpages.py                 # about 600 sources
    .venv/bin/python bench/realpages.py --n 300 --no-urlwatch

Every page of the corpus (`tests/corpus`) is served from loopback in several copies, without
validators (so every check fetches and extracts the whole page), and every tool runs four cycles:
baseline (all new), unchanged, chrome (every page gets one of its chrome-only edits: a date,
related links, share counts, a nonce... nothing in the article changed) and edited (10% of the
pages get a three-word teaser edit). Printed: wall and CPU time, CPU milliseconds per check, and
what each tool reported against what it should have. urlwatch watches each page with the
`html2text` filter, as its documentation suggests for HTML pages.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from tools import Monitor, Run, Urlwatch  # noqa: E402
from website import PythonServer  # noqa: E402

from tests.corpus.variants import load_corpus, make_variants  # noqa: E402

CYCLES = ("baseline", "unchanged", "chrome", "edited")


class UrlwatchPages(Urlwatch):
    """urlwatch with a filter that fits any page (the bench site's selectors fit only it)."""

    def __init__(self, folder: Path, urls: dict[str, str]) -> None:
        super().__init__(folder, urls)
        jobs = [f"name: {sid}\nurl: {url}\nfilter:\n  - html2text\n" for sid, url in urls.items()]
        (folder / "urls.yaml").write_text("---\n".join(jobs), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=600, help="sources (copies of the pages)")
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    corpus = load_corpus()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="monitor-realpages-"))
    site = work / "site" / "rotating"
    site.mkdir(parents=True)
    entries = [(i % len(corpus), f"p{i}") for i in range(args.n)]
    variants = {index: make_variants(page, truth) for index, (truth, page) in enumerate(corpus)}
    edited = {sid for _, sid in rng.sample(entries, max(1, args.n // 10))}
    editable = {
        sid
        for index, sid in entries
        if sid in edited and any(v.name == "teaser_edit" for v in variants[index])
    }

    def write(cycle: str) -> None:
        for index, sid in entries:
            page = corpus[index][1]
            if cycle == "chrome":
                chrome = [v for v in variants[index] if not v.expect]
                page = chrome[rng.randrange(len(chrome))].html if chrome else page
            elif cycle == "edited" and sid in editable:
                page = next(v.html for v in variants[index] if v.name == "teaser_edit")
            (site / f"{sid}.html").write_text(page, encoding="utf-8")

    server = PythonServer(work / "site")
    urls = {sid: server.url(f"/rotating/{sid}.html") for _, sid in entries}
    tools: list[Monitor | Urlwatch] = [Monitor(work / "monitor", urls, per_host=2)]
    if not args.no_urlwatch:
        tools.append(UrlwatchPages(work / "urlwatch", urls))
    print(f"{len(corpus)} corpus pages served as {args.n} sources; {len(editable)} edited\n")
    print("| cycle | tool | wall s | CPU s | CPU ms per check | changes reported | errors |")
    print("|---|---|---|---|---|---|---|")
    try:
        for cycle in CYCLES:
            write(cycle)
            for tool in tools:
                run: Run = tool.cycle()
                expected = len(editable) if cycle == "edited" else 0
                reported = len(run.changed) if cycle != "baseline" else len(run.new)
                want = args.n if cycle == "baseline" else expected
                print(
                    f"| {cycle} | {tool.name} | {run.wall:.2f} | {run.cpu:.2f} | "
                    f"{run.cpu / args.n * 1000:.2f} | {reported} (right: {want}) | {run.errors} |"
                )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
