"""Where the regions are on a page: the rules extraction follows, and their defaults.

A value type of the detection core; the config loader builds it from `[source.extract]`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TEASER = (
    "[itemprop=articleBody]",
    ".entry-content",
    ".post-content",
    ".article-body",
    ".article-content",
    ".story-body",
    "article",
    ".article",
    "main",
)
DEFAULT_PAYWALL = (
    ".mepr-unauthorized-message",
    ".pmpro_content_message",
    "#leaky_paywall_message",
    ".memberful-paywall",
    ".paywall",
)
DEFAULT_DESCRIPTION = ('meta[property="og:description"]', 'meta[name="description"]')
DEFAULT_MARKERS = ("Members-Only Content",)


@dataclass(frozen=True)
class ExtractRules:
    """Where the regions are on a page. Teaser selectors are tried in order (see
    `article.container_of` for how a match is chosen); paywall and description: first match."""

    teaser: tuple[str, ...] = DEFAULT_TEASER
    paywall: tuple[str, ...] = DEFAULT_PAYWALL
    description: tuple[str, ...] = DEFAULT_DESCRIPTION
    markers: tuple[str, ...] = DEFAULT_MARKERS
    exclude: tuple[str, ...] = ()
    min_words: int = 20
