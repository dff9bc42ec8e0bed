"""Diff two 50,000-word texts with a 1% edit; target: under 100 ms (median of 7).

Then a 2-word edit in one line of a megabyte (170,000 words "w<number>", with and without
repetition), which the anchored path must keep to 2 words changed.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from monitor.detect.diff import word_diff

ROOT = Path(__file__).resolve().parent.parent


def texts(words: int = 50_000, edits: float = 0.01) -> tuple[str, str]:
    rng = random.Random(50_000)
    vocabulary = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "seeds").glob("*.txt"))
    pool = vocabulary.split()
    old = [rng.choice(pool) for _ in range(words)]
    new = list(old)
    for i in rng.sample(range(words), int(words * edits)):
        new[i] = rng.choice(pool) + "x"
    return " ".join(old), " ".join(new)


def main() -> None:
    old, new = texts()
    times = []
    for _ in range(7):
        start = time.perf_counter()
        segments = word_diff(old, new)
        times.append(time.perf_counter() - start)
    median = statistics.median(times) * 1000
    changed = sum(1 for s in segments if s.op == "+")
    verdict = "HOLDS" if median < 100 else "MISSED"
    print(
        f"diff of two 50,000-word texts, 1% edited: median {median:.0f} ms "
        f"(min {min(times) * 1000:.0f} ms), {changed} changed runs; under 100 ms: {verdict}"
    )
    for label, words in megabyte_lines():
        edited = list(words)
        edited[3], edited[-10] = "alpha", "omega"
        old, new = " ".join(words), " ".join(edited)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            segments = word_diff(old, new)
            times.append(time.perf_counter() - start)
        changed = sum(len(s.text.split()) for s in segments if s.op != "=")
        print(
            f"2-word edit in a {len(old) / 1e6:.1f} MB line ({label}): median "
            f"{statistics.median(times) * 1000:.0f} ms, {changed} words removed or added"
        )


def megabyte_lines() -> list[tuple[str, list[str]]]:
    rng = random.Random(818)
    return [
        ("w0 … w169999", [f"w{k}" for k in range(170_000)]),
        ("random w0 … w999", [f"w{rng.randrange(1000)}" for _ in range(170_000)]),
        ("w0 … w999 repeated", [f"w{k % 1000}" for k in range(170_000)]),
    ]


if __name__ == "__main__":
    main()
