"""After an upgrade that reads pages differently, each source's next read becomes its reference:
the difference in reading is never reported as an edit, and real edits after it are."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .conftest import run, source_block, write_config
from .server import LoopServer, Reply
from .store_helpers import database_before

PARAGRAPH = (
    "The alliance between the two states has deepened over the past year, with new agreements "
    "on trade, energy and defence signed at a summit that drew little attention abroad."
)


def page(teaser: str) -> bytes:
    return (
        f"<html><head><title>An article</title></head><body><article><p>{teaser}</p>"
        f"<p>{PARAGRAPH}</p></article></body></html>"
    ).encode()


def check(cfg: Path) -> dict[str, object]:
    result = run(cfg, "check", "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout)[0])


def test_the_first_read_after_the_rules_changed_is_a_new_reference_not_a_change(
    tmp_path: Path, http: LoopServer
) -> None:
    teaser = ["The first wording of the opening"]
    url = http.route("/p", lambda r: Reply(200, page(teaser[0]), {"Content-Type": "text/html"}))
    cfg = write_config(tmp_path, source_block("a", url), seeds=False)
    assert check(cfg)["outcome"] == "new"
    # as the upgrade's migration leaves a source whose version older rules made
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        conn.execute("update sources set rules_changed = 1")
    teaser[0] = "The same page as the new rules read it"
    assert check(cfg)["outcome"] == "rebaselined"
    assert json.loads(run(cfg, "changes", "--json").stdout) == []
    assert not list((tmp_path / "outbox").glob("*.eml"))
    teaser[0] = "A real edit after the upgrade"
    after = check(cfg)
    assert after["outcome"] == "changed"
    assert after["kinds"] == ["teaser_rewritten"]


def test_the_upgrade_marks_every_source_with_a_version_and_no_other(tmp_path: Path) -> None:
    from monitor.store.schema import migrate

    path = tmp_path / "old.db"
    db = database_before(path, "m007")
    db.execute(
        "insert into sources (id, url, created_at, current_version_id) values "
        "('watched', 'u1', 'x', 1), ('never-checked', 'u2', 'x', null)"
    )
    db.conn.commit()
    migrate(db)
    rows = dict(db.execute("select id, rules_changed from sources").fetchall())
    assert rows == {"watched": 1, "never-checked": 0}
