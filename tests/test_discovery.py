"""Discovery sources (`[[discover]]`): a loopback site whose feed or sitemap grows, its new
articles watched as sources of their own, through the command line and `monitor run`."""

from __future__ import annotations

import json
import re
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.app import open_app, open_store
from monitor.config.discover import Discovery
from monitor.config.settings import Settings, load_settings
from monitor.demo.site import Article, PageServer
from monitor.discover import source_id_for
from monitor.store.discovered import Candidate, all_sources, canonical, record_found
from monitor.views.web import create_app

from .conftest import ROOT, run, source_block, write_config
from .service_helpers import RunningService
from .smtp_helpers import Mailbox, smtp_server
from .webhook_helpers import Webhook, webhook

FEED = "/feed/"
RSS = "application/rss+xml; charset=utf-8"


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def put_feed(pages: PageServer, items: list[tuple[str, str, datetime | None]]) -> None:
    """An RSS 2.0 feed listing (path, title, published) on the loopback site."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{pages.url(path)}</link>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + "</item>"
        for path, title, when in items
    )
    pages.put(
        FEED,
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>War on the Rocks</title>'
        f"<link>{pages.url('/')}</link>{entries}</channel></rss>",
        content_type=RSS,
    )


def put_articles(pages: PageServer, article: Article, *paths: str) -> None:
    for path in paths:
        pages.put_article(path, replace(article, title=f"In Brief: {path.strip('/')}"))


def discover_block(url: str, extra: str = "", kind: str = "feed") -> str:
    return f'[[discover]]\nid = "in-brief"\n{kind} = "{url}"\ninclude = ["/in-brief-"]\n{extra}\n'


def config_with(tmp_path: Path, body: str) -> Path:
    return write_config(tmp_path, "[monitor]\nretries = 0\n\n" + body, seeds=False)


def watched(config: Path) -> dict[str, str | None]:
    """`monitor status --json`: each source's id and the discovery that found it."""
    state = json.loads(run(config, "status", "--json").stdout)
    return {s["id"]: s["discovered_by"] for s in state["sources"]}


def sid(pages: PageServer, path: str) -> str:
    return source_id_for(pages.url(path))


def chat(hook: Webhook, extra: str = "") -> str:
    """A `[[notify]]` block sending to `hook`."""
    return f'\n[[notify]]\nid = "chat"\nurl = "{hook.url()}"\n{extra}\n'


def listed(*names: str) -> list[Candidate]:
    """Candidates as a feed on 127.0.0.1:9 would list them, for `record_found` itself."""
    return [Candidate(f"in-brief-{n}", f"http://127.0.0.1:9/in-brief-{n}/") for n in names]


def one_discovery(tmp_path: Path, extra: str) -> tuple[Settings, Discovery]:
    settings = load_settings(
        config_with(tmp_path, discover_block("http://127.0.0.1:9/feed/", extra))
    )
    (discovery,) = settings.discover
    return settings, discovery


def test_a_feed_article_becomes_a_source_with_an_id_from_its_url_and_its_first_capture_as_baseline(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    put_articles(pages, seed_articles[0], "/2026/11/in-brief-first/")
    put_feed(pages, [("/2026/11/in-brief-first/", "In Brief: First", days_ago(1))])
    config = config_with(tmp_path, discover_block(pages.url(FEED)))
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    source_id = sid(pages, "/2026/11/in-brief-first/")
    assert source_id.startswith("in-brief-first-")
    (checked,) = json.loads(result.stdout)
    assert checked["source"] == source_id and checked["outcome"] == "new"
    assert watched(config) == {source_id: "in-brief"}
    history = run(config, "history", source_id)
    assert history.exit_code == 0 and "check" in history.output
    assert run(config, "check", source_id).exit_code == 0  # named like a configured one
    again = run(config, "check", "--json")  # the baseline holds: nothing changed, nothing new
    assert [r["outcome"] for r in json.loads(again.stdout)] in (["unchanged"], ["not_modified"])


def test_include_and_exclude_patterns_choose_the_articles(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    paths = ["/2026/11/in-brief-kept/", "/2026/11/in-brief-podcast-dropped/", "/2026/11/essay/"]
    put_articles(pages, seed_articles[0], *paths)
    put_feed(pages, [(p, p, days_ago(1)) for p in paths])
    config = config_with(tmp_path, discover_block(pages.url(FEED), 'exclude = ["podcast"]'))
    assert run(config, "check").exit_code == 0
    assert watched(config) == {sid(pages, paths[0]): "in-brief"}
    assert pages.hits.get(paths[1]) is None and pages.hits.get(paths[2]) is None


def test_a_sitemap_index_is_followed_to_its_recent_sitemaps(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    recent, old = days_ago(2).date().isoformat(), days_ago(400).date().isoformat()
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def urlset(*paths: str) -> str:
        urls = "".join(
            f"<url><loc>{pages.url(p)}</loc><lastmod>{recent}</lastmod></url>" for p in paths
        )
        return f'<?xml version="1.0" encoding="UTF-8"?><urlset {ns}>{urls}</urlset>'

    new_paths = ["/2026/11/in-brief-one/", "/2026/11/in-brief-two/"]
    put_articles(pages, seed_articles[0], *new_paths, "/2024/01/in-brief-ancient/")
    pages.put(
        "/sitemap-new.xml", urlset(*new_paths, "/2026/11/about/"), content_type="application/xml"
    )
    pages.put(
        "/sitemap-old.xml", urlset("/2024/01/in-brief-ancient/"), content_type="application/xml"
    )
    pages.put(
        "/sitemap_index.xml",
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex {ns}>'
        f"<sitemap><loc>{pages.url('/sitemap-old.xml')}</loc><lastmod>{old}</lastmod></sitemap>"
        f"<sitemap><loc>/sitemap-new.xml</loc><lastmod>{recent}</lastmod></sitemap>"
        "</sitemapindex>",
        content_type="application/xml",
    )
    config = config_with(
        tmp_path, discover_block(pages.url("/sitemap_index.xml"), 'max_age = "30d"', kind="sitemap")
    )
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    assert watched(config) == {sid(pages, p): "in-brief" for p in new_paths}
    assert pages.hits.get("/sitemap-old.xml") is None  # older than max_age: not read


def test_an_index_within_an_index_is_followed_and_an_unreadable_sitemap_skipped_and_named(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """What an outside reviewer suspected: an index listing an index gave nothing, reported
    as success; one sitemap that could not be read failed the whole discovery."""
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    xml = "application/xml"

    def doc(kind: str, inner: str, *locs: str) -> str:
        body = "".join(f"<{inner}><loc>{pages.url(loc)}</loc></{inner}>" for loc in locs)
        return f'<?xml version="1.0" encoding="UTF-8"?><{kind} {ns}>{body}</{kind}>'

    paths = ["/2026/11/in-brief-one/", "/2026/11/in-brief-two/"]
    put_articles(pages, seed_articles[0], *paths)
    pages.put("/articles.xml", doc("urlset", "url", *paths), content_type=xml)
    pages.put("/inner-index.xml", doc("sitemapindex", "sitemap", "/articles.xml"), content_type=xml)
    pages.put(
        "/sitemap_index.xml",
        doc("sitemapindex", "sitemap", "/inner-index.xml", "/missing.xml"),
        content_type=xml,
    )
    config = config_with(tmp_path, discover_block(pages.url("/sitemap_index.xml"), kind="sitemap"))
    result = run(config, "check")
    assert result.exit_code == 0, result.output
    assert watched(config) == {sid(pages, p): "in-brief" for p in paths}
    assert "discover in-brief: 2 listed, 2 matching, 2 new" in result.output
    assert f"a sitemap of the index could not be read: {pages.url('/missing.xml')}" in (
        result.output
    )


def test_an_index_none_of_whose_sitemaps_can_be_read_is_a_failed_discovery(
    tmp_path: Path, pages: PageServer
) -> None:
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    pages.put(
        "/sitemap_index.xml",
        f'<?xml version="1.0"?><sitemapindex {ns}><sitemap><loc>{pages.url("/gone.xml")}'
        "</loc></sitemap></sitemapindex>",
        content_type="application/xml",
    )
    config = config_with(tmp_path, discover_block(pages.url("/sitemap_index.xml"), kind="sitemap"))
    result = run(config, "check")
    assert result.exit_code == 1
    assert "discover in-brief: failed: no sitemap of the index could be read:" in result.output


def test_the_cap_keeps_the_newest_articles_and_stops_watching_the_oldest(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    paths = [f"/2026/11/in-brief-{n}/" for n in ("a", "b", "c", "d")]
    put_articles(pages, seed_articles[0], *paths)
    items = [(p, p, days_ago(10 - i)) for i, p in enumerate(paths)]  # a oldest, d newest
    put_feed(pages, items[:3])
    config = config_with(tmp_path, discover_block(pages.url(FEED), "max_sources = 2"))
    assert run(config, "check").exit_code == 0
    assert set(watched(config)) == {sid(pages, paths[1]), sid(pages, paths[2])}
    assert pages.hits.get(paths[0]) is None
    put_feed(pages, items)
    assert run(config, "check").exit_code == 0
    assert set(watched(config)) == {sid(pages, paths[2]), sid(pages, paths[3])}
    # no longer watched, still remembered
    history = run(config, "history", sid(pages, paths[1]))
    assert history.exit_code == 0 and "check" in history.output


@pytest.mark.parametrize("dated", [False, True], ids=["undated", "all on one date"])
def test_an_unchanged_feed_read_again_changes_nothing_whatever_its_dates(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article], dated: bool
) -> None:
    """An outside reviewer's feed: six entries with no date (or one date for all) and room for
    two. The first two are watched, and reading the same feed again adds none and retires
    none: no "new article" alert, no article dropped before it was ever checked."""
    paths = [f"/2026/11/in-brief-{n}/" for n in "abcdef"]
    put_articles(pages, seed_articles[0], *paths)
    when = days_ago(1) if dated else None
    put_feed(pages, [(p, p, when) for p in paths])
    config = config_with(tmp_path, discover_block(pages.url(FEED), "max_sources = 2"))
    assert run(config, "check").exit_code == 0
    first = set(watched(config))
    assert first == {sid(pages, paths[0]), sid(pages, paths[1])}
    for _ in range(2):
        again = run(config, "check")
        assert again.exit_code == 0
        assert "0 new, 0 no longer watched" in again.output
        assert set(watched(config)) == first
    assert all(pages.hits.get(p) is None for p in paths[2:])


def test_an_article_dated_in_the_future_does_not_hold_its_place_for_ever(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Its date counts as the time it was found: newer articles push it out in turn. (The
    clock is moved on an hour at each reading of the feed.)"""
    future, old, b, c = (f"/2026/11/in-brief-{n}/" for n in ("future", "old", "b", "c"))
    put_articles(pages, seed_articles[0], future, old, b, c)
    start = datetime.now(UTC).replace(microsecond=0)
    items = [(future, "F", start + timedelta(days=30)), (old, "Old", start - timedelta(days=1))]
    config = config_with(tmp_path, discover_block(pages.url(FEED), "max_sources = 2"))
    settings = load_settings(config)

    def read_at(hours: int) -> set[str]:
        put_feed(pages, items)
        with open_app(settings, clock=lambda: start + timedelta(hours=hours)) as app:
            assert app.discoverer.run(settings.discover[0], settings.sources).error is None
            return {s.id for s in all_sources(app.store, settings)}

    assert read_at(0) == {sid(pages, future), sid(pages, old)}
    items.insert(0, (b, "B", start + timedelta(hours=1)))
    assert read_at(2) == {sid(pages, future), sid(pages, b)}
    items.insert(0, (c, "C", start + timedelta(hours=3)))
    assert read_at(4) == {sid(pages, b), sid(pages, c)}


def test_articles_older_than_max_age_are_not_watched_and_age_out(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    fresh, stale = "/2026/11/in-brief-fresh/", "/2026/10/in-brief-stale/"
    put_articles(pages, seed_articles[0], fresh, stale)
    put_feed(pages, [(fresh, "Fresh", days_ago(10)), (stale, "Stale", days_ago(40))])
    config = config_with(tmp_path, discover_block(pages.url(FEED), 'max_age = "30d"'))
    assert run(config, "check").exit_code == 0
    assert watched(config) == {sid(pages, fresh): "in-brief"}
    settings = load_settings(config)
    later = datetime.now(UTC) + timedelta(days=25)  # fresh is now 35 days old
    with open_app(settings, clock=lambda: later) as app:
        report = app.discoverer.run(settings.discover[0], settings.sources)
        assert report.retired == [sid(pages, fresh)] and report.added == []
        assert all_sources(app.store, settings) == []


def test_removing_the_discover_block_stops_its_sources_and_keeps_their_history(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    path = "/2026/11/in-brief-gone/"
    put_articles(pages, seed_articles[0], path, "/mine")
    put_feed(pages, [(path, "Gone", days_ago(1))])
    mine = source_block("mine", pages.url("/mine"))
    config = config_with(tmp_path, mine + discover_block(pages.url(FEED)))
    assert run(config, "check").exit_code == 0
    found = sid(pages, path)
    assert watched(config) == {"mine": None, found: "in-brief"}
    config.write_text("[monitor]\nretries = 0\n\n" + mine, encoding="utf-8")
    assert watched(config) == {"mine": None}
    checked = json.loads(run(config, "check", "--json").stdout)
    assert [r["source"] for r in checked] == ["mine"]
    assert pages.hits[path] == 1  # not fetched again
    history = run(config, "history", found)
    assert history.exit_code == 0 and "check" in history.output
    assert found in run(config, "report", "-o", "-").output


def test_a_configured_source_with_the_same_url_wins(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    path = "/2026/11/in-brief-both/"
    put_articles(pages, seed_articles[0], path, path.rstrip("/"))
    put_feed(pages, [(path, "Both", days_ago(1))])
    # the feed writes the URL with a trailing slash, the config without
    mine = source_block("mine", pages.url(path.rstrip("/")))
    config = config_with(tmp_path, discover_block(pages.url(FEED)) + mine)
    assert run(config, "check").exit_code == 0
    assert watched(config) == {"mine": None}
    assert run(config, "history", sid(pages, path)).exit_code == 2  # never created


def test_a_feed_that_cannot_be_read_is_a_failed_discovery_not_a_crash(
    tmp_path: Path, pages: PageServer
) -> None:
    pages.put(FEED, "<html><body>Service unavailable</body></html>")
    config = config_with(tmp_path, discover_block(pages.url(FEED)))
    result = run(config, "check")
    assert result.exit_code == 1
    assert (
        "discover in-brief: failed:" in result.output and "not an RSS or Atom feed" in result.output
    )


def test_monitor_run_watches_a_new_feed_article_and_alerts_its_teaser_edit_by_email_and_webhook(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    first, second = "/2026/11/in-brief-first/", "/2026/11/in-brief-second/"
    article = replace(seed_articles[0], title="In Brief: Second")
    put_articles(pages, seed_articles[0], first)
    put_feed(pages, [(first, "In Brief: First", days_ago(2))])
    box, good, broken = Mailbox(), Webhook(), Webhook(always=500)
    with smtp_server(box) as port, webhook(good), webhook(broken):
        config = config_with(
            tmp_path,
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'to = ["desk@example.org"]\n\n'
            + discover_block(pages.url(FEED), 'interval = "1s"\nalert = true')
            + '[discover.source]\ninterval = "1s"\n\n'
            f'[[notify]]\nid = "broken"\nurl = "{broken.url()}"\nbackoff = "1s"\n\n'
            f'[[notify]]\nid = "chat"\nurl = "{good.url()}"\nkinds = ["change"]\n',
        )
        service = RunningService(config)
        try:
            first_id, second_id = sid(pages, first), sid(pages, second)
            service.wait_for(lambda: service.events("check", source=first_id, outcome="new"))
            # the feed gains an article: watched within a discovery interval, baseline first
            pages.put_article(second, article)
            put_feed(
                pages,
                [
                    (second, "In Brief: Second", days_ago(0)),
                    (first, "In Brief: First", days_ago(2)),
                ],
            )
            service.wait_for(lambda: service.events("discovery", added=second_id))
            service.wait_for(lambda: service.events("check", source=second_id, outcome="new"))
            pages.put_article(
                second, replace(article, teaser=article.teaser.replace("rare trip", "rare journey"))
            )
            service.wait_for(lambda: service.events("check", source=second_id, outcome="changed"))
            subject = "Teaser edited: In Brief: Second"
            service.wait_for(
                lambda: [m for m in box.to("desk@example.org") if m["Subject"] == subject]
            )
            service.wait_for(lambda: [p for p in good.accepted() if p.body["title"] == subject])
            assert service.stop() == 0
        finally:
            service.stop()
    assert len(broken.posts) >= 1 and broken.accepted() == []  # it never held the email back
    subjects = [m["Subject"] for m in box.to("desk@example.org")]
    assert "New article: In Brief: Second" in subjects and subject in subjects
    assert [p.body["title"] for p in good.accepted()] == [subject]  # kinds = ["change"] only
    (change,) = json.loads(run(config, "changes", "--json").stdout)
    assert change["source"] == second_id and change["kinds"] == ["teaser_rewritten"]
    assert watched(config) == {first_id: "in-brief", second_id: "in-brief"}
    report = run(config, "report", "-o", "-").output
    assert "found by in-brief" in report and second_id in report
    with TestClient(create_app(tmp_path / "monitor.db")) as client:
        page = client.get(f"/sources/{second_id}")
        assert page.status_code == 200 and "found by in-brief" in page.text
        assert client.get("/sources").text.count("found by in-brief") == 2


def test_the_readme_examples_of_both_tables_load(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[[discover]]" in b]
    blocks += [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[[notify]]" in b]
    config = config_with(tmp_path, '[email]\nto = ["desk@example.org"]\n' + "".join(blocks))
    settings = load_settings(config)
    (discovery,) = settings.discover
    assert discovery.feed == "https://warontherocks.com/feed/"
    assert discovery.matches(
        "https://warontherocks.com/2023/09/in-brief-the-north-korean-russian-threat"
    )
    assert not discovery.matches("https://warontherocks.com/2023/09/a-long-essay/")
    assert [t.id for t in settings.notify] == ["desk-chat", "webhook"]


def test_a_reload_stops_the_sources_of_a_removed_block_and_sends_to_an_added_target(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    found_path = "/2026/11/in-brief-found/"
    put_articles(pages, seed_articles[0], found_path, "/mine")
    put_feed(pages, [(found_path, "Found", days_ago(1))])
    mine = source_block("mine", pages.url("/mine"), extra='interval = "1s"')
    hook = Webhook()
    with webhook(hook):
        config = config_with(
            tmp_path,
            mine
            + discover_block(pages.url(FEED), 'interval = "1s"')
            + '[discover.source]\ninterval = "1s"\n',
        )
        service = RunningService(config)
        try:
            found = sid(pages, found_path)
            service.wait_for(lambda: service.events("check", source=found, outcome="new"))
            service.wait_for(lambda: service.events("check", source="mine", outcome="new"))
            config.write_text(
                "[monitor]\nretries = 0\n\n"
                + '[email]\nreport_url = "https://monitor.example.org"\n\n'
                + mine
                + f'[[notify]]\nid = "chat"\nurl = "{hook.url()}"\n',
                encoding="utf-8",
            )
            service.signal(signal.SIGHUP)
            service.wait_for(lambda: service.events("sources removed", sources=found))
            edited = replace(seed_articles[0], title="In Brief: /mine")
            edited = replace(edited, teaser=edited.teaser.replace("rare trip", "rare journey"))
            pages.put_article("/mine", edited)
            service.wait_for(lambda: hook.accepted())
            assert service.stop() == 0
        finally:
            service.stop()
    assert [p.body["title"] for p in hook.accepted()] == ["Teaser edited: In Brief: /mine"]
    # the reloaded [email] report_url is the message's link
    assert "Report:   https://monitor.example.org/changes/" in hook.accepted()[0].body["message"]
    assert watched(config) == {"mine": None}
    assert run(config, "history", found).exit_code == 0


# --- what an outside reviewer of discovery found (round 0.20) ------------------------------

SITEMAPS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def sitemap_doc(kind: str, *locs: str) -> str:
    inner = "sitemap" if kind == "sitemapindex" else "url"
    body = "".join(f"<{inner}><loc>{escape(loc)}</loc></{inner}>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?><{kind} {SITEMAPS}>{body}</{kind}>'


def test_a_feed_whose_body_is_a_local_path_is_not_read_from_this_machine(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """feedparser opens bytes or a string as a file name when it can: a response saying
    "/some/local/feed.xml" had that file's articles watched (and "/dev/zero" ran out of
    memory)."""
    put_articles(pages, seed_articles[0], "/2026/11/in-brief-local/")
    local = tmp_path / "local-feed.xml"
    local.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        f"<link>{pages.url('/2026/11/in-brief-local/')}</link></item></channel></rss>",
        encoding="utf-8",
    )
    pages.put(FEED, str(local), content_type=RSS)
    config = config_with(tmp_path, discover_block(pages.url(FEED)))
    result = run(config, "check")
    assert result.exit_code == 1
    assert "not an RSS or Atom feed" in result.output
    assert watched(config) == {}
    assert pages.hits.get("/2026/11/in-brief-local/") is None


def test_a_public_index_cannot_send_the_fetcher_to_a_private_address_or_a_local_file(
    tmp_path: Path,
    pages: PageServer,
    seed_articles: list[Article],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The index is on `localhost`, taken for a public name here; its sitemaps on 127.0.0.1
    and on this machine's disk are refused and named, as its articles there would be."""
    import monitor.discover.run as discover_run

    real = discover_run.is_private_host
    monkeypatch.setattr(discover_run, "is_private_host", lambda h: h != "localhost" and real(h))
    public = pages.url("/").replace("127.0.0.1", "localhost")
    put_articles(pages, seed_articles[0], "/2026/11/in-brief-inside/", "/2026/11/in-brief-ok/")
    xml = "application/xml"
    pages.put(
        "/internal.xml",
        sitemap_doc("urlset", pages.url("/2026/11/in-brief-inside/")),
        content_type=xml,
    )
    local = tmp_path / "local.xml"
    local.write_text(sitemap_doc("urlset", public + "2026/11/in-brief-inside/"), "utf-8")
    pages.put(
        "/public.xml", sitemap_doc("urlset", public + "2026/11/in-brief-ok/"), content_type=xml
    )
    pages.put(
        "/sitemap_index.xml",
        sitemap_doc(
            "sitemapindex", pages.url("/internal.xml"), f"file://{local}", public + "public.xml"
        ),
        content_type=xml,
    )
    config = config_with(tmp_path, discover_block(public + "sitemap_index.xml", kind="sitemap"))
    result = run(config, "check")
    # the public article is watched; its check, which does reach 127.0.0.1, is refused too
    assert result.exit_code == 1, result.output
    assert "1 listed, 1 matching, 1 new" in result.output
    assert "now resolves to 127.0.0.1" in result.output
    assert pages.hits.get("/internal.xml") is None
    assert f"{pages.url('/internal.xml')}: refused" in result.output
    assert f"file://{local}: refused" in result.output
    assert list(watched(config)) == [source_id_for(public + "2026/11/in-brief-ok/")]


def test_an_index_listing_itself_back_is_read_once(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    put_articles(pages, seed_articles[0], "/2026/11/in-brief-loop/")
    xml = "application/xml"
    pages.put("/a.xml", sitemap_doc("sitemapindex", pages.url("/b.xml")), content_type=xml)
    pages.put(
        "/b.xml",
        sitemap_doc("sitemapindex", pages.url("/a.xml"), pages.url("/urls.xml")),
        content_type=xml,
    )
    pages.put(
        "/urls.xml", sitemap_doc("urlset", pages.url("/2026/11/in-brief-loop/")), content_type=xml
    )
    config = config_with(tmp_path, discover_block(pages.url("/a.xml"), kind="sitemap"))
    result = run(config, "check")
    assert result.exit_code == 0, result.output
    assert "1 listed, 1 matching, 1 new" in result.output
    assert pages.hits["/a.xml"] == 1 and pages.hits["/b.xml"] == 1


def test_an_article_url_with_its_scheme_in_capitals_is_fetched_over_http(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """`HTTP://…` is a valid URL; the fetcher read it as a local file name, for ever."""
    path = "/2026/11/in-brief-caps/"
    put_articles(pages, seed_articles[0], path)
    pages.put(
        "/sitemap.xml",
        sitemap_doc("urlset", pages.url(path).replace("http:", "HTTP:")),
        content_type="application/xml",
    )
    config = config_with(tmp_path, discover_block(pages.url("/sitemap.xml"), kind="sitemap"))
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    assert [r["outcome"] for r in json.loads(result.stdout)] == ["new"]
    assert pages.hits[path] == 1


def test_an_article_url_longer_than_a_sitemap_allows_is_not_watched(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    short, long_ = "/2026/11/in-brief-short/", "/2026/11/in-brief-" + "x" * 2100 + "/"
    put_articles(pages, seed_articles[0], short)
    put_feed(pages, [(short, "short", days_ago(1)), (long_, "long", days_ago(1))])
    config = config_with(tmp_path, discover_block(pages.url(FEED)))
    result = run(config, "check")
    assert result.exit_code == 0, result.output
    assert list(watched(config)) == [sid(pages, short)]


def test_a_new_article_alert_does_not_carry_the_key_of_a_members_feed(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    old, new = "/2026/11/in-brief-old/", "/2026/11/in-brief-members/"
    put_articles(pages, seed_articles[0], old, new)
    with webhook(Webhook()) as hook:
        config = config_with(
            tmp_path,
            discover_block(pages.url(FEED) + "?key=s3cretmemberkey", "alert = true") + chat(hook),
        )
        for items in ([old], [new, old]):  # the first reading is the baseline: no alert
            put_feed(pages, [(p, p, days_ago(1)) for p in items])
            feed = pages.get(FEED).body.decode()
            pages.put(FEED + "?key=s3cretmemberkey", feed, content_type=RSS)
            result = run(config, "check")
            assert result.exit_code == 0, result.output
    (post,) = hook.accepted()
    assert str(post.body["title"]).startswith("New article: ")
    assert f"({pages.url(FEED)})" in str(post.body["message"])
    assert "s3cret" not in json.dumps(post.body)


def test_an_undated_article_listed_later_pushes_the_oldest_out_of_a_full_cap(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """The reviewer's feed with no dates, room for two: u1 and u2 are watched; then the feed
    lists u4, u3 and u2. The new ones were never watched ("0 new" on every read for ever)."""
    u1, u2, u3, u4 = (f"/2026/11/in-brief-u{n}/" for n in range(1, 5))
    put_articles(pages, seed_articles[0], u1, u2, u3, u4)
    put_feed(pages, [(u2, "u2", None), (u1, "u1", None)])
    config = config_with(tmp_path, discover_block(pages.url(FEED), "max_sources = 2"))
    assert run(config, "check").exit_code == 0
    assert set(watched(config)) == {sid(pages, u1), sid(pages, u2)}
    put_feed(pages, [(u4, "u4", None), (u3, "u3", None), (u2, "u2", None)])
    result = run(config, "check")
    assert result.exit_code == 0, result.output
    assert "2 new, 2 no longer watched" in result.output
    assert set(watched(config)) == {sid(pages, u3), sid(pages, u4)}
    again = run(config, "check")  # the same feed again: nothing moves
    assert "0 new, 0 no longer watched" in again.output
    assert set(watched(config)) == {sid(pages, u3), sid(pages, u4)}


def test_a_renamed_discover_block_keeps_watching_what_it_found_with_its_history(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    path = "/2026/11/in-brief-kept/"
    put_articles(pages, seed_articles[0], path)
    put_feed(pages, [(path, "kept", days_ago(1))])
    config = config_with(tmp_path, discover_block(pages.url(FEED)))
    assert run(config, "check").exit_code == 0
    renamed = config.read_text(encoding="utf-8").replace('id = "in-brief"', 'id = "wotr"')
    config.write_text(renamed, encoding="utf-8")
    result = run(config, "check", "--json")
    assert result.exit_code == 0, result.output
    assert watched(config) == {sid(pages, path): "wotr"}
    (checked,) = json.loads(result.stdout)
    assert checked["outcome"] in ("unchanged", "not_modified")  # its baseline kept


def test_monitor_run_schedules_an_article_that_a_manual_check_discovered_first(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """The service rescheduled only what its own reading added: an article a `monitor check`
    found first was known when the service read the feed, and never checked by it."""
    first, second = "/2026/11/in-brief-first/", "/2026/11/in-brief-second/"
    put_articles(pages, seed_articles[0], first, second)
    put_feed(pages, [(first, "first", days_ago(2))])
    config = config_with(
        tmp_path,
        discover_block(pages.url(FEED), 'interval = "3s"') + '[discover.source]\ninterval = "1s"\n',
    )
    service = RunningService(config)
    try:
        service.wait_for(lambda: service.events("check", source=sid(pages, first), outcome="new"))
        service.wait_for(lambda: len(service.events("discovery")) >= 2)
        put_feed(pages, [(second, "second", days_ago(0)), (first, "first", days_ago(2))])
        manual = run(config, "check")
        assert manual.exit_code == 0, manual.output
        service.wait_for(lambda: service.events("check", source=sid(pages, second)))
        assert service.stop() == 0
    finally:
        service.stop()


def test_a_failing_discovery_and_alerts_given_up_on_show_in_status_and_the_web_ui(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """`status` said all was well (and `--json` had no word of it) while the feed answered
    404 and a webhook had failed for good."""
    path, later = "/2026/11/in-brief-one/", "/2026/11/in-brief-two/"
    put_articles(pages, seed_articles[0], path, later)
    put_feed(pages, [(path, "one", days_ago(1))])
    with webhook(Webhook(always=500)) as hook:
        config = config_with(
            tmp_path,
            discover_block(pages.url(FEED), "alert = true") + chat(hook, "max_tries = 1"),
        )
        assert run(config, "check").exit_code == 0  # the baseline: no alert
        put_feed(pages, [(later, "two", days_ago(0)), (path, "one", days_ago(1))])
        assert run(config, "check").exit_code == 1  # the alert of "two", given up on
    pages.put(FEED, "<html><head><title>Not here</title></head></html>", status=404)
    assert run(config, "check").exit_code == 1
    once = json.loads(run(config, "status", "--json").stdout)["discoveries"][0]
    assert once["failures"] == 1 and not once["failing"]  # one 503 is no outage yet
    assert "discover in-brief: failed its last reading since" in run(config, "status").output
    for _ in range(2):  # failing_after = 3, as for a source
        assert run(config, "check").exit_code == 1
    shown = run(config, "status")
    assert "discover in-brief: failing 3 readings in a row since" in shown.output
    assert "HTTP 404" in shown.output
    assert "1 alert given up on for good" in shown.output
    state = json.loads(run(config, "status", "--json").stdout)
    (discovery,) = state["discoveries"]
    assert discovery["id"] == "in-brief" and "HTTP 404" in discovery["error"]
    assert discovery["failing"] and discovery["failures"] == 3
    assert state["failed_alerts"] == 1
    with TestClient(create_app(tmp_path / "monitor.db")) as client:
        page = client.get("/sources").text
    assert "discovery in-brief failing" in page and "1 alert given up on for good" in page
    put_feed(pages, [(later, "two", days_ago(0)), (path, "one", days_ago(1))])  # back
    assert run(config, "check").exit_code == 0
    state = json.loads(run(config, "status", "--json").stdout)
    assert state["discoveries"][0]["error"] is None
    assert "failing since" not in run(config, "status").output


def test_the_first_reading_of_a_feed_is_its_baseline_with_no_new_article_alerts(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """`alert = true` on a feed of twenty entries sent twenty "New article" alerts at once."""
    paths = [f"/2026/11/in-brief-{n}/" for n in range(3)]
    put_articles(pages, seed_articles[0], *paths)
    put_feed(pages, [(p, p, days_ago(2)) for p in paths[:2]])
    with webhook(Webhook()) as hook:
        config = config_with(
            tmp_path,
            discover_block(pages.url(FEED), "alert = true") + chat(hook),
        )
        assert run(config, "check").exit_code == 0
        assert hook.posts == []
        assert len(watched(config)) == 2
        put_feed(pages, [(p, p, days_ago(2)) for p in paths])
        assert run(config, "check").exit_code == 0
    assert [str(p.body["title"]) for p in hook.accepted()] == [
        "New article: In Brief: 2026/11/in-brief-2"
    ]


def test_campaign_parameters_and_escaped_letters_do_not_make_an_article_twice(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """A feed that rotates `utm_*` values listed the same article anew each time (a "New
    article" alert each), and a configured source lost to its `?utm_source=rss` copy."""
    rotated, mine, letters = (
        "/2026/11/in-brief-b/",
        "/2026/11/in-brief-cfg/",
        "/2026/11/in-brief-été/",
    )
    escaped = "/2026/11/in-brief-%C3%A9t%C3%A9/"
    put_articles(pages, seed_articles[0], rotated + "?utm_campaign=day1", mine + "?utm_source=rss")
    put_articles(pages, seed_articles[0], rotated + "?utm_campaign=day2", letters, escaped)
    config = config_with(
        tmp_path, discover_block(pages.url(FEED)) + source_block("mine", pages.url(mine))
    )
    pages.put_article(mine, seed_articles[0])
    put_feed(
        pages,
        [
            (rotated + "?utm_campaign=day1", "b", days_ago(1)),
            (mine + "?utm_source=rss", "cfg", days_ago(1)),
            (letters, "letters", days_ago(1)),
        ],
    )
    assert run(config, "check").exit_code == 0
    first = watched(config)
    assert len(first) == 3 and first["mine"] is None  # b, the letters, and the configured one
    put_feed(
        pages,
        [
            (rotated + "?utm_campaign=day2", "b", days_ago(1)),
            (mine + "?utm_source=rss", "cfg", days_ago(1)),
            (escaped, "letters", days_ago(1)),
        ],
    )
    again = run(config, "check")
    assert again.exit_code == 0, again.output
    assert "0 new" in again.output
    assert watched(config) == first


@pytest.mark.parametrize(
    ("url", "same_as"),
    [
        ("https://ex.org/a/?utm_source=rss&id=3#top", "https://EX.org/a?id=3"),
        ("https://ex.org/a?fbclid=x&gclid=y", "https://ex.org/a"),
        ("https://ex.org/%C3%A9t%C3%A9", "https://ex.org/été"),
        ("https://ex.org/%7euser", "https://ex.org/~user"),
    ],
)
def test_urls_that_name_one_page_compare_equal(url: str, same_as: str) -> None:
    assert canonical(url) == canonical(same_as)


@pytest.mark.parametrize(
    ("url", "other"),
    [
        ("https://ex.org/a%2Fb", "https://ex.org/a/b"),  # an escaped slash is no slash
        ("https://ex.org/a?id=3", "https://ex.org/a?id=4"),
        ("https://ex.org/a?ref_utm=1", "https://ex.org/a"),  # only names that start utm_
    ],
)
def test_urls_that_name_two_pages_stay_apart(url: str, other: str) -> None:
    assert canonical(url) != canonical(other)


def test_an_index_of_many_dated_urls_watches_the_newest_across_its_sitemaps(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """Each sitemap is cut to what could make the cap as it is read (an index of 20 sitemaps
    of 50,000 URLs held them all to watch 10): the newest still win, whichever sitemap lists
    them, and the counts cover every URL."""
    xml = "application/xml"
    newest = ["/2026/11/in-brief-newest-a/", "/2026/11/in-brief-newest-b/"]
    put_articles(pages, seed_articles[0], *newest)
    for n in range(3):
        rows = [
            (f"/2025/01/in-brief-{n}-{i}/", days_ago(30 + n * 200 + i).date().isoformat())
            for i in range(200)
        ]
        if n == 1:  # the middle sitemap lists the two newest
            rows[100] = (newest[0], days_ago(1).date().isoformat())
            rows[150] = (newest[1], days_ago(2).date().isoformat())
        urls = "".join(
            f"<url><loc>{pages.url(p)}</loc><lastmod>{d}</lastmod></url>" for p, d in rows
        )
        pages.put(
            f"/s{n}.xml",
            f'<?xml version="1.0"?><urlset {SITEMAPS}>{urls}</urlset>',
            content_type=xml,
        )
    pages.put(
        "/index.xml",
        sitemap_doc("sitemapindex", *(pages.url(f"/s{n}.xml") for n in range(3))),
        content_type=xml,
    )
    config = config_with(
        tmp_path, discover_block(pages.url("/index.xml"), "max_sources = 2", kind="sitemap")
    )
    result = run(config, "check")
    assert result.exit_code == 0, result.output
    assert "600 listed, 600 matching, 2 new" in result.output
    assert set(watched(config)) == {sid(pages, p) for p in newest}


def test_refused_entries_are_counted_and_named_and_host_lookups_are_bounded(
    tmp_path: Path,
    pages: PageServer,
    seed_articles: list[Article],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A public feed (`localhost`, taken for a public name) listing an article on 127.0.0.1
    and articles on 150 other hosts: the private one is refused and said, and no more than
    `MAX_HOSTS` names are looked up (each is a DNS query, in turn, on every reading)."""
    import monitor.discover.run as discover_run

    looked_up: list[str] = []

    def private(host: str) -> bool:
        looked_up.append(host)
        return host == "127.0.0.1"

    monkeypatch.setattr(discover_run, "is_private_host", private)
    public = pages.url("/").replace("127.0.0.1", "localhost")
    inside = pages.url("/2026/11/in-brief-inside/")
    others = [f"http://h{n}.example/in-brief-{n}/" for n in range(150)]
    pages.put(
        FEED,
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(f"<item><link>{u}</link></item>" for u in [inside, *others])
        + "</channel></rss>",
        content_type=RSS,
    )
    config = config_with(tmp_path, discover_block(public + FEED.lstrip("/"), "max_sources = 1"))
    result = run(config, "check", "--dry-run")
    assert "not read with --dry-run" in result.output
    assert looked_up == []
    result = run(config, "check")
    assert "refused (not http(s), a private address seen from the feed's public site" in (
        result.output
    )
    assert inside in result.output
    assert len(set(looked_up)) <= discover_run.MAX_HOSTS + 1  # the feed's own host too
    assert pages.hits.get("/2026/11/in-brief-inside/") is None


@pytest.mark.parametrize("allowed", [False, True], ids=["public feed", "allow_private"])
def test_an_article_of_a_public_feed_is_not_fetched_from_a_private_address_later(
    tmp_path: Path,
    pages: PageServer,
    seed_articles: list[Article],
    monkeypatch: pytest.MonkeyPatch,
    allowed: bool,
) -> None:
    """DNS rebinding: the article's name was public when the feed listed it (`localhost` is
    taken for a public name while the feed is read) and resolves to 127.0.0.1 when it is
    checked. The check refuses the connection, unless the discovery allows private ones."""
    import monitor.discover.run as discover_run

    real = discover_run.is_private_host
    monkeypatch.setattr(discover_run, "is_private_host", lambda h: h != "localhost" and real(h))
    path = "/2026/11/in-brief-rebound/"
    put_articles(pages, seed_articles[0], path)
    public = pages.url("/").replace("127.0.0.1", "localhost")
    pages.put(
        FEED,
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><link>{public}{path.lstrip('/')}</link></item></channel></rss>",
        content_type=RSS,
    )
    extra = "allow_private = true" if allowed else ""
    config = config_with(tmp_path, discover_block(public + FEED.lstrip("/"), extra))
    result = run(config, "check", "--json")
    (checked,) = json.loads(result.stdout)
    if allowed:
        assert checked["outcome"] == "new" and pages.hits[path] == 1
    else:
        assert checked["outcome"] == "error"
        assert (
            "now resolves to 127.0.0.1, a private or loopback address: refused"
            in (checked["error"])
        )
        # (the connection kept alive from reading the feed carried the request: the answer
        # is refused before its body is read; a new connection is refused before it is used,
        # `test_fetch`)
        state = json.loads(run(config, "status", "--json").stdout)
        assert [s["versions"] for s in state["sources"]] == [0]


def test_an_entry_listed_for_the_first_time_is_newer_than_those_found_in_the_same_second(
    tmp_path: Path,
) -> None:
    """Two readings within one second (a cron pass and a service's): the stamps are the same
    to the second, and an undated entry never listed before must still count as the newer."""
    settings, discovery = one_discovery(tmp_path, "max_sources = 1")
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    with open_store(settings) as store:
        first = record_found(store, discovery, listed("a"), now=now, configured=[])
        later = record_found(store, discovery, listed("b", "a"), now=now, configured=[])
    assert first.added == ["in-brief-a"]
    assert later.added == ["in-brief-b"] and later.retired == ["in-brief-a"]


def test_the_first_article_a_discovery_matches_after_a_reading_that_kept_nothing_alerts(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """The baseline is the first reading that succeeded, whatever it kept: an `include` that
    matched nothing yet made the first matching article a silent one."""
    path = "/2026/11/in-brief-first-match/"
    put_articles(pages, seed_articles[0], path, "/2026/11/essay/")
    put_feed(pages, [("/2026/11/essay/", "essay", days_ago(1))])
    with webhook(Webhook()) as hook:
        config = config_with(
            tmp_path,
            discover_block(pages.url(FEED), "alert = true") + chat(hook),
        )
        assert run(config, "check").exit_code == 0
        put_feed(pages, [(path, "match", days_ago(0)), ("/2026/11/essay/", "essay", days_ago(1))])
        assert run(config, "check").exit_code == 0
    assert len(hook.accepted()) == 1


def test_a_renamed_block_alerts_what_is_new_and_keeps_what_the_old_one_passed_over(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    u1, u2, u3 = (f"/2026/11/in-brief-u{n}/" for n in range(1, 4))
    put_articles(pages, seed_articles[0], u1, u2, u3)
    put_feed(pages, [(u1, "u1", None), (u2, "u2", None)])
    with webhook(Webhook()) as hook:
        config = config_with(
            tmp_path,
            discover_block(pages.url(FEED), "max_sources = 1\nalert = true") + chat(hook),
        )
        assert run(config, "check").exit_code == 0
        assert set(watched(config)) == {sid(pages, u1)}  # u2 passed over
        renamed = config.read_text(encoding="utf-8").replace('id = "in-brief"', 'id = "wotr"')
        config.write_text(renamed, encoding="utf-8")
        assert run(config, "check").exit_code == 0  # the same feed: nothing moves
        assert watched(config) == {sid(pages, u1): "wotr"}
        put_feed(pages, [(u3, "u3", None), (u1, "u1", None), (u2, "u2", None)])
        assert run(config, "check").exit_code == 0
    assert watched(config) == {sid(pages, u3): "wotr"}
    assert len(hook.accepted()) == 1  # u3's


def test_links_that_change_on_every_request_do_not_push_the_watched_out(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    """A feed whose links carry a cache-buster: every reading lists only entries never seen
    before, which would push out the watched ones at each reading, an alert each."""
    paths = ["/2026/11/in-brief-a/", "/2026/11/in-brief-b/"]
    put_articles(pages, seed_articles[0], *paths)
    for n in range(3):
        for p in paths:
            pages.put_article(f"{p}?cb={n}", seed_articles[0])
    config = config_with(tmp_path, discover_block(pages.url(FEED), "max_sources = 2"))
    put_feed(pages, [(f"{p}?cb=0", p, None) for p in paths])
    assert run(config, "check").exit_code == 0
    first = watched(config)
    for n in (1, 2):
        put_feed(pages, [(f"{p}?cb={n}", p, None) for p in paths])
        again = run(config, "check")
        assert "0 new, 0 no longer watched" in again.output, again.output
    assert watched(config) == first


def test_a_member_feeds_key_stays_out_of_status_and_a_removed_block_out_of_the_web_ui(
    tmp_path: Path, pages: PageServer
) -> None:
    pages.put(FEED + "?key=s3cret", "<html><head><title>Gone</title></head></html>", status=404)
    config = config_with(tmp_path, discover_block(pages.url(FEED) + "?key=s3cret"))
    assert run(config, "check").exit_code == 1
    assert "s3cret" not in run(config, "status", "--json").stdout
    with TestClient(create_app(tmp_path / "monitor.db")) as client:
        page = client.get("/sources").text
    assert "discovery in-brief failing" in page and "s3cret" not in page
    config.write_text(
        config.read_text(encoding="utf-8").replace('id = "in-brief"', 'id = "other"'),
        encoding="utf-8",
    )
    run(config, "check")
    with TestClient(create_app(tmp_path / "monitor.db")) as client:
        page = client.get("/sources").text
    assert "discovery in-brief" not in page and "discovery other failing" in page


def test_two_blocks_listing_one_article_with_other_campaign_parameters_watch_it_once(
    tmp_path: Path, pages: PageServer, seed_articles: list[Article]
) -> None:
    path = "/2026/11/in-brief-shared/"
    put_articles(pages, seed_articles[0], path + "?utm_source=a", path + "?utm_source=b")
    put_feed(pages, [(path + "?utm_source=a", "a", days_ago(1))])
    pages.put(
        "/feed-b/",
        pages.get(FEED).body.decode().replace("utm_source=a", "utm_source=b"),
        content_type=RSS,
    )
    config = config_with(
        tmp_path,
        discover_block(pages.url(FEED))
        + discover_block(pages.url("/feed-b/")).replace('id = "in-brief"', 'id = "b"'),
    )
    assert run(config, "check").exit_code == 0
    assert len(watched(config)) == 1


def test_entries_passed_over_are_forgotten_a_week_after_their_feed_stops_listing_them(
    tmp_path: Path,
) -> None:
    """A feed whose links change on every request passes over its whole listing at each
    reading: the table would grow by as much every time."""
    settings, discovery = one_discovery(tmp_path, "max_sources = 1")
    start = datetime(2026, 12, 1, tzinfo=UTC)

    def passed_over(store: object) -> set[str]:
        rows = store.db.execute("select canonical_url from passed_over").fetchall()  # type: ignore[attr-defined]
        return {r[0].rsplit("-", 1)[1] for r in rows}

    with open_store(settings) as store:
        record_found(store, discovery, listed("a", "b", "c"), now=start, configured=[])
        assert passed_over(store) == {"b", "c"}
        # six days on, b is still listed (and remembered anew), c is not
        record_found(
            store, discovery, listed("a", "b"), now=start + timedelta(days=6), configured=[]
        )
        record_found(
            store, discovery, listed("a", "b"), now=start + timedelta(days=8), configured=[]
        )
        assert passed_over(store) == {"b"}
