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


@pytest.mark.parametrize(
    "body, message",
    [
        (
            'database = "x.db"\n',
            "database: unknown key; it belongs in [monitor]: move it below a [monitor] line",
        ),
        (
            'interval = "1h"\n',
            "interval: unknown key; it belongs in [monitor], [[source]] or [[discover]]",
        ),
        (
            '[monitor]\nto = ["desk@example.org"]\n',
            "monitor.to: unknown key; it belongs in [email]",
        ),
        (
            source("http://127.0.0.1:9/a") + 'teaser = [".entry"]\n',
            "source[1] (id 'a').teaser: unknown key; it belongs in [source.extract]: move it "
            "below a [source.extract] line",
        ),
        (
            '[[discover]]\nid = "d"\nfeed = "http://127.0.0.1:9/f"\n[discover.source]\n'
            "min_words = 5\n",
            "discover[1] (id 'd').source.min_words: unknown key; it belongs in "
            "[discover.source.extract]",
        ),
        (
            '[[discover]]\nid = "d"\nfeed = "http://127.0.0.1:9/f"\nkinds = ["failing"]\n',
            "discover[1] (id 'd').kinds: unknown key; it belongs in [[notify]]",
        ),
        (
            '[[discover]]\nid = "d"\nfeed = "http://127.0.0.1:9/f"\nrecipients = ["a@b.org"]\n',
            "discover[1] (id 'd').recipients: unknown key; it belongs in [discover.source]",
        ),
        (
            '[[discover]]\nid = "d"\nfeed = "http://127.0.0.1:9/f"\nteaser = [".entry"]\n',
            "discover[1] (id 'd').teaser: unknown key; it belongs in [discover.source.extract]",
        ),
        (
            '[[discover]]\nid = "d"\nurl = "http://127.0.0.1:9/f"\n',
            "discover[1] (id 'd').url: unknown key; a discovery reads `feed`",
        ),
        (
            '[[notify]]\nid = "chat"\nurl = "json://127.0.0.1:9/h"\nto = ["a@b.org"]\n',
            "notify[1] (id 'chat').to: unknown key; it belongs in [email]",
        ),
    ],
)
def test_a_key_under_the_wrong_header_is_refused_naming_the_table_it_belongs_in(
    tmp_path: Path, body: str, message: str
) -> None:
    assert message in refused(tmp_path, body)


def test_a_key_no_table_knows_still_lists_the_known_keys(tmp_path: Path) -> None:
    output = refused(tmp_path, 'colour = "red"\n')
    assert "colour: unknown key; known keys: monitor, email, source, discover, notify" in output


def test_a_config_that_is_not_utf8_is_refused_naming_the_line_and_the_fix(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'[monitor]\n# caf\xe9\nuser_agent = "x"\n')
    result = run(config, "check")
    assert result.exit_code == 2, result.output
    assert "line 2, column 6 is not UTF-8 (byte 0xe9); save the file as UTF-8" in result.output


def test_a_config_starting_with_a_utf8_bom_loads(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"\xef\xbb\xbf" + source("http://127.0.0.1:65535/a").encode())
    assert [s.id for s in load_settings(config).sources] == ["a"]


def test_a_missing_config_named_by_monitor_config_says_the_path_came_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone.toml"
    monkeypatch.setenv("MONITOR_CONFIG", str(missing))
    result = run(None, "check")
    assert result.exit_code == 2, result.output
    assert (
        f"{missing}: config file not found; the path comes from MONITOR_CONFIG: fix or unset it"
        in result.output
    )


def test_a_missing_config_given_with_config_does_not_blame_monitor_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_CONFIG", str(tmp_path / "from-env.toml"))
    result = run(None, "check", "--config", str(tmp_path / "given.toml"))
    assert result.exit_code == 2
    assert "given.toml: config file not found; pass --config PATH" in result.output
    assert "comes from MONITOR_CONFIG" not in result.output


@pytest.mark.parametrize(
    "lines, key, address",
    [
        ('to = ["not an address"]', "email.to", "not an address"),
        ('from = "nobody"', "email.from", "nobody"),
    ],
)
def test_a_bad_address_names_its_own_key(
    tmp_path: Path, lines: str, key: str, address: str
) -> None:
    output = refused(tmp_path, f"[email]\n{lines}\n")
    assert f"{key}: {address!r} is not an email address; write one bare address" in output


def test_a_baseline_that_is_a_folder_is_refused_as_a_folder(tmp_path: Path) -> None:
    output = refused(tmp_path, source("http://127.0.0.1:9/a") + 'baseline = "."\n')
    assert "source[1] (id 'a').baseline: '.' is a folder, not a capture file" in output


@pytest.mark.parametrize("url", ["pages", "file://{folder}/pages"])
def test_a_url_that_is_a_folder_is_refused_before_anything_is_written(
    tmp_path: Path, url: str
) -> None:
    """It was refused only at check time, as a failed check on every pass."""
    (tmp_path / "pages").mkdir()
    output = refused(tmp_path, source(url.format(folder=tmp_path)))
    assert f"source[1] (id 'a').url: {url.format(folder=tmp_path)!r} is a folder" in output
    assert "not a capture file; name the file inside it" in output
    assert not (tmp_path / "monitor.db").exists()
