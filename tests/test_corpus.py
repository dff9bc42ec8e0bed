"""Detection judged on real article pages saved in public test fixtures (tests/corpus/): every
page, each chrome-only edit (outside and inside the article), a teaser edit, a description edit,
a notice edit and an unlock, through the code `monitor compare` runs."""

from __future__ import annotations

import pytest

from monitor.detect.compare import compare
from tests.corpus.score import KNOWN_MISSES, Score, regions_of, score
from tests.corpus.variants import load_corpus


@pytest.fixture(scope="module")
def corpus_score() -> Score:
    return score()


def test_no_false_alert_on_any_chrome_edit(corpus_score: Score) -> None:
    assert corpus_score.comparisons > 0
    assert corpus_score.false_alerts == []


def test_every_edit_is_reported_with_its_kind_but_the_known_misses(corpus_score: Score) -> None:
    missed = {line.split(":")[0] for line in corpus_score.missed}
    assert missed == set(KNOWN_MISSES), corpus_score.missed
    assert corpus_score.right == corpus_score.comparisons - len(KNOWN_MISSES)


def test_no_page_that_shows_an_article_is_read_as_having_none(corpus_score: Score) -> None:
    # A page whose article only a script writes in is read by `fetch = "browser"`; as HTML it
    # is a failed check, never a change (tests/test_browser_fetch.py holds the browser side).
    assert corpus_score.no_article == []
    assert len(corpus_score.needs_browser) <= 1, corpus_score.needs_browser


def test_access_is_right_on_at_least_95_percent_of_pages(corpus_score: Score) -> None:
    read = corpus_score.pages - len(corpus_score.needs_browser)
    assert corpus_score.access_right / read >= 0.95, corpus_score.wrong_access


def test_pages_cut_anywhere_never_crash_extraction() -> None:
    for _, html in load_corpus():
        for share in range(1, 10):
            cut = html[: len(html) * share // 10]
            regions = regions_of(cut)
            assert regions.access in ("free", "locked", "unknown")
            nested = f"<div><article>{cut}</article></div>" * 2
            assert regions_of(nested).access in ("free", "locked", "unknown")


# A date or time a real page writes in its own language, as the next request shows it: the
# generated variants only move an English <time>.
LOCAL_DATES = [
    ("tageblatt-skisprung-material-locked", "18:58 Uhr", "19:04 Uhr"),
    ("tageblatt-skisprung-material-locked", "5. Januar 2026", "6. Januar 2026"),
    ("tageblatt-ogbl-lcgb-demo-paywall-locked", "21.18 Uhr", "22.05 Uhr"),
    ("lsm-norway-landslide-lv-free", "Šodien, 17:40", "Vakar, 17:40"),
    ("prachatai-dna-mekong-th-free", "2019-01-21 13:49", "2019-01-22 09:10"),
]
# A block a real page fills anew on every request, inside its article element.
ROTATING = [
    (
        "nature-cop30-climate-regwall-locked",  # the job listings, hidden from print
        "Global Talent Recruitment for Suzhou Lab",
        "Postdoctoral Fellow in Marine Ecology",
    ),
]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {truth["id"]: html for truth, html in load_corpus()}


@pytest.mark.parametrize(("page_id", "before", "after"), LOCAL_DATES)
def test_a_date_in_the_pages_own_language_that_moves_raises_nothing(
    pages: dict[str, str], page_id: str, before: str, after: str
) -> None:
    html = pages[page_id]
    assert before in html  # every copy moves, as the site's next response shows them
    assert compare(regions_of(html), regions_of(html.replace(before, after))).kinds == ()


@pytest.mark.parametrize(("page_id", "before", "after"), ROTATING)
def test_a_rotating_block_inside_a_real_article_element_raises_nothing(
    pages: dict[str, str], page_id: str, before: str, after: str
) -> None:
    html = pages[page_id]
    assert before in html
    assert compare(regions_of(html), regions_of(html.replace(before, after))).kinds == ()
