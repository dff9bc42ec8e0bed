"""The digest of what a page's reading is made from (`Regions.digest`): a page with the stored
version's digest reads as that version without its text being read again, and anything that
could change the reading changes the digest."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import monitor.detect.extract as extract_module
import monitor.store.record as record
from monitor.detect.capture import Capture
from monitor.detect.compare import compare
from monitor.detect.extract import Regions, extract, extract_html
from monitor.detect.rules import ExtractRules
from monitor.store.db import Store
from monitor.store.record import Recipients, record_checks
from monitor.store.rows import CheckResult

from .conftest import run, source_block, write_config
from .server import LoopServer, Reply, Request

RULES = ExtractRules()
STORY = (
    "The committee met on Tuesday and agreed a budget for the coming year after a long debate "
    "about the harbour, the schools and the new road to the north of the town."
)


def page(
    *,
    ticker: str = "Generated 1 nonce abc views 5",
    story: str = STORY,
    notice: str = "Subscribe to read the rest of this story.",
    description: str = "The committee agreed a budget.",
    title: str = "Budget agreed",
    body_class: str = "night",
    byline: str = "By A. Writer",
    note: str = "Editor's note: the figures were corrected on Monday at the council's request.",
    login: bool = False,
    json_ld: str = "",
) -> str:
    form = '<form><input type="password" name="pw"></form>' if login else ""
    return (
        f"<html><head><title>{title}</title>"
        f'<meta property="og:description" content="{description}">{json_ld}</head>'
        f'<body class="{body_class}"><div class="ticker">{ticker}</div>'
        f'<article><h1>{title}</h1><p class="byline">{byline}</p><p>{story}</p>'
        f'<p class="note">{note}</p><div class="paywall">{notice}</div></article>{form}'
        "</body></html>"
    )


def read(html: str, rules: ExtractRules = RULES) -> Regions:
    return extract_html(html, rules)


def test_a_page_whose_chrome_alone_changed_keeps_its_digest_and_is_not_read_again() -> None:
    first = read(page())
    assert first.digest is not None
    again = page(ticker="Generated 2 nonce def views 6")
    assert read(again).digest == first.digest
    assert extract_html(again, RULES, first.digest) is None


@pytest.mark.parametrize(
    "edit",
    [
        {"story": STORY.replace("long debate", "short debate")},
        {"notice": "Subscribe today to read the rest of this story."},
        {"description": "The committee agreed a new budget."},
        {"title": "Budget agreed at last"},  # the heading shown in reports
        {"byline": "By B. Writer"},  # inside the article, though dropped as chrome
        {"login": True},  # a sign-in form outside the article
        {"json_ld": '<script type="application/ld+json">{"isAccessibleForFree": false}</script>'},
    ],
    ids=["teaser", "notice", "description", "title", "byline", "login form", "declared access"],
)
def test_an_edit_that_may_change_the_reading_changes_the_digest_and_is_read_in_full(
    edit: dict[str, object],
) -> None:
    first = read(page())
    edited = page(**edit)  # type: ignore[arg-type]
    second = read(edited)
    assert second.digest != first.digest
    shortcut = extract_html(edited, RULES, first.digest)
    assert shortcut == second and shortcut is not None and shortcut.title == second.title


def test_whether_the_page_or_only_its_paywall_class_says_locked_is_in_the_digest() -> None:
    # The article carries the paywall class and shows no notice: metered when the page
    # declares nothing, locked when its JSON-LD says it is not free. The article is the same.
    declared = '<script type="application/ld+json">{"isAccessibleForFree": false}</script>'

    def marked(json_ld: str) -> str:
        return page(notice="", json_ld=json_ld).replace("<article>", '<article class="paywall">')

    locked, metered = read(marked(declared)), read(marked(""))
    assert (locked.access, metered.access) == ("locked", "metered")
    assert locked.digest != metered.digest
    assert extract_html(marked(""), RULES, locked.digest) == metered


def test_an_ancestors_class_a_rule_asks_for_is_in_the_digest() -> None:
    # `.night .note` drops the note only under <body class="night">: the body is outside the
    # article, and still decides what the teaser says.
    rules = ExtractRules(exclude=(".night .note",))
    night, day = read(page(), rules), read(page(body_class="day"), rules)
    assert "Editor's note" not in night.teaser and "Editor's note" in day.teaser
    assert night.digest != day.digest
    assert extract_html(page(body_class="day"), rules, night.digest) == day


def test_a_notices_place_inside_the_article_is_in_the_digest() -> None:
    # the same notice before or after the paragraph: where it sat is part of what was read
    notice = '<div class="paywall">Subscribe to read the rest.</div>'
    head = "<html><head><title>Budget agreed</title></head><body><article><h1>Budget agreed</h1>"
    first = read(f"{head}{notice}<p>{STORY}</p></article></body></html>")
    last = read(f"{head}<p>{STORY}</p>{notice}</article></body></html>")
    assert first.digest is not None and last.digest is not None
    assert first.digest != last.digest


def test_which_of_two_alike_notices_was_taken_is_in_the_digest() -> None:
    # The article's markup is the same on both pages and so is each notice's; the rules take
    # the first or the last by what stands beside the article, and the teaser keeps the other.
    rules = ExtractRules(
        paywall=(".x + article .box:first-of-type", ".y + article .box:last-of-type")
    )

    def boxed(side: str) -> str:
        box = '<div class="box">Subscribe now to read on.</div>'
        return (
            f'<html><head><title>T</title></head><body><aside class="{side}"></aside>'
            f"<article>{box}<p>{STORY}</p>{box}</article></body></html>"
        )

    first, last = read(boxed("x"), rules), read(boxed("y"), rules)
    assert first.teaser != last.teaser
    assert first.digest != last.digest
    assert extract_html(boxed("y"), rules, first.digest) == last


@pytest.mark.parametrize("selector", ["h2 + p", "h2 ~ p", "p:first-child"])
def test_rules_that_look_at_siblings_or_positions_keep_no_digest(selector: str) -> None:
    regions = read(page(), ExtractRules(exclude=(selector,)))
    assert regions.access == "locked" and regions.digest is None


def test_a_reading_without_a_teaser_keeps_no_digest() -> None:
    # the notice alone: `_failure` reads the whole page's text then, which the digest leaves out
    html = (
        "<html><head><title>T</title></head><body><article>"
        '<div class="paywall">Subscribe to read this story, members only.</div>'
        "</article></body></html>"
    )
    regions = read(html)
    assert regions.access == "locked" and regions.teaser == "" and regions.digest is None


def test_a_text_snapshot_keeps_no_digest() -> None:
    capture = Capture(url="a.txt", body=f"{STORY}\n".encode(), media_type="text/plain")
    regions = extract(capture, RULES)
    assert regions.teaser and regions.digest is None


def test_a_page_that_carries_the_mark_itself_keeps_no_digest_and_keeps_its_attribute() -> None:
    html = page().replace("<article>", '<article data-monitor-digest="x">')
    regions = read(html)
    assert regions.teaser and regions.digest is None


def test_the_digest_depends_on_the_code_that_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    first = read(page())
    try:
        monkeypatch.setattr(extract_module, "code_key", lambda: "other code")
        extract_module._prefix.cache_clear()
        assert read(page()).digest not in (None, first.digest)
        monkeypatch.setattr(extract_module, "code_key", lambda: None)  # its files unreadable
        extract_module._prefix.cache_clear()
        assert read(page()).digest is None
    finally:
        monkeypatch.undo()
        extract_module._prefix.cache_clear()
    assert read(page()).digest == first.digest


def test_marking_for_the_digest_leaves_the_page_as_it_was() -> None:
    # the mark is taken off again: a rule that asks for attributes sees the page's own
    rules = ExtractRules(exclude=("[data-monitor-digest]",))
    regions = read(page(), rules)
    assert "committee met" in regions.teaser and "Editor's note" in regions.teaser


# -- the store ----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
A = replace(read(page()), digest="digest-of-a")
B = read(page(story=STORY.replace("long debate", "short debate")))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "m.db")
    store.sync_sources([("s", "https://example.org/a")], NOW)
    return store


def test_a_version_keeps_the_digest_it_was_read_from_until_another_replaces_it(
    store: Store,
) -> None:
    record_checks(store, [CheckResult("s", "new", NOW, 5, regions=A)], Recipients({}))
    assert store.known(["s"])["s"].digest == "digest-of-a"
    assert store.state("s").digest == "digest-of-a"
    # read by digest alone: recorded as unchanged, no version, the digest kept
    [same] = record_checks(
        store,
        [CheckResult("s", "unchanged", NOW, 5, base_version_id=1, digest="digest-of-a")],
        Recipients({}),
    )
    assert isinstance(same, CheckResult) and same.outcome == "unchanged"
    assert store.known(["s"])["s"].digest == "digest-of-a"
    # a baseline import or any other write that moves the current version leaves it unused
    store.conn.execute(
        "insert into versions (source_id, fingerprint, access) values ('s', 'f', 'free')"
    )
    store.conn.execute("update sources set current_version_id = 2 where id = 's'")
    assert store.known(["s"])["s"].digest is None and store.state("s").digest is None


def test_a_page_read_by_digest_after_another_writer_stored_a_version_is_compared_with_it(
    store: Store,
) -> None:
    """The check began with A and found the page still reads as A; another writer, whose check
    began earlier, stored B meanwhile. The page shows A's text, which differs from B: compared
    again, not recorded as unchanged against B."""
    record_checks(store, [CheckResult("s", "new", NOW, 5, regions=A)], Recipients({}))
    record_checks(  # the other writer
        store,
        [
            CheckResult(
                "s", "changed", NOW, 5, regions=B, comparison=compare(A, B), base_version_id=1
            )
        ],
        Recipients({}),
    )
    later = NOW + timedelta(minutes=1)
    late = CheckResult("s", "unchanged", later, 5, base_version_id=1, digest="digest-of-a")
    [stale] = record_checks(store, [late], Recipients({}))
    assert isinstance(stale, record.Stale)
    assert stale.current.id == 2 and stale.result.regions is not None
    assert stale.result.regions.fingerprint == A.fingerprint  # (titles are not stored)


# -- a user's checks ---------------------------------------------------------------------------


def test_a_check_of_a_page_whose_chrome_rotates_reads_edits_of_the_article_and_of_its_ancestors(
    tmp_path: Path,
) -> None:
    """`monitor check` on a page whose ticker changes on every request: unchanged while only
    the ticker moves (read by digest), a change when the article is edited, and a change when
    only <body>'s class moves where the user's rule depends on it."""
    state = {"story": STORY, "body": "night"}

    def serve(request: Request) -> Reply:
        html = page(ticker=f"request {request.hit}", story=state["story"], body_class=state["body"])
        return Reply(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})

    with LoopServer().running() as server:
        url = server.route("/story", serve)
        extra = '[source.extract]\nexclude = [".night .note"]\n'
        config = write_config(tmp_path, source_block("s", url, extra=extra), seeds=False)

        def outcome() -> str:
            result = run(config, "check", "--json")
            assert result.exit_code == 0, result.output
            [checked] = json.loads(result.stdout)
            return str(checked["outcome"])

        assert outcome() == "new"
        with sqlite3.connect(tmp_path / "monitor.db") as conn:
            digest = conn.execute("select digest from sources").fetchone()[0]
        assert digest
        assert outcome() == "unchanged"
        state["story"] = STORY.replace("long debate", "short debate")
        assert outcome() == "changed"
        state["body"] = "day"  # the note is article text now
        assert outcome() == "changed"
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        teasers = [r[0] for r in conn.execute("select teaser from versions order by id")]
    assert len(teasers) == 3
    assert "Editor's note" not in teasers[1] and "Editor's note" in teasers[2]
