from __future__ import annotations

import hashlib
import re
import unicodedata
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

import monitor.detect.normalise as normalise_module
from monitor.detect.normalise import (
    _TRANSLATION,
    fingerprint,
    normalise,
    squash,
    strip_trailing_ellipsis,
    word_count,
)

# Text made of the characters the table maps, mixed with ones it leaves and with ornament and
# ellipsis material, so that the fast paths meet what they shortcut.
_MIXED = st.text(
    alphabet=st.sampled_from([*map(chr, _TRANSLATION), *"ab é\u0301*.[]\n\t⁂…"]), max_size=80
)


def test_typography_is_canonical() -> None:
    assert normalise("“Guns and butter” — it’s\u00a0here") == '"Guns and butter" - it\'s here'
    assert normalise("a\u2013b\u2014c\u2212d") == "a-b-c-d"


def test_invisible_characters_are_dropped() -> None:
    assert normalise("\ufeffNorth\u200b Korea\u00ad's al\u200dlies\u202e") == "North Korea's allies"


def test_whitespace_collapses_and_paragraphs_stay_single_breaks() -> None:
    assert normalise("  one \t two\r\n\r\n\r\nthree  \n") == "one two\nthree"
    assert normalise("one\rtwo") == "one\ntwo"  # a lone carriage return ends a line too


def test_ornaments_are_stripped() -> None:
    assert normalise("it.⁂Last") == "it. Last"
    assert normalise("it.***Last") == "it. Last"
    assert normalise("it. * * * Last") == "it. Last"
    assert normalise("5 * 3 = 15") == "5 * 3 = 15"


def test_squash_makes_glued_and_separated_blocks_equal() -> None:
    assert squash("38 NorthRussia and") == squash("38 North\n\nRussia and")


def test_the_fingerprint_keeps_its_format_across_releases() -> None:
    # Stored with every version: another format would make every stored page differ from its
    # next check. SHA-256 of each part without whitespace, each ended by a 0x1F byte.
    assert fingerprint("a b", "c") == hashlib.sha256(b"ab\x1fc\x1f").hexdigest()


def test_fingerprint_differs_for_a_real_edit_only() -> None:
    assert fingerprint("a rare trip") == fingerprint("a  rare\ntrip")
    assert fingerprint("a rare trip") != fingerprint("a rare journey")
    # the parts are delimited: moving text between regions is a change
    assert fingerprint("ab", "c") != fingerprint("a", "bc")


def test_trailing_ellipsis_is_not_part_of_the_teaser() -> None:
    assert strip_trailing_ellipsis("As a result, the ...") == "As a result, the"
    assert strip_trailing_ellipsis("As a result, the ...  \n") == "As a result, the"
    assert strip_trailing_ellipsis("As a result, the [...]") == "As a result, the"


def test_word_count() -> None:
    assert word_count("It's 11,000 troops.") == 5


# Words, punctuation inside and around them, underscores (a word character that is not
# alphanumeric), other scripts' letters and digits, and whitespace of several kinds.
_WORDY = st.text(
    alphabet=st.sampled_from([*"ab1_ ',.-\t\n\u00a0é٣²½日本語", "\u3000"]), max_size=60
)


@given(_WORDY)
def test_word_count_counts_the_runs_of_word_characters(text: str) -> None:
    assert word_count(text) == len(re.findall(r"\w+", text))


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text())
def test_squash_has_no_whitespace(text: str) -> None:
    assert not any(ch.isspace() for ch in squash(text))


@given(_MIXED)
def test_normalise_maps_every_character_like_the_table(text: str) -> None:
    # normalise replaces only the characters a text holds; the result must be what mapping
    # every character through the table gives (the NFKC step sees the same input either way).
    expected = normalise(text.translate(_TRANSLATION))
    assert normalise(text) == expected
    assert not set(normalise(text)) & {chr(c) for c in _TRANSLATION}


@given(_MIXED)
def test_trailing_ellipsis_goes_only_at_the_end(raw: str) -> None:
    text = normalise(raw)
    stripped = strip_trailing_ellipsis(text)
    assert text.startswith(stripped)
    if text.endswith(("...", "[...]")):
        assert len(stripped) <= len(text) - 3 and stripped == stripped.rstrip()
    else:
        assert stripped == text


# Lines NFKC changes (ligatures, full-width letters, no-break spaces, combining marks that
# compose) among lines it leaves, with marks right after a line break.
_LINES = st.text(
    alphabet=st.sampled_from(
        [*"ab e\n", "\u0301", "\u0308", "\ufb01", "\uff21", "\u00a0", "\u2460"]
    ),
    max_size=60,
)


@given(_LINES)
def test_normalise_reads_a_text_line_by_line_as_nfkc_reads_it_whole(text: str) -> None:
    with mock.patch.object(normalise_module, "_nfkc", _whole_text_nfkc):
        whole = normalise(text)
    assert normalise(text) == whole


def _whole_text_nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)
