"""What a `monitor` process loads: every command pays for its imports before its first check, so
`check --json` (cron, scripts) leaves out rich, which only draws tables, and asyncio, which only
the browser's loop needs; no command loads httpx's own command line (encode/httpx#3547), which
would bring rich and pygments with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from monitor.service.check import PROCESS_THRESHOLD

from .conftest import SEED_FILES, source_block, write_config


def _loaded(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -X importtime ARGS`; its output and the top-level packages it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc, names


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "page.txt").write_bytes(SEED_FILES[0].read_bytes())
    write_config(project, source_block("a", "page.txt"), seeds=False)
    return project


def test_check_json_stores_its_result_without_loading_rich_pygments_or_asyncio(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    proc, loaded = _loaded(["-m", "monitor", "--config", "config.toml", "check", "--json"], project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r["outcome"] for r in json.loads(proc.stdout)] == ["new"]
    assert "httpx" in loaded  # the pass did import its HTTP client
    assert "rich" not in loaded
    assert "pygments" not in loaded
    assert "asyncio" not in loaded  # no source uses the browser


def test_check_for_a_person_loads_rich_to_print_its_lines(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc, loaded = _loaded(["-m", "monitor", "--config", "config.toml", "check"], project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "checked 1 source" in proc.stdout
    assert "rich" in loaded


def test_httpx_main_is_a_stub_in_a_monitor_process(tmp_path: Path) -> None:
    code = (
        "import sys, monitor.cli, httpx; "
        "print(sys.modules['httpx._main'] is None, 'pygments' in sys.modules, "
        "callable(httpx.Client))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False", "True"]


def test_a_large_pass_with_the_default_rules_leaves_the_html_parser_to_its_workers(
    tmp_path: Path,
) -> None:
    # A pass over this many sources checks them in worker processes, which read the pages;
    # the parent reads none, and with the default rules has no selector of a user's to check.
    count = PROCESS_THRESHOLD + 50
    project = tmp_path / "project"
    (project / "pages").mkdir(parents=True)
    body = SEED_FILES[0].read_bytes()
    blocks = []
    for i in range(count):
        (project / "pages" / f"p{i}.txt").write_bytes(body)
        blocks.append(source_block(f"s{i}", f"pages/p{i}.txt"))
    write_config(project, "".join(blocks), seeds=False)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    argv = ["monitor", "--config", "config.toml", "check", "--json"]
    # (registered after `monitor.cli.ending`'s exit function, so that it runs before it)
    code = (
        "import atexit, runpy, sys, monitor.cli\n"
        "atexit.register(lambda: print('parser', 'selectolax.lexbor' in sys.modules, "
        "file=sys.stderr))\n"
        f"sys.argv = {argv!r}\n"
        "runpy.run_module('monitor', run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert len(results) == count and {r["outcome"] for r in results} == {"new"}
    assert "parser False" in proc.stderr.splitlines()
