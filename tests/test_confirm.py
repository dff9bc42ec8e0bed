"""A change is recorded only when a second request, a moment later, shows the same page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run, source_block, write_config
from .server import LoopServer, Reply, Request

PARAGRAPH = (
    "The alliance between the two states has deepened over the past year, with new agreements "
    "on trade, energy and defence signed at a summit that drew little attention abroad."
)


def page(teaser: str) -> bytes:
    return (
        "<html><head><title>An article</title></head><body><article>"
        f"<p>{teaser}</p><p>{PARAGRAPH}</p></article></body></html>"
    ).encode()


def config(tmp_path: Path, url: str, confirm: str = '"10ms"') -> Path:
    body = f'[monitor]\ndatabase = "m.db"\nretries = 0\nconfirm = {confirm}\n\n'
    return write_config(tmp_path, body + source_block("ab", url), seeds=False)


def check_json(cfg: Path, exit_code: int = 0) -> dict[str, object]:
    result = run(cfg, "check", "--json")
    assert result.exit_code == exit_code, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    return dict(rows[0])


def changes(cfg: Path) -> list[object]:
    result = run(cfg, "changes", "--json")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


# `true`: the worker fetches again at once; a duration: the pass fetches every changed page
# again after that pause, at its end.
@pytest.mark.parametrize("confirm", ["true", '"50ms"'])
def test_a_page_that_alternates_between_requests_is_unstable_not_a_change(
    tmp_path: Path, http: LoopServer, confirm: str
) -> None:
    # An A/B test: every other response carries the other teaser.
    def ab(request: Request) -> Reply:
        variant = "Version A of the opening" if request.hit % 2 else "Version B of the opening"
        return Reply(200, page(variant), {"Content-Type": "text/html"})

    cfg = config(tmp_path, http.route("/ab", ab), confirm=confirm)
    assert check_json(cfg)["outcome"] == "new"
    second = check_json(cfg)
    assert second["outcome"] == "unstable"
    assert "differs between two requests" in str(second["error"])
    assert changes(cfg) == []
    assert len(http.hits("/ab")) == 3  # the new page, then a check and its confirmation


def test_the_same_alternating_page_without_confirm_raises_a_change(
    tmp_path: Path, http: LoopServer
) -> None:
    def ab(request: Request) -> Reply:
        variant = "Version A of the opening" if request.hit % 2 else "Version B of the opening"
        return Reply(200, page(variant), {"Content-Type": "text/html"})

    cfg = config(tmp_path, http.route("/ab", ab), confirm="false")
    check_json(cfg)
    assert check_json(cfg)["outcome"] == "changed"
    assert len(changes(cfg)) == 1
    assert len(http.hits("/ab")) == 2  # no second request for the change


@pytest.mark.parametrize("confirm", ["true", '"50ms"'])
def test_an_edit_that_holds_is_recorded_once_after_a_second_request(
    tmp_path: Path, http: LoopServer, confirm: str
) -> None:
    teaser = ["The first wording of the opening"]
    cfg = config(
        tmp_path,
        http.route("/p", lambda r: Reply(200, page(teaser[0]), {"Content-Type": "text/html"})),
        confirm=confirm,
    )
    check_json(cfg)
    teaser[0] = "The second wording of the opening"
    result = check_json(cfg)
    assert result["outcome"] == "changed"
    assert result["kinds"] == ["teaser_rewritten"]
    assert len(changes(cfg)) == 1
    assert len(http.hits("/p")) == 3


def test_a_confirmation_request_that_fails_records_no_change(
    tmp_path: Path, http: LoopServer
) -> None:
    def edited_then_down(request: Request) -> Reply:
        if request.hit == 1:
            return Reply(200, page("The first wording"), {"Content-Type": "text/html"})
        if request.hit == 2:
            return Reply(200, page("The second wording"), {"Content-Type": "text/html"})
        return Reply(503, b"busy")

    cfg = config(tmp_path, http.route("/p", edited_then_down))
    check_json(cfg)
    result = check_json(cfg, exit_code=1)
    assert result["outcome"] == "error"
    assert "could not confirm the change" in str(result["error"])
    assert changes(cfg) == []


def test_a_second_request_that_shows_the_page_unchanged_in_form_only_confirms(
    tmp_path: Path, http: LoopServer
) -> None:
    # The confirmation differs from the first response only in layout (a paragraph split
    # differently): the same words, so the change stands.
    def split(request: Request) -> Reply:
        if request.hit == 1:
            body = page("The first wording")
        elif request.hit == 2:
            body = page("The second wording")
        else:
            body = page("The second</p><p>wording")
        return Reply(200, body, {"Content-Type": "text/html"})

    cfg = config(tmp_path, http.route("/p", split))
    check_json(cfg)
    assert check_json(cfg)["outcome"] == "changed"
    assert len(http.hits("/p")) == 3


def test_a_bad_confirm_value_is_a_config_error_naming_the_key(
    tmp_path: Path, http: LoopServer
) -> None:
    cfg = config(tmp_path, http.url("/p"), confirm='"soon"')
    result = run(cfg, "check")
    assert result.exit_code == 2
    assert "monitor.confirm" in result.output
    assert "false" in result.output
    assert not (tmp_path / "m.db").exists()


def test_the_service_logs_an_alternating_page_as_unstable_and_sends_no_alert(
    tmp_path: Path, http: LoopServer
) -> None:
    from .service_helpers import RunningService

    def ab(request: Request) -> Reply:
        variant = "Version A of the opening" if request.hit % 2 else "Version B of the opening"
        return Reply(200, page(variant), {"Content-Type": "text/html"})

    head = '[monitor]\ninterval = "1s"\nretries = 0\ntimeout = "5s"\nconfirm = "100ms"\n\n'
    cfg = write_config(tmp_path, head + source_block("ab", http.route("/ab", ab)), seeds=False)
    service = RunningService(cfg)
    try:
        service.wait_for(lambda: service.events("check", source="ab", outcome="new"))
        line = service.wait_for(lambda: service.events("check", source="ab", outcome="unstable"))
        assert "differs between two requests" in line[0]["error"]
        assert service.stop() == 0
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()
    assert not service.events("check", source="ab", outcome="changed")
    assert not list((tmp_path / "outbox").glob("*.eml"))
    assert changes(cfg) == []


def _confirm_twice(
    http: LoopServer, path: str, replies: list[Reply]
) -> tuple[tuple[str, str] | None, int]:
    """`confirm` of the first reply's reading against the second reply, and how many pages
    it read to decide."""
    from monitor.config.settings import Source
    from monitor.detect import extract as extraction
    from monitor.fetch import Fetcher, build_client
    from monitor.service.observe import confirm

    url = http.route(path, lambda r: replies[min(r.hit, len(replies)) - 1])
    source = Source("p", url, allow_private=True)
    fetcher = Fetcher(
        build_client(timeout=5, user_agent="test", max_connections=1), max_body=10**6, retries=0
    )
    reads = []
    real = extraction.extract
    try:
        first = fetcher.fetch(url)
        seen = real(first, source.extract)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(extraction, "extract", lambda *a: reads.append(a) or real(*a))
            reason = confirm(source, fetcher, seen, None, 0.0, first=first)
    finally:
        fetcher.client.close()
    return reason, len(reads)


def test_a_confirmation_that_returns_the_first_responses_bytes_confirms_without_reading_them(
    http: LoopServer,
) -> None:
    same = Reply(200, page("The second wording"), {"Content-Type": "text/html"})
    assert _confirm_twice(http, "/same", [same, same]) == (None, 0)


def test_a_confirmation_with_other_bytes_or_another_charset_is_read_before_it_confirms(
    http: LoopServer,
) -> None:
    first = Reply(200, page("The second wording"), {"Content-Type": "text/html"})
    reformatted = Reply(200, page("The second  wording"), {"Content-Type": "text/html"})
    assert _confirm_twice(http, "/spaces", [first, reformatted]) == (None, 1)
    latin = Reply(200, page("The second wording"), {"Content-Type": "text/html; charset=latin-1"})
    assert _confirm_twice(http, "/charset", [first, latin]) == (None, 1)
