"""A `url` that names a local file is confined to the config's folder, as a baseline is, unless
the source sets `allow_any_path`; a URL written without its scheme is refused when the config is
loaded, whichever command or service loads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.config.settings import load_settings
from monitor.errors import ConfigError

from .conftest import SEED_FILES, run, source_block, write_config


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "/etc/passwd", "/dev/zero", "../outside.txt"]
)
def test_a_file_outside_the_config_folder_is_refused(tmp_path: Path, url: str) -> None:
    (tmp_path / "outside.txt").write_bytes(SEED_FILES[0].read_bytes())
    project = _project(tmp_path)
    config = write_config(project, source_block("x", url), seeds=False)
    result = run(config, "check")
    assert result.exit_code == 2, result.output
    assert "source[1] (id 'x').url" in result.output
    assert "outside the config's folder" in result.output
    assert "allow_any_path = true" in result.output
    assert not (project / "monitor.db").exists()


def test_a_link_inside_the_folder_to_a_file_outside_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "page.txt").symlink_to("/etc/passwd")
    config = write_config(project, source_block("x", "page.txt"), seeds=False)
    result = run(config, "check")
    assert result.exit_code == 2
    assert "outside the config's folder" in result.output


def test_allow_any_path_reads_a_capture_outside_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "captures" / "page.txt"
    outside.parent.mkdir()
    outside.write_bytes(SEED_FILES[0].read_bytes())
    project = _project(tmp_path)
    body = source_block("x", outside.as_uri(), extra="allow_any_path = true")
    result = run(write_config(project, body, seeds=False), "check", "--json")
    assert result.exit_code == 0, result.output
    assert [r["outcome"] for r in json.loads(result.output)] == ["new"]


def test_file_urls_inside_the_folder_need_no_key(tmp_path: Path) -> None:
    project = _project(tmp_path)
    inside = project / "pages" / "page.txt"
    inside.parent.mkdir()
    inside.write_bytes(SEED_FILES[0].read_bytes())
    body = source_block("a", inside.as_uri()) + source_block("b", "pages/page.txt")
    result = run(write_config(project, body, seeds=False), "check", "--json")
    assert result.exit_code == 0, result.output
    assert [r["outcome"] for r in json.loads(result.output)] == ["new", "new"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('allow_any_path = "yes"', "source[1] (id 'x').allow_any_path"),
        ("allow_any_path = true", "only for a url that names a local file"),
    ],
)
def test_allow_any_path_is_a_boolean_for_local_files(
    tmp_path: Path, extra: str, message: str
) -> None:
    body = source_block("x", "https://example.org/a", extra=extra)
    result = run(write_config(tmp_path, body, seeds=False), "check")
    assert result.exit_code == 2
    assert message in result.output


def test_url_without_scheme_is_refused_by_loading_the_config(tmp_path: Path) -> None:
    # Not only the command line: the service's start and SIGHUP reload call load_settings too.
    url = "warontherocks.com/2023/09/in-brief"
    config = write_config(tmp_path, source_block("x", url), seeds=False)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value).startswith("source[1] (id 'x').url: ")
    assert f"did you mean 'https://{url}'?" in str(caught.value)
