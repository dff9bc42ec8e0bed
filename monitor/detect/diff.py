"""Word-level diffs: tokens of words and punctuation, never characters, never whole lines.

Pure. A diff is a list of segments `(op, text)` with op `=` (same), `-` (removed) or `+`
(added); renderers turn segments into plain text, terminal colour or escaped HTML.
"""

from __future__ import annotations

import bisect
import difflib
import html
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from rich.text import Text


ELLIPSIS = "…"

# Numbers stay whole ("11,000"), words keep their apostrophes, every other mark is a token.
_TOKEN = r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*|[^\w\s\x00]|_+"
# Where a capture glued two blocks ("NorthRussia"), a lower-case letter runs into a capital:
# mark the spot so that it splits the word, as the page's "North" and "Russia" are two words.
_GLUE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPACED_TOKEN = re.compile(rf"([\s\x00]*)({_TOKEN})")


class Token(NamedTuple):
    key: str  # what is compared
    space: str  # the whitespace written before it, kept for rendering


class Segment(NamedTuple):
    op: str
    text: str


def tokenize(text: str) -> list[Token]:
    """Tokens whose keys ignore whitespace: "NorthRussia" and "North Russia" tokenise alike."""
    keys, spaces = _scan(text)
    return [Token(k, s) for k, s in zip(keys, spaces, strict=True)]


def _scan(text: str) -> tuple[list[str], list[str]]:
    """Token keys, and the whitespace written before each, as two parallel lists."""
    marked = _GLUE.sub("\x00", text.replace("\x00", ""))
    pairs = _SPACED_TOKEN.findall(marked)
    spaces = [p[0] for p in pairs]
    if "\x00" in marked:  # glue marks (any NUL of the text was removed first)
        spaces = [space.replace("\x00", "") for space in spaces]
    return [p[1] for p in pairs], spaces


def _join(tokens: Sequence[Token]) -> str:
    """Tokens back to text, with the whitespace written before each (the first's included)."""
    return "".join(t.space + t.key for t in tokens)


def word_diff(old: str, new: str) -> list[Segment]:
    """The full diff of two texts as segments (no context trimming)."""
    if len(old) + len(new) < _BY_SENTENCE:
        scanned_a, scanned_b = _scan(old), _scan(new)
        a, b = scanned_a[0], scanned_b[0]
        if _pairs(a, b, 0, len(a), 0, len(b)) <= _PAIRS:
            return _token_diff(scanned_a, scanned_b, [])
    # A long text is first compared sentence by sentence, and only the runs of sentences that
    # differ word by word: tokenising and matching every word of a book-length text costs far
    # more than the few edits in it. So is a repetitive one (templated sentences, a list of
    # like items), whose words match everywhere while its sentences match once.
    units_a, units_b = _sentences(old), _sentences(new)
    keys_a = ["".join(body.split()) for _, body in units_a]
    keys_b = ["".join(body.split()) for _, body in units_b]
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in opcodes(keys_a, keys_b):
        after = "".join(space + body for space, body in units_b[j1:j2])
        if tag == "equal":
            _append(segments, "=", after)
        else:
            before = "".join(space + body for space, body in units_a[i1:i2])
            _token_diff(_scan(before), _scan(after), segments)
    return segments


# Texts this long (the two together, in characters) are compared sentence by sentence first.
_BY_SENTENCE = 20_000
# A sentence ends at a line break, or at whitespace after a full stop, "!" or "?".
_SENTENCE_BREAK = re.compile(r"(\s*\n\s*|(?<=[.!?])\s+)")


def _sentences(text: str) -> list[tuple[str, str]]:
    """(whitespace before, sentence) pairs that join back into `text` (trailing space aside)."""
    parts = _SENTENCE_BREAK.split(text)
    units = [("", parts[0])] if parts[0] else []
    units += [(parts[k], parts[k + 1]) for k in range(1, len(parts) - 1, 2) if parts[k + 1]]
    return units


def _token_diff(
    old: tuple[list[str], list[str]], new: tuple[list[str], list[str]], segments: list[Segment]
) -> list[Segment]:
    """Word by word (the texts as `_scan` gives them), added to `segments`."""
    keys_a, spaces_a = old
    keys_b, spaces_b = new
    for tag, i1, i2, j1, j2 in opcodes(keys_a, keys_b):
        if tag == "equal":
            _add(segments, "=", keys_b, spaces_b, j1, j2)
        else:
            _add(segments, "-", keys_a, spaces_a, i1, i2)
            _add(segments, "+", keys_b, spaces_b, j1, j2)
    return segments


Opcode = tuple[str, int, int, int, int]
# Below this many token pairs SequenceMatcher runs as it is; above, the texts are first cut at
# anchors (n-grams found once in each), so that it only ever sees the gaps between them.
_DIRECT = 400_000
# Two blocks this large with no n-gram found once in each are too large for SequenceMatcher
# (quadratic): they are walked in step (`_lined_up`), and what does not line up is replaced.
_UNRELATED = 4_000_000
_ANCHOR_STEP = 4
# Lining up repetitive blocks: past a difference, tokens agree again only when this many do
# (shorter runs agree by chance in repetitive text), at most this many tokens on, and the whole
# walk makes at most this many probes, so that two unrelated blocks cost little.
_LINED_UP_RUN = 8
_RESYNC = 16
_LINED_UP_BUDGET = 200_000
# Pairs of equal tokens (one on each side) past which SequenceMatcher leaves the tokens that
# fill the block to be matched beside rarer ones: a page of prose, its commas and "the"s
# included, holds a few thousand.
_PAIRS = 20_000


def opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """SequenceMatcher-style opcodes over token keys, in near-linear time on long texts."""
    out: list[Opcode] = []
    _align(a, b, 0, len(a), 0, len(b), out)
    merged: list[Opcode] = []
    for op in out:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if merged and (merged[-1][0] == "equal") == (op[0] == "equal"):
            last = merged[-1]
            op = (last[0] if op[0] == last[0] else "replace", last[1], op[2], last[3], op[4])
            merged[-1] = op
        else:
            merged.append(op)
    return merged


def plan(a: list[str], b: list[str]) -> str:
    """How `opcodes` compares the differing middle of `a` and `b` (what is left once the
    common head and tail are set aside): "same", "direct" (SequenceMatcher alone), "anchored"
    (cut at n-grams found once in each), "lined-up" (cut where the two sides, walked in step,
    agree again after each difference) or "unrelated" (one replacement)."""
    alo, ahi, blo, bhi = _trim(a, b, 0, len(a), 0, len(b))
    if alo == ahi and blo == bhi:
        return "same"
    return _strategy(a, b, alo, ahi, blo, bhi)[0]


def _trim(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int
) -> tuple[int, int, int, int]:
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        alo, blo = alo + 1, blo + 1
    while ahi > alo and bhi > blo and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
    return alo, ahi, blo, bhi


def _align(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int, out: list[Opcode]
) -> None:
    start_a, start_b, end_a, end_b = alo, blo, ahi, bhi
    alo, ahi, blo, bhi = _trim(a, b, alo, ahi, blo, bhi)
    out.append(("equal", start_a, alo, start_b, blo))
    _middle(a, b, alo, ahi, blo, bhi, out)
    out.append(("equal", ahi, end_a, bhi, end_b))


def _strategy(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int
) -> tuple[str, list[tuple[int, int]]]:
    size = (ahi - alo) * (bhi - blo)
    if size == 0:
        return "unrelated", []
    # SequenceMatcher looks at every pair of equal tokens each time it cuts a block in two, and
    # a token that fills both blocks between differing ones ("w" in "w140891 w140892 …",
    # tokenised "w", "140891") makes it cut off one short match at a time: minutes for a few
    # thousand words. Such blocks are cut at anchors, or walked in step, instead.
    few = size <= _UNRELATED and _pairs(a, b, alo, ahi, blo, bhi) <= _PAIRS
    if size <= _DIRECT and few:
        return "direct", []
    anchors = _anchors(a, b, alo, ahi, blo, bhi)
    if anchors:
        return "anchored", anchors
    if few:
        return "direct", []
    # Repetitive text (a few words over and over) has no n-gram found once on each side: walk
    # the two blocks in step instead, as an edit in place leaves them.
    anchors = _lined_up(a, b, alo, ahi, blo, bhi)
    return ("lined-up", anchors) if anchors else ("unrelated", [])


def _middle(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int, out: list[Opcode]
) -> None:
    how, anchors = _strategy(a, b, alo, ahi, blo, bhi)
    if how == "unrelated":
        out.append(("replace", alo, ahi, blo, bhi))
        return
    if how == "direct":
        matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            out.append((tag, alo + i1, alo + i2, blo + j1, blo + j2))
        return
    pa, pb = alo, blo
    for i, j in anchors:
        if i < pa or j < pb:
            continue  # inside the equal run of the previous anchor
        if i > pa or j > pb:
            _align(a, b, pa, i, pb, j, out)
        # the anchor, and as far as the two sides go on agreeing
        end_a, end_b = i, j
        while end_a < ahi and end_b < bhi and a[end_a] == b[end_b]:
            end_a, end_b = end_a + 1, end_b + 1
        out.append(("equal", i, end_a, j, end_b))
        pa, pb = end_a, end_b
    _align(a, b, pa, ahi, pb, bhi, out)


def _pairs(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int) -> int:
    """How many pairs of equal tokens the two blocks hold, one from each."""
    count_b = Counter(b[blo:bhi])
    return sum(count_b[token] for token in a[alo:ahi] if token in count_b)


def _anchors(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Positions of n-grams that occur exactly once on each side, in an order both agree on
    (the longest increasing run, as patience diff does)."""
    grams_a = list(zip(a[alo:ahi], a[alo + 1 : ahi], a[alo + 2 : ahi], strict=False))
    grams_b = list(zip(b[blo:bhi], b[blo + 1 : bhi], b[blo + 2 : bhi], strict=False))
    count_a, count_b = Counter(grams_a), Counter(grams_b)
    # Each anchor's equal run is extended as far as it goes, so every few positions of the old
    # side is enough, and the gaps left are small. But text whose words repeat with a period (a
    # tag and a number, "w818 w819 …") has its unique n-grams only at some offsets, which a
    # stride can miss altogether: then every position is tried.
    for step in (_ANCHOR_STEP, 1):
        sampled = grams_a[::step]
        wanted = {g for g in sampled if count_a[g] == 1 and count_b[g] == 1}
        if not wanted:
            continue
        where_b = {g: j for j, g in enumerate(grams_b) if g in wanted}
        pairs = [(alo + i * step, blo + where_b[g]) for i, g in enumerate(sampled) if g in where_b]
        return _increasing(pairs)
    return []


def _lined_up(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Anchors found by walking both blocks side by side: past each difference, the nearest
    pair of positions (at most `_RESYNC` tokens on, the two sides together) where
    `_LINED_UP_RUN` tokens agree again. An edit in place costs a few probes; the walk stops,
    leaving the rest as one replacement, where nothing lines up or its budget is spent."""
    anchors: list[tuple[int, int]] = []
    i, j = alo, blo
    budget = _LINED_UP_BUDGET
    while i < ahi and j < bhi and budget > 0:
        found = None
        for reach in range(1, _RESYNC + 1):
            for skip_a in range(reach + 1):
                x, y = i + skip_a, j + reach - skip_a
                if x + _LINED_UP_RUN > ahi or y + _LINED_UP_RUN > bhi:
                    continue
                budget -= 1
                if a[x : x + _LINED_UP_RUN] == b[y : y + _LINED_UP_RUN]:
                    found = x, y
                    break
            if found:
                break
        if found is None:
            break
        anchors.append(found)
        i, j = found
        while i < ahi and j < bhi and a[i] == b[j]:
            i, j = i + 1, j + 1
    return anchors


def _increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of `pairs` (sorted by the first item) rising in the second."""
    tails: list[int] = []  # tails[k]: smallest second item ending a run of length k + 1
    tail_at: list[int] = []
    previous = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k] = j
            tail_at[k] = index
        previous[index] = tail_at[k - 1] if k else -1
    run = []
    index = tail_at[-1] if tail_at else -1
    while index != -1:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


def _add(
    segments: list[Segment], op: str, keys: list[str], spaces: list[str], lo: int, hi: int
) -> None:
    if lo < hi:
        _append(segments, op, "".join([p for k in range(lo, hi) for p in (spaces[k], keys[k])]))


def _append(segments: list[Segment], op: str, text: str) -> None:
    if not segments:
        text = text.lstrip()
    if not text:
        return
    if segments and segments[-1].op == op:
        segments[-1] = Segment(op, segments[-1].text + text)
    else:
        segments.append(Segment(op, text))


def _pieces(segments: Sequence[Segment]) -> list[tuple[str, str, str]]:
    """(op, space before, text) for each segment; an addition right after a removal is shown
    next to it, so it takes no space of its own."""
    out = []
    previous = "="
    for seg in segments:
        body = seg.text.lstrip()
        space = seg.text[: len(seg.text) - len(body)]
        if seg.op == "+" and previous == "-":
            space = ""
        out.append((seg.op, space, body))
        previous = seg.op
    return out


def has_changes(segments: Sequence[Segment]) -> bool:
    return any(s.op != "=" for s in segments)


def with_context(segments: Sequence[Segment], words: int = 12) -> list[Segment]:
    """Shorten unchanged runs to `words` tokens of context on each side of every change."""
    out: list[Segment] = []
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if seg.op != "=":
            out.append(seg)
            continue
        keep_head = words if i > 0 else 0
        keep_tail = words if i < last else 0
        edges = _edges(seg.text, keep_head, keep_tail)
        if edges is None:
            out.append(seg)
            continue
        head, tail = edges
        text = _join(head) + " " + ELLIPSIS
        if keep_tail:
            text += " " + _join(tail).lstrip()
        if i == 0:
            text = text.lstrip()
        out.append(Segment("=", text))
    return out


# Characters of text read at each end of an unchanged run per context word wanted (words
# and the marks between them average under 8); too few, and the whole run is read.
_EDGE = 16


def _edges(text: str, head: int, tail: int) -> tuple[list[Token], list[Token]] | None:
    """The first `head` and last `tail` tokens of `text`, or None when it has no more than
    `head + tail + 1` tokens. Only the ends of a long run are tokenised: a token never spans
    whitespace, so a cut at whitespace tokenises the same as the whole text does there."""
    reach = _EDGE * (max(head, tail) + 2)
    cut_head = _space_at_or_after(text, reach)
    cut_tail = _space_at_or_before(text, len(text) - reach)
    if 0 < cut_head < cut_tail:
        first, last = tokenize(text[:cut_head]), tokenize(text[cut_tail:])
        if len(first) > head and len(last) > tail:
            return first[:head], last[len(last) - tail :]
    tokens = tokenize(text)
    if len(tokens) <= head + tail + 1:
        return None
    return tokens[:head], tokens[len(tokens) - tail :]


def _space_at_or_after(text: str, index: int) -> int:
    # Any whitespace will do for a cut, so only the two that normalised text holds are looked
    # for: `str.find` is linear where a backward regex search is not.
    found = [at for at in (text.find(" ", index), text.find("\n", index)) if at >= 0]
    return min(found, default=-1)


def _space_at_or_before(text: str, index: int) -> int:
    if index <= 0:
        return -1
    return max(text.rfind(" ", 0, index + 1), text.rfind("\n", 0, index + 1))


def render_plain(segments: Sequence[Segment]) -> str:
    """`[-old-]{+new+}` inline, as wdiff and git's word diff write it."""
    marks = {"-": "[-{}-]", "+": "{{+{}+}}", "=": "{}"}
    return "".join(space + marks[op].format(body) for op, space, body in _pieces(segments))


def render_rich(segments: Sequence[Segment]) -> Text:
    """Terminal colour: removed words struck through in red, added words in green."""
    from rich.text import Text

    text = Text()
    for op, space, body in _pieces(segments):
        text.append(space)
        text.append(body, style={"-": "red strike", "+": "green bold"}.get(op, ""))
    return text


DEL_STYLE = "background:#ffe3e3;color:#9f1c1c;text-decoration:line-through"
INS_STYLE = "background:#dcfce4;color:#14532d;text-decoration:none"


def render_html(segments: Sequence[Segment], *, inline_styles: bool = True) -> str:
    """Escaped HTML with `<del>`/`<ins>`; inline styles so that mail clients show them."""
    parts = []
    for op, space, body in _pieces(segments):
        text = html.escape(body).replace("\n", "<br>")
        parts.append(html.escape(space).replace("\n", "<br>"))
        if op == "=":
            parts.append(text)
            continue
        tag = "del" if op == "-" else "ins"
        style = (DEL_STYLE if op == "-" else INS_STYLE) if inline_styles else ""
        attr = f' style="{style}"' if style else ""
        parts.append(f"<{tag}{attr}>{text}</{tag}>")
    return "".join(parts)


def segments_to_json(segments: Sequence[Segment]) -> list[list[str]]:
    return [[s.op, s.text] for s in segments]


def segments_from_json(data: object) -> list[Segment]:
    if not isinstance(data, list):
        return []
    return [Segment(str(op), str(text)) for op, text in data]
