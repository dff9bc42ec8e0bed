from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.detect.diff import (
    DEL_STYLE,
    ELLIPSIS,
    INS_STYLE,
    Segment,
    Token,
    _increasing,
    has_changes,
    plan,
    render_html,
    render_plain,
    render_rich,
    segments_from_json,
    segments_to_json,
    tokenize,
    with_context,
    word_diff,
)


def test_one_word_edit_is_one_word_in_a_long_single_line(seed_texts: list[str]) -> None:
    teaser = seed_texts[0].splitlines()[0]
    edited = teaser.replace("a rare trip", "a rare journey")
    plain = render_plain(with_context(word_diff(teaser, edited), 5))
    assert "[-trip-]{+journey+}" in plain
    # context, not the whole paragraph
    assert len(plain) < 150
    assert plain.startswith("…") and plain.endswith("…")


def test_tokens_ignore_whitespace_and_split_glued_blocks() -> None:
    assert [t.key for t in tokenize("38 NorthRussia")] == ["38", "North", "Russia"]
    assert [t.key for t in tokenize("below.Jenny")] == ["below", ".", "Jenny"]
    assert [t.key for t in tokenize("11,000 troops")] == ["11,000", "troops"]
    assert not has_changes(word_diff("38 NorthRussia and", "38 North Russia and"))


def test_glued_blocks_and_nul_characters_leave_no_mark_in_the_spacing() -> None:
    assert tokenize("NorthRussia") == [Token("North", ""), Token("Russia", "")]
    assert tokenize("North\x00Russia") == [Token("North", ""), Token("Russia", "")]
    assert word_diff("  one two", "  one three")[0] == Segment("=", "one")


def test_numbers_and_negations_show_whole_words() -> None:
    assert render_plain(word_diff("at least 11,000 troops", "at least 12,000 troops")) == (
        "at least [-11,000-]{+12,000+} troops"
    )
    assert render_plain(word_diff("it is likely", "it is not likely")) == "it is {+not+} likely"


def test_html_is_escaped_and_marked() -> None:
    out = render_html(word_diff("x <b>", "x <script>alert(1)</script>"))
    assert "<script" not in out and "</script" not in out
    assert "&lt;/script" in out
    assert "<del" in out and "<ins" in out


def test_html_marks_each_side_with_its_tag_and_keeps_line_breaks() -> None:
    segments = word_diff("one two\nthree\nfour & x", "one five\nthree\nfour & x\nsix")
    assert render_html(segments, inline_styles=False) == (
        "one <del>two</del><ins>five</ins><br>three<br>four &amp; x<br><ins>six</ins>"
    )
    styled = render_html(segments)
    assert f'<del style="{DEL_STYLE}">two</del>' in styled
    assert f'<ins style="{INS_STYLE}">five</ins>' in styled


def test_context_of_a_long_run_is_read_from_its_ends() -> None:
    # long enough that only the run's two ends are tokenised
    run = "".join(f" {k}" for k in range(20_000))
    segments = [Segment("+", "x"), Segment("=", run), Segment("-", "y")]
    assert with_context(segments, 3)[1].text == " 0 1 2 … 19997 19998 19999"
    assert with_context(segments)[1].text.split() == [*map(str, range(12)), "…"] + [
        str(k) for k in range(19_988, 20_000)
    ]
    first = with_context([Segment("=", run), Segment("-", "y")], 2)[0].text
    assert first == "… 19998 19999"


def test_a_frequent_word_is_never_treated_as_junk() -> None:
    # SequenceMatcher's autojunk would drop "the" (over 1% of 300 tokens) from matching, and
    # show all of them removed and added again; 300 on each side are too many pairs for it
    # (see the next test): the two sides are walked in step
    old, new = "a " + "the " * 300 + "b", "c " + "the " * 300 + "d"
    assert plan(_keys(old), _keys(new)) == "lined-up"
    assert [s for s in word_diff(old, new) if s.op != "="] == [
        Segment("-", "a"),
        Segment("+", "c"),
        Segment("-", " b"),
        Segment("+", " d"),
    ]


def test_a_rewrite_whose_every_other_token_is_the_same_is_one_replacement() -> None:
    """An outside review: tokens such as "w140891" (a "w" and a number) rewritten throughout
    kept `monitor check` for 113 s on 30,000 of them and 42 s on 5,000 (SequenceMatcher cut
    off one "w" at a time, in each gap between two anchors). Nothing lines up but the "w"s:
    one replacement, after the first "w", which both begin with."""
    old = " ".join(f"w{n}" for n in range(100_000, 100_300))
    new = " ".join(f"w{n}" for n in range(200_000, 200_300))
    assert plan(_keys(old), _keys(new)) == "unrelated"
    assert word_diff(old, new) == [Segment("=", "w"), Segment("-", old[1:]), Segment("+", new[1:])]
    # with one token kept in the middle, it is found, and the rest stays replaced
    kept = new.replace("w200150", "w100150")
    segments = word_diff(old, kept)
    assert [s.op for s in segments] == ["=", "-", "+", "=", "-", "+"]
    assert segments[3].text == " w100150 w"


def test_two_edits_in_templated_sentences_are_marked_alone() -> None:
    """A code review of the case above: a teaser of templated sentences, whose words match
    everywhere, with a sentence inserted and a word changed far apart, came out as one
    replacement of 1,392 words once such blocks were no longer handed to SequenceMatcher.
    Compared sentence by sentence first, only the two edits are marked."""
    days, who, what, done = (
        ("Monday", "Friday"),
        ("council", "board"),
        ("plan", "vote"),
        ("delayed", "approved"),
    )
    sentences = [
        f"On {days[i % 2]}, the {who[i // 2 % 2]} said that the {what[i // 4 % 2]} would be "
        f"{done[i // 8 % 2]} for item {i}."
        for i in range(70)
    ]
    edited = list(sentences)
    edited.insert(5, "On Sunday, the regional court said that the whole plan would be reviewed.")
    edited[-3] = edited[-3].replace("said", "announced")
    old, new = " ".join(sentences), " ".join(edited)
    marked = [s for s in word_diff(old, new) if s.op != "="]
    assert "".join(s.text for s in marked if s.op == "-").split() == ["said"]
    added = "".join(s.text for s in marked if s.op == "+").split()
    assert added[-1] == "announced"
    assert " ".join(added[:-1]).startswith("On Sunday, the regional court said")


def test_anchors_keep_the_longest_run_both_sides_agree_on() -> None:
    pairs = [(0, 5), (1, 1), (2, 2), (3, 9), (4, 3), (5, 0)]
    assert _increasing(pairs) == [(1, 1), (2, 2), (4, 3)]
    assert _increasing([]) == []


def test_plain_rendering_keeps_paragraph_breaks() -> None:
    assert (
        render_plain(word_diff("one.\ntwo three", "one.\ntwo four"))
        == "one.\ntwo [-three-]{+four+}"
    )


words = st.lists(st.sampled_from(["the", "a", "North", "Korea", ",", ".", "11,000", "not"]))


@given(words, words)
def test_diff_reconstructs_both_sides(a: list[str], b: list[str]) -> None:
    old, new = " ".join(a), " ".join(b)
    segments = word_diff(old, new)
    before = [t.key for s in segments if s.op != "+" for t in tokenize(s.text)]
    after = [t.key for s in segments if s.op != "-" for t in tokenize(s.text)]
    assert before == [t.key for t in tokenize(old)]
    assert after == [t.key for t in tokenize(new)]


def _sides(segments: list) -> tuple[list[str], list[str]]:  # type: ignore[type-arg]
    before = [t.key for s in segments if s.op != "+" for t in tokenize(s.text)]
    after = [t.key for s in segments if s.op != "-" for t in tokenize(s.text)]
    return before, after


vocabulary = st.sampled_from(
    ["the", "a", "of", "North", "Korea", "Russia", "China", ",", ".", "troops", "11,000", "not"]
)


@settings(max_examples=30, deadline=None)
@given(st.lists(vocabulary, min_size=700, max_size=1500), st.data())
def test_long_texts_take_the_anchored_path_and_stay_exact(
    base: list[str], data: st.DataObject
) -> None:
    # A marker every 20 words leaves n-grams found once on each side whatever the edits, and
    # an edit at each end keeps the differing middle as long as the texts.
    base = [w for k, word in enumerate(base) for w in ((f"M{k}", word) if k % 20 == 0 else (word,))]
    edited = ["EDGE", *base[1:-1], "EDGE"]
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(1, len(edited) - 2))
        edited[at : at + data.draw(st.integers(0, 3))] = data.draw(st.lists(vocabulary, max_size=4))
    old, new = " ".join(base), " ".join(edited)
    assert plan(_keys(old), _keys(new)) == "anchored"
    before, after = _sides(word_diff(old, new))
    assert before == _keys(old)
    assert after == _keys(new)


def _keys(text: str) -> list[str]:
    return [t.key for t in tokenize(text)]


def _changed_words(old: str, new: str) -> list[tuple[str, str]]:
    return [(s.op, s.text.strip()) for s in word_diff(old, new) if s.op != "="]


def test_two_word_edit_in_a_megabyte_line_is_two_words() -> None:
    """One line of 170,000 words "w<number>": a word and a number alternate, so n-grams found
    once sit only at some offsets. Edits at both ends leave the whole line to anchor."""
    rng = random.Random(818)
    words = [f"w{rng.randrange(1000)}" for _ in range(170_000)]
    edited = list(words)
    edited[3], edited[-10] = "alpha", "omega"
    old, new = " ".join(words), " ".join(edited)
    assert len(old) > 800_000
    assert plan(_keys(old), _keys(new)) == "anchored"
    assert _changed_words(old, new) == [
        ("-", words[3]),
        ("+", "alpha"),
        ("-", words[-10]),
        ("+", "omega"),
    ]


@pytest.mark.parametrize(
    ("words", "how"),
    [
        # "w" and a number alternate: n-grams found once sit only at some offsets
        (lambda rng, k: f"w{rng.randrange(1000)}", "anchored"),
        # the words repeat with a period: no n-gram is found once, the sides are walked in step
        (lambda rng, k: f"w{k % 1000}", "lined-up"),
    ],
    ids=["random", "periodic"],
)
def test_two_word_edit_in_a_long_line_is_two_words(
    words: Callable[[random.Random, int], str], how: str
) -> None:
    rng = random.Random(818)
    line = [words(rng, k) for k in range(20_000)]
    edited = list(line)
    edited[3], edited[-10] = "alpha", "omega"
    old, new = " ".join(line), " ".join(edited)
    assert plan(_keys(old), _keys(new)) == how
    assert _changed_words(old, new) == [
        ("-", line[3]),
        ("+", "alpha"),
        ("-", line[-10]),
        ("+", "omega"),
    ]


@settings(max_examples=15, deadline=None)
@given(st.lists(vocabulary, min_size=3, max_size=8), st.data())
def test_repeated_blocks_walked_in_step_stay_exact(chunk: list[str], data: st.DataObject) -> None:
    base = (chunk * (2_400 // len(chunk) + 1))[:2_400]
    edited = list(base)
    for _ in range(data.draw(st.integers(1, 12))):
        at = data.draw(st.integers(0, len(edited) - 1))
        edited[at : at + data.draw(st.integers(0, 3))] = data.draw(st.lists(vocabulary, max_size=4))
    old, new = " ".join(base), " ".join(edited)
    before, after = _sides(word_diff(old, new))
    assert before == _keys(old)
    assert after == _keys(new)


def test_pathological_inputs_finish(seed_texts: list[str]) -> None:
    """Inputs that are quadratic for a plain SequenceMatcher. The alarm turns a hang into a
    failure; it is a safety net minutes wide, not a timing assertion."""
    import signal

    def hang(signum: int, frame: object) -> None:
        raise AssertionError("the diff did not finish")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(120)
    try:
        rng = random.Random(7)
        words = seed_texts[0].split()
        a = " ".join(rng.choice(words) for _ in range(50_000))
        b = a.split()
        for i in rng.sample(range(len(b)), 500):
            b[i] = "EDITED"
        segments = word_diff(a, " ".join(b))
        assert sum(1 for s in segments if s.op == "+") == 493  # adjacent edits merge
        unrelated = word_diff(
            " ".join(rng.choice(words) for _ in range(100_000)),
            " ".join(rng.choice(words) for _ in range(100_000)),
        )
        assert has_changes(unrelated)
        long_words = word_diff("x" * 100_000 + " y", "x" * 100_000 + " z")
        assert render_plain(with_context(long_words, 1)).endswith("[-y-]{+z+}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


sentence_words = st.sampled_from(
    ["the", "a", "of", "North", "Korea", "Russia", "troops", "11,000", "not", ".", "!", "\n"]
)


@settings(max_examples=25, deadline=None)
@given(st.lists(sentence_words, min_size=300, max_size=400), st.data())
def test_very_long_texts_compare_by_sentence_and_stay_exact(
    chunk: list[str], data: st.DataObject
) -> None:
    base = [w for part in range(15) for w in (f"Part{part}", ".", *chunk)]
    edited = list(base)
    for _ in range(data.draw(st.integers(1, 30))):
        at = data.draw(st.integers(0, len(edited) - 1))
        replacement = data.draw(st.lists(sentence_words, max_size=4))
        edited[at : at + data.draw(st.integers(0, 3))] = replacement
    old, new = " ".join(base), " ".join(edited)
    assert len(old) + len(new) > 20_000  # the sentence-first path
    before, after = _sides(word_diff(old, new))
    assert before == [t.key for t in tokenize(old)]
    assert after == [t.key for t in tokenize(new)]


def test_one_word_edit_in_a_very_long_text_is_one_word(seed_texts: list[str]) -> None:
    sentences = [s for text in seed_texts for s in text.split(". ") if s]
    old = ". ".join(sentences * 30)
    assert len(old) > 20_000
    at = len(old) // 2 + old[len(old) // 2 :].index("Alliances")
    new = old[:at] + "Partnerships" + old[at + len("Alliances") :]
    changed = [s for s in word_diff(old, new) if s.op != "="]
    assert [(s.op, s.text.strip()) for s in changed] == [
        ("-", "Alliances"),
        ("+", "Partnerships"),
    ]


_WORDS = st.text(alphabet="abcXYZ19,.'é_-", min_size=1, max_size=12)
_RUN = st.lists(st.tuples(st.sampled_from([" ", "\n", "  "]), _WORDS), max_size=300).map(
    lambda pairs: "".join(space + word for space, word in pairs)
)


@given(_RUN, st.integers(0, 14))
def test_context_reads_the_same_words_as_tokenising_the_whole_run(run: str, words: int) -> None:
    # An unchanged run between two changes keeps `words` tokens at each end; only its ends are
    # tokenised, and the words kept must be those of the whole run's tokens.
    segments = [Segment("+", "x"), Segment("=", run), Segment("-", "y")]
    kept = with_context(segments, words)[1].text
    tokens = tokenize(run)
    if len(tokens) <= 2 * words + 1:
        assert kept == run
    else:
        head = "".join(t.space + t.key for t in tokens[:words])
        tail = "".join(t.space + t.key for t in tokens[len(tokens) - words :]).lstrip()
        expected = head + " " + ELLIPSIS + (" " + tail if words else "")
        if run[:1].isspace() and not expected[:1].isspace():
            expected = " " + expected
        assert kept == expected


def test_terminal_rendering_strikes_removed_words_in_red_and_adds_in_green() -> None:
    segments = word_diff("The vote was on Tuesday.", "The vote was on Monday.")
    text = render_rich(segments)
    assert text.plain == "The vote was on TuesdayMonday."
    styled = {text.plain[span.start : span.end]: str(span.style) for span in text.spans}
    assert styled == {"Tuesday": "red strike", "Monday": "green bold"}


def test_terminal_rendering_keeps_the_space_before_a_change_unstyled() -> None:
    text = render_rich([Segment("=", "one"), Segment("+", " two")])
    assert text.plain == "one two"
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [
        (4, 7, "green bold")
    ]


def test_segments_survive_a_round_trip_through_json_and_anything_else_reads_as_none() -> None:
    segments = word_diff("a b c", "a x c")
    assert segments_from_json(segments_to_json(segments)) == segments
    assert segments_from_json([["=", 1]]) == [Segment("=", "1")]
    assert segments_from_json({"op": "="}) == []
    assert segments_from_json(None) == []
