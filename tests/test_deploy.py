"""The deployment files say what the README promises."""

from __future__ import annotations

import configparser
import json

from .conftest import ROOT


def test_systemd_unit() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "deploy" / "monitor.service")
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root")
    assert service["ExecStart"].split()[1:3] == ["run", "--log-format"]
    assert service["ExecReload"].endswith("-HUP $MAINPID")
    # the stop's SIGTERM to monitor alone: to its whole group, it would end Chromium's pages
    assert service["KillMode"] == "mixed"


def test_dockerfile_runs_the_service_unprivileged() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    cmd = next(line for line in lines if line.startswith("CMD "))
    assert json.loads(cmd[4:])[:2] == ["monitor", "run"]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] != "root"
