"""One check of one source, with no database: fetch, extract, compare with the version it is
given, and confirm a change with a second request.

This is the step a pass runs in its thread pool or, for many sources, in worker processes
(`workers`); the pass itself, which reads the stored state and records every result, is
`check`.

The extractor (`detect.extract`) is imported by the functions that extract, not with this
module: a large pass's parent process imports this one and extracts nothing, while its worker
processes load the extractor as they start (`workers`).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.config.settings import Source
from monitor.detect.address import is_home_path
from monitor.detect.capture import Capture
from monitor.detect.compare import compare, suspect
from monitor.detect.regions import Regions
from monitor.errors import Cancelled, CaptureError, MonitorError
from monitor.fetch import Fetcher, read_file
from monitor.store.rows import CheckResult

if TYPE_CHECKING:
    from monitor.fetch.browser import BrowserFetcher

# What a request holds while it runs, by the URL it asks for: its host's share of `per_host`.
Slot = Callable[[str], AbstractContextManager[object]]


@dataclass(frozen=True)
class Job:
    """What a worker needs: the source and the version it compares against.

    A pass over many sources sends only the current version's `fingerprint`, not its text: most
    pages are unchanged, and the few that differ are compared by `Checker.settle`.
    """

    source: Source
    current: Regions | None
    version_id: int | None = None  # of the stored version compared with
    etag: str | None = None
    last_modified: str | None = None
    early: CheckResult | None = field(default=None)  # set when the check failed before fetching
    fingerprint: str | None = None  # of the current version, when `current` is not loaded
    digest: str | None = None  # what the current version was read from (`Regions.digest`)
    # Seconds to wait before fetching a page that differs once more, in the worker (None: not
    # in the worker: the pass confirms after a pause, or confirming is off).
    confirm_after: float | None = None
    reading: str | None = None  # the key of the reading this check makes (`CheckResult.reading`)
    # The stored version was made by another reading (`detect.reading`): a page found
    # different is taken for the new reference (`rebaselined`), its difference not confirmed.
    reread: bool = False


def read_baseline(source: Source, fetcher: Fetcher) -> Regions:
    """The regions of a source's baseline capture; raises `CaptureError` if it is unusable."""
    from monitor.detect.extract import extract  # see the module's docstring

    assert source.baseline is not None
    regions = extract(read_file(str(source.baseline), fetcher.max_body), source.extract)
    if regions.access == "unknown":
        raise CaptureError(f"baseline {source.baseline}: {regions.error}")
    return regions


def fetch_source(
    source: Source,
    fetcher: Fetcher,
    browser: BrowserFetcher | None,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    slot: Slot | None = None,
) -> Capture:
    """The source's page: as served (`fetcher`), or as headless Chromium renders it
    (`browser`, for `fetch = "browser"`); holding `slot(url)` while the request runs, if given
    (the worker processes' `per_host` limit)."""
    allow_private = source.allow_private or None
    with slot(source.url) if slot is not None else nullcontext():
        if source.fetch == "browser":
            if browser is None:  # pragma: no cover - browser sources are checked in the parent
                raise CaptureError('fetch = "browser": no browser in this process')
            return browser.fetch(
                source.url, allow_private=allow_private, rules=source.extract, settle=source.settle
            )
        return fetcher.fetch(
            source.url,
            etag=etag,
            last_modified=last_modified,
            allow_private=allow_private,
            public_only=source.public_only,
        )


@dataclass(frozen=True)
class Fetched:
    """A job's response, fetched ahead of its reading (`prefetch`), or why there is none."""

    capture: Capture | None
    error: Exception | None
    seconds: float  # how long the request took, counted in the check's duration


def prefetch(job: Job, fetcher: Fetcher, slot: Slot | None = None) -> Fetched | None:
    """The job's response, for `observe` to read later; None for a job `observe` answers
    without a request, or one whose page loads in a browser.

    A worker process fetches a unit's pages one after the other, then reads them: the HTTP
    client's code, then the extractor's, each stays in the processor's caches, for about a
    tenth less CPU per page than fetching and reading in turn (`bench/`)."""
    if job.early is not None or job.source.fetch == "browser":
        return None
    began = time.perf_counter()
    try:
        capture = fetch_source(
            job.source, fetcher, None, etag=job.etag, last_modified=job.last_modified, slot=slot
        )
    except Exception as exc:  # raised where `observe` would have met it
        return Fetched(None, exc, time.perf_counter() - began)
    return Fetched(capture, None, time.perf_counter() - began)


def observe(
    job: Job,
    fetcher: Fetcher,
    started_at: datetime,
    browser: BrowserFetcher | None = None,
    slot: Slot | None = None,
    fetched: Fetched | None = None,
) -> CheckResult:
    """Fetch, extract and compare one source. No database, safe to run in a worker thread;
    `slot`: what each request holds while it runs (see `fetch_source`); `fetched`: the
    response `prefetch` got for it, if any."""
    from monitor.detect.extract import extract  # see the module's docstring

    if job.early is not None:
        return job.early
    source = job.source
    began = time.perf_counter() - (fetched.seconds if fetched is not None else 0.0)

    def result(outcome: str, **kwargs: Any) -> CheckResult:
        elapsed = int((time.perf_counter() - began) * 1000)
        return CheckResult(
            source.id,
            outcome,
            started_at,
            duration_ms=elapsed,
            base_version_id=job.version_id,
            reading=job.reading,
            **kwargs,
        )

    try:
        if fetched is None:
            capture = fetch_source(
                source, fetcher, browser, etag=job.etag, last_modified=job.last_modified, slot=slot
            )
        elif fetched.error is not None:
            raise fetched.error
        else:
            assert fetched.capture is not None
            capture = fetched.capture
        meta = {
            "status": capture.status,
            "etag": capture.etag,
            "last_modified": capture.last_modified,
            "url": capture.url if capture.url != source.url else None,
        }
        if capture.not_modified:
            if job.current is None and job.fingerprint is None:
                return result("error", error="HTTP 304 with nothing stored to compare", **meta)
            return result("not_modified", **meta)
        if moved := redirected_away(source.url, capture.url):
            return result("error", error=moved, **meta)
        regions = extract(capture, source.extract, job.digest)
        if regions is None:  # reads as the current version, to the letter
            return result("unchanged", digest=job.digest, **meta)
    except Cancelled as exc:  # Ctrl-C or a stop: not recorded (`Checker._record_batch`)
        return result("cancelled", error=str(exc))
    except CaptureError as exc:
        return result("error", status=exc.status, error=str(exc))
    except MonitorError as exc:  # pragma: no cover - defensive: any domain error is a failed check
        return result("error", error=str(exc))
    if regions.access == "unknown":
        return result("error", error=regions.error, **meta)
    if job.current is None:
        if job.fingerprint is None:
            regions.fingerprint  # noqa: B018 - computed here, in the worker, not by the recorder
            return result("new", regions=regions, **meta)
        if regions.fingerprint == job.fingerprint:
            return result("unchanged", regions=regions, **meta)
        if (
            job.confirm_after is not None
            and not job.reread
            and (
                reason := confirm(
                    job.source,
                    fetcher,
                    regions,
                    job.fingerprint,
                    job.confirm_after,
                    browser,
                    slot,
                    first=capture,
                )
            )
        ):
            return result(reason[0], error=reason[1], **meta)
        return result("differs", regions=regions, **meta)
    judged = judge(result("differs", regions=regions, **meta), job.current, reread=job.reread)
    if judged.outcome == "changed" and job.reread:
        return rebaselined(judged)
    if (
        judged.outcome == "changed"
        and job.confirm_after is not None
        and (
            reason := confirm(
                job.source,
                fetcher,
                regions,
                job.current.fingerprint,
                job.confirm_after,
                browser,
                slot,
                first=capture,
            )
        )
    ):
        return result(reason[0], error=reason[1], **meta)
    return judged


def rebaselined(result: CheckResult) -> CheckResult:
    """A page found different from a version another reading made: its new reference, with
    no change (recording says so again for a writer that did not know: `record._record`)."""
    return replace(result, outcome="rebaselined", comparison=None)


def confirm(
    source: Source,
    fetcher: Fetcher,
    seen: Regions,
    stored: str | None,
    pause: float,
    browser: BrowserFetcher | None = None,
    slot: Slot | None = None,
    *,
    first: Capture | None = None,
) -> tuple[str, str] | None:
    """Fetch a page that differs from the stored version once more, after `pause` seconds;
    None when the second response shows the same regions, else the outcome and the reason not
    to record it. `first`: the response `seen` was read from, if at hand.

    A change is recorded only when two responses agree: content that differs on every request
    (an A/B test, a block that rotates inside the article) would otherwise alert every time.
    The cost is one request per change, never one per check.
    """
    from monitor.detect.extract import extract  # see the module's docstring

    if pause > 0 and fetcher.cancel.wait(pause):
        return "cancelled", "cancelled before the change could be confirmed"
    try:
        capture = fetch_source(source, fetcher, browser, slot=slot)
        if first is not None and _same_response(first, capture):
            return None  # the same bytes read the same: extraction is a function of them
        again = extract(capture, source.extract, seen.digest)
    except Cancelled as exc:
        return "cancelled", str(exc)
    except CaptureError as exc:
        return "error", f"could not confirm the change: {exc}"
    if again is None:  # reads as the first response did, to the letter
        return None
    if again.access == "unknown":
        return "error", f"could not confirm the change: {again.error}"
    if again.fingerprint == seen.fingerprint or not compare(seen, again).changed:
        return None
    back = "the stored version" if again.fingerprint == stored else "another version"
    return "unstable", f"the page differs between two requests (the second showed {back})"


def _same_response(a: Capture, b: Capture) -> bool:
    """Whether two responses are read alike: what `extract` reads from is the same."""
    return (a.body, a.media_type, a.charset, a.url) == (b.body, b.media_type, b.charset, b.url)


def judge(result: CheckResult, current: Regions, *, reread: bool = False) -> CheckResult:
    """A check whose fresh regions may differ from `current`, with its outcome decided.

    `reread`: `current` was made by another reading (`Job.reread`), so a region that it
    holds and this reading does not is the rules' doing, not a selector that stopped matching
    (`suspect`): a user who fixes a box misread as the notice would otherwise fail every check."""
    assert result.regions is not None
    comparison = compare(current, result.regions)
    if comparison.changed and not reread and (reason := suspect(current, result.regions)):
        return replace(result, outcome="error", error=reason, regions=None)
    outcome = "changed" if comparison.changed else "unchanged"
    return replace(result, outcome=outcome, comparison=comparison)


def redirected_away(asked: str, got: str) -> str | None:
    """Why a page that redirected away from the article is no reading of it, or None.

    Publishers send the readers of an article they took down to the front page, whose list
    of teasers would otherwise be read as the article rewritten; Yahoo's and Google's sites
    send readers in Europe to a cookie consent page on a host of its own first.
    """
    if got == asked:
        return None
    before, after = urllib.parse.urlsplit(asked), urllib.parse.urlsplit(got)
    host = (after.hostname or "").split(".")
    if host[0] in _CONSENT_HOSTS and before.hostname != after.hostname:
        return f"redirected to a cookie consent page ({after.hostname}), not the article"
    if not is_home_path(after.path) or after.query:
        return None  # not a home page
    if is_home_path(before.path) and not before.query:
        return None  # the source is a home page itself ("/?p=123", a WordPress post, is not)
    return f"redirected to the home page ({got}): the article may have been taken down"


# consent.yahoo.com, guce.yahoo.com (and Oath's guce.oath.com), consent.google.com
_CONSENT_HOSTS = frozenset({"consent", "guce"})


def host_key(url: str) -> str:
    """What `per_host` counts by: the URL's host and port (local files share one)."""
    return urllib.parse.urlsplit(url).netloc.lower() or "local"
