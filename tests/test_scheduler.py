from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.config.settings import Source
from monitor.service.scheduler import Scheduler, first_due, jitter_for, schedule_key, spread_offset

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
