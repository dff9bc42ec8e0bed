"""XML sitemaps and sitemap indexes (sitemaps.org, with the Google News extension): the URLs
they list, with their dates. Pure: bytes in, URLs out.

A document type declaration is refused: no sitemap has one, and it is how an XML bomb
(entities expanding into gigabytes) is written.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.discover.feeds import Entry
from monitor.errors import CaptureError
from monitor.fetch.inflate import Inflater


@dataclass(frozen=True)
class Sitemap:
    """A sitemap's pages (`urls`), or a sitemap index's sitemaps (`children`)."""

    urls: list[Entry] = field(default_factory=list)
    children: list[Entry] = field(default_factory=list)


def parse_sitemap(body: bytes, where: str, limit: int) -> Sitemap:
    """The `<url>` entries of a `<urlset>`, or the `<sitemap>` entries of a
    `<sitemapindex>`. A gzip-compressed file (`sitemap.xml.gz`) is inflated up to `limit`."""
    if body[:2] == b"\x1f\x8b":
        inflate = Inflater("gzip", limit)
        body = inflate(body)
        if len(body) > limit:
            raise CaptureError(f"{where}: the sitemap is larger than max_body once inflated")
        inflate.finish()
    if re.search(rb"<!DOCTYPE|<!ENTITY", body[:4096], re.IGNORECASE):
        raise CaptureError(f"{where}: a sitemap with a document type declaration is refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise CaptureError(f"{where}: not an XML sitemap ({exc})") from None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise CaptureError(f"{where}: not a sitemap (root element <{kind}>)")
    entries = []
    for node in root:
        if _local(node.tag) not in ("url", "sitemap"):
            continue
        fields = {_local(child.tag): child for child in node.iter()}
        loc = (fields["loc"].text or "").strip() if "loc" in fields else ""
        if not loc:
            continue
        title = fields.get("title")  # <news:title>
        named = (title.text or "").strip() or None if title is not None else None
        when = _date(fields.get("publication_date")) or _date(fields.get("lastmod"))
        entries.append(Entry(loc, named, when))
    return Sitemap(children=entries) if kind == "sitemapindex" else Sitemap(urls=entries)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _date(node: ET.Element | None) -> datetime | None:
    """A W3C datetime (`2026-11-20`, `2026-11-20T10:00:00+01:00`) in UTC; None if unreadable."""
    text = (node.text or "").strip() if node is not None else ""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
