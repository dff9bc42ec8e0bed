"""The paywall notice: the element that tells a reader the rest is for subscribers
(`notices_of`), found by the source's selectors, the paywall systems' own markup
(`KNOWN_NOTICES`), a marker, or its wording in the page's language; and, on a page declared
locked with no such element, the form or links that stand in for one.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.detect.normalise import normalise, word_count
from monitor.detect.regions import Access
from monitor.detect.rules import ExtractRules
from monitor.detect.tree import (
    is_within,
    is_within_tags,
    matches_inside,
    more_words,
    paragraph_words,
    reader_words,
)

# Notices of the paywall and membership systems in common use, beyond the configured selectors.
KNOWN_NOTICES = (
    "#steady-paywall, .steady-paywall-container, .leaky_paywall_message_wrap, "
    ".gh-post-upgrade-cta, .post-upgrade-cta, [data-testid=paywall], .paywall-notice, "
    ".paywall-prompt, .paywall-message, .subscriber-only-notice, .premium-notice, "
    ".members-only-notice, #poool-widget, .pelcro-paywall, .zephr-paywall, .piano-paywall, "
    ".tp-container-inner, .laterpay-purchase-button, .memberful-paywall"
)
# An element the page names the paywall (Börsen-Zeitung's `storefront-section#paywall`); around
# the article or its first paragraph, it marks the text instead (`notices_of`). Looked for
# on its own, last: in the list above an id costs every page 9 µs, on its own 5, and only pages
# whose notice no class names pay even that.
_NAMED_PAYWALL = "#paywall"
# The paywall's class written in camel case on the article's text (Salzburger Nachrichten's
# `div.articleText.articlePaywall`): it marks the page as `.paywall` there does.
_CAMEL_PAYWALL = "[class*=Paywall]"
_NO_PAYWALL = re.compile(r"(?i)(?:no|non|without)[-_]?paywall|paywall[-_]?(?:free|off|none)")
# A notice is a few sentences; a block with more words than this is article text.
_NOTICE_WORDS = 150
# What a paywall notice says when no selector or configured marker finds it, searched for in
# lower-cased text (`says_notice`). One pattern a phrase, each starting with its own words,
# which the regex engine finds by a fast substring search: a single case-insensitive pattern
# behind a word boundary was tried at every position of the page (0.8 ms on a 20,000-character
# page, against 0.2).
_NOTICE_WORDING = tuple(
    re.compile(pattern)
    for pattern in (
        r"to read the full (?:story|article)",
        r"to continue reading,? please (?:(?:log ?in|sign in) or )?subscribe",
        r"subscribe to (?:continue|read|keep reading|view)",
        r"this (?:article|content|story) is (?:reserved|available|only available) (?:for|to) "
        r"(?:our )?(?:subscribers|members)",
        r"members[- ]only",
        r"subscribers[- ]only",
        r"already a (?:subscriber|member)\?",
        r"become a (?:member|subscriber) to (?:read|continue)",
        # registration walls
        r"log in or (?:create (?:a free |an )?account|register|sign up) to "
        r"(?:continue|keep reading|read)",
        r"sign in or (?:create (?:a free |an )?account|register|sign up) to "
        r"(?:continue|keep reading|read)",
        r"create (?:a free |an )?account to (?:continue|keep) reading",
        r"register to (?:continue|keep) reading",
        r"sign up to (?:continue|keep) reading",
        # "the rest": an article stands beside it (a sign-in page's own prompt says less)
        r"(?:sign|log) ?in to read the rest of (?:this|the) (?:article|story)",
        # academic publishers' walls (Springer Nature, Elsevier, Wiley, Taylor & Francis)
        r"access through your (?:institution|organi[sz]ation)",
        # not "sign in to continue reading": a sign-in page says it, and with no article
        # beside it that page is a login wall, a failed check
    )
)
# The same sentences in German, French, Spanish, Italian, Portuguese and Dutch, not the badges
# that mark subscriber articles in lists of links; each starts with its own words, as above. A
# page is searched for those of the language it declares (`<html lang>`), or, declaring none
# of these, for all: every phrase is one more pass over the page's text.
_NOTICE_WORDING_BY_LANGUAGE = {
    language: tuple(re.compile(pattern) for pattern in patterns)
    for language, patterns in {
        "de": (
            r"dieser (?:artikel|beitrag|inhalt) ist (?:nur |exklusiv )?für (?:abonnent|mitglied)",
            r"der (?:artikel|beitrag|inhalt) ist (?:nur |exklusiv )?für (?:abonnent|mitglied)",
            r"bereits (?:abonnent|abonniert|kunde|kundin|mitglied)(?:in)?\s?\?",
            r"diesen artikel (?:erwerben|kaufen|freischalten)",
        ),
        "fr": (
            r"la suite est réservée? (?:aux|à nos) abonnés",
            r"cet article est réservée? (?:aux|à nos) abonnés",
            r"ce contenu est réservée? (?:aux|à nos) abonnés",
            r"déjà abonnée?\s?\?",
            r"abonnez-vous pour (?:lire|continuer|poursuivre)",
        ),
        "es": (
            r"este (?:artículo|contenido) es exclusivo para (?:suscriptores|socios|abonados)",
            r"el (?:artículo|contenido) es exclusivo para (?:suscriptores|socios|abonados)",
            r"ya eres (?:suscriptor|socio|abonado)\s?\?",
            r"suscríbete para (?:seguir leyendo|leer|continuar)",
        ),
        "it": (
            r"questo articolo è riservato agli abbonati",
            r"il contenuto è riservato agli abbonati",
            r"sei già abbonato\s?\?",
        ),
        "pt": (
            r"este (?:conteúdo|artigo) é exclusivo para assinantes",
            r"o (?:conteúdo|artigo) é exclusivo para assinantes",
            r"já é assinante\s?\?",
        ),
        "nl": (
            r"dit artikel is alleen voor abonnees",
            r"deze inhoud is alleen voor abonnees",
            r"al abonnee\s?\?",
        ),
    }.items()
}
_NOTICE_WORDING_OTHER = tuple(p for ps in _NOTICE_WORDING_BY_LANGUAGE.values() for p in ps)
# Japanese walls: "this article is (paid) members only", "(register and) read on"; Japanese is
# written without spaces, so these need no word boundary.
_NOTICE_WORDING_ANYWHERE = (
    # "this article is for (paying) members", "this article is a paid article" (Mainichi)
    re.compile(r"この記事は(?:(?:有料)?会員限定|有料記事)"),
    re.compile(r"続きをお読みいただけます"),
)
_ALL_WORDING = (*_NOTICE_WORDING, *_NOTICE_WORDING_OTHER, *_NOTICE_WORDING_ANYWHERE)
# Looked for only on a page that declares itself locked and shows no notice the phrases above
# find: there they read as its wall. On other pages they say something else: a sign-in page's
# prompt ("sign in to continue reading"), the badge on a list of links or an article's own
# sentence about a members-only event ("会員限定"). An edited wall keeps the rest of its words
# (Chunichi's "この記事は会員限定です。" with "この記事" reworded is still "…は会員限定です。").
_DECLARED_WORDING = (re.compile(r"(?:sign|log) ?in to (?:continue|keep) reading"),)
_DECLARED_WORDING_ANYWHERE = (
    re.compile(r"会員限定"),
    re.compile(r"ログインして続き"),
)
# And by the language a page declares. Hindi: Dainik Bhaskar's app wall ("read the full story in
# the Dainik Bhaskar app", "if you have a premium membership, log in"), which an app's banner
# on a free page may say too.
_DECLARED_WORDING_BY_LANGUAGE = {
    "hi": (re.compile(r"पूरी खबर .{0,40}?ऐप पर"), re.compile(r"प्रीमियम मेंबरशिप")),
}
_ANYWHERE = frozenset((*_NOTICE_WORDING_ANYWHERE, *_DECLARED_WORDING_ANYWHERE))


def notice_trailer(teaser: str) -> tuple[str, str]:
    """The teaser of a page with a notice, and the lines at its end that read like the notice
    ("Il vous reste 57% de cet article à lire. La suite est réservée aux abonnés."): a wall
    that also writes a line under the cut text, with no class that marks it."""
    lines = teaser.split("\n")
    cut = len(lines)
    while cut > 1 and not more_words(lines[cut - 1], 60):
        if not (reader_words(lines[cut - 1]) <= 60 and says_notice(lines[cut - 1])):
            break
        cut -= 1
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


# How many of the article's last lines may hold a wall that its page's markup does not mark.
_TRAILER_LINES = 4


def declared_trailer(teaser: str, phrases: tuple[re.Pattern[str], ...]) -> tuple[str, str]:
    """The teaser of a page that declares itself locked and shows no notice, and the wall at
    its end: from the first of its last few short lines that says a notice's words (with the
    broader wording of a locked page) to the end. Dainik Bhaskar draws its app wall inside
    the article, after the text it holds back, with its QR code and buttons."""
    lines = teaser.split("\n")
    cut = len(lines)
    for at in range(len(lines) - 1, max(0, len(lines) - _TRAILER_LINES) - 1, -1):
        if at == 0 or more_words(lines[at], 60):
            break
        if says_notice(lines[at]) or _notice_wording(lines[at], phrases):
            cut = at
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def notices_of(
    tree: LexborHTMLParser,
    container: LexborNode | None,
    rules: ExtractRules,
    declared: Access | None = None,
) -> tuple[list[LexborNode], bool]:
    """The notice's elements, and whether a paywall class sits on the article text itself.

    A `.paywall` class is often put on the container of the article's own text (the site then
    hides part of it): that marks the page as behind a paywall, but it is not the notice. On a
    page that declares itself free, a paywall block inside a dialog is an offer kept ready for
    something else (commenting, a newsletter), not a notice over the article. On a page that
    declares itself locked, broader wording finds the notice (`_DECLARED_WORDING`).
    """
    walled = False
    for selector in (*rules.paywall, KNOWN_NOTICES, _NAMED_PAYWALL, _CAMEL_PAYWALL):
        matches = _camel_marks(container) if selector == _CAMEL_PAYWALL else tree.css(selector)
        # A class put on the article's paragraphs marks the part a reader without access would
        # not see (Wired's `p.paywall`): the other blocks inside the article that carry it
        # (an inset card) are more of that part, not the notice.
        marks_text = container is not None and any(
            node.tag == "p" and is_within(node, container) for node in matches
        )
        for node in matches:
            text = normalise(node.text(separator=" "))
            if not text:
                continue
            if (declared == "free" and in_dialog(node)) or _about_comments(node, container):
                continue
            if selector == _CAMEL_PAYWALL and _NO_PAYWALL.search(
                node.attributes.get("class") or ""
            ):
                continue  # `noPaywall`, `paywallFree`: the class says there is none
            if container is not None and (
                is_within(container, node)
                or (
                    is_within(node, container)
                    # a paragraph, or the cut part of one (ABC's `span.paywall`), or a block
                    # that holds where the article's text begins (The West Australian's
                    # `div.paywall` around the story and its notice)
                    and (
                        node.tag == "p"
                        or marks_text
                        or is_within_tags(node, ("p",))
                        or _holds_first_paragraph(node, container)
                        or _holds_the_text(node, text, container)
                    )
                )
            ):
                walled = True  # on the article, or on a paragraph of it
                continue
            if node.tag == "article" or selector == _CAMEL_PAYWALL:
                # another article's card, marked as for subscribers (Sermitsiaq); a class that
                # only holds the word marks the article's text, and names no notice
                continue
            if word_count(text) > _NOTICE_WORDS:
                continue
            return [node], walled
    body = tree.body
    if body is None:
        return [], walled
    # Both look at the whole page's text first: read and normalised once, for both.
    page = normalise(body.text(separator=" "))
    return (
        _marker_nodes(body, page, container, rules)
        # a paywall class on the article says locked as a declaration does
        or _worded_nodes(
            body, page, container, _page_wording(tree), "locked" if walled else declared
        )
        or (
            _phrase_nodes(body, page, container, declared_wording(tree))
            if declared == "locked"
            else []
        )
    ), walled


def _camel_marks(container: LexborNode | None) -> list[LexborNode]:
    """The matches of `_CAMEL_PAYWALL` that can mark the page: the container, what holds it
    and what it holds (one elsewhere names no notice either). Not the whole page's walk:
    every reading pays for this query, and it concerns a few pages."""
    if container is None:
        return []
    around = []
    current: LexborNode | None = container
    while current is not None and current.is_element_node:
        if "Paywall" in (current.attributes.get("class") or ""):
            around.append(current)
        current = current.parent
    return around + matches_inside(container, _CAMEL_PAYWALL)


def _holds_the_text(node: LexborNode, text: str, container: LexborNode) -> bool:
    """Whether `node` holds more words than a notice has and most of the article's paragraph
    words: the story's body below a standfirst the class leaves out (Salzburger Nachrichten's
    `div.articlePaywall` after its `p.vorspann`)."""
    return more_words(text, _NOTICE_WORDS) and 2 * paragraph_words(node) > paragraph_words(
        container
    )


def _holds_first_paragraph(node: LexborNode, container: LexborNode) -> bool:
    """Whether the article's first paragraph (its first `<p>` of eight words or more) lies
    in `node`, inside `container`: a class there marks the article's text, not a notice
    beside it.

    Looked for from `node` back: no such paragraph in what comes before it in the article,
    and one in it. A notice after the story stops at the story's last paragraph, where
    listing every paragraph of the article cost each such page's reading 12 µs."""
    current: LexborNode | None = node
    while current is not None and current.mem_id != container.mem_id:
        sibling = current.prev
        while sibling is not None:
            if sibling.is_element_node and _has_long_paragraph(sibling):
                return False
            sibling = sibling.prev
        current = current.parent
    return _has_long_paragraph(node)


def _has_long_paragraph(node: LexborNode) -> bool:
    """Whether `node` is or holds a `<p>` of eight words or more. Its first `<p>` says so
    for most blocks of a story, without listing them all."""
    if node.tag == "p":
        return _long_paragraph(node)
    first = node.css_first("p")
    if first is None:
        return False
    return _long_paragraph(first) or any(map(_long_paragraph, node.css("p")[1:]))


def _long_paragraph(paragraph: LexborNode) -> bool:
    """Whether a `<p>` holds eight words or more. A prefix never holds more words than the
    whole, so a long paragraph is told by its start."""
    text = paragraph.text(separator=" ")
    return reader_words(text[:120]) >= 8 or reader_words(text) >= 8


def form_wall(tree: LexborHTMLParser, container: LexborNode) -> list[LexborNode]:
    """The block beside the article that holds a sign-in form, on a page that says it is
    locked and shows no notice known by its class or wording: there the form is the wall's
    way in, whatever its heading says (The Australian's "Login to read the rest of this
    article" over its login forms, reworded). Without this, the page read as a login wall: a
    failed check where the notice had changed.

    The block is the form's ancestor just below the element it shares with the article; a
    form in the article itself, in the site's menus or in the comments is not one."""
    for password in tree.css('input[type="password"]'):
        if in_site_menu(password) or is_within(password, container):
            continue
        block = password
        while block.parent is not None and not is_within(container, block.parent):
            block = block.parent
        words = word_count(normalise(block.text(separator=" ")))
        if words <= _NOTICE_WORDS and not _about_comments(block, container):
            return [block]
    return []


# A wall's two ways in, said as its links' whole text (English: `link_wall`)
_SIGN_IN_LINK = re.compile(r"(?i)(?:sign|log) ?in")
_SUBSCRIBE_LINK = re.compile(r"(?i)subscribe(?: now| today)?")


def link_wall(tree: LexborHTMLParser, container: LexborNode) -> list[LexborNode]:
    """The box in the article holding a "Subscribe" and a "Sign in" link, on an English page
    that says it is locked and shows no notice known by its class or wording: the wall's
    ways in, where the story stops, whatever its heading says (the WSJ's "To Read the Full
    Story" over its two buttons, reworded). Without this, the reworded heading read as more
    teaser. Outside the article such links are the site's account bar or the comments' wall
    (The Telegraph's "You need to be a subscriber to join the conversation").

    The box is the links' largest ancestor that holds no paragraph of eight words or more
    (a paragraph of the article) and is not the article itself."""
    body = tree.body
    if body is None or _language(tree) not in ("", "en"):
        return []
    for link in body.css("a"):
        if not _SIGN_IN_LINK.fullmatch(normalise(link.text(separator=" "))):
            continue
        if in_site_menu(link) or not is_within(link, container):
            continue
        box = link
        while (
            (parent := box.parent) is not None
            and parent.tag not in ("body", "html")
            and parent.mem_id != container.mem_id
            and not _has_long_paragraph(parent)
        ):
            box = parent
        offers = (normalise(a.text(separator=" ")) for a in box.css("a"))
        if (
            any(map(_SUBSCRIBE_LINK.fullmatch, offers))
            and word_count(normalise(box.text(separator=" "))) <= _NOTICE_WORDS
            and not _about_comments(box, container)
        ):
            return [box]
    return []


def in_site_menu(node: LexborNode) -> bool:
    """Whether `node` sits in the site's header or menus: a sign-in form there is on every
    page of the site, article or not; a login wall puts its form in the page. The header is
    an element's tag, or a word of its id (The Australian's `#header-nav-login-lightbox`)."""
    current = node.parent
    while current is not None and current.tag not in ("body", "html"):
        if current.tag in ("header", "nav"):
            return True
        classes = (current.attributes.get("class") or "").lower()
        if "navbar" in classes or "dropdown" in classes or "menu" in classes:
            return True
        ident = current.id
        if ident and not _SITE_MENU_ID.isdisjoint(_ID_WORD.findall(ident.lower())):
            return True
        current = current.parent
    return False


# Words of an id that name the site's header or its menus (`in_site_menu`).
_SITE_MENU_ID = frozenset(("header", "nav", "navbar", "menu", "masthead"))
_ID_WORD = re.compile(r"[a-z]+")


def in_dialog(node: LexborNode) -> bool:
    """Whether `node` lies in a dialog: `<dialog>`, its roles, `aria-modal`, a `modal` class."""
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        attrs = current.attributes
        classes = (attrs.get("class") or "").lower().split()
        if (
            current.tag == "dialog"
            or attrs.get("role") in ("dialog", "alertdialog")
            or attrs.get("aria-modal") == "true"
            or any(c == "modal" or c.startswith("modal-") for c in classes)
        ):
            return True
        current = current.parent
    return False


# Words of an id or class that name a layer a script shows over the page.
_OVERLAY_NAMES = frozenset({"overlay", "popup", "lightbox", "modal"})


def _in_overlay(node: LexborNode) -> bool:
    """Whether `node` lies in a layer a script shows over the page when it decides to: an
    element whose id or class has the word overlay, popup, lightbox or modal, or a dialog.
    Found by its wording alone on a page that does not say it is locked, such a layer is an
    offer kept ready (the Washington Post's "To keep reading, please enter your email
    address" over a whole article, for an A/B test its own settings had switched off), not
    a wall that stands in for the article."""
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        names = f"{current.id or ''} {current.attributes.get('class') or ''}".lower()
        if _OVERLAY_NAMES.intersection(_ID_WORD.findall(names)):
            return True
        current = current.parent
    return in_dialog(node)


def _worded_nodes(
    body: LexborNode,
    page: str,
    container: LexborNode | None,
    phrases: tuple[re.Pattern[str], ...],
    declared: Access | None,
) -> list[LexborNode]:
    """`_phrase_nodes`, but not a layer kept for a script to show (`_in_overlay`) on a page
    that does not say it is locked."""
    found = _phrase_nodes(body, page, container, phrases)
    if declared != "locked" and any(map(_in_overlay, found)):
        return []
    return found


def _phrase_nodes(
    body: LexborNode,
    page: str,
    container: LexborNode | None,
    phrases: tuple[re.Pattern[str], ...],
) -> list[LexborNode]:
    """The smallest block of a sentence or more whose text reads like a paywall notice (a
    larger one would take in the chrome around it); `page` is the body's normalised text,
    `phrases` the wording looked for (`_page_wording`)."""
    # Most pages say none of it: one look at the whole text spares a look at every block.
    wording = _notice_wording(page, phrases)
    if not wording:
        return []
    found: list[LexborNode] = []
    for node in body.css("div, section, aside, p"):
        raw = node.text(separator=" ")
        if more_words(raw, 3 * 60):  # far too long for a notice, whatever normalising does
            continue
        text = normalise(raw)
        # a block says only what the page says: only the page's phrases are looked for
        if not _notice_wording(text, wording) or not 5 <= reader_words(text) <= 60:
            continue
        if container is not None and is_within(container, node):
            continue
        if _in_page_footer(node, container):
            continue
        if found and is_within(node, found[-1]):
            found[-1] = node  # the smallest block that says it
        else:
            found.append(node)
    # a wall over the comments holds back the comments, not the article
    found = [node for node in found if not _about_comments(node, container)]
    if not found:
        return []
    best = _wall_of(found, container)
    # The sentence sits in the notice's box with its buttons and offers ("Members only", a
    # price): take the box, as long as it stays notice-sized and is not the article. Inside
    # the article, a box that opens with the sentence may list its offers at more length
    # (Chunichi's wall): what follows a wall's first words there is the wall, what comes before
    # them may be the article. Outside it, such a box may be a side column under the notice.
    text = normalise(best.text(separator=" "))
    while (parent := best.parent) is not None and parent.tag not in ("body", "html"):
        if container is not None and is_within(container, parent):
            break
        around = normalise(parent.text(separator=" "))
        words = reader_words(around)
        if words > 60 and not (
            words <= _NOTICE_WORDS
            and container is not None
            and is_within(parent, container)
            and around.startswith(text)
        ):
            break
        best, text = parent, around
    return [best]


# Words of the article's text between two blocks that say the same notice wording, beyond which
# the later one is where the text stops (`_wall_of`).
_WALL_AFTER_WORDS = 50


def _wall_of(found: list[LexborNode], container: LexborNode | None) -> LexborNode:
    """Of the blocks that say a notice's words, in the page's order, the wall: the first,
    unless a later one stands in the article after some of its text. The same words before
    the text are the site's access bar (ScienceDirect's header offers "Access through your
    organization" above the title; its access box says it again after the introduction,
    where the text stops)."""
    first = found[0]
    if container is None:
        return first
    later = {node.mem_id for node in found[1:] if is_within(node, container)}
    if not later:
        return first
    words = 0
    start = 0  # where the first block stands in the article's text: 0 when before the article
    for node in container.traverse(include_text=True):
        if node.mem_id == first.mem_id:
            start = words
        elif node.mem_id in later:
            if words - start >= _WALL_AFTER_WORDS:
                return node
        elif (
            node.tag == "-text"
            and node.parent is not None
            and node.parent.tag not in ("script", "style")
        ):
            words += len((node.text_content or "").split())
    return first


def _about_comments(node: LexborNode, container: LexborNode | None) -> bool:
    """Whether `node` is (or lies in) a block its class or id names as the comments: a wall
    there holds back the readers' comments, not the article (Le Monde's
    `section#js-paywall-comments`). Looked for below the article and what wraps it, not in
    their own names."""
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        # the article, or a wrapper of it too (`has-comments` on the page's layout), is no
        # comments block
        if container is not None and is_within(container, current):
            return False
        names = f"{current.id or ''} {current.attributes.get('class') or ''}"
        if "omment" in names and _COMMENTS.search(names):
            return True
        current = current.parent
    return False


# "comments", "comment-form", "paywall__comments", not "commentary" (an opinion section).
_COMMENTS = re.compile(r"(?i)(?<![a-z])comments?(?![a-z])")


def _in_page_footer(node: LexborNode, container: LexborNode | None) -> bool:
    """Whether `node` lies in the page's footer (not an article's own): its promos, and the
    layers kept there for scripts to show (El País's sign-up layer, hidden by a class of its
    stylesheet), are no wall over the article."""
    current = node.parent
    while current is not None:
        if current.tag == "footer":
            if container is not None and is_within(current, container):
                return False
            return not is_within_tags(current, ("article",))
        current = current.parent
    return False


def says_notice(text: str) -> bool:
    """Whether `text` holds notice wording: a phrase in English or another European language
    that starts a word (in any case), or a Japanese one anywhere. The browser asks it too, of
    the text of a frame or a shadow root, which a page's HTML lacks."""
    return bool(_notice_wording(text))


# The class the browser gives the copy of a notice it found in a frame or a shadow root by its
# wording: one of `KNOWN_NOTICES`, so that no page pays for one more selector.
FOUND_NOTICE = "paywall-notice"


def _notice_wording(
    text: str, patterns: tuple[re.Pattern[str], ...] | None = None
) -> tuple[re.Pattern[str], ...]:
    """The phrases of notice wording (of `patterns`, by default all) that `text` holds, each
    starting a word, the Japanese ones anywhere.

    What a case-insensitive search would find, exactly: the three letters that such a search
    also takes for an ASCII one and `lower()` does not map to it (`İ`, `ı`, `ſ`) are mapped
    first, which also keeps every character where it was.
    """
    low = text.replace("İ", "i").replace("ı", "i").replace("ſ", "s").lower()
    if patterns is None:
        patterns = _ALL_WORDING
    held = []
    for pattern in patterns:
        if pattern in _ANYWHERE:
            if pattern.search(low):
                held.append(pattern)
            continue
        at = 0
        while (found := pattern.search(low, at)) is not None:
            start = found.start()
            # every phrase starts with a letter: the word starts here unless a letter, digit
            # or underscore comes before
            if start == 0 or not (low[start - 1].isalnum() or low[start - 1] == "_"):
                held.append(pattern)
                break
            at = start + 1  # a phrase may still start inside this match
    return tuple(held)


def _page_wording(tree: LexborHTMLParser) -> tuple[re.Pattern[str], ...]:
    """The phrases a page is searched for: English and Japanese, and those of the language it
    declares; of every language when it declares none."""
    language = _language(tree)
    if not language:
        return _ALL_WORDING
    own = _NOTICE_WORDING_BY_LANGUAGE.get(language, ())
    return (*_NOTICE_WORDING, *own, *_NOTICE_WORDING_ANYWHERE)


def declared_wording(tree: LexborHTMLParser) -> tuple[re.Pattern[str], ...]:
    """The phrases looked for besides on a page that declares itself locked: the English ones
    when it declares English or no language, those of the language it declares, the Japanese
    ones always (they need no word boundary, and no other language writes them)."""
    language = _language(tree)
    english = language in ("", "en")
    own = _DECLARED_WORDING_BY_LANGUAGE.get(language, ())
    return (*(_DECLARED_WORDING if english else ()), *own, *_DECLARED_WORDING_ANYWHERE)


def _language(tree: LexborHTMLParser) -> str:
    """The language a page declares (`<html lang>`), without its region ("de" for "de-AT"),
    lower-cased; "" when it declares none."""
    root = tree.root
    language = ((root.attributes.get("lang") if root is not None else None) or "").strip()
    return language.lower().replace("_", "-").split("-")[0]


def _marker_nodes(
    body: LexborNode, page: str, container: LexborNode | None, rules: ExtractRules
) -> list[LexborNode]:
    """A paywall found by its heading text when no selector matched; `page` is the body's
    normalised text."""
    markers = {normalise(m).casefold() for m in rules.markers}
    # A gate only, so whitespace is left out on both sides: a marker split by a tag
    # ("For<b>-</b>Supporters") has a space in the page's text, not in its heading's.
    squashed = "".join(page.casefold().split())
    if not any("".join(m.split()) in squashed for m in markers):
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
