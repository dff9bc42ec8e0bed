"""Database size after S sources x C checks with 10% changing per check, and query times.

.venv/bin/python bench/dbsize.py --sources 10000 --checks 30
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from monitor.detect.compare import compare
from monitor.detect.normalise import normalise
from monitor.detect.regions import Regions
from monitor.store.db import Store
from monitor.store.record import Recipients, record_checks
from monitor.store.rows import CheckResult
from monitor.views.web import create_app

ROOT = Path(__file__).resolve().parent.parent
WORDS = (ROOT / "seeds" / "000_c860228f409f0487.txt").read_text(encoding="utf-8").split()
NOTICE = "Members-Only Content\nThis article is reserved for members."


NOBODY = Recipients({})


def regions(i: int, version: int) -> Regions:
    rng = random.Random(i)
    start = rng.randrange(0, len(WORDS) - 250)
    words = WORDS[start : start + 240]
    if version:
        words[version % 200] = f"edit{version}"
    teaser = normalise(f"Report {i}. " + " ".join(words))
    return Regions(teaser, NOTICE, teaser[:300], "locked")


def timed(cmd: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="monitor-dbsize-"))
    db = folder / "monitor.db"
    (folder / "config.toml").write_text("", encoding="utf-8")
    store = Store.open(db)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"s{i}" for i in range(args.sources)]
    store.sync_sources(((sid, f"https://example.org/{sid}") for sid in ids), now)
    versions = [0] * args.sources
    for i, sid in enumerate(ids):
        store.import_baseline(sid, regions(i, 0), now)
    rng = random.Random(1)
    start = time.perf_counter()
    for check in range(args.checks):
        now += timedelta(hours=1)
        changing = set(rng.sample(range(args.sources), args.sources // 10))
        known = store.known()
        batch = []
        for i, sid in enumerate(ids):
            if i in changing:
                old = regions(i, versions[i])
                versions[i] = check + 1
                new = regions(i, versions[i])
                batch.append(
                    CheckResult(
                        sid,
                        "changed",
                        now,
                        5,
                        200,
                        regions=new,
                        comparison=compare(old, new),
                        base_version_id=known[sid].version_id,
                    )
                )
            else:
                batch.append(CheckResult(sid, "not_modified", now, 3, 304))
            if len(batch) == 100:
                record_checks(store, batch, NOBODY)
                batch = []
        record_checks(store, batch, NOBODY)
    fill = time.perf_counter() - start
    store.conn.execute("pragma wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size
    # bytes per unchanged check: one more round with nothing changing
    now += timedelta(hours=1)
    for k in range(0, args.sources, 100):
        record_checks(
            store,
            [CheckResult(sid, "not_modified", now, 3, 304) for sid in ids[k : k + 100]],
            NOBODY,
        )
    store.conn.execute("pragma wal_checkpoint(TRUNCATE)")
    per_check = (db.stat().st_size - size) / args.sources
    counts = {
        t: store.conn.execute(f"select count(*) from {t}").fetchone()[0]
        for t in ("versions", "checks", "changes")
    }
    store.close()
    monitor = [
        str(Path(sys.executable).parent / "monitor"),
        "--config",
        str(folder / "config.toml"),
    ]
    last = sqlite3.connect(db).execute("select max(id) from changes").fetchone()[0]
    with TestClient(create_app(db)) as client:
        web = []
        for _ in range(5):
            t0 = time.perf_counter()
            assert client.get("/").status_code == 200
            web.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert client.get(f"/changes/{last}").status_code == 200
        web_change = time.perf_counter() - t0
    print(
        f"{args.sources} sources x {args.checks} checks, 10% changing per check "
        f"(filled in {fill:.0f} s): {counts}"
    )
    print(f"database size: {size / 2**20:.1f} MiB")
    print(
        f"growth per unchanged check: {per_check:.0f} bytes (target under 200): "
        f"{'HOLDS' if per_check < 200 else 'MISSED'}"
    )
    print(f"monitor changes --limit 50: {timed([*monitor, 'changes', '--limit', '50']):.2f} s")
    print(
        f"monitor changes --json (all {counts['changes']}): "
        f"{timed([*monitor, 'changes', '--json'], 3):.2f} s"
    )
    print(f"monitor show {last}: {timed([*monitor, 'show', str(last)]):.2f} s")
    print(
        f"web change list (page 1 of {counts['changes'] // 50 + 1}): "
        f"{statistics.median(web) * 1000:.0f} ms; change page {web_change * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
