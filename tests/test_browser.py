"""The web UI and the HTML report in headless Chromium (Debian's package) through Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.demo.site import Article, PageServer

from .conftest import ROOT, run
from .reports_helpers import fill
from .smtp_helpers import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None, "CI must have Chromium: .ci/run installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def site(tmp_path: Path, pages: PageServer, seed_articles: list[Article]) -> Iterator[str]:
    config = fill(tmp_path, pages, seed_articles)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    assert dialogs == [], f"a dialog opened: {dialogs}"
    context.close()


def test_change_list_filter_and_diff_page(site: str, page: Page) -> None:
    page.goto(site)
    rows = page.locator("tr.change-row")
    expect(rows).to_have_count(3)
    page.select_option("select[name=kind]", "access_changed")
    page.click("button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("allies")
    page.goto(f"{site}/changes/1")
    expect(page.locator(".inline del").first).to_have_text("trip")
    expect(page.locator(".inline ins").first).to_have_text("journey")
    assert page.locator("del").first.evaluate("e => getComputedStyle(e).textDecorationLine") == (
        "line-through"
    )


def test_toggle_side_by_side(site: str, page: Page) -> None:
    page.goto(f"{site}/changes/1")
    inline, side = page.locator(".diffs .inline"), page.locator(".diffs .side")
    expect(inline).to_be_visible()
    expect(side).to_be_hidden()
    page.click("label[for=side-1]")
    expect(side).to_be_visible()
    expect(inline).to_be_hidden()
    expect(side.locator(".before del").first).to_have_text("trip")
    expect(side.locator(".after ins").first).to_have_text("journey")
    ARTIFACTS.mkdir(exist_ok=True)
    page.click("label[for=inline-1]")
    page.screenshot(path=str(ARTIFACTS / "change-page.png"), full_page=True)
    assert (ARTIFACTS / "change-page.png").stat().st_size > 10_000


def test_mark_reviewed_survives_a_reload(site: str, page: Page) -> None:
    page.goto(f"{site}/changes/2")
    expect(page.locator("#review-state")).to_have_text("Not reviewed")
    page.click("#review-button")
    expect(page.locator("#review-state")).to_have_text("Reviewed")
    page.reload()
    expect(page.locator("#review-state")).to_have_text("Reviewed")
    page.goto(f"{site}/?reviewed=yes")
    expect(page.locator("tr.change-row")).to_have_count(1)


def test_hostile_page_text_renders_as_text(site: str, page: Page) -> None:
    page.goto(f"{site}/changes/3")
    expect(page.locator(".inline ins").first).to_contain_text("<script>alert(1)</script>")
    expect(page.locator(".inline ins").first).to_contain_text("<img src=x onerror=alert(2)>")
    assert page.locator("main script, main img").count() == 0
    # the page fixture asserts that no dialog opened


def test_report_from_file_shows_the_same_changes(site: str, page: Page, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    out = tmp_path / "report.html"
    assert run(config, "report", "-o", str(out)).exit_code == 0
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    expect(page.locator("section.change")).to_have_count(3)
    titles = page.locator("section.change h2").all_inner_texts()
    assert all(url.startswith("file://") for url in requests), requests  # no external request
    page.goto(site)
    ids = page.locator("tr.change-row td:first-child").all_inner_texts()
    assert [t.split()[0] for t in titles] == [f"#{i}" for i in ids]
