"""Where the article is: the element that holds its text (`container_of`), from the source's
teaser selectors, the page's own article markup, or the densest block of paragraphs, widened to
the pieces and the lede of a story that is split into several blocks.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.detect.normalise import compact, word_count
from monitor.detect.rules import ExtractRules
from monitor.detect.tree import (
    FEW_PARAGRAPH_WORDS,
    ancestors,
    is_within,
    is_within_tags,
    link_words,
    matches_inside,
    paragraph_words,
    reader_words,
)

# Selectors that name any container, not an article's body: checked against the page's text.
_LOOSE_SELECTORS = frozenset({"article", ".article", "main"})
# A page that declares itself one post may hold only a sentence (a podcast, a photo, a video).
SHORT_POST_WORDS = 5
# WordPress numbers its posts (`post-123`); the id test is finished in `_names_post`, since
# `post-prep` or `post-header` name something else.
_POST_ELEMENTS = (
    '[id^="post-"], .hentry, .type-post, [itemtype*="Article"], [itemtype*="BlogPosting"]'
)
_POST_CLASSES = '.hentry, .type-post, [itemtype*="Article"], [itemtype*="BlogPosting"]'
_POST_META = 'meta[property="og:type"][content="article"]'
_POST_TYPES = re.compile(r'"@type"\s*:\s*\[?\s*"(?:\w+)?(?:Article|BlogPosting|Report)"')


def _matches(node: LexborNode, selector: str) -> bool:
    """Whether `node` itself matches `selector`. Lexbor's `css_matches` says yes when any
    element inside it does; its first match, in document order, is the node if it matches."""
    first = node.css_first(selector)
    return first is not None and first.mem_id == node.mem_id


def declares_post(tree: LexborHTMLParser) -> bool:
    """Whether the page says it is one article or post (and not a "not found" page)."""
    body = tree.body
    if body is not None and "error404" in (body.attributes.get("class") or ""):
        return False
    if tree.css_first(_POST_META) is not None or any(map(_names_post, tree.css(_POST_ELEMENTS))):
        return True
    return any(
        _POST_TYPES.search(script.text())
        for script in tree.css('script[type="application/ld+json"]')
    )


def container_of(
    tree: LexborHTMLParser, rules: ExtractRules, floor: int | None = None
) -> LexborNode | None:
    """The element that holds the article's text.

    The first selector with a match that holds at least `min_words` of paragraph text wins,
    and among its matches the one with the most (a promo card or a sidebar `<article>` before
    the story loses). When no selector finds that much, the element whose paragraphs hold the
    most words is taken, as main-content extractors do; failing that, the first non-empty
    match, so that a short locked teaser is still found.
    """
    floor = rules.min_words if floor is None else floor
    own = page_post(tree)
    first: LexborNode | None = None
    dense: LexborNode | None = None
    densest_done = False
    for selector in rules.teaser:
        matches = tree.css(selector)
        if (
            len(matches) == 1
            and selector not in _LOOSE_SELECTORS
            and _candidate(matches[0], own)
            and _holds_paragraph_words(matches[0], rules.min_words)
        ):
            # The one match (so no pieces, and no match inside it) holds an article's worth:
            # it wins whatever its exact count, which a long story need not be read through for.
            return _with_lede(_with_introduction(matches[0]))
        best, best_words = None, 0
        pieces: dict[int, int] = {}  # matches holding text, by the elements above them
        for node in matches:
            if not _candidate(node, own):
                continue
            words = _own_paragraph_words(node, selector)
            if words > best_words:
                best, best_words = node, words
            holder = node.parent if words else None
            # the parent, and the (great-)grandparents of pieces wrapped one by one, or in a
            # layout's row and column each (Ars Technica's grid, an ad row between two)
            for _ in range(_PIECE_HOLDERS):
                if holder is None:
                    break
                pieces[holder.mem_id] = pieces.get(holder.mem_id, 0) + 1
                holder = holder.parent
        # a selector's match must hold a whole article's worth: a short post is found below
        if best is not None and best_words >= rules.min_words:
            if selector not in _LOOSE_SELECTORS:
                # Sibling matches are the article's pieces (the Washington Post makes each
                # paragraph a `div.article-body`; the SF Standard wraps each in a `div` of its
                # own): the article is what holds them all.
                holder = best.parent
                for _ in range(_PIECE_HOLDERS):
                    if holder is None or holder.tag in ("body", "html"):
                        break
                    if pieces.get(holder.mem_id, 0) >= _PIECES:
                        return _with_lede(holder)
                    holder = holder.parent
                return _with_lede(best)
            # `article`, `main` and the like also name cards and boxes: one that the page's
            # densest text lies outside, with far more words, is not the story
            if not densest_done:
                dense, densest_done = _densest(tree, floor), True
            if (
                dense is None
                or is_within(dense, best)
                or paragraph_words(dense) <= 2 * best_words
                or _in_notice(dense, best, rules)
            ):
                return _with_lede(best)
        if first is None and best is not None:
            first = best
    if not densest_done:
        dense = _densest(tree, floor)
    post = _post_element(tree, own)
    # The page names its post, and the densest text lies outside it: a sidebar blurb
    # outweighs a short post.
    if (
        post is not None
        and (dense is None or not is_within(dense, post))
        and paragraph_words(post) >= floor
    ):
        return post
    return dense or first


def _with_introduction(node: LexborNode) -> LexborNode:
    """The element, or what holds it when the paragraphs before it there hold at least
    `_INTRODUCTION` times its own paragraph words: a recipe's introduction and method above
    the short block the page names its article body (Delish's `.article-body`)."""
    parent = node.parent
    if parent is None or parent.tag in ("body", "html"):
        return node
    before = 0
    sibling = node.prev
    while sibling is not None:
        if sibling.is_element_node:
            before += _p_words(sibling)
        sibling = sibling.prev
    # most stories have no paragraph before them there: their own words are then not counted
    return parent if before and before >= _INTRODUCTION * _p_words(node) else node


def _p_words(node: LexborNode) -> int:
    return sum(reader_words(p.text(separator=" ")) for p in node.css("p"))


# Paragraphs before a lone match that hold this many times its words are the article's, and
# the match only its end.
_INTRODUCTION = 2


def _candidate(node: LexborNode, own: str | None) -> bool:
    """Whether a teaser selector's match may hold the article: not a `<meta>` or `<link>`
    (`<meta itemprop="articleBody">`), nor inside a sidebar, a menu or a footer, nor inside
    another post than the page's own (`own`, its WordPress number: a card of more posts)."""
    return (
        node.tag not in ("meta", "link")
        and not is_within_tags(node, ("aside", "nav", "footer"))
        and (own is None or _post_of(node) in (None, own))
    )


def _post_of(node: LexborNode) -> str | None:
    """The number of the WordPress post `node` is in: the nearest numbered one."""
    current: LexborNode | None = node
    while current is not None:
        if (number := _post_number(current)) is not None:
            return number
        current = current.parent
    return None


def page_post(tree: LexborHTMLParser) -> str | None:
    """The number of the post a WordPress page is (`postid-123` in its body's classes)."""
    found = _PAGE_POST.search(tree.body.attributes.get("class") or "") if tree.body else None
    return found.group(1) if found else None


def _holds_paragraph_words(node: LexborNode, floor: int) -> bool:
    """`paragraph_words(node) >= floor`, its paragraphs read only until they say enough."""
    # Past `FEW_PARAGRAPH_WORDS` no paragraph is taken back as chrome: the count only grows.
    enough = max(floor, FEW_PARAGRAPH_WORDS)
    words = 0
    for paragraph in node.css("p"):
        words += reader_words(paragraph.text(separator=" "))
        if words >= enough:
            return True
    return paragraph_words(node) >= floor


def _in_notice(node: LexborNode, article: LexborNode, rules: ExtractRules) -> bool:
    """Whether `node` lies in a paywall notice (a `paywall` selector's match) apart from
    `article`: a long offer beside a short teaser is the notice, not the story. A match that
    holds the article is the article's own container (`<article class="paywall">`)."""
    selectors = ", ".join(rules.paywall)
    if not selectors:
        return False
    holder: LexborNode | None = node
    while holder is not None and holder.tag not in ("body", "html"):
        if _matches(holder, selectors) and not is_within(article, holder):
            return True
        holder = holder.parent
    return False


def _post_element(tree: LexborHTMLParser, own: str | None) -> LexborNode | None:
    """The element the page marks as its post (WordPress `post-N`, hentry, schema.org
    microdata), the one with the most paragraph words; not another post than `own`."""
    best, best_words = None, 0
    for node in tree.css(_POST_ELEMENTS):
        if node.tag in ("meta", "link", "body", "html") or not _names_post(node):
            continue
        if own is not None and _post_number(node) not in (None, own):
            continue  # another post's card ("more from Ilanga"), on this post's page
        words = paragraph_words(node)
        if words > best_words:
            best, best_words = node, words
    return best


def _post_number(node: LexborNode) -> str | None:
    """The number of the WordPress post an element holds (`id="post-123"`, `class="post-123"`)."""
    found = _POST_NUMBER.search(f"{node.id or ''} {node.attributes.get('class') or ''}")
    return found.group(1) if found else None


# WordPress writes a single post's number in the body's classes (`postid-123`) and in its own
# element's id and classes (`post-123`): an element numbered otherwise is another post.
_PAGE_POST = re.compile(r"(?:^|\s)postid-(\d+)(?:\s|$)")
_POST_NUMBER = re.compile(r"(?:^|\s)post-(\d+)(?:\s|$)")


def _names_post(node: LexborNode) -> bool:
    """Whether a match of `_POST_ELEMENTS` names a post: by a class or schema.org type, or
    by WordPress's numbered id."""
    ident = node.id or ""
    return (ident.startswith("post-") and ident[5:].isdigit()) or _matches(node, _POST_CLASSES)


def _own_paragraph_words(node: LexborNode, selector: str) -> int:
    """`paragraph_words` without the paragraphs of the matches of `selector` that `node`
    holds: an `<article>` of related-post cards, each an `<article>`, holds no story of its
    own, and one that wraps the story's `<article>` holds the story's words only once."""
    inner = {match.mem_id for match in matches_inside(node, selector)}
    if not inner:
        return paragraph_words(node)
    return sum(
        reader_words(p.text(separator=" "))
        for p in node.css("p")
        if not any(a.mem_id in inner for a in ancestors(p, node))
    )


# This many sibling matches of a named article selector, each with text, are one article's
# pieces (`container_of`), and so many sibling blocks of one kind around the densest text
# (`_with_pieces`); two may be a story and its summary box.
_PIECES = 3
# How many levels above a match its piece's holder may be.
_PIECE_HOLDERS = 3
# How far above the densest text's block its pieces are looked for: Quanta's sections are
# four levels above the block that holds its paragraphs.
_PIECE_LEVELS = 5


def _densest(tree: LexborHTMLParser, min_words: int) -> LexborNode | None:
    """The element whose own paragraphs hold the most words (half credit to the grandparent,
    so that an article split into sections is taken whole)."""
    body = tree.body
    if body is None:
        return None
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    # Paragraphs credit their parent, and half to the grandparent. Text written straight into
    # a block between <br>s (old table layouts, a <p> the parser closed early, a CMS that makes
    # each paragraph a <div>) is a paragraph that also holds itself: it credits the block too.
    paragraph: tuple[float, ...] = (1.0, 0.5)
    bare: tuple[float, ...] = (1.0, 1.0, 0.5)
    found: list[tuple[LexborNode | None, int, tuple[float, ...]]] = [
        (p.parent, reader_words(p.text(separator=" ")), paragraph) for p in body.css("p")
    ]
    found += [
        (block, reader_words(block.text(deep=False, separator=" ")), bare)
        for block in body.css("td, div, section, article, main")
    ]
    # Paragraphs between <br>s in a <span> (a CMS's "article leader" wrapper) are bare text
    # too; a <span> inside a paragraph is only a run of its words.
    found += [
        (span, reader_words(span.text(deep=False, separator=" ")), bare)
        for span in body.css("span:has(> br)")
        if not is_within_tags(span, ("p",))
    ]
    for holder, words, weights in found:
        if (
            holder is None
            or words < 8
            or is_within_tags(holder, ("aside", "nav", "footer", "header", "form"))
            or holder.tag in ("aside", "nav", "footer", "header", "form")
        ):
            continue
        parent: LexborNode | None = holder
        for weight in weights:
            if parent is None or parent.tag in ("body", "html"):
                break
            scores[parent.mem_id] = scores.get(parent.mem_id, 0.0) + words * weight
            nodes[parent.mem_id] = parent
            parent = parent.parent
    if not scores:
        return None
    best = max(scores, key=lambda k: scores[k])
    if scores[best] < min_words:
        return None
    return _with_lede(_with_pieces(_with_split_text(nodes[best])))


def _with_pieces(node: LexborNode) -> LexborNode:
    """The element, or what holds it and its sibling pieces when the article is cut into
    blocks of one kind (the same tag and class) with figures and asides between them
    (Quanta's `div.acf-content` sections): at least `_PIECES` of them, each with a
    paragraph's worth of text, holding nearly all the paragraph text of what holds them.
    Another story's block (an `<article>`, or one with an `<h1>` of its own: an infinite
    scroll's next story) is not a piece."""
    current = node
    for _ in range(_PIECE_LEVELS):
        parent = current.parent
        if parent is None or parent.tag in ("body", "html"):
            break
        if kind := current.attributes.get("class"):
            pieces = [
                child
                for child in parent.iter(include_text=False)
                if child.tag == current.tag and child.attributes.get("class") == kind
            ]
            if len(pieces) >= _PIECES and all(p.css_first("article, h1") is None for p in pieces):
                words = [paragraph_words(piece) for piece in pieces]
                if (
                    min(words) >= FEW_PARAGRAPH_WORDS
                    and sum(words) * 10 >= paragraph_words(parent) * 9
                ):
                    return parent
        current = parent
    return node


def _with_lede(node: LexborNode) -> LexborNode:
    """The element, or what holds it when the article's first paragraphs stand before it in
    blocks of their own: the New York Times and the Washington Post put the lede in a block
    of the body's class and the rest in another, with a photo or a sidebar between; the
    Telegraph wraps each of the first five paragraphs in a `div` of its own. A lede block is
    a block of the element's own tag and class (not another story: no `<h1>` of its own) or,
    when there are `_PIECES` of them, a block that wraps one paragraph alone (one alone is the
    standfirst); each with few links. Together with the element (or a wrapper that holds
    nothing else) they hold nearly all the paragraph text of what holds them. The blocks
    beside the pieces are marked (`ASIDE`) on the holder's own children."""
    current = node
    for _ in range(_LEDE_LEVELS):
        parent = current.parent
        if parent is None or parent.tag in ("body", "html"):
            return node
        before: list[LexborNode] = []
        after: list[LexborNode] = []
        side = before
        for child in parent.iter(include_text=False):
            if child.mem_id == current.mem_id:
                side = after
            elif child.tag != "-comment":
                side.append(child)
        kind = current.attributes.get("class")
        # a piece of the element's own kind may hold the story's own boxes; one with a
        # headline of its own is another story
        pieces = [
            child
            for child in (*before, *after)
            if kind
            and child.tag == current.tag
            and child.attributes.get("class") == kind
            and child.css_first("h1") is None
        ]
        kept = {current.mem_id, *(piece.mem_id for piece in pieces)}
        earlier = {child.mem_id for child in before}
        lede = sum(_lede_words(piece) for piece in pieces if piece.mem_id in earlier)
        wrapped = [
            (child, words)
            for child in before
            if child.mem_id not in kept
            and _wraps_paragraph(child)
            and (words := _lede_words(child))
        ]
        # one wrapped paragraph before the story is its standfirst, not its lede
        if len(wrapped) >= _PIECES:
            lede += sum(words for _, words in wrapped)
            kept.update(child.mem_id for child, _ in wrapped)
        if lede >= _LEDE_WORDS:
            # counted only now, with a lede in sight: most pages have none
            held = paragraph_words(node) + lede
            if held * 20 < paragraph_words(parent) * 17:
                return node
            # What stands between the pieces (a photo, a sidebar of other stories' headlines)
            # is not the story's: marked, and left out of its text (`extract_html`).
            for child in (*before, *after):
                if child.mem_id not in kept:
                    child.attrs[ASIDE] = ""
            return parent
        if any((child.text(separator=" ") or "").strip() for child in (*before, *after)):
            return node  # not a wrapper of the element alone: the lede is not further up
        current = parent
    return node


def _lede_words(node: LexborNode) -> int:
    """A block's paragraph words if it may be a piece of a lede (a byline or a caption says
    less; a block of links is no story), else 0."""
    words = paragraph_words(node)
    return words if words >= _LEDE_BLOCK_WORDS and 2 * link_words(node) < words else 0


# Marks the blocks beside a story's pieces (`_with_lede`), which its text leaves out.
ASIDE = "data-monitor-aside"
# A lede block says at least this much (a byline or a caption says less), and the lede at
# least a paragraph's worth; wrappers of the element alone are looked through this far.
_LEDE_BLOCK_WORDS = 8
_LEDE_WORDS = 20
_LEDE_LEVELS = 3


def _wraps_paragraph(node: LexborNode) -> bool:
    """Whether `node` is a block that holds one paragraph and no other text (an empty ad
    slot or an image beside it says nothing)."""
    if node.tag not in ("div", "section"):
        return False
    paragraphs = [c for c in node.iter(include_text=False) if c.tag == "p"]
    if len(paragraphs) != 1:
        return False
    return compact(node.text(separator=" ")) == compact(paragraphs[0].text(separator=" "))


def _with_split_text(node: LexborNode) -> LexborNode:
    """The element, or its parent when the article's text is split between them: paragraphs
    beside the element (a metered site wraps all but the first in its cut-point `<span>`) and
    little else."""
    parent = node.parent
    if parent is None or parent.tag in ("body", "html"):
        return node
    beside = [
        child
        for child in parent.iter(include_text=False)
        if child.tag == "p" and child.mem_id != node.mem_id
    ]
    if not any(word_count(p.text(separator=" ")) >= 8 for p in beside):
        return node
    inside = paragraph_words(node)
    return parent if paragraph_words(parent) <= inside * 5 // 4 else node
