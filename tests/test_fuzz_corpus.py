"""No page crashes extraction or comparison: the real corpus pages cut, nested and mutated.

Hypothesis picks the damage; each example goes through the same code as `monitor compare`.
A failed extraction must say why (`error`), and comparing any two results must not raise.
"""

from __future__ import annotations

from functools import cache
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.detect.capture import Capture
from monitor.detect.compare import compare
from monitor.detect.extract import extract
from monitor.detect.regions import Access, Regions
from monitor.detect.rules import ExtractRules
from monitor.errors import CaptureError
from tests.corpus.variants import load_corpus


@cache
def pages() -> tuple[str, ...]:
    return tuple(page for _, page in load_corpus())


def regions(html: str) -> Regions:
    """What a check makes of the page: a refused body (binary bytes) is a failed check too."""
    capture = Capture(url="p.html", body=html.encode(), media_type="text/html", charset="utf-8")
    try:
        return extract(capture, ExtractRules())
    except CaptureError as exc:
        return Regions.failed(str(exc))


def sound(result: Regions) -> None:
    assert result.access in get_args(Access)
    if result.access == "unknown":
        assert result.error, "a failed extraction says why"
    else:
        assert result.error is None
        assert result.teaser or result.paywall


@st.composite
def damaged(draw: st.DrawFn) -> str:
    page = draw(st.sampled_from(pages()))
    kind = draw(st.sampled_from(["cut", "nest", "splice", "drop_tags", "garbage"]))
    size = len(page)
    if kind == "cut":
        start = draw(st.integers(0, size))
        end = draw(st.integers(start, size))
        return page[start:end]
    if kind == "nest":
        at = draw(st.integers(0, size))
        return page[:at] + page + page[at:]
    if kind == "splice":
        other = draw(st.sampled_from(pages()))
        return page[: draw(st.integers(0, size))] + other[draw(st.integers(0, len(other))) :]
    if kind == "drop_tags":
        marks = st.sampled_from(["</", "<p", ">", "<!--", "-->", '"'])
        for tag in draw(st.lists(marks, max_size=4)):
            page = page.replace(tag, "", draw(st.integers(1, 50)))
        return page
    at = draw(st.integers(0, size))
    junk = draw(st.text(alphabet="<>/\"'=&;#!-[]{}ap diva\x00\ufeff", max_size=200))
    return page[:at] + junk + page[at:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(), damaged())
def test_damaged_pages_extract_and_compare_without_raising(old: str, new: str) -> None:
    before, after = regions(old), regions(new)
    sound(before)
    sound(after)
    if before.access != "unknown" and after.access != "unknown":
        comparison = compare(before, after)
        if before.fingerprint == after.fingerprint:
            assert not comparison.changed
        assert not compare(after, after).changed


def test_every_corpus_page_extracts_soundly() -> None:
    for page in pages():
        sound(regions(page))
