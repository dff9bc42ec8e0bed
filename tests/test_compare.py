"""The detection rules: what must never be reported, and what must always be."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.demo.site import Article, render
from monitor.detect.capture import Capture
from monitor.detect.compare import compare, headline, suspect
from monitor.detect.extract import Regions, extract
from monitor.detect.normalise import normalise
from monitor.detect.rules import ExtractRules

from .conftest import SEED_FILES

RULES = ExtractRules()


def snapshot(text: str | bytes) -> Regions:
    body = text.encode("utf-8") if isinstance(text, str) else text
    return extract(Capture(url="snap.txt", body=body), RULES)


def html(article: Article | str) -> Regions:
    page = render(article) if isinstance(article, Article) else article
    return extract(Capture(url="http://x/", body=page.encode(), media_type="text/html"), RULES)


def edit_line(text: str, index: int, edit: Callable[[str], str]) -> str:
    lines = text.split("\n")
    lines[index] = edit(lines[index])
    return "\n".join(lines)


NOISE: dict[str, Callable[[str], str | bytes]] = {
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "bom": lambda t: "\ufeff" + t,
    "bom bytes": lambda t: b"\xef\xbb\xbf" + t.encode(),
    "runs of spaces and tabs": lambda t: t.replace(" ", "  \t "),
    "nbsp": lambda t: t.replace(" ", "\u00a0"),
    "straight quotes": lambda t: t.replace("’", "'").replace("“", '"').replace("”", '"'),
    "en dash for em dash": lambda t: t.replace("—", "–"),
    "zero-width spaces": lambda t: t.replace("North", "No\u200brth"),
    "soft hyphens": lambda t: t.replace("Pyongyang", "Pyong\u00adyang"),
    "html entities": lambda t: t.replace("’", "&#8217;"),
    "ornament spacing": lambda t: t.replace("***", " * * * "),
    "blocks separated": lambda t: t.replace("NorthRussia", "North Russia").replace(
        ".Jenny", ". Jenny"
    ),
    "trailing ellipsis": lambda t: edit_line(t, 0, lambda line: line + " […]"),
}


@pytest.mark.parametrize("noise", NOISE)
def test_noise_in_snapshots_is_never_a_change(noise: str, seed_texts: list[str]) -> None:
    for text in seed_texts:
        comparison = compare(snapshot(text), snapshot(NOISE[noise](text)))
        assert not comparison.changed, (noise, comparison.kinds)
        assert comparison.kinds == ()


def test_seed_text_and_live_html_compare_equal(
    seed_texts: list[str], seed_articles: list[Article]
) -> None:
    for text, article in zip(seed_texts, seed_articles, strict=True):
        comparison = compare(snapshot(text), html(article))
        assert not comparison.changed
        assert comparison.access_before == comparison.access_after == "locked"


def test_html_noise_is_never_a_change(seed_articles: list[Article]) -> None:
    article = seed_articles[1]
    base = html(article)
    page = render(article)
    variants = {
        "chrome rotated": render(replace(article, chrome=99)),
        "paragraphs merged": page.replace("</p>\n<p>", " ", 3),
        "entities": page.replace("’", "&#8217;").replace("—", "&mdash;"),
        "json-ld gone, notice stays": page.split('<script type="application/ld+json">')[0]
        + page.split("</script>", 1)[1],
        "inline script added": page.replace("<p>", "<p><script>var n=1;</script>", 1),
        "minified": page.replace("\n", ""),
    }
    for name, variant in variants.items():
        comparison = compare(base, html(variant))
        assert not comparison.changed, (name, comparison.kinds)


def _kinds(old: Regions, new: Regions) -> tuple[str, ...]:
    comparison = compare(old, new)
    assert comparison.changed
    return comparison.kinds


@pytest.mark.parametrize(
    "old, new, shown",
    [
        ("took a rare trip", "took a rare journey", "[-trip-]{+journey+}"),
        ("at least 11,000 troops", "at least 12,000 troops", "[-11,000-]{+12,000+}"),
        ("is likely to result", "is not likely to result", "{+not+}"),
        ("Jenny Town Senior Fellow", "Jane Town Senior Fellow", "[-Jenny-]{+Jane+}"),
    ],
)
def test_teaser_edits_are_reported(old: str, new: str, shown: str, seed_texts: list[str]) -> None:
    text = next(t for t in seed_texts if old in t.split("\n")[0])
    edited = edit_line(text, 0, lambda line: line.replace(old, new))
    comparison = compare(snapshot(text), snapshot(edited))
    assert comparison.kinds == ("teaser_rewritten",)
    assert shown in comparison.regions["teaser"].plain()
    assert not comparison.regions["paywall"].changed
    assert not comparison.regions["description"].changed


@pytest.mark.parametrize("cut", [-40, +0])
def test_teaser_cut_moved(cut: int, seed_texts: list[str]) -> None:
    text = seed_texts[0]
    if cut:
        edited = edit_line(text, 0, lambda line: line[:cut])
    else:
        edited = edit_line(text, 0, lambda line: line + " the relationship may not last.")
    assert _kinds(snapshot(text), snapshot(edited)) == ("teaser_length_changed",)


def test_notice_reworded_or_shortened(seed_texts: list[str]) -> None:
    text = seed_texts[0]
    reworded = edit_line(text, 2, lambda n: n.replace("Join our community", "Become a member"))
    shortened = edit_line(text, 2, lambda n: n.split(".")[0] + ".")
    for edited in (reworded, shortened):
        comparison = compare(snapshot(text), snapshot(edited))
        assert comparison.kinds == ("paywall_changed",)
        assert comparison.access_after == "locked"


def test_only_the_description(seed_texts: list[str]) -> None:
    text = seed_texts[1]
    edited = edit_line(text, 3, lambda d: d.replace("This weekend", "Last weekend"))
    comparison = compare(snapshot(text), snapshot(edited))
    assert comparison.kinds == ("description_changed",)
    assert "[-This-]{+Last+}" in comparison.regions["description"].plain()


def test_paywall_lifted_and_added(seed_articles: list[Article]) -> None:
    locked = seed_articles[0]
    lifted = replace(locked, locked=False, teaser=locked.teaser + " the rest of the article.")
    kinds = _kinds(html(locked), html(lifted))
    assert kinds == ("access_changed", "teaser_length_changed")
    comparison = compare(html(lifted), html(locked))
    assert (comparison.access_before, comparison.access_after) == ("free", "locked")
    assert "access_changed" in comparison.kinds


def test_unknown_names_the_side_and_keeps_both_texts(seed_texts: list[str]) -> None:
    good, bad = snapshot(seed_texts[0]), snapshot("")
    assert bad.error
    for old, new, side in ((good, bad, "new"), (bad, good, "old")):
        comparison = compare(old, new)
        assert comparison.error == f"{side} capture has no recognisable article: {bad.error}"
        assert comparison.changed is False and comparison.kinds == ()
        assert (comparison.access_before, comparison.access_after) == (old.access, new.access)
        assert set(comparison.regions) == {"teaser", "paywall", "description"}
        for name, region in comparison.regions.items():
            assert region.changed is False and region.plain() == ""
            assert (region.before, region.after) == (getattr(old, name), getattr(new, name))
    silent = compare(good, replace(bad, error=None))
    assert silent.error == "new capture has no recognisable article: unknown reason"


def test_regions_carry_both_texts(seed_texts: list[str]) -> None:
    old = snapshot(seed_texts[0])
    new = snapshot(edit_line(seed_texts[0], 0, lambda t: t.replace("rare trip", "rare journey")))
    comparison = compare(old, new)
    for name, region in comparison.regions.items():
        assert region.changed is (name == "teaser")
        assert (region.before, region.after) == (getattr(old, name), getattr(new, name))
    teaser = comparison.regions["teaser"]
    assert teaser.plain().startswith("… ") and "[-trip-]{+journey+}" in teaser.plain()
    assert len(teaser.plain(context=2)) < len(teaser.plain())
    assert teaser.plain(context=None).startswith("A lot happens every day.")


def test_a_notice_gone_from_a_page_still_locked_is_a_paywall_change(
    seed_texts: list[str],
) -> None:
    old = snapshot(seed_texts[0])
    new = replace(old, paywall="")
    assert old.paywall and old.access == new.access == "locked"
    assert compare(old, new).kinds == ("paywall_changed",)


def test_unknown_is_an_error_not_a_change(seed_texts: list[str]) -> None:
    comparison = compare(snapshot(seed_texts[0]), snapshot(""))
    assert not comparison.changed
    assert comparison.access_after == "unknown"
    assert comparison.error and "no recognisable article" in comparison.error


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=400))
def test_a_capture_and_its_respaced_copy_never_differ(text: str) -> None:
    # Two extractions, not one object compared with itself: spacing is never a change.
    respaced = text.replace(" ", " \t ")
    for make in (snapshot, lambda t: html(f"<html><body><main>{t}</main></body></html>")):
        old, new = make(text), make(respaced)
        comparison = compare(old, new)
        assert not comparison.changed, comparison.kinds
        assert comparison.kinds == ()


SEED = SEED_FILES[0].read_text(encoding="utf-8")


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=400))
def test_a_word_added_to_an_article_is_always_a_change(text: str) -> None:
    # A line that ends with a cut mark ("...", "[...]") has it dropped from the teaser (the cut
    # is no edit): the word added after it then comes in with the mark, `{+... Zanzibar+}`.
    assume(not normalise(text).rstrip().endswith(("...", "[...]")))
    base = edit_line(SEED, 0, lambda line: f"{line} {text}")
    old, new = snapshot(base), snapshot(edit_line(base, 0, lambda line: line + " Zanzibar"))
    assert old.access == new.access == "locked"
    comparison = compare(old, new)
    assert comparison.changed
    assert any("{+Zanzibar+}" in r.plain() for r in comparison.regions.values())


# The summary line, the JSON object and the broken-extraction warning, on hand-made regions.

TEASER = "The committee met on Tuesday to weigh the proposal for the city libraries."
NOTICE_LINE = "Support our newsroom to read the rest."


@pytest.mark.parametrize(
    ("kinds", "before", "after", "line"),
    [
        ((), "locked", "locked", "No change"),
        (("access_changed",), "locked", "free", "Paywall lifted"),
        (("access_changed",), "free", "locked", "Paywall added"),
        (("access_changed",), "locked", "metered", "Paywall now metered"),
        (("access_changed",), "metered", "locked", "Paywall added"),
        (("access_changed",), "locked", "unknown", "Access locked → unknown"),
        (
            ("access_changed", "teaser_length_changed"),
            "locked",
            "free",
            "Paywall lifted, teaser cut moved",
        ),
        (
            ("paywall_changed", "teaser_rewritten", "description_changed"),
            "locked",
            "locked",
            "Paywall notice reworded, teaser edited, description changed",
        ),
    ],
)
def test_the_headline_names_every_kind_in_one_line(
    kinds: tuple[str, ...], before: str, after: str, line: str
) -> None:
    assert headline(kinds, before, after) == line


def test_the_json_of_a_change_holds_kinds_access_and_each_regions_texts_and_diff() -> None:
    old = Regions(TEASER, NOTICE_LINE, "A dek.", "locked")
    new = Regions(TEASER.replace("Tuesday", "Monday"), NOTICE_LINE, "A dek.", "locked")
    data = compare(old, new).to_json()
    assert data == {
        "changed": True,
        "kinds": ["teaser_rewritten"],
        "access": {"before": "locked", "after": "locked"},
        "regions": {
            "teaser": {
                "changed": True,
                "before": old.teaser,
                "after": new.teaser,
                "diff": compare(old, new).regions["teaser"].plain(),
            },
            "paywall": {
                "changed": False,
                "before": NOTICE_LINE,
                "after": NOTICE_LINE,
                "diff": "",
            },
            "description": {"changed": False, "before": "A dek.", "after": "A dek.", "diff": ""},
        },
    }
    assert "[-Tuesday-]{+Monday+}" in data["regions"]["teaser"]["diff"]


def test_the_json_of_a_failed_comparison_carries_its_error() -> None:
    old = Regions(TEASER, "", "", "free")
    data = compare(old, Regions.failed("no article text found")).to_json()
    assert data["changed"] is False and data["kinds"] == []
    assert data["error"] == "new capture has no recognisable article: no article text found"


def test_the_json_of_a_comparison_without_error_has_no_error_key() -> None:
    old = Regions(TEASER, "", "", "free")
    assert "error" not in compare(old, old).to_json()


def _locked(teaser: str = TEASER, notice: str = NOTICE_LINE) -> Regions:
    return Regions(teaser, notice, "", "locked")


def _free(teaser: str) -> Regions:
    return Regions(teaser, "", "", "free")


def test_a_notice_gone_while_the_article_did_not_grow_is_suspect() -> None:
    reason = suspect(_locked(), _free(TEASER))
    assert reason == (
        "regions stopped matching: the paywall notice is gone but the article text did not "
        "grow; check the source's paywall selectors and markers"
    )


def test_a_notice_gone_and_read_as_article_text_is_suspect() -> None:
    assert suspect(_locked(), _free(f"{TEASER} {NOTICE_LINE}"))


def test_a_notice_gone_with_more_article_text_is_a_lifted_paywall_not_suspect() -> None:
    assert suspect(_locked(), _free(f"{TEASER} And the rest of the story follows.")) is None


def test_only_notice_lines_of_five_words_or_more_count_as_read_as_article_text() -> None:
    old = _locked(notice="Join us today, friend.\nSubscribe now")  # 4 words, then 2
    grown = _free(f"{TEASER} Join us today, friend. Subscribe now, and more text.")
    assert suspect(old, grown) is None
    five = _locked(notice="Join us today, dear friend.")
    assert suspect(five, _free(f"{TEASER} Join us today, dear friend. More text."))


def test_nothing_is_suspect_when_there_was_no_notice_or_one_is_still_there() -> None:
    assert suspect(_free(TEASER), _free("")) is None
    assert suspect(_locked(), _locked(teaser="")) is None
