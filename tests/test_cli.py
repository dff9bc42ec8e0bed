from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.demo.site import Article, PageServer, render

from .conftest import SEED_FILES, run


def test_compare_json_object(tmp_path: Path, seed_texts: list[str]) -> None:
    new = tmp_path / "new.txt"
    new.write_text(seed_texts[0].replace("rare trip", "rare journey", 1), encoding="utf-8")
    result = run(None, "compare", str(SEED_FILES[0]), str(new), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["changed"] is True
    assert data["kinds"] == ["teaser_rewritten"]
    assert data["access"] == {"before": "locked", "after": "locked"}
    assert set(data["regions"]) == {"teaser", "paywall", "description"}
    teaser = data["regions"]["teaser"]
    assert teaser["changed"] is True and "[-trip-]{+journey+}" in teaser["diff"]
    assert data["regions"]["paywall"] == {
        "changed": False,
        "before": data["regions"]["paywall"]["before"],
        "after": data["regions"]["paywall"]["before"],
        "diff": "",
    }
    assert "error" not in data


def test_compare_seed_with_the_live_page_over_http(
    pages: PageServer, seed_articles: list[Article]
) -> None:
    pages.put_article("/a", seed_articles[0])
    result = run(None, "compare", str(SEED_FILES[0]), pages.url("/a"), "--json")
    data = json.loads(result.output)
    assert (result.exit_code, data["changed"], data["kinds"]) == (0, False, [])


def test_compare_html_files_human_output(tmp_path: Path, seed_articles: list[Article]) -> None:
    old, new = tmp_path / "old.html", tmp_path / "new.html"
    old.write_text(render(seed_articles[1]), encoding="utf-8")
    new.write_text(render(seed_articles[1]).replace("11,000", "12,000"), encoding="utf-8")
    result = run(None, "compare", str(old), str(new))
    assert result.exit_code == 0
    assert "[-11,000-]{+12,000+}" in result.output
    assert "Teaser edited" in result.output


def test_compare_unknown_new_capture(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><head><title>Just a moment...</title></head><body></body></html>")
    result = run(None, "compare", str(SEED_FILES[0]), str(empty), "--json")
    data = json.loads(result.output)
    assert result.exit_code == 1  # issue 15, point 6: nothing to compare is a failure
    assert data["changed"] is False
    assert data["access"] == {"before": "locked", "after": "unknown"}
    assert "bot challenge" in data["error"]


def test_compare_unreadable_capture_exits_1(tmp_path: Path) -> None:
    result = run(None, "compare", str(SEED_FILES[0]), str(tmp_path / "missing.txt"))
    assert result.exit_code == 1
    assert "file not found" in result.output


def test_compare_bad_usage_exits_2() -> None:
    assert run(None, "compare", str(SEED_FILES[0])).exit_code == 2


def test_show_unknown_change(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    result = run(config, "show", "42")
    assert result.exit_code == 2  # issue 15, point 6: a wrong id is bad usage
    assert "no change with id 42" in result.output


def _monitor() -> list[str]:
    script = shutil.which("monitor", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "monitor"]


@pytest.mark.parametrize("entry", ["script", "module"])
def test_installed_entry_points(entry: str) -> None:
    cmd = _monitor() if entry == "script" else [sys.executable, "-m", "monitor"]
    result = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("compare", "check", "history", "changes", "show", "demo"):
        assert command in result.stdout


def test_demo_runs_offline_and_reports_both_changes(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
    }
    result = subprocess.run(
        [*_monitor(), "demo", "--dir", str(tmp_path / "d")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Teaser edited" in out and "[-took-]{+made+} a rare [-trip-]{+journey+}" in out
    assert "Paywall lifted" in out and "locked → free" in out
    # the demo's database is a real one the other commands can read
    changes = run(tmp_path / "d" / "config.toml", "changes", "--json")
    assert sorted(k for c in json.loads(changes.output) for k in c["kinds"]) == [
        "access_changed",
        "teaser_length_changed",
        "teaser_rewritten",
    ]
    # everything the demo wrote is in its --dir, nothing in the folder it ran from
    assert [p.name for p in tmp_path.iterdir()] == ["d"]
