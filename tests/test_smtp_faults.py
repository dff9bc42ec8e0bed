"""SMTP as it goes wrong (issue 14, point 14), against a real aiosmtpd server on 127.0.0.1.

A login that would go out in clear or could never work is refused when the config is loaded; a
connection that fails half-way is closed by us, not by the garbage collector; a server that
refuses a message (at DATA, or a recipient and then RSET) fails that message only; a message that
cannot be composed fails that alert only; a digest that is sent again is recognisable.
"""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from monitor.alerts.mailer import build_transport
from monitor.alerts.outbox import Sender
from monitor.config.settings import load_settings
from monitor.demo.site import Article, PageServer
from monitor.store.db import Store

from .conftest import SEED_FILES, run, source_block, write_config
from .smtp_helpers import Mailbox, free_port, smtp_server
from .test_alerts import alerts, edit, email_config, plain_smtp

PATH = "/2023/09/threat"
BLOCKED = "blocked@example.org"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


# -- the config ---------------------------------------------------------------------------------


def test_a_username_without_password_env_is_refused_at_load(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '[email]\nhost = "smtp.example.org"\nusername = "monitor"\nto = ["desk@example.org"]\n',
    )
    result = run(config, "test-email")
    assert result.exit_code == 2
    assert "email.username: set without email.password_env" in result.output
    assert 'add password_env = "MONITOR_SMTP_PASSWORD"' in result.output


def test_a_password_in_clear_to_another_host_is_refused_at_load(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '[email]\nhost = "smtp.example.org"\nsecurity = "none"\nusername = "monitor"\n'
        'password_env = "MONITOR_SMTP_PASSWORD"\nto = ["desk@example.org"]\n',
    )
    result = run(config, "test-email")
    assert result.exit_code == 2
    assert 'email.security: "none" with email.username would send the password in clear' in (
        result.output
    )
    assert "smtp.example.org" in result.output and 'use security = "starttls"' in result.output


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_plain_login_to_loopback_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Mailbox()
    monkeypatch.setenv("MONITOR_TEST_SMTP_PASSWORD", "s3cret")
    with smtp_server(box, password="s3cret") as port:
        config = write_config(
            tmp_path,
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'username = "monitor"\npassword_env = "MONITOR_TEST_SMTP_PASSWORD"\n'
            'to = ["desk@example.org"]\n',
        )
        result = run(config, "test-email")
    assert result.exit_code == 0, result.output
    assert box.logins == ["monitor"] and len(box.received) == 1


# -- sockets ------------------------------------------------------------------------------------


@contextmanager
def unclosed_sockets() -> Iterator[list[str]]:
    """The sockets left for the garbage collector to close while the block ran."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield found
        gc.collect()
    found += [str(w.message) for w in caught if "unclosed <socket" in str(w.message)]


def send_test_email(config: Path) -> tuple[int, str]:
    """`monitor test-email`, keeping nothing of it (a kept traceback would keep the socket)."""
    result = run(config, "test-email")
    return result.exit_code, result.output


def test_a_failed_starttls_closes_the_socket(tmp_path: Path) -> None:
    with smtp_server(Mailbox()) as port:  # offers no STARTTLS
        config = write_config(
            tmp_path,
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
            'to = ["desk@example.org"]\n',
        )
        with unclosed_sockets() as leaked:
            code, output = send_test_email(config)
    assert code == 1 and "STARTTLS extension not supported" in output
    assert leaked == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_closes_the_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_TEST_SMTP_PASSWORD", "wrong")
    with smtp_server(Mailbox(), password="s3cret") as port:
        config = write_config(
            tmp_path,
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'username = "monitor"\npassword_env = "MONITOR_TEST_SMTP_PASSWORD"\n'
            'to = ["desk@example.org"]\n',
        )
        with unclosed_sockets() as leaked:
            code, output = send_test_email(config)
    assert code == 1 and "SMTP login refused: 535" in output
    assert leaked == []


# -- refusals -----------------------------------------------------------------------------------


class _PolicyServer(SMTP):
    """Refuses the DATA command itself for one recipient, as a content-policy gateway does."""

    async def smtp_DATA(self, arg: str) -> None:
        if self.envelope is not None and BLOCKED in self.envelope.rcpt_tos:
            await self.push("554 5.7.1 message refused by policy")
            return
        await super().smtp_DATA(arg)


class _HangsUpOnReset(Mailbox):
    """Refuses a recipient, then answers the client's RSET by closing the connection."""

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        asyncio.get_running_loop().call_soon(server.transport.close)
        return "421 4.3.0 closing connection"


@contextmanager
def policy_server(mailbox: Mailbox) -> Iterator[int]:
    class _Controller(Controller):
        def factory(self) -> SMTP:
            return _PolicyServer(self.handler, **self.SMTP_kwargs)

    port = free_port()
    controller = _Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def two_recipients_one_change(
    tmp_path: Path, pages: PageServer, article: Article, port: int, first: str
) -> Path:
    config = email_config(
        tmp_path, pages, plain_smtp(port) + f'to = ["{first}", "desk@example.org"]'
    )
    pages.put_article(PATH, article)
    run(config, "check")
    edit(pages, article, "rare trip", "rare journey")
    run(config, "check")
    return config


def test_a_5xx_at_data_fails_that_message_only(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with policy_server(box) as port:
        config = two_recipients_one_change(tmp_path, pages, seed_articles[0], port, BLOCKED)
    by_recipient = {a["recipient"]: a for a in alerts(config)}
    assert by_recipient[BLOCKED]["status"] == "failed"  # not retried as a lost connection
    assert "message refused: 554 5.7.1 message refused by policy" in str(
        by_recipient[BLOCKED]["last_error"]
    )
    assert by_recipient["desk@example.org"]["status"] == "sent"
    assert len(box.to("desk@example.org")) == 1


def test_a_failed_rset_after_a_refused_recipient_fails_that_recipient_only(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = _HangsUpOnReset(reject=("gone@example.org",))
    with smtp_server(box) as port:
        config = two_recipients_one_change(
            tmp_path, pages, seed_articles[0], port, "gone@example.org"
        )
    by_recipient = {a["recipient"]: a for a in alerts(config)}
    assert by_recipient["gone@example.org"]["status"] == "failed"
    assert "550" in str(by_recipient["gone@example.org"]["last_error"])
    # the next message went out on a new connection instead of waiting for a retry
    assert by_recipient["desk@example.org"]["status"] == "sent"
    assert len(box.to("desk@example.org")) == 1


# -- the outbox ---------------------------------------------------------------------------------


def test_an_alert_that_cannot_be_composed_fails_alone(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    port = free_port()  # nobody listening yet: every alert stays pending
    body = plain_smtp(port) + 'to = ["desk@example.org", "copy@example.org"]'
    paths = ("/threat", "/allies")
    sources = "".join(
        source_block(sid, pages.url(path), seed.name)
        for sid, path, seed in zip(("threat", "allies"), paths, SEED_FILES, strict=True)
    )
    config = write_config(tmp_path, f"[monitor]\nretries = 0\n\n[email]\n{body}\n\n{sources}")
    for path, article in zip(paths, seed_articles, strict=True):
        pages.put_article(path, article)
    run(config, "check")
    threat, allies = seed_articles
    pages.put_article(paths[0], replace(threat, teaser=threat.teaser.replace("trip", "journey")))
    pages.put_article(paths[1], replace(allies, locked=False, teaser=allies.teaser + " More."))
    run(config, "check")
    assert [a["status"] for a in alerts(config)] == ["pending"] * 4
    # A damaged database: the first change is gone, so its two messages cannot be built.
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        first = conn.execute("select min(change_id) from alerts").fetchone()[0]
        conn.execute("update alerts set change_id = 999999 where change_id = ?", [first])
        conn.execute("update alerts set next_attempt_at = '2000-01-01T00:00:00Z'")
    box = Mailbox()
    with smtp_server(box, port):
        result = run(config, "check")
        # the round went on past the two that failed
        assert "alerts: 2 emails sent, 2 failed" in result.output
        assert "cannot compose the message: NotFound: " in result.output
        again = run(config, "check")
    damaged = [a for a in alerts(config) if a["change_id"] == 999999]
    assert [a["status"] for a in damaged] == ["failed", "failed"]
    assert all("cannot compose the message" in str(a["last_error"]) for a in damaged)
    assert all("999999" in str(a["last_error"]) for a in damaged)
    others = [a for a in alerts(config) if a["change_id"] != 999999]
    assert [a["status"] for a in others] == ["sent", "sent"]
    assert len(box.received) == 2
    assert "cannot compose" not in again.output  # failed for good: not tried again


def test_a_resent_digest_has_the_same_message_id_and_only_its_alerts(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    article = seed_articles[0]
    with smtp_server(box) as port:
        config = email_config(
            tmp_path,
            pages,
            plain_smtp(port) + 'to = ["desk@example.org"]\nmode = "digest"\ndigest_interval = "1h"',
        )
        pages.put_article(PATH, article)
        run(config, "check")
        for i, (old, new) in enumerate([("rare trip", "rare journey"), ("three", "four")], 1):
            edit(pages, article, old, new, chrome=i)
            run(config, "check")
        assert box.received == []  # the digest waits for its hour
        settings = load_settings(config)
        store = Store.open(settings.monitor.database)
        later = datetime.now(UTC) + timedelta(hours=2)
        sender = Sender(
            store, settings.email, lambda: build_transport(settings.email), lambda: later
        )
        finish = sender._finish

        def die_before_marking_sent(alerts: Any, **values: Any) -> None:
            if values.get("status") == "sent":
                raise Killed  # the server has the digest; the process dies before the mark
            finish(alerts, **values)

        sender._finish = die_before_marking_sent  # type: ignore[method-assign]
        with pytest.raises(Killed):
            sender.deliver()
        assert len(box.received) == 1
        # A third change is queued before the digest is sent again.
        article = replace(article, teaser=article.teaser.replace("rare trip", "rare journey"))
        edit(pages, article, "four", "five", chrome=3)
        run(config, "check")
        even_later = later + timedelta(hours=1)  # past the first digest's retry backoff
        resender = Sender(
            store, settings.email, lambda: build_transport(settings.email), lambda: even_later
        )
        resender.deliver()
        store.close()
    groups = [m["X-Monitor-Alert-Ids"] for _, m in box.received]
    assert groups == ["1, 2", "1, 2", "3"]  # the later alert came in a digest of its own
    first, resent, newer = (m for _, m in box.received)
    assert resent["Message-ID"] == first["Message-ID"]  # recognisable as a duplicate
    assert newer["Message-ID"] != first["Message-ID"]
    rows = alerts(config)
    assert {a["status"] for a in rows} == {"sent"}
    assert {a["id"]: a["message_id"] for a in rows if a["id"] in (1, 2)} == {
        1: first["Message-ID"],
        2: first["Message-ID"],
    }
