"""Word-level diffs: tokens of words and punctuation, never characters, never whole lines.

Pure. A diff is a list of segments `(op, text)` with op `=` (same), `-` (removed) or `+`
(added); renderers turn segments into plain text, terminal colour or escaped HTML.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from typing import NamedTuple

from rich.text import Text

ELLIPSIS = "…"

# Numbers stay whole ("11,000"), words keep their apostrophes, every other mark is a token.
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*|[^\w\s]|_+", re.UNICODE)
_SPACE = re.compile(r"\s*")


class Token(NamedTuple):
    key: str  # what is compared
    space: str  # the whitespace written before it, kept for rendering


class Segment(NamedTuple):
    op: str
    text: str


def tokenize(text: str) -> list[Token]:
    """Tokens whose keys ignore whitespace: "NorthRussia" and "North Russia" tokenise alike."""
    tokens: list[Token] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        space = text[pos : match.start()]
        pos = match.end()
        word = match.group()
        for i, part in enumerate(_split_glued(word)):
            tokens.append(Token(part, space if i == 0 else ""))
    return tokens


def _split_glued(word: str) -> list[str]:
    """Split a lower-to-upper case step, where captures glue adjacent blocks ("NorthRussia")."""
    parts: list[str] = []
    start = 0
    for i in range(1, len(word)):
        if word[i].isupper() and word[i - 1].islower():
            parts.append(word[start:i])
            start = i
    parts.append(word[start:])
    return parts


def _join(tokens: Sequence[Token]) -> str:
    """Tokens back to text, with the whitespace written before each (the first's included)."""
    return "".join(t.space + t.key for t in tokens)


def word_diff(old: str, new: str) -> list[Segment]:
    """The full diff of two texts as segments (no context trimming)."""
    a, b = tokenize(old), tokenize(new)
    # Most edits touch a small part of a long text: match the common ends in linear time and
    # leave only the middle to SequenceMatcher.
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head].key == b[head].key:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail].key == b[-1 - tail].key:
        tail += 1
    segments: list[Segment] = []
    _add(segments, "=", b[:head])
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    matcher = difflib.SequenceMatcher(
        None, [t.key for t in mid_a], [t.key for t in mid_b], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _add(segments, "=", mid_b[j1:j2])
        else:
            _add(segments, "-", mid_a[i1:i2])
            _add(segments, "+", mid_b[j1:j2])
    _add(segments, "=", b[len(b) - tail :])
    return segments


def _add(segments: list[Segment], op: str, tokens: Sequence[Token]) -> None:
    if not tokens:
        return
    text = _join(tokens)
    if not segments:
        text = text.lstrip()
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
        tokens = tokenize(seg.text)
        keep_head = words if i > 0 else 0
        keep_tail = words if i < last else 0
        if len(tokens) <= keep_head + keep_tail + 1:
            out.append(seg)
            continue
        text = _join(tokens[:keep_head]) + " " + ELLIPSIS
        if keep_tail:
            text += " " + _join(tokens[-keep_tail:]).lstrip()
        if i == 0:
            text = text.lstrip()
        elif seg.text[:1].isspace() and not text[:1].isspace():
            text = " " + text
        out.append(Segment("=", text))
    return out


def render_plain(segments: Sequence[Segment]) -> str:
    """`[-old-]{+new+}` inline, as wdiff and git's word diff write it."""
    marks = {"-": "[-{}-]", "+": "{{+{}+}}", "=": "{}"}
    return "".join(space + marks[op].format(body) for op, space, body in _pieces(segments))


def render_rich(segments: Sequence[Segment]) -> Text:
    """Terminal colour: removed words struck through in red, added words in green."""
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
