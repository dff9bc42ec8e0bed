from __future__ import annotations

import json
from dataclasses import replace

import pytest

from monitor.config.settings import ExtractRules
from monitor.demo.site import Article, render
from monitor.detect.capture import Capture
from monitor.detect.extract import Regions, extract

RULES = ExtractRules()
NOTICE = (
    "This article is reserved for War on the Rocks members. Join our community to unlock "
    "exclusive insights and analysis."
)
TEXT = " ".join(["The quick brown fox jumps over the lazy dog."] * 6)


def html_regions(page: str, rules: ExtractRules = RULES) -> Regions:
    return extract(Capture(url="http://x/a", body=page.encode(), media_type="text/html"), rules)


def text_regions(text: str, rules: ExtractRules = RULES) -> Regions:
    return extract(Capture(url="capture.txt", body=text.encode()), rules)


def page(body: str, head: str = "", title: str = "An article") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def test_seed_snapshot_regions(seed_texts: list[str]) -> None:
    lines = seed_texts[0].split("\n")
    regions = text_regions(seed_texts[0])
    assert regions.access == "locked"
    assert regions.paywall == f"Members-Only Content\n{NOTICE}"
    assert regions.teaser.startswith("A lot happens every day.")
    assert regions.teaser.endswith("As a result, the")
    assert regions.description.endswith("munitions for its war")
    assert lines[3].startswith(lines[0][:100])


def test_seed_and_its_html_page_are_equal(
    seed_articles: list[Article], seed_texts: list[str]
) -> None:
    for article, text in zip(seed_articles, seed_texts, strict=True):
        from_text = text_regions(text)
        from_html = html_regions(render(article))
        assert from_html.access == "locked"
        assert from_html.fingerprint == from_text.fingerprint


def test_page_chrome_does_not_count(seed_articles: list[Article]) -> None:
    a = html_regions(render(seed_articles[0]))
    b = html_regions(render(replace(seed_articles[0], chrome=41)))
    assert a.fingerprint == b.fingerprint


def test_json_ld_in_graph_declares_locked_without_notice() -> None:
    ld = {"@graph": [{"@type": "WebSite"}, {"@type": "Article", "isAccessibleForFree": "False"}]}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    regions = html_regions(page(f"<article><p>{TEXT}</p></article>", head))
    assert regions.access == "locked"
    assert regions.paywall == ""


@pytest.mark.parametrize(
    "tier, access", [("locked", "locked"), ("metered", "locked"), ("free", "free")]
)
def test_content_tier(tier: str, access: str) -> None:
    head = f'<meta property="article:content_tier" content="{tier}">'
    assert html_regions(page(f"<article><p>{TEXT}</p></article>", head)).access == access


def test_free_page_without_notice() -> None:
    regions = html_regions(page(f"<main><p>{TEXT}</p></main>"))
    assert (regions.access, regions.paywall) == ("free", "")


@pytest.mark.parametrize(
    "selector",
    [
        ".mepr-unauthorized-message",
        ".pmpro_content_message",
        "#leaky_paywall_message",
        ".memberful-paywall",
        ".paywall",
    ],
)
def test_default_paywall_selectors(selector: str) -> None:
    attr = f'id="{selector[1:]}"' if selector.startswith("#") else f'class="{selector[1:]}"'
    body = (
        f'<div class="entry-content"><p>{TEXT}</p><div {attr}><p>Subscribe to read.</p></div></div>'
    )
    regions = html_regions(page(body))
    assert regions.access == "locked"
    assert regions.paywall == "Subscribe to read."
    assert "Subscribe" not in regions.teaser


def test_notice_found_by_marker_text_when_no_selector_matches() -> None:
    body = (
        f'<div class="entry-content"><p>{TEXT}</p><section class="gate"><h4>Members-Only '
        f"Content</h4><p>{NOTICE}</p></section></div>"
    )
    regions = html_regions(page(body))
    assert regions.access == "locked"
    assert regions.paywall == f"Members-Only Content\n{NOTICE}"
    assert regions.teaser == TEXT


def test_custom_selectors_from_config() -> None:
    rules = ExtractRules(
        teaser=(".story",),
        paywall=(".wall",),
        description=("p.dek",),
        markers=("Subscribers only",),
    )
    body = (
        f'<p class="dek">A dek.</p><div class="story"><p>{TEXT}</p></div>'
        '<div class="wall">Pay up</div>'
    )
    regions = html_regions(page(body), rules)
    assert (regions.teaser, regions.paywall, regions.description) == (TEXT, "Pay up", "A dek.")


def test_inline_elements_do_not_split_words_and_blocks_do_not_glue() -> None:
    body = f"<article><p>Hel<b>lo</b> world.</p><p>Next one.</p><p>{TEXT}</p></article>"
    regions = html_regions(page(body))
    assert regions.teaser.startswith("Hello world.\nNext one.")


def test_description_prefers_og_then_meta_name() -> None:
    both = (
        '<meta name="description" content="plain">'
        '<meta property="og:description" content="og &amp; more">'
    )
    assert html_regions(page(f"<main><p>{TEXT}</p></main>", both)).description == "og & more"
    only = '<meta name="description" content="plain">'
    assert html_regions(page(f"<main><p>{TEXT}</p></main>", only)).description == "plain"


@pytest.mark.parametrize(
    "doc, reason",
    [
        ("", "no article"),
        (page("", title="Just a moment..."), "bot challenge"),
        (page("<p>Checking your browser before accessing the site.</p>"), "bot challenge"),
        (page('<form id="challenge-form"></form><main><p>x</p></main>'), "bot challenge"),
        (
            page(
                "<main><h1>Sorry</h1><p>That page does not exist.</p></main>",
                title="Page not found",
            ),
            "error page",
        ),
        (
            page(
                '<main><h1>Log in</h1><form><input name="u"><input type="password"></form>'
                "<p>Members sign in to continue reading.</p></main>",
                title="Log In",
            ),
            "login wall",
        ),
        (page("<main><p>Short.</p></main>"), "no article text"),
    ],
)
def test_pages_without_an_article_are_unknown(doc: str, reason: str) -> None:
    regions = html_regions(doc)
    assert regions.access == "unknown"
    assert regions.error is not None and reason in regions.error


@pytest.mark.parametrize("text", ["", "\n\n", "Just a moment...\nChecking your browser"])
def test_empty_or_challenge_snapshots_are_unknown(text: str) -> None:
    assert text_regions(text).access == "unknown"


def test_free_snapshot_with_description() -> None:
    regions = text_regions(f"{TEXT}\n{TEXT[:60]}")
    assert (regions.access, regions.teaser, regions.description) == ("free", TEXT, TEXT[:60])


def test_snapshot_markers_are_configurable() -> None:
    rules = ExtractRules(markers=("Subscriber Exclusive",))
    regions = text_regions(f"{TEXT}\nSubscriber Exclusive\nPay to read.\nA description.", rules)
    assert (regions.access, regions.paywall, regions.description) == (
        "locked",
        "Subscriber Exclusive\nPay to read.",
        "A description.",
    )
