"""What is not the article's text though it sits in or beside it: hidden elements, scripts
and forms, the site's header and navigation, dates, bylines, share and comment counts, related
links, captions, ads. Removed before the teaser is read, so that none of it moves a reading
between two requests.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from monitor.detect.normalise import normalise, word_count
from monitor.detect.tree import (
    ancestors,
    is_within_tags,
    link_words,
    matches_inside,
    more_words,
    paragraph_words,
    reader_words,
)

# Elements whose text is never article text, wherever they sit.
JUNK = (
    "script, style, noscript, template, iframe, svg, canvas, form, button, select, textarea, "
    "input, nav, aside, footer, .sharedaddy, .jp-relatedposts, .related-posts, "
    ".yarpp-related, .comments-area, #comments, .entry-meta, .post-meta, .byline, "
    ".screen-reader-text, .sr-only, .visually-hidden, .off-screen, .offscreen, "
    # a screen reader's label in a generated class name (the BBC's `ssrcss-…-VisuallyHidden`)
    "[class*=VisuallyHidden], [class*=visually-hidden]"
)
# Chrome that publishers put inside the article's own container and change between two
# requests: dates, bylines, share and comment counts, related and most-read links, ads.
_INNER_CHROME = (
    "time, .date, .dateline, .published, .updated, .timestamp, .post-date, .entry-date, "
    # an author's block, not the authors' abstract (ScienceDirect's `div.abstract.author`), in
    # any case (a styled component's `StyledByline`); not so for the other words below, which
    # article text carries in camel case too (`p.selectionShareable`)
    "[class*=byline i], [class*=author i]:not([class*=abstract i]), [class*=share], "
    "[class*=social], "
    "[class*=related], "
    "[class*=recommend], [class*=most-read], [class*=mostread], [class*=read-more], "
    "[class*=readmore], [class*=newsletter], [class*=advert], "
    "[id*=related], [id*=advert], .ad, .ads, .ad-slot, [class*=ad-slot], [class*=promo], "
    "[class*=cookie], [class*=consent], [class*=footer], "
    # the recommendation widgets' boxes and their "Sponsored Stories" / "You May Like" labels
    # (Outbrain, Taboola, a site's own recirculation rail), filled by scripts after the page
    "[class*=outbrain i], [class*=taboola], [class*=ob-widget], [class*=recirc], "
    # a component named for related links (the BBC's `data-component="related-internet-links"`)
    "[data-component*=related], "
    # a video player's own text (its controls, shortcuts and screen-reader announcements)
    ".jwplayer, [class*=jw-wrapper], .video-js, "
    # a picture's credit and copyright line, inside or outside its caption ("Image
    # copyright Soti"), and the article's own copyright line
    "[class*=copyright i], [class*=photo-credit], [class*=image-credit], figure [class*=credit], "
    # readers' comments and polls, and lists of what is read now: they change with every
    # reader, not with the article (Sina's comments and hot lists, The Sun's trending rail)
    # (not by a heading's id: "comment-on-garde-le-lien" is an anchor made of its French text)
    "[class*=comments], [class*=comment-], [class*=comment_], "
    "[id*=comments]:not(h2, h3, h4, h5, h6), "
    "[class*=trending], [class*=most-popular], [class*=hot-news], .poll, [class*=poll-], "
    "[class*=poll_], [class*=-poll], [class*=_poll], "
    # readers' ratings move with their votes ("Actualmente puntuada con 1 estrella(s)"); not
    # any rating: a fact check's is its verdict
    "[class*=star-rating], [itemtype*=AggregateRating], [itemprop=aggregateRating], "
    # what the site's print stylesheet hides is not the article (nature.com's job listings)
    "[class*=hide-print], [class*=hidden-print], [class*=no-print], [class*=noprint], "
    '[class*=print-hide], [class*=print-none], [class*="print:hidden"]'
)
# Chrome that a notice box can hold too; its offer, price and promo wording are the notice.
NOTICE_CHROME = (
    "time, .date, .dateline, .timestamp, [class*=share], [class*=social], [class*=related], "
    "[class*=comment-count], [class*=advert], .ad, .ads"
)
# Never article text, notice or declaration, and on most pages the bulk of the tree: their
# contents go first, so that every whole-page query after walks a fraction of the nodes. The
# elements stay: a site header is told by the `nav` it holds.
_EMPTIED_TAGS = ("nav", "svg")
EMPTIED = ", ".join(_EMPTIED_TAGS)
# What readers do not see is not teaser.
# The utility classes that mean `display: none` in the common CSS frameworks (and Magnific
# Popup's, for the popups it keeps ready) count too, unless a responsive class shows the
# element on larger screens (Tailwind's `hidden md:block`, Bootstrap's `d-none d-md-block`).
HIDDEN = (
    '[hidden], [aria-hidden="true"], [style*="display:none"], [style*="display: none"], '
    '[style*="visibility:hidden"], [style*="visibility: hidden"], '
    '.hidden:not([class*=":"]), .hide, .is-hidden, .uk-hidden, .mfp-hide, '
    # a BEM "hidden" modifier (Le Monde's `message--hidden`), not `--hidden-mobile`
    '[class$="--hidden"], [class*="--hidden "], '
    '.d-none:not([class*="d-sm-"], [class*="d-md-"], '
    '[class*="d-lg-"], [class*="d-xl-"], [class*="d-xxl-"])'
)
_DATE_LINE = re.compile(
    r"^(?:updated|last updated|published|posted|modified|mis à jour|publié|aktualisiert|"
    r"actualizado|publicado)\b.*\d",
    re.I,
)
# The first letters of the words a date line starts with, as `_DATE_LINE` reads them.
_DATE_LINE_STARTS = frozenset("ulpma")
# Furniture above an article's first sentence (see `strip_lead`).
_LEAD_WORDS = 12
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|februar|märz|mai|"
    r"juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|"
    r"octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
    r"septiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|"
    r"settembre|ottobre|dicembre|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|"
    r"novembro|dezembro"
)
# Weekdays by name in German, French and Spanish; the English ones are spelt where they are
# used, the date-line words taking their abbreviations too.
_WEEKDAYS = (
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|"
    r"vendredi|samedi|dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo"
)
# Words that may stand around a date on its line: weekdays, "published", "updated", "at", the
# time zones, in English, German, French and Spanish, and "today" and "yesterday".
_DATE_WORDS = re.compile(
    rf"(?i)\b(?:{_MONTHS}|mon(?:day)?|tue(?:sday)?|wed(?:nesday)?|thu(?:rsday)?|fri(?:day)?|"
    rf"sat(?:urday)?|sun(?:day)?|{_WEEKDAYS}|"
    r"today|yesterday|heute|gestern|hoy|ayer|aujourd'hui|hier|"
    r"published|updated|posted|modified|submitted|veröffentlicht|aktualisiert|akt|stand|"
    r"publié|mis à jour|publicado|actualizado|on|at|um|uhr|le|à|el|de|del|a las|hs|h|"
    r"am|pm|a\.m|p\.m|gmt|utc|est|edt|pst|pdt|cet|cest|bst|"
    # a read time beside the date ("Jun 19, 2017 · 3 min read", "5 Min. Lesezeit")
    r"min(?:ute)?s?\.?\s+(?:read|de lecture|de lectura|di lettura|de leitura|lesezeit)|"
    r"read(?:ing)? time|lesezeit|lesedauer|temps de lecture|tiempo de lectura)\b\.?|"
    r"[+-]\d{1,2}(?::?\d{2})?\b|"
    r"\d+(?:st|nd|rd|th)\b|(?<=\d)h(?=\d)|"
    # Japanese, Chinese and Korean: a number with its unit ("2025年1月14日 01時28分"), the
    # weekday in brackets, "updated", "published", morning and afternoon.
    r"\d+\s*(?:年|月|日|時|时|分|秒|년|월|일|시|분|초)|\((?:月|火|水|木|金|土|日)\)|"
    r"更新|公開|配信|掲載|投稿|発行|午前|午後|上午|下午|发布|發布|입력|수정|업데이트|오전|오후"
)
_DATE_ONLY = re.compile(r"[\d\s,./:|()·•-]*")
# What makes a short line a date wherever it stands in the article (`_dated_block`): a month
# or a weekday, by name (in CJK, a month and its day); and the longest such a line is.
_NAMED_DATE = re.compile(
    rf"(?i)\b(?:{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|{_WEEKDAYS})\b|"
    r"\d{1,2}\s*(?:月\s*\d{1,2}\s*日|월\s*\d{1,2}\s*일)"
)
_DATED_CHARS = 60
_DIGIT = re.compile(r"\d")
# A clock time: a line that gives one beside a word or two ("Šodien, 17:40", "18:58 Uhr")
# says when, in whatever language.
_CLOCK = re.compile(r"\b\d{1,2}(?::|h)\d{2}\b|\d{1,2}\s*(?:時|时|시)\s*\d{1,2}\s*(?:分|분)")
_CLOCK_WORDS = 2
# A relative time: it says when, and changes with every hour that passes ("5 hours ago",
# "vor 2 Stunden", "il y a 3 jours", "hace 2 horas", "12 दिन पहले", "3時間前", "2시간 전"), in
# the languages of the date words and of the corpus's pages. A line that gives one beside a word
# or two (a place, "Updated") says when, as a clock time does.
_RELATIVE = re.compile(
    r"(?i)\b(?:(?:\d+|an?|one|a few|few|several)\s*(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|"
    r"hours?|d|days?|w|wks?|weeks?|mos?|months?|y|yrs?|years?)\s+ago|just now|moments? ago)\b|"
    r"\bvor\s+(?:\d+|einer?|einem|wenigen|ein paar)\s+(?:sek(?:unden?)?|min(?:uten?)?|std|"
    r"stunden?|tag(?:en)?|wochen?|monat(?:en)?|jahr(?:en)?)\b|\bgerade eben\b|"
    r"\bil y a\s+(?:\d+|une?|quelques)\s+(?:s|secondes?|min|minutes?|h|heures?|jours?|"
    r"semaines?|mois|ans?)\b|\bà l'instant\b|"
    r"\b(?:hace|há)\s+(?:\d+|una?|unos|unas|uns|umas|pocos|poucos)\s+(?:s|segundos?|min|"
    r"minutos?|h|horas?|d[íi]as?|semanas?|mes(?:es)?|meses|a[ñn]os?)\b|"
    r"\b(?:\d+|un|una|pochi|poche)\s+(?:secondi|minuti?|min|ore|ora|giorni|giorno|settimane?|"
    r"mesi|mese|anni|anno)\s+fa\b|"
    r"\b(?:\d+|een|enkele)\s+(?:seconden|minuten|minuut|min|uur|uren|dagen|dag|weken|week|"
    r"maanden|maand|jaar|jaren)\s+geleden\b|"
    r"\bf[öo]r\s+(?:\d+|en|ett|et|några|noen|nogle)\s+(?:sekund\w*|minut\w*|timm?\w*|"
    r"dag\w*|veck\w*|uke\w*|uge\w*|månad\w*|måned\w*|år)\s+s[ei]d[ae]n\b|"
    r"\b(?:\d+|kilka)\s+(?:sekund\w*|minut\w*|godzin\w*|dni|dzień|tygodni\w*|miesi\w*|"
    r"lat\w*)\s+temu\b|"
    r"\b(?:\d+|несколько)\s+(?:секунд\w*|минут\w*|час\w*|дн\w*|день|недел\w*|месяц\w*|"
    r"год\w*|лет)\s+назад|"
    r"\b(?:\d+|birkaç)\s+(?:saniye|dakika|dk|saat|gün|hafta|ay|yıl)\s+önce|"
    r"\b(?:\d+|beberapa)\s+(?:detik|menit|jam|hari|minggu|bulan|tahun)\s+(?:yang\s+)?lalu\b|"
    r"(?:\d+|कुछ(?:\s+ही)?)\s*(?:सेकंड|मिनट|घंटे|घंटा|दिन|सप्ताह|हफ्ते|महीने|साल|क्षण)\s+पहले|"
    r"منذ\s+(?:\d+\s+)?(?:ثوان|ثانية|دقائق|دقيقة|ساعات|ساعة|ساعتين|أيام|يوم|يومين|أسابيع|"
    r"أسبوع|شهور|شهر|أشهر|سنوات|سنة)|"
    r"(?:\d+|چند)\s*(?:ثانیه|دقیقه|ساعت|روز|هفته|ماه|سال)\s+(?:پیش|قبل)|"
    r"\d+\s*(?:秒|分|時間|日|週間|か月|ヶ月|年|分钟|分鐘|小时|小時|天|周|个月|個月)前|刚刚|"
    r"\d+\s*(?:초|분|시간|일|주|개월|달|년)\s*전"
)
# The words a relative time says "ago" with, and those it may say with no digit ("an hour
# ago", "कुछ ही क्षण पहले"): a line with none of them is let go before `_RELATIVE`, whose
# alternatives cost 20-40 µs a line (these substring tests, a microsecond or two).
_AGO = (
    "ago", "just now", "vor ", "gerade eben", "il y a", "instant", "hace ", "há ", " fa",
    "geleden", "sedan", "siden", "temu", "назад", "önce", "lalu", "पहले", "منذ", "پیش", "قبل",
    "前", "전", "刚刚",
)  # fmt: skip
# A date written in numbers with its year ("05.04.2025", "2025/1/14", "2020-06-06").
_NUMERIC_DATE = re.compile(r"\b(?:\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{4})\b")
# A year, of the Gregorian calendar or of the Persian and Hijri ones (1403, 1445).
_YEAR = re.compile(r"\b(?:1[3-9]|20)\d{2}\b")
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
# A clock time or a numeric date with the year says when beside this many words of any
# language (a weekday and a month by name, "WIB", "Güncelleme", "modifica il").
_DATED_WORDS = 3
# A count of readers, comments or shares ("114 views", "28.8K بازدید", "评论(15)"): it
# changes with every reader, in the languages of the corpus's pages.
_COUNTED = (
    r"(?:views?|reads?|visits?|readers?|comments?|replies|shares?|likes?|aufrufe|kommentare?|"
    r"vues|lectures|commentaires?|partages|visitas|lecturas|comentarios?|visualizzazioni|"
    r"letture|commenti|visualizações|comentários|weergaven|reacties|kudos|claps|votes|"
    r"голос\w*|просмотр\w*|"
    r"комментари\w*|görüntülenme|yorum|wyświetle\w*|komentarz\w*|dilihat|komentar|مشاهدة|"
    r"تعليق\w*|بازدید|دیدگاه|نظر|閲覧|コメント|阅读|閱讀|评论|評論|조회|댓글)"
)
_COUNT = r"\d[\d.,]*\s*(?:[km]|mil|mln|万|千)?\+?"
# "Visto 314 veces", "viewed 12 times": a count said as how many times a page was seen
_SEEN_TIMES = (
    rf"(?<!\w)(?:seen|viewed|read|visto|vista|leído|leido|lido|letto|vu|lu)\s+{_COUNT}\s*"
    r"(?:times|veces|vezes|volte|fois)(?!\w)"
)
_COUNTER = re.compile(
    rf"(?i){_COUNT}\s*{_COUNTED}(?!\w)|(?<!\w){_COUNTED}\s*[:(]?\s*{_COUNT}\)?|{_SEEN_TIMES}"
)
_BYLINE = re.compile(r"(?:by|von|par|por|door)(?:\s+|(?=[A-Z]))\S", re.I)
_BYLINE_ALONE = frozenset({"by", "von", "par", "por", "door", "di"})
_LEAD_FURNITURE = re.compile(
    r"(?i)\d+\s*(?:min(?:ute)?s?\s*)?(?:to\s+)?read|©.*|\(.*/.*\)|"
    r"(?:photo(?:graph)?|image|imagen|picture|foto|bild|illustration)(?:\s+by|:)(?:\s.*)?|"
    r"(?:temps de lecture|lesezeit|tiempo de lectura|reading time)\s*:?\s*\d+\s*min\w*\.?"
)
# A caption: a line that ends with its picture's credit ("... Foto: Editpress/Name",
# "... (AP Photo/Name)"), whatever its length.
_CAPTION_END = re.compile(
    r"(?i)(?:\b(?:photo|foto|bild|imagen|image|picture|illustration)s?\s*:\s*[^:]{1,80}|"
    r"\([^()]*\b(?:photo|foto)\b[^()]*/[^()]*\)|"
    # Japanese: "(代表撮影)", "=...撮影" (photographed by)
    r"\([^()]*撮影[^()]*\)|=[^=]*撮影)\s*$"
)
# Lines this long can still be a caption, not more.
_CAPTION_WORDS = 40
_SHARE_WORDS = frozenset(
    [
        "share",
        "this",
        "print",
        "comment",
        "comments",
        "recommend",
        "email",
        "e-mail",
        "facebook",
        "twitter",
        "x",
        "linkedin",
        "copy",
        "link",
        "url",
        "urlcopied!",
        "copied!",
        "tweet",
        "pin",
        "pinterest",
        "reddit",
        "whatsapp",
        "save",
        "flipboard",
        "messenger",
        "sms",
        # a share or gift bar, an advertisement's label, in German, French, Spanish, Italian
        "diesen",
        "artikel",
        "teilen",
        "verschenken",
        "werbung",
        "anzeige",
        "partager",
        "publicité",
        "compartir",
        "publicidad",
        "condividi",
        "pubblicità",
        "advertisement",
    ]
)
_LINK_BLOCK_HEADINGS = re.compile(
    r"^(?:related|read more|read also|more from|most read|most popular|see also|recommended|"
    r"lire aussi|à lire aussi|mehr zum thema|lesen sie auch|te puede interesar|leia também)\b",
    re.I,
)
# Inside a paywall block: the notice is kept, its login form and buttons are not.
# A form goes whole only when it is a sign-in form (`drop_sign_in_forms`): an offer's text may
# stand in the form that takes the payment (tageblatt.lu's "Für 0.99 € können Sie diesen
# Artikel erwerben.").
CONTROLS = "script, style, noscript, template, iframe, svg, button, select, textarea, input"
_SIGN_IN = 'input[type="password"], input[type="email"]'


def strip_lead(teaser: str, titles: tuple[str, ...]) -> str:
    """The teaser without the lines above its first sentence that are the page's furniture:
    the headline again, a date, a byline, a share bar, a photo and its caption, a read time.

    Only short lines (and captions) before the first long one go, so article text is never
    touched.
    """
    lines = teaser.split("\n")
    heads: list[str] | None = None  # folded when a short line first needs them
    for at, line in enumerate(lines):
        words = word_count(line)
        if words > _LEAD_WORDS:
            if words <= _CAPTION_WORDS and _CAPTION_END.search(line):
                continue
            return "\n".join(lines[at:])
        folded = _fold(line)
        if heads is None:
            heads = [_fold(t) for t in titles if t]
        if not (
            _is_date_line(line)
            or _BYLINE.match(line)
            or line.casefold().strip(" :") in _BYLINE_ALONE
            or _LEAD_FURNITURE.fullmatch(line)
            or _CAPTION_END.search(line)
            or all(w in _SHARE_WORDS for w in line.casefold().split())
            or (len(folded) >= 8 and any(folded in h or h in folded for h in heads))
        ):
            return "\n".join(lines[at:])
    return teaser  # nothing but short lines: not enough to tell furniture from text


def _is_date_line(line: str) -> bool:
    """A line that only says when: a date and the words around one; a clock time or a
    relative time ("5 hours ago") beside a word or two; a clock time or a numeric date, with
    the year, beside up to `_DATED_WORDS` words of any language (a weekday, a month,
    "updated")."""
    relative = _says_ago(line) and _RELATIVE.search(line) is not None
    if not relative and not any(ch.isdigit() for ch in line):
        return False
    if _DATE_ONLY.fullmatch(_DATE_WORDS.sub(" ", line).strip(" ,.:|-–—·•")):
        return True
    clock = _CLOCK.search(line) is not None
    # counted as a reader would: a CJK sentence is one run of word characters
    bare = _CLOCK.sub(" ", _RELATIVE.sub(" ", line) if relative else line)
    if (clock or relative) and reader_words(bare) <= _CLOCK_WORDS:
        return True
    if not ((clock and _YEAR.search(line)) or _NUMERIC_DATE.search(line)):
        return False
    rest = _NUMBER.sub(" ", _DATE_WORDS.sub(" ", _CLOCK.sub(" ", line)))
    return reader_words(rest) <= _DATED_WORDS


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def empty_matches(node: LexborNode, selector: str) -> None:
    """Remove what the outermost matches hold, keeping the elements themselves."""
    tops = [match for match in node.css(selector) if not is_within_tags(match, _EMPTIED_TAGS)]
    for match in tops:
        match.inner_html = ""  # one call: lexbor frees the subtree (per child: twice the cost)


def drop_sign_in_forms(node: LexborNode) -> None:
    for form in matches_inside(node, "form"):
        if form.css_first(_SIGN_IN) is not None:
            form.decompose()


def drop_chrome_blocks(container: LexborNode, *, link_lists: bool = True) -> None:
    """Blocks inside the article that are not its text: a site header, "Updated …" lines,
    and lists of links under a "Related" / "Read more" heading or (`link_lists`) made of links
    alone; a notice's "Join now | Sign in" links are its text."""
    drop_site_headers(container)
    for block in matches_inside(container, "p, div, span, small, li"):
        raw = block.text(separator=" ")
        if _short_line(raw) and (_dated_block(block, raw) or _AD_LABEL.fullmatch(raw.strip())):
            block.decompose()
            continue
        # Normalising keeps an ASCII letter or digit as it is: a block that starts with one
        # no date line starts with cannot be one, and is let go unnormalised.
        first = raw.lstrip()[:1]
        if first.isascii() and first.isalnum() and first.lower() not in _DATE_LINE_STARTS:
            continue
        text = _short_text(block, 15, raw)
        if text and _DATE_LINE.match(text):
            block.decompose()
    for heading in matches_inside(container, "h2, h3, h4, h5, h6, strong, b, p"):
        if heading.tag in _HEADINGS and _over_nothing(heading):
            heading.decompose()  # "Related video: …" over a player, gone as chrome
            continue
        text = _short_text(heading, 4)
        if text and heading.tag in _HEADINGS and _counts_only(text):
            heading.decompose()  # the comments' heading with their count ("评论(15)")
            continue
        if not (text and _LINK_BLOCK_HEADINGS.match(text)):
            continue
        following = heading.next
        while following is not None and not following.is_element_node:
            following = following.next
        # only a heading over links: "Read more below." before a paragraph is article text
        if following is not None and _link_share(following) >= 0.5:
            following.decompose()
            heading.decompose()
    if not link_lists:
        return
    for block in matches_inside(container, "ul, ol, div, section, p"):
        # the links' words first: most blocks hold none, and are then let go uncounted
        linked = link_words(block)
        if not linked:
            continue
        if block.tag == "p" and is_within_tags(block, ("li",)):
            continue  # a list's item, judged with its list whether written with a `<p>` or not
        raw = block.text(separator=" ")
        words = word_count(raw)
        link_list = words and linked / words >= 0.8 and (block.tag != "p" or words <= 25)
        if link_list or (block.tag in ("div", "p") and _labelled_links(raw, words, linked)):
            block.decompose()


def _over_nothing(heading: LexborNode) -> bool:
    """A "Related …" heading (`_LINK_BLOCK_HEADINGS`, up to `_LABELLED_WORDS` words: "Related
    video: <its title>") with nothing to read after it: what it announced (a video player, a
    widget a script fills) was chrome, and is gone."""
    following = heading.next
    while following is not None and not following.is_element_node:
        if following.tag == "-text" and following.text().strip():
            return False
        following = following.next
    if following is not None and following.text().strip():
        return False
    text = _short_text(heading, _LABELLED_WORDS)
    return bool(text and _LINK_BLOCK_HEADINGS.match(text))


# An advertisement's label, standing alone where an ad slot interrupts the story (Politico's
# `p.story-continued`, Hearst's "Advertisement - Continue Reading Below"): shown only with the
# ad, so present in one capture and not in the next.
_AD_LABEL = re.compile(
    r"(?i)(?:advertisement|advertising|ad|anzeige|werbung|publicité|publicidad|pubblicità|"
    r"reklama|annonce|sponsored)(?:\s*[-–—:|·]?\s*(?:continue reading below|"
    r"(?:the )?(?:story|article) continues below))?|"
    r"(?:the )?(?:story|article) continues (?:below|after)(?: (?:this |the )?(?:advertisement|ad))?"
)


def _labelled_links(raw: str, words: int, linked: int) -> bool:
    """A short line of links under a label ("Tags: …", "Related Forums: …", "Buyer's Guide:
    …"), whose links are fewer words than a link list's share: the label is its only text."""
    if words > _LABELLED_WORDS or words - linked > _LABEL_WORDS:
        return False
    label, colon, _ = raw.strip().partition(":")
    return bool(colon) and 0 < word_count(label) <= _LABEL_WORDS


# A labelled line of links is at most this many words, its label at most `_LABEL_WORDS`.
_LABELLED_WORDS = 25
_LABEL_WORDS = 3


def drop_captions(container: LexborNode, floor: int) -> None:
    """A picture's caption and credit (`_CAPTIONS`) are not the article's text: a photo
    swapped or credited anew is not an edit of the teaser, and a caption above the first
    paragraph is not where the article starts.

    Kept are a caption of several paragraphs (a listicle's item told under its picture,
    Onedio's) and every caption of an article that would be left with fewer than `floor`
    words without them (a slideshow told in its captions): a teaser is never lost for them.
    """
    captions: list[LexborNode] = []
    # the outermost captions: one inside another goes, or stays, with it
    outer: set[int] = set()
    for caption in matches_inside(container, _CAPTIONS):
        if any(node.mem_id in outer for node in ancestors(caption, container)):
            continue
        outer.add(caption.mem_id)
        if len(caption.css("p")) < _CAPTION_PARAGRAPHS:
            captions.append(caption)
    if not captions:
        return
    # a reader's words, as `_failure` counts them against the same floor
    words = sum(reader_words(caption.text(separator=" ")) for caption in captions)
    if reader_words(container.text(separator=" ")) - words < floor:
        return
    for caption in captions:
        caption.decompose()


# A `<figcaption>` with this many paragraphs is an item's text, not a caption.
_CAPTION_PARAGRAPHS = 3
# A caption is a `<figcaption>`, or what a class calls one (WordPress's `wp-caption-text`, a
# `<p class="caption">` under a picture).
_CAPTIONS = "figcaption, [class*=caption i]"


def drop_inner_chrome(container: LexborNode) -> None:
    """The dates, bylines, share bars, related links and ads inside the article's container
    (`_INNER_CHROME`), but not a block of paragraphs that holds a story's worth of words
    (`_STORY_WORDS`) and most of the container's: the story's own wrapper may carry such a
    word in a class (der Freitag's `js-dynamic-advertorial`)."""
    total: int | None = None
    for match in matches_inside(container, _INNER_CHROME):
        if match.css_first("p") is not None and (words := paragraph_words(match)) >= _STORY_WORDS:
            if total is None:  # counted once, and only for a block this large
                total = paragraph_words(container)
            if 2 * words > total:
                continue
        match.decompose()


# A chrome block with fewer paragraph words than this is never the story's own wrapper.
_STORY_WORDS = 20


def _dated_block(block: LexborNode, raw: str) -> bool:
    """A block that only says when, with a month, a weekday, a clock time, a numeric date with
    its year or a relative time in it ("5. Januar 2026", "18:58 Uhr", "Šodien, 17:40",
    "Senin, 13 Mei 2024 13:24 WIB", "5 hours ago"), or only counts readers or comments ("114
    views"): a date or a number alone may be article text. A `<span>` in a sentence is part
    of it."""
    # most short blocks: no date and no count without a digit, no relative time without one
    # or the word that makes it one
    if _DIGIT.search(raw) is None and not _says_ago(raw):
        return False
    text = normalise(raw)
    if not (
        (
            _is_date_line(text)
            and (
                _CLOCK.search(text)
                or _NAMED_DATE.search(text)
                or _NUMERIC_DATE.search(text)
                or (_says_ago(text) and _RELATIVE.search(text))
            )
        )
        or _counts_only(text)
    ):
        return False
    return block.tag not in ("span", "small") or not is_within_tags(block, ("p",))


def _short_line(raw: str) -> bool:
    """Whether a block's text is a short line (`_DATED_CHARS`), not counting the indentation
    of the markup between its inline elements ("<span>\n    <span>56</span>\n    دیدگاه")."""
    if len(raw) <= _DATED_CHARS:
        return True
    return len(raw) <= 8 * _DATED_CHARS and len(" ".join(raw.split())) <= _DATED_CHARS


_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})


def _says_ago(text: str) -> bool:
    """Whether `text` holds a word a relative time is said with (`_AGO`)."""
    low = text.lower()
    return any(word in low for word in _AGO)


def _counts_only(text: str) -> bool:
    """Whether a line says only how many read, shared or commented ("28.8K بازدید |")."""
    if _DIGIT.search(text) is None:  # most headings: no count without a digit
        return False
    return _COUNTER.search(text) is not None and not reader_words(
        _COUNTER.sub(" ", text).strip(" |·•-–—,:()")
    )


def drop_site_headers(container: LexborNode) -> None:
    """A site's header repeated inside the article: a banner, a "site" header, or one that
    holds the site's navigation (so it must go before `nav` does)."""
    for header in matches_inside(container, "header"):
        role = (header.attributes.get("role") or "").lower()
        classes = (header.attributes.get("class") or "").lower()
        if role == "banner" or "site" in classes or header.css_first("nav") is not None:
            header.decompose()


def drop_headlines(container: LexborNode, titles: tuple[str, ...]) -> None:
    """The headline is the page's title, shown with every change: not teaser. It is the
    container's only `<h1>`; of several, each one no paragraph of text comes before, each
    that says a title again, each longer than a heading (Taipei Times writes its photos'
    captions as `<h1>`) and each inside a link (a card's title). A short `<h1>` after the
    story's first paragraph is one of its section headings (Medium's editor writes them so),
    part of its text: a redesign that turns an `<h3>` into one is no edit."""
    headings = matches_inside(container, "h1")
    if len(headings) == 1:
        headings[0].decompose()
    if len(headings) <= 1:
        return
    folded = [_fold(title) for title in titles if title]
    text_before = False
    dropped = []
    # lexbor lists the matches of a list of tags in document order: one walk, however many
    # headings (a walk back from each would be quadratic in a page of thousands)
    for node in matches_inside(container, "h1, p"):
        if node.tag == "p":
            text_before = text_before or word_count(node.text(separator=" ")) > 0
            continue
        text = node.text(separator=" ")
        if (
            not text_before
            or more_words(text, _HEADING_WORDS)
            or any(_fold(text) in title for title in folded)
            or is_within_tags(node, ("a",))
        ):
            dropped.append(node)
    for node in dropped:  # after the walk: a dropped heading's own nodes are freed with it
        node.decompose()


# A section heading is at most this many words; an `<h1>` of more is not one.
_HEADING_WORDS = 20


def _short_text(node: LexborNode, words: int, raw: str | None = None) -> str | None:
    """A block's normalised text if it has at most `words` words, else None. Normalising
    costs more than splitting: a block far too long is let go on the split alone. `raw`:
    the block's text, if read already."""
    raw = node.text(separator=" ") if raw is None else raw
    if more_words(raw, 3 * words):
        return None
    text = normalise(raw)
    return text if word_count(text) <= words else None


def _link_share(node: LexborNode) -> float:
    """The share of a block's words that are link text."""
    linked = link_words(node)
    if not linked:
        return 0.0
    words = word_count(node.text(separator=" "))
    return linked / words if words else 0.0
