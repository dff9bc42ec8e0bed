"""Issue 15: a new user's first hour. Each test drives one numbered point the way a user would,
through the real command line (in-process with CliRunner, or as a subprocess)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.demo.site import PageServer

from .conftest import SEED_FILES, run, source_block, write_config
from .service_helpers import start_serve


def _monitor() -> list[str]:
    script = shutil.which("monitor", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "monitor"]


def _quiet_env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


@pytest.fixture
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("demo") / "d"
    result = subprocess.run(
        [*_monitor(), "demo", "--dir", str(folder)],
        env=_quiet_env(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder.parent,
    )
    assert result.returncode == 0, result.stderr
    yield folder, result.stdout


@pytest.fixture
def edited(tmp_path: Path, seed_texts: list[str]) -> Path:
    """A config whose first source has a baseline and a capture with one word edited."""
    (tmp_path / "new.txt").write_text(
        seed_texts[0].replace("rare trip", "rare journey", 1), encoding="utf-8"
    )
    (tmp_path / "same.txt").write_text(seed_texts[1], encoding="utf-8")
    body = (
        '[email]\nto = ["desk@example.org"]\n\n'
        + source_block("edited", "new.txt", SEED_FILES[0].name)
        + source_block("same", "same.txt", SEED_FILES[1].name)
    )
    return write_config(tmp_path, body)


# -- 1 and 15: after the demo, the printed commands paste and run -----------------------------


def test_demo_prints_commands_that_paste_and_run(demo_dir: tuple[Path, str]) -> None:
    _, out = demo_dir
    lines = [line.strip() for line in out.splitlines() if "--config" in line]
    commands = [shlex.split(line) for line in lines]
    assert len(commands) >= 4
    assert all("|" not in c for c in commands)  # one command a line, no pipeline
    # The program is named as it was run (a path here), not a bare `monitor` off PATH.
    assert all(Path(c[0]).exists() or c[:2] == [sys.executable, "-m"] for c in commands)
    subcommands = [c[c.index("--config") + 2] for c in commands]
    assert {"changes", "show", "history", "check"} <= set(subcommands)
    for command in commands:
        result = subprocess.run(
            command, env=_quiet_env(), capture_output=True, text=True, timeout=60
        )
        # `check` too: the demo's server is gone, its config reads the saved pages.
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    assert "server has stopped" in out


def test_checking_the_demo_folder_finds_no_change_until_a_page_is_edited(
    demo_dir: tuple[Path, str],
) -> None:
    folder, _ = demo_dir
    config = folder / "config.toml"
    first = run(config, "check", "--json")
    assert first.exit_code == 0, first.output
    assert {r["outcome"] for r in json.loads(first.stdout)} <= {"unchanged", "not_modified"}
    page = folder / "pages" / "north-korean-russian-threat.html"
    page.write_text(page.read_text().replace("made a rare journey", "made a rare visit"))
    second = json.loads(run(config, "check", "--json").stdout)
    assert [r["outcome"] for r in second] == ["changed", "unchanged"]


# -- 14: "U.S." stays one word in the demo's pages ---------------------------------------------


def test_demo_pages_keep_abbreviations_in_one_paragraph(demo_dir: tuple[Path, str]) -> None:
    folder, _ = demo_dir
    changes = json.loads(run(folder / "config.toml", "changes", "--json").stdout)
    lifted = next(c for c in changes if "access_changed" in c["kinds"])
    shown = json.loads(run(folder / "config.toml", "show", str(lifted["id"]), "--json").stdout)
    teaser = shown["regions"]["teaser"]["after"]
    assert "U.S. and South Korean defenses" in teaser
    html = (folder / "pages" / "north-koreas-critical-allies.html").read_text()
    assert "<p>S. and South Korean" not in html


# -- 2: Ctrl-C during a check stops it at once, keeps what was checked, exits 130 -------------


def test_ctrl_c_stops_a_check_stalled_on_a_site(
    tmp_path: Path, pages: PageServer, seed_articles: list[object]
) -> None:
    pages.put_article("/good", seed_articles[0])  # type: ignore[arg-type]
    stall = socket.create_server(("127.0.0.1", 0))
    stall.settimeout(20)
    body = (
        '[monitor]\ntimeout = "30s"\nretries = 2\n\n'
        + source_block("good", pages.url("/good"))
        + source_block("stalled", f"http://127.0.0.1:{stall.getsockname()[1]}/never")
    )
    config = write_config(tmp_path, body, seeds=False)
    proc = subprocess.Popen(
        [*_monitor(), "check", "--config", str(config)],
        env=_quiet_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        held, _ = stall.accept()  # the request is in flight and will get no answer
        deadline = time.monotonic() + 20
        while not pages.hits.get("/good") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the good page is read and extracted meanwhile
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=25)
        took = time.monotonic() - interrupted
        held.close()
    finally:
        proc.kill()
        stall.close()
    assert proc.returncode == 130, (out, err)
    assert took < 5, took  # the stall lasts 30 s per try, three tries
    assert "interrupted" in err
    assert re.search(r"checked 2 sources in [\d.]+ s: 0 changed, 1 new", out)
    history = json.loads(run(config, "history", "good", "--json").stdout)
    assert len(history["versions"]) == 1  # what was checked before Ctrl-C is stored


# -- 3: --config after the command -------------------------------------------------------------


def test_config_is_accepted_after_the_command(edited: Path) -> None:
    after = CliRunner().invoke(cli, ["check", "--config", str(edited), "--json"])
    assert after.exit_code == 0, after.output
    listed = CliRunner().invoke(cli, ["changes", "--config", str(edited), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [c["source"] for c in json.loads(listed.stdout)] == ["edited"]


@pytest.mark.parametrize("name", sorted(set(cli.commands) - {"demo"}))
def test_every_command_but_demo_takes_config(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "--config FILE" in result.output


# -- 4: serve prints where it listens; a busy port is a clear error ----------------------------


def test_serve_prints_its_url_and_serves_there(edited: Path) -> None:
    proc, banner = start_serve(
        [*_monitor(), "--config", str(edited), "serve", "--port", "0"], _quiet_env()
    )
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", banner)
        assert url is not None, banner
        with urllib.request.urlopen(url.group(0) + "healthz", timeout=10) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0


def test_serve_on_a_busy_port_exits_2_and_says_why(edited: Path) -> None:
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        result = run(edited, "serve", "--port", str(busy.getsockname()[1]))
    finally:
        busy.close()
    assert result.exit_code == 2
    assert "is in use" in result.output and "--port" in result.output
    assert "Errno" not in result.output


# -- 5: --source is checked by every command that takes it ------------------------------------


@pytest.mark.parametrize("command", [["changes"], ["report", "-o", "-"]])
def test_unknown_source_is_bad_usage(edited: Path, command: list[str]) -> None:
    result = run(edited, *command, "--source", "nope")
    assert result.exit_code == 2
    assert "no source with id 'nope'" in result.output and "edited" in result.output
    assert run(edited, *command, "--source", "same").exit_code == 0  # configured, unchecked


# -- 6: exit codes ------------------------------------------------------------------------------


def test_show_of_an_unknown_change_is_bad_usage(edited: Path) -> None:
    result = run(edited, "show", "999")
    assert result.exit_code == 2
    assert "no change with id 999" in result.output


def test_compare_with_no_article_in_new_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    result = run(None, "compare", str(SEED_FILES[0]), str(empty))
    assert result.exit_code == 1
    assert "no recognisable article" in result.output


# -- 7: a fetch error names the host and says the reason in words ------------------------------


def test_check_error_names_the_host_in_words(tmp_path: Path) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    body = "[monitor]\nretries = 0\n\n" + source_block("gone", f"http://127.0.0.1:{port}/a")
    result = run(write_config(tmp_path, body, seeds=False), "check")
    assert result.exit_code == 1
    assert "cannot connect to 127.0.0.1" in result.output
    assert "connection refused" in result.output and "Errno" not in result.output


# -- 8: a URL without its scheme is refused when the config is read ---------------------------


def test_url_without_scheme_suggests_https(tmp_path: Path) -> None:
    url = "warontherocks.com/2023/09/in-brief-the-north-korean-russian-threat"
    config = write_config(tmp_path, source_block("x", url), seeds=False)
    result = run(config, "check")
    assert result.exit_code == 2
    assert f"did you mean 'https://{url}'?" in result.output
    assert not (tmp_path / "monitor.db").exists()


# -- a CA bundle that cannot be read is named, with the fix, before anything is written ------


@pytest.mark.parametrize("bundle", ["not a certificate\n", None], ids=["garbage", "missing"])
@pytest.mark.parametrize("command", ["check", "compare", "run"])
def test_an_unreadable_ssl_cert_file_exits_2_naming_it(
    tmp_path: Path, bundle: str | None, command: str
) -> None:
    ca_file = tmp_path / "ca.pem"
    if bundle is not None:
        ca_file.write_text(bundle)
    config = write_config(tmp_path, source_block("x", "http://127.0.0.1:9/a"), seeds=False)
    args = ["compare", "http://127.0.0.1:9/a", "x.html"] if command == "compare" else [command]
    # a process of its own: the bundle starts loading in a thread as the command line is
    # imported, where nothing must be printed of its failure
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SSL_CERT_FILE": str(ca_file)},
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"Error: SSL_CERT_FILE={ca_file}: no CA certificates")
    assert "PEM file of CA certificates, or unset it" in result.stderr
    assert "Traceback" not in result.stderr and "Exception in thread" not in result.stderr
    assert not (tmp_path / "monitor.db").exists()


# -- 10: report writes beside the database, not into the working folder -----------------------


def test_report_default_goes_beside_the_database(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "checkout"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run(edited, "check").exit_code == 0
    result = run(edited, "report")
    assert result.exit_code == 0, result.output
    assert (edited.parent / "report.html").is_file()
    assert list(elsewhere.iterdir()) == []
    assert str(edited.parent / "report.html") in result.output


# -- 11: check's summary line and --changes-only -----------------------------------------------


def test_check_summary_and_changes_only(edited: Path) -> None:
    result = run(edited, "check", "--changes-only")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("edited ") and "changed" in line for line in lines)
    assert not any(line.startswith("same ") for line in lines)  # unchanged: left out
    summary = r"^checked 2 sources in \d+\.\d s: 1 changed, 1 unchanged, 0 failed$"
    assert re.search(summary, result.output, re.M)
    quiet = run(edited, "check", "--changes-only")
    assert not any(line.startswith(("edited ", "same ")) for line in quiet.output.splitlines())
    assert "0 changed, 2 unchanged, 0 failed" in quiet.output
    as_json = json.loads(run(edited, "check", "--changes-only", "--json").stdout)
    assert as_json == []


# -- 12: help is complete ----------------------------------------------------------------------


def test_top_level_help_is_not_cut() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    listing = result.output[result.output.index("Commands:") :]
    assert "..." not in listing and "…" not in listing
    for name, command in cli.commands.items():
        assert command.short_help, name
        assert f"{name}  " in listing and command.short_help in listing
    assert "130" in result.output  # the exit statuses are in the help


def test_every_option_of_every_command_is_described() -> None:
    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts}"
        shown = CliRunner().invoke(cli, [name, "--help"]).output
        if any("--json" in p.opts for p in command.params):
            assert re.search(r"--json\s+\S", shown), name


# -- 13: the small inconsistencies -------------------------------------------------------------


def test_alerts_pending_and_failed_together_is_bad_usage(edited: Path) -> None:
    result = run(edited, "alerts", "--pending", "--failed")
    assert result.exit_code == 2
    assert "--pending and --failed" in result.output


def test_feed_ends_with_a_newline(edited: Path) -> None:
    assert run(edited, "check").exit_code == 0
    assert run(edited, "feed").stdout_bytes.endswith(b"</feed>\n")


def test_gc_prints_iso_8601(edited: Path) -> None:
    result = run(edited, "gc")
    assert result.exit_code == 0
    assert re.search(r"older than \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", result.output.strip())


def test_check_and_demo_say_alerts_the_same_way(edited: Path, demo_dir: tuple[Path, str]) -> None:
    result = run(edited, "check")
    assert re.search(r"^alerts: 1 email written to .*outbox$", result.output, re.M), result.output
    assert re.search(r"^alerts: 2 emails written to .*outbox$", demo_dir[1], re.M)


def test_alerts_json_has_no_next_attempt_once_sent(edited: Path) -> None:
    assert run(edited, "check").exit_code == 0
    alerts = json.loads(run(edited, "alerts", "--json").stdout)
    assert [a["status"] for a in alerts] == ["sent"]
    assert alerts[0]["next_attempt_at"] is None


def test_show_json_has_the_shape_of_compare_json(edited: Path) -> None:
    checked = json.loads(run(edited, "check", "--json").stdout)
    change_id = checked[0]["change_id"]
    shown = json.loads(run(edited, "show", str(change_id), "--json").stdout)
    compared = json.loads(
        run(None, "compare", str(SEED_FILES[0]), str(edited.parent / "new.txt"), "--json").stdout
    )
    assert shown["changed"] is True and shown["kinds"] == compared["kinds"]
    assert shown["access"] == compared["access"]
    assert shown["regions"].keys() == compared["regions"].keys()
    for name, region in compared["regions"].items():
        assert shown["regions"][name].keys() == region.keys()
        assert shown["regions"][name]["changed"] == region["changed"]
    assert "[-trip-]{+journey+}" in shown["regions"]["teaser"]["diff"]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_no_color_on_a_terminal_marks_old_and_new_words(tmp_path: Path) -> None:
    new = tmp_path / "new.txt"
    new.write_text(SEED_FILES[0].read_text().replace("rare trip", "rare journey", 1))
    primary, secondary = os.openpty()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "200"}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.Popen(
        [*_monitor(), "compare", str(SEED_FILES[0]), str(new)],
        stdout=secondary,
        stderr=secondary,
        env=env,
        cwd=tmp_path,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=30)
    os.close(primary)
    out = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "[-trip-]{+journey+}" in out


def test_piped_status_is_as_wide_as_columns_says_else_120(tmp_path: Path) -> None:
    """Long source ids (a discovery's) cut every column of a piped `status` to a few letters
    at its 120 columns; COLUMNS, which rich honours on a terminal, widens it."""
    ids = [f"war-on-the-rocks-in-brief-a-rare-trip-to-the-border-and-what-{i}" for i in (1, 2)]
    body = "".join(
        source_block(i, f"seeds/{seed.name}") for i, seed in zip(ids, SEED_FILES, strict=True)
    )
    config = write_config(tmp_path, body)
    checked = run(config, "check")
    assert checked.exit_code == 0, checked.output
    runner = CliRunner()
    narrow = runner.invoke(cli, ["--config", str(config), "status"], env={"COLUMNS": None})
    zero = runner.invoke(cli, ["--config", str(config), "status"], env={"COLUMNS": "0"})
    assert zero.output == narrow.output  # no width at all is no width given
    wide = runner.invoke(cli, ["--config", str(config), "status"], env={"COLUMNS": "200"})
    assert narrow.exit_code == wide.exit_code == 1  # no service running: exit 1, as documented
    assert max(len(line) for line in narrow.output.splitlines()) <= 120
    assert ids[0] not in narrow.output
    rows = [line.split() for line in wide.output.splitlines() if line.startswith(ids[0][:20])]
    assert [row[0] for row in rows] == ids
    assert all("healthy" in row and "new" in row for row in rows)


def test_links_to_a_local_capture_are_file_uris_in_the_feed_report_and_email(
    edited: Path,
) -> None:
    """A bare path as a link is read against the site that shows it (the web UI's host, the
    feed's address): a local capture is linked by its file: URI."""
    assert run(edited, "check").exit_code == 0
    folder = edited.parent
    link = f'href="{(folder / "new.txt").resolve().as_uri()}"'
    assert run(edited, "feed", "-o", str(folder / "f.atom")).exit_code == 0
    assert run(edited, "report", "-o", str(folder / "r.html")).exit_code == 0
    (mail,) = (folder / "outbox").glob("*.eml")
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    html = message.get_body(("html",))
    assert html is not None
    feed, report = (folder / "f.atom").read_text(), (folder / "r.html").read_text()
    for text in (feed, report, html.get_content()):
        assert link in text
        assert f'href="{folder / "new.txt"}"' not in text
