"""One run of a `[[discover]]` block: fetch its feed or sitemap, keep the URLs it wants, and
record the new ones as sources (and retire those past the age limit or the cap)."""

from __future__ import annotations

import heapq
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.clock import Clock, utcnow
from monitor.config.discover import Discovery
from monitor.config.settings import Source
from monitor.discover.feeds import Entry, parse_feed
from monitor.discover.ids import source_id_for
from monitor.discover.sitemaps import parse_sitemap
from monitor.errors import CaptureError
from monitor.fetch import Fetcher, is_private_host
from monitor.store.db import Store
from monitor.store.discovered import Candidate, canonical, record_found, record_run

# A sitemap index may list thousands of sitemaps (one per day, per section): only the newest
# this many are read on each run.
MAX_CHILD_SITEMAPS = 20
# The longest URL an article may have (sitemaps.org's limit): a longer one is refused, not
# watched to fail for ever with a 100 KB address in every status line.
MAX_URL = 2048
# Article hosts other than the feed's own whose address is looked up, at most, on a reading.
MAX_HOSTS = 100


@dataclass
class DiscoveryReport:
    discovery_id: str
    listed: int = 0  # URLs the feed or sitemap lists
    matched: int = 0  # of them, those the include/exclude patterns keep
    added: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None
    # Sitemaps of an index that could not be read (with why): the others were.
    unread: list[str] = field(default_factory=list)
    # Entries the patterns keep but `_allowed` refuses: what they are is the user's to see.
    refused: list[str] = field(default_factory=list)


class Discoverer:
    """Runs discoveries through the project's fetcher; holds neither fetcher nor store."""

    def __init__(self, fetcher: Fetcher, store: Store, clock: Clock = utcnow) -> None:
        self.fetcher = fetcher
        self.store = store
        self.clock = clock

    def run(
        self, discovery: Discovery, configured: Iterable[Source], discoveries: Iterable[str] = ()
    ) -> DiscoveryReport:
        """Read the feed or sitemap once and record what it finds. A fetch or parse failure
        is reported, never raised: the sources found before keep being watched.
        `discoveries`: the ids of every configured discovery (see `record_found`)."""
        report = DiscoveryReport(discovery.id)
        now = self.clock()
        private: dict[str, bool] = {}  # one DNS lookup per host, not per article
        try:
            entries = self._entries(discovery, report, private)
        except CaptureError as exc:
            report.error = str(exc)
            record_run(self.store, discovery.id, now, report.error)
            return report
        wanted = []
        for entry in entries:
            if self._allowed(discovery, entry.url, private):
                wanted.append(entry)
            else:
                report.refused.append(entry.url[:200])
        candidates = [Candidate(source_id_for(e.url), e.url, e.title, e.published) for e in wanted]
        recorded = record_found(
            self.store,
            discovery,
            candidates,
            now=now,
            configured=configured,
            discoveries=discoveries,
            # a feed on the public internet: its articles stay there at every check
            public_only=not _lenient(discovery) and not private.get(_host(discovery.url), True),
        )
        report.added, report.retired, report.skipped = (
            recorded.added,
            recorded.retired,
            recorded.skipped,
        )
        record_run(self.store, discovery.id, now, None)
        return report

    def _fetch(
        self, discovery: Discovery, url: str, allow_private: bool | None = None
    ) -> tuple[bytes, str, str | None]:
        capture = self.fetcher.fetch(url, allow_private=discovery.allow_private or allow_private)
        return capture.body, capture.url, capture.media_type

    def _entries(
        self, discovery: Discovery, report: DiscoveryReport, private: dict[str, bool]
    ) -> list[Entry]:
        """The entries the patterns keep, of those that could make the cap (`_newest`); with
        `report.listed` and `report.matched` counted on all of them."""
        unread = report.unread

        def kept(found: list[Entry], entries: list[Entry]) -> list[Entry]:
            report.listed += len(found)
            found = [replace(e, url=_fetchable(e.url)) for e in found]
            found = [e for e in found if discovery.matches(e.url)]
            report.matched += len(found)
            return _newest(entries + found, discovery.max_sources)

        if discovery.feed is not None:
            body, url, media_type = self._fetch(discovery, discovery.feed)
            return kept(parse_feed(body, url, media_type), [])
        assert discovery.sitemap is not None
        body, url, _ = self._fetch(discovery, discovery.sitemap)
        sitemap = parse_sitemap(body, url, self.fetcher.max_body)
        if not sitemap.children:
            return kept(sitemap.urls, [])
        cutoff = None
        if discovery.max_age is not None:
            cutoff = self.clock() - timedelta(seconds=discovery.max_age)
        entries: list[Entry] = []
        read_any = False
        budget = MAX_CHILD_SITEMAPS
        seen = {canonical(url)}  # an index that lists itself, or one listing it back
        # An index's sitemaps, newest first; an index listed in an index (sitemaps.org forbids
        # it, sites do it) is followed too, within the same budget of reads.
        queue = [(url, sitemap.children)]
        while queue and budget:
            parent, children = queue.pop(0)
            if cutoff is not None:
                # a sitemap last changed before the age limit lists only older articles
                children = [c for c in children if c.published is None or c.published >= cutoff]
            children.sort(key=lambda c: c.published.timestamp() if c.published else 0, reverse=True)
            for child in children:
                if not budget:
                    break
                child_url = _fetchable(urllib.parse.urljoin(parent, child.url))
                if canonical(child_url) in seen:
                    continue
                seen.add(canonical(child_url))
                budget -= 1
                if not self._allowed(discovery, child_url, private):
                    # steered by the site: a public index may not send the fetcher to this
                    # machine's files or into a private network, any more than its articles
                    unread.append(f"{child_url}: refused (not an http(s) URL on the index's side)")
                    continue
                try:
                    # redirects stay on the index's side of the network too
                    home_private = private.get(_host(discovery.url), False)
                    body, got, _ = self._fetch(discovery, child_url, home_private)
                    read = parse_sitemap(body, got, self.fetcher.max_body)
                except CaptureError as exc:
                    # one sitemap of many: the others' articles are still watched
                    unread.append(f"{child_url}: {exc}")
                    continue
                read_any = True
                # kept to what could make the cap as each sitemap is read: an index of 20
                # sitemaps of 50,000 URLs held them all (850 MB) to watch 10
                entries = kept(read.urls, entries)
                if read.children:
                    queue.append((got, read.children))
        if not read_any and unread:
            raise CaptureError(f"no sitemap of the index could be read: {unread[0]}")
        return entries

    def _allowed(self, discovery: Discovery, url: str, private: dict[str, bool]) -> bool:
        """http(s) only (written in any case: the fetcher reads any other URL as a local
        file); and a feed on the public internet may not point the fetcher at an internal
        address (the page there would be stored and shown: SSRF with read-back). `private`:
        what each host was found to be, one DNS lookup per host."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
            return False
        if _lenient(discovery):
            return True
        home = _host(discovery.url)
        if home not in private:  # looked up whatever the entry's host: `run` needs it too
            private[home] = is_private_host(home)
        if parts.hostname == home:
            return True
        if parts.hostname not in private:
            if len(private) > MAX_HOSTS:
                # a name per entry would be a DNS lookup each, in turn, on every reading
                return False
            private[parts.hostname] = is_private_host(parts.hostname)
        return not private[parts.hostname] or private[home]


def _lenient(discovery: Discovery) -> bool:
    """Whether the discovery, or the sources it makes, may reach private addresses."""
    return discovery.allow_private or bool(discovery.template and discovery.template.allow_private)


def _newest(entries: list[Entry], cap: int) -> list[Entry]:
    """The entries that could be watched under a cap of `cap`: every undated one (in the
    feed's order, which decides among them), and of the dated ones the newest, with room for
    as many again that turn out to be taken or refused (a dated entry past those can never
    push a newer one out)."""
    dated = [e for e in entries if e.published is not None]
    room = 2 * cap
    if len(dated) <= room:
        return entries
    newest = {id(e) for e in heapq.nlargest(room, dated, key=_published)}
    return [e for e in entries if e.published is None or id(e) in newest]


def _published(entry: Entry) -> datetime:
    assert entry.published is not None
    return entry.published


def _fetchable(url: str) -> str:
    """`url` with its scheme in lower case, as the fetcher tells web addresses from files by
    it (`HTTP://…` is a valid URL, and sitemaps have it)."""
    scheme, colon, rest = url.partition(":")
    return f"{scheme.lower()}{colon}{rest}" if colon and scheme.isalpha() else url


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or ""
