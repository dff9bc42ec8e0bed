"""Crashes, a full disk and a locked database: the database stays consistent and nothing that
was committed is lost."""

from __future__ import annotations

import json
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.demo.site import Article, PageServer

from .conftest import SEED_FILES, run, source_block, write_config
from .service_helpers import RunningService
from .smtp_helpers import Mailbox, smtp_server

KILLS = int(__import__("os").environ.get("MONITOR_CRASH_KILLS", "20"))


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql).fetchall()


def test_sigkill_at_random_moments_loses_nothing(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    rng = random.Random(20261123)
    sources = 50
    article = seed_articles[0]
    for i in range(sources):
        pages.put_article(f"/p{i}", replace(article, chrome=i))
    stop = threading.Event()

    def publisher() -> None:  # pages keep changing while the service runs and dies
        n = 0
        while not stop.wait(0.15):
            n += 1
            i = rng.randrange(sources)
            teaser = article.teaser.replace("rare trip", f"rare trip number {n}")
            pages.put_article(f"/p{i}", replace(article, teaser=teaser, chrome=n))

    box = Mailbox()
    with smtp_server(box) as port:
        body = (
            '[monitor]\ninterval = "1s"\nretries = 0\n\n'
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'to = ["desk@example.org"]\nbackoff = "1s"\n\n'
        ) + "".join(source_block(f"p{i}", pages.url(f"/p{i}")) for i in range(sources))
        config = write_config(tmp_path, body, seeds=False)
        db = tmp_path / "monitor.db"
        thread = threading.Thread(target=publisher, daemon=True)
        thread.start()
        committed: set[int] = set()
        lives = 0
        life = 1.0  # a life's scale: longer after a life that recorded no change, shorter after one
        try:
            # KILLS kills; on a loaded machine, whose services start slowly, more (bounded)
            # until the kills have cut into the recording of at least ten changes
            while lives < KILLS or (len(committed) < 10 and lives < 3 * KILLS):
                lives += 1
                service = RunningService(config)
                time.sleep(rng.uniform(0.4, 1.6) * life)
                service.proc.send_signal(signal.SIGKILL)
                service.proc.wait(10)
                assert query(db, "pragma integrity_check") == [("ok",)]
                # A pass holds its changes to its end, for their confirming requests: on a
                # machine so loaded that no life of a fixed length reaches that end, the kills
                # would go on without ever cutting into a change's recording.
                if not query(db, "select 1 from sqlite_master where name = 'changes'"):
                    life = min(life * 1.5, 4.0)
                    continue  # killed before it made its schema (the next one makes it)
                changes = {int(r[0]) for r in query(db, "select id from changes")}
                assert committed <= changes  # every committed change is still there
                life = max(life / 1.5, 1.0) if changes - committed else min(life * 1.5, 4.0)
                committed = changes
                orphans = query(
                    db,
                    "select count(*) from changes c where not exists"
                    " (select 1 from alerts a where a.change_id = c.id)",
                )
                assert orphans == [(0,)]  # and each has its alert
                received = {str(m["Message-ID"]) for _, m in box.received}
                marked = {
                    str(r[0])
                    for r in query(db, "select message_id from alerts where status = 'sent'")
                }
                assert marked <= received  # nothing marked sent that the server did not get
        finally:
            stop.set()
            thread.join(5)
        assert len(committed) >= 10, "the kills came before the service recorded much"
        # Let a last run deliver everything still queued, then stop it cleanly.
        service = RunningService(config)
        service.wait_for(
            lambda: query(db, "select count(*) from alerts where status != 'sent'") == [(0,)],
            timeout=60,
        )
        assert service.stop() == 0
    ids = [str(m["Message-ID"]) for _, m in box.received]
    expected = {str(r[0]) for r in query(db, "select message_id from alerts")}
    assert expected <= set(ids)  # every change's alert arrived
    assert len(ids) - len(set(ids)) <= lives  # duplicates only from kills, same Message-ID
    assert query(db, "select count(*) from alerts where status = 'failed'") == [(0,)]


def _limited(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_fails_the_check_cleanly_and_recovers(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    article = seed_articles[0]
    pages.put_article("/a", article)
    config = write_config(tmp_path, source_block("a", pages.url("/a"), SEED_FILES[0].name))
    db = tmp_path / "monitor.db"
    assert run(config, "check").exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("pragma wal_checkpoint(TRUNCATE)")
    huge = " ".join(f"word{i}" for i in range(60_000))  # a change far larger than the room left
    pages.put_article("/a", replace(article, teaser=huge))
    limit = db.stat().st_size + 4096
    cmd = [sys.executable, "-m", "monitor", "--config", str(config), "check", "--json"]
    full = subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, preexec_fn=_limited(limit)
    )
    assert full.returncode == 1, full.stderr
    out = json.loads(full.stdout)[0]
    assert out["outcome"] == "error" and "could not store" in out["error"]
    assert "Traceback" not in full.stderr
    assert query(db, "pragma integrity_check") == [("ok",)]
    assert query(db, "select count(*) from changes") == [(0,)]
    # space is back: the same change is found and stored
    again = json.loads(run(config, "check", "--json").stdout)[0]
    assert again["outcome"] == "changed"


def test_a_locked_database_is_waited_for(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    pages.put_article("/a", seed_articles[0])
    config = write_config(tmp_path, source_block("a", pages.url("/a"), SEED_FILES[0].name))
    db = tmp_path / "monitor.db"
    run(config, "check")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('begin exclusive'); print('locked', flush=True); time.sleep(2)\n"
            "c.execute('commit')",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    pages.put_article("/a", replace(seed_articles[0], teaser="Entirely new. " * 30))
    result = run(config, "check", "--json")
    holder.wait(10)
    assert json.loads(result.stdout)[0]["outcome"] == "changed"
    assert query(db, "select count(*) from changes") == [(1,)]


@pytest.mark.parametrize(
    ("args", "status", "shown"),
    [
        (["changes"], 0, "no changes"),
        (["history", "a"], 0, "#1 "),
        # exit 1 because no service runs; the source's row shows the database was read
        (["status"], 1, "a       every 1h  healthy"),
    ],
)
def test_readers_work_while_a_writer_holds_the_lock(
    tmp_path: Path,
    pages: PageServer,
    seed_articles: list[Article],
    args: list[str],
    status: int,
    shown: str,
) -> None:
    pages.put_article("/a", seed_articles[0])
    config = write_config(tmp_path, source_block("a", pages.url("/a"), SEED_FILES[0].name))
    run(config, "check")
    with sqlite3.connect(tmp_path / "monitor.db", isolation_level=None) as conn:
        conn.execute("begin immediate")
        conn.execute("update sources set title = 'x'")
        result = run(config, *args)
        conn.execute("rollback")
    assert result.exit_code == status, result.output
    assert shown in result.output
    assert "database is locked" not in result.output
