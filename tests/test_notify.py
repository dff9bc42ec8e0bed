"""Notifications through Apprise (`[[notify]]`) against a real webhook receiver on 127.0.0.1
(`json://`), with the outbox guarantees of email: queued with the change, retried with
backoff, failed for good after max_tries, never marked sent before the service accepted it."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.outbox import DeliveryReport
from monitor.app import open_app
from monitor.clock import utcnow
from monitor.config.settings import load_settings
from monitor.demo.site import Article, PageServer

from .conftest import SEED_FILES, run, source_block, write_config
from .service_helpers import RunningService
from .test_outbox_rules import wait_for
from .webhook_helpers import Webhook, webhook

PATH = "/2023/09/threat"
SUBJECT = "Teaser edited: In Brief: The North Korean-Russian Threat"


def notify_config(tmp_path: Path, pages: PageServer, notify: str) -> Path:
    source = source_block("threat", pages.url(PATH), SEED_FILES[0].name)
    return write_config(
        tmp_path,
        f'[monitor]\nretries = 0\n\n[email]\nto = ["desk@example.org"]\n\n{source}\n{notify}',
    )


def edit_teaser(pages: PageServer, article: Article) -> None:
    pages.put_article(
        PATH, replace(article, teaser=article.teaser.replace("rare trip", "rare journey"), chrome=1)
    )


def alert_each_target(config: Path, pages: PageServer, article: Article) -> None:
    """Two checks of the threat page, the second finding a teaser edit: an alert for each
    configured target, tried once as the check ends."""
    pages.put_article(PATH, article)
    run(config, "check")
    edit_teaser(pages, article)
    run(config, "check")


def notify_alerts(config: Path, *status: str) -> list[dict[str, object]]:
    rows = json.loads(run(config, "alerts", "--json", *status).stdout)
    return [r for r in rows if r["channel"] == "notify"]


def deliver_at(config: Path, later: float) -> None:
    """One delivery round of the configured senders, as `monitor run` does every 5 s, with the
    clock `later` seconds ahead (past a backoff)."""
    settings = load_settings(config)
    with open_app(settings, clock=lambda: utcnow() + timedelta(seconds=later)) as app:
        app.sender.deliver()


def test_a_webhook_that_fails_is_retried_after_its_backoff_and_then_marked_sent(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    hook = Webhook(statuses=[503])
    with webhook(hook):
        config = notify_config(
            tmp_path, pages, f'[[notify]]\nid = "desk-hook"\nurl = "{hook.url()}"\nbackoff = "1m"\n'
        )
        pages.put_article(PATH, seed_articles[0])
        assert run(config, "check").exit_code == 0
        edit_teaser(pages, seed_articles[0])
        checked = run(config, "check")
        assert checked.exit_code == 0
        assert "alerts: 1 email written to" in checked.output
        assert "1 waiting to be retried" in checked.output
        # refused by the service: still pending, never marked sent
        (alert,) = notify_alerts(config)
        assert alert["status"] == "pending" and alert["tries"] == 1
        assert alert["recipient"] == "desk-hook" and "503" in str(alert["last_error"])
        assert [p.status for p in hook.posts] == [503]
        # the email of the same change went out all the same (.eml, no SMTP host here)
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
        deliver_at(config, 10)  # within the backoff: not tried again
        assert len(hook.posts) == 1
        deliver_at(config, 120)
        assert [p.status for p in hook.posts] == [503, 200]
    (alert,) = notify_alerts(config)
    assert alert["status"] == "sent" and alert["tries"] == 2 and alert["sent_at"]
    body = hook.posts[-1].body
    assert body["title"] == SUBJECT
    assert "[-trip-]{+journey+}" in body["message"] and pages.url(PATH) in body["message"]
    assert f"monitor alert {alert['id']}" in body["message"]


def session_with_a_deferral(
    tmp_path: Path, pages: PageServer, article: Article, hook: Webhook, ahead_after: float
) -> tuple[Path, DeliveryReport]:
    """A delivery session (`Sender.delivering`, a round every 50 ms) around a pass that finds a
    change: a round in the background tries the hook while the pass goes on, and then the
    clock moves `ahead_after` seconds, which decides whether the last round finds it due."""
    config = notify_config(
        tmp_path, pages, f'[[notify]]\nid = "desk-hook"\nurl = "{hook.url()}"\nbackoff = "1m"\n'
    )
    pages.put_article(PATH, article)
    run(config, "check")
    settings = load_settings(config)
    ahead = [0.0]
    with (
        open_app(settings, clock=lambda: utcnow() + timedelta(seconds=ahead[0])) as app,
        app.sender.delivering(every=0.05) as total,
    ):
        edit_teaser(pages, article)
        app.checker.check(settings.sources)
        wait_for(lambda: len(hook.posts) == 1, "the webhook tried once, during the pass")
        ahead[0] = ahead_after
    return config, total


def test_an_alert_deferred_by_a_round_during_the_pass_still_counts_as_waiting_at_its_end(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    # 503, then a minute's backoff: the last round, after the pass, finds nothing due. The
    # summary must still say that the alert waits (under load, `check` said nothing of it).
    hook = Webhook(statuses=[503])
    with webhook(hook):
        config, total = session_with_a_deferral(tmp_path, pages, seed_articles[0], hook, 0.0)
    assert [p.status for p in hook.posts] == [503]
    assert (total.sent, total.notified, total.failed, total.deferred) == (1, 0, 0, 1)
    (alert,) = notify_alerts(config)
    assert alert["status"] == "pending" and alert["tries"] == 1


def test_an_alert_deferred_and_then_sent_in_the_same_session_no_longer_counts_as_waiting(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    hook = Webhook(statuses=[503])
    with webhook(hook):  # past the backoff: the last round tries again, and the hook takes it
        _, total = session_with_a_deferral(tmp_path, pages, seed_articles[0], hook, 120.0)
    assert [p.status for p in hook.posts] == [503, 200]
    assert (total.sent, total.notified, total.failed, total.deferred) == (1, 1, 0, 0)


def test_a_webhook_that_keeps_failing_is_failed_for_good_after_max_tries(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    hook = Webhook(always=500)
    with webhook(hook):
        config = notify_config(
            tmp_path,
            pages,
            f'[[notify]]\nid = "hook"\nurl = "{hook.url()}"\nmax_tries = 2\nbackoff = "1s"\n',
        )
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        edit_teaser(pages, seed_articles[0])
        run(config, "check")
        deliver_at(config, 60)
        deliver_at(config, 600)  # failed for good: not tried a third time
    assert [p.status for p in hook.posts] == [500, 500]
    (alert,) = notify_alerts(config, "--failed")
    assert alert["tries"] == 2 and "500" in str(alert["last_error"])
    assert "notify target 'hook'" in str(alert["last_error"])


def test_a_target_takes_only_the_kinds_and_sources_it_names(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    hook = Webhook()
    with webhook(hook):
        targets = "".join(
            f'[[notify]]\nid = "{name}"\nurl = "{hook.url("/" + name)}"\n{extra}\n'
            for name, extra in (
                ("everything", ""),
                ("teasers", 'kinds = ["teaser_rewritten"]'),
                ("access-only", 'kinds = ["access_changed", "failing"]'),
                ("this-source", 'sources = ["threat"]'),
            )
        )
        config = notify_config(tmp_path, pages, targets)
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        edit_teaser(pages, seed_articles[0])
        checked = run(config, "check")
        assert checked.exit_code == 0 and "3 to notify targets" in checked.output
    assert sorted(p.path for p in hook.accepted()) == ["/everything", "/teasers", "/this-source"]
    assert {a["recipient"] for a in notify_alerts(config)} == {
        "everything",
        "teasers",
        "this-source",
    }


def test_the_notify_url_takes_its_secret_from_the_environment(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article], monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = Webhook()
    monkeypatch.delenv("MONITOR_TEST_HOOK_TOKEN", raising=False)
    with webhook(hook):
        url = hook.url("/hooks/${MONITOR_TEST_HOOK_TOKEN}")
        config = notify_config(tmp_path, pages, f'[[notify]]\nid = "hook"\nurl = "{url}"\n')
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        edit_teaser(pages, seed_articles[0])
        run(config, "check")
        (alert,) = notify_alerts(config)
        assert alert["status"] == "pending" and "MONITOR_TEST_HOOK_TOKEN" in str(
            alert["last_error"]
        )
        assert hook.posts == []
        monkeypatch.setenv("MONITOR_TEST_HOOK_TOKEN", "t0ken")
        deliver_at(config, 120)
    assert [p.path for p in hook.accepted()] == ["/hooks/t0ken"]
    assert "t0ken" not in config.read_text()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('id = "x"\nurl = "nosuchservice://host/path"', "notify[1] (id 'x').url"),
        ('id = "x"\nurl = "json://h/p"\nkinds = ["teaser"]', "notify[1] (id 'x').kinds: 'teaser'"),
        ('id = "x"\nurl = "json://h/p"\nsources = ["nope"]', "'nope' is neither a source"),
        ('id = "x"\nurl = "json://h/p"\nurll = "y"', "did you mean 'url'?"),
        ('id = "x"\nurl = "json://127.0.0.1:99999/x"', "'json://…' has a port out of range"),
    ],
)
def test_a_bad_notify_entry_is_refused_naming_the_key(
    tmp_path: Path, pages: PageServer, entry: str, message: str
) -> None:
    config = notify_config(tmp_path, pages, f"[[notify]]\n{entry}\n")
    result = run(config, "changes")
    assert result.exit_code == 2
    assert message in result.output


@contextlib.contextmanager
def _silent_mail_server() -> Iterator[int]:
    """A mail server that accepts connections and never answers: each send waits out the
    SMTP timeout (30 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        listener.close()


def _mail_and_hook_config(
    tmp_path: Path, pages: PageServer, port: int, hook: Webhook, monitor: str = ""
) -> Path:
    """Source "a" at /a, its alerts by email to the server at `port` and to `hook`."""
    body = (
        f'[monitor]\n{monitor}retries = 0\n\n[email]\nhost = "127.0.0.1"\nport = {port}\n'
        'security = "none"\nto = ["desk@example.org"]\n\n'
        f'[[notify]]\nid = "chat"\nurl = "{hook.url()}"\n\n'
    ) + source_block("a", pages.url("/a"))
    return write_config(tmp_path, body, seeds=False)


def test_a_mail_server_that_hangs_holds_back_no_webhook_in_the_service(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """An outside reviewer's service: email and webhooks for the same change, and the mail
    server never answers. The webhook gets its alert while the email's send still waits (they
    had been sent one after the other in one job: the webhook after the SMTP timeout)."""
    article = seed_articles[0]
    pages.put_article("/a", article)
    hook = Webhook()
    with _silent_mail_server() as port, webhook(hook):
        config = _mail_and_hook_config(tmp_path, pages, port, hook, 'interval = "1s"\n')
        service = RunningService(config)
        try:
            service.wait_for(lambda: service.events("check", source="a", outcome="new"))
            pages.put_article(
                "/a", replace(article, teaser=article.teaser.replace("rare trip", "rare journey"))
            )
            service.wait_for(lambda: service.events("check", source="a", outcome="changed"))
            service.wait_for(hook.accepted, timeout=90)
            # the email's send is still waiting on the server: it has not failed yet
            with sqlite3.connect(tmp_path / "monitor.db") as conn:
                email = conn.execute(
                    "select status, tries, last_error from alerts where channel = 'email'"
                ).fetchall()
            assert email == [("pending", 1, None)]
        finally:
            # not a stop, which waits for the email's send to time out
            service.proc.kill()
            service.proc.wait(10)


@contextlib.contextmanager
def _check_beside_a_hung_mail_server(
    tmp_path: Path, pages: PageServer, article: Article
) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A `monitor check` that found a change with an email (to a mail server that never
    answers) and a webhook alert, yielded once the webhook has its alert; killed after."""
    pages.put_article("/a", article)
    hook = Webhook()
    with _silent_mail_server() as port, webhook(hook):
        config = _mail_and_hook_config(tmp_path, pages, port, hook)
        assert run(config, "check").exit_code == 0  # the article's first version: no alert
        edited = replace(article, teaser=article.teaser.replace("rare trip", "rare journey"))
        pages.put_article("/a", edited)
        check = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "check"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: bool(hook.accepted()), "the webhook's alert", seconds=60)
            yield config, check
        finally:
            check.kill()
            check.wait(10)


def _email_alert(tmp_path: Path, columns: str = "status, tries, last_error") -> list[Any]:
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        return conn.execute(f"select {columns} from alerts where channel = 'email'").fetchall()


def test_a_mail_server_that_hangs_holds_back_no_webhook_in_a_check(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """`monitor check` with email and a webhook for the same change, and a mail server that
    never answers: the webhook gets its alert while the email's send still waits (a check's
    delivery rounds sent email, then the notify targets: the webhook after the SMTP
    timeout)."""
    with _check_beside_a_hung_mail_server(tmp_path, pages, seed_articles[0]) as (_, check):
        assert check.poll() is None  # still waiting on the mail server
        assert _email_alert(tmp_path) == [("pending", 1, None)]


def test_ctrl_c_during_alerts_retry_leaves_a_hung_mail_server_at_once(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """With a notify target, `monitor alerts --retry` sent its channels in a thread pool, whose
    shutdown on Ctrl-C waited out the hung send (the SMTP timeout, 30 s)."""
    with _check_beside_a_hung_mail_server(tmp_path, pages, seed_articles[0]) as (config, check):
        check.kill()
        check.wait(10)
        with sqlite3.connect(tmp_path / "monitor.db") as conn:
            conn.execute("update alerts set status = 'failed' where channel = 'email'")
        retry = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "alerts", "--retry"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # claimed again: its send waits on the server
            claimed = [("pending", 1)]
            wait_for(lambda: _email_alert(tmp_path, "status, tries") == claimed, "a claim", 60)
            retry.send_signal(signal.SIGINT)
            assert retry.wait(60) == 130
        finally:
            retry.kill()
            retry.wait(10)
        ((status, error),) = _email_alert(tmp_path, "status, last_error")
    # not waited out: a send that had reached its timeout would say "timed out"
    assert status == "pending" and "timed out" not in str(error)


def test_a_refused_notify_url_is_named_without_the_token_in_its_host_part(
    tmp_path: Path, pages: PageServer
) -> None:
    """Telegram's bot token stands where a host would: an error that kept the host printed it
    (and a SIGHUP with the typo wrote it to the journal)."""
    secret = "123456789:AAH.secret/x"  # a token with a typo: not Apprise's shape
    config = notify_config(tmp_path, pages, f'[[notify]]\nid = "t"\nurl = "tgram://{secret}"\n')
    result = run(config, "changes")
    assert result.exit_code == 2
    assert "notify[1] (id 't').url: Apprise cannot use 'tgram://…'" in result.output
    assert "AAH" not in result.output and "123456789" not in result.output


def test_a_message_longer_than_the_service_takes_is_cut_to_fit_keeping_the_alert_id(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Mattermost takes 4,000 characters (Telegram 4,096, Discord 2,000): a teaser edit of a
    long article was sent whole, and refused on every try, the most important alerts first."""
    long_teaser = seed_articles[0].teaser + " " + " ".join(f"word{n}" for n in range(1500))
    with webhook(Webhook()) as hook:
        config = notify_config(
            tmp_path, pages, f'[[notify]]\nid = "mm"\nurl = "mmost://127.0.0.1:{hook.port}/tok"\n'
        )
        pages.put_article(PATH, replace(seed_articles[0], teaser=long_teaser))
        assert run(config, "check").exit_code == 0
        pages.put_article(
            PATH, replace(seed_articles[0], teaser=long_teaser.replace("word", "ward"))
        )
        assert run(config, "check").exit_code == 0
        alerts = notify_alerts(config)  # the seed's baseline, then the edit: two changes
    assert [a["status"] for a in alerts] == ["sent", "sent"]
    assert len(hook.accepted()) == 2
    text = str(hook.accepted()[-1].body["text"])
    alert = next(a for a in alerts if str(a["id"]) in text)
    assert len(text) <= 4000
    assert "cut to the service's length limit" in text
    assert text.endswith(f"(monitor alert {alert['id']}, queued {alert['created_at']})")


def test_a_service_that_trickles_its_answer_does_not_hold_the_process_at_exit(
    tmp_path: Path,
) -> None:
    """A receiver that sends a header line every half second, for a minute: the send gives up
    after its deadline (1 s here), and the process exits then, not when the receiver stops."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        listener.settimeout(0.2)
        held = []
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                connection = listener.accept()[0]
                held.append(connection)
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for connection in held:
                with contextlib.suppress(OSError):
                    connection.sendall(b"X-Wait: 1\r\n")
            stop.wait(0.5)
        for connection in held:
            connection.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    script = (
        "import sys, monitor.alerts.notify as n\n"
        "n.SEND_TIMEOUT = 1.0\n"
        "try:\n"
        f"    n.apprise_send('json://127.0.0.1:{listener.getsockname()[1]}/hook', 't', 'b')\n"
        "except n.DeliveryError as exc:\n"
        "    print(exc)\n"
    )
    try:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=50
        )
        took = time.monotonic() - began
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert "did not answer within 1 s" in done.stdout, done.stderr
    assert took < 30  # the receiver trickles for 50 s


def test_a_telegram_url_with_its_bot_token_loads(tmp_path: Path, pages: PageServer) -> None:
    """The port check took Telegram's `bot_id:token` for a host and port, refused the
    config, and printed the token."""
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    config = notify_config(
        tmp_path, pages, f'[[notify]]\nid = "t"\nurl = "tgram://{token}/-1001234"\n'
    )
    result = run(config, "changes")
    assert result.exit_code == 0, result.output
    assert "AAHdq" not in result.output


def test_a_target_that_hangs_holds_back_no_other_target_in_a_round(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Targets were sent to one after the other: a webhook that hung until the send's
    deadline (30 s) delayed every other target's alerts by as much, round after round."""
    hung, good = Webhook(statuses=[500]), Webhook(statuses=[500])  # the first round fails
    seen: list[int] = []  # the hung target's posts when the good one was served
    with webhook(hung), webhook(good):
        config = notify_config(
            tmp_path,
            pages,
            # Apprise's read timeout past the hold (10 s): sent in turn, the good target
            # would be served only once the hung one had answered
            f'[[notify]]\nid = "hung"\nurl = "{hung.url()}?rto=30"\n\n'
            f'[[notify]]\nid = "good"\nurl = "{good.url()}"\n',
        )
        alert_each_target(config, pages, seed_articles[0])  # failed once: pending
        assert [a["status"] for a in notify_alerts(config)] == ["pending", "pending"]
        hung.hold = threading.Event()  # from now on the hung target answers nothing
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                if good.accepted():
                    seen.append(len(hung.posts))
                    break
                stop.wait(0.01)
            assert hung.hold is not None
            hung.hold.set()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            deliver_at(config, 120)
        finally:
            stop.set()
            watcher.join(15)
    assert seen == [1]  # served while the hung one held its answer (its first, failed post only)


def test_ctrl_c_during_a_round_leaves_hung_notify_targets_at_once(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Each target's alerts go out in a thread of their own: Ctrl-C must not wait for the
    threads still waiting on a hung service (they would end only at its answer)."""
    first, second = Webhook(statuses=[500]), Webhook(statuses=[500])
    with webhook(first), webhook(second):
        config = notify_config(
            tmp_path,
            pages,
            # Apprise's read timeout past the receivers' hold (10 s): a round waited for
            # would end with both answers, and both alerts sent
            f'[[notify]]\nid = "one"\nurl = "{first.url()}?rto=30"\nmax_tries = 1\n\n'
            f'[[notify]]\nid = "two"\nurl = "{second.url()}?rto=30"\nmax_tries = 1\n',
        )
        alert_each_target(config, pages, seed_articles[0])  # failed for good: max_tries 1
        assert [a["status"] for a in notify_alerts(config)] == ["failed", "failed"]
        first.hold, second.hold = threading.Event(), threading.Event()  # both hang now
        retry = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "alerts", "--retry"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: first.waiting.is_set() and second.waiting.is_set(), "both", 60)
            retry.send_signal(signal.SIGINT)
            assert retry.wait(60) == 130
            # gone while both services still held their answer (they hold it 10 s at most,
            # and a round waited for would have ended with them): their first posts only
            assert (len(first.posts), len(second.posts)) == (1, 1)
        finally:
            retry.kill()
            retry.wait(10)
            first.hold.set()
            second.hold.set()
    assert [a["status"] for a in notify_alerts(config)] == ["pending", "pending"]
