"""Email alerts against a real SMTP server on 127.0.0.1, driven through the command line."""

from __future__ import annotations

import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
import trustme

from monitor.alerts.mailer import FolderTransport, build_message, build_transport
from monitor.alerts.outbox import Sender
from monitor.app import open_app
from monitor.config.settings import load_settings
from monitor.demo.site import Article, PageServer
from monitor.store.db import Store

from .conftest import SEED_FILES, run, source_block, write_config
from .smtp_helpers import Mailbox, free_port, smtp_server

PATH = "/2023/09/threat"


def email_config(tmp_path: Path, pages: PageServer, email: str, extra: str = "") -> Path:
    sources = source_block("threat", pages.url(PATH), SEED_FILES[0].name, extra)
    return write_config(tmp_path, f"[monitor]\nretries = 0\n\n[email]\n{email}\n\n{sources}")


def plain_smtp(port: int) -> str:
    """The [email] lines for the test server without TLS; recipients and the rest follow."""
    return f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'


def edit(pages: PageServer, article: Article, old: str, new: str, chrome: int = 1) -> None:
    pages.put_article(
        PATH, replace(article, teaser=article.teaser.replace(old, new), chrome=chrome)
    )


def alerts(config: Path) -> list[dict[str, object]]:
    return json.loads(run(config, "alerts", "--json").stdout)


def parts(message) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_a_teaser_edit_sends_one_message_per_recipient(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        config = email_config(
            tmp_path,
            pages,
            plain_smtp(port) + 'to = ["a@example.org", "b@example.org"]',
        )
        pages.put_article(PATH, seed_articles[0])
        assert run(config, "check").exit_code == 0
        assert box.received == []
        edit(pages, seed_articles[0], "rare trip", "rare journey")
        result = run(config, "check")
        assert "alerts: 2 emails sent" in result.output
        assert run(config, "check").exit_code == 0  # nothing new: nothing sent again
    assert len(box.received) == 2
    for address in ("a@example.org", "b@example.org"):
        (message,) = box.to(address)
        assert message["Subject"] == "Teaser edited: In Brief: The North Korean-Russian Threat"
        text, html = parts(message)
        assert "[-trip-]{+journey+}" in text and "locked -> locked" in text
        assert "<del" in html and ">trip</del>" in html and ">journey</ins>" in html
        assert pages.url(PATH) in text
    assert {a["status"] for a in alerts(config)} == {"sent"}
    assert all(str(a["message_id"]).startswith("<monitor.") for a in alerts(config))


def test_starttls_and_auth(
    tmp_path: Path, pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    server_context = __import__("ssl").create_default_context(__import__("ssl").Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    box = Mailbox()
    monkeypatch.setenv("MONITOR_TEST_SMTP_PASSWORD", "s3cret")
    with smtp_server(box, tls=server_context, password="s3cret") as port:
        config = email_config(
            tmp_path,
            pages,
            f'host = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\nusername = "monitor"\n'
            'password_env = "MONITOR_TEST_SMTP_PASSWORD"\nca_file = "ca.pem"\n'
            'to = ["desk@example.org"]',
        )
        result = run(config, "test-email")
        assert result.exit_code == 0, result.output
        assert "delivered to desk@example.org: 250" in result.output
        monkeypatch.setenv("MONITOR_TEST_SMTP_PASSWORD", "wrong")
        refused = run(config, "test-email")
        assert refused.exit_code == 1 and "login refused" in refused.output
    assert box.logins == ["monitor"]
    assert len(box.received) == 1


def test_server_down_then_back_delivers_once_and_clears_the_error(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    port = free_port()
    config = email_config(
        tmp_path,
        pages,
        plain_smtp(port) + 'to = ["desk@example.org"]\nbackoff = "1s"',
    )
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    edit(pages, seed_articles[0], "rare trip", "rare journey")
    result = run(config, "check")
    assert result.exit_code == 0 and "1 waiting to be retried" in result.output
    (alert,) = alerts(config)
    assert alert["status"] == "pending" and "cannot reach SMTP server" in str(alert["last_error"])
    box = Mailbox()
    with smtp_server(box, port):
        time.sleep(1.1)  # the retry is due after the backoff
        run(config, "check")
        run(config, "check")
    assert len(box.received) == 1
    (sent,) = alerts(config)
    assert sent["status"] == "sent" and sent["last_error"] is None  # the failure is over
    assert isinstance(sent["sent_at"], str)
    assert datetime.fromisoformat(sent["sent_at"]) >= datetime.fromisoformat(sent["created_at"])


def test_a_rejected_recipient_does_not_hold_back_the_others(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox(reject=("gone@example.org",))
    with smtp_server(box) as port:
        config = email_config(
            tmp_path,
            pages,
            plain_smtp(port) + 'to = ["gone@example.org", "desk@example.org"]',
        )
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        edit(pages, seed_articles[0], "rare trip", "rare journey")
        run(config, "check")
    assert len(box.to("desk@example.org")) == 1
    by_recipient = {a["recipient"]: a for a in alerts(config)}
    assert by_recipient["desk@example.org"]["status"] == "sent"
    assert by_recipient["gone@example.org"]["status"] == "failed"
    assert "550" in str(by_recipient["gone@example.org"]["last_error"])
    failed = run(config, "alerts", "--failed")
    assert "gone@example.org" in failed.output and "desk@example.org" not in failed.output


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


def test_killed_between_send_and_mark_resends_with_the_same_message_id(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        config = email_config(
            tmp_path,
            pages,
            plain_smtp(port) + 'to = ["desk@example.org"]\nbackoff = "1s"',
        )
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        edit(pages, seed_articles[0], "rare trip", "rare journey")
        settings = load_settings(config)
        # store the change, then "die" right after the server accepted the message
        with open_app(settings) as app:
            app.checker.check(settings.sources)
        store = Store.open(settings.monitor.database)
        sender = Sender(store, settings.email, lambda: build_transport(settings.email))

        def die(*args: object, **kwargs: object) -> None:
            raise Killed

        sender._finish = die  # type: ignore[method-assign]
        with pytest.raises(Killed):
            sender.deliver()
        store.close()
        assert len(box.received) == 1
        assert alerts(config)[0]["status"] == "pending"  # not marked sent: the kill came first
        time.sleep(1.1)
        run(config, "check")
        run(config, "check")
    ids = [m["Message-ID"] for _, m in box.received]
    assert len(ids) == 2 and ids[0] == ids[1]  # a duplicate, recognisable as one
    assert alerts(config)[0]["status"] == "sent"


def test_digest_gathers_changes_into_one_message(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        config = email_config(
            tmp_path,
            pages,
            plain_smtp(port) + 'to = ["desk@example.org"]\nmode = "digest"\ndigest_interval = "3s"',
        )
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        for i, (old, new) in enumerate([("rare trip", "rare journey"), ("three", "four")], 1):
            edit(pages, seed_articles[0], old, new, chrome=i)
            assert run(config, "check").exit_code == 0
        assert box.received == []  # not yet: the digest waits for its interval
        time.sleep(3.1)  # times are kept to the second: wait the interval out
        run(config, "check")
    (message,) = box.to("desk@example.org")
    assert message["Subject"] == "monitor: 2 updates: Teaser edited (2)"
    text, html = parts(message)
    assert "[-trip-]{+journey+}" in text and "[-three-]{+four+}" in text
    assert ">trip</del>" in html and ">three</del>" in html
    assert len({a["message_id"] for a in alerts(config)}) == 1


def test_without_smtp_messages_are_eml_files(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    config = write_config(tmp_path, source_block("threat", pages.url(PATH), SEED_FILES[0].name))
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    edit(pages, seed_articles[0], "rare trip", "rare journey")
    result = run(config, "check")
    assert f"1 email written to {tmp_path / 'outbox'}" in result.output
    (path,) = (tmp_path / "outbox").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "monitor@localhost"  # nobody configured: the sender itself
    text, html = parts(message)
    assert "[-trip-]{+journey+}" in text and ">journey</ins>" in html


def test_an_outbox_folder_removed_between_two_messages_is_made_again(tmp_path: Path) -> None:
    outbox = tmp_path / "mail" / "outbox"
    transport = FolderTransport(outbox)  # made by the first message, not before
    assert not outbox.exists()

    def message(n: int) -> Message:
        return build_message(
            sender="monitor@localhost",
            recipient="editor@example.org",
            subject=f"Change {n}",
            text="text",
            html="<p>html</p>",
            message_id=f"<{n}@monitor>",
        )

    transport.send(message(1), "editor@example.org")
    shutil.rmtree(tmp_path / "mail")  # a person clears the folder while the service runs
    transport.send(message(2), "editor@example.org")
    (path,) = outbox.glob("*.eml")
    assert message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"] == "Change 2"
    assert [p.name for p in outbox.iterdir()] == [path.name]  # no temporary file left


def test_page_text_is_escaped_and_headers_stay_single_lines(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    config = write_config(tmp_path, source_block("threat", pages.url(PATH), SEED_FILES[0].name))
    article = replace(seed_articles[0], title="Evil\r\nBcc: victim@example.org")
    pages.put_article(PATH, article)
    run(config, "check")
    hostile = "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }}"
    pages.put_article(PATH, replace(article, teaser=article.teaser.replace("rare trip", hostile)))
    run(config, "check")
    (path,) = (tmp_path / "outbox").glob("*.eml")
    raw = path.read_bytes()
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and "Evil Bcc:" in message["Subject"]
    text, html = parts(message)
    assert "{+<script>alert(1)</script>" in text  # plain text carries it as text
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "{{ 7*7 }}" in html


def test_failing_and_recovered_events_become_alerts(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    sources = source_block("threat", pages.url(PATH), SEED_FILES[0].name)
    config = write_config(tmp_path, f"[monitor]\nretries = 0\nfailing_after = 2\n\n{sources}")
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    pages.put(PATH, "oops", status=500)
    run(config, "check")
    assert alerts(config) == []  # one failure is not yet "failing"
    run(config, "check")
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    messages = sorted(
        (
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in (tmp_path / "outbox").glob("*.eml")
        ),
        key=lambda m: str(m["Subject"]),
    )
    assert [m["Subject"] for m in messages] == [
        "Source failing: In Brief: The North Korean-Russian Threat",
        "Source recovered: In Brief: The North Korean-Russian Threat",
    ]
    failing, recovered = (parts(m)[0].replace("\r\n", "\n") for m in messages)
    # each names the page, when the turn was seen, and why
    for text in (failing, recovered):
        assert f"URL:      {pages.url(PATH)}\n" in text
        assert re.search(r"Seen:     \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", text)
    assert "The latest reason:\n\n  HTTP 500" in failing
    assert "(latest outcome: not_modified)" in recovered  # the page answered 304
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        assert conn.execute("select count(*) from changes").fetchone()[0] == 0


def test_a_message_round_trips_text_outside_ascii() -> None:
    from monitor.alerts.mailer import build_message

    subject = "Teaser edited: Kim’s ‘visit’ — Über " + "long words " * 12
    text = "Ünïcode teaser " * 200 + "\n"
    html = "<p>" + "wörd " * 400 + "</p>"
    raw = build_message(
        sender="Überwachung <monitor@example.org>",
        recipient="a@example.org",
        subject=subject,
        text=text,
        html=html,
        message_id="<monitor.1.abc@example.org>",
    ).as_bytes()
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 78 and b"\n" not in line for line in lines)  # CRLF only, folded
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == subject
    assert message["From"].addresses[0].display_name == "Überwachung"
    assert message["From"].addresses[0].addr_spec == "monitor@example.org"
    # lines end in CRLF on the wire, as MIME has them
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert message.get_body(("html",)).get_content().rstrip("\r\n") == html
    assert message["Message-ID"] == "<monitor.1.abc@example.org>"


def test_a_part_that_quotes_the_boundary_does_not_end_the_message() -> None:
    from monitor.alerts.mailer import build_message

    def build(text: str) -> bytes:
        return build_message(
            sender="monitor@example.org",
            recipient="a@example.org",
            subject="Teaser edited",
            text=text,
            html="<p>x</p>",
            message_id="<monitor.2.abc@example.org>",
            headers={"X-Monitor-Alert-Ids": ", ".join(str(i) for i in range(400))},
        ).as_bytes()

    first = message_from_bytes(build("x"), policy=policy.default)
    boundary = first.get_boundary()
    assert boundary is not None
    # a teaser that happens to quote this message's own boundary line, and its end
    text = f"before\n--{boundary}\nmiddle\n--{boundary}--\nafter\n"
    raw = build(text)
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_boundary() == boundary
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert message.get_body(("html",)).get_content().rstrip("\r\n") == "<p>x</p>"
    # a long header is still folded, a short one written as it is
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    assert b"\r\nTo: a@example.org\r\n" in raw
    assert message["X-Monitor-Alert-Ids"] == ", ".join(str(i) for i in range(400))


def test_the_alerts_table_shows_the_newest_hundred_and_says_how_many_there_are(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    recipients = ", ".join(f'"r{i:03}@example.org"' for i in range(105))
    config = write_config(
        tmp_path,
        f"[email]\nto = [{recipients}]\n\n"
        + source_block("threat", pages.url(PATH), SEED_FILES[0].name),
    )
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    edit(pages, seed_articles[0], "rare trip", "rare journey")
    assert "105 emails written" in run(config, "check").output

    table = run(config, "alerts")
    assert table.exit_code == 0
    assert table.output.count("@example.org") == 100
    assert "alerts 1-100 of 105; next: --offset 100 (--all lists every one)" in table.output
    # newest first: the last recipient's alert was queued last
    assert "r104@example.org" in table.output and "r004@example.org" not in table.output

    rest = run(config, "alerts", "--offset", "100")
    assert rest.output.count("@example.org") == 5
    assert "alerts 101-105 of 105 (--all lists every one)" in rest.output

    everything = run(config, "alerts", "--all")
    assert everything.output.count("@example.org") == 105
    assert "of 105" not in everything.output

    assert len(alerts(config)) == 105  # --json lists them all
    assert run(config, "alerts", "--limit", "3").output.count("@example.org") == 3


def test_an_outbox_folder_that_fills_up_keeps_no_half_written_message(tmp_path: Path) -> None:
    """An outside reviewer's full disk under the `.eml` outbox: the message is not delivered
    (the alert waits), and no partly written file is left in the folder."""
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from monitor.alerts.mailer import FolderTransport, build_message\n"
        "from monitor.errors import DeliveryError\n"
        "message = build_message(sender='m@example.org', recipient='d@example.org',"
        " subject='s', text='x' * 20000, html='<p>' + 'x' * 20000,"
        " message_id='<1.a@example.org>')\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n"
        "    FolderTransport(Path(sys.argv[1])).send(message, 'd@example.org')\n"
        "except DeliveryError as exc:\n"
        "    print(exc)\n"
    )
    folder = tmp_path / "outbox"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"cannot write to {folder}:")
    assert list(folder.iterdir()) == []


# -- found by an outside review of the email path ----------------------------------------------


def _message_of_an_edit(tmp_path: Path, pages: PageServer, article: Article) -> EmailMessage:
    """The message (written to the outbox folder) of a teaser edit of `article`."""
    config = write_config(tmp_path, source_block("threat", pages.url(PATH), SEED_FILES[0].name))
    pages.put_article(PATH, article)
    run(config, "check")
    edit(pages, article, "rare trip", "rare journey")
    run(config, "check")
    (path,) = (tmp_path / "outbox").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_title_with_line_breaks_adds_no_line_to_the_text_parts_fields(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    forged = "In Brief: Ukraine\nURL:      https://evil.example/login\nAccess:   locked -> free"
    text, _ = parts(_message_of_an_edit(tmp_path, pages, replace(seed_articles[0], title=forged)))
    fields = [line for line in text.splitlines() if re.match(r"^[A-Z][A-Za-z]+: ", line)]
    assert [f.split(":")[0] for f in fields] == ["Article", "URL", "Seen", "Kinds", "Access"]
    assert fields[0].startswith("Article:  In Brief: Ukraine URL: https://evil.example/login")
    assert fields[1] == f"URL:      {pages.url(PATH)}"


def test_an_encoded_word_in_a_title_reaches_the_reader_as_written(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Mail readers decode any encoded word they find in a Subject: written as it is, this
    title read "— Paywall lifted for all" in the inbox of a teaser edit."""
    title = "In Brief: Iran =?utf-8?q?=E2=80=94_Paywall_lifted_for_all?="
    message = _message_of_an_edit(tmp_path, pages, replace(seed_articles[0], title=title))
    subject = message["Subject"]
    assert subject.endswith(title)
    assert "Paywall lifted for all" not in subject


def test_a_server_that_wants_a_login_first_keeps_every_alert_pending_until_one_is_set(
    tmp_path: Path,
    pages: PageServer,
    seed_articles: list[Article],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "530 Authentication required" to MAIL FROM had failed every queued alert for good on
    its first try, each as if the server had refused that message."""
    pages.put_article(PATH, seed_articles[0])
    box = Mailbox()
    monkeypatch.setenv("MONITOR_TEST_SMTP_PASSWORD", "s3cret")
    with smtp_server(box, password="s3cret") as port:
        email = plain_smtp(port) + 'to = ["desk@example.org", "news@example.org"]'
        config = email_config(tmp_path, pages, email)
        run(config, "check")
        edit(pages, seed_articles[0], "rare trip", "rare journey")
        checked = run(config, "check")
        assert "sender refused: 530" in checked.output
        assert "set email.username and email.password_env" in checked.output
        assert {(a["status"], a["tries"]) for a in alerts(config)} <= {
            ("pending", 0),
            ("pending", 1),
        }
        assert box.received == []
        login = 'username = "monitor"\npassword_env = "MONITOR_TEST_SMTP_PASSWORD"\n'
        config = email_config(tmp_path, pages, login + email)
        with sqlite3.connect(tmp_path / "monitor.db") as db:
            db.execute("update alerts set next_attempt_at = '2000-01-01T00:00:00Z'")
        assert run(config, "alerts", "--retry").exit_code == 0
    assert sorted(r for rcpts, _ in box.received for r in rcpts) == [
        "desk@example.org",
        "news@example.org",
    ]
    assert {a["status"] for a in alerts(config)} == {"sent"}


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            'to = ["desk@exämple.org"]',
            "email.to: 'desk@exämple.org': write its domain in ASCII, as desk@xn--exmple-cua.org",
        ),
        (  # IDNA 2008: Python's own "idna" codec gives strasse.de, another domain
            'to = ["desk@straße.de"]',
            "email.to: 'desk@straße.de': write its domain in ASCII, as desk@xn--strae-oqa.de",
        ),
        (
            'to = ["desk@example.org"]\nfrom = "rédaction@example.org"',
            "email.from: 'rédaction@example.org': the part before @ has characters outside ASCII",
        ),
    ],
)
def test_an_address_outside_ascii_is_refused_at_load_naming_the_key(
    tmp_path: Path, pages: PageServer, setting: str, message: str
) -> None:
    config = email_config(tmp_path, pages, setting)
    result = run(config, "check")
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "monitor.db").exists()


def test_test_email_to_an_address_outside_ascii_is_bad_usage_not_a_traceback(
    tmp_path: Path, pages: PageServer
) -> None:
    config = email_config(tmp_path, pages, 'to = ["desk@example.org"]')
    result = run(config, "test-email", "--to", "rédaction@example.org")
    assert result.exit_code == 2
    assert "the part before @ has characters outside ASCII" in result.output


@pytest.mark.parametrize(
    "security, fix",
    [
        # a plain server asked for STARTTLS
        ("starttls", 'set email.security = "tls" if this port expects TLS from the start'),
        # a plain server answered with TLS: OpenSSL's "WRONG_VERSION_NUMBER" alone had said it
        ("tls", "the server did not answer with TLS: if this is a plain or STARTTLS port"),
    ],
)
def test_a_security_setting_the_server_does_not_speak_is_named_with_its_fix(
    tmp_path: Path, pages: PageServer, security: str, fix: str
) -> None:
    with smtp_server(Mailbox()) as port:
        email = f'host = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nto = ["a@b.org"]'
        result = run(email_config(tmp_path, pages, email), "test-email")
    assert result.exit_code == 1
    assert fix in result.output


def test_a_server_that_sends_no_greeting_is_named_as_perhaps_a_tls_port() -> None:
    """STARTTLS against port 465, which waits for TLS and says nothing: "timed out" alone
    gave no clue."""
    from monitor.alerts.mailer import SmtpTransport
    from monitor.config.settings import EmailSettings
    from monitor.errors import DeliveryError

    with socket.create_server(("127.0.0.1", 0)) as silent:  # never accepts, never greets
        settings = EmailSettings(host="127.0.0.1", port=silent.getsockname()[1], to=("a@b.org",))
        transport = SmtpTransport(settings, timeout=0.5)
        message = build_message(
            sender="m@b.org", recipient="a@b.org", subject="s", text="t", html="h", message_id="<i>"
        )
        with pytest.raises(DeliveryError, match="expects TLS from the start, as 465 does") as err:
            transport.send(message, "a@b.org")
    assert err.value.connection and not err.value.permanent


def test_a_rewrite_of_a_very_long_teaser_is_cut_in_the_message_not_in_the_report(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """A 30,000-word rewrite had made a 2.6 MB message, which a mail server may refuse for
    good ("552 message too large")."""
    config = write_config(tmp_path, source_block("threat", pages.url(PATH)))
    words = [f"word{n}x" for n in range(6000)]  # no number tokens: a word each
    article = replace(seed_articles[0], teaser=" ".join(words))
    pages.put_article(PATH, article)
    run(config, "check")
    pages.put_article(PATH, replace(article, teaser=" ".join(w.upper() for w in words)))
    assert run(config, "check").exit_code == 0
    (path,) = (tmp_path / "outbox").glob("*.eml")
    assert path.stat().st_size < 200_000
    text, html = parts(message_from_bytes(path.read_bytes(), policy=policy.default))
    for part in (text, html):
        assert re.search(r"\[…\] \([\d,]+ more characters of this diff: see the report\)", part)
    shown = run(config, "show", "1")
    assert "WORD5999X" in shown.output  # the report keeps the whole diff


def test_a_message_cuts_a_long_diff_without_spaces_at_its_limit() -> None:
    """Chinese text has no space to cut at: the message had shown none of its diff."""
    from monitor.detect.diff import Segment as Seg
    from monitor.views.render import MAIL_DIFF, RegionView

    added = "新闻" * 20_000
    region = RegionView("teaser", "", added, (Seg("+", added),))
    assert region.mail_plain.startswith("{+" + added[:MAIL_DIFF])
    assert f"({len(added) - MAIL_DIFF:,} more characters of this diff" in region.mail_plain


def test_a_digests_subject_counts_each_kind_in_the_order_they_came() -> None:
    from types import SimpleNamespace

    from monitor.alerts.outbox import _digest_subject

    labels = ["Teaser edited", "Paywall lifted", "Teaser edited", "Source failing"]
    items = [SimpleNamespace(label=label) for label in labels]
    assert _digest_subject(items) == (  # type: ignore[arg-type]
        "monitor: 4 updates: Teaser edited (2), Paywall lifted (1), Source failing (1)"
    )
