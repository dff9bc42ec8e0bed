"""Sources found by `[[discover]]`: stored in the database, never written into `config.toml`.

A found article becomes a row of `sources` (so that checks, versions, changes, history, the
report and the web UI treat it like any other) and a row of `discovered` saying which discovery
found it, when, when it was published, and whether it is still watched. A source is watched while
its discovery is configured and it is not retired (too old, or pushed out by the cap); removing
the `[[discover]]` block stops its sources and keeps their history. A configured source with
the same URL wins: the discovered one is not watched beside it.

Every read here is one query over the set, never one per source.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.config.discover import Discovery
from monitor.config.settings import Settings, Source
from monitor.errors import ConfigError
from monitor.store.db import Store
from monitor.store.record import Recipients, _queue_alerts
from monitor.store.schema import iso


@dataclass(frozen=True)
class Candidate:
    """An article a feed or sitemap lists, with the id its source would get."""

    source_id: str
    url: str
    title: str | None = None
    published: datetime | None = None


@dataclass
class Recorded:
    """What one discovery run changed: the sources it added and those it stopped watching."""

    added: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    # listed but not added: a configured source has the URL, or its id is taken
    skipped: list[str] = field(default_factory=list)


def canonical(url: str) -> str:
    """A URL as compared with others: no fragment, scheme and host in lower case, no trailing
    slash on the path (feeds and configs write the same article both ways), no campaign
    tracking parameters (`utm_*`, `fbclid`, …: a feed that rotates them would list the same
    article anew each time), and percent-escapes of letters decoded (`%C3%A9` and `é` are one
    letter) while those of reserved characters (`%2F`) stay as they mean something else."""
    parts = urllib.parse.urlsplit(url.strip())
    path = _ESCAPES.sub(_unescape, parts.path).rstrip("/") or "/"
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not _TRACKING.match(pair.partition("=")[0].lower())
    )
    return urllib.parse.urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), path, _ESCAPES.sub(_unescape, query), "")
    )


# Parameters that say where a reader came from, not which page: Google Analytics' `utm_*`,
# the ad platforms' click ids, Mailchimp's campaign and member ids.
_TRACKING = re.compile(
    r"utm_\w+$|fbclid$|gclid$|dclid$|gbraid$|wbraid$|msclkid$|yclid$|igshid$|mc_cid$|mc_eid$|_ga$"
)
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# What an escape may be decoded to without changing what the URL means (RFC 3986's unreserved
# characters); any other ASCII character is kept escaped, in upper case.
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")


def _unescape(match: re.Match[str]) -> str:
    raw = bytes.fromhex(match.group().replace("%", ""))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return match.group().upper()
    return "".join(ch if ch in _UNRESERVED or ord(ch) > 127 else f"%{ord(ch):02X}" for ch in text)


def record_found(
    store: Store,
    discovery: Discovery,
    candidates: Sequence[Candidate],
    *,
    now: datetime,
    configured: Iterable[Source],
    discoveries: Iterable[str] = (),
    public_only: bool = False,
) -> Recorded:
    """Add the new candidates as sources, and retire those past the age limit or the cap, in
    one transaction. A new source's `discovered` event and its alerts (when the discovery asks
    for them) are written in the same transaction. `discoveries`: the ids of every configured
    discovery; a listed article found by one no longer configured (a block renamed, a feed
    replaced by a sitemap) is taken over by this one, history and all, not left unwatched.
    `public_only`: the feed is on the public internet (`Source.public_only`)."""
    out = Recorded()
    configured = list(configured)
    configured_urls = {canonical(s.url) for s in configured}
    configured_ids = {s.id for s in configured}
    fresh: dict[str, Candidate] = {}
    for candidate in candidates:
        fresh.setdefault(canonical(candidate.url), candidate)
    cutoff = iso(now - timedelta(seconds=discovery.max_age)) if discovery.max_age else None
    stamp = iso(now)
    with store.write() as db:
        rows = list(
            db.query(
                "select source_id, discovery_id, url, published_at, discovered_at, retired_at"
                " from discovered where discovery_id = ?"
                # by the canonical form: another discovery's copy with other campaign
                # parameters is the same article
                " or canonical_url in (select value from json_each(?))",
                [discovery.id, json.dumps(list(fresh))],
            )
        )
        taken = {
            r["id"]
            for r in db.query(
                "select id from sources where id in (select value from json_each(?))",
                [json.dumps([c.source_id for c in fresh.values()])],
            )
        }
        live = {discovery.id, *discoveries}
        orphans = [
            r
            for r in rows
            if r["discovery_id"] not in live
            and not r["retired_at"]
            and canonical(r["url"]) in fresh
        ]
        if orphans:
            db.execute(
                "update discovered set discovery_id = ?"
                " where source_id in (select value from json_each(?))",
                [discovery.id, json.dumps([r["source_id"] for r in orphans])],
            )
            for row in orphans:
                row["discovery_id"] = discovery.id
        # and what the block no longer configured passed over, which this one lists too
        db.execute(
            "update or ignore passed_over set discovery_id = ?"
            " where discovery_id not in (select value from json_each(?))"
            " and canonical_url in (select value from json_each(?))",
            [discovery.id, json.dumps(sorted(live)), json.dumps(list(fresh))],
        )
        # The first reading of a discovery is its baseline: what the feed lists then is
        # watched without a "new article" alert each (a feed of 100 entries, 100 emails).
        # First: no reading of it succeeded yet, and it holds nothing (a database from before
        # readings were recorded, or a block renamed, holds its articles).
        first = not (
            any(r["discovery_id"] == discovery.id for r in rows)
            or db.execute(
                "select 1 from discovery_runs where discovery_id = ? and last_ok_at is not null",
                [discovery.id],
            ).fetchone()
            or db.execute(
                "select 1 from passed_over where discovery_id = ? limit 1", [discovery.id]
            ).fetchone()
        )
        passed = {
            r[0]
            for r in db.execute(
                "select canonical_url from passed_over where discovery_id = ?"
                " and canonical_url in (select value from json_each(?))",
                [discovery.id, json.dumps(list(fresh))],
            )
        }
        # Kept while listed, forgotten a while after: a feed whose links change on every
        # request would otherwise add its whole listing to the table at each reading.
        db.execute(
            "update passed_over set seen_at = ? where discovery_id = ?"
            " and canonical_url in (select value from json_each(?))",
            [stamp, discovery.id, json.dumps(sorted(passed))],
        )
        db.execute(
            "delete from passed_over where discovery_id = ? and seen_at < ?",
            [discovery.id, iso(now - timedelta(seconds=PASSED_OVER_KEPT))],
        )
        known = {canonical(r["url"]) for r in rows}
        new: list[Candidate] = []
        for key, candidate in fresh.items():
            if key in known:
                continue
            if key in configured_urls or candidate.source_id in taken | configured_ids:
                out.skipped.append(candidate.url)
                continue
            if cutoff and candidate.published and iso(candidate.published) < cutoff:
                continue
            new.append(candidate)
        active = [r for r in rows if r["discovery_id"] == discovery.id and not r["retired_at"]]
        too_old = [r for r in active if cutoff and _dated(r) < cutoff]
        active = [r for r in active if r not in too_old]
        # The cap keeps the newest articles: by their date, else by when they were found. An
        # entry listed before and passed over then (`passed_over`) is not new when found
        # again: undated, or as old as a watched article, it takes a free place only (in the
        # feed's order). Ranked by the time it was read, it would push the watched out on
        # every reading of an unchanged feed, each with a "new article" alert, until the feed
        # ran out.
        # Each: (its date, its rank among that date's, whether watched now, the row or entry).
        # An entry never listed before is newer than every watched article of its second too;
        # but not on a reading that lists no entry seen before: links that change on every
        # request (a cache-buster in the query) would push the watched out at each reading.
        stable = bool(known.intersection(fresh) or passed)
        ranked: list[tuple[str, int, bool, Any]] = [(_dated(r), 1, True, r) for r in active]
        for c in new:
            if c.published:
                ranked.append((min(iso(c.published), stamp), 0, False, c))
            elif canonical(c.url) in passed or not stable:
                ranked.append(("", 0, False, c))
            else:
                ranked.append((stamp, 2, False, c))
        ranked.sort(key=lambda item: (item[0], item[1]), reverse=True)
        kept = ranked[: discovery.max_sources]
        over = [item[3] for item in ranked[discovery.max_sources :] if item[2]]
        left = [item[3] for item in ranked[discovery.max_sources :] if not item[2]]
        new = [item[3] for item in kept if not item[2]]
        if left:
            db.conn.executemany(
                "insert or ignore into passed_over (discovery_id, canonical_url, seen_at)"
                " values (?, ?, ?)",
                [(discovery.id, canonical(c.url), stamp) for c in left],
            )
        for reason, retired in (("too old", too_old), ("over the cap", over)):
            if retired:
                ids = [r["source_id"] for r in retired]
                db.execute(
                    "update discovered set retired_at = ?, retired_reason = ?"
                    " where source_id in (select value from json_each(?))",
                    [stamp, reason, json.dumps(ids)],
                )
                out.retired += ids
        if new:
            _insert(
                db,
                discovery,
                new,
                stamp,
                alert=discovery.alert and not first,
                public_only=public_only,
            )
            out.added = [c.source_id for c in new]
    return out


@dataclass(frozen=True)
class DiscoveryRun:
    """How a discovery's last reading went; `failing_since` is set while it fails, `failures`
    counts the readings that failed in a row."""

    discovery_id: str
    last_run_at: str
    last_error: str | None
    failing_since: str | None
    failures: int


def record_run(store: Store, discovery_id: str, at: datetime, error: str | None) -> None:
    """Keep the outcome of a discovery's reading: a failure keeps when the failing began and
    how many readings in a row failed; a success, when the last one was. The error is kept
    without the credentials and queries of the URLs in it (`status` and the web UI show it:
    a member feed's key)."""
    stamp = iso(at)
    shown = _URL_IN_TEXT.sub(lambda m: _shown(m.group()), error) if error else None
    with store.write() as db:
        db.execute(
            "insert into discovery_runs (discovery_id, last_run_at, last_error, failing_since,"
            " failures, last_ok_at) values (?, ?, ?, ?, ?, ?) on conflict (discovery_id) do"
            " update set last_run_at = excluded.last_run_at, last_error = excluded.last_error,"
            " failing_since = case when excluded.last_error is null then null"
            " else coalesce(discovery_runs.failing_since, excluded.failing_since) end,"
            " failures = case when excluded.last_error is null then 0"
            " else discovery_runs.failures + 1 end,"
            " last_ok_at = coalesce(excluded.last_ok_at, discovery_runs.last_ok_at)",
            [
                discovery_id,
                stamp,
                shown,
                stamp if error else None,
                1 if error else 0,
                None if error else stamp,
            ],
        )


def forget_runs(store: Store, configured: Iterable[str]) -> None:
    """Drop the readings of discoveries no longer configured: the web UI, which has no config,
    would show a removed block's last failure for ever."""
    with store.write() as db:
        db.execute(
            "delete from discovery_runs where discovery_id not in (select value from json_each(?))",
            [json.dumps(sorted(configured))],
        )


_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def discovery_runs(store: Store) -> dict[str, DiscoveryRun]:
    with store.lock:
        rows = store.db.execute(
            "select discovery_id, last_run_at, last_error, failing_since, failures"
            " from discovery_runs"
        ).fetchall()
    return {r[0]: DiscoveryRun(*r) for r in rows}


def _shown(url: str) -> str:
    """A feed's or sitemap's URL as messages show it: without its query and credentials."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


# How long an entry passed over is remembered once its feed no longer lists it.
PASSED_OVER_KEPT = 7 * 24 * 3600


def _dated(row: dict[str, Any]) -> str:
    """When a watched article was published, as far as the cap and the age limit go: its
    feed's date, but never later than when it was found (a date in the future would hold its
    place for ever)."""
    found: str = row["discovered_at"]
    return min(row["published_at"] or found, found)


def _insert(
    db: Any,
    discovery: Discovery,
    new: list[Candidate],
    stamp: str,
    *,
    alert: bool,
    public_only: bool,
) -> None:
    db.table("sources").insert_all(
        {
            "id": c.source_id,
            "url": c.url,
            "title": c.title,
            "created_at": stamp,
            "consecutive_failures": 0,
        }
        for c in new
    )
    db.table("discovered").insert_all(
        {
            "source_id": c.source_id,
            "discovery_id": discovery.id,
            "url": c.url,
            "canonical_url": canonical(c.url),
            "public_only": int(public_only),
            "title": c.title,
            "published_at": iso(c.published) if c.published else None,
            "discovered_at": stamp,
        }
        for c in new
    )
    template = discovery.template
    for c in new:
        event_id = (
            db.table("events")
            .insert(
                {
                    "source_id": c.source_id,
                    "at": stamp,
                    "kind": "discovered",
                    # shown in "New article" messages, chat ones too: a member feed's key
                    # (`?key=…`, `user:token@`) stays out of them
                    "detail": _shown(discovery.url),
                }
            )
            .last_pk
        )
        if alert and template is not None:
            recipients = Recipients(
                {c.source_id: template.recipients}, notify={c.source_id: template.notify}
            )
            _queue_alerts(db, c.source_id, stamp, recipients, event="discovered", event_id=event_id)


def watched(store: Store, settings: Settings) -> list[Source]:
    """The discovered sources being watched now, as sources made from their discovery's
    defaults: their discovery is configured, they are not retired, and no configured source
    has their URL or id. In the order of their ids."""
    if not settings.discover:
        return []
    by_id = {d.id: d for d in settings.discover}
    # The canonical URLs of the discovered ones are stored (m006): the database compares.
    configured_urls = json.dumps(sorted({canonical(s.url) for s in settings.sources}))
    configured_ids = json.dumps([s.id for s in settings.sources])
    with store.lock:
        rows = store.db.execute(
            "select source_id, url, discovery_id, public_only from discovered"
            " where retired_at is null and discovery_id in (select value from json_each(?))"
            " and source_id not in (select value from json_each(?))"
            " and canonical_url not in (select value from json_each(?))"
            " order by source_id",
            [json.dumps(list(by_id)), configured_ids, configured_urls],
        ).fetchall()
    return [
        by_id[discovery_id].source_for(sid, url, bool(public))
        for sid, url, discovery_id, public in rows
    ]


def all_sources(store: Store, settings: Settings) -> list[Source]:
    """Every source watched now: the configured ones, then the discovered ones."""
    return [*settings.sources, *watched(store, settings)]


def find_source(store: Store, settings: Settings, source_id: str) -> Source:
    """A configured source, else a watched discovered one; `ConfigError` for neither."""
    try:
        return settings.source(source_id)
    except ConfigError:
        if not settings.discover:
            raise
    with store.lock:
        row = next(
            store.db.query(
                "select url, discovery_id, retired_at, public_only from discovered"
                " where source_id = ?",
                [source_id],
            ),
            None,
        )
    discovery = next((d for d in settings.discover if row and d.id == row["discovery_id"]), None)
    if row is None or discovery is None or row["retired_at"]:
        known = ", ".join(s.id for s in settings.sources) or "none configured"
        raise ConfigError(
            f"no source with id {source_id!r} in {settings.path} nor watched by a [[discover]] "
            f"(configured: {known})"
        )
    return discovery.source_for(source_id, row["url"], bool(row["public_only"]))


def origins(store: Store) -> dict[str, str]:
    """Which discovery found each discovered source (retired ones included)."""
    with store.lock:
        return {
            r["source_id"]: r["discovery_id"]
            for r in store.db.query("select source_id, discovery_id from discovered")
        }
