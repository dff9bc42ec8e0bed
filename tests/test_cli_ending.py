"""How a `monitor` process ends (`monitor.cli.ending`): without the interpreter's teardown, but
only once its output is flushed, its exit functions ran and its status is the command's."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from pathlib import Path

from monitor import __version__

from .conftest import SEED_FILES, source_block, write_config
from .server import LoopServer

# Without PYTHONUNBUFFERED (which this machine's shells set), output to a pipe waits in a
# buffer until it is flushed: a process that ended without flushing would lose it.
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _monitor(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=BUFFERED,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_piped_check_prints_its_whole_json_and_writes_its_alert(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    seed = SEED_FILES[0].read_text(encoding="utf-8")
    page.write_text(seed, encoding="utf-8")
    write_config(tmp_path, source_block("a", "page.txt"), seeds=False)
    first = _monitor(tmp_path, "check", "--json")
    assert first.returncode == 0, first.stderr
    assert [r["outcome"] for r in json.loads(first.stdout)] == ["new"]
    page.write_text(seed.replace("A lot happens every day", "A great deal happens daily"), "utf-8")

    second = _monitor(tmp_path, "check", "--json")

    assert second.returncode == 0, second.stderr
    [row] = json.loads(second.stdout)
    assert row["outcome"] == "changed"
    assert "alerts: 1 email written" in second.stderr
    [written] = list((tmp_path / "outbox").glob("*.eml"))
    message = email.message_from_bytes(written.read_bytes())
    parts = [p.get_content_type() for p in message.walk() if not p.is_multipart()]
    assert parts == ["text/plain", "text/html"]


def test_a_failed_check_ends_with_status_1_and_its_json(tmp_path: Path, http: LoopServer) -> None:
    # a 404 from a real server on 127.0.0.1: a failed check
    write_config(tmp_path, source_block("gone", http.url("/gone")), seeds=False)

    proc = _monitor(tmp_path, "check", "--json")

    assert proc.returncode == 1
    assert [r["outcome"] for r in json.loads(proc.stdout)] == ["error"]


def _script(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=BUFFERED,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_exit_functions_registered_after_monitor_still_run_and_the_status_is_kept(
    tmp_path: Path,
) -> None:
    proc = _script(
        tmp_path,
        "import atexit, sys\n"
        "import monitor.cli\n"
        "atexit.register(lambda: print('later exit function ran'))\n"
        "sys.argv = ['monitor', '--config', 'missing.toml', 'check']\n"
        "monitor.cli.main()\n",
    )
    assert proc.returncode == 2
    assert "config file not found" in proc.stderr
    assert proc.stdout == "later exit function ran\n"


def test_the_process_ends_without_taking_its_objects_apart(tmp_path: Path) -> None:
    teardown = (
        "import sys\n"
        "import monitor.cli\n"
        "class Noisy:\n"
        "    def __del__(self): print('taken apart')\n"
        "kept = Noisy()\n"
        "sys.argv = ['monitor', '--version']\n"
    )
    ended = _script(tmp_path, teardown + "monitor.cli.main()\n")
    # the same command called as the tests call it: the interpreter's teardown runs
    in_process = _script(tmp_path, teardown + "monitor.cli.cli(prog_name='monitor')\n")

    assert ended.returncode == in_process.returncode == 0
    assert ended.stdout == f"monitor, version {__version__}\n"
    assert in_process.stdout == f"monitor, version {__version__}\ntaken apart\n"


def test_a_string_exit_message_ends_the_usual_way(tmp_path: Path) -> None:
    # `sys.exit("message")`: the interpreter prints the message and ends with status 1
    proc = _script(
        tmp_path,
        "import sys\n"
        "import monitor.cli\n"
        "m = sys.modules['monitor.cli.main']\n"
        "def stop(*a, **k): sys.exit('stopped with a message')\n"
        "m.cli = stop\n"
        "m.main()\n",
    )
    assert proc.returncode == 1
    assert proc.stderr == "stopped with a message\n"
