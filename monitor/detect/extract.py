"""Turn a capture's text into regions: teaser, paywall notice, description and access state.

Pure: text and rules in, `Regions` out. A capture with no recognisable article (error page,
login wall, bot challenge, empty body) gives `access == "unknown"` with the reason in `error`;
that is an extraction failure, never a change of content.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from collections.abc import Iterator
from typing import Any, overload

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.detect.capture import Capture, Format, decode, html_source, sniff_format
from monitor.detect.normalise import (
    compact,
    normalise,
    strip_trailing_ellipsis,
    word_count,
)
from monitor.detect.reading import code_key
from monitor.detect.regions import Access, Regions
from monitor.detect.rules import ExtractRules

# Elements whose text is never article text, wherever they sit.
_JUNK = (
    "script, style, noscript, template, iframe, svg, canvas, form, button, select, textarea, "
    "input, nav, aside, footer, .sharedaddy, .jp-relatedposts, .related-posts, "
    ".yarpp-related, .comments-area, #comments, .entry-meta, .post-meta, .byline, "
    ".screen-reader-text, .sr-only, .visually-hidden"
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
_NOTICE_CHROME = (
    "time, .date, .dateline, .timestamp, [class*=share], [class*=social], [class*=related], "
    "[class*=comment-count], [class*=advert], .ad, .ads"
)
# Selectors that name any container, not an article's body: checked against the page's text.
_LOOSE_SELECTORS = frozenset({"article", ".article", "main"})
# A page that declares itself one post may hold only a sentence (a podcast, a photo, a video).
_SHORT_POST_WORDS = 5
# WordPress numbers its posts (`post-123`); the id test is finished in `_names_post`, since
# `post-prep` or `post-header` name something else.
_POST_ELEMENTS = (
    '[id^="post-"], .hentry, .type-post, [itemtype*="Article"], [itemtype*="BlogPosting"]'
)
_POST_CLASSES = '.hentry, .type-post, [itemtype*="Article"], [itemtype*="BlogPosting"]'
_POST_META = 'meta[property="og:type"][content="article"]'
_POST_TYPES = re.compile(r'"@type"\s*:\s*\[?\s*"(?:\w+)?(?:Article|BlogPosting|Report)"')
# Never article text, notice or declaration, and on most pages the bulk of the tree: their
# contents go first, so that every whole-page query after walks a fraction of the nodes. The
# elements stay: a site header is told by the `nav` it holds.
_EMPTIED_TAGS = ("nav", "svg")
_EMPTIED = ", ".join(_EMPTIED_TAGS)
# What readers do not see is not teaser.
# The utility classes that mean `display: none` in the common CSS frameworks (and Magnific
# Popup's, for the popups it keeps ready) count too, unless a responsive class shows the
# element on larger screens (Tailwind's `hidden md:block`, Bootstrap's `d-none d-md-block`).
_HIDDEN = (
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
# Furniture above an article's first sentence (see `_strip_lead`).
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
    r"am|pm|a\.m|p\.m|gmt|utc|est|edt|pst|pdt|cet|cest|bst)\b\.?|[+-]\d{1,2}(?::?\d{2})?\b|"
    r"\d+(?:st|nd|rd|th)\b|(?<=\d)h(?=\d)|"
    # Japanese, Chinese and Korean: a number with its unit ("2025年1月14日 01時28分"), the
    # weekday in brackets, "updated", "published", morning and afternoon.
    r"\d+\s*(?:年|月|日|時|时|分|秒|년|월|일|시|분|초)|\((?:月|火|水|木|金|土|日)\)|"
    r"更新|公開|配信|掲載|投稿|発行|午前|午後|上午|下午|发布|發布|입력|수정|업데이트|오전|오후"
)
_DATE_ONLY = re.compile(r"[\d\s,./:|()-]*")
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
# Notices of the paywall and membership systems in common use, beyond the configured selectors.
_KNOWN_NOTICES = (
    "#steady-paywall, .steady-paywall-container, .leaky_paywall_message_wrap, "
    ".gh-post-upgrade-cta, .post-upgrade-cta, [data-testid=paywall], .paywall-notice, "
    ".paywall-prompt, .paywall-message, .subscriber-only-notice, .premium-notice, "
    ".members-only-notice, #poool-widget, .pelcro-paywall, .zephr-paywall, .piano-paywall, "
    ".tp-container-inner, .laterpay-purchase-button, .memberful-paywall"
)
# An element the page names the paywall (Börsen-Zeitung's `storefront-section#paywall`); around
# the article or its first paragraph, it marks the text instead (`_paywall_nodes`). Looked for
# on its own, last: in the list above an id costs every page 9 µs, on its own 5, and only pages
# whose notice no class names pay even that.
_NAMED_PAYWALL = "#paywall"
# A notice is a few sentences; a block with more words than this is article text.
_NOTICE_WORDS = 150
# What a paywall notice says when no selector or configured marker finds it, searched for in
# lower-cased text (`_says_notice`). One pattern a phrase, each starting with its own words,
# which the regex engine finds by a fast substring search: a single case-insensitive pattern
# behind a word boundary was tried at every position of the page (0.8 ms on a 20,000-character
# page, against 0.2).
_NOTICE_WORDING = tuple(
    re.compile(pattern)
    for pattern in (
        r"to read the full (?:story|article)",
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
# Chinese and Japanese are written without spaces: about two characters make a word.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
# Inside a paywall block: the notice is kept, its login form and buttons are not.
# A form goes whole only when it is a sign-in form (`_drop_sign_in_forms`): an offer's text may
# stand in the form that takes the payment (tageblatt.lu's "Für 0.99 € können Sie diesen
# Artikel erwerben.").
_CONTROLS = "script, style, noscript, template, iframe, svg, button, select, textarea, input"
_SIGN_IN = 'input[type="password"], input[type="email"]'
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
        return extract_html(html_source(capture), rules, unless)
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
def extract_html(text: str | bytes, rules: ExtractRules) -> Regions: ...
@overload
def extract_html(text: str | bytes, rules: ExtractRules, unless: str | None) -> Regions | None: ...
def extract_html(
    text: str | bytes, rules: ExtractRules, unless: str | None = None
) -> Regions | None:
    """Regions of an HTML page: its text, or its UTF-8 bytes (`html_source`); None when its
    digest is `unless` (see `extract`)."""
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = normalise(title_node.text()) if title_node else ""
    if tree.body is None:
        return Regions.failed("empty page: no <body>")
    if tree.css_first(_CHALLENGE_SELECTORS) is not None:
        return Regions.failed(f"bot challenge page ({title or 'no title'})")
    login = any(not _in_site_menu(n) for n in tree.css('input[type="password"]'))
    captcha = tree.css_first(_CAPTCHA_SELECTORS) is not None
    description = _description(tree, rules)
    _empty(tree.body, _EMPTIED)
    _drop(tree.body, _HIDDEN)
    post = _declares_post(tree)
    not_found = _NOT_FOUND_BODY.search(tree.body.attributes.get("class") or "") is not None
    floor = rules.min_words
    if floor == ExtractRules.min_words and post:
        floor = _SHORT_POST_WORDS  # a podcast or photo post: a sentence is its whole text
    container = _container(tree, rules, floor)
    declared = _declared_access(tree, container)
    paywall_nodes, walled = _paywall_nodes(tree, container, rules, declared)
    # what the page declares outranks a class name
    marked_only = walled and declared is None
    if marked_only:
        declared = "locked"
    if not paywall_nodes and declared == "locked" and container is not None:
        paywall_nodes = _form_wall(tree, container) or _link_wall(tree, container)
    og_title = _og_title(tree)
    digest = None
    if container is not None:
        # `marked_only` too: the article's markup is the same whether the page or only its
        # paywall class says it is locked, and the reading (locked or metered) is not
        facts = (title, og_title, description, floor, post, declared, marked_only, login, captcha)
        digest = _digest(facts, rules, container, paywall_nodes)
        if unless is not None and digest == unless:
            return None
    for node in paywall_nodes:
        _drop_sign_in_forms(node)
        _drop(node, _CONTROLS, _NOTICE_CHROME)
        _drop_chrome_blocks(node, link_lists=False)
    paywall = normalise("\n".join(_block_text(n) for n in paywall_nodes))
    teaser = ""
    if container is not None:
        for node in paywall_nodes:
            if _within(node, container):
                node.decompose()
        # the headline is the page's title, shown with every change; the teaser is the text
        _drop_site_headers(container)
        # only the container's own children: a reading `_container` did not take (the densest
        # block, weighed against a selector's match) may have marked others
        for child in list(container.iter(include_text=False)):
            if child.tag != "-comment" and _ASIDE in child.attrs:
                child.decompose()
        _drop(container, _JUNK, "h1", *rules.exclude)
        _drop_inner_chrome(container)
        _drop_chrome_blocks(container)
        _drop_captions(container, floor)
        teaser = strip_trailing_ellipsis(normalise(_block_text(container)))
        teaser = _strip_lead(teaser, (title, og_title))
        if paywall:
            teaser, trailer = _notice_trailer(teaser)
            if trailer:
                paywall = f"{paywall}\n{trailer}"
        elif declared == "locked" and not marked_only:
            teaser, paywall = _declared_trailer(teaser, _declared_wording(tree))
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


def _notice_trailer(teaser: str) -> tuple[str, str]:
    """The teaser of a page with a notice, and the lines at its end that read like the notice
    ("Il vous reste 57% de cet article à lire. La suite est réservée aux abonnés."): a wall
    that also writes a line under the cut text, with no class that marks it."""
    lines = teaser.split("\n")
    cut = len(lines)
    while cut > 1 and not _more_words(lines[cut - 1], 60):
        if not (_words(lines[cut - 1]) <= 60 and _says_notice(lines[cut - 1])):
            break
        cut -= 1
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


# How many of the article's last lines may hold a wall that its page's markup does not mark.
_TRAILER_LINES = 4


def _declared_trailer(teaser: str, phrases: tuple[re.Pattern[str], ...]) -> tuple[str, str]:
    """The teaser of a page that declares itself locked and shows no notice, and the wall at
    its end: from the first of its last few short lines that says a notice's words (with the
    broader wording of a locked page) to the end. Dainik Bhaskar draws its app wall inside
    the article, after the text it holds back, with its QR code and buttons."""
    lines = teaser.split("\n")
    cut = len(lines)
    for at in range(len(lines) - 1, max(0, len(lines) - _TRAILER_LINES) - 1, -1):
        if at == 0 or _more_words(lines[at], 60):
            break
        if _says_notice(lines[at]) or _notice_wording(lines[at], phrases):
            cut = at
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def _og_title(tree: LexborHTMLParser) -> str:
    node = tree.css_first('meta[property="og:title"]')
    return normalise((node.attributes.get("content") or "") if node else "")


def _strip_lead(teaser: str, titles: tuple[str, ...]) -> str:
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
    if _DATE_ONLY.fullmatch(_DATE_WORDS.sub(" ", line).strip(" ,.:|-–—")):
        return True
    clock = _CLOCK.search(line) is not None
    # counted as a reader would: a CJK sentence is one run of word characters
    bare = _CLOCK.sub(" ", _RELATIVE.sub(" ", line) if relative else line)
    if (clock or relative) and _words(bare) <= _CLOCK_WORDS:
        return True
    if not ((clock and _YEAR.search(line)) or _NUMERIC_DATE.search(line)):
        return False
    rest = _NUMBER.sub(" ", _DATE_WORDS.sub(" ", _CLOCK.sub(" ", line)))
    return _words(rest) <= _DATED_WORDS


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _empty(node: LexborNode, selector: str) -> None:
    """Remove what the outermost matches hold, keeping the elements themselves."""
    tops = [match for match in node.css(selector) if not _within_any(match, _EMPTIED_TAGS)]
    for match in tops:
        match.inner_html = ""  # one call: lexbor frees the subtree (per child: twice the cost)


def _drop(node: LexborNode, *selectors: str) -> None:
    for selector in selectors:
        for child in _inside(node, selector):
            child.decompose()


def _drop_sign_in_forms(node: LexborNode) -> None:
    for form in _inside(node, "form"):
        if form.css_first(_SIGN_IN) is not None:
            form.decompose()


def _matches(node: LexborNode, selector: str) -> bool:
    """Whether `node` itself matches `selector`. Lexbor's `css_matches` says yes when any
    element inside it does; its first match, in document order, is the node if it matches."""
    first = node.css_first(selector)
    return first is not None and first.mem_id == node.mem_id


def _inside(node: LexborNode, selector: str) -> list[LexborNode]:
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
    words = _words(teaser)  # a reader's words: CJK text is one run of word characters
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


def _declares_post(tree: LexborHTMLParser) -> bool:
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


def _container(
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
    first: LexborNode | None = None
    dense: LexborNode | None = None
    densest_done = False
    for selector in rules.teaser:
        matches = tree.css(selector)
        if (
            len(matches) == 1
            and selector not in _LOOSE_SELECTORS
            and _candidate(matches[0])
            and _holds_paragraph_words(matches[0], rules.min_words)
        ):
            # The one match (so no pieces, and no match inside it) holds an article's worth:
            # it wins whatever its exact count, which a long story need not be read through for.
            return _with_lede(matches[0])
        best, best_words = None, 0
        pieces: dict[int, int] = {}  # matches holding text, by their parent
        for node in matches:
            if not _candidate(node):
                continue
            words = _own_paragraph_words(node, selector)
            if words > best_words:
                best, best_words = node, words
            holder = node.parent if words else None
            for _ in range(2):  # the parent, and the grandparent of pieces wrapped one by one
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
                for _ in range(2):
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
                or _within(dense, best)
                or _paragraph_words(dense) <= 2 * best_words
                or _in_notice(dense, best, rules)
            ):
                return _with_lede(best)
        if first is None and best is not None:
            first = best
    if not densest_done:
        dense = _densest(tree, floor)
    post = _post_element(tree)
    # The page names its post, and the densest text lies outside it: a sidebar blurb
    # outweighs a short post.
    if (
        post is not None
        and (dense is None or not _within(dense, post))
        and _paragraph_words(post) >= floor
    ):
        return post
    return dense or first


def _candidate(node: LexborNode) -> bool:
    """Whether a teaser selector's match may hold the article: not a `<meta>` or `<link>`
    (`<meta itemprop="articleBody">`), nor inside a sidebar, a menu or a footer."""
    return node.tag not in ("meta", "link") and not _within_any(node, ("aside", "nav", "footer"))


def _holds_paragraph_words(node: LexborNode, floor: int) -> bool:
    """`_paragraph_words(node) >= floor`, its paragraphs read only until they say enough."""
    # Past `_FEW_PARAGRAPH_WORDS` no paragraph is taken back as chrome: the count only grows.
    enough = max(floor, _FEW_PARAGRAPH_WORDS)
    words = 0
    for paragraph in node.css("p"):
        words += _words(paragraph.text(separator=" "))
        if words >= enough:
            return True
    return _paragraph_words(node) >= floor


def _in_notice(node: LexborNode, article: LexborNode, rules: ExtractRules) -> bool:
    """Whether `node` lies in a paywall notice (a `paywall` selector's match) apart from
    `article`: a long offer beside a short teaser is the notice, not the story. A match that
    holds the article is the article's own container (`<article class="paywall">`)."""
    selectors = ", ".join(rules.paywall)
    if not selectors:
        return False
    holder: LexborNode | None = node
    while holder is not None and holder.tag not in ("body", "html"):
        if _matches(holder, selectors) and not _within(article, holder):
            return True
        holder = holder.parent
    return False


def _post_element(tree: LexborHTMLParser) -> LexborNode | None:
    """The element the page marks as its post (WordPress `post-N`, hentry, schema.org
    microdata), the one with the most paragraph words."""
    best, best_words = None, 0
    for node in tree.css(_POST_ELEMENTS):
        if node.tag in ("meta", "link", "body", "html") or not _names_post(node):
            continue
        words = _paragraph_words(node)
        if words > best_words:
            best, best_words = node, words
    return best


def _names_post(node: LexborNode) -> bool:
    """Whether a match of `_POST_ELEMENTS` names a post: by a class or schema.org type, or
    by WordPress's numbered id."""
    ident = node.id or ""
    return (ident.startswith("post-") and ident[5:].isdigit()) or _matches(node, _POST_CLASSES)


def _own_paragraph_words(node: LexborNode, selector: str) -> int:
    """`_paragraph_words` without the paragraphs of the matches of `selector` that `node`
    holds: an `<article>` of related-post cards, each an `<article>`, holds no story of its
    own, and one that wraps the story's `<article>` holds the story's words only once."""
    inner = {match.mem_id for match in _inside(node, selector)}
    if not inner:
        return _paragraph_words(node)
    return sum(
        _words(p.text(separator=" "))
        for p in node.css("p")
        if not any(a.mem_id in inner for a in _ancestors(p, node))
    )


def _ancestors(node: LexborNode, stop: LexborNode) -> Iterator[LexborNode]:
    """The elements between `node` and `stop`, both left out."""
    current = node.parent
    while current is not None and current.mem_id != stop.mem_id:
        yield current
        current = current.parent


def _paragraph_words(node: LexborNode) -> int:
    """The words of a block's paragraphs; of all its text when it has no `<p>` of its own (a
    story written between `<br>`s), the `<p>`s of its footer and side boxes left out."""
    paragraphs = node.css("p")
    if paragraphs:
        words = sum(_words(p.text(separator=" ")) for p in paragraphs)
        if words >= _FEW_PARAGRAPH_WORDS:
            return words
        # A copyright line in the footer of a story with no <p> must not leave the story's
        # words uncounted: looked at only when the paragraphs say little, most pages never are.
        chrome = {p.mem_id for p in node.css(_CHROME_PARAGRAPHS)}
        if any(p.mem_id not in chrome for p in paragraphs):
            return words - sum(
                _words(p.text(separator=" ")) for p in paragraphs if p.mem_id in chrome
            )
    return _words(node.text(separator=" "))


# This many sibling matches of a named article selector, each with text, are one article's
# pieces (`_container`), and so many sibling blocks of one kind around the densest text
# (`_with_pieces`); two may be a story and its summary box.
_PIECES = 3
# How far above the densest text's block its pieces are looked for: Quanta's sections are
# four levels above the block that holds its paragraphs.
_PIECE_LEVELS = 5
# Below this many words of <p> text a block is looked at again for paragraphs that are not
# its text (`_CHROME_PARAGRAPHS`); an article's paragraphs say more.
_FEW_PARAGRAPH_WORDS = 50
_CHROME_PARAGRAPHS = "footer p, aside p, nav p, [class*=footer] p"


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
        (p.parent, _words(p.text(separator=" ")), paragraph) for p in body.css("p")
    ]
    found += [
        (block, _words(block.text(deep=False, separator=" ")), bare)
        for block in body.css("td, div, section, article, main")
    ]
    # Paragraphs between <br>s in a <span> (a CMS's "article leader" wrapper) are bare text
    # too; a <span> inside a paragraph is only a run of its words.
    found += [
        (span, _words(span.text(deep=False, separator=" ")), bare)
        for span in body.css("span:has(> br)")
        if not _within_any(span, ("p",))
    ]
    for holder, words, weights in found:
        if (
            holder is None
            or words < 8
            or _within_any(holder, ("aside", "nav", "footer", "header", "form"))
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
                words = [_paragraph_words(piece) for piece in pieces]
                if (
                    min(words) >= _FEW_PARAGRAPH_WORDS
                    and sum(words) * 10 >= _paragraph_words(parent) * 9
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
    beside the pieces are marked (`_ASIDE`) on the holder's own children."""
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
            held = _paragraph_words(node) + lede
            if held * 20 < _paragraph_words(parent) * 17:
                return node
            # What stands between the pieces (a photo, a sidebar of other stories' headlines)
            # is not the story's: marked, and left out of its text (`extract_html`).
            for child in (*before, *after):
                if child.mem_id not in kept:
                    child.attrs[_ASIDE] = ""
            return parent
        if any((child.text(separator=" ") or "").strip() for child in (*before, *after)):
            return node  # not a wrapper of the element alone: the lede is not further up
        current = parent
    return node


def _lede_words(node: LexborNode) -> int:
    """A block's paragraph words if it may be a piece of a lede (a byline or a caption says
    less; a block of links is no story), else 0."""
    words = _paragraph_words(node)
    return words if words >= _LEDE_BLOCK_WORDS and 2 * _link_words(node) < words else 0


# Marks the blocks beside a story's pieces (`_with_lede`), which its text leaves out.
_ASIDE = "data-monitor-aside"
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
    inside = _paragraph_words(node)
    return parent if _paragraph_words(parent) <= inside * 5 // 4 else node


def _within(node: LexborNode, ancestor: LexborNode) -> bool:
    """Whether `node` is `ancestor` or inside it."""
    current: LexborNode | None = node
    while current is not None:
        if current.mem_id == ancestor.mem_id:
            return True
        current = current.parent
    return False


def _within_any(node: LexborNode, tags: tuple[str, ...]) -> bool:
    current = node.parent
    while current is not None:
        if current.tag in tags:
            return True
        current = current.parent
    return False


def _drop_chrome_blocks(container: LexborNode, *, link_lists: bool = True) -> None:
    """Blocks inside the article that are not its text: a site header, "Updated …" lines,
    and lists of links under a "Related" / "Read more" heading or (`link_lists`) made of links
    alone; a notice's "Join now | Sign in" links are its text."""
    _drop_site_headers(container)
    for block in _inside(container, "p, div, span, small, li"):
        raw = block.text(separator=" ")
        if _short_line(raw) and _dated_block(block, raw):
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
    for heading in _inside(container, "h2, h3, h4, h5, h6, strong, b, p"):
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
    for block in _inside(container, "ul, ol, div, section, p"):
        # the links' words first: most blocks hold none, and are then let go uncounted
        linked = _link_words(block)
        if not linked:
            continue
        words = word_count(block.text(separator=" "))
        if words and linked / words >= 0.8 and (block.tag != "p" or words <= 25):
            block.decompose()


def _drop_captions(container: LexborNode, floor: int) -> None:
    """A picture's caption and credit (`<figcaption>`) are not the article's text: a photo
    swapped or credited anew is not an edit of the teaser, and a caption above the first
    paragraph is not where the article starts.

    Kept are a caption of several paragraphs (a listicle's item told under its picture,
    Onedio's) and every caption of an article that would be left with fewer than `floor`
    words without them (a slideshow told in its captions): a teaser is never lost for them.
    """
    captions = [
        caption
        for caption in _inside(container, "figcaption")
        if len(caption.css("p")) < _CAPTION_PARAGRAPHS
    ]
    if not captions:
        return
    # a reader's words, as `_failure` counts them against the same floor
    words = sum(_words(caption.text(separator=" ")) for caption in captions)
    if _words(container.text(separator=" ")) - words < floor:
        return
    for caption in captions:
        caption.decompose()


# A `<figcaption>` with this many paragraphs is an item's text, not a caption.
_CAPTION_PARAGRAPHS = 3


def _drop_inner_chrome(container: LexborNode) -> None:
    """The dates, bylines, share bars, related links and ads inside the article's container
    (`_INNER_CHROME`), but not a block of paragraphs that holds a story's worth of words
    (`_STORY_WORDS`) and most of the container's: the story's own wrapper may carry such a
    word in a class (der Freitag's `js-dynamic-advertorial`)."""
    total: int | None = None
    for match in _inside(container, _INNER_CHROME):
        if match.css_first("p") is not None and (words := _paragraph_words(match)) >= _STORY_WORDS:
            if total is None:  # counted once, and only for a block this large
                total = _paragraph_words(container)
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
    return block.tag not in ("span", "small") or not _within_any(block, ("p",))


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
    return _COUNTER.search(text) is not None and not _words(
        _COUNTER.sub(" ", text).strip(" |·•-–—,:()")
    )


def _drop_site_headers(container: LexborNode) -> None:
    """A site's header repeated inside the article: a banner, a "site" header, or one that
    holds the site's navigation (so it must go before `nav` does)."""
    for header in _inside(container, "header"):
        role = (header.attributes.get("role") or "").lower()
        classes = (header.attributes.get("class") or "").lower()
        if role == "banner" or "site" in classes or header.css_first("nav") is not None:
            header.decompose()


def _short_text(node: LexborNode, words: int, raw: str | None = None) -> str | None:
    """A block's normalised text if it has at most `words` words, else None. Normalising
    costs more than splitting: a block far too long is let go on the split alone. `raw`:
    the block's text, if read already."""
    raw = node.text(separator=" ") if raw is None else raw
    if _more_words(raw, 3 * words):
        return None
    text = normalise(raw)
    return text if word_count(text) <= words else None


def _more_words(text: str, limit: int) -> bool:
    """Whether `text` has more than `limit` whitespace-separated words: `len(text.split())`,
    without splitting a long paragraph whole to count past the limit."""
    return len(text.split(None, limit)) > limit


def _link_share(node: LexborNode) -> float:
    """The share of a block's words that are link text."""
    linked = _link_words(node)
    if not linked:
        return 0.0
    words = word_count(node.text(separator=" "))
    return linked / words if words else 0.0


def _link_words(node: LexborNode) -> int:
    """How many of a block's words are link text."""
    return sum(word_count(a.text(separator=" ")) for a in node.css("a"))


def _paywall_nodes(
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
    for selector in (*rules.paywall, _KNOWN_NOTICES, _NAMED_PAYWALL):
        matches = tree.css(selector)
        # A class put on the article's paragraphs marks the part a reader without access would
        # not see (Wired's `p.paywall`): the other blocks inside the article that carry it
        # (an inset card) are more of that part, not the notice.
        marks_text = container is not None and any(
            node.tag == "p" and _within(node, container) for node in matches
        )
        for node in matches:
            text = normalise(node.text(separator=" "))
            if not text:
                continue
            if (declared == "free" and _in_dialog(node)) or _about_comments(node, container):
                continue
            if container is not None and (
                _within(container, node)
                or (
                    _within(node, container)
                    # a paragraph, or the cut part of one (ABC's `span.paywall`), or a block
                    # that holds where the article's text begins (The West Australian's
                    # `div.paywall` around the story and its notice)
                    and (
                        node.tag == "p"
                        or marks_text
                        or _within_any(node, ("p",))
                        or _holds_first_paragraph(node, container)
                    )
                )
            ):
                walled = True  # on the article, or on a paragraph of it
                continue
            if node.tag == "article":
                continue  # another article's card, marked as for subscribers (Sermitsiaq)
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
            _phrase_nodes(body, page, container, _declared_wording(tree))
            if declared == "locked"
            else []
        )
    ), walled


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
    return _words(text[:120]) >= 8 or _words(text) >= 8


def _form_wall(tree: LexborHTMLParser, container: LexborNode) -> list[LexborNode]:
    """The block beside the article that holds a sign-in form, on a page that says it is
    locked and shows no notice known by its class or wording: there the form is the wall's
    way in, whatever its heading says (The Australian's "Login to read the rest of this
    article" over its login forms, reworded). Without this, the page read as a login wall: a
    failed check where the notice had changed.

    The block is the form's ancestor just below the element it shares with the article; a
    form in the article itself, in the site's menus or in the comments is not one."""
    for password in tree.css('input[type="password"]'):
        if _in_site_menu(password) or _within(password, container):
            continue
        block = password
        while block.parent is not None and not _within(container, block.parent):
            block = block.parent
        words = word_count(normalise(block.text(separator=" ")))
        if words <= _NOTICE_WORDS and not _about_comments(block, container):
            return [block]
    return []


# A wall's two ways in, said as its links' whole text (English: `_link_wall`)
_SIGN_IN_LINK = re.compile(r"(?i)(?:sign|log) ?in")
_SUBSCRIBE_LINK = re.compile(r"(?i)subscribe(?: now| today)?")


def _link_wall(tree: LexborHTMLParser, container: LexborNode) -> list[LexborNode]:
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
        if _in_site_menu(link) or not _within(link, container):
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


def _in_site_menu(node: LexborNode) -> bool:
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


# Words of an id that name the site's header or its menus (`_in_site_menu`).
_SITE_MENU_ID = frozenset(("header", "nav", "navbar", "menu", "masthead"))
_ID_WORD = re.compile(r"[a-z]+")


def _in_dialog(node: LexborNode) -> bool:
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
    return _in_dialog(node)


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
        if _more_words(raw, 3 * 60):  # far too long for a notice, whatever normalising does
            continue
        text = normalise(raw)
        # a block says only what the page says: only the page's phrases are looked for
        if not _notice_wording(text, wording) or not 5 <= _words(text) <= 60:
            continue
        if container is not None and _within(container, node):
            continue
        if _in_page_footer(node, container):
            continue
        if found and _within(node, found[-1]):
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
        if container is not None and _within(container, parent):
            break
        around = normalise(parent.text(separator=" "))
        words = _words(around)
        if words > 60 and not (
            words <= _NOTICE_WORDS
            and container is not None
            and _within(parent, container)
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
    later = {node.mem_id for node in found[1:] if _within(node, container)}
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
        if container is not None and _within(container, current):
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
            if container is not None and _within(current, container):
                return False
            return not _within_any(current, ("article",))
        current = current.parent
    return False


def _says_notice(text: str) -> bool:
    """Whether `text` holds notice wording: a phrase in English or another European language
    that starts a word (in any case), or a Japanese one anywhere."""
    return bool(_notice_wording(text))


# The browser asks this of the text of a frame or a shadow root, which a page's HTML lacks.
says_notice = _says_notice
# The notices of the common paywall systems, as one selector list.
KNOWN_NOTICES = _KNOWN_NOTICES
# The class the browser gives the copy of a notice it found in a frame or a shadow root by its
# wording: one of `_KNOWN_NOTICES`, so that no page pays for one more selector.
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


def _declared_wording(tree: LexborHTMLParser) -> tuple[re.Pattern[str], ...]:
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


def _words(text: str) -> int:
    """How many words a reader sees in `text`, counting CJK text at two characters a word."""
    if text.isascii():  # most text, and said at once
        return word_count(text)
    cjk = len(_CJK.findall(text))
    return word_count(_CJK.sub(" ", text)) + (cjk + 1) // 2 if cjk else word_count(text)


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


def _declared_access(tree: LexborHTMLParser, container: LexborNode | None) -> Access | None:
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
    return any(_within(n, container) or _within(container, n) for n in nodes)


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
