"""Mutation testing of the modules that hold the guarantees, on demand like the benchmark.

    .venv/bin/python bench/mutation.py                       # every module below, one by one
    .venv/bin/python bench/mutation.py fetch/inflate diff    # some of them
    .venv/bin/python bench/mutation.py --children 1 record   # leave a core free
    .venv/bin/python bench/mutation.py --fresh fetch/http    # after code or tests moved

Each module is mutated by mutmut in its own copy of the tree, mutants/<module>/, against only
the test files that cover it (a test file that reaches the module but only through a whole
service run makes each mutant cost minutes). mutmut then runs, for each mutant, only the tests
that reached the mutated function in a first, clean pass, and keeps its results: a second run
tries only the functions changed since. Prints killed / survived / other per module and the
survivors' names; `cd mutants/<module> && ../../.venv/bin/mutmut show NAME` shows one's diff.
README, "Mutation testing", holds the last figures and why each survivor is left.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"

# The tests of a page's reading, shared by the modules of `monitor/detect/` that read it.
_READING = (
    "tests/test_extract.py",
    "tests/test_extract_real_markup.py",
    "tests/test_extract_rules.py",
    "tests/test_digest.py",
    # the real pages: seconds a mutant, over a thousand mutants (the README's figures are
    # from a run without it)
    "tests/test_corpus.py",
)

# module → the pytest arguments that select the tests holding its guarantees
MODULES: dict[str, tuple[str, ...]] = {
    "monitor/fetch/inflate.py": ("tests/test_inflate.py", "tests/test_fetch.py"),
    "monitor/detect/normalise.py": ("tests/test_normalise.py", "tests/test_compare.py"),
    "monitor/fetch/http.py": ("tests/test_fetch.py", "tests/test_deadline.py"),
    "monitor/detect/compare.py": ("tests/test_compare.py", "tests/test_diff.py"),
    "monitor/detect/diff.py": (
        "tests/test_diff.py",
        "tests/test_compare.py",
        # the same paths as the 20,000-word line, at eight times the cost for every mutant
        "--deselect",
        "tests/test_diff.py::test_two_word_edit_in_a_megabyte_line_is_two_words",
    ),
    "monitor/detect/extract.py": _READING,
    "monitor/detect/article.py": _READING,
    "monitor/detect/chrome.py": _READING,
    "monitor/detect/notice.py": _READING,
    "monitor/detect/access.py": _READING,
    "monitor/detect/tree.py": _READING,
    "monitor/detect/capture.py": (
        "tests/test_capture.py",
        "tests/test_extract_rules.py",
        "tests/test_extract.py",
        "tests/test_fetch.py",
        "tests/test_faults.py::test_latin1_page_without_charset_is_read_as_browsers_do",
    ),
    "monitor/store/outbox.py": (
        "tests/test_alerts.py",
        "tests/test_smtp_faults.py",
        "tests/test_outbox_rules.py",
        # the one test of `failed_alerts`: `status` and the web UI count the alerts given up on
        "tests/test_discovery.py::"
        "test_a_failing_discovery_and_alerts_given_up_on_show_in_status_and_the_web_ui",
    ),
    "monitor/alerts/outbox.py": (
        "tests/test_alerts.py",
        "tests/test_smtp_faults.py",
        "tests/test_outbox_rules.py",
    ),
    "monitor/store/record.py": (
        "tests/test_store.py",
        "tests/test_digest.py",
        "tests/test_check.py",
        # the worker pool's test: 7 s of the 15 s every mutant costs, and it records through
        # the same path as the rest of test_check.py
        "--deselect",
        "tests/test_check.py::test_a_large_pass_uses_worker_processes_and_finds_the_same",
        "tests/test_concurrent_writers.py",
        # not the SIGKILL loop of test_crash.py: half a minute for every mutant
        "tests/test_crash.py::test_disk_full_fails_the_check_cleanly_and_recovers",
        "tests/test_crash.py::test_a_locked_database_is_waited_for",
    ),
}
# mutmut's exit codes (mutmut.stats.status_by_exit_code): a test failed, the tests ran out of
# time (an endless loop: also caught), all passed, or no test reaches the mutated function.
STATUS: dict[int | None, str] = {1: "killed", 3: "killed", 0: "survived", None: "not run"}
STATUS |= {33: "no tests", 5: "no tests"}
STATUS |= dict.fromkeys((36, 24, -24, 152, 255), "timeout")


def _config(module: str, tests: tuple[str, ...]) -> str:
    def strings(items: tuple[str, ...] | list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["monitor"]\n'
        f"only_mutate = {strings([module])}\n"
        'also_copy = ["seeds/", "config.toml"]\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        f"pytest_add_cli_args_test_selection = {strings(tests)}\n"
    )


def _work(module: str) -> Path:
    return ROOT / "mutants" / module.removeprefix("monitor/").removesuffix(".py").replace("/", ".")


def prepare(module: str) -> Path:
    """A fresh copy of the code and tests in mutants/<module>/, keeping mutmut's results."""
    work = _work(module)
    work.mkdir(parents=True, exist_ok=True)
    for folder in ("monitor", "tests", "seeds"):
        shutil.rmtree(work / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "config.toml", work / "config.toml")
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (work / "pyproject.toml").write_text(text + _config(module, MODULES[module]), "utf-8")
    return work


def show(work: Path, name: str) -> str:
    """The changed lines of one mutant, as `mutmut show` prints them."""
    out = subprocess.run(
        [str(MUTMUT), "show", name], cwd=work, capture_output=True, text=True, check=False
    ).stdout
    lines = out.splitlines()
    return "\n".join(
        f"      {line}" for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")
    )


def _statuses(work: Path, module: str) -> dict[str, str]:
    meta = work / "mutants" / (module + ".meta")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: STATUS.get(code, f"other ({code})") for name, code in codes.items()}


def run(
    module: str, children: int, diffs: bool = False, again: bool = False, fresh: bool = False
) -> None:
    if fresh:
        # mutmut maps each function to the tests that reach it once, and afterwards only adds
        # new tests: a function added since, or a test rewritten to reach another one, is not
        # seen. Forget the map and the verdicts.
        shutil.rmtree(_work(module) / "mutants", ignore_errors=True)
    work = prepare(module)
    # mutmut keeps a verdict until the mutated function changes: after new tests, name the
    # survivors (and the mutants not tried yet, or that no test reached) to try them again
    again_for = ("survived", "not run", "no tests")
    names = [n for n, s in _statuses(work, module).items() if s in again_for] if again else []
    with (work / "run.log").open("w") as log:
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(children), *names],
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    report(module, diffs)


def report(module: str, diffs: bool) -> None:
    """How many mutants were killed, timed out, survived…, and the survivors' names."""
    work = _work(module)
    status = _statuses(work, module)
    tally = Counter(status.values())
    print(
        f"{module}: {len(status)} mutants: "
        + ", ".join(f"{n} {s}" for s, n in sorted(tally.items(), key=lambda i: -i[1])),
        flush=True,
    )
    survivors = sorted(name for name, s in status.items() if s == "survived")
    for name in survivors:
        print(f"  survived {name}", flush=True)
        if diffs:
            print(show(work, name), flush=True)
    for name, s in sorted(status.items()):
        if s not in ("killed", "survived", "timeout"):
            print(f"  {s}: {name}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="e.g. fetch/inflate (default: all)")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--diffs", action="store_true", help="print each survivor's change")
    parser.add_argument("--report", action="store_true", help="the last run's results only")
    parser.add_argument("--again", action="store_true", help="try the last survivors again")
    parser.add_argument(
        "--fresh", action="store_true", help="forget the last run's test map and verdicts"
    )
    args = parser.parse_args()
    chosen = list(MODULES)
    if args.modules:
        chosen = [m for m in MODULES if any(m.endswith(f"{name}.py") for name in args.modules)]
        if not chosen:
            parser.error(f"no such module; choose from {', '.join(MODULES)}")
    for module in chosen:
        if args.report:
            report(module, args.diffs)
        else:
            run(module, args.children, args.diffs, args.again, args.fresh)


if __name__ == "__main__":
    main()
