"""A broken config names the key and the fix, and exits 2 before anything is written: the
mistakes that used to get past loading, or were refused without saying what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.settings import load_settings

from .conftest import run, write_config


def refused(tmp_path: Path, body: str, *args: str) -> str:
    """The output of a command refused for `body` as config.toml (exit 2, nothing written)."""
    config = write_config(tmp_path, body, seeds=False)
    result = run(config, *(args or ("check",)))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "monitor.db").exists()
    return result.output


def source(url: str) -> str:
    return f'[[source]]\nid = "a"\nurl = "{url}"\n'


@pytest.mark.parametrize(
    "url, fix",
    [
        ("127.0.0.1:8765/page.html", "did you mean 'http://127.0.0.1:8765/page.html'?"),
        ("localhost:8765/a.html", "did you mean 'http://localhost:8765/a.html'?"),
        ("[::1]:8765/a.html", "did you mean 'http://[::1]:8765/a.html'?"),
        ("example.org:8080/x", "did you mean 'https://example.org:8080/x'?"),
    ],
)
def test_a_host_and_port_without_a_scheme_is_refused_with_the_url_meant(
    tmp_path: Path, url: str, fix: str
) -> None:
    output = refused(tmp_path, source(url))
    assert f"source[1] (id 'a').url: {url!r} is read as a file beside the config" in output
    assert fix in output


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999/", "https://example.org:0/a", "http://example.org:http/"]
)
def test_a_source_url_with_an_unusable_port_is_refused_naming_the_range(
    tmp_path: Path, url: str
) -> None:
    output = refused(tmp_path, source(url))
    assert f"source[1] (id 'a').url: {url!r} has no usable port" in output
    assert "use a port from 1 to 65535" in output


def test_a_feed_url_with_an_unusable_port_is_refused(tmp_path: Path) -> None:
    body = '[[discover]]\nid = "d"\nfeed = "http://127.0.0.1:70000/feed"\n'
    output = refused(tmp_path, body)
    assert "discover[1] (id 'd').feed: 'http://127.0.0.1:70000/feed' has no usable port" in output


def test_a_url_with_a_usable_port_or_credentials_still_loads(tmp_path: Path) -> None:
    body = source("http://127.0.0.1:65535/a") + '[[source]]\nid = "b"\nurl = "http://u:p@[::1]/"\n'
    settings = load_settings(write_config(tmp_path, body, seeds=False))
    assert [s.url for s in settings.sources] == ["http://127.0.0.1:65535/a", "http://u:p@[::1]/"]


@pytest.mark.parametrize(
    "host, fix",
    [
        (
            "smtp://mail.example.org",
            "is a URL; write the server's name alone, host = 'mail.example.org'",
        ),
        ("smtps://mail.example.org:465/", "host = 'mail.example.org' and security = \"tls\""),
        ("mail.example.org:587", "holds a port; write host = 'mail.example.org' and port = 587"),
        ("[::1]", "write an IPv6 address without brackets, host = '::1'"),
        ("mail example", "is not a host name; write the SMTP server's name"),
    ],
)
def test_an_smtp_host_that_is_not_a_host_name_is_refused_with_the_fix(
    tmp_path: Path, host: str, fix: str
) -> None:
    output = refused(
        tmp_path, f'[email]\nhost = "{host}"\nto = ["desk@example.org"]\n', "test-email"
    )
    assert f"email.host: {host!r}" in output
    assert fix in output
