"""Detection judged on real article pages saved in public test fixtures (tests/corpus/): every
page, each chrome-only edit (outside and inside the article), a teaser edit, a description edit,
a notice edit and an unlock, through the code `monitor compare` runs."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from monitor.detect.compare import compare
from monitor.detect.regions import Access
from tests.corpus.score import KNOWN_MISSES, KNOWN_WRONG_START, Score, regions_of, score
from tests.corpus.variants import VOLATILE, load_corpus, make_variants


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


def test_a_variant_with_its_pages_digest_reads_exactly_as_the_page(corpus_score: Score) -> None:
    # Every such variant was also read in full (`score`): the same teaser, notice,
    # description, access and title, and `extract(..., unless=digest)` skipped it.
    assert corpus_score.digest_wrong == []
    # most chrome edits outside the article leave the digest as it was: the reason it exists
    assert corpus_score.same_digest >= 1000


def test_no_page_that_shows_an_article_is_read_as_having_none(corpus_score: Score) -> None:
    # A page whose article only a script writes in is read by `fetch = "browser"`; as HTML it
    # is a failed check, never a change (tests/test_browser_fetch.py holds the browser side).
    assert not [line for line in corpus_score.no_article if "teaser misses" not in line]
    wrong_start = {line.split(":")[0] for line in corpus_score.no_article}
    assert wrong_start == set(KNOWN_WRONG_START), corpus_score.no_article
    assert len(corpus_score.needs_browser) <= 1, corpus_score.needs_browser


def test_access_is_right_on_at_least_95_percent_of_pages(corpus_score: Score) -> None:
    read = corpus_score.pages - len(corpus_score.needs_browser)
    assert corpus_score.access_right / read >= 0.95, corpus_score.wrong_access


def test_pages_cut_anywhere_never_crash_extraction() -> None:
    for _, html in load_corpus():
        for share in range(1, 10):
            cut = html[: len(html) * share // 10]
            regions = regions_of(cut)
            assert regions.access in get_args(Access)
            nested = f"<div><article>{cut}</article></div>" * 2
            assert regions_of(nested).access in get_args(Access)


# Each page's own text that differs from one request to the next (`volatile` in its truth:
# a date or time in its own language, a relative time, a count of views or comments, a block
# filled anew on every request), as the next request shows it: the generated variants only
# move an English <time>, counts in English and a related-links block of their own.
VOLATILE_PAGES = [(truth, html) for truth, html in load_corpus() if truth.get("volatile")]


def test_the_corpus_lists_its_pages_own_changing_text() -> None:
    assert len(VOLATILE_PAGES) >= 20


@pytest.mark.parametrize(
    ("truth", "html"), VOLATILE_PAGES, ids=[truth["id"] for truth, _ in VOLATILE_PAGES]
)
def test_a_pages_own_changing_text_raises_nothing(truth: dict[str, Any], html: str) -> None:
    (variant,) = [v for v in make_variants(html, truth) if v.name == VOLATILE]
    assert variant.html != html
    assert compare(regions_of(html), regions_of(variant.html)).kinds == ()
