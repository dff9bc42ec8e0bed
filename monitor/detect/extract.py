"""Turn a capture's text into regions: teaser, paywall notice, description and access state.

Pure: text and rules in, `Regions` out. A capture with no recognisable article (error page,
login wall, bot challenge, empty body) gives `access == "unknown"` with the reason in `error`;
that is an extraction failure, never a change of content.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.detect.capture import Capture, Format, decode, sniff_format
from monitor.detect.normalise import fingerprint, normalise, strip_trailing_ellipsis, word_count
from monitor.detect.rules import ExtractRules

Access = Literal["locked", "free", "unknown"]

# Elements whose text is never article text, wherever they sit.
_JUNK = (
    "script, style, noscript, template, iframe, svg, canvas, form, button, select, textarea, "
    "input, nav, aside, footer, header, .sharedaddy, .jp-relatedposts, .related-posts, "
    ".yarpp-related, .comments-area, #comments, .entry-meta, .post-meta, .byline, "
    ".screen-reader-text"
)
# Inside a paywall block: the notice is kept, its login form and buttons are not.
_CONTROLS = "script, style, noscript, template, iframe, svg, form, button, select, textarea, input"
# A sign-in page can carry some prose; an article with a login form in its sidebar has more.
_LOGIN_WALL_WORDS = 150
_BLOCKS = (
    "p, div, section, article, main, header, h1, h2, h3, h4, h5, h6, li, ul, ol, dl, dt, dd, "
    "blockquote, pre, figure, figcaption, table, tr, td, th, br, hr"
)
_CHALLENGES = (
    "just a moment",
    "checking your browser",
    "attention required",
    "verify you are human",
    "enable javascript and cookies to continue",
    "ddos protection by",
    "please complete the security check",
    "are you a robot",
    "access denied",
)
_CHALLENGE_SELECTORS = (
    "#challenge-form, #cf-challenge-running, .cf-browser-verification, #px-captcha, "
    ".g-recaptcha, .h-captcha"
)
_ERROR_TITLE = re.compile(
    r"\b(?:404|403|410|500|502|503|not found|page not found|error|forbidden|unavailable)\b", re.I
)


@dataclass(frozen=True)
class Regions:
    """What the monitor watches on one capture, in canonical (normalised) text."""

    teaser: str
    paywall: str
    description: str
    access: Access
    error: str | None = None
    title: str = ""  # shown in reports and mail subjects; not watched, not in the fingerprint

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.access, self.teaser, self.paywall, self.description)

    @classmethod
    def failed(cls, reason: str) -> Regions:
        return cls(teaser="", paywall="", description="", access="unknown", error=reason)


def extract(capture: Capture, rules: ExtractRules) -> Regions:
    """Regions of a capture; raises `CaptureError` only when its bytes cannot be decoded."""
    fmt: Format = sniff_format(capture)
    text = decode(capture, fmt)
    if fmt == "html":
        return extract_html(text, rules)
    return extract_text(text, rules)


def extract_text(text: str, rules: ExtractRules) -> Regions:
    """A text snapshot: teaser lines, a marker line, the notice, then the description."""
    if "&" in text:
        text = html.unescape(text)  # scrapers sometimes keep entities; a browser would not
    lines = [line for line in (normalise(raw) for raw in text.splitlines()) if line]
    markers = {normalise(m).casefold() for m in rules.markers}
    at = next((i for i, line in enumerate(lines) if line.casefold() in markers), None)
    if at is None:
        body, paywall, description = lines, "", ""
        # A free snapshot may still end with its description: a line that starts the teaser.
        if len(lines) >= 2 and _starts(lines[0], lines[-1]):
            body, description = lines[:-1], lines[-1]
    else:
        after = lines[at + 1 :]
        notice = after[:-1] if len(after) >= 2 else after
        description = after[-1] if len(after) >= 2 else ""
        body, paywall = lines[:at], "\n".join([lines[at], *notice])
    teaser = strip_trailing_ellipsis("\n".join(body))
    if reason := _failure(teaser, paywall, rules, title=None, login_form=False):
        return Regions.failed(reason)
    return Regions(teaser, paywall, description, "locked" if paywall else "free")


def _starts(text: str, prefix: str) -> bool:
    return "".join(text.split()).startswith("".join(prefix.split()))


def extract_html(text: str, rules: ExtractRules) -> Regions:
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = normalise(title_node.text()) if title_node else ""
    if tree.body is None:
        return Regions.failed("empty page: no <body>")
    if tree.css_first(_CHALLENGE_SELECTORS) is not None:
        return Regions.failed(f"bot challenge page ({title or 'no title'})")
    login = tree.css_first('input[type="password"]') is not None
    declared = _declared_access(tree)
    description = _description(tree, rules)
    container = next((n for sel in rules.teaser if (n := tree.css_first(sel))), None)
    paywall_nodes = _paywall_nodes(tree, container, rules)
    for node in paywall_nodes:
        _drop(node, _CONTROLS)
    paywall = normalise("\n".join(_block_text(n) for n in paywall_nodes))
    teaser = ""
    if container is not None:
        for node in paywall_nodes:
            node.decompose()
        _drop(container, _JUNK, *rules.exclude)
        teaser = strip_trailing_ellipsis(normalise(_block_text(container)))
    # With no article text, what the page does say tells a challenge from an error page.
    page_text = "" if teaser else normalise(tree.body.text(separator=" "))[:2000]
    if reason := _failure(teaser, paywall, rules, title=title, login_form=login, page=page_text):
        return Regions.failed(reason)
    access: Access = "locked" if paywall or declared == "locked" else "free"
    og_title = tree.css_first('meta[property="og:title"]')
    heading = normalise((og_title.attributes.get("content") or "") if og_title else "") or title
    return Regions(teaser, paywall, description, access, title=heading[:300])


def _drop(node: LexborNode, *selectors: str) -> None:
    for selector in selectors:
        for child in node.css(selector):
            child.decompose()


def _failure(
    teaser: str,
    paywall: str,
    rules: ExtractRules,
    *,
    title: str | None,
    login_form: bool,
    page: str = "",
) -> str | None:
    """Why a capture holds no article, or None when it does."""
    folded_title = (title or "").casefold()
    # A challenge page is short; an article that merely mentions "access denied" is not.
    probe = (teaser or page).casefold()
    if any(folded_title.startswith(p) for p in _CHALLENGES) or (
        any(p in probe for p in _CHALLENGES) and word_count(probe) < 60
    ):
        return f"bot challenge or block page ({title or teaser[:60]!r})"
    if paywall:
        return None
    words = word_count(teaser)
    if login_form and words < _LOGIN_WALL_WORDS:
        return f"login wall: a sign-in form and no article text ({title or 'no title'})"
    if title and words < rules.min_words and _ERROR_TITLE.search(title):
        return f"error page: {title!r}"
    if not teaser:
        return "no article text found"
    if words < rules.min_words:
        return f"no article text found (only {words} words, fewer than min_words={rules.min_words})"
    return None


def _block_text(node: LexborNode) -> str:
    """Text of a node with block elements separated by newlines, inline ones joined as written."""
    for block in node.css(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    return node.text(separator="")


def _description(tree: LexborHTMLParser, rules: ExtractRules) -> str:
    for selector in rules.description:
        node = tree.css_first(selector)
        if node is None:
            continue
        value = node.attributes.get("content") if node.tag == "meta" else _block_text(node)
        if value and (text := normalise(value)):
            return text
    return ""


def _paywall_nodes(
    tree: LexborHTMLParser, container: LexborNode | None, rules: ExtractRules
) -> list[LexborNode]:
    for selector in rules.paywall:
        for node in tree.css(selector):
            if normalise(node.text()):
                return [node]
    return _marker_nodes(tree, container, rules)


def _marker_nodes(
    tree: LexborHTMLParser, container: LexborNode | None, rules: ExtractRules
) -> list[LexborNode]:
    """A paywall found by its heading text when no selector matched."""
    body = tree.body
    if body is None:
        return []
    markers = {normalise(m).casefold() for m in rules.markers}
    page = normalise(body.text(separator=" ")).casefold()
    if not any(m in page for m in markers):
        return []
    for node in body.css("h1, h2, h3, h4, h5, h6, p, strong, b, span, div, section, header"):
        if normalise(node.text()).casefold() not in markers:
            continue
        parent = node.parent
        boundary = {body.mem_id} | ({container.mem_id} if container is not None else set())
        if (
            parent is not None
            and parent.tag != "body"
            and parent.mem_id not in boundary
            and word_count(parent.text()) < 120
        ):
            return [parent]
        # The heading sits directly in the article: the notice is what follows it.
        nodes = [node]
        sibling = node.next
        while sibling is not None and len(nodes) < 3:
            if sibling.is_element_node:
                nodes.append(sibling)
            sibling = sibling.next
        return nodes
    return []


def _declared_access(tree: LexborHTMLParser) -> Access | None:
    """What the page says of itself in JSON-LD or `article:content_tier`."""
    declared: Access | None = None
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(script.text())
        except ValueError:
            continue
        for value in _free_flags(data):
            flag = value if isinstance(value, bool) else str(value).strip().lower() == "true"
            if not flag:
                return "locked"
            declared = "free"
    tier = tree.css_first('meta[property="article:content_tier"]')
    if tier is not None:
        value = (tier.attributes.get("content") or "").strip().lower()
        if value in ("locked", "metered"):
            return "locked"
        if value == "free":
            declared = "free"
    return declared


def _free_flags(data: Any) -> Iterator[Any]:
    """Every isAccessibleForFree value anywhere in a JSON-LD document (@graph, hasPart, …)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "isAccessibleForFree" in item:
                yield item["isAccessibleForFree"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
