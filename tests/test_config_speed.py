"""What loading a large config shares between its sources (each folder resolved once, each
extract table validated once) keeps every guarantee made for one source: a capture or a baseline
stays inside the config's folder, and a bad value is reported at its own source. And discovered
sources are compared with the configured ones through the canonical URL stored with them, in
databases made before it was stored too."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config.settings import load_settings
from monitor.errors import ConfigError
from monitor.store.db import Store
from monitor.store.discovered import Candidate, record_found

from .conftest import SEED_FILES, run, source_block, write_config
from .store_helpers import database_before


def _captures(folder: Path, count: int) -> str:
    """`count` sources reading capture files in `folder/pages`: the folder is met many times."""
    (folder / "pages").mkdir()
    body = ""
    for i in range(count):
        (folder / "pages" / f"{i}.txt").write_bytes(SEED_FILES[0].read_bytes())
        body += source_block(f"page-{i}", f"pages/{i}.txt")
    return body


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside.txt").write_bytes(SEED_FILES[0].read_bytes())
    return project


def test_a_link_to_outside_among_captures_of_the_same_folder_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path)
    # enough captures that the folder's listing is read instead of each file's status
    body = _captures(project, 70)
    (project / "pages" / "evil.txt").symlink_to(tmp_path / "outside.txt")
    config = write_config(project, body + source_block("evil", "pages/evil.txt"), seeds=False)
    result = run(config, "check")
    assert result.exit_code == 2, result.output
    assert "source[71] (id 'evil').url" in result.output
    assert "outside the config's folder" in result.output


def test_a_linked_folder_leading_outside_is_refused_after_a_folder_inside(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    body = _captures(project, 2)
    (project / "elsewhere").symlink_to(tmp_path)
    config = write_config(project, body + source_block("far", "elsewhere/outside.txt"), seeds=False)
    with pytest.raises(ConfigError, match=r"source\[3\] \(id 'far'\)\.url: .* outside"):
        load_settings(config)


def test_dot_dot_out_of_a_folder_already_met_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path)
    body = _captures(project, 2) + source_block("up", "pages/../../outside.txt")
    with pytest.raises(ConfigError, match=r"source\[3\] \(id 'up'\)\.url: .* outside"):
        load_settings(write_config(project, body, seeds=False))


def test_a_baseline_linked_outside_is_refused_after_baselines_inside(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "seeds").mkdir()
    (project / "seeds" / "good.txt").write_bytes(SEED_FILES[0].read_bytes())
    (project / "seeds" / "bad.txt").symlink_to(tmp_path / "outside.txt")
    body = "".join(
        source_block(f"s-{i}", f"https://example.org/{i}", extra=f'baseline = "seeds/{name}"')
        for i, name in enumerate(["good.txt", "good.txt", "bad.txt"])
    )
    with pytest.raises(ConfigError, match=r"source\[3\] \(id 's-2'\)\.baseline: .* outside"):
        load_settings(write_config(project, body, seeds=False))


def test_captures_through_a_linked_folder_inside_resolve_to_the_real_files(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    body = _captures(project, 2)
    (project / "alias").symlink_to(project / "pages")
    body += source_block("aliased", "alias/1.txt")
    settings = load_settings(write_config(project, body, seeds=False))
    real = (project / "pages" / "1.txt").resolve()
    assert [s.url for s in settings.sources[1:]] == [str(real), str(real)]


def test_a_missing_capture_named_like_a_host_is_refused_after_captures_that_exist(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    body = _captures(project, 2) + source_block("web", "warontherocks.com/2026/11/x")
    with pytest.raises(
        ConfigError, match=re.escape("did you mean 'https://warontherocks.com/2026/11/x'")
    ):
        load_settings(write_config(project, body, seeds=False))


def test_sources_with_the_same_extract_table_share_one_validated_rules(tmp_path: Path) -> None:
    extract = '[source.extract]\nteaser = "article p"\nmin_words = 5\n'
    body = "".join(
        source_block(f"s-{i}", f"https://example.org/{i}", extra=extract) for i in range(3)
    )
    settings = load_settings(write_config(tmp_path, body, seeds=False))
    rules = [s.extract for s in settings.sources]
    assert rules[0].teaser == ("article p",) and rules[0].min_words == 5
    assert rules[1] is rules[0] and rules[2] is rules[0]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('teaser = "p[["', r"source\[3\] \(id 's-2'\)\.extract\.teaser: 'p\[\[' is not a valid"),
        # true equals 1 in Python: a table equal in value to a valid one must not pass for it
        ("min_words = true", r"source\[3\] \(id 's-2'\)\.extract\.min_words: expected an int"),
    ],
)
def test_a_bad_extract_table_after_valid_ones_is_reported_at_its_own_source(
    tmp_path: Path, bad: str, message: str
) -> None:
    good = '[source.extract]\nteaser = "article p"\nmin_words = 1\n'
    body = source_block("s-0", "https://example.org/0", extra=good)
    body += source_block("s-1", "https://example.org/1", extra=good)
    body += source_block("s-2", "https://example.org/2", extra=f"[source.extract]\n{bad}\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(write_config(tmp_path, body, seeds=False))


def test_a_bad_recipient_after_valid_ones_is_reported_at_its_own_source(tmp_path: Path) -> None:
    body = "".join(
        source_block(f"s-{i}", f"https://example.org/{i}", extra=f'recipients = ["{to}"]')
        for i, to in enumerate(["a@example.org", "a@example.org", "not an address"])
    )
    with pytest.raises(ConfigError, match=r"source\[3\] \(id 's-2'\)\.recipients"):
        load_settings(write_config(tmp_path, body, seeds=False))


DISCOVER = '[[discover]]\nid = "in-brief"\nfeed = "https://warontherocks.com/feed/"\n'


def test_a_database_from_before_stored_canonical_urls_still_lets_a_configured_source_win(
    tmp_path: Path,
) -> None:
    # A database made by the previous version: every step up to m005, two discovered articles.
    db = database_before(tmp_path / "monitor.db", "m006")
    for sid, url in [
        ("both-1a2b3c4d", "https://WarOnTheRocks.com/2026/11/both/"),
        ("only-5e6f7a8b", "https://warontherocks.com/2026/11/only/"),
    ]:
        db.table("sources").insert({"id": sid, "url": url, "consecutive_failures": 0})
        db.table("discovered").insert(
            {"source_id": sid, "discovery_id": "in-brief", "url": url, "discovered_at": "x"}
        )
    db.close()
    # the config writes the first article's URL in another case and without the slash
    mine = source_block("mine", "https://warontherocks.com/2026/11/both")
    config = write_config(tmp_path, DISCOVER + mine, seeds=False)
    state = json.loads(run(config, "status", "--json").output)
    assert {s["id"]: s["discovered_by"] for s in state["sources"]} == {
        "mine": None,
        "only-5e6f7a8b": "in-brief",
    }


def test_a_source_configured_after_its_discovery_hides_the_discovered_one(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, DISCOVER, seeds=False)
    run(config, "status", "--json")  # makes a current database
    settings = load_settings(config)
    store = Store.open(settings.monitor.database)
    # what a discovery run records: the article is not configured yet
    record_found(
        store,
        settings.discover[0],
        [
            Candidate("both-1a2b3c4d", "https://warontherocks.com/2026/11/both/"),
            Candidate("only-5e6f7a8b", "https://warontherocks.com/2026/11/only/"),
        ],
        now=datetime.now(UTC),
        configured=settings.sources,
    )
    store.close()
    config.write_text(
        DISCOVER + source_block("mine", "https://warontherocks.com/2026/11/both#top"),
        encoding="utf-8",
    )
    state = json.loads(run(config, "status", "--json").output)
    assert {s["id"]: s["discovered_by"] for s in state["sources"]} == {
        "mine": None,
        "only-5e6f7a8b": "in-brief",
    }
