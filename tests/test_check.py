"""`monitor check` end to end: a real loopback server, a real database, the real command line."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.demo.site import Article, PageServer

from .conftest import SEED_FILES, run, source_block, write_config

PATHS = ("/2023/09/threat", "/2024/11/allies")


def count(db: Path, table: str, where: str = "1=1") -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"select count(*) from {table} where {where}").fetchone()[0])


@pytest.fixture
def setup(tmp_path: Path, pages: PageServer, seed_articles: list[Article]) -> Path:
    for path, article in zip(PATHS, seed_articles, strict=True):
        pages.put_article(path, article)
    body = "[monitor]\nretries = 0\n\n" + "".join(
        source_block(sid, pages.url(path), seed.name)
        for sid, path, seed in zip(("threat", "allies"), PATHS, SEED_FILES, strict=True)
    )
    return write_config(tmp_path, body)


def check_json(config: Path, *args: str) -> list[dict[str, object]]:
    result = run(config, "check", "--json", *args)
    out: list[dict[str, object]] = json.loads(result.stdout)
    # exit 1 exactly when a check failed
    assert result.exit_code == int(any(r["outcome"] == "error" for r in out)), result.output
    return out


def test_first_check_imports_the_baseline_and_finds_no_change(setup: Path) -> None:
    db = setup.parent / "monitor.db"
    out = check_json(setup)
    assert out == [
        {"source": "threat", "outcome": "unchanged", "change_id": None, "kinds": [], "error": None},
        {"source": "allies", "outcome": "unchanged", "change_id": None, "kinds": [], "error": None},
    ]
    assert count(db, "versions") == 2
    assert count(db, "versions", "origin = 'baseline'") == 2
    assert count(db, "checks") == 2
    # again: checks only, and the stored ETag gives a 304
    out = check_json(setup)
    assert [r["outcome"] for r in out] == ["not_modified", "not_modified"]
    assert count(db, "versions") == 2
    assert count(db, "checks") == 4
    assert count(db, "changes") == 0


def test_without_validators_an_unchanged_page_is_unchanged(
    setup: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    check_json(setup)
    # chrome rotates on every response: new ETag, same regions
    for i in range(1, 4):
        pages.put_article(PATHS[0], replace(seed_articles[0], chrome=i))
        assert check_json(setup, "threat")[0]["outcome"] == "unchanged"
    assert count(setup.parent / "monitor.db", "versions") == 2


def test_edit_is_stored_listed_and_shown(
    setup: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    check_json(setup)
    edited = replace(seed_articles[0], teaser=seed_articles[0].teaser.replace("trip", "journey"))
    pages.put_article(PATHS[0], edited)
    out = check_json(setup)
    assert out[0]["outcome"] == "changed"
    assert out[0]["kinds"] == ["teaser_rewritten"]
    change_id = out[0]["change_id"]
    assert isinstance(change_id, int)
    assert out[1]["outcome"] == "not_modified"

    changes = json.loads(run(setup, "changes", "--json").output)
    assert changes == [
        {
            "id": change_id,
            "source": "threat",
            "detected_at": changes[0]["detected_at"],
            "kinds": ["teaser_rewritten"],
            "access": {"before": "locked", "after": "locked"},
            "reviewed": False,
            "revert_to": None,
        }
    ]
    assert changes[0]["detected_at"].endswith("Z")
    assert json.loads(run(setup, "changes", "--json", "--kind", "access_changed").output) == []
    assert json.loads(run(setup, "changes", "--json", "--source", "allies").output) == []
    assert json.loads(run(setup, "changes", "--json", "--since", "2999-01-01").output) == []
    assert len(json.loads(run(setup, "changes", "--json", "--since", "2000-01-01").output)) == 1

    shown = run(setup, "show", str(change_id))
    assert shown.exit_code == 0
    assert "[-trip-]{+journey+}" in shown.output
    assert "Teaser edited" in shown.output
    history = run(setup, "history", "threat")
    assert "baseline" in history.output and "Teaser edited" in history.output


def test_flapping_is_a_return_to_an_earlier_version(
    setup: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    db = setup.parent / "monitor.db"
    check_json(setup, "threat")
    original = seed_articles[0]
    pages.put_article(PATHS[0], replace(original, teaser=original.teaser.replace("three", "four")))
    first = check_json(setup, "threat")[0]
    pages.put_article(PATHS[0], replace(original, chrome=5))
    back = check_json(setup, "threat")[0]
    assert back["outcome"] == "changed"
    change = json.loads(run(setup, "changes", "--json").output)[0]
    assert change["id"] == back["change_id"] != first["change_id"]
    assert change["revert_to"] == 1  # the baseline
    assert count(db, "versions", "source_id = 'threat'") == 2
    assert "returns to version #1" in run(setup, "show", str(back["change_id"])).output


def test_paywall_lifted(setup: Path, pages: PageServer, seed_articles: list[Article]) -> None:
    check_json(setup)
    article = seed_articles[1]
    pages.put_article(
        PATHS[1], replace(article, locked=False, teaser=article.teaser + " More text.")
    )
    out = check_json(setup, "allies")[0]
    assert out["kinds"] == ["access_changed", "teaser_length_changed"]
    shown = run(setup, "show", str(out["change_id"])).output
    assert "Paywall lifted" in shown and "locked → free" in shown


@pytest.mark.parametrize(
    "status, body, reason",
    [
        (404, "<html><title>Page not found</title></html>", "HTTP 404"),
        (
            200,
            "<html><head><title>Just a moment...</title></head><body></body></html>",
            "bot challenge",
        ),
        (200, "", "no article text"),
    ],
)
def test_failures_are_failed_checks_not_changes(
    setup: Path,
    pages: PageServer,
    seed_articles: list[Article],
    status: int,
    body: str,
    reason: str,
) -> None:
    db = setup.parent / "monitor.db"
    check_json(setup, "threat")
    pages.put(PATHS[0], body, status=status)
    result = run(setup, "check", "threat")
    assert result.exit_code == 1
    assert reason in result.output
    assert count(db, "checks", "outcome = 'error'") == 1
    assert count(db, "changes") == 0
    assert count(db, "sources", "consecutive_failures = 1") == 1
    # the next good response is compared with the last good version
    pages.put_article(PATHS[0], replace(seed_articles[0], chrome=3))
    assert check_json(setup, "threat")[0]["outcome"] == "unchanged"
    assert count(db, "sources", "id = 'threat' and consecutive_failures = 0") == 1


def test_dry_run_stores_nothing(
    setup: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    db = setup.parent / "monitor.db"
    check_json(setup)
    pages.put_article(PATHS[0], replace(seed_articles[0], teaser="Something else entirely. " * 10))
    out = check_json(setup, "--dry-run")
    assert out[0]["outcome"] == "changed" and out[0]["change_id"] is None
    assert (count(db, "checks"), count(db, "versions"), count(db, "changes")) == (2, 2, 0)


def test_dry_run_on_a_fresh_database_compares_with_the_baseline(setup: Path) -> None:
    out = check_json(setup, "--dry-run")
    assert [r["outcome"] for r in out] == ["unchanged", "unchanged"]
    assert not (setup.parent / "monitor.db").exists()  # not even an empty one


def test_unknown_source_id_is_a_usage_error(setup: Path) -> None:
    result = run(setup, "check", "nope")
    assert result.exit_code == 2
    assert "no source with id 'nope'" in result.output


def test_source_without_baseline_starts_with_new(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    pages.put_article("/x", seed_articles[0])
    config = write_config(tmp_path, source_block("x", pages.url("/x")))
    assert check_json(config)[0]["outcome"] == "new"
    assert check_json(config)[0]["outcome"] == "not_modified"


def test_local_capture_files_as_sources(tmp_path: Path, seed_texts: list[str]) -> None:
    (tmp_path / "captures").mkdir()
    capture = tmp_path / "captures" / "now.txt"
    capture.write_text(seed_texts[0].replace("three experts", "four experts"), encoding="utf-8")
    config = write_config(tmp_path, source_block("local", "captures/now.txt", SEED_FILES[0].name))
    out = check_json(config)[0]
    assert (out["outcome"], out["kinds"]) == ("changed", ["teaser_rewritten"])


def test_a_paywall_selector_that_stops_matching_is_not_a_lifted_paywall(
    setup: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    from monitor.demo.site import render

    check_json(setup, "threat")
    page = render(replace(seed_articles[0], chrome=2))
    # the site renames its paywall block and drops the heading: same teaser, no notice found
    broken = page.replace("mepr-unauthorized-message", "mp-gate").replace(
        "<h3>Members-Only Content</h3>", ""
    )
    pages.put(PATHS[0], broken)
    result = run(setup, "check", "threat")
    assert result.exit_code == 1
    assert "regions stopped matching" in result.output
    assert count(setup.parent / "monitor.db", "changes") == 0


def test_binary_and_huge_bodies_are_failed_checks(setup: Path, pages: PageServer) -> None:
    pages.put(PATHS[0], b"\x89PNG\r\n\x1a\n\0\0" + bytes(range(256)) * 8)
    pages.put(PATHS[1], "<p>" + "x" * (6 * 1024 * 1024) + "</p>")
    out = check_json(setup)
    assert [r["outcome"] for r in out] == ["error", "error"]
    assert "binary" in str(out[0]["error"]) and "limit" in str(out[1]["error"])


def test_a_large_pass_uses_worker_processes_and_finds_the_same(
    tmp_path: Path,
    pages: PageServer,
    seed_articles: list[Article],
) -> None:
    from monitor.service.check import PROCESS_THRESHOLD

    from .process_helpers import HAVE_PROC, watching_children

    n = PROCESS_THRESHOLD + 10
    for i in range(n):
        pages.put_article(f"/p{i}", replace(seed_articles[i % 2], chrome=i))
    body = "[monitor]\nretries = 0\n\n" + "".join(
        source_block(f"p{i}", pages.url(f"/p{i}")) for i in range(n)
    )
    config = write_config(tmp_path, body, seeds=False)
    with watching_children() as started:
        assert {r["outcome"] for r in check_json(config)} == {"new"}
    if HAVE_PROC:  # a fork server and a worker per core checked the pages
        assert len(started) >= 2
    edited = replace(seed_articles[1], teaser=seed_articles[1].teaser.replace("three", "four"))
    pages.put_article("/p7", replace(edited, chrome=7))
    out = check_json(config)
    changed = [r for r in out if r["outcome"] == "changed"]
    assert [r["source"] for r in changed] == ["p7"]
    assert changed[0]["kinds"] == ["teaser_rewritten"]
    assert {r["outcome"] for r in out} - {"changed"} == {"not_modified"}
    assert count(tmp_path / "monitor.db", "versions") == n + 1


def test_units_of_work_keep_their_size_while_many_checks_are_left_and_shrink_at_the_end() -> None:
    from monitor.service.check import _LAST, unit_size

    sizes, left = [], 1000
    while left:
        take = min(left, unit_size(32, left, 4))
        sizes.append(take)
        left -= take
    assert sizes[:10] == [32] * 10
    assert sizes == sorted(sizes, reverse=True)  # never larger again
    assert min(sizes[:-1]) == _LAST and sizes.count(_LAST) > 1  # the end goes in small units
    assert unit_size(1, 1000, 4) == 1  # threads take one check at a time, to the end


def test_a_pass_keeps_only_the_results_asked_for_and_reports_every_one(
    setup: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    from monitor.app import open_app
    from monitor.config.settings import load_settings

    settings = load_settings(setup)
    with open_app(settings) as app:
        app.checker.check(settings.sources)  # the baselines
        edited = seed_articles[1]
        pages.put_article(PATHS[1], replace(edited, teaser=edited.teaser + " One more line."))
        seen: list[tuple[str, str]] = []
        kept = app.checker.check(
            settings.sources,
            on_result=lambda r: seen.append((r.source_id, r.outcome)),
            keep=lambda r: r.outcome == "changed",
        )
        assert [(r.source_id, r.outcome) for r in kept] == [("allies", "changed")]
        assert kept[0].change_id is not None
        assert sorted(seen) == [("allies", "changed"), ("threat", "not_modified")]
        # what a pass keeps of a recorded check: not the page nor the response's details
        assert (kept[0].regions, kept[0].url, kept[0].etag) == (None, None, None)
        # sources a cancelled pass never started are reported too, and kept as asked
        app.fetcher.cancel.set()
        seen.clear()
        kept = app.checker.check(
            settings.sources,
            on_result=lambda r: seen.append((r.source_id, r.outcome)),
            keep=lambda r: r.source_id == "threat",
        )
        assert seen == [("threat", "cancelled"), ("allies", "cancelled")]
        assert [(r.source_id, r.outcome) for r in kept] == [("threat", "cancelled")]
    assert count(setup.parent / "monitor.db", "changes") == 1


def test_a_wall_gone_where_the_paywall_class_stays_is_a_metered_page(
    tmp_path: Path, pages: PageServer
) -> None:
    story = (
        "<p>The harbour board voted on Monday to close the old ferry terminal, ending a service "
        "that has carried commuters across the bay for more than eighty years.</p>"
        "<p>Board members said repairs to the pier would cost more than a new terminal.</p>"
    )
    more = "<p>Residents who rely on the ferry said they had not been asked before the vote.</p>"
    wall = '<div class="story-login"><h3>Subscribe to continue reading this article</h3></div>'

    def at(body: str) -> str:
        return (
            "<html><head><title>Ferry</title></head><body class='paywall'>"
            f"<article><h1>Ferry</h1>{body}</article></body></html>"
        )

    pages.put("/ferry", at(story + wall))
    config = write_config(
        tmp_path, "[monitor]\nretries = 0\n" + source_block("ferry", pages.url("/ferry"))
    )
    assert check_json(config)[0]["outcome"] == "new"
    pages.put("/ferry", at(story + more))
    out = check_json(config)[0]
    assert out["kinds"] == ["access_changed", "teaser_length_changed"]
    shown = run(config, "show", str(out["change_id"])).output
    assert "Paywall now metered" in shown and "locked → metered" in shown


def test_a_source_whose_url_changed_takes_its_new_page_as_reference_with_no_alert(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """An outside reviewer's reload: the config points a source at another address. Its next
    reading is `rebaselined` (no change, no email); an edit there after it is a change."""
    first, other = seed_articles[0], seed_articles[1]
    pages.put_article("/a", first)
    pages.put_article("/b", other)
    email = '[email]\nto = ["desk@example.org"]\n\n'
    config = write_config(tmp_path, email + source_block("s", pages.url("/a")), seeds=False)
    assert json.loads(run(config, "check", "--json").stdout)[0]["outcome"] == "new"
    config.write_text(email + source_block("s", pages.url("/b")), encoding="utf-8")
    moved = json.loads(run(config, "check", "--json").stdout)[0]
    assert (moved["outcome"], moved["change_id"]) == ("rebaselined", None)
    assert not (tmp_path / "outbox").exists()
    pages.put_article("/b", replace(other, teaser=other.teaser.replace(" the ", " a ", 1)))
    edited = json.loads(run(config, "check", "--json").stdout)[0]
    assert edited["outcome"] == "changed"
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
