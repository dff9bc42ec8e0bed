"""Hostile input: random configs, hostile page text through every output, fuzzed pages."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import feedparser
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from monitor.config.settings import ExtractRules, load_settings, parse_settings
from monitor.demo.site import Article, PageServer
from monitor.detect.capture import Capture
from monitor.detect.compare import REGIONS, compare
from monitor.detect.diff import tokenize
from monitor.detect.extract import extract
from monitor.detect.normalise import compact
from monitor.errors import CaptureError, ConfigError
from monitor.views.web import create_app

from .conftest import SEED_FILES, run, source_block, write_config

KEYS = [
    "monitor",
    "email",
    "source",
    "id",
    "url",
    "baseline",
    "interval",
    "cron",
    "timeout",
    "max_body",
    "concurrency",
    "per_host",
    "database",
    "extract",
    "teaser",
    "paywall",
    "markers",
    "min_words",
    "to",
    "from",
    "host",
    "port",
    "security",
    "mode",
    "recipients",
    "retries",
    "backoff",
    "outbox",
    "ca_file",
    "report_url",
    "keep_checks",
    "zzz",
]
scalars = (
    st.text(max_size=30)
    | st.integers(-(10**6), 10**6)
    | st.booleans()
    | st.floats(allow_nan=True)
    | st.sampled_from(
        [
            "1h",
            "0s",
            "-1h",
            "5MiB",
            "p[[",
            "seeds/000_c860228f409f0487.txt",
            "../../etc/passwd",
            "https://x",
            "a\x00b",
            "file:///\x00",
        ]
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_toml_loads_or_raises_config_error(document: dict) -> None:  # type: ignore[type-arg]
    text = tomli_w.dumps(document)
    with contextlib.suppress(ConfigError):
        parse_settings(text, Path("/nonexistent/project/config.toml"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_loads_or_raises_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_settings(text, Path("/nonexistent/project/config.toml"))


def test_unreadable_config_files(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()
    result = run(folder, "check")
    assert result.exit_code == 2 and "is a directory" in result.output
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[monitor]")
    result = run(binary, "check")
    assert result.exit_code == 2 and "cannot read the config file" in result.output
    assert not (tmp_path / "monitor.db").exists()
    other = tmp_path / "other"
    other.mkdir()
    for value in ("nan", "inf", "-inf"):
        with pytest.raises(ConfigError, match=r"monitor\.interval"):
            load_settings(write_config(other, f"[monitor]\ninterval = {value}\n"))


HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }} {% raw %} "
    "\x07\x1b[31m \u202eevil\u202c " + "W" * 100_000 + " " + "long line " * 5_000
)


def test_hostile_text_through_every_output(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    article = replace(seed_articles[0], title="T\r\nBcc: x@example.org {{ 1 }}")
    pages.put_article("/a", article)
    config = write_config(tmp_path, source_block("a", pages.url("/a"), SEED_FILES[0].name))
    run(config, "check")
    pages.put_article(
        "/a",
        replace(
            article, teaser=article.teaser.replace("rare trip", HOSTILE), description=HOSTILE[:300]
        ),
    )
    out = json.loads(run(config, "check", "--json").stdout)[0]
    assert out["outcome"] == "changed", out
    change_id = str(out["change_id"])
    shown = run(config, "show", change_id)
    assert shown.exit_code == 0 and "\x1b[31m" not in shown.output and "\u202e" not in shown.output
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Bcc"] is None and "\n" not in message["Subject"]
    html_part = message.get_body(("html",)).get_content()
    assert "<script" not in html_part and "<img" not in html_part
    report = run(config, "report", "-o", "-").output
    assert "<script" not in report and "<img src=x" not in report and "{{ 7*7 }}" in report
    feed = feedparser.parse(run(config, "feed").stdout_bytes)
    assert not feed.bozo and "<script" not in feed.entries[0].content[0].value
    with TestClient(create_app(tmp_path / "monitor.db")) as client:
        page = client.get(f"/changes/{change_id}").text
        assert "<script" not in page and "<img src=x" not in page and "{{ 7*7 }}" in page


html_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
tags = st.sampled_from(
    [
        "p",
        "div",
        "article",
        "main",
        "section",
        "script",
        "style",
        "form",
        "h3",
        "span",
        "b",
        "table",
        "td",
        "iframe",
        "noscript",
        "template",
    ]
)
attrs = st.sampled_from(
    [
        "",
        ' class="entry-content"',
        ' class="paywall"',
        ' class="mepr-unauthorized-message"',
        ' itemprop="articleBody"',
        ' type="application/ld+json"',
        ' id="challenge-form"',
    ]
)
fragments = st.recursive(
    html_text,
    lambda inner: (
        st.builds(
            lambda t, a, c: f"<{t}{a}>{''.join(c)}</{t}>", tags, attrs, st.lists(inner, max_size=4)
        )
        | st.builds(lambda a, b: a + b, inner, inner)
    ),
    max_leaves=25,
)


RULES_1 = ExtractRules(min_words=1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments, fragments, st.sampled_from(["text/html", "text/plain", None]))
def test_fuzzed_pages_extract_and_compare(a: str, b: str, media: str | None) -> None:
    regions = []
    for body in (a, b):
        try:
            capture = Capture(url="http://x/", body=body.encode(), media_type=media)
            regions.append(extract(capture, RULES_1))
        except CaptureError:
            return
    old, new = regions
    comparison = compare(old, new)
    if "unknown" in (old.access, new.access):
        assert not comparison.changed and comparison.error
        return
    # A change is reported exactly when a reader would see one: the access state, or the text
    # of a region once whitespace is set aside.
    differs = old.access != new.access or any(
        compact(getattr(old, name)) != compact(getattr(new, name)) for name in REGIONS
    )
    assert comparison.changed == differs, (comparison.kinds, old, new)
    assert compare(new, old).changed == differs
    for name, region in comparison.regions.items():
        if region.changed:  # the diff holds both sides, word for word
            before = [t.key for s in region.segments if s.op != "+" for t in tokenize(s.text)]
            after = [t.key for s in region.segments if s.op != "-" for t in tokenize(s.text)]
            assert before == [t.key for t in tokenize(getattr(old, name))]
            assert after == [t.key for t in tokenize(getattr(new, name))]
    # the same page extracted again is no change
    again = extract(Capture(url="http://x/", body=b.encode(), media_type=media), RULES_1)
    assert not compare(new, again).changed


@pytest.mark.parametrize(
    "text",
    [
        '[monitor]\ndatabase = "a\\u0000b"\n',
        '[[source]]\nid = "a"\nurl = "a\\u0000b"\n',
        '[[source]]\nid = "a"\nurl = "https://x/"\nbaseline = "a\\u0000b"\n',
    ],
)
def test_nul_characters_in_paths(text: str) -> None:
    with pytest.raises(ConfigError, match="NUL"):
        parse_settings(text, Path("/nonexistent/project/config.toml"))
