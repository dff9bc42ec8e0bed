"""The alert outbox and its sender.

Alerts are rows written in the same transaction as the change or event they announce. The sender
claims a due alert (one `UPDATE … WHERE status = 'pending'`, so two processes never take the
same one), sends it, and marks it sent with the server's answer. A crash between the send and the
mark leaves the alert pending: it is sent again later with the same Message-ID. The guarantee is
at-least-once delivery, with duplicates recognisable by Message-ID; a sent alert is never sent
again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.clock import Clock, utcnow
from monitor.config.settings import EmailSettings
from monitor.errors import DatabaseDamaged, DeliveryError, StoreError
from monitor.store import outbox
from monitor.store.db import Store
from monitor.store.outbox import count_alerts, list_alerts, requeue_failed
from monitor.store.rows import Alert, EventRow
from monitor.store.schema import iso

if TYPE_CHECKING:
    # Messages are built only when an alert is due: a check that finds nothing to send does
    # not load the mail and template machinery.
    from email.message import Message

    from monitor.alerts.mailer import Transport
    from monitor.views.render import ChangeView


__all__ = ["Alert", "DeliveryReport", "Sender", "count_alerts", "list_alerts", "requeue_failed"]


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    answers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notified: int = 0  # alerts accepted by [[notify]] targets (`sent` counts emails)
    # The ids of the alerts deferred, and of those sent or given up on: what still waits after
    # several rounds (`_merge`), where an alert deferred by one round is not due in the next.
    waiting: set[int] = field(default_factory=set)
    settled: set[int] = field(default_factory=set)

    def defer(self, alerts: Sequence[Alert]) -> None:
        self.deferred += len(alerts)
        self.waiting.update(a.id for a in alerts)

    def settle(self, alerts: Sequence[Alert]) -> None:
        self.settled.update(a.id for a in alerts)

    def add(self, other: DeliveryReport) -> None:
        """Another sender's part of the same round."""
        self.sent += other.sent
        self.notified += other.notified
        self.failed += other.failed
        self.deferred += other.deferred
        self.answers += other.answers
        self.errors += other.errors
        self.waiting |= other.waiting
        self.settled |= other.settled


def _digest_subject(items: Sequence[Item]) -> str:
    """ "monitor: 5 updates: Paywall lifted (1), Teaser edited (4)", in the order they came: a
    paywall lifted among them shows in the inbox."""
    counts = Counter(item.label for item in items)
    kinds = ", ".join(f"{label} ({count})" for label, count in counts.items())
    return f"monitor: {len(items)} updates: {kinds}"


def _merge(total: DeliveryReport, round_: DeliveryReport) -> bool:
    """Add one round to `total`, whose `deferred` then counts what still waits after all of
    them; False when the round lost the server."""
    waiting = (total.waiting | round_.waiting) - round_.settled
    total.add(round_)
    total.waiting = waiting
    total.deferred = len(waiting)
    return not round_.deferred


@dataclass(frozen=True)
class EventView:
    row: EventRow

    @property
    def kind(self) -> str:
        return self.row.kind

    # Page text (a title, a failure's reason quoting one) is shown on one line: a line break
    # in it would add a line of its own to the message's fields ("URL: https://elsewhere").
    @property
    def title(self) -> str:
        from monitor.views.render import one_line

        return one_line(self.row.title)

    @property
    def url(self) -> str:
        return self.row.url

    @property
    def at(self) -> str:
        return self.row.at

    @property
    def detail(self) -> str:
        from monitor.views.render import one_line

        return one_line(self.row.detail)

    @property
    def subject(self) -> str:
        from monitor.views.render import header_text

        if self.kind == "discovered":
            return header_text(f"New article: {self.title}")
        word = "failing" if self.kind == "failing" else "recovered"
        return header_text(f"Source {word}: {self.title}")


@dataclass(frozen=True)
class Item:
    view: ChangeView | None = None
    event: EventView | None = None

    @property
    def subject(self) -> str:
        return self.view.subject if self.view else self.event.subject if self.event else ""

    @property
    def label(self) -> str:
        """What it is in a few words ("Paywall lifted", "Source failing"), as its subject
        begins: a digest's subject counts them."""
        if self.view is not None:
            return self.view.headline.split(", ")[0].removesuffix(" (back to an earlier version)")
        return self.subject.partition(":")[0]


class Sender:
    """Delivers due alerts through a transport made by `transport_factory` for each round."""

    def __init__(
        self,
        store: Store,
        settings: EmailSettings,
        transport_factory: Callable[[], Transport],
        clock: Clock = utcnow,
        notifier: Callable[[], DeliveryReport] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.transport_factory = transport_factory
        self.clock = clock
        # The [[notify]] targets' sender: its rows are apart from the email ones, so one
        # never waits on the other.
        self.notifier = notifier
        # Set when alerts are queued: each of a `delivering` block's channels then sends them
        # at once, not at its next round, so that a pass does not end with a round's worth
        # still to send.
        self._wakes: list[threading.Event] = []

    def queued(self) -> None:
        """Alerts were just queued: a `delivering` block starts a round now."""
        for wake in list(self._wakes):
            wake.set()

    def _due(self, now: datetime) -> list[list[Alert]]:
        alerts = outbox.due_alerts(self.store, now)
        if self.settings.mode == "immediate":
            return [[a] for a in alerts]
        groups: dict[str, list[Alert]] = {}
        for alert in alerts:
            groups.setdefault(alert.recipient, []).append(alert)
        cutoff = iso(now - timedelta(seconds=self.settings.digest_interval))
        return [group for group in groups.values() if group[0].created_at <= cutoff]

    def _claim(self, alert: Alert, now: datetime) -> bool:
        return outbox.claim(self.store, alert, now, self.settings.backoff * 2**alert.tries)

    def _finish(self, alerts: Sequence[Alert], **values: Any) -> None:
        outbox.finish(self.store, alerts, **values)

    def deliver(self) -> DeliveryReport:
        """Deliver the due email alerts and the due notify alerts, each channel in a thread of
        its own: a mail server that hangs holds back no webhook, nor the reverse."""
        channels = self._channels()
        reports: list[DeliveryReport | None] = [None] * len(channels)
        problems: list[BaseException] = []

        def run(index: int) -> None:
            try:
                reports[index] = channels[index]()
            except BaseException as exc:  # raised in the caller's thread
                problems.append(exc)

        # The others in daemon threads, email in this one: Ctrl-C reaches a send that waits
        # here, and leaves a thread that waits (a hung server) behind, as a pool would not.
        others = [
            threading.Thread(target=run, args=(i,), name="deliver", daemon=True)
            for i in range(1, len(channels))
        ]
        for thread in others:
            thread.start()
        run(0)
        for thread in others:
            thread.join()
        if problems:
            raise problems[0]
        report = DeliveryReport()
        for part in reports:
            assert part is not None
            report.add(part)
        return report

    def _channels(self) -> list[Callable[[], DeliveryReport]]:
        return [self.deliver_email] if self.notifier is None else [self.deliver_email, self._notify]

    def _notify(self) -> DeliveryReport:
        assert self.notifier is not None
        notified = self.notifier()
        # the notifier's `sent` are notifications, not emails
        return replace(notified, sent=0, notified=notified.sent)

    def deliver_email(self) -> DeliveryReport:
        """Deliver the due email alerts only (the service sends the notify alerts in a job of
        their own, so that a hung mail server holds none of them back)."""
        report = DeliveryReport()
        now = self.clock()
        groups = self._due(now)
        if self.settings.mode == "digest":
            # A digest once attempted keeps its alerts (they carry its Message-ID, written
            # before the send): a resend holds exactly them, so it gets the same Message-ID.
            # Alerts queued since wait for a digest of their own.
            cutoff = iso(now - timedelta(seconds=self.settings.digest_interval))
            pinned: list[list[Alert]] = []
            for group in groups:
                by_message: dict[str | None, list[Alert]] = {}
                for alert in group:
                    by_message.setdefault(alert.message_id, []).append(alert)
                fresh = by_message.pop(None, [])
                pinned += by_message.values()
                if fresh and fresh[0].created_at <= cutoff:
                    pinned.append(fresh)
            groups = pinned
        if not groups:
            return report
        transport = self.transport_factory()
        try:
            for index, group in enumerate(groups):
                try:
                    connected = self._attempt(group, transport, report)
                except DatabaseDamaged:
                    raise  # not this round's: the service stops for it
                except StoreError as exc:
                    # A full disk, or a database locked past the busy timeout: what this round
                    # could not mark waits, as pending, for a later round (an alert the server
                    # took but that was not marked sent goes again, with its Message-ID).
                    report.errors.append(str(exc))
                    report.defer(
                        [a for g in groups[index:] for a in g if a.id not in report.settled]
                    )
                    break
                if not connected:
                    report.defer([a for g in groups[index + 1 :] for a in g])
                    break
        finally:
            transport.close()
        return report

    def _attempt(self, group: list[Alert], transport: Transport, report: DeliveryReport) -> bool:
        """Claim, compose and send one message; False when the server is lost."""
        # The time of each claim, not of the round's start: a claim lasts its backoff from
        # when its send begins, however long the round's earlier sends took.
        claimed = [a for a in group if self._claim(a, self.clock())]
        if not claimed:
            return True
        try:
            message = self.compose(claimed)
        except Exception as exc:
            # Nothing was sent, and the same rows and templates would fail the same way on
            # every later try: give up on these alerts, not on the round.
            reason = f"cannot compose the message: {type(exc).__name__}: {exc}"
            self._finish(claimed, status="failed", last_error=reason)
            report.failed += len(claimed)
            report.settle(claimed)
            report.errors.append(reason)
            return True
        message_id = str(message["Message-ID"])
        if self.settings.mode == "digest" and any(a.message_id != message_id for a in claimed):
            self._finish(claimed, message_id=message_id)
        try:
            answer = transport.send(message, claimed[0].recipient)
        except DeliveryError as exc:
            self._failed(claimed, exc, report)
            return not exc.connection
        self._finish(
            claimed,
            status="sent",
            sent_at=iso(self.clock()),
            message_id=message_id,
            last_error=None,
        )
        report.sent += len(claimed)
        report.settle(claimed)
        report.answers.append(answer)
        return True

    @contextmanager
    def delivering(self, every: float = 0.25) -> Iterator[DeliveryReport]:
        """Deliver due alerts in the background while the block runs, then once more after it.

        A long pass sends its alerts while it is still checking, and the sending overlaps the
        checks instead of following them: a round starts every `every` seconds, and at once
        when `queued` says alerts were queued. Email and the notify targets have a thread
        each, so that one that hangs holds back none of the other's alerts. A round that loses
        its server ends that channel's background rounds, so a server that is down is not
        asked again every `every` seconds.
        """
        total = DeliveryReport()
        merging = threading.Lock()
        stop = threading.Event()
        ended = threading.Event()  # the block ran to its end (not out by an exception)
        problems: list[BaseException] = []

        def rounds(channel: Callable[[], DeliveryReport], wake: threading.Event) -> None:
            try:
                lost = False
                while True:
                    wake.wait(every)
                    wake.clear()
                    if stop.is_set():
                        break
                    if not lost:
                        report = channel()
                        with merging:
                            lost = not _merge(total, report)
                if ended.is_set():
                    # The last round, in this channel's own thread: a mail server that hangs
                    # in its last round holds back no webhook's (as one joined first would).
                    report = channel()
                    with merging:
                        _merge(total, report)
            except BaseException as exc:  # raised in the caller's thread once the block ends
                problems.append(exc)

        threads = []
        for channel in self._channels():
            wake = threading.Event()
            self._wakes.append(wake)
            threads.append(
                threading.Thread(target=rounds, args=(channel, wake), name="deliver", daemon=True)
            )
        for thread in threads:
            thread.start()
        try:
            yield total
            ended.set()
        finally:
            stop.set()
            self.queued()  # the threads wait on their wakes
            for thread in threads:
                thread.join()
            self._wakes.clear()
        if problems:
            raise problems[0]

    def _failed(self, alerts: Sequence[Alert], exc: DeliveryError, report: DeliveryReport) -> None:
        report.errors.append(str(exc))
        give_up = exc.permanent or alerts[0].tries + 1 >= self.settings.max_tries
        if give_up:
            self._finish(alerts, status="failed", last_error=str(exc))
            report.failed += len(alerts)
            report.settle(alerts)
        else:
            self._finish(alerts, last_error=str(exc))
            report.defer(alerts)

    # -- messages --------------------------------------------------------------------------

    def _item(self, alert: Alert) -> Item:
        from monitor.views.render import change_view

        if alert.change_id is not None:
            change = self.store.change(alert.change_id)
            return Item(view=change_view(self.store, change, self.settings.report_url))
        assert alert.event_id is not None  # an alert announces a change or an event
        return Item(event=EventView(outbox.event(self.store, alert.event_id)))

    def compose(self, alerts: Sequence[Alert]) -> Message:
        from monitor.alerts.mailer import build_message
        from monitor.views.render import environment, header_text

        items = [self._item(a) for a in alerts]
        subject = items[0].subject if len(items) == 1 else _digest_subject(items)
        env = environment()
        context = {"subject": subject, "items": items}
        return build_message(
            sender=self.settings.sender,
            recipient=alerts[0].recipient,
            subject=header_text(subject),
            text=env.get_template("mail.txt").render(context),
            html=env.get_template("mail.html").render(context),
            message_id=self.message_id(alerts),
            # ", " lets a digest's long list fold onto lines of under 78 characters
            headers={"X-Monitor-Alert-Ids": ", ".join(str(a.id) for a in alerts)},
        )

    def message_id(self, alerts: Sequence[Alert]) -> str:
        """The same alerts always get the same Message-ID, so a resent one is a recognisable
        duplicate; alerts of another database get another one.

        A message is identified by exactly the alerts it holds, never by fewer: a reader that
        drops a second message with a known Message-ID must lose nothing. An alert alone (mode
        "immediate") is always sent alone, so its resend is the same message. A digest is pinned
        by `deliver`: its Message-ID is written on its alerts before the first send, and a
        resend gathers the pending alerts carrying it (and nothing queued since), so it holds
        the same alerts and gets the same id. Should only some of them be sendable again (one
        taken by another process), they make a different set and get a different id, written
        on them in turn. The database's own id is part of it: two databases number their
        alerts alike, and may create them in the same second for the same recipient.
        """
        key = "|".join(
            [
                self.store.database_id(),
                *(
                    f"{a.id}:{a.created_at}:{a.recipient}:{a.change_id}:{a.event_id}"
                    for a in sorted(alerts, key=lambda a: a.id)
                ),
            ]
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        domain = self.settings.sender.rpartition("@")[2] or "localhost"
        return f"<monitor.{alerts[0].id}.{digest}@{domain}>"
