"""Article text on the real-page corpus: monitor's selectors against main-content extractors.

    .venv/bin/pip install trafilatura lxml_html_clean   # not a dependency of monitor
    .venv/bin/python bench/extractors.py

For each page of `tests/corpus` and each strategy: whether the text holds the article's first
words, whether it starts there, how often a chrome-only edit (nothing in the article changed)
changes the text, whether a teaser edit does, and the CPU time per page. This is how the
teaser extractor was chosen; run on demand, never in the test suite.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.detect.capture import Capture
from monitor.detect.extract import extract
from monitor.detect.normalise import normalise
from monitor.detect.rules import ExtractRules
from tests.corpus.variants import load_corpus, make_variants


def selectors(page: str) -> str:
    capture = Capture(url="p.html", body=page.encode(), media_type="text/html", charset="utf-8")
    return extract(capture, ExtractRules()).teaser


def trafilatura_precision(page: str) -> str:
    import trafilatura

    return trafilatura.extract(page, favor_precision=True, include_comments=False) or ""


def trafilatura_default(page: str) -> str:
    import trafilatura

    return trafilatura.extract(page, include_comments=False) or ""


STRATEGIES: dict[str, Callable[[str], str]] = {
    "selectors": selectors,
    "trafilatura precision": trafilatura_precision,
    "trafilatura default": trafilatura_default,
}


def squash(text: str) -> str:
    return "".join(normalise(text).casefold().split())


def main() -> None:
    corpus = load_corpus()
    print(f"{len(corpus)} pages")
    header = (
        "strategy | first words found | starts there | chrome edits changing text | "
        "teaser edits seen | ms per page"
    )
    print(header)
    for name, run in STRATEGIES.items():
        found = starts = noisy = chrome = seen = edits = 0
        spent = 0.0
        misses: list[str] = []
        for truth, page in corpus:
            began = time.process_time()
            text = run(page)
            spent += time.process_time() - began
            first = squash(truth.get("first_words") or "")
            squashed = squash(text)
            if first in squashed and squashed:
                found += 1
            else:
                misses.append(truth["id"])
            starts += bool(first) and squashed.startswith(first)
            for variant in make_variants(page, truth):
                other = squash(run(variant.html))
                if not variant.expect:
                    chrome += 1
                    noisy += other != squashed
                elif "teaser_rewritten" in variant.expect:
                    edits += 1
                    seen += other != squashed
        print(
            f"{name} | {found}/{len(corpus)} | {starts}/{len(corpus)} | {noisy}/{chrome} | "
            f"{seen}/{edits} | {spent / len(corpus) * 1000:.1f}"
        )
        if misses:
            print(f"  misses: {', '.join(misses)}")


if __name__ == "__main__":
    main()
