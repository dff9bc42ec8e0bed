"""Every duration and size key has one range, enforced when the config is loaded (issue 14, 13).

A value that loads must never crash `monitor run` later: `interval = 1e300` used to pass
validation and fail with `OverflowError` once the scheduler added it to a date.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config.settings import load_settings

from .conftest import ROOT, run, write_config

SOURCE = '[[source]]\nid = "a"\nurl = "http://127.0.0.1:9/a"\n'

# (table, key): every key read as a duration or a size
DURATIONS = [
    ("monitor", "interval"),
    ("monitor", "timeout"),
    ("monitor", "keep_checks"),
    ("monitor", "backoff"),
    ("email", "digest_interval"),
    ("email", "backoff"),
    ("source", "interval"),
]
HUGE_DURATIONS = ["1e300", '"99999999999d"', "1" + "0" * 30, '"3651d"', '"0.0001s"']


def config_with(tmp_path: Path, table: str, line: str) -> Path:
    if table == "source":
        return write_config(tmp_path, SOURCE + line + "\n", seeds=False)
    return write_config(tmp_path, f"[{table}]\n{line}\n\n{SOURCE}", seeds=False)


@pytest.mark.parametrize("table, key", DURATIONS)
@pytest.mark.parametrize("value", HUGE_DURATIONS)
def test_a_duration_out_of_range_is_refused_at_load(
    tmp_path: Path, table: str, key: str, value: str
) -> None:
    config = config_with(tmp_path, table, f"{key} = {value}")
    result = run(config, "check")
    assert result.exit_code == 2, result.output
    where = "source[1] (id 'a')" if table == "source" else table
    assert f"{where}.{key}: " in result.output
    assert "out of range; use a duration from 1ms to 3650d" in result.output
    assert not (tmp_path / "monitor.db").exists()


@pytest.mark.parametrize("table, key", DURATIONS)
def test_the_ends_of_the_duration_range_load(tmp_path: Path, table: str, key: str) -> None:
    # one try only, so that a ten-year email.backoff is never doubled past the range
    tries = "\nmax_tries = 1" if table == "email" else ""
    for value, seconds in (('"3650d"', 3650 * 86400.0), ('"1ms"', 0.001)):
        settings = load_settings(config_with(tmp_path, table, f"{key} = {value}{tries}"))
        part = settings.sources[0] if table == "source" else getattr(settings, table)
        assert getattr(part, key) == seconds


@pytest.mark.parametrize("value", ['"99999999999GiB"', "1" + "0" * 30, '"2GiB"', "9" * 400])
def test_a_size_out_of_range_is_refused_at_load(tmp_path: Path, value: str) -> None:
    result = run(config_with(tmp_path, "monitor", f"max_body = {value}"), "check")
    assert result.exit_code == 2, result.output
    assert "monitor.max_body: " in result.output
    assert "out of range; use a size from 1B to 1GiB" in result.output


def test_the_largest_size_loads(tmp_path: Path) -> None:
    settings = load_settings(config_with(tmp_path, "monitor", 'max_body = "1GiB"'))
    assert settings.monitor.max_body == 1024**3


def _run_refuses(tmp_path: Path, line: str, message: str) -> None:
    """A real `monitor run`, as a service manager starts it, with `line` under [monitor]:
    refused at load (exit 2, `message`), no traceback, nothing written."""
    config = config_with(tmp_path, "monitor", line)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "monitor.db").exists()


def test_run_refuses_a_huge_interval_instead_of_crashing(tmp_path: Path) -> None:
    # the old code crashed (or hung) here
    _run_refuses(tmp_path, "interval = 1e300", "monitor.interval: 1e+300 is out of range")


def test_retries_that_would_overflow_the_backoff_are_refused(tmp_path: Path) -> None:
    result = run(config_with(tmp_path, "monitor", "retries = 5000"), "check")
    assert result.exit_code == 2
    assert "monitor.retries: 5000 is out of range; use 0 to 10" in result.output


def test_max_tries_that_would_overflow_the_alert_backoff_are_refused(tmp_path: Path) -> None:
    result = run(config_with(tmp_path, "email", "max_tries = 2000"), "check")
    assert result.exit_code == 2
    assert "email.max_tries: 2000 tries with backoff = 60s" in result.output
    assert "lower max_tries or backoff" in result.output
    ok = load_settings(config_with(tmp_path, "email", 'max_tries = 20\nbackoff = "1s"'))
    assert ok.email.max_tries == 20


HUGE = "100000000000000000000"  # larger than an SQLite INTEGER

# (table as written, key, what the refusal says): every key read as an integer
INTEGERS = [
    ("monitor", "concurrency", "is out of range; use 1 to 1024"),
    ("monitor", "per_host", "is out of range; use 1 to 1024"),
    ("monitor", "failing_after", "is out of range; use 1 to 10000"),
    ("monitor", "browser_pages", "is out of range; use 1 to 64"),
    ("monitor", "retries", "is out of range; use 0 to 10"),
    ("email", "port", "is not a TCP port; use 1 to 65535"),
    ("email", "max_tries", "is out of range; use 1 to 10000"),
    ("source.extract", "min_words", "is out of range; use 1 to 100000"),
    ("discover", "max_sources", "is out of range; use 1 to 100000"),
    ("notify", "max_tries", "is out of range; use 1 to 10000"),
]


def integer_config(tmp_path: Path, table: str, line: str) -> Path:
    if table == "source.extract":
        return write_config(tmp_path, f"{SOURCE}[source.extract]\n{line}\n", seeds=False)
    if table == "discover":
        body = f'[[discover]]\nid = "d"\nfeed = "http://127.0.0.1:9/feed"\n{line}\n'
        return write_config(tmp_path, SOURCE + body, seeds=False)
    if table == "notify":
        body = f'[[notify]]\nid = "n"\nurl = "json://127.0.0.1/hook"\n{line}\n'
        return write_config(tmp_path, SOURCE + body, seeds=False)
    return config_with(tmp_path, table, line)


@pytest.mark.parametrize("table, key, refusal", INTEGERS)
@pytest.mark.parametrize("value", [HUGE, "9" * 400])
def test_an_integer_setting_too_large_is_refused_at_load_naming_the_key_and_range(
    tmp_path: Path, table: str, key: str, refusal: str, value: str
) -> None:
    result = run(integer_config(tmp_path, table, f"{key} = {value}"), "check")
    assert result.exit_code == 2, result.output
    where = {
        "source.extract": "source[1] (id 'a').extract",
        "discover": "discover[1] (id 'd')",
        "notify": "notify[1] (id 'n')",
    }.get(table, table)
    assert f"{where}.{key}: " in result.output
    assert refusal in result.output
    assert not (tmp_path / "monitor.db").exists()


def test_run_refuses_a_concurrency_larger_than_sqlite_takes_instead_of_crashing(
    tmp_path: Path,
) -> None:
    _run_refuses(
        tmp_path,
        f"concurrency = {HUGE}",
        "monitor.concurrency: 100000000000000000000 is out of range",
    )


def test_the_largest_counts_load(tmp_path: Path) -> None:
    lines = "concurrency = 1024\nper_host = 1024\nfailing_after = 10000\nbrowser_pages = 64"
    settings = load_settings(config_with(tmp_path, "monitor", lines))
    got = settings.monitor
    assert (got.concurrency, got.per_host, got.failing_after, got.browser_pages) == (
        1024,
        1024,
        10000,
        64,
    )


def test_an_integer_too_long_for_python_to_read_is_refused_as_bad_toml(tmp_path: Path) -> None:
    result = run(config_with(tmp_path, "monitor", "concurrency = " + "9" * 5000), "check")
    assert result.exit_code == 2, result.output
    assert "not valid TOML: a number has more than 4300 digits" in result.output
    assert not (tmp_path / "monitor.db").exists()
