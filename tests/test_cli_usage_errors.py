"""Mistakes on the command line (an address, a folder, a capture) end in one line naming what
was wrong and the fix, with the exit status README gives, never in a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import SEED_FILES, run, write_config
from .server import LoopServer

EMAIL_ONLY = '[email]\nto = ["desk@example.org"]\n'


@pytest.mark.parametrize(
    "address", ["not an address", "a@b.c\nBcc: x@y.z", "Desk <desk@example.org>", ""]
)
def test_test_email_refuses_a_to_that_is_not_one_address_and_sends_nothing(
    tmp_path: Path, address: str
) -> None:
    config = write_config(tmp_path, EMAIL_ONLY, seeds=False)
    result = run(config, "test-email", "--to", address)
    assert result.exit_code == 2, result.output
    assert f"--to: {address!r} is not an email address" in result.output
    assert "delivered" not in result.output
    assert not list(tmp_path.rglob("*.eml"))


def test_test_email_to_a_valid_address_is_still_delivered(tmp_path: Path) -> None:
    config = write_config(tmp_path, EMAIL_ONLY, seeds=False)
    result = run(config, "test-email", "--to", "other@example.org")
    assert result.exit_code == 0, result.output
    assert "delivered to other@example.org" in result.output


def test_demo_in_a_folder_it_cannot_make_names_the_folder_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    folder = tmp_path / "a-file" / "demo"
    result = run(None, "demo", "--dir", str(folder))
    assert result.exit_code == 2, result.output
    assert f"--dir {folder}: cannot write there (Not a directory)" in result.output
    assert "choose a folder you can write" in result.output


@pytest.mark.parametrize("which", ["old", "new"])
def test_compare_names_the_capture_it_cannot_read_old_or_new(tmp_path: Path, which: str) -> None:
    missing = str(tmp_path / "missing.txt")
    pair = (missing, str(SEED_FILES[0])) if which == "old" else (str(SEED_FILES[0]), missing)
    result = run(None, "compare", *pair)
    assert result.exit_code == 1, result.output
    assert f"cannot read the {which} capture {missing}: file not found" in result.output


def test_compare_names_the_url_that_answered_with_an_http_error(http: LoopServer) -> None:
    broken = http.static("/gone", "gone", status=404)
    result = run(None, "compare", str(SEED_FILES[0]), broken)
    assert result.exit_code == 1, result.output
    assert f"cannot read the new capture {broken}: HTTP 404" in result.output


def test_compare_json_with_an_unreadable_capture_prints_an_object_with_the_error(
    tmp_path: Path,
) -> None:
    missing = str(tmp_path / "missing.txt")
    result = run(None, "compare", missing, str(SEED_FILES[0]), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data == {
        "changed": False,
        "error": f"cannot read the old capture {missing}: file not found",
        "unreadable": "old",
        "location": missing,
    }
