"""A database filled by real checks, for the report, feed and web tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from monitor.demo.site import Article, PageServer

from .conftest import SEED_FILES, run, source_block, write_config

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }}"


def fill(tmp_path: Path, pages: PageServer, articles: list[Article]) -> Path:
    """Three changes: #1 a teaser edit, #2 a lifted paywall, #3 hostile text in the teaser."""
    paths = ("/threat", "/allies")
    body = "".join(
        source_block(sid, pages.url(path), seed.name)
        for sid, path, seed in zip(("threat", "allies"), paths, SEED_FILES, strict=True)
    )
    config = write_config(tmp_path, body)
    threat, allies = articles
    pages.put_article(paths[0], threat)
    pages.put_article(paths[1], allies)
    run(config, "check")
    pages.put_article(paths[0], replace(threat, teaser=threat.teaser.replace("trip", "journey")))
    run(config, "check", "threat")
    lifted = replace(allies, locked=False, teaser=allies.teaser + " The rest of the story.")
    pages.put_article(paths[1], lifted)
    run(config, "check", "allies")
    hostile = threat.teaser.replace("trip", "journey").replace("three experts", HOSTILE)
    pages.put_article(paths[0], replace(threat, teaser=hostile, chrome=2))
    run(config, "check", "threat")
    return config
