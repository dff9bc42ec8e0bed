"""What the store hands out and takes in: typed rows, no SQL.

`CheckResult` is both what a check found and what recording it writes: one type from the worker
to the database, so that no field is copied by hand between two shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.detect.compare import Comparison
from monitor.detect.diff import Segment, segments_from_json
from monitor.detect.regions import Access, Regions


@dataclass(frozen=True)
class StoredVersion:
    id: int
    source_id: str
    fingerprint: str
    regions: Regions
    first_seen: str
    last_seen: str
    origin: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredVersion:
        regions = Regions(
            teaser=row["teaser"] or "",
            paywall=row["paywall"] or "",
            description=row["description"] or "",
            access=row["access"],
        )
        return cls(
            id=row["id"],
            source_id=row["source_id"],
            fingerprint=row["fingerprint"],
            regions=regions,
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            origin=row["origin"],
        )


@dataclass(frozen=True)
class SourceState:
    """What a check needs to know about a source before it fetches."""

    source_id: str
    current: StoredVersion | None
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    digest: str | None = None  # what `current` was read from (`Regions.digest`), if known
    reading: str | None = None  # the key of the reading that made `current` (`reading_key`)


@dataclass(frozen=True)
class Known:
    """A source's stored state in brief, for a pass over many sources: no version text."""

    version_id: int | None
    fingerprint: str | None
    etag: str | None
    last_modified: str | None
    digest: str | None = None  # what the current version was read from, if known
    reading: str | None = None  # the key of the reading that made it (`reading_key`)


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

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ChangeRow:
        diff = json.loads(row["diff"] or "{}")
        return cls(
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


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one source: what was found, and once recorded, what it wrote."""

    source_id: str
    # new | changed | unchanged | not_modified | error | unstable (two requests disagreed) |
    # rebaselined (first read by new extraction rules) | superseded (read before the version
    # another writer stored meanwhile) | cancelled | differs (not yet judged)
    outcome: str
    started_at: datetime
    duration_ms: int = 0
    status: int | None = None
    error: str | None = None
    comparison: Comparison | None = None
    regions: Regions | None = None
    etag: str | None = None
    last_modified: str | None = None
    url: str | None = None
    # the stored version the page was compared with (None: the source had none)
    base_version_id: int | None = None
    # Set, with no regions, when the page's digest was the stored one's (`Regions.digest`):
    # it reads exactly as the version `base_version_id`, and its text was not read again.
    digest: str | None = None
    # The key of the reading this check made or would make (`detect.reading.reading_key`):
    # recording takes a page read otherwise than the stored version for its new reference.
    reading: str | None = None
    # set by recording
    change_id: int | None = None
    revert_to: int | None = None
    event: str | None = None  # "failing" or "recovered" when this check turned the source's health

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.comparison.kinds if self.comparison and self.outcome == "changed" else ()

    def to_json(self) -> dict[str, Any]:
        """The object `monitor check --json` prints for each source."""
        return {
            "source": self.source_id,
            "outcome": self.outcome,
            "change_id": self.change_id,
            "kinds": list(self.kinds),
            "error": self.error,
        }


@dataclass(frozen=True)
class Alert:
    id: int
    source_id: str
    event: str  # "change", "failing" or "recovered"
    recipient: str
    status: str
    tries: int
    created_at: str
    change_id: int | None = None
    event_id: int | None = None
    last_error: str | None = None
    sent_at: str | None = None
    message_id: str | None = None
    next_attempt_at: str | None = None
    channel: str = "email"  # or "notify": `recipient` is then a [[notify]] id

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Alert:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        if self.status != "pending":  # nothing more will be attempted
            data["next_attempt_at"] = None
        return data


@dataclass(frozen=True)
class EventRow:
    kind: str
    title: str
    url: str
    at: str
    detail: str


@dataclass(frozen=True)
class ServiceRow:
    pid: int
    host: str
    started_at: str
    heartbeat_at: str | None
    stopped_at: str | None


@dataclass(frozen=True)
class SourceRow:
    """A source as every view lists it: where it stands now."""

    id: str
    title: str
    url: str
    access: str
    state: str
    last_check_at: str | None
    last_outcome: str | None
    last_error: str | None
    next_due_at: str | None
    consecutive_failures: int
    versions: int
    changes: int
    discovered_by: str | None = None  # the [[discover]] id that found it; None: configured
