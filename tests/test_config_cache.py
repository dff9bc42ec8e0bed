"""The cache of validated settings (`monitor.config.cache`) never gives an old answer: an edit
of the config, a capture's folder that changed, or an entry that cannot be read all mean
validating again, so unknown keys and captures outside the folder are still refused."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import cache, settings
from monitor.config.settings import load_settings
from monitor.errors import ConfigError

from .conftest import SEED_FILES, run, source_block, write_config


@pytest.fixture
def validations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every config is cached (none is too small), in a cache folder of the test's own; the
    list grows by one each time a config is validated rather than read from the cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    monkeypatch.setattr(cache, "RACY_NS", 0)
    seen: list[Path] = []
    parse = settings._parse

    def counted(text: str, path: Path) -> tuple[settings.Settings, settings.Looked]:
        seen.append(path)
        return parse(text, path)

    monkeypatch.setattr(settings, "_parse", counted)
    return seen


def _web_config(folder: Path, count: int = 3) -> Path:
    body = "".join(source_block(f"s-{i}", f"https://example.org/{i}") for i in range(count))
    return write_config(folder, '[monitor]\ninterval = "2h"\n\n' + body, seeds=False)


def _entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "monitor").glob("settings-*.cache"))


def _after_a_tick(changed: Callable[[], None], since: int, probe: Path) -> None:
    """Make a change once the file system's clock (coarse: a few ms a tick) has moved past
    `since`, so that the change shows in the folder's times."""
    for _ in range(1000):
        probe.write_bytes(b"")
        if probe.stat().st_ctime_ns > since:
            break
        time.sleep(0.005)
    changed()


def test_a_config_is_validated_once_then_read_from_the_cache(
    tmp_path: Path, validations: list[Path]
) -> None:
    config = _web_config(tmp_path)
    first = load_settings(config)
    assert len(validations) == 1 and len(_entries(tmp_path)) == 1
    again = load_settings(config)
    assert len(validations) == 1  # not validated again
    assert again == first and again.sources[2].url == "https://example.org/2"
    assert load_settings(config, cache=False) == first
    assert len(validations) == 2


def test_an_edit_to_a_cached_config_is_validated_again(
    tmp_path: Path, validations: list[Path]
) -> None:
    config = _web_config(tmp_path)
    load_settings(config)
    text = config.read_text()
    config.write_text(text.replace("https://example.org/2", "https://example.org/22"))
    assert load_settings(config).sources[2].url == "https://example.org/22"
    assert len(validations) == 2
    # one byte more, an unknown key: refused, exit 2 naming it, though an entry exists
    config.write_text(text + "colour = 'red'\n")
    result = run(config, "status")
    assert result.exit_code == 2
    assert "source[3] (id 's-2').colour: unknown key" in result.output


@pytest.mark.parametrize(
    "damage",
    [
        lambda entry: entry.write_bytes(b"\x00garbage"),
        lambda entry: entry.write_bytes(entry.read_bytes()[:-100]),  # a pickle cut short
        lambda entry: entry.write_bytes(entry.read_bytes().split(b"\n", 1)[0] + b"\n"),
    ],
    ids=["garbage", "truncated", "header-only"],
)
def test_a_broken_cache_entry_is_ignored_and_written_again(
    tmp_path: Path, validations: list[Path], damage: Callable[[Path], object]
) -> None:
    config = _web_config(tmp_path)
    expected = load_settings(config)
    (entry,) = _entries(tmp_path)
    damage(entry)
    assert load_settings(config) == expected
    assert len(validations) == 2
    assert load_settings(config) == expected  # the entry was written again, and is read
    assert len(validations) == 2


def test_an_entry_others_may_write_is_not_read(tmp_path: Path, validations: list[Path]) -> None:
    config = _web_config(tmp_path)
    load_settings(config)
    (entry,) = _entries(tmp_path)
    entry.chmod(entry.stat().st_mode | stat.S_IWOTH)
    load_settings(config)
    assert len(validations) == 2


def test_a_capture_replaced_by_a_link_outside_after_caching_is_refused(
    tmp_path: Path, validations: list[Path]
) -> None:
    project = tmp_path / "project"
    (project / "pages").mkdir(parents=True)
    (tmp_path / "outside.txt").write_bytes(SEED_FILES[0].read_bytes())
    body = ""
    for i in range(3):
        (project / "pages" / f"{i}.txt").write_bytes(SEED_FILES[0].read_bytes())
        body += source_block(f"page-{i}", f"pages/{i}.txt")
    config = write_config(project, body, seeds=False)
    load_settings(config)
    assert load_settings(config).sources[1].url == str(project / "pages" / "1.txt")
    assert len(validations) == 1  # cached, and read from the cache

    def relink() -> None:
        (project / "pages" / "1.txt").unlink()
        (project / "pages" / "1.txt").symlink_to(tmp_path / "outside.txt")

    folder_changed = (project / "pages").stat().st_ctime_ns
    _after_a_tick(relink, folder_changed, tmp_path / "probe")
    with pytest.raises(ConfigError, match=r"source\[2\] \(id 'page-1'\)\.url: .* outside"):
        load_settings(config)


def test_a_config_whose_captures_changed_just_before_is_not_cached(
    tmp_path: Path, validations: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "RACY_NS", 10**15)  # any change in the last eleven days
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "0.txt").write_bytes(SEED_FILES[0].read_bytes())
    config = write_config(tmp_path, source_block("page-0", "pages/0.txt"), seeds=False)
    load_settings(config)
    load_settings(config)
    assert _entries(tmp_path) == [] and len(validations) == 2


def test_a_config_whose_captures_lie_beside_its_database_is_not_cached(
    tmp_path: Path, validations: list[Path]
) -> None:
    """The database's -wal and -shm files come and go in its folder with every command, so
    an entry stamped with that folder would be written by each command and read by none (an
    outside review); captures in a folder of their own are cached (the tests above)."""
    (tmp_path / "0.txt").write_bytes(SEED_FILES[0].read_bytes())
    config = write_config(tmp_path, source_block("page-0", "0.txt"), seeds=False)
    load_settings(config)
    load_settings(config)
    assert _entries(tmp_path) == [] and len(validations) == 2


def test_a_config_read_through_a_linked_folder_is_not_cached(
    tmp_path: Path, validations: list[Path]
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "0.txt").write_bytes(SEED_FILES[0].read_bytes())
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    config = write_config(tmp_path, source_block("page-0", "alias/0.txt"), seeds=False)
    assert load_settings(config).sources[0].url == str(tmp_path / "real" / "0.txt")
    assert _entries(tmp_path) == []


def test_small_configs_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load_settings(_web_config(tmp_path))
    assert not (tmp_path / "cache").exists()


def test_a_config_of_a_few_hundred_sources_is_read_from_the_cache_by_the_next_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 sources (16 KiB and more): the second `monitor status` reads the entry the first
    one wrote, and answers as it did."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = _web_config(tmp_path, count=300)
    assert config.stat().st_size >= cache.MIN_BYTES
    # the folder's times are taken as settled a while after its last change (`RACY_NS`)
    settled = time.time() - 10
    os.utime(tmp_path, (settled, settled))
    first = run(config, "status", "--json")
    [entry] = _entries(tmp_path)
    written = entry.stat().st_mtime_ns
    second = run(config, "status", "--json")
    assert first.exit_code == second.exit_code  # 1: no service runs
    assert second.output == first.output
    assert '"s-299"' in second.output
    assert _entries(tmp_path) == [entry] and entry.stat().st_mtime_ns == written


def test_sources_of_every_shape_read_back_from_the_cache_as_validated(
    tmp_path: Path, validations: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "base.txt").write_bytes(SEED_FILES[0].read_bytes())
    extract = '[source.extract]\nteaser = "article p"\nmin_words = 5\n'
    body = (
        '[email]\nto = ["desk@example.org"]\n\n'
        + source_block("plain", "https://example.org/a")
        + source_block("timed", "https://example.org/b", extra='interval = "90s"\n')
        + source_block("cron", "https://example.org/c", extra='cron = "0 * * * *"\n')
        + source_block("ruled", "https://example.org/d", extra=extract)
        + source_block("ruled-too", "https://example.org/e", extra=extract)
        + source_block(
            "odd",
            "https://example.org/f",
            extra='recipients = ["a@example.org", "b@example.org"]\nallow_private = true\n'
            'fetch = "browser"\nbaseline = "seeds/base.txt"\n',
        )
    )
    config = write_config(tmp_path, body, seeds=False)
    validated = load_settings(config)
    cached = load_settings(config)
    assert len(validations) == 1
    assert cached == validated == load_settings(config, cache=False)
    by_id = {s.id: s for s in cached.sources}
    assert by_id["timed"].interval == 90.0 and by_id["cron"].cron == "0 * * * *"
    assert by_id["odd"].baseline == tmp_path / "seeds" / "base.txt"
    assert by_id["odd"].allow_private is True and by_id["plain"].allow_private is False
    assert by_id["ruled"].extract.teaser == ("article p",)
    assert by_id["plain"].recipients == ("desk@example.org",)
    # a large config whose entry cannot be written is made again from its columns in
    # memory: the same settings
    parsed, _ = settings._parse(config.read_text(), config.resolve())
    monkeypatch.setattr(cache, "lookup", lambda *args: None)
    monkeypatch.setattr(cache, "keep", lambda *args: False)
    assert load_settings(config) == parsed == cached
