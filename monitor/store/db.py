"""SQLite storage: sources, versions, checks, changes and the alert outbox.

One row per *distinct* content of a source (`versions`), one row per attempt (`checks`). All
writes for one check happen in one transaction, so a crash leaves either the whole check or
nothing; what a check writes is in `record`. Schema changes are in `schema`.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import monitor.store.record as record
from monitor.detect.diff import Segment, segments_from_json
from monitor.detect.extract import Access, Regions
from monitor.errors import NotFound, StoreError
from monitor.store.record import CheckRecord, Recorded
from monitor.store.schema import iso, migrate

M = TypeVar("M", bound=Callable[..., Any])


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
            version_id = record.insert_version(self.conn, source_id, regions, at, "baseline")
            self.conn.execute(
                "update sources set current_version_id = ? where id = ?", [version_id, source_id]
            )
            return version_id

    @locked
    def record_many(self, records: Sequence[CheckRecord]) -> list[Recorded | sqlite3.Error]:
        """Write several checks in one transaction; each is all or nothing on its own."""
        return record.record_many(self, records)

    @locked
    def record_check(self, check: CheckRecord) -> Recorded:
        """Write one check, and the version, change and alerts it implies, atomically."""
        return record.record_check(self, check)

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
