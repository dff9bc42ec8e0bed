from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.normalise import fingerprint, normalise, squash, strip_trailing_ellipsis, word_count


def test_typography_is_canonical() -> None:
    assert normalise("“Guns and butter” — it’s\u00a0here") == '"Guns and butter" - it\'s here'
    assert normalise("a\u2013b\u2014c\u2212d") == "a-b-c-d"


def test_invisible_characters_are_dropped() -> None:
    assert normalise("\ufeffNorth\u200b Korea\u00ad's al\u200dlies\u202e") == "North Korea's allies"


def test_whitespace_collapses_and_paragraphs_stay_single_breaks() -> None:
    assert normalise("  one \t two\r\n\r\n\r\nthree  \n") == "one two\nthree"


def test_ornaments_are_stripped() -> None:
    assert normalise("it.***Last") == "it. Last"
    assert normalise("it. * * * Last") == "it. Last"
    assert normalise("5 * 3 = 15") == "5 * 3 = 15"


def test_squash_makes_glued_and_separated_blocks_equal() -> None:
    assert squash("38 NorthRussia and") == squash("38 North\n\nRussia and")


def test_fingerprint_differs_for_a_real_edit_only() -> None:
    assert fingerprint("a rare trip") == fingerprint("a  rare\ntrip")
    assert fingerprint("a rare trip") != fingerprint("a rare journey")
    # the parts are delimited: moving text between regions is a change
    assert fingerprint("ab", "c") != fingerprint("a", "bc")


def test_trailing_ellipsis_is_not_part_of_the_teaser() -> None:
    assert strip_trailing_ellipsis("As a result, the ...") == "As a result, the"
    assert strip_trailing_ellipsis("As a result, the [...]") == "As a result, the"


def test_word_count() -> None:
    assert word_count("It's 11,000 troops.") == 5


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text())
def test_squash_has_no_whitespace(text: str) -> None:
    assert not any(ch.isspace() for ch in squash(text))
