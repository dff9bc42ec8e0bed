from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.detect.diff import (
    ELLIPSIS,
    Segment,
    has_changes,
    render_html,
    render_plain,
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
    edited = list(base)
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(0, len(edited) - 1))
        edited[at : at + data.draw(st.integers(0, 3))] = data.draw(st.lists(vocabulary, max_size=4))
    old, new = " ".join(base), " ".join(edited)
    before, after = _sides(word_diff(old, new))
    assert before == [t.key for t in tokenize(old)]
    assert after == [t.key for t in tokenize(new)]


def test_pathological_inputs_finish(seed_texts: list[str]) -> None:
    """Inputs that are quadratic for a plain SequenceMatcher. The alarm turns a hang into a
    failure; it is a safety net minutes wide, not a timing assertion."""
    import random
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
