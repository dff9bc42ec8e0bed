"""Turn a capture's text into regions: teaser, paywall notice, description and access state.

Pure: text and rules in, `Regions` out. A capture with no recognisable article (error page,
login wall, bot challenge, empty body) gives `access == "unknown"` with the reason in `error`;
that is an extraction failure, never a change of content. The one state kept between readings
is a cache of notices' texts by their markup (`_NOTICE_TEXTS`), which changes no answer.

An HTML page is read in this order (`extract_html`): what is never text goes (`chrome`), the
article's element is found (`article`), then what the page declares of its access (`access`)
and its paywall notice (`notice`); a digest of what the rest reads may end the reading there;
else the notice and the chrome inside the article are taken out and the teaser is what is left.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import urllib.parse
from typing import overload

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.detect.access import declared_access
from monitor.detect.address import is_home_path
from monitor.detect.article import ASIDE, SHORT_POST_WORDS, container_of, declares_post
from monitor.detect.capture import Capture, Format, decode, html_source, sniff_format
from monitor.detect.chrome import (
    CONTROLS,
    EMPTIED,
    HIDDEN,
    JUNK,
    NOTICE_CHROME,
    drop_captions,
    drop_chrome_blocks,
    drop_headlines,
    drop_inner_chrome,
    drop_sign_in_forms,
    drop_site_headers,
    empty_matches,
    strip_lead,
)
from monitor.detect.normalise import normalise, strip_trailing_ellipsis, word_count
from monitor.detect.notice import (
    declared_trailer,
    declared_wording,
    form_wall,
    in_dialog,
    in_site_menu,
    link_wall,
    notice_trailer,
    notices_of,
)
from monitor.detect.reading import code_key
from monitor.detect.regions import Access, Regions
from monitor.detect.rules import ExtractRules
from monitor.detect.tree import drop, is_within, is_within_tags, reader_words

# A sign-in page can carry some prose; an article with a login form in its sidebar has more.
_LOGIN_WALL_WORDS = 150
# A challenge page says little beyond its instructions.
_CHALLENGE_WORDS = 60
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
# Markup that only a challenge page holds (Cloudflare's, PerimeterX's).
_CHALLENGE_SELECTORS = (
    "#challenge-form, #cf-challenge-running, .cf-browser-verification, #px-captcha"
)
# A CAPTCHA widget: what a challenge page asks, but also what an article's comment, share by
# email, newsletter or sign-in form holds; so it marks a challenge only on a page with no
# article's worth of text.
_CAPTCHA_SELECTORS = ".g-recaptcha, .h-captcha"
_ERROR_TITLE = re.compile(
    r"\b(?:404|403|410|500|502|503|not found|page not found|error|forbidden|unavailable)\b", re.I
)
# A title that says the page is missing, not merely that something failed ("Error rates
# fall" is a headline): on a page that does not declare itself an article, the text of a
# "not found" page (an apology, a search box's words) may run past `min_words`.
_NOT_FOUND_TITLE = re.compile(r"\b(?:404|not found)\b", re.I)
_ERROR_PAGE_WORDS = 100
# WordPress's class for its "not found" template, on <body>.
_NOT_FOUND_BODY = re.compile(r"\berror404\b")
# What a short maintenance, outage or country block page says, served with 200.
_OUTAGES = (
    "down for maintenance",
    "under maintenance",
    "undergoing maintenance",
    "scheduled maintenance",
    "performing maintenance",
    "performing some maintenance",
    "we'll be back soon",
    "we’ll be back soon",
    "temporarily unavailable",
    # a site that shuts out the readers of some countries (the GDPR's) with a page of its own
    "not available in your country",
    "unavailable in your country",
    "not available in your region",
    "unavailable in most european countries",
)


@overload
def extract(capture: Capture, rules: ExtractRules) -> Regions: ...
@overload
def extract(capture: Capture, rules: ExtractRules, unless: str | None) -> Regions | None: ...
def extract(capture: Capture, rules: ExtractRules, unless: str | None = None) -> Regions | None:
    """Regions of a capture; raises `CaptureError` only when its bytes cannot be decoded.

    `unless`: the digest of an earlier reading (`Regions.digest`); None is returned, and the
    text is not read, when this page's digest is the same: it reads as that one did.
    """
    fmt: Format = sniff_format(capture)
    if fmt == "html":
        return extract_html(html_source(capture), rules, unless, url=capture.url)
    return extract_text(decode(capture, fmt), rules)


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


@overload
def extract_html(text: str | bytes, rules: ExtractRules, *, url: str | None = None) -> Regions: ...
@overload
def extract_html(
    text: str | bytes, rules: ExtractRules, unless: str | None, *, url: str | None = None
) -> Regions | None: ...
def extract_html(
    text: str | bytes, rules: ExtractRules, unless: str | None = None, *, url: str | None = None
) -> Regions | None:
    """Regions of an HTML page: its text, or its UTF-8 bytes (`html_source`); None when its
    digest is `unless` (see `extract`). `url`: where it was read from, if known (a page that
    says it is its site's home page is no article found there: `_home_canonical`)."""
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = normalise(title_node.text()) if title_node else ""
    if tree.body is None:
        return Regions.failed("empty page: no <body>")
    description = _description(tree, rules)
    # First, as it leaves the fewest elements for every query after it to walk: a site's menus
    # can be most of its page (300 links), and a challenge page, a login wall's form or a
    # CAPTCHA is never in a menu or an icon.
    empty_matches(tree.body, EMPTIED)
    if tree.css_first(_CHALLENGE_SELECTORS) is not None:
        return Regions.failed(f"bot challenge page ({title or 'no title'})")
    # a sign-in form in the site's menus, or in its sign-in dialog, is on every page of it
    login = any(not (in_site_menu(n) or in_dialog(n)) for n in tree.css('input[type="password"]'))
    captcha = tree.css_first(_CAPTCHA_SELECTORS) is not None
    drop(tree.body, HIDDEN)
    post = declares_post(tree)
    if url is not None and not post and (home := _home_canonical(tree, url)):
        return Regions.failed(
            f"the page at this address says it is the site's home page (canonical {home}), "
            "not an article: the article may have been taken down"
        )
    not_found = _NOT_FOUND_BODY.search(tree.body.attributes.get("class") or "") is not None
    floor = rules.min_words
    if floor == ExtractRules.min_words and post:
        floor = SHORT_POST_WORDS  # a podcast or photo post: a sentence is its whole text
    container = container_of(tree, rules, floor)
    declared = declared_access(tree, container)
    paywall_nodes, walled = notices_of(tree, container, rules, declared)
    # what the page declares outranks a class name
    marked_only = walled and declared is None
    if marked_only:
        declared = "locked"
    if not paywall_nodes and declared == "locked" and container is not None:
        paywall_nodes = form_wall(tree, container) or link_wall(tree, container)
    og_title = _og_title(tree)
    digest = None
    if container is not None:
        # `marked_only` too: the article's markup is the same whether the page or only its
        # paywall class says it is locked, and the reading (locked or metered) is not
        facts = (title, og_title, description, floor, post, declared, marked_only, login, captcha)
        digest = _digest(facts, rules, container, paywall_nodes)
        if unless is not None and digest == unless:
            return None
    # A notice read before (a site's is the same on every page of it) is not cleaned again:
    # it goes with the container, or stays beside it, where only a page with no teaser reads
    # it (`page_text`), and it is cleaned then.
    uncleaned = None  # such a notice, beside the container
    key = _notice_key(paywall_nodes, container)
    if key is not None and (known := _NOTICE_TEXTS.get(key)) is not None:
        paywall = known
        if container is None or not is_within(paywall_nodes[0], container):
            uncleaned = paywall_nodes[0]
    else:
        paywall = normalise("\n".join(_notice_text(n) for n in paywall_nodes))
        if key is not None:
            if len(_NOTICE_TEXTS) >= _NOTICES_KEPT:
                _NOTICE_TEXTS.clear()
            _NOTICE_TEXTS[key] = paywall
    teaser = ""
    if container is not None:
        for node in paywall_nodes:
            if is_within(node, container):
                node.decompose()
        # the headline is the page's title, shown with every change; the teaser is the text
        drop_site_headers(container)
        # only the container's own children: a reading `container_of` did not take (the densest
        # block, weighed against a selector's match) may have marked others
        for child in list(container.iter(include_text=False)):
            if child.tag != "-comment" and ASIDE in child.attrs:
                child.decompose()
        drop(container, JUNK, *rules.exclude)
        drop_headlines(container, (title, og_title))
        drop_inner_chrome(container)
        drop_chrome_blocks(container)
        drop_captions(container, floor)
        teaser = strip_trailing_ellipsis(normalise(_block_text(container)))
        teaser = strip_lead(teaser, (title, og_title))
        if paywall:
            teaser, trailer = notice_trailer(teaser)
            if trailer:
                paywall = f"{paywall}\n{trailer}"
        elif declared == "locked" and not marked_only:
            teaser, paywall = declared_trailer(teaser, declared_wording(tree))
    if not teaser and uncleaned is not None:
        _notice_text(uncleaned)  # as a notice read for the first time would be
    # With no article text, what the page does say tells a challenge from an error page.
    page_text = "" if teaser else normalise(tree.body.text(separator=" "))[:2000]
    if reason := _failure(
        teaser,
        paywall,
        rules,
        title=title,
        login_form=login,
        captcha=captcha,
        page=page_text,
        floor=floor,
        article=post,
        not_found=not_found,
    ):
        return Regions.failed(reason)
    access: Access = "free"
    if paywall:
        access = "locked"
    elif declared == "locked":  # by the page, or (`marked_only`) by its paywall class alone
        access = "metered" if marked_only else "locked"
    heading = og_title or title
    # With no teaser the page's whole text decides (`_failure`), which the digest leaves out.
    kept = digest if teaser else None
    return Regions(teaser, paywall, description, access, title=heading[:300], digest=kept)


# Marks the container and the notices while they are written out for the digest, so that
# where each notice sits (inside the container, or around it) is in the digest too.
_MARK = "data-monitor-digest"


def _digest(
    facts: tuple[object, ...],
    rules: ExtractRules,
    container: LexborNode,
    notices: list[LexborNode],
) -> str | None:
    """A digest of everything the rest of `extract_html` reads once the container and the
    notices are found: what was learnt from the whole page (`facts`: the titles, the
    description, the declared access and whether only a paywall class says it, the word
    floor, the sign-in and CAPTCHA forms), the container and the notices as markup, each
    element's ancestors (tags and attributes: a rule may ask for an ancestor, "inside a
    paragraph", ".dark .byline"), the rules and this code. Chrome elsewhere on the page (a
    ticker, a menu, a related-links rail) is not in it, so a page whose chrome changes on
    every request reads the same without its text being read again.

    None when no digest can be exact: rules whose `exclude` looks at siblings or positions
    (`+`, `~`, a pseudo-class), which elements outside these may decide; an element that
    already carries the mark; this code's own files unreadable.
    """
    prefix = _prefix(rules)
    nodes = [container, *notices]
    marked = {node.mem_id for node in nodes}
    if prefix is None or len(marked) < len(nodes) or any(_MARK in node.attrs for node in nodes):
        return None
    for index, node in enumerate(nodes):
        node.attrs[_MARK] = str(index)
    try:
        digest = hashlib.blake2b(prefix, digest_size=16)
        digest.update(repr(facts).encode("utf-8", "surrogatepass"))
        for node in nodes:
            digest.update(b"\x00")
            digest.update((node.html or "").encode("utf-8", "surrogatepass"))
            digest.update(repr(_ancestry(node, marked)).encode("utf-8", "surrogatepass"))
    finally:
        for node in nodes:
            del node.attrs[_MARK]
    return digest.hexdigest()


def _ancestry(node: LexborNode, marked: set[int]) -> list[object]:
    """The tags and attributes of `node`'s ancestors, up to the root or to the nearest marked
    one, whose own markup and ancestors are in the digest already."""
    chain: list[object] = []
    current = node.parent
    while current is not None:
        if current.mem_id in marked:
            chain.append(current.attrs.get(_MARK))
            break
        chain.append((current.tag, current.attributes))
        current = current.parent
    return chain


@functools.cache
def _prefix(rules: ExtractRules) -> bytes | None:
    """This code's and the rules' part of every digest made with `rules`; None when the rules'
    `exclude` selectors look at more than an element and its ancestors (siblings, positions),
    or the code cannot be told from another (`reading.code_key`)."""
    code = code_key()
    if code is None or any(ch in selector for selector in rules.exclude for ch in "+~:"):
        return None
    return f"{code}\x00{rules!r}\x00".encode("utf-8", "surrogatepass")


def _home_canonical(tree: LexborHTMLParser, url: str) -> str | None:
    """The page's canonical address when it is the home page of the site of `url`, which is
    not that home page itself.

    A publisher that takes an article down may serve its front page at the article's address
    with no redirect (WIRED's review, Hookem's story): read as an article, its teasers would be
    reported as the article rewritten. Asked only of a page that does not say it is an
    article (`declares_post`): some sites give every article the home page as its canonical
    address by mistake (the Daily Star's), and say `og:type` "article" all the same.
    """
    node = tree.css_first('link[rel~="canonical" i][href]')
    href = "" if node is None else (node.attributes.get("href") or "").strip()
    page = urllib.parse.urlsplit(url)
    if not href or not page.hostname or is_home_path(page.path):
        # No canonical address, a capture read from a file, or a source that is the home page
        # ("/", "/index.html", an edition "/?edition=uk"; a WordPress post's "/?p=123" too,
        # left alone).
        return None
    try:
        home = urllib.parse.urlsplit(urllib.parse.urljoin(url, href))
    except ValueError:  # an address that is no URL ("http://[broken")
        return None
    if not is_home_path(home.path) or home.query or _site(home.hostname) != _site(page.hostname):
        return None
    return urllib.parse.urlunsplit(home)


def _site(host: str | None) -> str | None:
    return host.removeprefix("www.") if host else None


def _og_title(tree: LexborHTMLParser) -> str:
    node = tree.css_first('meta[property="og:title"]')
    return normalise((node.attributes.get("content") or "") if node else "")


def _failure(
    teaser: str,
    paywall: str,
    rules: ExtractRules,
    *,
    title: str | None,
    login_form: bool,
    captcha: bool = False,
    page: str = "",
    floor: int | None = None,
    article: bool = False,
    not_found: bool = False,
) -> str | None:
    """Why a capture holds no article, or None when it does; `floor` is the fewest words of
    article text (`min_words` unless the page declares itself a post), `article` whether the
    page declares itself one, `not_found` whether its markup says it is a "not found" page."""
    floor = rules.min_words if floor is None else floor
    folded_title = (title or "").casefold()
    # A challenge page is short; an article that merely mentions "access denied" is not.
    probe = (teaser or page).casefold()
    if any(folded_title.startswith(p) for p in _CHALLENGES) or (
        any(p in probe for p in _CHALLENGES) and word_count(probe) < _CHALLENGE_WORDS
    ):
        return f"bot challenge or block page ({title or (teaser or page)[:60]!r})"
    if (
        not (paywall or article)
        and any(p in probe for p in _OUTAGES)
        and word_count(probe) < _CHALLENGE_WORDS
    ):
        # not on an article's page: a short locked teaser may tell of a road "under
        # maintenance"
        return f"maintenance, outage or country block page ({title or (teaser or page)[:60]!r})"
    if paywall:
        if login_form and not teaser and not article:
            # A sign-in page whose form is worded like a wall ("Log in or create an account
            # to continue"): its words are a notice, but there is no article behind it.
            return f"login wall: a sign-in form and no article text ({title or 'no title'})"
        return None
    words = reader_words(teaser)  # a reader's words: CJK text is one run of word characters
    if captcha and words < _CHALLENGE_WORDS:
        return f"bot challenge page: a CAPTCHA and no article text ({title or 'no title'})"
    if login_form and words < _LOGIN_WALL_WORDS:
        return f"login wall: a sign-in form and no article text ({title or 'no title'})"
    if title and words < rules.min_words and _ERROR_TITLE.search(title):
        return f"error page: {title!r}"
    if not article and (
        not_found or (title and words < _ERROR_PAGE_WORDS and _NOT_FOUND_TITLE.search(title))
    ):
        return f"error page: {title!r}" if title else 'error page: a "not found" page'
    if not teaser:
        return "no article text found"
    if words < floor:
        noun = "word" if words == 1 else "words"
        return f"no article text found (only {words} {noun}, fewer than min_words={floor})"
    return None


def _notice_text(node: LexborNode) -> str:
    """A notice's text, its sign-in forms, controls and chrome taken out of the tree first."""
    drop_sign_in_forms(node)
    drop(node, CONTROLS, NOTICE_CHROME)
    drop_chrome_blocks(node, link_lists=False)
    return _block_text(node)


# The text of the notices read lately (`paywall`), by `_notice_key`: a pass reads many pages
# of a site, whose notice is the same on each, and cleaning it costs a tenth of a reading.
_NOTICE_TEXTS: dict[tuple[str, bool], str] = {}
_NOTICES_KEPT = 128
# A notice of more markup than this is read each time (a paywall class on a whole story).
_NOTICE_CHARS = 20_000


def _notice_key(notices: list[LexborNode], container: LexborNode | None) -> tuple[str, bool] | None:
    """What cleaning the page's one notice reads: its markup, and whether a `<p>` holds it (a
    date line's `<span>` inside a paragraph is part of it: `chrome._dated_block`). None for
    several notices, a notice of more than `_NOTICE_CHARS`, and one that holds the container,
    whose cleaning takes chrome out of the article too."""
    if len(notices) != 1:
        return None
    node = notices[0]
    if container is not None and is_within(container, node):
        return None
    markup = node.html or ""
    if len(markup) > _NOTICE_CHARS:
        return None
    return markup, is_within_tags(node, ("p",))


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
