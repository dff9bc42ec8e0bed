"""What a page declares of its access: schema.org's `isAccessibleForFree` in JSON-LD (with
`@graph` and `hasPart`, every boolean spelling, and JSON-LD that needs lenient reading) or in
microdata, and `article:content_tier`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.detect.regions import Access
from monitor.detect.tree import is_within


def declared_access(tree: LexborHTMLParser, container: LexborNode | None) -> Access | None:
    """What the page says of itself: JSON-LD (with `@graph` and `hasPart`), microdata or
    `article:content_tier`. A `hasPart` whose `cssSelector` names an element outside the
    article (a newsletter box) says nothing about the article."""
    declared: Access | None = None
    flags: list[tuple[bool | None, str | None]] = []
    for script in tree.css('script[type="application/ld+json"]'):
        raw = script.text()
        # Most pages' JSON-LD (a site's whole graph, often kilobytes) says nothing of access:
        # not parsed when it cannot name the key, which it could only spell with a \u escape.
        if _FREE_KEY not in raw and "\\u" not in raw:
            continue
        try:
            flags.extend((_flag(v), part) for v, part in _free_flags(json.loads(raw)))
        except ValueError:
            # JSON-LD with an unescaped quote or tag: its access declaration still counts.
            flags.extend((_flag(v), None) for v in _LENIENT_FLAG.findall(raw))
    for node in tree.css('[itemprop="isAccessibleForFree"]'):
        value = node.attributes.get("content") or node.attributes.get("href") or node.text()
        flags.append((_flag(value), None))
    for flag, part in flags:
        if flag is False:
            if part is not None and not _covers_article(tree, part, container):
                continue
            return "locked"
        if flag is True:
            declared = "free"
    tier = tree.css_first(_CONTENT_TIER)
    if tier is not None:
        value = (tier.attributes.get("content") or "").strip().lower()
        if value in ("locked", "metered"):
            return "locked"
        if value == "free":
            declared = "free"
    return declared


# Open Graph's article tier, and the `og:` spelling some publishers use (Le Monde).
_CONTENT_TIER = 'meta[property="article:content_tier"], meta[property="og:article:content_tier"]'
_FREE_KEY = "isAccessibleForFree"
_LENIENT_FLAG = re.compile(r'"isAccessibleForFree"\s*:\s*"?([A-Za-z:/.]+)')


def _flag(value: Any) -> bool | None:
    """schema.org booleans as pages write them: true, "True", "false", schema.org/False."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().rstrip("/").rsplit("/", 1)[-1].strip().lower()
    return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(word)


def _covers_article(tree: LexborHTMLParser, selector: str, container: LexborNode | None) -> bool:
    """Whether a `hasPart` selector names the article text (or text that was cut out of it)."""
    try:
        nodes = tree.css(selector)
    except Exception:  # an invalid selector: take the declaration as made for the page
        return True
    if not nodes or container is None:
        return True  # the part's text is not in the page: the server held it back
    return any(is_within(n, container) or is_within(container, n) for n in nodes)


def _free_flags(data: Any) -> Iterator[tuple[Any, str | None]]:
    """Every isAccessibleForFree value in a JSON-LD document (@graph, hasPart, …), with the
    `cssSelector` of the part it is said of (None: said of the page)."""
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        item, in_part = stack.pop()
        if isinstance(item, dict):
            if "isAccessibleForFree" in item:
                selector = item.get("cssSelector") if in_part else None
                yield item["isAccessibleForFree"], str(selector) if selector else None
            stack.extend((v, in_part or k == "hasPart") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, in_part) for v in item)
