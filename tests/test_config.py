from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from monitor.config.settings import load_settings
from monitor.config.validate import parse_duration, parse_size
from monitor.detect.rules import DEFAULT_DESCRIPTION, DEFAULT_PAYWALL, DEFAULT_TEASER
from monitor.errors import ConfigError

from .conftest import ROOT, run, write_config

GOOD = """
[monitor]
interval = "15m"
max_body = "2MiB"

[email]
to = ["desk@example.org"]

[[source]]
id = "north-korean-russian-threat"
url = "https://warontherocks.com/2023/09/in-brief-the-north-korean-russian-threat"
baseline = "seeds/000_c860228f409f0487.txt"
interval = "30m"

[source.extract]
teaser = ".entry-content"
paywall = [".mepr-unauthorized-message", ".paywall"]
"""


def test_shipped_config_watches_the_two_articles() -> None:
    settings = load_settings(ROOT / "config.toml")
    assert [s.url for s in settings.sources] == [
        "https://warontherocks.com/2023/09/in-brief-the-north-korean-russian-threat",
        "https://warontherocks.com/2024/11/in-brief-north-koreas-critical-allies",
    ]
    assert [s.baseline.name for s in settings.sources if s.baseline] == [
        "000_c860228f409f0487.txt",
        "001_cf6815e734ac9f02.txt",
    ]


def test_good_config(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, GOOD))
    source = settings.sources[0]
    assert settings.monitor.interval == 900
    assert settings.monitor.max_body == 2 * 1024 * 1024
    assert settings.monitor.database == tmp_path / "monitor.db"
    assert source.interval == 1800
    assert source.recipients == ("desk@example.org",)
    assert source.extract.teaser == (".entry-content",)
    assert source.baseline == tmp_path / "seeds" / "000_c860228f409f0487.txt"


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ('interval = "15m"', 'intervall = "15m"'),
            "monitor.intervall: unknown key; did you mean 'interval'",
        ),
        (('interval = "15m"', "interval = true"), "monitor.interval: expected"),
        (('interval = "15m"', 'interval = "0s"'), "longer than zero"),
        (('interval = "15m"', 'interval = "-1h"'), "is not a duration"),
        (('max_body = "2MiB"', 'max_body = "lots"'), "monitor.max_body"),
        (('interval = "30m"', 'interval = "30m"\ncolour = "red"'), "colour: unknown key"),
        (('teaser = ".entry-content"', 'teaser = "p[["'), "not a valid CSS selector"),
        (
            ('baseline = "seeds/000_c860228f409f0487.txt"', 'baseline = "seeds/nope.txt"'),
            "baseline: file 'seeds/nope.txt' not found",
        ),
        (
            ('baseline = "seeds/000_c860228f409f0487.txt"', 'baseline = "../../etc/passwd"'),
            "outside the project folder",
        ),
        (('id = "north-korean-russian-threat"', 'id = "Bad Id"'), "may use only a-z"),
        (('url = "https://warontherocks', 'url = "ftp://warontherocks'), "use https://"),
        (('to = ["desk@example.org"]', 'to = ["not an address"]'), "not an email address"),
        (("[monitor]", "[monitor\n"), "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in GOOD
    config = write_config(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_settings(config)


def test_duplicate_ids(tmp_path: Path) -> None:
    block = GOOD[GOOD.index("[[source]]") :]
    with pytest.raises(ConfigError, match="used twice"):
        load_settings(write_config(tmp_path, GOOD + block))


@pytest.mark.parametrize("args", [["check"], ["changes"], ["history", "x"], ["show", "1"]])
def test_cli_exits_2_and_writes_nothing(tmp_path: Path, args: list[str]) -> None:
    config = write_config(tmp_path, GOOD.replace("interval", "intervall", 1))
    result = run(config, *args)
    assert result.exit_code == 2
    assert "intervall: unknown key" in result.output
    assert not (tmp_path / "monitor.db").exists()


def test_missing_config_file(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.toml", "check")
    assert result.exit_code == 2
    assert "config file not found" in result.output


def test_units() -> None:
    assert parse_duration("90s", "k") == 90
    assert parse_duration("1d", "k") == 86400
    assert parse_size("5MiB", "k") == 5 * 1024 * 1024
    assert parse_size(1000, "k") == 1000


def test_allow_private_is_a_source_boolean(tmp_path: Path) -> None:
    assert load_settings(write_config(tmp_path, GOOD)).sources[0].allow_private is False
    allowed = GOOD.replace('interval = "30m"', 'interval = "30m"\nallow_private = true', 1)
    assert load_settings(write_config(tmp_path, allowed)).sources[0].allow_private is True
    wrong = GOOD.replace('interval = "30m"', 'interval = "30m"\nallow_private = "yes"', 1)
    with pytest.raises(ConfigError, match=r"source\[1\] \(id '.*'\)\.allow_private: expected"):
        load_settings(write_config(tmp_path, wrong))


@pytest.mark.parametrize("selector", sorted(DEFAULT_TEASER + DEFAULT_PAYWALL + DEFAULT_DESCRIPTION))
def test_every_default_selector_is_valid_css(selector: str) -> None:
    # The loader checks only a user's own selectors (the defaults, checked here, are ours).
    LexborHTMLParser("<html><body><p>x</p></body></html>").css(selector)


def test_a_users_selector_is_checked_even_when_written_beside_a_default(tmp_path: Path) -> None:
    block = '[[source]]\nid = "a"\nurl = "https://example.org/a"\n[source.extract]\n'
    config = write_config(tmp_path, block + 'teaser = ["article", "main[["]\n', seeds=False)
    with pytest.raises(ConfigError, match=r"teaser: 'main\[\[' is not a valid CSS selector"):
        load_settings(config)
