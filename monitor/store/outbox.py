"""The alert outbox's rows: which alerts are due, claiming one, finishing it.

A claim is one `UPDATE … WHERE status = 'pending' AND tries = ?`, so two senders (two
processes) never take the same alert at once; the sender marks an alert sent only after the
server accepted it, and a sender whose claim lapsed never overwrites another's outcome
(`finish`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.db import Store
from monitor.store.rows import Alert, EventRow
from monitor.store.schema import iso


def list_alerts(
    store: Store, status: str | None = None, limit: int | None = None, offset: int = 0
) -> list[Alert]:
    """The alerts (of one `status`), newest first: `limit` of them after the `offset` newest."""
    where, params = ("status = ?", [status]) if status else (None, [])
    with store.lock:
        rows = store.db.table("alerts").rows_where(
            where, params, order_by="id desc", limit=limit, offset=offset or None
        )
        return [Alert.from_row(r) for r in rows]


def count_alerts(store: Store, status: str | None = None) -> int:
    where, params = ("status = ?", [status]) if status else (None, [])
    with store.lock:
        return store.db.table("alerts").count_where(where, params)


def failed_alerts(store: Store) -> tuple[int, str | None]:
    """How many alerts were given up on for good, and when the newest was last tried."""
    with store.lock:
        row = store.db.execute(
            "select count(*), max(coalesce(attempted_at, created_at)) from alerts"
            " where status = 'failed'"
        ).fetchone()
    return int(row[0]), row[1]


def due_alerts(store: Store, now: datetime, channel: str = "email") -> list[Alert]:
    """The pending alerts of one channel ("email" or "notify") whose time has come."""
    with store.lock:
        rows = store.db.table("alerts").rows_where(
            "status = 'pending' and next_attempt_at <= ? and channel = ?",
            [iso(now), channel],
            order_by="id",
        )
        return [Alert.from_row(r) for r in rows]


def requeue_failed(store: Store, now: datetime) -> int:
    """Give failed alerts another full set of tries (`monitor alerts --retry`)."""
    with store.write() as db:
        cursor = db.execute(
            "update alerts set status = 'pending', tries = 0, next_attempt_at = ?"
            " where status = 'failed'",
            [iso(now)],
        )
        return int(cursor.rowcount)


@contextmanager
def _writing(store: Store) -> Iterator[Database]:
    """`Store.write`, whose failure (a full disk, a database locked past the busy timeout) is a
    `StoreError` the sender reports: the alerts stay pending for a later round."""
    try:
        with store.write() as db:
            yield db
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the alert outbox: {exc}") from exc


def claim(store: Store, alert: Alert, now: datetime, retry_in: float) -> bool:
    """Take `alert` for one attempt; False if another sender took it first."""
    with _writing(store) as db:
        cursor = db.execute(
            "update alerts set tries = tries + 1, attempted_at = ?, next_attempt_at = ?"
            " where id = ? and status = 'pending' and tries = ?",
            [iso(now), iso(now + timedelta(seconds=retry_in)), alert.id, alert.tries],
        )
        return cursor.rowcount == 1


def finish(store: Store, alerts: Sequence[Alert], *, claimed: bool = True, **values: Any) -> None:
    """Set columns (`status`, `sent_at`, `message_id`, `last_error`) of alerts this sender
    attempted (`claimed`: it holds their claim; else it judged them without one).

    A claim lapses (`claim`'s `retry_in`) and another sender may take the alert meanwhile:
    "sent" is written over anything but an earlier "sent" (the server has the message,
    whoever else tried), and every other outcome only while the alert is still pending under
    this sender's claim, so that a sender whose claim lapsed never undoes another's outcome.
    """
    # Not `Table.update`, which reads the table's keys and the row before writing it: the
    # names are this module's callers' own.
    sql = "update alerts set " + ", ".join(f"{name} = ?" for name in values) + " where id = ?"
    sent = values.get("status") == "sent"
    sql += " and status <> 'sent'" if sent else " and status = 'pending' and tries = ?"
    with _writing(store) as db:
        for alert in alerts:
            params = [*values.values(), alert.id]
            if not sent:
                params.append(alert.tries + 1 if claimed else alert.tries)
            db.execute(sql, params)


def event(store: Store, event_id: int) -> EventRow:
    with store.lock:
        row = next(
            store.db.query(
                "select e.kind, coalesce(s.title, s.id) as title, s.url, e.at, e.detail"
                " from events e join sources s on s.id = e.source_id where e.id = ?",
                [event_id],
            ),
            None,
        )
    if row is None:
        from monitor.errors import NotFound

        raise NotFound(f"no event {event_id}")
    return EventRow(row["kind"], row["title"], row["url"], row["at"], row["detail"] or "")
