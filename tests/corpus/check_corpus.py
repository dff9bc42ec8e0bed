"""Self-check for the corpus: load every page, build every variant, verify the edits.

Run: ``python tests/corpus/check_corpus.py`` (exit status 1 on any failure).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from selectolax.lexbor import LexborHTMLParser
from variants import (
    ACCESS,
    DESCRIPTION,
    PAYWALL,
    TEASER,
    body_start,
    load_corpus,
    make_variants,
    text_of,
)

ALLOWED = {"free", "locked", "metered"}
# chrome edits that must leave the article container's text exactly as it was
SAME_BODY_TEXT = {
    "cache_buster",
    "nav_change",
    "footer_change",
    "cookie_banner",
    "ad_slot_change",
    "whitespace_reflow_head",
    "curly_quotes_chrome",
    "date_change_outside",
    "link_query_strings",
    "entity_swap",
    "ad_in_body",
    "whitespace_reflow_body",
}


def _norm(s: str) -> str:
    return " ".join(s.split())


def _squash(s: str) -> str:
    return "".join(s.split())


def _descriptions(src: str) -> list[str]:
    tree = LexborHTMLParser(src)
    out = []
    for sel in ('meta[property="og:description"]', 'meta[name="description"]'):
        for node in tree.css(sel):
            out.append(node.attributes.get("content") or "")
    return out


# blocks that can hold an article's first paragraph; some sites set the lede in an <h2>
# styled as body text (Le Monde's h2.taille_courante)
BLOCKS = "p, li, div, td, h2, h3"


def first_paragraph(src: str, entry: dict[str, Any]) -> tuple[int, str]:
    """Index and text of the first block under the body that holds ``first_words``."""
    body = LexborHTMLParser(src).css_first(entry["body_selector"])
    if body is None or not entry["first_words"]:
        return -1, ""
    want = _norm(entry["first_words"])
    # the body itself comes last: text can sit bare in it, split only by <br> (applepr)
    for i, node in enumerate([*body.css(BLOCKS), body]):
        text = _norm(node.text(deep=True))
        # a dateline can share the block with the first words (paulgraham: "October 2010" + <br>)
        at = text.find(want)
        if at == 0 or 0 < at <= 40 or (at > 0 and len(text) < 4 * len(want) + 400):
            return i, text
        if node is body and at > 0:
            return i, text
    return -1, ""


def paragraph_at(src: str, entry: dict[str, Any], index: int) -> str:
    body = LexborHTMLParser(src).css_first(entry["body_selector"])
    if body is None or index < 0:
        return ""
    nodes = [*body.css(BLOCKS), body]
    return _norm(nodes[index].text(deep=True)) if index < len(nodes) else ""


def check_entry(entry: dict[str, Any], src: str) -> list[str]:
    errors: list[str] = []
    pid = entry["id"]
    tree = LexborHTMLParser(src)
    if entry["access"] not in ALLOWED:
        errors.append(f"{pid}: bad access {entry['access']!r}")
    body = tree.css_first(entry["body_selector"])
    if body is None:
        return [f"{pid}: body_selector {entry['body_selector']!r} matches nothing"]
    body_text = text_of(src, entry["body_selector"])
    if entry["first_words"] and first_paragraph(src, entry)[0] < 0:
        errors.append(f"{pid}: first_words not found in a body paragraph")
    if entry["notice"]:
        notice_text = text_of(src, entry["notice_selector"])
        if _norm(entry["notice"]) not in notice_text:
            errors.append(f"{pid}: notice not found under notice_selector")
    if entry["description"] and entry["description"] not in _descriptions(src):
        errors.append(f"{pid}: description differs from the page's meta content")

    start = body_start(src)
    for old, new in entry.get("volatile") or ():
        if src.count(old, start) != 1 or old == new:
            errors.append(f"{pid}: volatile text {old!r} is not once in the body, or unchanged")
    variants = make_variants(src, entry)
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        errors.append(f"{pid}: duplicate variant names {names}")
    chrome = [v for v in variants if not v.expect]
    if len(chrome) < 10:
        errors.append(f"{pid}: only {len(chrome)} chrome variants")
    wanted = set()
    if entry["first_words"]:
        wanted.add("teaser_edit")
    if entry["description"]:
        wanted.add("description_edit")
    if entry["notice"]:
        wanted.add("notice_edit")
    if entry["access"] == "locked" and entry["first_words"]:  # see variants.make_variants
        wanted.add("unlock")
    missing = wanted - set(names)
    if missing:
        errors.append(f"{pid}: missing variants {sorted(missing)}")

    for v in variants:
        tag = f"{pid}/{v.name}"
        if v.html == src:
            errors.append(f"{tag}: identical to the original")
            continue
        new_body = text_of(v.html, entry["body_selector"])
        if v.name in SAME_BODY_TEXT and new_body != body_text:
            errors.append(f"{tag}: article text changed by a chrome edit")
        if TEASER in v.expect:
            index, before = first_paragraph(src, entry)
            if index < 0 or paragraph_at(v.html, entry, index) == before:
                errors.append(f"{tag}: first paragraph unchanged")
        if DESCRIPTION in v.expect and set(_descriptions(v.html)) & {entry["description"]}:
            errors.append(f"{tag}: description unchanged")
        notice_after = text_of(v.html, entry["notice_selector"])
        if PAYWALL in v.expect and _norm(entry["notice"]) in notice_after:
            errors.append(f"{tag}: notice text unchanged")
        if ACCESS in v.expect:
            if entry["notice_selector"] and LexborHTMLParser(v.html).css_first(
                entry["notice_selector"]
            ):
                errors.append(f"{tag}: notice element still present")
            if re.search(r'"isAccessibleForFree"\s*:\s*"?(false|False)', v.html):
                errors.append(f"{tag}: isAccessibleForFree false still present")
        # compared without whitespace: the text joins inline elements with a space ("( To be")
        lost = entry["first_words"] and _squash(entry["first_words"]) not in _squash(new_body)
        if not v.expect and lost:
            errors.append(f"{tag}: chrome edit removed the teaser words")
    return errors


def main() -> int:
    corpus = load_corpus()
    errors: list[str] = []
    total = 0
    counts = {"free": 0, "locked": 0, "metered": 0}
    for entry, src in corpus:
        counts[entry["access"]] = counts.get(entry["access"], 0) + 1
        errors += check_entry(entry, src)
        total += len(make_variants(src, entry))
    print(f"pages: {len(corpus)} {counts}; variants: {total}")
    for e in errors:
        print("FAIL", e)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
