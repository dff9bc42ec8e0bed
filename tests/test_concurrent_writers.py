"""Two writers at once (`monitor check` beside another `check`, or beside `monitor run`): every
edit is recorded once, and no change leads from a version to itself."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from monitor.demo.site import Article, PageServer

from .conftest import SEED_FILES, run, source_block, write_config

SOURCES = 12


def test_two_checks_at_once_record_each_edit_once(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    article = seed_articles[0]
    blocks = []
    for i in range(SOURCES):
        pages.put_article(f"/a{i}", article)
        blocks.append(source_block(f"s{i}", pages.url(f"/a{i}"), SEED_FILES[0].name))
    config = write_config(tmp_path, "".join(blocks))
    assert run(config, "check").exit_code == 0
    cmd = [sys.executable, "-m", "monitor", "--config", str(config), "check"]
    for edit in range(3):
        for i in range(SOURCES):
            pages.put_article(f"/a{i}", replace(article, teaser=f"{article.teaser} edit {edit}"))
        both = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
        for process in both:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err.decode()
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        changes = conn.execute("select count(*) from changes").fetchone()[0]
        to_itself = conn.execute(
            "select count(*) from changes where from_version_id = to_version_id"
        ).fetchone()[0]
        alerts = conn.execute("select count(*) from alerts").fetchone()[0]
    assert (changes, to_itself) == (SOURCES * 3, 0)
    assert alerts == changes  # one recipient (the `from` address) per change, none doubled
