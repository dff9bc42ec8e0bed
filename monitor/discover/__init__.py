"""Discovery: the articles a feed or a sitemap lists become sources of their own.

`feeds` and `sitemaps` turn fetched bytes into URLs with dates (pure); `ids` names a source
after its URL; `run` fetches through the project's `Fetcher`, keeps the URLs a `[[discover]]`
block wants and hands them to the store (`monitor.store.discovered`).
"""

from monitor.discover.feeds import Entry, parse_feed
from monitor.discover.ids import source_id_for
from monitor.discover.run import Discoverer, DiscoveryReport
from monitor.discover.sitemaps import Sitemap, parse_sitemap

__all__ = [
    "Discoverer",
    "DiscoveryReport",
    "Entry",
    "Sitemap",
    "parse_feed",
    "parse_sitemap",
    "source_id_for",
]
