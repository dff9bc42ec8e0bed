"""How a capture's bytes become text (`monitor.detect.capture`): which charset wins, what a
page in a legacy charset reads as, and the failed read that names its cause. Written against
the first mutation run of the module (README, "Mutation testing")."""

from __future__ import annotations

import codecs

import pytest

from monitor.detect.capture import (
    Capture,
    decode,
    html_source,
    parse_content_type,
    sniff_format,
)
from monitor.errors import CaptureError


def html(body: bytes, charset: str | None = None, media_type: str | None = "text/html") -> Capture:
    return Capture(url="http://x/a", body=body, media_type=media_type, charset=charset)


def page(text: bytes, head: bytes = b"") -> bytes:
    return (
        b"<html><head>" + head + b"<title>t</title></head><body><p>" + text + b"</p></body></html>"
    )


# --- which charset a page is read in ------------------------------------------------------------


def test_a_page_in_a_charset_its_meta_declares_is_read_in_it() -> None:
    # windows-1251 read as windows-1252 would be accented Latin letters, not Cyrillic
    body = page("Привет, мир".encode("cp1251"), head=b'<meta charset="windows-1251">')
    assert "Привет, мир" in decode(html(body), "html")
    assert "Привет, мир" in html_source(html(body))


def test_a_meta_charset_is_read_in_html_only_a_text_snapshot_is_utf8() -> None:
    snapshot = '<meta charset="windows-1251"> Привет'.encode()
    capture = Capture(url="file:///a.txt", body=snapshot, media_type="text/plain")
    assert decode(capture, "text") == '<meta charset="windows-1251"> Привет'


@pytest.mark.parametrize(
    ("declared", "byte", "read"),
    [
        ("us-ascii", b"\xe9", "é"),  # ASCII declared, a Latin-1 letter sent: as browsers read it
        ("iso-8859-1", b"\x80", "€"),  # latin-1 is windows-1252 in the HTML standard
        ("latin1", b"\x93", "“"),
        ("windows-1252", b"\x81", "\x81"),  # a byte windows-1252 leaves undefined: as latin-1
        ("iso-8859-1", b"\x9d", "\x9d"),
    ],
)
def test_a_page_declared_latin1_ascii_or_windows_1252_is_read_as_windows_1252(
    declared: str, byte: bytes, read: str
) -> None:
    body = page(b"caf" + byte)
    assert f"caf{read}" in decode(html(body, charset=declared), "html")
    assert f"caf{read}" in html_source(html(body, charset=declared))


@pytest.mark.parametrize(
    ("declared", "body", "read"),
    [
        # a byte the code page leaves undefined is read as browsers read it, and only that byte:
        # the rest of the page keeps its letters (the euro sign, Cyrillic)
        ("windows-1252", b"\x80 caf\xe9 \x81", "€ café \x81"),
        ("windows-1251", "Привет \x98 мир".encode("cp1251", errors="ignore"), "Привет  мир"),
        ("windows-1251", "Привет".encode("cp1251") + b" \x98", "Привет \x98"),
        ("koi8-r", "Привет".encode("koi8_r"), "Привет"),
    ],
)
def test_a_byte_a_single_byte_charset_leaves_undefined_does_not_fail_the_page(
    declared: str, body: bytes, read: str
) -> None:
    assert read in decode(html(page(body), charset=declared), "html")
    assert read in decode(html(page(body, head=f'<meta charset="{declared}">'.encode())), "html")


def test_an_undeclared_page_that_is_not_utf8_is_read_as_windows_1252_replacing_what_it_lacks() -> (
    None
):
    body = page(b"caf\xe9 \x81")  # 0x81: no character in windows-1252
    assert "café \ufffd" in decode(html(body), "html")


def test_a_utf8_byte_order_mark_outranks_the_header_and_the_meta() -> None:
    body = codecs.BOM_UTF8 + page("café".encode(), head=b'<meta charset="windows-1251">')
    text = decode(html(body, charset="windows-1252"), "html")
    assert "café" in text and not text.startswith("\ufeff")


# --- a failed read names its cause --------------------------------------------------------------


@pytest.mark.parametrize(
    ("capture", "reason"),
    [
        (
            html(page(b"x"), charset="x-no-such-charset"),
            "unknown charset 'x-no-such-charset' declared by the Content-Type header",
        ),
        (
            html(codecs.BOM_UTF8 + page(b"\xff")),
            "body is not valid utf-8 as declared by its byte-order mark (byte 0xff at offset",
        ),
        (
            html(page(b"\xff", head=b'<meta charset="utf-8">')),
            "body is not valid utf-8 as declared by its <meta charset> (byte 0xff at offset",
        ),
    ],
)
def test_a_body_not_in_its_declared_charset_is_a_failed_read_naming_who_declared_it(
    capture: Capture, reason: str
) -> None:
    with pytest.raises(CaptureError) as raised:
        decode(capture, "html")
    assert str(raised.value).startswith(reason)
    with pytest.raises(CaptureError, match="declared by"):
        html_source(capture)


def test_a_text_snapshot_that_is_not_utf8_says_how_to_save_it() -> None:
    capture = Capture(url="file:///a.txt", body="café".encode("latin-1"), media_type="text/plain")
    with pytest.raises(CaptureError) as raised:
        decode(capture, "text")
    assert str(raised.value) == (
        "capture is not valid UTF-8 (byte 0xe9 at offset 3); save text snapshots as UTF-8"
    )


@pytest.mark.parametrize(
    ("media_type", "named"),
    [("image/png", "image/png"), (None, "unknown type")],
)
def test_binary_content_is_a_failed_read_naming_its_type(
    media_type: str | None, named: str
) -> None:
    body = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256))
    with pytest.raises(CaptureError) as raised:
        decode(html(body, media_type=media_type), "html")
    assert str(raised.value) == f"binary content ({named}, {len(body)} bytes), not an article page"


def test_a_page_served_as_an_image_is_binary_whatever_its_bytes() -> None:
    with pytest.raises(CaptureError, match=r"binary content \(image/png"):
        decode(html(page(b"plain text"), media_type="image/png"), "html")


# --- HTML or a text snapshot --------------------------------------------------------------------


def sniffed(url: str, body: bytes = b"", media_type: str | None = None) -> str:
    return sniff_format(Capture(url=url, body=body, media_type=media_type))


@pytest.mark.parametrize(
    ("url", "media_type", "body", "expected"),
    [
        # the media type first
        ("http://x/a.txt", "text/html", b"plain", "html"),
        ("http://x/a.txt", "application/xhtml+xml", b"plain", "html"),
        ("http://x/a.html", "text/plain", b"<p>a</p><p>b</p><p>c</p>", "html"),  # the name next
        ("http://x/a", "text/plain", b"<!doctype html><p>a", "text"),
        # then the file name, with its query and fragment left out
        ("file:///s/a.html", None, b"plain", "html"),
        ("file:///s/A.HTM", None, b"plain", "html"),
        ("file:///s/a.xhtml", None, b"plain", "html"),
        ("file:///s/a.txt", None, b"<!doctype html><p>a", "text"),
        ("http://x/a.html?x=1.txt", None, b"plain", "html"),
        ("http://x/a.txt?x=1.html", None, b"<!doctype html>", "text"),
        ("http://x/a.txt?x=1?y=2.html", None, b"<!doctype html>", "text"),
        ("http://x/a.html#part.txt", None, b"plain", "html"),
        ("http://x/a.txt#p.html#q", None, b"<!doctype html>", "text"),
        ("http://x/a b.txt", None, b"<!doctype html>", "text"),
        # then the content
        ("http://x/a", None, b"<!DOCTYPE html><title>t</title>", "html"),
        ("http://x/a", None, b"  <!-- built -->\n<html><body>x", "html"),
        ("http://x/a", None, codecs.BOM_UTF8 + b"<html>x", "html"),
        ("http://x/a", None, b"notes <p>one</p> <div>two</div> <span>3</span>", "html"),
        ("http://x/a", None, b"notes <p>one</p> <div>two</div>", "text"),
        ("http://x/a", None, b"The committee met on Tuesday.\nIt adjourned.", "text"),
    ],
)
def test_a_capture_is_html_or_text_by_its_type_then_its_name_then_its_content(
    url: str, media_type: str | None, body: bytes, expected: str
) -> None:
    assert sniffed(url, body, media_type) == expected


def test_only_the_first_4_kb_are_sniffed_for_html() -> None:
    tags = b"<p>a</p><div>b</div><span>"  # the third tag ends the 4 KB, or is cut by them
    assert sniffed("http://x/a", b" " * (4096 - len(tags)) + tags) == "html"
    assert sniffed("http://x/a", b" " * (4097 - len(tags)) + tags) == "text"


# --- binary content -----------------------------------------------------------------------------


def binary(body: bytes) -> bool:
    try:
        decode(html(body, media_type=None), "html")
    except CaptureError as exc:
        return str(exc).startswith("binary content")
    return False


def test_a_nul_byte_in_the_first_8_kb_makes_a_body_binary_and_one_after_does_not() -> None:
    text = b"a" * 8191
    assert binary(text + b"\x00")
    assert not binary(text + b"a" + b"\x00")


def test_a_body_is_binary_past_five_percent_of_control_bytes() -> None:
    assert binary(b"\x01" * 6 + b"a" * 94)
    assert not binary(b"\x01" * 4 + b"a" * 96)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_text_with_its_byte_order_mark_is_not_binary(encoding: str) -> None:
    bom = codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF16_BE
    body = bom + "<html><body><p>café</p></body></html>".encode(encoding)
    assert "café" in decode(html(body), "html")


# --- the Content-Type header --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/html", ("text/html", None)),
        ("Text/HTML; Charset=UTF-8", ("text/html", "utf-8")),
        ('text/html; charset="ISO-8859-1"', ("text/html", "iso-8859-1")),
        ("text/html; charset='utf-8'", ("text/html", "utf-8")),
        ("text/html;format=flowed;charset=utf-8", ("text/html", "utf-8")),
        ("text/html; format=flowed", ("text/html", None)),
        ("text/html; charset=", ("text/html", None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_the_content_type_header_gives_the_media_type_and_charset(
    header: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert parse_content_type(header) == expected
