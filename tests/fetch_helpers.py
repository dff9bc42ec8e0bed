"""A fetch run in a thread of its own, for the tests that cancel it, or time it out, from the
test's thread."""

from __future__ import annotations

import threading

from monitor.fetch import Fetcher


def fetch_in_thread(fetcher: Fetcher, url: str) -> tuple[threading.Thread, list[object]]:
    """The started thread fetching `url`, and the list that receives what the fetch returned
    (the capture) or raised, for the test's thread to look at once the thread has ended. A
    daemon thread: one a test failed to end does not hold the test run at exit."""
    outcome: list[object] = []

    def fetch() -> None:
        try:
            outcome.append(fetcher.fetch(url))
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    return thread, outcome
