"""A version stored by another reading (an upgrade whose extraction differs, a source whose
`[source.extract]` rules were edited) is never compared with a page read now: the page is read
again in full, its validators not sent, and taken for the new reference (`rebaselined`), with no
change and no alert; the publisher's next edit is reported as any edit is.

Found by an outside review of upgrades: after a database of 0.1 was upgraded, every check got a
304 to its old validators, so the first response that was not one was the publisher's next
edit, taken in silently as the new reference; a database of a later build, whose extraction
had changed with no step to say so, sent "Teaser edited" for a list the new code reads
differently."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from monitor.detect.regions import Regions

from .conftest import run, source_block, write_config
from .server import LoopServer, Reply, Request
from .service_helpers import RunningService

OPENING = (
    "The alliance between the two states has deepened over the past year, with new agreements "
    "on trade, energy and defence signed at a summit that drew little attention abroad."
)
LATER = (
    "Officials on both sides describe the summit as routine, but the texts signed there commit "
    "each state to consult the other before any move in the region."
)


class Page:
    """One article behind an ETag, answered with 304 to a request that sends it back."""

    def __init__(self, http: LoopServer) -> None:
        self.opening = OPENING
        self.later = LATER
        self.related = "Read also: the ports of the north"
        self.url = http.route("/article", self.reply)
        self.requests: list[Request] = []

    def body(self) -> bytes:
        return (
            "<html><head><title>An article</title></head><body><article>"
            f'<p>{self.opening}</p><p class="later">{self.later}</p>'
            f'<p class="related">{self.related}</p>'
            "</article></body></html>"
        ).encode()

    def reply(self, request: Request) -> Reply:
        self.requests.append(request)
        body = self.body()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(200, body, {"Content-Type": "text/html", "ETag": etag})

    def conditional(self) -> list[bool]:
        """For each request so far, whether it sent validators."""
        return ["If-None-Match" in r.headers for r in self.requests]


def config(tmp_path: Path, page: Page, extract: str = "") -> Path:
    body = '[monitor]\nretries = 0\n\n[email]\nto = ["desk@example.org"]\n\n'
    return write_config(tmp_path, body + source_block("a", page.url, extra=extract), seeds=False)


def check(cfg: Path, *options: str) -> dict[str, object]:
    result = run(cfg, "check", "--json", *options)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    return dict(row)


def database(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)


def stored_by_an_older_reading(tmp_path: Path) -> None:
    """What a database of an earlier build holds: a version that code read otherwise (here,
    with the related link in the teaser), and no key of the reading that made it."""
    with database(tmp_path) as db:
        teaser, paywall, description, access = db.execute(
            "select teaser, paywall, description, access from versions"
        ).fetchone()
        read = Regions(teaser + "\nRead also: the ports of the north", paywall, description, access)
        db.execute(
            "update versions set teaser = ?, fingerprint = ?", [read.teaser, read.fingerprint]
        )
        db.execute("update sources set reading = null")


@pytest.fixture
def upgraded(tmp_path: Path, http: LoopServer) -> tuple[Page, Path]:
    """A page checked once, whose stored version an older reading made."""
    page = Page(http)
    cfg = config(tmp_path, page)
    check(cfg)
    stored_by_an_older_reading(tmp_path)
    return page, cfg


def counts(tmp_path: Path) -> tuple[int, int]:
    with database(tmp_path) as db:
        changes = db.execute("select count(*) from changes").fetchone()[0]
        alerts = db.execute("select count(*) from alerts").fetchone()[0]
    return changes, alerts


def test_after_an_upgrade_the_page_is_read_again_in_full_and_taken_for_the_reference(
    tmp_path: Path, http: LoopServer
) -> None:
    page = Page(http)
    cfg = config(tmp_path, page)
    assert check(cfg)["outcome"] == "new"
    assert check(cfg)["outcome"] == "not_modified"  # the premise: the server answers 304
    stored_by_an_older_reading(tmp_path)
    assert check(cfg)["outcome"] == "rebaselined"
    assert page.conditional() == [False, True, False]  # no validators after the upgrade
    assert counts(tmp_path) == (0, 0)
    assert check(cfg)["outcome"] == "not_modified"


def test_the_publishers_first_edit_after_an_upgrade_is_reported(
    tmp_path: Path, upgraded: tuple[Page, Path]
) -> None:
    """The review's case: the page answered 304 until the publisher's edit, which was then
    taken in as the new reference with no change."""
    page, cfg = upgraded
    assert check(cfg)["outcome"] == "rebaselined"
    page.opening = OPENING.replace("deepened", "weakened")
    edited = check(cfg)
    assert edited["outcome"] == "changed"
    assert edited["kinds"] == ["teaser_rewritten"]
    assert counts(tmp_path) == (1, 1)


def test_a_dry_run_after_an_upgrade_says_rebaselined_and_writes_nothing(
    tmp_path: Path, upgraded: tuple[Page, Path]
) -> None:
    _, cfg = upgraded
    assert check(cfg, "--dry-run")["outcome"] == "rebaselined"
    with database(tmp_path) as db:
        assert db.execute("select reading from sources").fetchone() == (None,)
    assert check(cfg)["outcome"] == "rebaselined"


def test_editing_a_sources_extract_rules_rebaselines_it_instead_of_alerting(
    tmp_path: Path, http: LoopServer
) -> None:
    page = Page(http)
    check(config(tmp_path, page))
    cfg = config(tmp_path, page, extract='[source.extract]\nexclude = ["p.later"]\n')
    assert check(cfg)["outcome"] == "rebaselined"  # the page did not change: the reading did
    assert counts(tmp_path) == (0, 0)
    page.later = LATER.replace("routine", "historic")  # excluded now
    assert check(cfg)["outcome"] == "unchanged"
    assert counts(tmp_path) == (0, 0)


def test_the_service_reads_a_page_stored_by_an_older_reading_again_in_full(
    tmp_path: Path, upgraded: tuple[Page, Path]
) -> None:
    page, cfg = upgraded
    cfg.write_text(cfg.read_text().replace("retries = 0", 'retries = 0\ninterval = "1s"'))
    service = RunningService(cfg)
    try:
        service.wait_for(lambda: service.events("check", source="a", outcome="rebaselined"))
        assert page.conditional()[:2] == [False, False]
    finally:
        assert service.stop() == 0
    assert counts(tmp_path) == (0, 0)


def test_a_rules_edit_that_stops_reading_a_box_as_the_notice_is_a_new_reference(
    tmp_path: Path, http: LoopServer
) -> None:
    """A code review: a version read with a notice, compared with a page the new rules read
    without one, was judged a selector that stopped matching, a failed check every time after
    (the stored version kept its reading), until the source was reported failing."""
    page = (
        f"<html><head><title>An article</title></head><body><article><p>{OPENING}</p>"
        f"<p>{LATER}</p></article>"
        '<div class="paywall">Support our newsroom: become a member of the society today, '
        "and get our weekly letter.</div></body></html>"
    ).encode()
    url = http.route("/boxed", lambda r: Reply(200, page, {"Content-Type": "text/html"}))
    body = '[monitor]\nretries = 0\nfailing_after = 2\n\n[email]\nto = ["desk@example.org"]\n\n'
    cfg = write_config(tmp_path, body + source_block("a", url), seeds=False)
    assert check(cfg)["outcome"] == "new"
    with database(tmp_path) as db:
        assert db.execute("select access from versions").fetchone() == ("locked",)
    extract = '[source.extract]\npaywall = [".mepr-unauthorized-message"]\n'
    cfg = write_config(tmp_path, body + source_block("a", url, extra=extract), seeds=False)
    assert [check(cfg)["outcome"] for _ in range(2)] == ["rebaselined", "unchanged"]
    assert counts(tmp_path) == (0, 0)


def test_a_baseline_made_by_another_reading_is_read_again_and_stays_the_reference(
    tmp_path: Path, http: LoopServer
) -> None:
    """A code review: a source's baseline was imported, its first fetch failed, then its rules
    were edited: the next check took the live page for the new reference, and the paywall
    lifted since the baseline was never reported. The baseline file is read again instead."""
    locked = (
        f"<html><head><title>An article</title></head><body><article><p>{OPENING}</p>"
        '</article><div class="paywall">Subscribe to read the rest of this article. Members '
        "only.</div></body></html>"
    )
    free = (
        f"<html><head><title>An article</title></head><body><article><p>{OPENING}</p>"
        f"<p>{LATER}</p></article></body></html>"
    )
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.html").write_text(locked, encoding="utf-8")
    served = {"status": 503, "body": "down"}
    url = http.route(
        "/lifted",
        lambda r: Reply(served["status"], served["body"].encode(), {"Content-Type": "text/html"}),
    )
    body = '[monitor]\nretries = 0\n\n[email]\nto = ["desk@example.org"]\n\n'
    block = source_block("a", url, baseline="a.html")
    cfg = write_config(tmp_path, body + block, seeds=False)
    result = run(cfg, "check", "--json")
    assert json.loads(result.stdout)[0]["outcome"] == "error"  # imported; the fetch failed
    edited = '[source.extract]\nexclude = [".share-buttons"]\n'
    cfg = write_config(tmp_path, body + block + edited, seeds=False)
    served.update(status=200, body=free)
    assert check(cfg, "--dry-run")["outcome"] == "changed"
    lifted = check(cfg)
    assert lifted["outcome"] == "changed"
    assert "access_changed" in lifted["kinds"]  # type: ignore[operator]
    assert counts(tmp_path) == (1, 1)
