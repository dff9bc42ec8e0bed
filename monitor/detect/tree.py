"""Walking a parsed page (selectolax's lexbor tree): the matches inside an element, whether
one element is inside another, and words counted as a reader counts them.

Shared by the readings of the article (`article`), its chrome (`chrome`), the notice
(`notice`) and the declared access (`access`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from selectolax.lexbor import LexborNode

from monitor.detect.normalise import word_count

# Chinese and Japanese are written without spaces: about two characters make a word.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def drop(node: LexborNode, *selectors: str) -> None:
    """Remove from `node` every element inside it that matches one of `selectors`."""
    for selector in selectors:
        for child in matches_inside(node, selector):
            child.decompose()


def matches_inside(node: LexborNode, selector: str) -> list[LexborNode]:
    """The matches of `selector` inside `node`. Lexbor's `node.css` also tests the node
    itself: an article container whose own class says `read-more` or `share-buttons` would
    be dropped whole with the chrome it is meant to lose."""
    matches = node.css(selector)
    if _TAGS_ONLY.fullmatch(selector):
        # an element has one tag: listed once, and the node itself first if at all
        return matches[1:] if matches and matches[0].mem_id == node.mem_id else matches
    # Filtered by identity, not by position: lexbor lists an element once for each selector of
    # a list that it matches (prachatai.com's article, by `[class*=author]` and `[class*=promo]`).
    seen = {node.mem_id}
    inside = []
    for match in matches:
        if match.mem_id not in seen:
            seen.add(match.mem_id)
            inside.append(match)
    return inside


# A list of tag names alone ("p, div, span"): no element matches two of them.
_TAGS_ONLY = re.compile(r"[a-z][a-z0-9]*(?:\s*,\s*[a-z][a-z0-9]*)*")


def paragraph_words(node: LexborNode) -> int:
    """The words of a block's paragraphs; of all its text when it has no `<p>` of its own (a
    story written between `<br>`s), the `<p>`s of its footer and side boxes left out."""
    paragraphs = node.css("p")
    if paragraphs:
        words = sum(reader_words(p.text(separator=" ")) for p in paragraphs)
        if words >= FEW_PARAGRAPH_WORDS:
            return words
        # A copyright line in the footer of a story with no <p> must not leave the story's
        # words uncounted: looked at only when the paragraphs say little, most pages never are.
        chrome = {p.mem_id for p in node.css(_CHROME_PARAGRAPHS)}
        if any(p.mem_id not in chrome for p in paragraphs):
            return words - sum(
                reader_words(p.text(separator=" ")) for p in paragraphs if p.mem_id in chrome
            )
    return reader_words(node.text(separator=" "))


# Below this many words of <p> text a block is looked at again for paragraphs that are not
# its text (`_CHROME_PARAGRAPHS`); an article's paragraphs say more.
FEW_PARAGRAPH_WORDS = 50
_CHROME_PARAGRAPHS = "footer p, aside p, nav p, [class*=footer] p"


def is_within(node: LexborNode, ancestor: LexborNode) -> bool:
    """Whether `node` is `ancestor` or inside it."""
    current: LexborNode | None = node
    while current is not None:
        if current.mem_id == ancestor.mem_id:
            return True
        current = current.parent
    return False


def is_within_tags(node: LexborNode, tags: tuple[str, ...]) -> bool:
    """Whether an element around `node` has one of `tags`."""
    current = node.parent
    while current is not None:
        if current.tag in tags:
            return True
        current = current.parent
    return False


def more_words(text: str, limit: int) -> bool:
    """Whether `text` has more than `limit` whitespace-separated words: `len(text.split())`,
    without splitting a long paragraph whole to count past the limit."""
    return len(text.split(None, limit)) > limit


def link_words(node: LexborNode) -> int:
    """How many of a block's words are link text."""
    return sum(word_count(a.text(separator=" ")) for a in node.css("a"))


def reader_words(text: str) -> int:
    """How many words a reader sees in `text`, counting CJK text at two characters a word."""
    if text.isascii():  # most text, and said at once
        return word_count(text)
    cjk = len(_CJK.findall(text))
    return word_count(_CJK.sub(" ", text)) + (cjk + 1) // 2 if cjk else word_count(text)


def ancestors(node: LexborNode, stop: LexborNode) -> Iterator[LexborNode]:
    """The elements between `node` and `stop`, both left out."""
    current = node.parent
    while current is not None and current.mem_id != stop.mem_id:
        yield current
        current = current.parent
