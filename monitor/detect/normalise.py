"""Canonical text and fingerprints: what makes two captures "the same".

Pure functions. `normalise` gives the text that is stored and diffed (paragraph breaks kept as
single newlines); `squash` removes all whitespace, so that blocks glued by a capture
("38 NorthRussia") and blocks separated by HTML ("38 North Russia") compare equal.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Typographic variants a publisher's CMS swaps freely; none of them is an edit.
_TRANSLATION = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′`´", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−⁃", "-"),
        # invisible characters: zero-width, soft hyphen, BOM, word joiner, bidi controls
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e", None),
        **dict.fromkeys("\u200e\u200f\u202a\u202b\u202c\u202d\u202e", None),
        **dict.fromkeys("\u2066\u2067\u2068\u2069", None),
        # C0 and C1 controls other than tab and newlines
        **dict.fromkeys([chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127)], None),
        **dict.fromkeys([chr(c) for c in range(0x80, 0xA0)], None),
    }
)
# The mapped characters as a class: finding the few a text holds and replacing each is ~20
# times faster than `str.translate`, which looks every character of a non-ASCII text up in a
# dict.
_MAPPED = re.compile("[" + "".join(f"\\U{ord(c):08x}" for c in map(chr, _TRANSLATION)) + "]")
# Starts with a literal, so that `re` skips to the next "*" or "⁂" instead of trying each place.
_ORNAMENT = re.compile(r"\*(?:[^\S\n]*\*){2,}[^\S\n]*|⁂")
_NEWLINES = re.compile(r"\r\n?")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """The canonical form of a piece of page text. Idempotent."""
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    # Removing an invisible character can make a base letter and a combining mark adjacent,
    # and NFKC can produce characters the table maps (U+2011 becomes U+2010), so repeat to a
    # fixed point. The table is idempotent, so text that is already NFKC after it is one; the
    # bound keeps it linear.
    text = _translate(text)
    for _ in range(4):
        if text.isascii() or unicodedata.is_normalized("NFKC", text):
            break
        text = _translate(_nfkc(text))
    if "*" in text or "⁂" in text:
        text = _ORNAMENT.sub(" ", text)
    # Runs of spaces become one space, and lines that are left empty go: `str.split` and
    # the `\s` of a pattern agree on what whitespace is.
    return "\n".join(filter(None, (" ".join(line.split()) for line in text.split("\n"))))


def _nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, line by line, leaving the lines that are so
    already: a page's text holds a few characters NFKC changes (a no-break space) among
    thousands of lines that it leaves alone, and normalising these costs more than finding
    them. The same text: a newline composes with no character, nor comes out of one."""
    return "\n".join(
        line
        if line.isascii() or unicodedata.is_normalized("NFKC", line)
        else unicodedata.normalize("NFKC", line)
        for line in text.split("\n")
    )


def _translate(text: str) -> str:
    """`text.translate(_TRANSLATION)`, done by replacing only the characters it holds."""
    found = set(_MAPPED.findall(text))
    if len(found) > 8:
        return text.translate(_TRANSLATION)
    for char in found:
        text = text.replace(char, _TRANSLATION[ord(char)] or "")
    return text


def strip_trailing_ellipsis(text: str) -> str:
    """A teaser cut with "…" or "[…]" is the same teaser as one cut without it."""
    stripped = text.rstrip()
    for tail in ("[...]", "..."):
        if stripped.endswith(tail):
            return stripped[: -len(tail)].rstrip()
    return text


def squash(text: str) -> str:
    """Normalised text with every whitespace character removed."""
    return _WHITESPACE.sub("", normalise(text))


def compact(text: str) -> str:
    """`squash` for text that is already normalised: only the whitespace goes."""
    return "".join(text.split())


def fingerprint(*parts: str) -> str:
    """A stable hash of normalised `parts` with all whitespace removed."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(compact(part).encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def word_count(text: str) -> int:
    """How many runs of word characters (`\\w+`) `text` holds.

    A whitespace-separated token made only of letters and digits is one such run, and
    `str.isalnum` says so without building a match per word: the pattern runs only over the
    tokens with punctuation in them, joined by spaces (which no run crosses). Exactly
    `len(_WORD.findall(text))`, for 60% of its cost on a paragraph.
    """
    tokens = text.split()
    odd = [token for token in tokens if not token.isalnum()]
    if not odd:
        return len(tokens)
    return len(tokens) - len(odd) + len(_WORD.findall(" ".join(odd)))
