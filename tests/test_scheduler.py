from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from monitor.config.settings import Source
from monitor.service.scheduler import (
    DISPATCH_JOB,
    Scheduler,
    first_due,
    jitter_for,
    next_grid,
    schedule_key,
    spread_offset,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_spread_is_stable_and_within_the_window() -> None:
    offsets = [spread_offset(f"source-{i}", 3600) for i in range(50)]
    assert offsets == [spread_offset(f"source-{i}", 3600) for i in range(50)]
    assert all(0 <= o < 3600 for o in offsets)
    # spread, not bunched: no ten-minute slot holds more than a third of them
    slots = [int(o // 600) for o in offsets]
    assert max(slots.count(s) for s in set(slots)) < 50 / 3
    assert len({round(o) for o in offsets}) > 45


def test_first_due_after_a_restart() -> None:
    # checked ten minutes ago with an hourly interval: due fifty minutes from now
    recent = NOW - timedelta(minutes=10)
    assert first_due(NOW, recent, 3600, "a") == recent + timedelta(hours=1)
    # overdue or never checked: placed within the first interval by id
    for last in (None, NOW - timedelta(days=3)):
        due = first_due(NOW, last, 3600, "a")
        assert NOW <= due < NOW + timedelta(hours=1)
        assert due == NOW + timedelta(seconds=spread_offset("a", 3600))


def test_jitter_is_bounded() -> None:
    assert jitter_for(60) == 6
    assert jitter_for(86400) == 300


def test_sync_adds_removes_and_reschedules() -> None:
    scheduler = Scheduler(lambda source_id: None, workers=2)
    a, b = Source("a", "https://x/a"), Source("b", "https://x/b", interval=60)
    assert scheduler.sync([a, b], 3600, {}, NOW) == (["a", "b"], [], [])
    assert scheduler.sync([a, b], 3600, {}, NOW) == ([], [], [])
    faster = Source("a", "https://x/a", interval=120)
    assert scheduler.sync([faster], 3600, {}, NOW) == ([], ["b"], ["a"])
    assert set(scheduler.next_due()) == {"a"}
    assert schedule_key(Source("c", "u", cron="0 * * * *"), 60) == "cron:0 * * * *"


def _handed(
    scheduler: Scheduler, start: float, seconds: int, step: float = 1.0
) -> dict[str, list[float]]:
    """What the dispatcher hands on when it runs every `step` seconds for `seconds`, by source:
    the times it handed each one on."""
    handed: dict[str, list[float]] = {}
    for n in range(int(seconds / step) + 1):
        now = start + n * step
        for source_id in scheduler.dispatch(now):
            handed.setdefault(source_id, []).append(now)
    return handed


def test_one_job_hands_every_source_on_once_per_interval_spread_over_it() -> None:
    scheduler = Scheduler(lambda source_id: None, workers=2)
    sources = [Source(f"s-{i}", f"https://x.test/{i}") for i in range(300)]
    try:
        scheduler.sync(sources, 60, {}, NOW)
        assert [j.id for j in scheduler.aps.get_jobs()] == [DISPATCH_JOB]
        handed = _handed(scheduler, NOW.timestamp(), 4 * 60)
    finally:
        scheduler.shutdown()
    assert set(handed) == {s.id for s in sources}
    jitter = jitter_for(60)
    for times in handed.values():
        # the first within the first interval, then once an interval (give or take the jitter)
        assert times[0] - NOW.timestamp() <= 60 + jitter + 1
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) >= 3 and all(60 - jitter - 1 <= g <= 60 + jitter + 1 for g in gaps)
    # spread, not bunched: no ten-second slot of the first interval holds a third of them
    slots = [int((t[0] - NOW.timestamp()) // 10) for t in handed.values()]
    assert max(slots.count(s) for s in set(slots)) < 100


def test_a_source_checked_recently_is_due_one_interval_after_its_check() -> None:
    scheduler = Scheduler(lambda source_id: None, workers=1)
    checked = NOW - timedelta(seconds=50)
    scheduler.sync([Source("a", "https://x.test/a")], 60, {"a": checked}, NOW)
    due = scheduler.next_due()["a"]
    assert due is not None
    assert checked + timedelta(seconds=60) <= due <= checked + timedelta(seconds=66)
    assert scheduler.dispatch(NOW.timestamp() + 9) == []
    assert scheduler.dispatch(due.timestamp() + 0.001) == ["a"]


def test_a_sync_that_removes_or_reschedules_a_source_is_honoured_at_once() -> None:
    """What a SIGHUP reload does: a removed source is never handed on again, a rescheduled
    one keeps to its new interval, an added one is handed on within its first interval."""
    scheduler = Scheduler(lambda source_id: None, workers=1)
    a, b = Source("a", "https://x.test/a"), Source("b", "https://x.test/b")
    start = NOW.timestamp()
    scheduler.sync([a, b], 60, {}, NOW)
    first = _handed(scheduler, start, 70)
    assert set(first) == {"a", "b"}
    later = NOW + timedelta(seconds=71)
    c, slow_a = Source("c", "https://x.test/c"), Source("a", "https://x.test/a", interval=600)
    assert scheduler.sync([slow_a, c], 60, {"a": later}, later) == (["c"], ["b"], ["a"])
    handed = _handed(scheduler, later.timestamp(), 500)
    assert "b" not in handed
    assert handed["c"] and "a" not in handed  # a: next due 600 s after its last check
    assert _handed(scheduler, later.timestamp() + 501, 200)["a"]


def test_a_service_that_fell_behind_checks_a_source_once_and_keeps_its_place() -> None:
    scheduler = Scheduler(lambda source_id: None, workers=1)
    scheduler.sync([Source("a", "https://x.test/a")], 60, {}, NOW)
    due = scheduler.next_due()["a"]
    assert due is not None
    asleep = due.timestamp() + 3600.5  # an hour suspended: sixty intervals missed
    assert scheduler.dispatch(asleep) == ["a"]
    assert scheduler.dispatch(asleep + 1) == []
    grid = next_grid(due.timestamp(), 60, asleep)
    assert asleep < grid <= asleep + 60


def test_cron_sources_are_handed_on_at_their_times() -> None:
    scheduler = Scheduler(lambda source_id: None, workers=1)
    hourly = Source("h", "https://x.test/h", cron="0 * * * *")
    scheduler.sync([hourly], 60, {}, NOW + timedelta(minutes=10))
    handed = _handed(scheduler, (NOW + timedelta(minutes=10)).timestamp(), 3 * 3600, step=5)
    hours = [datetime.fromtimestamp(t, UTC) for t in handed["h"]]
    assert [h.hour for h in hours] == [13, 14, 15]
    assert all(h.minute == 0 and h.second <= 30 + 5 for h in hours)
