"""Put on PYTHONPATH of a `monitor run` by tests/test_stuck.py: a check of a URL ending in
`/hold` hangs inside the check, as a bug in it would (no timeout can end it), until the file
named by MONITOR_TEST_RELEASE exists, or two minutes have passed. Every held check first adds
a line to that path + ".held". Does nothing without the variable."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

RELEASE = os.environ.get("MONITOR_TEST_RELEASE")
HOLD_AT_MOST = 120.0

if RELEASE:
    import monitor.fetch.http as http

    _fetch = http.Fetcher.fetch

    def _held_fetch(self: http.Fetcher, url: str, **kwargs: Any) -> Any:
        if url.endswith("/hold"):
            with Path(f"{RELEASE}.held").open("a") as held:
                held.write(url + "\n")
            ends = time.monotonic() + HOLD_AT_MOST
            while not Path(RELEASE).exists() and time.monotonic() < ends:
                time.sleep(0.1)
        return _fetch(self, url, **kwargs)

    http.Fetcher.fetch = _held_fetch  # type: ignore[method-assign]
