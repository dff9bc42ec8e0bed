"""Mistakes on the command line (an address, a folder, a capture) end in one line naming what
was wrong and the fix, with the exit status README gives, never in a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run, write_config

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
