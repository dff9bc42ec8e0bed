"""The markup real publishers use (issue 13's list), one minimal page each: the article is found,
access is read from every declaration, and chrome inside the article does not count."""

from __future__ import annotations

import pytest

from monitor.detect.compare import compare
from monitor.detect.extract import Regions, extract_html
from monitor.detect.rules import ExtractRules

STORY = (
    "<p>The committee met on Tuesday to weigh the proposal, which would reshape how the city "
    "funds its libraries for the next decade and beyond.</p>"
    "<p>Members heard from residents for three hours before adjourning without a vote, saying "
    "they needed more time to study the figures presented by the finance office.</p>"
)
FIRST = "The committee met on Tuesday"


def page(body: str, head: str = "", body_attrs: str = "") -> str:
    return f"<html><head><title>Story</title>{head}</head><body {body_attrs}>{body}</body></html>"


def regions(html: str) -> Regions:
    return extract_html(html, ExtractRules())


def test_article_found_without_any_known_selector() -> None:
    r = regions(page(f'<div class="story-body">{STORY}</div><div class="footer-links">x</div>'))
    assert r.access == "free" and r.teaser.startswith(FIRST)


def test_a_promo_article_card_before_the_story_loses() -> None:
    promo = "<article><h2>Subscribe now</h2><p>Half price offer.</p></article>"
    r = regions(page(promo + f"<article>{STORY}</article>"))
    assert r.teaser.startswith(FIRST)


def test_an_empty_meta_article_body_is_not_the_article() -> None:
    r = regions(page(f'<meta itemprop="articleBody" content=""><div class="content">{STORY}</div>'))
    assert r.teaser.startswith(FIRST)


def test_paywall_class_on_the_article_container_is_not_the_notice() -> None:
    r = regions(page(f'<article class="paywall">{STORY}</article>'))
    assert r.teaser.startswith(FIRST)
    assert r.paywall == ""
    # the class says the text is for the paywall's script to hide; no wall shows: metered
    assert r.access == "metered"


WALL = '<div class="story-login"><h3>Subscribe to continue reading this article</h3></div>'


def test_a_paywall_class_with_a_notice_is_locked_and_without_it_metered() -> None:
    walled = regions(page(f'<article class="paywall">{STORY}</article>{WALL}'))
    assert walled.access == "locked"
    assert walled.paywall == "Subscribe to continue reading this article"
    lifted = regions(page(f'<article class="paywall">{STORY}</article>'))
    comparison = compare(walled, lifted)
    assert comparison.kinds == ("access_changed",)
    assert (comparison.access_before, comparison.access_after) == ("locked", "metered")


def test_a_declaration_outranks_the_paywall_class_either_way() -> None:
    def declaring(free: str) -> str:
        ld = (
            '<script type="application/ld+json">'
            f'{{"@type": "NewsArticle", "isAccessibleForFree": {free}}}</script>'
        )
        return page(f'<article class="paywall">{STORY}</article>', head=ld)

    assert regions(declaring("true")).access == "free"
    assert regions(declaring("false")).access == "locked"


def test_paywall_class_on_body_does_not_crash() -> None:
    r = regions(page(f"<main><article>{STORY}</article></main>", body_attrs='class="paywall"'))
    assert r.teaser.startswith(FIRST) and r.paywall == ""


def test_a_moving_date_and_byline_inside_the_article_are_not_teaser() -> None:
    def at(when: str) -> str:
        return page(
            f'<article><time datetime="{when}">{when}</time><p class="byline">By A. Writer</p>'
            f"<p>Updated {when}</p>{STORY}</article>"
        )

    before, after = regions(at("2024-01-01 10:00")), regions(at("2024-01-02 11:30"))
    assert not compare(before, after).changed


def test_rotating_related_links_inside_the_article_are_not_teaser() -> None:
    def with_related(headline: str) -> str:
        return page(
            f"<article>{STORY}<h3>Read more</h3><ul><li><a href='/x'>{headline}</a></li>"
            f"<li><a href='/y'>Another {headline}</a></li></ul></article>"
        )

    before = regions(with_related("Mayor resigns over budget row"))
    after = regions(with_related("Storm closes schools across the county"))
    assert not compare(before, after).changed
    assert "Mayor" not in before.teaser


@pytest.mark.parametrize(
    "declaration",
    [
        '<meta itemprop="isAccessibleForFree" content="false">',
        '<script type="application/ld+json">{"isAccessibleForFree": "False"}</script>',
        '<script type="application/ld+json">{"isAccessibleForFree": "http://schema.org/False"}'
        "</script>",
        # not valid JSON (an unescaped quote): the declaration still counts
        '<script type="application/ld+json">{"headline": "The "best" plan", '
        '"isAccessibleForFree": false}</script>',
    ],
)
def test_every_spelling_of_not_free_is_read(declaration: str) -> None:
    assert regions(page(f"<article>{STORY}</article>", head=declaration)).access == "locked"


@pytest.mark.parametrize(
    "value", ['"True"', '"true"', '"http://schema.org/True"', '"https://schema.org/True"', "true"]
)
def test_every_spelling_of_free_is_read(value: str) -> None:
    head = f'<script type="application/ld+json">{{"isAccessibleForFree": {value}}}</script>'
    assert regions(page(f"<article>{STORY}</article>", head=head)).access == "free"


def test_a_paywalled_part_that_is_a_newsletter_box_does_not_lock_the_article() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "hasPart": {"@type": '
        '"WebPageElement", "isAccessibleForFree": false, "cssSelector": ".emailwall"}}</script>'
    )
    box = '<div class="emailwall">Get our newsletter</div>'
    assert regions(page(f"<article>{STORY}</article>{box}", head=head)).access == "free"
    locked_part = head.replace(".emailwall", ".story-rest")
    held_back = page(f"<article>{STORY}<div class='story-rest'>more</div></article>", locked_part)
    assert regions(held_back).access == "locked"


def test_a_steady_notice_is_a_notice_and_its_price_change_is_paywall_changed() -> None:
    def offer(price: str) -> str:
        return page(
            f"<article>{STORY}</article><div id='steady-paywall'>Become a member to read on. "
            f"From {price} a month.</div>"
        )

    before, after = regions(offer("5 €")), regions(offer("6 €"))
    assert before.access == "locked" and "Become a member" in before.paywall
    assert compare(before, after).kinds == ("paywall_changed",)


def test_hidden_text_is_not_teaser() -> None:
    hidden = (
        '<p style="display:none">Secret text the reader never sees.</p>'
        '<p hidden>Also hidden.</p><p aria-hidden="true">Hidden too.</p>'
    )
    r = regions(page(f"<article>{hidden}{STORY}</article>"))
    assert "Secret" not in r.teaser and "hidden" not in r.teaser.lower()
    assert r.teaser.startswith(FIRST)


def test_a_standfirst_in_the_articles_own_header_is_kept() -> None:
    header = (
        "<header><h1>Libraries</h1><p class='standfirst'>A plan to fund the city's libraries "
        "divides the council.</p></header>"
    )
    site = "<header class='site-header'><nav><a href='/'>Home</a></nav></header>"
    r = regions(page(f"{site}<article>{header}{STORY}</article>"))
    assert "divides the council" in r.teaser
    assert "Home" not in r.teaser


def test_a_notice_found_by_its_wording_takes_its_box_and_an_edit_is_paywall_changed() -> None:
    def at(offer: str) -> str:
        box = (
            '<div class="snippet-login"><p>To read the full story, <a href="/join">Join Now</a> '
            f'or <a href="/login">Sign In</a></p><h4>Members Only</h4><p>{offer}</p></div>'
        )
        return page(f"<article>{STORY}{box}</article>")

    before = regions(at("This is the analysis you can access exclusively as a Pro Member."))
    after = regions(at("This is the analysis you can access exclusively as a Premium Member."))
    assert before.access == "locked"
    assert "Members Only" in before.paywall and "Pro Member" in before.paywall
    assert "Members Only" not in before.teaser
    assert compare(before, after).kinds == ("paywall_changed",)


def test_a_date_inside_a_notice_box_is_not_notice_text() -> None:
    def at(when: str) -> str:
        box = (
            f'<div class="offer"><time>{when}</time><p>Subscribe to continue reading this '
            "story and every other one on the site.</p></div>"
        )
        return page(f"<article>{STORY}{box}</article>")

    assert not compare(regions(at("May 1, 2024")), regions(at("May 2, 2024"))).changed


def test_text_written_straight_into_a_table_cell_between_brs_is_the_article() -> None:
    essay = (
        "Silicon Valley proper is mostly suburban sprawl, and at first glance it does not "
        "seem there is anything to see.<br><br>It is not the sort of place that looks like a "
        "center of anything, and yet it is where the startups are.<br><br>"
    )
    layout = (
        '<table><tr><td><a href="/">Home</a><br><a href="/essays">Essays</a></td>'
        f'<td width="455">{essay}</td></tr></table>'
    )
    r = regions(page(layout))
    assert r.access == "free"
    assert r.teaser.startswith("Silicon Valley proper is mostly suburban sprawl")
    assert "Essays" not in r.teaser


PODCAST_POST = (
    '<div id="sidebar"><p>Thoughtful film critiques of the latest movies, with two critics '
    "who have reviewed films on the radio every week for twenty years.</p></div>"
    '<div class="post single" id="post-470"><h2>Stand Up Guys</h2><div class="entry">'
    "<p>Listen to the review by Dennis Morton, above.</p></div></div>"
)


def test_a_short_post_that_the_page_names_is_the_article_not_the_longer_sidebar() -> None:
    r = regions(page(PODCAST_POST))
    assert r.access == "free"
    assert "Listen to the review by Dennis Morton" in r.teaser
    assert "Thoughtful film critiques" not in r.teaser


def test_a_short_text_on_a_page_that_names_no_post_is_still_no_article() -> None:
    r = regions(page("<div><p>Listen to the review by Dennis Morton, above.</p></div>"))
    assert r.access == "unknown"
    assert (r.error or "").startswith("no article text found")


def test_a_wordpress_not_found_page_is_no_article_even_with_post_markup() -> None:
    body = (
        '<article id="post-0" class="post error404 not-found"><p>It seems we cannot find what '
        "you are looking for.</p></article>"
    )
    r = regions(page(body, body_attrs='class="error404"'))
    assert r.access == "unknown"


def test_a_declared_free_page_with_a_paywall_class_on_its_article_is_free() -> None:
    ld = '<script type="application/ld+json">{"isAccessibleForFree": true}</script>'
    r = regions(page(f'<article class="paywall">{STORY}</article>', head=ld))
    assert r.access == "free"


def test_a_paywall_offer_in_a_dialog_on_a_declared_free_page_is_not_its_notice() -> None:
    ld = '<script type="application/ld+json">{"isAccessibleForFree": "True"}</script>'
    modal = (
        '<div class="modal typography popup out gone"><div class="paywall modal-paywall">'
        "<h2>Only paying subscribers can comment on this post</h2></div></div>"
    )
    r = regions(page(f"<article>{STORY}</article>{modal}", head=ld))
    assert r.access == "free" and r.paywall == ""


def test_a_paywall_in_a_dialog_on_a_page_that_declares_nothing_is_still_the_notice() -> None:
    modal = (
        '<div role="dialog"><div class="paywall"><h2>Subscribe to keep reading</h2>'
        "<p>Your free articles this month are used up.</p></div></div>"
    )
    r = regions(page(f"<article>{STORY}</article>{modal}"))
    assert r.access == "locked" and "Subscribe to keep reading" in r.paywall


def test_paragraphs_written_as_divs_are_taken_together() -> None:
    paragraphs = "".join(
        f"<div><br>{text}</div>"
        for text in (
            "Catalyst Finance has achieved one of its biggest growth targets for the year.",
            "In February the business hit the first mark and in June passed the second one.",
            "The funding figure reflects the amount of invoices purchased and loans made.",
            "A long quote from the chief executive follows here, about the year and the many "
            "deals completed, the facilities provided and the plans for the next year, which "
            "will help the company keep growing as it has done since it started in 2012.",
        )
    )
    r = regions(page(f'<div class="col"><span style="font-size: 14px">{paragraphs}</span></div>'))
    assert r.teaser.startswith("Catalyst Finance has achieved")
    assert r.teaser.endswith("since it started in 2012.")


def test_a_newsletter_box_classed_article_outside_the_story_is_not_the_article() -> None:
    box = (
        '<div class="article newsletter-box"><p>Subscribe to the Eye on AI newsletter to stay '
        "informed on how artificial intelligence is shaping the future of business, every "
        "week, free, in your inbox.</p></div>"
    )
    r = regions(page(f'{box}<div class="body">{STORY * 3}</div>'))
    assert r.teaser.startswith(FIRST)
    assert "Eye on AI" not in r.teaser


def test_furniture_above_the_first_sentence_is_not_teaser() -> None:
    lead = (
        "<div>Council weighs library plan</div><div>May. 24, 2017</div>"
        "<div>BYKia Kokalitcheva</div>"
        "<ul><li>Share</li><li>Facebook</li><li>Twitter</li><li>Copy Link</li></ul>"
        "<div>(David Butow / For The Times)</div><div>2 min read</div>"
    )
    og = '<meta property="og:title" content="Council weighs library plan">'
    r = regions(page(f"<article>{lead}{STORY}</article>", head=og))
    assert r.teaser.startswith(FIRST)


def test_a_short_first_line_of_article_text_is_kept() -> None:
    r = regions(page(f"<article><p>Mark,</p><p>By 2030 we will all be gone.</p>{STORY}</article>"))
    assert r.teaser.startswith("Mark,\nBy 2030 we will all be gone.")


def test_a_first_paragraph_beside_a_metered_sites_cut_point_span_is_in_the_teaser() -> None:
    rest = "".join(f"<p>{n}: {STORY[3:-4]}</p>" for n in range(3))
    body = (
        '<div class="v-d"><p>Se ha pasado de una aportación de 1,6 millones de euros en 2018 a '
        f'casi seis millones este año.</p><span class="paywall">{rest}</span></div>'
    )
    r = regions(page(body))
    assert r.teaser.startswith("Se ha pasado de una aportación")


def test_a_promo_card_article_inside_the_page_text_is_not_the_story() -> None:
    cards = "".join(
        f'<article class="mod-article"><p>Promo {n}: a headline about another story that is '
        "long enough to count as text on its own for the selector.</p></article>"
        for n in range(2)
    )
    r = regions(page(f'<div class="col-12">{STORY * 3}{cards}</div>'))
    assert r.teaser.startswith(FIRST)


def test_a_japanese_members_only_notice_is_the_notice_and_its_edit_is_paywall_changed() -> None:
    # A cut-off teaser, then the wall: "[Paid members only] This article is for members.
    # Register to read on." The same label on a related link further down is not the notice.
    story = (
        "<p>市議会は火曜日、図書館の予算案を審議し、住民から三時間にわたって意見を聞いた。"
        "委員会は採決を見送り、財政局（市の予算担当）の数字を、さらに精査すると述べた。"
        "市長は「来年度、再び提案する」と語り、議員の多くも、その方針を支持した。</p>"
        "<p>その判断は…</p>"
    )

    def at(offer: str) -> str:
        box = (
            '<div class="regist"><p><span class="label">［有料会員限定］</span> '
            f'この記事は会員限定です。{offer}</p><a href="/join">今すぐ登録</a></div>'
        )
        related = '<ul><li><a href="/b">別の記事の見出し</a><span>［有料会員限定］</span></li></ul>'
        return page(
            f'<div class="article-text">{story}</div>{box}{related}',
            head='<meta property="og:type" content="article">',
        )

    before = regions(at("電子版に登録すると続きをお読みいただけます。"))
    after = regions(at("無料会員に登録すると続きをお読みいただけます。"))
    assert before.teaser.startswith("市議会は火曜日")
    assert before.access == "locked"
    assert "この記事は会員限定です" in before.paywall
    assert "別の記事" not in before.paywall
    assert compare(before, after).kinds == ("paywall_changed",)


LONG_STORY = STORY + STORY.replace("committee", "council").replace("libraries", "parks")
BAR = (
    '<div class="access-options"><a href="/login">Access through your organization</a> '
    '<a href="/buy">Purchase PDF</a></div>'
)


def access_box(heading: str) -> str:
    return (
        f'<div id="access-box"><h2>{heading}</h2><p>Get full-text access by signing in, or '
        'access through your organization.</p><a href="/buy">Purchase PDF</a></div>'
    )


def test_notice_wording_in_the_article_after_its_text_is_the_wall_not_the_bar_above() -> None:
    def at(heading: str) -> str:
        return page(f"<article><h1>A study</h1>{BAR}{LONG_STORY}{access_box(heading)}</article>")

    before, after = regions(at("Organizational access")), regions(at("Institutional access"))
    assert before.paywall.startswith("Organizational access")
    assert "Organizational access" not in before.teaser
    assert compare(before, after).kinds == ("paywall_changed",)


def test_the_same_wording_again_right_after_the_first_block_leaves_the_first_the_notice() -> None:
    def at(heading: str) -> str:
        return page(f"<article>{LONG_STORY}{access_box(heading)}{BAR}</article>")

    before = regions(at("Organizational access"))
    assert before.paywall.startswith("Organizational access")
    assert compare(before, regions(at("Institutional access"))).kinds == ("paywall_changed",)
