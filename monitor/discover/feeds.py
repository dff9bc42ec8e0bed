"""RSS and Atom feeds, parsed with feedparser: the articles they list, with their dates.

Pure: bytes in, entries out (feedparser is given the bytes as a file, never a URL or a string,
so it fetches nothing and opens nothing).
"""

from __future__ import annotations

import calendar
import io
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import CaptureError


@dataclass(frozen=True)
class Entry:
    """One article a feed or sitemap lists."""

    url: str
    title: str | None = None
    published: datetime | None = None


def parse_feed(body: bytes, base_url: str, content_type: str | None = None) -> list[Entry]:
    """The entries of an RSS or Atom document, links made absolute against `base_url`.

    A document that is not a feed at all raises `CaptureError`; a feed with a recoverable
    mistake (feedparser's "bozo" flag) still yields the entries it could read.
    """
    import feedparser

    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    # A file, not the bytes: feedparser tries to open bytes or a string as a path first, so a
    # response whose body is "/etc/passwd" or "/dev/zero" would be read from this machine.
    parsed: Any = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS or Atom elements"
        raise CaptureError(f"{base_url}: not an RSS or Atom feed ({reason})")
    entries = []
    for item in parsed.entries:
        link = item.get("link") or _alternate(item)
        if not link:
            continue
        url = urllib.parse.urljoin(base_url, link.strip())
        title = (item.get("title") or "").strip() or None
        entries.append(Entry(url, title, _when(item)))
    return entries


def _alternate(item: Any) -> str | None:
    for link in item.get("links", ()):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _when(item: Any) -> datetime | None:
    """When an entry was published (else last updated), in UTC."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = item.get(key)
        if stamp:
            return datetime.fromtimestamp(calendar.timegm(stamp), UTC)
    return None
