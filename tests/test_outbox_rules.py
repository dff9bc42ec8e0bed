"""The outbox's rules as a reader of the mail and of `monitor check` sees them: the counts in a
round's summary, when a failed alert is tried again and when it is given up, the order alerts
go out in, what a resend carries, what an event's message says. A real SMTP server (aiosmtpd) and
real webhook receivers on 127.0.0.1; the clock is moved forward instead of waiting."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

from click.testing import Result

from monitor.alerts.mailer import Transport, build_transport
from monitor.alerts.outbox import DeliveryReport, Sender, list_alerts
from monitor.app import App, open_app
from monitor.config.settings import Settings, load_settings
from monitor.demo.site import Article, PageServer
from monitor.store.db import Store
from monitor.store.schema import iso

from .conftest import SEED_FILES, run, source_block, write_config
from .smtp_helpers import Mailbox, free_port, smtp_server
from .store_helpers import database_before
from .test_alerts import PATH, alerts, edit, email_config, parts, plain_smtp
from .webhook_helpers import Webhook, webhook

DESK = "desk@example.org"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


class _Busy(Mailbox):
    """Refuses some recipients for good (550) and others for now (450), as a real server does."""

    def __init__(self, reject: tuple[str, ...], busy: tuple[str, ...]) -> None:
        super().__init__(reject)
        self.busy = busy

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.busy:
            return "450 4.2.1 mailbox busy, try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


class _DiesAfterSending:
    """The real transport; the process "dies" as soon as the server has accepted a message."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def send(self, message: Message, recipient: str) -> str:
        self.transport.send(message, recipient)
        raise Killed

    def close(self) -> None:
        self.transport.close()


def to(*addresses: str) -> str:
    return "to = [" + ", ".join(f'"{a}"' for a in addresses) + "]\n"


def check_a_change(config: Path, pages: PageServer, article: Article) -> Result:
    """Check the page as it is, then with three words edited: one change, its alerts queued
    and sent by the second check, whose result this is."""
    pages.put_article(PATH, article)
    run(config, "check")
    edit(pages, article, "rare trip", "rare journey")
    return run(config, "check")


@contextlib.contextmanager
def delivering_a_change(
    config: Path, pages: PageServer, article: Article, every: float
) -> Iterator[tuple[App, Settings, DeliveryReport]]:
    """Check the page as it is, then, inside a `delivering` block with a background round
    every `every` seconds, check it with three words edited: one change, its alerts queued
    while the block runs. Yields the app, its settings and the block's report."""
    pages.put_article(PATH, article)
    run(config, "check")
    settings = load_settings(config)
    with open_app(settings) as app, app.sender.delivering(every=every) as total:
        edit(pages, article, "rare trip", "rare journey", chrome=1)
        app.checker.check(settings.sources)
        yield app, settings, total


def queue_a_change(config: Path, pages: PageServer, article: Article, old: str, new: str) -> None:
    """Check the edited page without delivering anything: the change and its alerts are
    queued, as a check that ends before its delivery round leaves them."""
    edit(pages, article, old, new, chrome=len(new))
    settings = load_settings(config)
    with open_app(settings) as app:
        app.checker.check(settings.sources)


def deliver_at(settings: Settings, when: datetime) -> None:
    """One delivery round (as `monitor run` makes every 5 s) with the clock at `when`."""
    with open_app(settings, clock=lambda: when) as app:
        app.sender.deliver()


def dies_after_sending(settings: Settings, when: datetime) -> None:
    """One delivery round at `when` whose process dies once the server has the message."""
    store = Store.open(settings.monitor.database)
    try:
        sender = Sender(
            store,
            settings.email,
            lambda: _DiesAfterSending(build_transport(settings.email)),
            lambda: when,
        )
        with contextlib.suppress(Killed):
            sender.deliver()
    finally:
        store.close()


def by_recipient(config: Path) -> dict[str, dict[str, object]]:
    return {str(a["recipient"]): a for a in alerts(config)}


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, f"not within {seconds:g} s: {what}"
        time.sleep(0.05)


# -- what a round reports -----------------------------------------------------------------------


def test_a_rounds_summary_counts_every_outcome_of_email_and_notify_targets(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = _Busy(reject=("gone1@example.org", "gone2@example.org"), busy=("busy@example.org",))
    ok, down = Webhook(), Webhook(always=503)
    with smtp_server(box) as port, webhook(ok), webhook(down):
        targets = (
            f'[[notify]]\nid = "ok"\nurl = "{ok.url()}"\n\n'
            f'[[notify]]\nid = "once"\nurl = "{down.url("/once")}"\nmax_tries = 1\n\n'
            f'[[notify]]\nid = "later"\nurl = "{down.url("/later")}"\n'
        )
        recipients = (DESK, "gone1@example.org", "gone2@example.org", "busy@example.org")
        config = email_config(tmp_path, pages, plain_smtp(port) + to(*recipients))
        config.write_text(config.read_text() + "\n" + targets)
        result = check_a_change(config, pages, seed_articles[0])
    # email: 1 sent, 2 refused for good, 1 busy; notify: 1 accepted, 1 given up, 1 to retry
    assert result.exit_code == 1  # alerts given up on for good fail the check
    assert (
        "alerts: 1 email sent, 1 to notify targets, 2 waiting to be retried, "
        "3 failed (see `monitor alerts --failed`)" in result.output
    )
    assert "recipient gone1@example.org refused: 550" in result.output
    assert "recipient busy@example.org refused: 450" in result.output
    assert [p.path for p in ok.accepted()] == ["/hook"]
    statuses = {r: a["status"] for r, a in by_recipient(config).items()}
    assert statuses == {
        DESK: "sent",
        "gone1@example.org": "failed",
        "gone2@example.org": "failed",
        "busy@example.org": "pending",
        "ok": "sent",
        "once": "failed",
        "later": "pending",
    }


def test_a_server_that_is_down_leaves_every_alert_of_the_round_waiting(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    config = email_config(tmp_path, pages, plain_smtp(free_port()) + to(DESK, "a@x.org", "b@x.org"))
    result = check_a_change(config, pages, seed_articles[0])
    assert result.exit_code == 0  # waiting alerts are not lost: no failure yet
    assert "alerts: 0 emails sent, 3 waiting to be retried" in result.output
    # each round (the last one, and one in the background if the pass queued its alerts in
    # time) stopped at its first lost connection: no alert tried twice, and not all of them
    tries = sorted(a["tries"] for a in alerts(config))
    assert tries[0] == 0 and tries[-1] == 1
    assert {a["status"] for a in alerts(config)} == {"pending"}


def test_one_round_counts_what_waits_on_every_channel_when_the_servers_are_down(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """`monitor alerts --retry` makes one round: the mail server is down (each of three
    recipients' alerts waits, the first tried, the others not) and so is a webhook target."""
    down = Webhook(always=503)
    with webhook(down):
        email = plain_smtp(free_port()) + to(DESK, "a@x.org", "b@x.org")
        config = email_config(tmp_path, pages, email)
        config.write_text(config.read_text() + f'\n[[notify]]\nid = "chat"\nurl = "{down.url()}"\n')
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
        result = run(config, "alerts", "--retry")
    assert "alerts: 0 emails sent, 4 waiting to be retried" in result.output
    assert {a["status"] for a in alerts(config)} == {"pending"}
    assert sorted(a["tries"] for a in alerts(config)) == [0, 0, 1, 1]  # one try each channel


def test_a_long_pass_counts_the_alerts_sent_while_it_ran_and_after_it(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox(reject=("gone@example.org",))
    hook = Webhook()
    with smtp_server(box) as port, webhook(hook):
        config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK, "gone@example.org"))
        config.write_text(config.read_text() + f'\n[[notify]]\nid = "hook"\nurl = "{hook.url()}"\n')
        with delivering_a_change(config, pages, seed_articles[0], every=0.05) as (
            app,
            settings,
            total,
        ):
            # sent by a background round while the pass goes on
            wait_for(lambda: not list_alerts(app.store, "pending"), "the first alerts sent")
            assert len(box.received) == 1 and len(hook.accepted()) == 1
            edit(pages, seed_articles[0], "three", "four", chrome=2)
            app.checker.check(settings.sources)
    assert len(box.received) == 2 and len(hook.accepted()) == 2
    assert (total.sent, total.notified, total.failed, total.deferred) == (2, 2, 2, 0)
    assert len(total.errors) == 2 and all("gone@example.org" in e for e in total.errors)
    emails = [a for a in total.answers if a.startswith("250")]
    assert len(emails) == 2 and len(total.answers) == 4  # the server's and the hook's


def test_alerts_said_to_be_queued_go_out_at_once_and_not_at_the_next_round(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK))
        # the next background round is an hour away
        with delivering_a_change(config, pages, seed_articles[0], every=3600) as (app, _, total):
            assert len(list_alerts(app.store, "pending")) == 1 and not box.received
            app.sender.queued()  # what `monitor check` says as it records a change
            wait_for(lambda: not list_alerts(app.store, "pending"), "the alert sent")
            assert len(box.received) == 1
    assert total.sent == 1


# -- when an alert is tried again ---------------------------------------------------------------


def test_each_retry_waits_twice_as_long_and_the_last_of_max_tries_gives_up(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    email = plain_smtp(free_port()) + to(DESK) + 'backoff = "1m"\nmax_tries = 3\n'
    config = email_config(tmp_path, pages, email)
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
    settings = load_settings(config)
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    deliver_at(settings, first)
    (alert,) = alerts(config)
    assert (alert["status"], alert["tries"]) == ("pending", 1)
    assert alert["next_attempt_at"] == iso(first + timedelta(minutes=1))
    deliver_at(settings, first + timedelta(seconds=59))  # not due yet
    assert alerts(config)[0]["tries"] == 1
    second = first + timedelta(minutes=1)
    deliver_at(settings, second)
    (alert,) = alerts(config)
    assert (alert["status"], alert["tries"]) == ("pending", 2)
    assert alert["next_attempt_at"] == iso(second + timedelta(minutes=2))
    deliver_at(settings, second + timedelta(minutes=2))
    (alert,) = alerts(config)
    assert (alert["status"], alert["tries"]) == ("failed", 3)  # the third of max_tries = 3
    assert "cannot reach SMTP server" in str(alert["last_error"])


def test_an_alert_whose_sender_died_mid_send_waits_its_backoff_then_goes_with_the_same_id(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK) + 'backoff = "10m"\n')
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
        settings = load_settings(config)
        now = datetime.now(UTC)
        dies_after_sending(settings, now)
        assert len(box.received) == 1
        deliver_at(settings, now + timedelta(minutes=5))  # within the backoff
        assert len(box.received) == 1
        deliver_at(settings, now + timedelta(minutes=11))
    first, again = (m for _, m in box.received)
    assert again["Message-ID"] == first["Message-ID"]
    (alert,) = alerts(config)
    assert alert["status"] == "sent" and alert["tries"] == 2


# -- the order and the listing ------------------------------------------------------------------


def test_due_alerts_go_out_oldest_first_whatever_their_retry_times(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    port = free_port()
    config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK) + 'backoff = "1h"\n')
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    edit(pages, seed_articles[0], "rare trip", "rare journey", chrome=1)
    run(config, "check")  # the server is down: the first alert is retried in an hour
    queue_a_change(config, pages, seed_articles[0], "three", "four")  # due at once
    box = Mailbox()
    with smtp_server(box, port):
        deliver_at(load_settings(config), datetime.now(UTC) + timedelta(hours=2))
    first, second = (m for _, m in box.received)
    assert (first["X-Monitor-Alert-Ids"], second["X-Monitor-Alert-Ids"]) == ("1", "2")
    assert "{+journey+}" in parts(first)[0] and "{+four+}" in parts(second)[0]


def test_monitor_alerts_json_lists_every_alert_newest_first(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    many = [f"reader{i}@example.org" for i in range(1001)]
    config = email_config(tmp_path, pages, plain_smtp(free_port()) + to(*many))
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
    listed = alerts(config)
    assert [a["id"] for a in listed] == list(range(1001, 0, -1))
    assert listed[0]["recipient"] == "reader1000@example.org"
    limited = json.loads(run(config, "alerts", "--json", "--limit", "2", "--offset", "1").stdout)
    assert [a["id"] for a in limited] == [1000, 999]


def test_monitor_alerts_pages_and_counts_only_the_alerts_of_the_status_asked_for(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    readers = [f"reader{i}@example.org" for i in range(105)]
    body = source_block("threat", pages.url(PATH), SEED_FILES[0].name)
    config = write_config(tmp_path, "[email]\n" + to(*readers) + "\n" + body)
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
    deliver_at(load_settings(config), datetime.now(UTC))  # 105 written to the outbox folder
    queue_a_change(config, pages, seed_articles[0], "rare trip", "rare voyage")  # 105 waiting

    waiting = run(config, "alerts", "--pending")
    assert waiting.output.count("reader") == 100
    assert "alerts 1-100 of 105; next: --offset 100" in waiting.output
    rest = run(config, "alerts", "--pending", "--offset", "100")
    assert rest.output.count("reader") == 5
    assert "alerts 101-105 of 105 (--all lists every one)" in rest.output
    assert "alerts 1-100 of 210; next: --offset 100" in run(config, "alerts").output


# -- what a message carries ---------------------------------------------------------------------


def test_a_message_links_its_change_when_report_url_is_set(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    body = source_block("threat", pages.url(PATH), SEED_FILES[0].name)
    config = write_config(
        tmp_path, f'[email]\nreport_url = "https://monitor.example.org"\n\n{body}'
    )
    check_a_change(config, pages, seed_articles[0])
    (path,) = (tmp_path / "outbox").glob("*.eml")
    text, html = parts(message_from_bytes(path.read_bytes(), policy=policy.default))
    assert "Report:   https://monitor.example.org/changes/1" in text
    assert "https://monitor.example.org/changes/1" in html


def test_a_message_id_is_of_the_senders_domain_and_names_exactly_its_alerts(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    body = source_block("threat", pages.url(PATH), SEED_FILES[0].name)
    email = f'[email]\nfrom = "alerts@news.example.org"\n{to(DESK, "copy@example.org")}'
    config = write_config(tmp_path, f"{email}\n{body}")
    check_a_change(config, pages, seed_articles[0])
    ids = {str(a["message_id"]) for a in alerts(config)}
    assert len(ids) == 2 and all(i.endswith("@news.example.org>") for i in ids)
    settings = load_settings(config)
    with open_app(settings) as app:
        one, two = sorted(list_alerts(app.store), key=lambda a: a.id)
        pair = app.sender.message_id([one, two])
        again = sorted(list_alerts(app.store), key=lambda a: a.id)
        assert app.sender.message_id(again) == pair  # the same alerts: the same id
        assert app.sender.message_id([one]) not in (pair, app.sender.message_id([two]))
        assert app.sender.message_id([one]) in ids


# -- events -------------------------------------------------------------------------------------


def test_an_alert_whose_event_is_gone_fails_naming_the_event(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    port = free_port()  # nobody listening yet: the alert stays pending
    config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK))
    config.write_text(config.read_text().replace("retries = 0", "retries = 0\nfailing_after = 1"))
    pages.put_article(PATH, seed_articles[0])
    run(config, "check")
    pages.put(PATH, "oops", status=500)
    run(config, "check")
    (alert,) = alerts(config)
    assert alert["event"] == "failing" and alert["status"] == "pending"
    with sqlite3.connect(tmp_path / "monitor.db") as conn:  # a damaged database
        conn.execute(
            "update alerts set event_id = 999999, next_attempt_at = '2000-01-01T00:00:00Z'"
        )
    box = Mailbox()
    with smtp_server(box, port):
        result = run(config, "check")
    assert "cannot compose the message: NotFound: no event 999999" in result.output
    assert alerts(config)[0]["status"] == "failed" and box.received == []


def test_a_digest_resent_later_leaves_out_alerts_younger_than_the_interval(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        email = plain_smtp(port) + to(DESK) + 'mode = "digest"\ndigest_interval = "1h"\n'
        config = email_config(tmp_path, pages, email + 'backoff = "1m"\n')
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        article = seed_articles[0]
        queue_a_change(config, pages, article, "rare trip", "rare journey")
        settings = load_settings(config)
        later = datetime.now(UTC) + timedelta(hours=2)
        # the digest is sent and the process dies before marking it, twice: the second time
        # it is resent alone, nothing new having been queued
        dies_after_sending(settings, later)
        dies_after_sending(settings, later + timedelta(minutes=1))
        assert [m["X-Monitor-Alert-Ids"] for _, m in box.received] == ["1", "1"]
        # a second change is queued, by the clock of the process that sends
        article = replace(article, teaser=article.teaser.replace("rare trip", "rare journey"))
        edit(pages, article, "three", "four", chrome=2)
        with open_app(settings, clock=lambda: later + timedelta(minutes=2)) as app:
            app.checker.check(settings.sources)
        retry = later + timedelta(minutes=3)  # the digest's third try is due (backoff 1m, 2m)
        deliver_at(settings, retry)
        deliver_at(settings, retry)  # nothing more is due yet
        assert [m["X-Monitor-Alert-Ids"] for _, m in box.received] == ["1", "1", "1"]
        assert {a["id"]: a["status"] for a in alerts(config)} == {1: "sent", 2: "pending"}
        deliver_at(settings, later + timedelta(hours=1, minutes=2))
    assert [m["X-Monitor-Alert-Ids"] for _, m in box.received] == ["1", "1", "1", "2"]


def test_a_digest_goes_to_each_recipient_with_only_their_own_alerts(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        email = plain_smtp(port) + to(DESK, "editor@example.org") + 'mode = "digest"\n'
        config = email_config(tmp_path, pages, email + 'digest_interval = "1h"\n')
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        article = seed_articles[0]
        queue_a_change(config, pages, article, "rare trip", "rare journey")
        article = replace(article, teaser=article.teaser.replace("rare trip", "rare journey"))
        queue_a_change(config, pages, article, "three", "four")
        deliver_at(load_settings(config), datetime.now(UTC) + timedelta(hours=2))
    queued = alerts(config)
    for recipient in (DESK, "editor@example.org"):
        own = sorted(str(a["id"]) for a in queued if a["recipient"] == recipient)
        (message,) = box.to(recipient)
        assert message["To"] == recipient
        assert message["Subject"] == "monitor: 2 updates: Teaser edited (2)"
        assert message["X-Monitor-Alert-Ids"] == ", ".join(own)
    assert len(box.received) == 2


def test_monitor_alerts_retry_gives_failed_alerts_a_new_set_of_tries_and_sends_them(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    refusing = Mailbox(reject=("gone@example.org",))
    with smtp_server(refusing) as port:
        config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK, "gone@example.org"))
        check_a_change(config, pages, seed_articles[0])
    assert by_recipient(config)["gone@example.org"]["status"] == "failed"
    box = Mailbox()  # the address exists again
    with smtp_server(box, port):
        result = run(config, "alerts", "--retry")
    assert "requeued 1 failed alerts" in result.output
    assert "alerts: 1 email sent" in result.output
    assert [rcpts for rcpts, _ in box.received] == [["gone@example.org"]]
    retried = by_recipient(config)["gone@example.org"]
    assert (retried["status"], retried["tries"]) == ("sent", 1)  # counted from 0 again
    assert by_recipient(config)[DESK]["tries"] == 1  # a sent alert is not requeued


def test_alerts_of_two_databases_alike_in_every_field_get_different_message_ids(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    # two watch folders checked by the same cron line: their first alerts share the id, the
    # change number, the recipient, and can share the second they were queued in
    def first_alert(folder: Path) -> tuple[Any, str]:
        folder.mkdir()
        body = source_block("threat", pages.url(PATH), SEED_FILES[0].name)
        config = write_config(
            folder, f'[email]\nfrom = "alerts@news.example.org"\n{to(DESK)}\n{body}'
        )
        check_a_change(config, pages, seed_articles[0])
        with open_app(load_settings(config)) as app:
            (alert,) = list_alerts(app.store)
            same = replace(alert, created_at="2026-11-30T09:00:03Z")
            return same, app.sender.message_id([same])

    one, one_id = first_alert(tmp_path / "news")
    two, two_id = first_alert(tmp_path / "finance")
    assert (one.id, one.recipient, one.change_id) == (two.id, two.recipient, two.change_id)
    assert one_id != two_id


def test_a_database_keeps_its_id_and_an_old_one_gets_one_on_upgrade(tmp_path: Path) -> None:
    database_before(tmp_path / "old.db", "m009").close()
    first = Store.open(tmp_path / "old.db")
    name = first.database_id()
    first.close()
    again = Store.open(tmp_path / "old.db")
    assert len(name) == 32 and again.database_id() == name
    again.close()
    other = Store.open(tmp_path / "new.db")
    assert other.database_id() != name
    other.close()


# -- two senders: a claim that lapsed -----------------------------------------------------------


def _claimed_twice(tmp_path: Path, pages: PageServer, article: Article) -> tuple[Store, Any, Any]:
    """One queued alert claimed by a first sender, whose claim (a minute: the backoff) then
    lapses, and by a second sender after it: the store and each sender's copy of the alert."""
    from monitor.store.outbox import claim, due_alerts

    config = email_config(tmp_path, pages, plain_smtp(free_port()) + to(DESK))
    pages.put_article(PATH, article)
    run(config, "check")
    queue_a_change(config, pages, article, "rare trip", "rare journey")
    store = Store.open(load_settings(config).monitor.database)
    start = datetime.now(UTC) + timedelta(hours=1)
    [first] = due_alerts(store, start)
    assert claim(store, first, start, 60)
    [second] = due_alerts(store, start + timedelta(minutes=2))
    assert claim(store, second, start + timedelta(minutes=2), 120)
    return store, first, second


def _state(store: Store) -> tuple[object, ...]:
    return tuple(store.conn.execute("select status, last_error from alerts").fetchone())


def test_an_alert_another_sender_claimed_first_is_skipped_and_the_round_goes_on(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Between this round's reading of the due alerts and its claim of the first, another
    process (a `monitor run` beside a `monitor check`) claims that one: it is that process's
    to send, and this round sends the next."""
    from monitor.store.outbox import claim, due_alerts

    box = Mailbox()
    with smtp_server(box) as port:
        config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK, "editor@example.org"))
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
        settings = load_settings(config)
        now = datetime.now(UTC)
        mine, other = Store.open(settings.monitor.database), Store.open(settings.monitor.database)

        def claimed_elsewhere_then_connect() -> Transport:
            first = due_alerts(other, now)[0]
            assert claim(other, first, now, 60)
            return build_transport(settings.email)

        try:
            sender = Sender(mine, settings.email, claimed_elsewhere_then_connect, lambda: now)
            report = sender.deliver()
        finally:
            mine.close()
            other.close()
    assert (report.sent, report.deferred) == (1, 0)
    assert [rcpts for rcpts, _ in box.received] == [["editor@example.org"]]
    assert by_recipient(config)[DESK]["status"] == "pending"  # the other process's to send


def test_a_sender_whose_claim_lapsed_does_not_overwrite_the_other_senders_sent(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """The second sender's message was accepted and marked sent; the first one's server then
    refused its copy (a duplicate): the alert stays sent, and `alerts --retry` leaves it."""
    from monitor.store.outbox import finish, requeue_failed

    store, first, second = _claimed_twice(tmp_path, pages, seed_articles[0])
    finish(store, [second], status="sent", sent_at="x", message_id="<m@x>", last_error=None)
    finish(store, [first], status="failed", last_error="554 duplicate refused")
    finish(store, [first], last_error="451 try later")
    assert _state(store) == ("sent", None)
    assert requeue_failed(store, datetime.now(UTC)) == 0
    # the first sender's copy accepted too: the alert keeps the first acceptance
    finish(store, [first], status="sent", sent_at="y", message_id="<m@x>", last_error=None)
    assert store.conn.execute("select sent_at from alerts").fetchone()[0] == "x"


def test_an_alert_judged_without_a_claim_is_not_finished_once_another_sender_claimed_it(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """A notify target gone from this process's config fails its alerts without claiming
    them; an alert another process (with the target still configured) claimed meanwhile is
    left to that process."""
    from monitor.store.outbox import finish

    store, _, second = _claimed_twice(tmp_path, pages, seed_articles[0])
    finish(store, [second], claimed=False, status="failed", last_error="no target")
    assert _state(store) == ("pending", None)
    store.conn.execute("update alerts set tries = tries - 1")  # as if nobody had claimed it
    finish(store, [second], claimed=False, status="failed", last_error="no target")
    assert _state(store) == ("failed", "no target")


def test_a_message_accepted_under_a_lapsed_claim_is_marked_sent_over_a_later_failure(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """The second sender gave up (its server refused), then the first sender's message, sent
    under the claim that had lapsed, was accepted: the server has it, so it is sent."""
    from monitor.store.outbox import finish

    store, first, second = _claimed_twice(tmp_path, pages, seed_articles[0])
    finish(store, [second], status="failed", last_error="554 refused")
    assert _state(store) == ("failed", "554 refused")
    finish(store, [first], status="sent", sent_at="x", message_id="<m@x>", last_error=None)
    assert _state(store) == ("sent", None)


def test_each_claim_of_a_round_holds_its_alert_from_its_own_send_not_from_the_rounds_start(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """A round whose sends take a minute each (the clock moves a minute at every reading): the
    second alert's claim, and the backoff it holds, start when its own send starts, so that a
    long round does not leave its later alerts to be taken by another sender at once."""
    box = Mailbox()
    with smtp_server(box) as port:
        email = plain_smtp(port) + to(DESK, "editor@example.org") + 'backoff = "1m"\n'
        config = email_config(tmp_path, pages, email)
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
        settings = load_settings(config)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        ticks = iter(range(1000))
        with open_app(settings, clock=lambda: start + timedelta(minutes=next(ticks))) as app:
            report = app.sender.deliver()
    assert report.sent == 2 and len(box.received) == 2
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        rows = conn.execute(
            "select attempted_at, next_attempt_at from alerts order by attempted_at"
        ).fetchall()
    claimed = [datetime.fromisoformat(at.replace("Z", "+00:00")) for at, _ in rows]
    assert claimed[1] > claimed[0]
    assert [due for _, due in rows] == [iso(at + timedelta(minutes=1)) for at in claimed]


def test_an_outbox_that_cannot_be_written_leaves_the_alert_queued_and_check_reports_it(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Every write to the alerts table fails (as on a full disk, or a database another process
    keeps locked): `monitor check` says so instead of crashing, nothing is sent, and the alert
    goes out with the next check once writes work again."""
    box = Mailbox()
    with smtp_server(box) as port:
        config = email_config(tmp_path, pages, plain_smtp(port) + to(DESK))
        pages.put_article(PATH, seed_articles[0])
        run(config, "check")
        queue_a_change(config, pages, seed_articles[0], "rare trip", "rare journey")
        db = tmp_path / "monitor.db"
        with sqlite3.connect(db) as conn:
            conn.execute(
                "create trigger no_writes before update on alerts"
                " begin select raise(fail, 'disk I/O error (simulated)'); end"
            )
        stuck = run(config, "check")
        assert stuck.exit_code == 0, stuck.output
        assert "1 waiting to be retried" in stuck.output
        assert "cannot write the alert outbox: disk I/O error (simulated)" in stuck.output
        assert box.received == []
        assert [a["status"] for a in alerts(config)] == ["pending"]
        with sqlite3.connect(db) as conn:
            conn.execute("drop trigger no_writes")
        assert "1 email sent" in run(config, "check").output
    assert len(box.received) == 1
