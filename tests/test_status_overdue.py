"""`status` counts overdue sources by comparing stored times as text, one bound per interval;
it must name exactly the sources the rule `due_by` names, one source at a time (issue 17)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.settings import Settings, Source, load_settings
from monitor.store.schema import iso
from monitor.views.status import _overdue, due_by

from .conftest import write_config

STARTED = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def by_the_rule(
    watched: list[Source], settings: Settings, last: dict[str, str | None], now: datetime
) -> set[str]:
    late = set()
    for source in watched:
        text = last.get(source.id)
        checked = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
        since = checked if checked is not None and checked > STARTED else STARTED
        if now > due_by(source, settings, since):
            late.add(source.id)
    return late


def test_overdue_sources_are_those_the_rule_names_to_the_second(tmp_path: Path) -> None:
    schedules = ['interval = "60s"', 'interval = "1h"', "", 'cron = "*/5 * * * *"']
    blocks = "".join(
        f'[[source]]\nid = "s{i}"\nurl = "https://example.org/{i}"\n{schedules[i % 4]}\n\n'
        for i in range(200)
    )
    settings = load_settings(write_config(tmp_path, '[monitor]\ninterval = "30m"\n\n' + blocks))
    watched = list(settings.sources)
    rng = random.Random(17)
    compared = 0
    for _ in range(60):
        # a moment after the start, to the microsecond, and last checks spread around every
        # bound: before the start, never, and seconds on either side of the deadline
        now = STARTED + timedelta(seconds=rng.uniform(0, 3 * 3600))
        last: dict[str, str | None] = {}
        for source in watched:
            roll = rng.random()
            if roll < 0.1:
                continue  # no row
            if roll < 0.2:
                last[source.id] = None  # never checked
                continue
            edge = now - (due_by(source, settings, now) - now)
            offset = rng.choice([-2, -1, 0, 1, 2]) if roll < 0.8 else rng.uniform(-9000, 9000)
            last[source.id] = iso(edge + timedelta(seconds=offset))
        expected = by_the_rule(watched, settings, last, now)
        assert _overdue(watched, settings, last, STARTED, now) == expected
        compared += len(expected)
    assert compared > 1000  # the draws reached overdue sources, not only punctual ones
