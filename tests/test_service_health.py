"""The health check says whether the service works, not whether every website does (issue 14,
point 19), and the documented `docker run` finds the config's baselines (issue 15, point 9)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

from monitor.config.settings import load_settings

from .conftest import ROOT, run, source_block, write_config
from .service_helpers import RunningService
from .smtp_helpers import free_port


def test_status_service_is_healthy_while_a_site_is_down(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/gone"  # nobody listens: every check fails
    config = write_config(
        tmp_path,
        '[monitor]\ninterval = "2s"\nretries = 0\nfailing_after = 1\ntimeout = "2s"\n\n'
        + source_block("gone", dead),
        seeds=False,
    )
    before = run(config, "status", "--service")
    assert before.exit_code == 1 and "service down (no heartbeat)" in before.output
    service = RunningService(config)
    try:

        def failing() -> bool:
            state = json.loads(run(config, "status", "--json").output)
            return bool(state["alive"]) and state["sources"][0]["state"] == "failing"

        service.wait_for(failing)
        assert run(config, "status").exit_code == 1  # the full status: a source is failing
        up = run(config, "status", "--service")
        assert up.exit_code == 0 and up.output.startswith("service up (last heartbeat ")
        as_json = json.loads(run(config, "status", "--service", "--json").output)
        assert as_json["alive"] is True and as_json["pid"] == service.proc.pid
    finally:
        assert service.stop() == 0
    after = run(config, "status", "--service")
    assert after.exit_code == 1 and after.output.startswith("service down")


def test_the_docker_health_check_asks_about_the_service_only() -> None:
    text = (ROOT / "Dockerfile").read_text()
    (check,) = re.findall(r"^HEALTHCHECK .*?(?<!\\)$", text, flags=re.M | re.S)
    command = check.replace("\\\n", " ").split(" CMD ", 1)[1].split()
    assert command[:3] == ["monitor", "status", "--service"]
    # Docker reserves exit status 2: whatever goes wrong is "unhealthy" (1)
    assert command[-3:] == ["||", "exit", "1"]


def test_the_systemd_health_check_asks_about_the_service_only() -> None:
    unit = (ROOT / "deploy" / "monitor-health.service").read_text()
    assert "ExecStart=/opt/monitor/bin/monitor status --service\n" in unit
    timer = (ROOT / "deploy" / "monitor-health.timer").read_text()
    assert "OnUnitActiveSec=" in timer and "WantedBy=timers.target" in timer


def documented_docker_run() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n\s*(docker run .*?)\n\s*```", readme, flags=re.S)
    assert block is not None, "README has no docker run block"
    return shlex.split(block.group(1).replace("\\\n", " "))


def test_the_documented_docker_run_finds_the_baselines(tmp_path: Path) -> None:
    """Lays the container's files out as the README's `-v` options would, from a project folder
    like the repository's (config.toml with relative seeds/ baselines), and loads the config
    where the image looks for it."""
    args = documented_docker_run()
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "config.toml", project / "config.toml")
    shutil.copytree(ROOT / "seeds", project / "seeds")
    container = tmp_path / "container"
    volumes = [args[i + 1] for i, a in enumerate(args) if a == "-v"]
    assert volumes, args
    for volume in volumes:
        source, target = volume.split(":")[:2]
        inside = container / target.lstrip("/")
        if source.startswith("$PWD/"):
            origin = project / source.removeprefix("$PWD/")
            inside.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, inside)
            else:
                shutil.copy(origin, inside)
        else:  # a named volume
            inside.mkdir(parents=True, exist_ok=True)
    dockerfile = (ROOT / "Dockerfile").read_text()
    image_config = re.search(r"^ENV MONITOR_CONFIG=(\S+)$", dockerfile, flags=re.M)
    assert image_config is not None
    settings = load_settings(container / image_config.group(1).lstrip("/"))
    assert [s.baseline.is_file() for s in settings.sources if s.baseline] == [True, True]
    # the database goes in the named volume, not in a read-only mount
    assert settings.monitor.database.parent == container / "var" / "lib" / "monitor"
    assert "monitor-data:/var/lib/monitor" in volumes
