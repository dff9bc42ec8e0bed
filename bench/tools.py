"""The tools the benchmark runs, each as its own process, measured from outside."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
URLWATCH_VENV = HERE / ".venv-urlwatch"


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mib: float
    new: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    errors: int = 0
    correct: str = ""  # set by run.py: "yes", "n/a" or what was wrong


def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[Run, str]:
    """Wall time, CPU time (user + system) and peak RSS of one process, with its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode("utf-8", "replace")
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {err.read()[-2000:]!r}")
    run = Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
    return run, text


class Monitor:
    name = "monitor"

    def __init__(self, folder: Path, urls: dict[str, str], per_host: int, concurrency: int = 16):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"[monitor]\nconcurrency = {concurrency}\nper_host = {per_host}\nretries = 0\n"]
        lines += [f'[[source]]\nid = "{sid}"\nurl = "{url}"\n' for sid, url in urls.items()]
        (folder / "config.toml").write_text("\n".join(lines), encoding="utf-8")

    def cycle(self) -> Run:
        monitor = Path(sys.executable).parent / "monitor"
        run, text = measure(
            [str(monitor), "--config", "config.toml", "check", "--json"], self.folder
        )
        for row in json.loads(text):
            if row["outcome"] == "new":
                run.new.add(row["source"])
            elif row["outcome"] == "changed":
                run.changed.add(row["source"])
            elif row["outcome"] == "error":
                run.errors += 1
        return run


class Urlwatch:
    name = "urlwatch"

    @staticmethod
    def install() -> Path:
        exe = URLWATCH_VENV / "bin" / "urlwatch"
        if not exe.exists():
            subprocess.run([sys.executable, "-m", "venv", str(URLWATCH_VENV)], check=True)
            subprocess.run(
                [
                    str(URLWATCH_VENV / "bin" / "pip"),
                    "install",
                    "-q",
                    "urlwatch==2.29",
                    "html2text",
                    "cssselect",
                    "lxml",
                ],
                check=True,
            )
        return exe

    def __init__(self, folder: Path, urls: dict[str, str]) -> None:
        self.exe = self.install()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        jobs = [
            f"name: {sid}\nurl: {url}\nfilter:\n"
            "  - css: '.entry-content > p, .mepr-unauthorized-message'\n  - html2text\n"
            for sid, url in urls.items()
        ]
        (folder / "urls.yaml").write_text("---\n".join(jobs), encoding="utf-8")
        (folder / "urlwatch.yaml").write_text(
            "display: {new: true, error: true, unchanged: false}\n"
            "report:\n  text: {details: false, footer: false, minimal: false, line_length: 200}\n"
            "  stdout: {enabled: true, color: false}\n",
            encoding="utf-8",
        )
        (folder / "hooks.py").write_text("", encoding="utf-8")

    def cycle(self) -> Run:
        run, text = measure(
            [
                str(self.exe),
                "--urls",
                "urls.yaml",
                "--config",
                "urlwatch.yaml",
                "--cache",
                "cache.db",
                "--hooks",
                "hooks.py",
            ],
            self.folder,
        )
        for kind, sid in re.findall(r"\b(NEW|CHANGED|ERROR): (\S+)", text):
            if kind == "NEW":
                run.new.add(sid)
            elif kind == "CHANGED":
                run.changed.add(sid)
            else:
                run.errors += 1
        return run


class LowerBound:
    name = "lower bound"

    def __init__(self, folder: Path, urls: dict[str, str]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "urls.txt").write_text("\n".join(urls.values()), encoding="utf-8")

    def cycle(self) -> Run:
        run, _ = measure([sys.executable, str(HERE / "lowerbound.py"), "urls.txt"], self.folder)
        return run
