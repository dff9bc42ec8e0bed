"""Pure variant generator for the article-page corpus.

Given a saved page (``str``) and its truth entry (``dict`` from ``truth.json``),
:func:`make_variants` returns edited copies of the page, each tagged with the set
of change kinds a correct monitor should report:

* chrome edits (``expect`` empty): nothing a reader would call the article's
  teaser, paywall notice, description or access state changed;
* ``teaser_edit`` -> ``{"teaser_rewritten"}``;
* ``description_edit`` -> ``{"description_changed"}`` (pages with a description);
* ``notice_edit`` -> ``{"paywall_changed"}`` (pages with a notice);
* ``unlock`` -> ``{"access_changed"}`` (locked pages).

Every edit is a string edit on the page text, so the rest of the page stays
byte-identical. Element positions are found with selectolax (lexbor) and mapped
back to the source text by matching the element's opening tag.
"""

from __future__ import annotations

import gzip
import html as htmllib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

HERE = Path(__file__).resolve().parent

TEASER = "teaser_rewritten"
DESCRIPTION = "description_changed"
PAYWALL = "paywall_changed"
ACCESS = "access_changed"

_NO_CHANGE: frozenset[str] = frozenset()
# The variant of a page's own changing text (`volatile` in its truth), scored apart from the
# generated chrome edits.
VOLATILE = "own_volatile"


@dataclass(frozen=True)
class Variant:
    """One edited copy of a page and the change kinds it should trigger."""

    name: str
    html: str
    expect: frozenset[str]


# --------------------------------------------------------------------------- loading

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)


def declared_charset(data: bytes) -> str | None:
    """Return the charset a page declares in its first 4 KiB, if any."""
    m = _CHARSET_RE.search(data[:4096])
    return m.group(1).decode("ascii").lower() if m else None


def decode_page(data: bytes) -> str:
    """Decode page bytes: UTF-8 unless the page declares another (known) charset."""
    cs = declared_charset(data)
    if cs and cs.replace("_", "-") not in ("utf-8", "utf8"):
        try:
            return data.decode(cs, errors="replace")
        except LookupError:
            pass
    return data.decode("utf-8", errors="replace")


def load_corpus(folder: Path | None = None) -> list[tuple[dict[str, Any], str]]:
    """Read every ``truth*.json`` and every gzip page they list, relative to this module.

    The truth is split over several files so that pages can be added by more than one person
    at a time without editing the same file.
    """
    base = folder or HERE
    entries: list[dict[str, Any]] = []
    for truth in sorted(base.glob("truth*.json")):
        entries.extend(json.loads(truth.read_text(encoding="utf-8")))
    out: list[tuple[dict[str, Any], str]] = []
    for entry in entries:
        data = gzip.decompress((base / entry["file"]).read_bytes())
        out.append((entry, decode_page(data)))
    return out


# --------------------------------------------------------------------------- locating

_SCRIPT_BLOCK_RE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_SKIP_BLOCK_RE = re.compile(r"<(script|style|textarea|pre)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)


def body_start(src: str) -> int:
    m = re.search(r"<body\b[^>]*>", src, re.I)
    return m.end() if m else 0


def _body_end(src: str) -> int:
    i = src.lower().rfind("</body")
    return i if i >= 0 else len(src)


def _signature(node: LexborNode) -> tuple[str, re.Pattern[str]]:
    """A CSS selector and an opening-tag regex that identify ``node``'s kind."""
    tag = node.tag or "div"
    attrs = node.attributes
    ident = attrs.get("id")
    if ident:
        pat = rf"""<{tag}\b[^>]*?\bid\s*=\s*["']?{re.escape(ident)}(?=["'\s/>])"""
        return f'{tag}[id="{ident}"]', re.compile(pat, re.I | re.S)
    classes = (attrs.get("class") or "").split()
    if classes:
        looks = "".join(
            rf"""(?=[^>]*?\bclass\s*=\s*["'][^"']*(?<![\w-]){re.escape(c)}(?![\w-]))"""
            for c in classes
        )
        css = tag + "".join(f'[class~="{c}"]' for c in classes)
        return css, re.compile(rf"<{tag}\b{looks}", re.I | re.S)
    return tag, re.compile(rf"<{tag}\b", re.I)


def _same(a: LexborNode, b: LexborNode) -> bool:
    return a.mem_id == b.mem_id


def open_tag_start(src: str, tree: LexborHTMLParser, node: LexborNode) -> int | None:
    """Offset in ``src`` of ``node``'s opening tag (``None`` when not found)."""
    css, pat = _signature(node)
    try:
        peers = tree.css(css)
    except Exception:  # odd class names the CSS engine rejects
        peers = [node]
    index = next((i for i, p in enumerate(peers) if _same(p, node)), 0)
    hits = [m.start() for m in pat.finditer(src)]
    if not hits:
        return None
    if len(hits) == len(peers):
        return hits[index]
    return hits[min(index, len(hits) - 1)]


def element_span(src: str, start: int, tag: str) -> tuple[int, int]:
    """``(start, end)`` of the element whose opening tag starts at ``start``."""
    gt = src.find(">", start)
    if gt < 0:
        return start, len(src)
    pos = gt + 1
    if src[gt - 1] == "/" or tag.lower() in {"img", "br", "hr", "meta", "link", "input"}:
        return start, pos
    tok = re.compile(rf"<(/?){tag}\b[^>]*>|<!--.*?-->|<script\b.*?</script\s*>", re.I | re.S)
    depth = 1
    for m in tok.finditer(src, pos):
        text = m.group(0)
        skip = text.startswith("<!--") or text.lower().startswith("<script")
        if skip and tag.lower() != "script":
            continue
        if m.group(1):
            depth -= 1
            if depth == 0:
                return start, m.end()
        elif not text.endswith("/>"):
            depth += 1
    return start, _body_end(src)


def region(src: str, selector: str | None) -> tuple[int, int] | None:
    """Source span of the first element matching ``selector``."""
    if not selector:
        return None
    tree = LexborHTMLParser(src)
    node = tree.css_first(selector)
    if node is None:
        return None
    start = open_tag_start(src, tree, node)
    if start is None:
        return None
    return element_span(src, start, node.tag or "div")


def inner_start(src: str, span: tuple[int, int]) -> int:
    """Offset just after the opening tag of the element at ``span``."""
    return src.find(">", span[0]) + 1


def _text_segments(src: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Spans of text nodes (outside tags, scripts, styles, pre, comments) in [lo, hi)."""
    blocked = [(m.start(), m.end()) for m in _SKIP_BLOCK_RE.finditer(src, lo, hi)]
    segs: list[tuple[int, int]] = []
    # from the `>` that ends the tag before `lo`, if any: text right after an element's
    # opening tag is a text node too (The Paper's story starts bare after `<body>`'s)
    start = lo - 1 if lo > 0 and src[lo - 1] == ">" else lo
    for m in re.finditer(r">([^<]+)<", src[start:hi]):
        a, b = start + m.start(1), start + m.end(1)
        if any(x <= a < y for x, y in blocked):
            continue
        segs.append((a, b))
    return segs


def _splice(src: str, a: int, b: int, new: str) -> str:
    return src[:a] + new + src[b:]


# --------------------------------------------------------------------------- text edits

_REPLACEMENT_WORDS = ["zebra", "quantum", "lantern", "orchard", "velvet"]
_CJK_REPLACEMENT = "斑马量子灯笼"


def _is_cjk(text: str) -> bool:
    return sum(1 for ch in text if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af") > 3


def replace_words(src: str, lo: int, hi: int, phrase: str, count: int = 3) -> str | None:
    """Replace ``count`` words of ``phrase`` where they appear in text nodes of [lo, hi).

    Words are looked up in the raw text as the reader would see them; entity-encoded
    text is matched through a decoded view of each text node.
    """
    phrase = " ".join(phrase.split())
    if not phrase:
        return None
    segments = list(_text_segments(src, lo, hi))
    if _is_cjk(phrase):
        # The text node holding the longest start of the phrase: a photo caption or a summary
        # before the story can repeat its first characters (Chunichi, Nikkei, Hankook Ilbo).
        # Characters compared with any whitespace between them (Korean puts spaces between
        # words); the first four are replaced.
        chars = [re.escape(ch) for ch in phrase.replace(" ", "")]
        for length in range(min(len(chars), 24), 3, -1):
            start = re.compile(
                "(" + r"\s*".join(chars[:4]) + ")" + "".join(r"\s*" + ch for ch in chars[4:length])
            )
            for a, b in segments:
                if m := start.search(src, a, b):
                    return _splice(src, m.start(1), m.end(1), _CJK_REPLACEMENT[:4])
        return None
    # prefer the text node holding the whole phrase: a dek can repeat its first words (ajmc)
    words = phrase.split(" ")
    n = min(count, len(words))
    whole = re.compile(r"\s+".join(re.escape(w) for w in words))
    for a, b in segments:
        m = whole.search(src[a:b])
        if m:
            lead = re.compile(r"\s+".join(re.escape(w) for w in words[:n]))
            head = lead.match(src, a + m.start())
            if head:
                new = " ".join(_REPLACEMENT_WORDS[:n])
                if words[n - 1].endswith((",", ".", ":", ";")):
                    new += words[n - 1][-1]
                return _splice(src, head.start(), head.end(), new)
    for a, b in segments:
        raw = src[a:b]
        words = phrase.split(" ")
        n = min(count, len(words))
        for first in range(0, len(words) - n + 1):
            chunk = " ".join(words[first : first + n])
            pat = re.compile(r"\s+".join(re.escape(w) for w in chunk.split(" ")))
            m = pat.search(raw)
            if m:
                new = " ".join(_REPLACEMENT_WORDS[:n])
                if chunk.endswith((",", ".", ":", ";")):
                    new += chunk[-1]
                return _splice(src, a + m.start(), a + m.end(), new)
    return None


# --------------------------------------------------------------------------- chrome edits

_COOKIE = (
    '<div class="cookie-banner" role="dialog" aria-label="Cookie consent">'
    "<span>We use cookies to improve your experience and to show you relevant ads.</span> "
    '<button type="button">Accept all</button> <a href="/privacy">Manage choices</a></div>'
)
_AD = '<div class="ad-slot" id="div-gpt-ad-1700000000-3"><ins data-ad-slot="4417"></ins></div>'
_RELATED = ["Ten things to know this week", "What the new rules mean for you", "Inside the race"]


def _related_block(order: list[str]) -> str:
    items = "".join(
        f'<li><a href="/read-more/{i}?ref=rel">{h}</a></li>' for i, h in enumerate(order)
    )
    return f'<aside class="related-links"><h3>Read more</h3><ul>{items}</ul></aside>'


def _append_query(url: str, param: str) -> str:
    if url.startswith(("javascript:", "mailto:", "#", "data:")):
        return url
    frag = ""
    if "#" in url:
        url, frag = url.split("#", 1)
        frag = "#" + frag
    return url + ("&amp;" if "?" in url else "?") + param + frag


def _query_strings(src: str, lo: int, hi: int) -> str | None:
    part = src[lo:hi]
    pat = re.compile(r"""(<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*)(["'])([^"']*)\2""", re.I)
    # markup inside scripts (document.write share buttons) is script text, not a link
    scripts = [(m.start(), m.end()) for m in _SCRIPT_BLOCK_RE.finditer(part)]

    def sub(m: re.Match[str]) -> str:
        if any(a <= m.start() < b for a, b in scripts):
            return m.group(0)
        return m.group(1) + m.group(2) + _append_query(m.group(3), "utm_source=rss") + m.group(2)

    new, n = pat.subn(sub, part)
    return src[:lo] + new + src[hi:] if n and new != part else None


_TO_ENTITY = {
    "’": "&rsquo;",
    "‘": "&lsquo;",
    "“": "&ldquo;",
    "”": "&rdquo;",
    "—": "&mdash;",
    "–": "&ndash;",
    "\u00a0": "&nbsp;",
    "é": "&eacute;",
    "…": "&hellip;",
}
_FROM_ENTITY = {v: k for k, v in _TO_ENTITY.items()}


def _entity_swap(src: str, lo: int, hi: int) -> str | None:
    """Literal characters <-> named entities in text nodes; the text reads the same."""
    out = src
    changed = False
    for a, b in reversed(_text_segments(src, lo, hi)):
        raw = out[a:b]
        new = raw
        for ent, ch in _FROM_ENTITY.items():
            new = new.replace(ent, ch)
        if new == raw:
            for ch, ent in _TO_ENTITY.items():
                new = new.replace(ch, ent)
        if new != raw:
            out = _splice(out, a, b, new)
            changed = True
    if changed:
        return out
    for a, b in _text_segments(src, lo, hi):  # plain ASCII text: encode one letter
        m = re.search(r"[A-Za-z]", src[a:b])
        if m:
            k = a + m.start()
            return _splice(src, k, k + 1, f"&#{ord(src[k])};")
    return None


def _curly_quotes(src: str, lo: int, hi: int) -> str | None:
    out = src
    for a, b in reversed(_text_segments(src, lo, hi)):
        raw = out[a:b]
        new = re.sub(r"(?<=\w)'(?=\w)", "’", raw)
        new = re.sub(r'"([^"<>]{1,80})"', r"“\1”", new)
        if new == raw:
            new = raw.replace("’", "'").replace("“", '"').replace("”", '"')
        if new != raw:
            out = _splice(out, a, b, new)
    return out if out != src else None


def _reflow(src: str, lo: int, hi: int) -> str | None:
    part = src[lo:hi]
    keep = [(m.start(), m.end()) for m in _SKIP_BLOCK_RE.finditer(part)]
    pieces: list[str] = []
    last = 0
    for m in re.finditer(r">(\s*)<", part):
        if any(x <= m.start() < y for x, y in keep):
            continue
        pieces.append(part[last : m.start() + 1])
        ws = m.group(1)
        pieces.append("\n  " if ws != "\n  " else "\n")
        last = m.end() - 1
    pieces.append(part[last:])
    new = "".join(pieces)
    return src[:lo] + new + src[hi:] if new != part else None


def _first_match(src: str, pat: str, lo: int = 0, hi: int | None = None) -> re.Match[str] | None:
    return re.compile(pat, re.I | re.S).search(src, lo, len(src) if hi is None else hi)


def _outside_spans(src: str, body: tuple[int, int] | None) -> list[tuple[int, int]]:
    b0 = body_start(src)
    b1 = _body_end(src)
    if body is None:
        return [(b0, b1)]
    return [(b0, body[0]), (body[1], b1)]


def _chrome_outside(src: str, body: tuple[int, int] | None) -> list[Variant]:
    out: list[Variant] = []
    b0, b1 = body_start(src), _body_end(src)
    head_end = src.lower().find("</head")
    head_end = head_end if head_end >= 0 else b0

    # cache-buster / nonce on a script or stylesheet URL in the head
    m = _first_match(
        src, r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*(["'])([^"']+)\1""", 0, head_end
    )
    if m:
        new = _splice(src, m.start(2), m.end(2), _append_query(m.group(2), "cb=8f14e45f"))
    else:
        new = _splice(
            src, head_end, head_end, '<script nonce="r4nd0mN0nc3">window.__cb="8f14e45f";</script>'
        )
    out.append(Variant("cache_buster", new, _NO_CHANGE))

    # navigation menu: add an entry to the first nav-like element outside the body element
    spans = _outside_spans(src, body)
    new = None
    nav_re = re.compile(r"<(nav|ul|div)\b([^>]*)>", re.I)
    for lo, hi in spans:
        for m in nav_re.finditer(src, lo, hi):
            tag, attrs = m.group(1).lower(), m.group(2).lower()
            if tag != "nav" and not re.search(r"nav|menu", attrs):
                continue
            item = '<a href="/sections/climate">Climate</a> '
            if tag == "ul":
                item = '<li><a href="/sections/climate">Climate</a></li>'
            new = _splice(src, m.end(), m.end(), item)
            break
        if new:
            break
    if new is None:
        nav = '<nav class="site-nav"><a href="/sections/climate">Climate</a></nav>'
        new = _splice(src, b0, b0, nav)
    out.append(Variant("nav_change", new, _NO_CHANGE))

    # footer
    footer_re = r"""<footer\b[^>]*>|<div\b[^>]*\b(?:id|class)\s*=\s*["'][^"']*footer"""
    m = _first_match(src, footer_re, body[1] if body else b0, b1)
    note = '<p class="footer-note">© 2031 Example Media Group. Terms updated.</p>'
    if m:
        k = src.find(">", m.start()) + 1
        new = _splice(src, k, k, note)
    else:
        new = _splice(src, b1, b1, f'<footer class="site-footer">{note}</footer>')
    out.append(Variant("footer_change", new, _NO_CHANGE))

    # cookie banner right after <body>
    out.append(Variant("cookie_banner", _splice(src, b0, b0, _COOKIE), _NO_CHANGE))

    # ad slot: renumber an existing slot outside the body element, else add one before </body>
    new = None
    for lo, hi in spans:
        m = _first_match(src, r"""\bdata-(?:ycad-|ad-)?slot\s*=\s*["']?(\d+)""", lo, hi)
        if m:
            new = _splice(src, m.start(1), m.end(1), str(int(m.group(1)) + 7))
            break
    out.append(Variant("ad_slot_change", new or _splice(src, b1, b1, _AD), _NO_CHANGE))

    # whitespace reflow between tags, head only
    new = _reflow(src, 0, head_end) if head_end > 0 else None
    if new:
        out.append(Variant("whitespace_reflow_head", new, _NO_CHANGE))

    # curly vs straight quotes in chrome text (after the body element, else before it)
    for lo, hi in reversed(spans):
        new = _curly_quotes(src, lo, hi)
        if new:
            out.append(Variant("curly_quotes_chrome", new, _NO_CHANGE))
            break

    # a <time> outside the body element: new date
    for lo, hi in spans:
        m = _first_match(src, r"<time\b[^>]*>(.*?)</time\s*>", lo, hi)
        if m:
            new = _splice(src, m.start(1), m.end(1), "January 2, 2031")
            out.append(Variant("date_change_outside", new, _NO_CHANGE))
            break
    return out


def _chrome_inside(
    src: str, body: tuple[int, int], avoid: tuple[int, int] | None = None
) -> list[Variant]:
    out: list[Variant] = []
    lo, hi = inner_start(src, body), body[1]
    close = src.rfind("<", lo, hi)  # the container's closing tag
    close = close if close >= lo else hi

    # an "Updated ..." line (or a changed <time>) inside the container
    m = _first_match(src, r"<time\b[^>]*>.*?</time\s*>", lo, close)
    stamp = '<time datetime="2031-03-04T09:12:00Z">Updated March 4, 2031, 9:12 a.m.</time>'
    if m:
        new = _splice(src, m.start(), m.end(), stamp)
    else:
        new = _splice(src, lo, lo, f'<div class="article-updated">{stamp}</div>')
    out.append(Variant("updated_line", new, _NO_CHANGE))

    # rotated "Read more" block at the end of the container
    rotated = _RELATED[1:] + _RELATED[:1]
    new = _splice(src, close, close, _related_block(rotated))
    out.append(Variant("related_rotated", new, _NO_CHANGE))

    # share / comment counts
    counts = (
        '<div class="share-bar"><span class="share-count">1,284 shares</span> '
        '<a class="comment-count" href="#comments">57 comments</a></div>'
    )
    m = _first_match(src, r"\b(\d{1,6})\s+(shares|comments|Kommentare|commentaires)\b", lo, close)
    if m:
        new = _splice(src, m.start(1), m.end(1), str(int(m.group(1)) + 13))
    else:
        new = _splice(src, close, close, counts)
    out.append(Variant("share_counts", new, _NO_CHANGE))

    # query strings on links and images inside the container
    new = _query_strings(src, lo, close)
    if new is None:  # no links inside: add a tracking pixel with a cache-busted URL
        pixel = '<img class="px" src="/px.gif?r=93821" alt="" width="1" height="1">'
        new = _splice(src, close, close, pixel)
    out.append(Variant("link_query_strings", new, _NO_CHANGE))

    # entities vs literal characters in the article text
    new = _entity_swap(src, lo, close)
    if new:
        out.append(Variant("entity_swap", new, _NO_CHANGE))

    # an ad slot between paragraphs (never inside the paywall notice)
    k = close
    for m in re.finditer(r"</p\s*>", src[lo:close], re.I):
        at = lo + m.end()
        if not (avoid and avoid[0] <= at < avoid[1]):
            k = at
            break
    out.append(Variant("ad_in_body", _splice(src, k, k, _AD), _NO_CHANGE))

    # whitespace reflow between tags inside the container
    new = _reflow(src, lo, close)
    if new:
        out.append(Variant("whitespace_reflow_body", new, _NO_CHANGE))
    return out


# --------------------------------------------------------------------------- article edits

_DESC_META_RE = re.compile(r"<meta\b[^>]*>", re.I | re.S)
_ATTR_RE = re.compile(r"""([\w:.-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.S)


def _description_edit(src: str) -> str | None:
    out = src
    for m in reversed(list(_DESC_META_RE.finditer(src))):
        tag = m.group(0)
        attrs = {k.lower(): v for k, v in _ATTR_RE.findall(tag)}
        key = (attrs.get("name") or attrs.get("property") or "").strip("\"'").lower()
        if key not in {"description", "og:description"}:
            continue
        cm = re.search(r"""\bcontent\s*=\s*("([^"]*)"|'([^']*)')""", tag, re.I | re.S)
        if not cm:
            continue
        old = cm.group(2) if cm.group(2) is not None else cm.group(3)
        new_val = "Revised summary: " + old.strip()
        start = m.start() + cm.start(2 if cm.group(2) is not None else 3)
        end = m.start() + cm.end(2 if cm.group(2) is not None else 3)
        out = _splice(out, start, end, new_val)
    return out if out != src else None


_NOT_FREE_RE = re.compile(r"""("isAccessibleForFree"\s*:\s*)("?)(false|False|FALSE)\2""")
_TIER_RE = re.compile(
    r"""(<meta\b[^>]*article:content_tier[^>]*content\s*=\s*["'])(locked|metered)(["'])"""
    r"""|(<meta\b[^>]*content\s*=\s*["'])(locked|metered)(["'][^>]*article:content_tier)""",
    re.I,
)


def _unlock(src: str, truth: dict[str, Any]) -> str:
    out = src
    # the notice, then what else says it (`unlock_also`: a second line of the same notice
    # elsewhere on the page), each removed in turn
    for selector in (truth.get("notice_selector"), *truth.get("unlock_also", ())):
        span = region(out, selector)
        if span:
            out = out[: span[0]] + out[span[1] :]
    out = _NOT_FREE_RE.sub(lambda m: m.group(1) + m.group(2) + "true" + m.group(2), out)

    def tier(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1) + "free" + m.group(3)
        return m.group(4) + "free" + m.group(6)

    return _TIER_RE.sub(tier, out)


def make_variants(src: str, truth: dict[str, Any]) -> list[Variant]:
    """All variants of ``src`` for the truth entry ``truth``."""
    body = region(src, truth.get("body_selector"))
    variants = _chrome_outside(src, body)
    if body:
        variants += _chrome_inside(src, body, region(src, truth.get("notice_selector")))

    if truth.get("first_words") and body:
        new = replace_words(src, inner_start(src, body), body[1], truth["first_words"])
        if new:
            variants.append(Variant("teaser_edit", new, frozenset({TEASER})))

    if truth.get("description"):
        new = _description_edit(src)
        if new:
            variants.append(Variant("description_edit", new, frozenset({DESCRIPTION})))

    if truth.get("notice"):
        span = region(src, truth.get("notice_selector"))
        if span:
            new = replace_words(src, inner_start(src, span), span[1], truth["notice"])
            if new:
                variants.append(Variant("notice_edit", new, frozenset({PAYWALL})))

    # The page's own text that differs between two requests (a relative time, a count of
    # views, an "updated" time) as its truth lists it: each first spelling after <body>
    # replaced by the next request's; nothing in the article changed.
    if truth.get("volatile"):
        new = src
        for old, replacement in truth["volatile"]:
            at = new.find(old, body_start(new))
            if at < 0:
                raise ValueError(f"volatile text {old!r} is not in the page's body")
            new = new[:at] + replacement + new[at + len(old) :]
        variants.append(Variant(VOLATILE, new, _NO_CHANGE))

    # A page that shows no article text at all (first_words null) has nothing to unlock into
    # by a string edit: without its notice it holds no article, a failed check, not a change.
    if truth.get("access") == "locked" and truth.get("first_words"):
        variants.append(Variant("unlock", _unlock(src, truth), frozenset({ACCESS})))
    return variants


def text_of(src: str, selector: str | None) -> str:
    """Whitespace-normalised text of the first element matching ``selector``."""
    if not selector:
        return ""
    node = LexborHTMLParser(src).css_first(selector)
    if node is None:
        return ""
    return " ".join(htmllib.unescape(node.text(separator=" ")).split())
