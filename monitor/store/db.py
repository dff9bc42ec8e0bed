"""The database of one monitor, on sqlite-utils: sources, versions, checks, changes, events,
the alert outbox and the service's heartbeat.

Every SQL statement of the project is in this package. One row per *distinct* content of a
source (`versions`), one row per attempt (`checks`). All writes for one check happen in one
transaction (`record`), so a crash leaves either the whole check or nothing. Schema changes are
in `schema`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.detect.regions import Regions
from monitor.errors import DatabaseDamaged, NotFound, StoreError
from monitor.store.rows import ChangeRow, Known, SourceRow, SourceState, StoredVersion
from monitor.store.schema import check_version, iso, migrate, pending

# SQLite's primary result codes for a file it cannot read as a database.
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_SQLITE_BUSY = 5
# As long as a connection waits for another's lock (its busy timeout).
_OPEN_TIMEOUT = 30.0


def damage(exc: BaseException, path: Path | str) -> DatabaseDamaged | None:
    """A `DatabaseDamaged` for SQLite's "database disk image is malformed" and "file is not a
    database", else None: a locked or full database is not damaged and clears by itself."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return None
    return DatabaseDamaged(str(path), str(exc))


def _urls(db: Database) -> dict[str, str]:
    """Each stored source's url, by its id."""
    return dict(db.execute("select id, url from sources").fetchall())


def _writable(path: Path) -> bool:
    """Whether this process may write the database: the file, its `-wal` and `-shm` files
    where they exist (a running writer of another user made them: SQLite then lets this one
    only read), and else the folder where SQLite makes them."""
    if not os.access(path, os.W_OK):
        return False
    companions = [path.with_name(path.name + end) for end in ("-wal", "-shm")]
    if any(c.exists() and not os.access(c, os.W_OK) for c in companions):
        return False
    return os.access(path.parent, os.W_OK) or all(c.exists() for c in companions)


def _connect_read_only(path: Path, *, snapshot: bool) -> sqlite3.Connection:
    """A read-only connection to a WAL database, even where its `-shm` file cannot be made.

    `mode=ro` needs the `-shm` file: one that exists (a writer is running, or left it), or one
    it may create. Failing both, no writer is running, for a writer would have made it; then
    the file alone is the whole database, unless a `-wal` file holds transactions not yet
    copied into it, and `immutable=1` reads it without the `-shm` file (and without locks,
    which nobody else is taking). Only for a `snapshot`, a command that reads and ends: SQLite
    trusts an immutable file never to change, and a writer started later would change it
    under a reader that stays (`serve`).
    """
    if not os.access(path, os.R_OK):
        raise StoreError(f"{path}: this user may not read the database")
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("select count(*) from sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if path.with_name(path.name + "-shm").exists() or os.access(path.parent, os.W_OK):
            raise
    if not snapshot:
        raise StoreError(
            f"{path}: cannot read the database here while no monitor run is writing it: its "
            "-shm file is missing and this user may not create it; start monitor run, or "
            "run this as a user who may write the folder"
        )
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"{path}: cannot read the database here: {wal.name} holds writes not yet copied "
            "into it, readable only with a -shm file that this user may not create; run a "
            "monitor command once as a user who may write the folder"
        )
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def _prepare(db: Database) -> None:
    """WAL, and the schema brought up to date.

    Another process may be creating the same database (`monitor status` next to a `monitor
    run` starting on a fresh one): while it holds the file in the rollback journal it starts
    with, SQLite answers "database is locked" at once, without waiting the busy timeout, to a
    connection that would otherwise deadlock with it. That is waited out here; each step is
    done again from the start, and a step already done is skipped.
    """
    deadline = time.monotonic() + _OPEN_TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            migrate(db)
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == _SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            if db.conn.in_transaction:
                db.conn.rollback()
            time.sleep(0.05)


class StoreLock:
    """The store's re-entrant lock, which every read and write holds. A statement that meets a
    damaged page leaves it as `DatabaseDamaged`, whichever query ran into it: the caller gets a
    domain error that says what to do, never a raw sqlite3 traceback."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.RLock()
        self.path = path

    def __enter__(self) -> StoreLock:
        self._lock.acquire()
        return self

    def acquire(self, timeout: float = -1) -> bool:
        """Take the lock within `timeout` seconds (-1: waiting for ever); False if not."""
        return self._lock.acquire(timeout=timeout)

    def release(self) -> None:
        self._lock.release()

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        self._lock.release()
        if exc is not None and (damaged := damage(exc, self.path)) is not None:
            raise damaged from exc


class Store:
    """Built by the composition root; safe to share by threads (one connection, one lock)."""

    def __init__(
        self, db: Database, *, read_only: bool = False, path: Path | str = "the database"
    ) -> None:
        self.db = db
        self.read_only = read_only
        self.lock = StoreLock(path)
        self._database_id: str | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @classmethod
    def open(
        cls, path: Path, *, read_only: bool = False, create: bool = True, snapshot: bool = True
    ) -> Store:
        """Open (and create or upgrade) the database at `path`.

        A database this process may not write, in its file or its folder (SQLite makes its
        `-wal` and `-shm` files there), is opened read-only: the reading commands work,
        anything that writes fails with a clear error instead of "attempt to write".

        With `create` false a missing file is not created: the store is an empty database in
        memory, so a reading command answers as on a fresh database and leaves no file behind
        (what is written to it is lost, and there is nothing in it to write about). With
        `snapshot` false (a reader that stays open) a read-only database is never read as an
        immutable file (`_connect_read_only`).
        """
        try:
            if not create and not path.exists():
                return cls._empty(path)
            read_only = read_only or (path.exists() and not _writable(path))
            if read_only:
                conn = _connect_read_only(path, snapshot=snapshot)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(path), timeout=_OPEN_TIMEOUT, check_same_thread=False)
            db = Database(conn, execute_plugins=False)
            if read_only:
                check_version(db)
                if steps := pending(db.conn):
                    # Its tables and columns are not the ones every command reads.
                    raise StoreError(
                        f"{path}: this database was written by an older monitor and needs its "
                        f"schema upgraded ({', '.join(steps)}), which this user may not do: "
                        "run a monitor command once as a user who may write the database and "
                        "its folder"
                    )
            else:
                _prepare(db)
        except sqlite3.DatabaseError as exc:
            if (damaged := damage(exc, path)) is not None:
                raise damaged from None
            raise StoreError(f"{path}: cannot open the database: {exc}") from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the database: {exc.strerror or exc}") from None
        return cls(db, read_only=read_only, path=path)

    @classmethod
    def _empty(cls, path: Path) -> Store:
        db = Database(sqlite3.connect(":memory:", check_same_thread=False), execute_plugins=False)
        migrate(db)
        return cls(db, path=path)

    @contextmanager
    def write(self) -> Iterator[Database]:
        """One write transaction holding the store's lock; inside another one, a savepoint.

        `BEGIN IMMEDIATE` takes SQLite's write lock at the start, so another process that holds
        it (a running service, a second `check`) is waited for (the busy timeout), and what
        this transaction reads is what it writes against: two writers never judge a page
        against the same stale version. Nested, a failure rolls back only the inner part.
        """
        if self.read_only:
            raise StoreError(
                f"{self.lock.path}: this user may not write the database (or its folder): "
                "nothing can be written"
            )
        with self.lock:
            if self.conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            try:
                self.db.execute("COMMIT")
            except BaseException:
                self.db.rollback()
                raise

    def database_id(self) -> str:
        """A name of this database that no other database has (`schema.m009_database_id`)."""
        if self._database_id is None:
            row = self._one("select value from meta where key = 'database_id'")
            if row is None:  # pragma: no cover - the migration writes it
                raise StoreError("the database has no id: its schema is incomplete")
            self._database_id = str(row["value"])
        return self._database_id

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # -- reads -------------------------------------------------------------------------------

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        with self.lock:
            return next(self.db.query(sql, params), None)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.query(sql, params))

    def state(self, source_id: str) -> SourceState:
        row = self._one(
            "select s.etag as s_etag, s.last_modified as s_last_modified,"
            f" s.consecutive_failures as s_failures, {_DIGEST} as s_digest,"
            " s.reading as s_reading, v.* from sources s"
            " left join versions v on v.id = s.current_version_id where s.id = ?",
            [source_id],
        )
        if row is None:
            return SourceState(source_id, None, None, None, 0)
        current = StoredVersion.from_row(row) if row["id"] is not None else None
        return SourceState(
            source_id=source_id,
            current=current,
            etag=row["s_etag"],
            last_modified=row["s_last_modified"],
            consecutive_failures=row["s_failures"] or 0,
            digest=row["s_digest"],
            reading=row["s_reading"],
        )

    def known(self, ids: Sequence[str] | None = None) -> dict[str, Known]:
        """Every source's current version, fingerprint and validators, in one read; with
        `ids`, only those sources' (a pass reads them a page at a time)."""
        where, params = ("", []) if ids is None else (f"where s.id in {_IDS}", [_json(ids)])
        rows = self._all(
            "select s.id, s.current_version_id, v.fingerprint, s.etag, s.last_modified,"
            f" {_DIGEST} as digest, s.reading"
            f" from sources s left join versions v on v.id = s.current_version_id {where}",
            params,
        )
        return {
            r["id"]: Known(
                r["current_version_id"],
                r["fingerprint"],
                r["etag"],
                r["last_modified"],
                r["digest"],
                r["reading"],
            )
            for r in rows
        }

    def version(self, version_id: int) -> StoredVersion:
        # `_one`, not `Table.rows_where`: that asks first whether the table exists and is not
        # a view, three queries for one (a version is read for every change and alert).
        row = self._one("select * from versions where id = ?", [version_id])
        if row is None:
            raise NotFound(f"no version {version_id}")
        return StoredVersion.from_row(row)

    def versions(self, source_id: str) -> list[StoredVersion]:
        with self.lock:
            rows = list(
                self.db.table("versions").rows_where("source_id = ?", [source_id], order_by="id")
            )
        return [StoredVersion.from_row(r) for r in rows]

    def known_sources(self) -> list[str]:
        with self.lock:
            return [
                r["id"] for r in self.db.table("sources").rows_where(select="id", order_by="id")
            ]

    def last_checks(self) -> dict[str, str | None]:
        """When each source was last checked (ISO text), for spreading the first checks."""
        with self.lock:
            rows = self.db.table("sources").rows_where(select="id, last_check_at")
            return {r["id"]: r["last_check_at"] for r in rows}

    def checks(self, source_id: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.lock:
            return list(
                self.db.table("checks").rows_where(
                    "source_id = ?", [source_id], order_by="id desc", limit=limit
                )
            )

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
        with self.lock:
            rows = list(
                self.db.table("changes").rows_where(
                    where,
                    params,
                    order_by="id desc",
                    # SQLite takes an offset only after a limit; -1 is none
                    limit=-1 if limit is None and offset else limit,
                    offset=offset or None,
                )
            )
        return [ChangeRow.from_row(r) for r in rows]

    def count_changes(
        self,
        *,
        source_id: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        reviewed: bool | None = None,
    ) -> int:
        where, params = _change_filter(source_id, kind, since, reviewed)
        with self.lock:
            return self.db.table("changes").count_where(where, params)

    def change(self, change_id: int) -> ChangeRow:
        if not -(2**63) <= change_id < 2**63:  # SQLite's integers; a larger id exists nowhere
            raise NotFound(f"no change with id {change_id}")
        row = self._one("select * from changes where id = ?", [change_id])
        if row is None:
            raise NotFound(f"no change with id {change_id}")
        return ChangeRow.from_row(row)

    def source_link(self, source_id: str) -> tuple[str, str]:
        """A source's URL and title (its id when the page gave none)."""
        row = self._one(
            "select url, coalesce(title, id) as title from sources where id = ?", [source_id]
        )
        return (row["url"], row["title"]) if row else ("", source_id)

    def source_rows(
        self,
        source_id: str | None = None,
        *,
        ids: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SourceRow]:
        """One row per source: where it stands now. Every source in the database, or one, or
        those of `ids`; by id, `limit` of them after `offset` (a page).

        One query for the whole set: each row's counts and last error are index lookups
        (`m005_scale_indexes`), and only for the rows of the page.
        """
        params: list[Any]
        where, params = ("where s.id = ?", [source_id]) if source_id else ("", [])
        if ids is not None:
            where, params = f"where s.id in {_IDS}", [_json(ids)]
        if limit is not None:
            where += " order by s.id limit ? offset ?"
            params += [limit, offset]
        else:
            where += " order by s.id"
        rows = self._all(
            "select s.id, coalesce(s.title, s.id) as title, s.url,"
            " coalesce((select access from versions v where v.id = s.current_version_id), '')"
            " as access, s.state, s.last_check_at, s.last_outcome, s.next_due_at,"
            " s.consecutive_failures,"
            " case when s.last_outcome = 'error' then"
            " (select error from checks c where c.source_id = s.id order by c.id desc limit 1)"
            " end as last_error,"
            " (select count(*) from versions v where v.source_id = s.id) as versions,"
            " (select count(*) from changes c where c.source_id = s.id) as changes,"
            " (select discovery_id from discovered d where d.source_id = s.id) as discovered_by"
            f" from sources s {where}",
            params,
        )
        return [
            SourceRow(
                id=r["id"],
                title=r["title"],
                url=r["url"],
                access=r["access"] or "unknown",
                state=r["state"] or "healthy",
                last_check_at=r["last_check_at"],
                last_outcome=r["last_outcome"],
                last_error=r["last_error"] if r["last_outcome"] == "error" else None,
                next_due_at=r["next_due_at"],
                consecutive_failures=r["consecutive_failures"] or 0,
                versions=r["versions"],
                changes=r["changes"],
                discovered_by=r["discovered_by"],
            )
            for r in rows
        ]

    def has_source(self, source_id: str) -> bool:
        return self._one("select 1 as found from sources where id = ?", [source_id]) is not None

    def count_sources(self) -> int:
        with self.lock:
            return self.db.table("sources").count

    def failing_sources(self) -> set[str]:
        """The ids of the sources marked failing (an index lookup, not a read of every row)."""
        rows = self._all("select id from sources where state = 'failing'")
        return {r["id"] for r in rows}

    # -- writes ------------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[tuple[str, str]], now: datetime) -> None:
        """Make sure a row exists for each configured (id, url); the url follows the config.

        A source whose web address changed is read anew: its next reading becomes its
        reference, as after new extraction rules (`rebaselined`, no change and no alert: the
        stored version is another page's, or the same article's at its old address), and the
        old address's validators are not sent to the new one. A local capture's path that
        changed (its folder moved) is only followed."""
        pairs = list(sources)
        if not self.read_only and self._synced(pairs):
            # Most passes: nothing to write, and no write transaction to wait for or to
            # start the database's log with before the first check is sent.
            return
        with self.write() as db:
            known = _urls(db)  # again, under the write lock: another writer may have added
            created = iso(now)
            # `Table.insert_all` converts and chunks each row: 1,000 new sources took 8 ms
            db.conn.executemany(
                "insert into sources (id, url, created_at, consecutive_failures)"
                " values (?, ?, ?, 0)",
                [(i, u, created) for i, u in pairs if i not in known],
            )
            for source_id, url in pairs:
                if source_id not in known or known[source_id] == url:
                    continue
                if not (_on_the_web(known[source_id]) or _on_the_web(url)):
                    # a local capture whose folder moved: the same file, read as before
                    db.execute("update sources set url = ? where id = ?", [url, source_id])
                    continue
                # and no digest: the next reading is a full one, which takes the flag off (one
                # matched by its digest alone would leave it for an edit)
                db.execute(
                    "update sources set url = ?, rules_changed = 1, etag = null,"
                    " last_modified = null, digest = null, digest_version_id = null"
                    " where id = ?",
                    [url, source_id],
                )

    def _synced(self, pairs: list[tuple[str, str]]) -> bool:
        """Whether every (id, url) has its row already, with that url."""
        with self.lock:
            known = _urls(self.db)
        return all(known.get(source_id) == url for source_id, url in pairs)

    def import_baseline(
        self, source_id: str, regions: Regions, at: datetime, reading: str | None = None
    ) -> int | None:
        """Store `regions`, read by `reading` (`CheckResult.reading`), as the first version of
        a source that has none. Idempotent."""
        from monitor.store.record import insert_version

        with self.write() as db:
            if db.table("versions").count_where("source_id = ?", [source_id]):
                return None
            version_id = insert_version(db, source_id, regions, at, "baseline")
            db.table("sources").update(
                source_id, {"current_version_id": version_id, "reading": reading}
            )
            return version_id

    def reread_baseline(
        self, source_id: str, was: int, regions: Regions, at: datetime, reading: str
    ) -> None:
        """A baseline that is still the source's current version (`was`) and was read by other
        code or rules than `reading`: `regions`, its file read again, become the current
        version in its place (a version of its own, as every reading is), so that the page is
        compared with the baseline as this code reads it. Nothing, if another writer has
        stored a version since."""
        from monitor.store.record import insert_version, version_of

        with self.write() as db:
            row = db.execute(
                "select current_version_id from sources where id = ?", [source_id]
            ).fetchone()
            if row is None or row[0] != was:
                return
            version_id = version_of(db, source_id, regions.fingerprint)
            if version_id is None:
                version_id = insert_version(db, source_id, regions, at, "baseline")
            db.execute(
                "update sources set current_version_id = ?, reading = ?, etag = null,"
                " last_modified = null, digest = null, digest_version_id = null where id = ?",
                [version_id, reading, source_id],
            )

    def mark_reviewed(self, change_id: int, reviewed: bool, now: datetime) -> None:
        """Raises `NotFound`, or `StoreError` when it cannot be written (read-only here, a full
        disk, a lock held past the busy timeout)."""
        self.change(change_id)  # NotFound for an id that does not exist
        try:
            with self.write() as db:
                db.table("changes").update(
                    change_id,
                    {"reviewed": int(reviewed), "reviewed_at": iso(now) if reviewed else None},
                )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.lock.path}: cannot mark change #{change_id}: {exc}") from exc


# A set of ids as one parameter: `where id in {_IDS}` with `_json(ids)`, whatever their number
# (SQLite caps the parameters of one statement).
_IDS = "(select value from json_each(?))"
# A source's digest (`schema.m010_digest`), only while it belongs to the current version.
_DIGEST = "case when s.digest_version_id = s.current_version_id then s.digest end"


def _on_the_web(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme in ("http", "https")


def _json(ids: Iterable[str]) -> str:
    return json.dumps(list(ids))


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
