"""Extraction on the 181 real article pages of scrapinghub/article-extraction-benchmark
(`tests/corpus/aeb/`), with truth from the benchmark's own ground truth: every page gives an
article with its first paragraph in the teaser, a chrome-only edit outside the article
changes nothing, and an edit of the first paragraph is a teaser edit. The few known misses
are listed in `tests/corpus/benchmark.py` with their reasons, and must still miss."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from monitor.detect.compare import compare
from monitor.detect.extract import Regions
from tests.corpus.benchmark import (
    FALSE_ALERTS,
    FIRST_PARAGRAPH_MISSED,
    _squash,
    first_words,
    load_benchmark,
    teaser_edit,
)
from tests.corpus.score import regions_of
from tests.corpus.variants import make_variants

PAGES = load_benchmark()
IDS = [entry["id"] for entry, _ in PAGES]


@cache
def _page(page_id: str) -> tuple[dict[str, Any], str, Regions]:
    entry, html = PAGES[IDS.index(page_id)]
    return entry, html, regions_of(html)


def test_the_benchmark_holds_its_181_pages_each_with_a_first_paragraph() -> None:
    assert len(PAGES) == 181 and all(len(first_words(e).split()) >= 1 for e, _ in PAGES)


def test_the_listed_exceptions_are_pages_of_the_benchmark() -> None:
    assert set(FIRST_PARAGRAPH_MISSED) <= set(IDS)
    assert {page_id for page_id, _ in FALSE_ALERTS} <= set(IDS)


@pytest.mark.parametrize("page_id", IDS)
def test_every_page_gives_an_article_holding_its_first_paragraph(page_id: str) -> None:
    entry, _, base = _page(page_id)
    assert base.access != "unknown", base.error
    found = _squash(first_words(entry)) in _squash(base.teaser)
    assert found is (page_id not in FIRST_PARAGRAPH_MISSED)


@pytest.mark.parametrize("page_id", IDS)
def test_chrome_edits_outside_the_article_change_nothing(page_id: str) -> None:
    _, html, base = _page(page_id)
    variants = make_variants(html, {})
    assert len(variants) >= 6  # footer, banner, ad slot, whitespace, ... on every page
    for variant in variants:
        changed = bool(compare(base, regions_of(variant.html)).kinds)
        assert changed is ((page_id, variant.name) in FALSE_ALERTS), variant.name


# The pages where one visible text node holds the first paragraph's first words (on the others
# the paragraph is split by markup, or its words are also in a caption or a list before it).
EDITS = {
    entry["id"]: pair
    for entry, html in PAGES
    if entry["id"] not in FIRST_PARAGRAPH_MISSED and (pair := teaser_edit(html, entry))
}


def test_an_edit_can_be_made_on_at_least_140_pages() -> None:
    assert len(EDITS) >= 140


@pytest.mark.parametrize("page_id", sorted(EDITS))
def test_an_edit_of_the_first_paragraph_is_a_teaser_edit(page_id: str) -> None:
    before, after = EDITS[page_id]
    assert list(compare(regions_of(before), regions_of(after)).kinds) == ["teaser_rewritten"]
