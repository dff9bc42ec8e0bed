"""A discovered source's id, derived from its URL: readable, stable, unique."""

from __future__ import annotations

import hashlib
import re
import urllib.parse

# Source ids are at most 64 characters: room for a slug, a dash and 8 hex digits.
_SLUG_MAX = 55


def source_id_for(url: str) -> str:
    """`in-brief-the-north-korean-russian-threat-1a2b3c4d` for
    `https://warontherocks.com/2023/09/in-brief-the-north-korean-russian-threat/`.

    The slug is the last part of the path, for people; the hash of the whole URL keeps two
    articles with the same last part (`/2024/01/index`, `/2025/01/index`) apart, and the same
    URL always gets the same id.
    """
    from monitor.store.discovered import canonical

    key = canonical(url)
    parts = urllib.parse.urlsplit(key)
    segments = [s for s in parts.path.split("/") if s]
    last = urllib.parse.unquote(segments[-1]) if segments else parts.hostname or ""
    last = re.sub(r"\.(html?|php|aspx?)$", "", last, flags=re.IGNORECASE)
    slug = re.sub(r"[^a-z0-9]+", "-", last.lower()).strip("-")[:_SLUG_MAX].strip("-")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return f"{slug or 'article'}-{digest}"
