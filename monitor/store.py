"""SQLite storage through sqlite-utils: sources, versions, checks, changes and the alert outbox.

One row per *distinct* content of a source (`versions`), one row per attempt (`checks`). All
writes for one check happen in one transaction, so a crash leaves either the whole check or
nothing. Schema changes go through `sqlite_utils.Migrations`.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from .compare import Comparison
from .diff import Segment, segments_from_json, segments_to_json, with_context
from .errors import NotFound, StoreError
from .extract import Access, Regions
from .schema import migrate

M = TypeVar("M", bound=Callable[..., Any])


def iso(moment: datetime) -> str:
    """UTC, to the second, sortable as text: 2026-11-23T02:45:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class StoredVersion:
    id: int
    source_id: str
    fingerprint: str
    regions: Regions
    first_seen: str
    last_seen: str
    origin: str


@dataclass(frozen=True)
class SourceState:
    """What a check needs to know about a source before it fetches."""

    source_id: str
    current: StoredVersion | None
    etag: str | None
    last_modified: str | None
    consecutive_failures: int


@dataclass(frozen=True)
class Known:
    """A source's stored state in brief, for a pass over many sources: no version text."""

    fingerprint: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class CheckRecord:
    """Everything one check writes, handed to `Store.record_check` in one piece."""

    source_id: str
    started_at: datetime
    duration_ms: int
    outcome: str  # new | changed | unchanged | not_modified | error
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    url: str | None = None
    regions: Regions | None = None
    comparison: Comparison | None = None
    recipients: Sequence[str] = ()
    failing_after: int = 3


@dataclass(frozen=True)
class Recorded:
    check_id: int | None  # None for checks written in bulk
    version_id: int | None
    change_id: int | None
    revert_to: int | None
    event: str | None = None  # "failing" or "recovered" when the source's health turned


@dataclass(frozen=True)
class ChangeRow:
    id: int
    source_id: str
    detected_at: str
    kinds: tuple[str, ...]
    access_before: Access
    access_after: Access
    reviewed: bool
    revert_to: int | None
    from_version_id: int
    to_version_id: int
    diff: dict[str, list[Segment]]

    def to_json(self) -> dict[str, Any]:
        """The object `monitor changes --json` prints for each change."""
        return {
            "id": self.id,
            "source": self.source_id,
            "detected_at": self.detected_at,
            "kinds": list(self.kinds),
            "access": {"before": self.access_before, "after": self.access_after},
            "reviewed": self.reviewed,
            "revert_to": self.revert_to,
        }


def locked(method: M) -> M:
    """Serialise a method on the store's lock: one connection, shared by the service's threads."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return cast(M, wrapper)


class Store:
    """The database of one monitor. Built by the composition root; safe to share by threads."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lock = threading.RLock()

    @classmethod
    def open(cls, path: Path) -> Store:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"{path}: cannot open the database: {exc}") from None
        return cls(conn)

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction, holding the store's lock; inside another one, a savepoint.

        `BEGIN IMMEDIATE` takes SQLite's write lock at the start, so another process that holds
        it (a running service, a backup) is waited for (the connection's busy timeout) instead
        of failing later on a snapshot that went stale. Nested, a failure rolls back only the
        inner part: checks batched into one transaction stay independent of each other.
        """
        with self.lock:
            conn = self.conn
            nested = conn.in_transaction
            conn.execute("SAVEPOINT inner" if nested else "BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK TO inner" if nested else "ROLLBACK")
                    if nested:
                        conn.execute("RELEASE inner")
                raise
            conn.execute("RELEASE inner" if nested else "COMMIT")

    @locked
    def close(self) -> None:
        self.conn.close()

    # -- reads -------------------------------------------------------------------------------

    @locked
    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        cursor = self.conn.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row, strict=True))

    @locked
    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @locked
    def state(self, source_id: str) -> SourceState:
        row = self._one(
            "select s.etag as s_etag, s.last_modified as s_last_modified,"
            " s.consecutive_failures as s_failures, v.* from sources s"
            " left join versions v on v.id = s.current_version_id where s.id = ?",
            [source_id],
        )
        if row is None:
            return SourceState(source_id, None, None, None, 0)
        current = _version(row) if row["id"] is not None else None
        return SourceState(
            source_id=source_id,
            current=current,
            etag=row["s_etag"],
            last_modified=row["s_last_modified"],
            consecutive_failures=row["s_failures"] or 0,
        )

    @locked
    def known(self) -> dict[str, Known]:
        """Every source's current fingerprint and validators, in one read."""
        rows = self.conn.execute(
            "select s.id, v.fingerprint, s.etag, s.last_modified from sources s"
            " left join versions v on v.id = s.current_version_id"
        ).fetchall()
        return {row[0]: Known(*row[1:]) for row in rows}

    @locked
    def version(self, version_id: int) -> StoredVersion:
        row = self._one("select * from versions where id = ?", [version_id])
        if row is None:
            raise NotFound(f"no version {version_id}")
        return _version(row)

    @locked
    def versions(self, source_id: str) -> list[StoredVersion]:
        rows = self._all("select * from versions where source_id = ? order by id", [source_id])
        return [_version(r) for r in rows]

    @locked
    def known_sources(self) -> list[str]:
        return [r["id"] for r in self._all("select id from sources order by id")]

    @locked
    def checks(self, source_id: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._all(
            "select * from checks where source_id = ? order by id desc limit ?", [source_id, limit]
        )

    @locked
    def changes(
        self,
        *,
        source_id: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        reviewed: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ChangeRow]:
        where, params = _change_filter(source_id, kind, since, reviewed)
        sql = f"select * from changes where {where} order by id desc"
        if limit is not None:
            sql += " limit ? offset ?"
            params += [limit, offset]
        return [_change(r) for r in self._all(sql, params)]

    @locked
    def count_changes(
        self,
        *,
        source_id: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        reviewed: bool | None = None,
    ) -> int:
        where, params = _change_filter(source_id, kind, since, reviewed)
        row = self._one(f"select count(*) as n from changes where {where}", params)
        return int(row["n"]) if row else 0

    @locked
    def change(self, change_id: int) -> ChangeRow:
        row = self._one("select * from changes where id = ?", [change_id])
        if row is None:
            raise NotFound(f"no change with id {change_id}")
        return _change(row)

    # -- writes ------------------------------------------------------------------------------

    @locked
    def sync_sources(self, sources: Iterable[tuple[str, str]], now: datetime) -> None:
        """Make sure a row exists for each configured (id, url); the url follows the config."""
        with self.write():
            self.conn.executemany(
                "insert into sources (id, url, created_at, consecutive_failures) "
                "values (?, ?, ?, 0) on conflict(id) do update set url = excluded.url"
                " where url is not excluded.url",
                [(source_id, url, iso(now)) for source_id, url in sources],
            )

    @locked
    def import_baseline(self, source_id: str, regions: Regions, at: datetime) -> int | None:
        """Store `regions` as the first version of a source that has none. Idempotent."""
        with self.write():
            if self._one("select 1 from versions where source_id = ?", [source_id]):
                return None
            version_id = self._insert_version(source_id, regions, at, origin="baseline")
            self.conn.execute(
                "update sources set current_version_id = ? where id = ?", [version_id, source_id]
            )
            return version_id

    def _insert_version(self, source_id: str, regions: Regions, at: datetime, origin: str) -> int:
        cursor = self.conn.execute(
            "insert into versions (source_id, fingerprint, access, teaser, paywall, description,"
            " first_seen, last_seen, origin) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source_id,
                regions.fingerprint,
                regions.access,
                regions.teaser,
                regions.paywall,
                regions.description,
                iso(at),
                iso(at),
                origin,
            ],
        )
        return cast(int, cursor.lastrowid)

    @locked
    def record_many(self, records: Sequence[CheckRecord]) -> list[Recorded | sqlite3.Error]:
        """Write several checks in one transaction; each is all or nothing on its own.

        The common cases, a healthy source found unchanged or not modified, or checked for the
        first time, write no change and no alert: those are written in bulk. Every other check
        goes through `record_check` in a savepoint of its own.
        """
        results: list[Recorded | sqlite3.Error] = []
        with self.write():
            ids = [r.source_id for r in records]
            marks = ",".join("?" * len(ids))
            state = {
                row[0]: row[1:]
                for row in self.conn.execute(
                    f"select id, state, current_version_id from sources where id in ({marks})", ids
                ).fetchall()
            }
            quiet = [
                r
                for r in records
                if r.outcome in ("unchanged", "not_modified")
                and state.get(r.source_id, ("", None))[0] == "healthy"
                and state[r.source_id][1] is not None
            ]
            first = [
                r
                for r in records
                if r.outcome == "new"
                and r.regions is not None
                and state.get(r.source_id, ("", 0)) == ("healthy", None)
            ]
            self._record_quiet(quiet, state)
            versions = {r.source_id: state[r.source_id][1] for r in quiet}
            versions.update(self._record_first(first))
            done = {id(r) for r in quiet} | {id(r) for r in first}
            for record in records:
                if id(record) in done:
                    results.append(Recorded(None, versions[record.source_id], None, None))
                    continue
                try:
                    results.append(self.record_check(record))
                except sqlite3.Error as exc:
                    results.append(exc)
        return results

    def _record_quiet(self, records: Sequence[CheckRecord], state: dict[str, Any]) -> None:
        if not records:
            return
        self.conn.executemany(
            "insert into checks (source_id, started_at, duration_ms, outcome, status, etag,"
            " last_modified, url, version_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                # a 304 repeats the validators the source row already holds: not stored again
                (
                    r.source_id,
                    iso(r.started_at),
                    r.duration_ms,
                    r.outcome,
                    r.status,
                    None if r.outcome == "not_modified" else r.etag,
                    None if r.outcome == "not_modified" else r.last_modified,
                    r.url,
                    state[r.source_id][1],
                )
                for r in records
            ],
        )
        self.conn.executemany(
            "update sources set last_check_at = ?, last_outcome = ?, consecutive_failures = 0,"
            " title = coalesce(nullif(?, ''), title),"
            " etag = case when ? then etag else ? end,"
            " last_modified = case when ? then last_modified else ? end where id = ?",
            [
                (
                    iso(r.started_at),
                    r.outcome,
                    r.regions.title if r.regions else None,
                    r.outcome == "not_modified",
                    r.etag,
                    r.outcome == "not_modified",
                    r.last_modified,
                    r.source_id,
                )
                for r in records
            ],
        )
        self.conn.executemany(
            "update versions set last_seen = ? where id = ?",
            [(iso(r.started_at), state[r.source_id][1]) for r in records],
        )

    def _record_first(self, records: Sequence[CheckRecord]) -> dict[str, int]:
        """First checks of healthy sources with no version yet: a version each, in bulk."""
        versions: dict[str, int] = {}
        for r in records:
            assert r.regions is not None
            versions[r.source_id] = self._insert_version(
                r.source_id, r.regions, r.started_at, "check"
            )
        self.conn.executemany(
            "insert into checks (source_id, started_at, duration_ms, outcome, status, etag,"
            " last_modified, url, version_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.source_id,
                    iso(r.started_at),
                    r.duration_ms,
                    r.outcome,
                    r.status,
                    r.etag,
                    r.last_modified,
                    r.url,
                    versions[r.source_id],
                )
                for r in records
            ],
        )
        self.conn.executemany(
            "update sources set current_version_id = ?, last_check_at = ?, last_outcome = ?,"
            " consecutive_failures = 0, etag = ?, last_modified = ?,"
            " title = coalesce(nullif(?, ''), title) where id = ?",
            [
                (
                    versions[r.source_id],
                    iso(r.started_at),
                    r.outcome,
                    r.etag,
                    r.last_modified,
                    r.regions.title if r.regions else None,
                    r.source_id,
                )
                for r in records
            ],
        )
        return versions

    @locked
    def record_check(self, record: CheckRecord) -> Recorded:
        """Write one check, and the version, change and alerts it implies, atomically."""
        now = iso(record.started_at)
        with self.write():
            state = self._one("select * from sources where id = ?", [record.source_id])
            if state is None:
                raise NotFound(f"source {record.source_id!r} is not in the database")
            current_id: int | None = state["current_version_id"]
            version_id, change_id, revert_to = current_id, None, None
            if record.outcome in ("new", "changed") and record.regions is not None:
                found = self._one(
                    "select id from versions where source_id = ? and fingerprint = ?",
                    [record.source_id, record.regions.fingerprint],
                )
                if found:
                    version_id = found["id"]
                    revert_to = version_id if record.outcome == "changed" else None
                else:
                    version_id = self._insert_version(
                        record.source_id, record.regions, record.started_at, "check"
                    )
                if record.outcome == "changed" and record.comparison is not None:
                    change_id = self._insert_change(record, now, current_id, version_id, revert_to)
            if version_id is not None and record.outcome != "error":
                self.conn.execute(
                    "update versions set last_seen = ? where id = ?", [now, version_id]
                )
            failed = record.outcome == "error"
            cursor = self.conn.execute(
                "insert into checks (source_id, started_at, duration_ms, outcome, status, error,"
                " etag, last_modified, url, version_id, change_id)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.source_id,
                    now,
                    record.duration_ms,
                    record.outcome,
                    record.status,
                    record.error,
                    record.etag,
                    record.last_modified,
                    record.url,
                    None if failed else version_id,
                    change_id,
                ],
            )
            self.conn.execute(
                "update sources set current_version_id = ?, last_check_at = ?, last_outcome = ?,"
                " consecutive_failures = case when ? then consecutive_failures + 1 else 0 end,"
                " etag = case when ? then etag else ? end,"
                " last_modified = case when ? then last_modified else ? end where id = ?",
                [
                    version_id,
                    now,
                    record.outcome,
                    failed,
                    failed or record.outcome == "not_modified",
                    record.etag,
                    failed or record.outcome == "not_modified",
                    record.last_modified,
                    record.source_id,
                ],
            )
            if record.regions is not None and record.regions.title:
                self.conn.execute(
                    "update sources set title = ? where id = ?",
                    [record.regions.title, record.source_id],
                )
            event = self._transition(record, state, now)
            return Recorded(cast(int, cursor.lastrowid), version_id, change_id, revert_to, event)

    def _transition(self, record: CheckRecord, before: dict[str, Any], now: str) -> str | None:
        """Mark a source failing after `failing_after` failed checks in a row, healthy again on
        the next good one; each transition is an event, with one alert per recipient."""
        failed = record.outcome == "error"
        failures = (before["consecutive_failures"] or 0) + 1 if failed else 0
        state = before["state"] or "healthy"
        if failed and state == "healthy" and failures >= record.failing_after:
            kind, detail, new_state = "failing", record.error, "failing"
        elif not failed and state == "failing":
            kind, detail, new_state = "recovered", record.outcome, "healthy"
        else:
            return None
        self.conn.execute(
            "update sources set state = ? where id = ?", [new_state, record.source_id]
        )
        cursor = self.conn.execute(
            "insert into events (source_id, at, kind, detail) values (?, ?, ?, ?)",
            [record.source_id, now, kind, detail],
        )
        for recipient in dict.fromkeys(record.recipients):
            self.conn.execute(
                "insert into alerts (event_id, source_id, event, recipient, status, tries,"
                " next_attempt_at, created_at) values (?, ?, ?, ?, 'pending', 0, ?, ?)",
                [cursor.lastrowid, record.source_id, kind, recipient, now, now],
            )
        return kind

    def _insert_change(
        self,
        record: CheckRecord,
        now: str,
        from_id: int | None,
        to_id: int | None,
        revert_to: int | None,
    ) -> int:
        comparison = record.comparison
        assert comparison is not None
        diff = {
            name: segments_to_json(with_context(region.segments))
            for name, region in comparison.regions.items()
            if region.changed
        }
        cursor = self.conn.execute(
            "insert into changes (source_id, detected_at, from_version_id, to_version_id, kinds,"
            " access_before, access_after, diff, revert_to, reviewed)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [
                record.source_id,
                now,
                from_id,
                to_id,
                json.dumps(list(comparison.kinds)),
                comparison.access_before,
                comparison.access_after,
                json.dumps(diff),
                revert_to,
            ],
        )
        change_id = cast(int, cursor.lastrowid)
        for recipient in dict.fromkeys(record.recipients):
            self.conn.execute(
                "insert into alerts (change_id, source_id, event, recipient, status, tries,"
                " next_attempt_at, created_at) values (?, ?, 'change', ?, 'pending', 0, ?, ?)",
                [change_id, record.source_id, recipient, now, now],
            )
        return change_id

    @locked
    def mark_reviewed(self, change_id: int, reviewed: bool, now: datetime) -> None:
        with self.write():
            cursor = self.conn.execute(
                "update changes set reviewed = ?, reviewed_at = ? where id = ?",
                [int(reviewed), iso(now) if reviewed else None, change_id],
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no change with id {change_id}")


def _change_filter(
    source_id: str | None, kind: str | None, since: str | None, reviewed: bool | None
) -> tuple[str, list[Any]]:
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if source_id is not None:
        where.append("source_id = ?")
        params.append(source_id)
    if kind is not None:
        where.append("exists (select 1 from json_each(changes.kinds) where value = ?)")
        params.append(kind)
    if since is not None:
        where.append("detected_at >= ?")
        params.append(since)
    if reviewed is not None:
        where.append("reviewed = ?")
        params.append(int(reviewed))
    return " and ".join(where), params


def _version(row: dict[str, Any]) -> StoredVersion:
    regions = Regions(
        teaser=row["teaser"] or "",
        paywall=row["paywall"] or "",
        description=row["description"] or "",
        access=row["access"],
    )
    return StoredVersion(
        id=row["id"],
        source_id=row["source_id"],
        fingerprint=row["fingerprint"],
        regions=regions,
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        origin=row["origin"],
    )


def _change(row: dict[str, Any]) -> ChangeRow:
    diff = json.loads(row["diff"] or "{}")
    return ChangeRow(
        id=row["id"],
        source_id=row["source_id"],
        detected_at=row["detected_at"],
        kinds=tuple(json.loads(row["kinds"] or "[]")),
        access_before=row["access_before"],
        access_after=row["access_after"],
        reviewed=bool(row["reviewed"]),
        revert_to=row["revert_to"],
        from_version_id=row["from_version_id"],
        to_version_id=row["to_version_id"],
        diff={name: segments_from_json(segs) for name, segs in diff.items()},
    )
