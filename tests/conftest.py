from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli.main import cli
from monitor.demo.site import Article, PageServer, parse_snapshot

from .server import LoopServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt"))
TITLES = ("In Brief: The North Korean-Russian Threat", "In Brief: North Korea's Critical Allies")


@pytest.fixture(autouse=True)
def _no_terminal_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-xdist's workers export COLUMNS=80 and LINES=24, which piped output honours
    (`cli.common.console`); a user's shell does not export them unless asked to."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture(autouse=True)
def _own_cache_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Config cache entries (`config.cache`) in a folder of the test run's own, not in the
    home folder of whoever runs the tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture
def seed_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in SEED_FILES]


@pytest.fixture
def seed_articles(seed_texts: list[str]) -> list[Article]:
    return [parse_snapshot(t, title) for t, title in zip(seed_texts, TITLES, strict=True)]


@pytest.fixture
def pages() -> Iterator[PageServer]:
    server = PageServer()
    with server.running():
        yield server


@pytest.fixture
def http() -> Iterator[LoopServer]:
    server = LoopServer()
    with server.running():
        yield server


def write_config(folder: Path, body: str, seeds: bool = True) -> Path:
    """A config.toml in `folder`, with the seeds copied beside it."""
    if seeds:
        (folder / "seeds").mkdir(exist_ok=True)
        for seed in SEED_FILES:
            (folder / "seeds" / seed.name).write_bytes(seed.read_bytes())
    path = folder / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def source_block(source_id: str, url: str, baseline: str | None = None, extra: str = "") -> str:
    lines = ["[[source]]", f'id = "{source_id}"', f'url = "{url}"']
    if baseline:
        lines.append(f'baseline = "seeds/{baseline}"')
    return "\n".join(lines) + "\n" + extra + "\n"


def run(config: Path | None, *args: str) -> Result:
    """Run the real command line in-process, as a user would type it."""
    prefix = ["--config", str(config)] if config is not None else []
    return CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False)
