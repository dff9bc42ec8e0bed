"""Alerts beyond email: `[[notify]]` targets, sent through Apprise (Slack, Matrix, Teams,
Telegram, a JSON webhook, …).

The same outbox as email, with the same guarantees: an alert row per target is queued in the
transaction of the change or event it announces (`store.record`); the sender claims a due row
(one conditional `UPDATE`), sends it, and marks it sent only when Apprise reports that the
service accepted it. A failure is retried with exponential backoff from the target's `backoff`,
and marked failed for good after `max_tries`. Each target is tried on its own: a webhook that
is down neither holds back email nor the other targets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monitor.alerts.outbox import DeliveryReport, EventView, Item
from monitor.clock import Clock, utcnow
from monitor.config.discover import ENV_REFERENCE, NotifyTarget
from monitor.errors import DatabaseDamaged, DeliveryError, StoreError
from monitor.store import outbox
from monitor.store.db import Store
from monitor.store.rows import Alert
from monitor.store.schema import iso

# Apprise's own per-request timeouts apply too; this bounds one whole send (`apprise_send`).
SEND_TIMEOUT = 30.0

Send = Callable[[str, str, str], None]


def apprise_send(url: str, title: str, body: str) -> None:
    """Send one notification with Apprise; `DeliveryError` with the service's reason unless it
    was accepted, or if it took over `SEND_TIMEOUT`.

    The send runs in a daemon thread of its own, waited for `SEND_TIMEOUT`: Apprise's own
    deadline abandons a send in its pool's threads, which the interpreter waits for at exit,
    so a service that trickles its answer held `monitor check` for minutes after its summary.
    A message longer than the service takes (Telegram 4,096 characters, Discord 2,000) is cut
    to fit, keeping its last line, the alert's id: sent whole, it would be refused on every try.
    """
    from apprise import Apprise, AppriseAsset, NotifyFormat

    # No deadline of Apprise's own (60 s by default): with one, it runs the send in its pool
    # instead of the thread that calls it.
    apprise = Apprise(asset=AppriseAsset(service_timeout=0))
    if not apprise.add(url):
        raise DeliveryError("Apprise cannot use this URL", permanent=True)
    # a service with no title of its own (Mattermost) gets it at the head of the body
    body = fitted(
        body,
        min(
            int(service.body_maxlen) - (len(title) + 2 if int(service.title_maxlen) <= 0 else 0)
            for service in apprise
        ),
    )
    outcome: list[Any] = []
    done = threading.Event()

    def send() -> None:
        try:
            outcome.append(apprise.notify(body=body, title=title, body_format=NotifyFormat.TEXT))
        except Exception as exc:  # handed to the waiting thread
            outcome.append(exc)
        done.set()

    threading.Thread(target=send, name="notify-send", daemon=True).start()
    if not done.wait(SEND_TIMEOUT):
        raise DeliveryError(f"the service did not answer within {SEND_TIMEOUT:g} s")
    result = outcome[0]
    if isinstance(result, Exception):
        raise DeliveryError(f"{type(result).__name__}: {result}")
    if not result:
        reasons = [
            str(entry.message)
            for entry in result.logs()
            if str(entry.level) in ("WARNING", "ERROR", "CRITICAL")
        ]
        raise DeliveryError(reasons[-1] if reasons else "the service did not accept it")


def fitted(body: str, limit: int) -> str:
    """`body` cut to `limit` characters with its last line kept."""
    if len(body) <= limit:
        return body
    last = body.rpartition("\n")[2]
    cut = "\n… (cut to the service's length limit)\n"
    room = limit - len(cut) - len(last)
    if room <= 0:
        return body[: max(limit, 0)]
    return body[:room].rstrip() + cut + last


def expand(url: str, environ: Mapping[str, str]) -> str:
    """Fill `${NAME}` references from the environment; a missing one is a `DeliveryError`
    (temporary: the variable may be set before the next try)."""

    def value(match: object) -> str:
        name = match.group(1)  # type: ignore[attr-defined]
        if name not in environ:
            raise DeliveryError(f"environment variable {name!r} (in the notify URL) is not set")
        return environ[name]

    return ENV_REFERENCE.sub(value, url)


class Notifier:
    """Delivers the due alerts of the `[[notify]]` targets."""

    def __init__(
        self,
        store: Store,
        targets: Sequence[NotifyTarget],
        *,
        report_url: str | None = None,
        clock: Clock = utcnow,
        send: Send = apprise_send,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.store = store
        self.targets: dict[str, NotifyTarget] = {}
        self.report_url: str | None = None
        self.use(targets, report_url=report_url)
        self.clock = clock
        self.send = send
        self.environ = environ

    def use(self, targets: Sequence[NotifyTarget], *, report_url: str | None) -> None:
        """Send to these targets, with this report link, from the next alert on (a reloaded
        config's)."""
        self.targets = {t.id: t for t in targets}  # one assignment: a round sees old or new
        self.report_url = report_url

    def deliver(self) -> DeliveryReport:
        """One round: each target's due alerts in a thread of its own, so that a target that
        hangs until `SEND_TIMEOUT` holds back none of the others."""
        due = outbox.due_alerts(self.store, self.clock(), channel="notify")
        by_target: dict[str, list[Alert]] = {}
        for alert in due:
            by_target.setdefault(alert.recipient, []).append(alert)
        report = DeliveryReport()
        if len(by_target) <= 1:
            for alerts in by_target.values():
                report.add(self._deliver_to(alerts))
            return report
        # Daemon threads, joined here: Ctrl-C leaves at once, abandoning what still waits on
        # a service (a pool's threads would be waited for at exit, `SEND_TIMEOUT` each).
        done: dict[str, DeliveryReport] = {}
        raised: list[BaseException] = []

        def deliver_to(target_id: str, alerts: list[Alert]) -> None:
            try:
                done[target_id] = self._deliver_to(alerts)
            except BaseException as exc:  # raised again below, in the caller's thread
                raised.append(exc)

        threads = [
            threading.Thread(
                target=deliver_to, args=(target_id, alerts), name="notify", daemon=True
            )
            for target_id, alerts in by_target.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if raised:
            raise raised[0]
        for target_id in by_target:
            report.add(done[target_id])
        return report

    def _deliver_to(self, due: list[Alert]) -> DeliveryReport:
        """One target's due alerts, in order; after a failure the rest wait for a later round."""
        report = DeliveryReport()
        down: set[str] = set()  # targets that failed this round: their other alerts wait
        for index, alert in enumerate(due):
            try:
                self._attempt(alert, down, report)
            except DatabaseDamaged:
                raise  # not this round's: the service stops for it
            except StoreError as exc:
                # as for email (`Sender.deliver_email`): the rest waits for a later round
                report.errors.append(str(exc))
                report.defer([a for a in due[index:] if a.id not in report.settled])
                break
        return report

    def _attempt(self, alert: Alert, down: set[str], report: DeliveryReport) -> None:
        target = self.targets.get(alert.recipient)
        if target is None:
            reason = f"no [[notify]] target {alert.recipient!r} in the config any more"
            # unclaimed: written only if no other process has tried it since it was read
            outbox.finish(self.store, [alert], claimed=False, status="failed", last_error=reason)
            report.failed += 1
            report.settle([alert])
            report.errors.append(reason)
            return
        if target.id in down:
            report.defer([alert])
            return
        # the time of the claim itself: see `Sender._attempt`
        if not outbox.claim(self.store, alert, self.clock(), target.backoff * 2**alert.tries):
            return  # another process took it
        try:
            title, body = self.compose(alert)
        except Exception as exc:
            # the same rows and templates would fail the same way on every later try
            reason = f"cannot compose the message: {type(exc).__name__}: {exc}"
            outbox.finish(self.store, [alert], status="failed", last_error=reason)
            report.failed += 1
            report.settle([alert])
            report.errors.append(reason)
            return
        try:
            self.send(expand(target.url, self.environ), title, body)
        except DeliveryError as exc:
            down.add(target.id)
            self._failed(alert, target, exc, report)
            return
        outbox.finish(
            self.store, [alert], status="sent", sent_at=iso(self.clock()), last_error=None
        )
        report.sent += 1
        report.settle([alert])
        report.answers.append(f"accepted by notify target {target.id!r}")

    def _failed(
        self, alert: Alert, target: NotifyTarget, exc: DeliveryError, report: DeliveryReport
    ) -> None:
        error = f"notify target {target.id!r}: {exc}"
        report.errors.append(error)
        if exc.permanent or alert.tries + 1 >= target.max_tries:
            outbox.finish(self.store, [alert], status="failed", last_error=error)
            report.failed += 1
            report.settle([alert])
        else:
            outbox.finish(self.store, [alert], last_error=error)
            report.defer([alert])

    def compose(self, alert: Alert) -> tuple[str, str]:
        """The title and plain-text body: the email's text part, and the alert's id, so that a
        notification sent twice (a crash between the send and the mark) is recognisable."""
        from monitor.views.render import change_view, environment

        if alert.change_id is not None:
            change = self.store.change(alert.change_id)
            item = Item(view=change_view(self.store, change, self.report_url))
        else:
            assert alert.event_id is not None  # an alert announces a change or an event
            item = Item(event=EventView(outbox.event(self.store, alert.event_id)))
        text = environment().get_template("mail.txt").render(subject=item.subject, items=[item])
        text = text.split("\n-- \n", 1)[0].strip()
        return item.subject, f"{text}\n\n(monitor alert {alert.id}, queued {alert.created_at})"
