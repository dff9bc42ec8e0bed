"""A capture (what one read of a source returned) and how its bytes become text.

Pure: no network, no files. `fetch` makes captures; `extract` reads their text.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

from monitor.errors import CaptureError

Format = Literal["text", "html"]

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_TAGS = re.compile(rb"<(?:p|div|article|meta|title|script|span)\b[^>]*>", re.IGNORECASE)
_BINARY_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/pdf",
    "application/zip",
    "application/octet-stream",
    "application/gzip",
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


_NOT_CONTROL = bytes(b for b in range(256) if not (b < 9 or 13 < b < 32))


@dataclass(frozen=True)
class Capture:
    """The bytes of one read, with what the transport said about them."""

    url: str
    body: bytes
    status: int = 200
    media_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """("text/html", "utf-8") from 'text/html; charset="UTF-8"'."""
    if not value:
        return None, None
    media, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'").lower()
    return media.strip().lower() or None, charset


def _is_binary(body: bytes, media_type: str | None) -> bool:
    if media_type and media_type.startswith(_BINARY_TYPES):
        return True
    head = body[:8192]
    if any(head.startswith(bom) for bom, _ in _BOMS[1:]):
        return False  # UTF-16 text has NULs by design
    if b"\x00" in head:
        return True
    controls = len(head.translate(None, _NOT_CONTROL))  # C speed: the bytes left are controls
    return controls > len(head) * 0.05


def sniff_format(capture: Capture) -> Format:
    """HTML or a text snapshot: from the media type, the file extension, then the content."""
    if capture.media_type in ("text/html", "application/xhtml+xml"):
        return "html"
    path = capture.url.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith((".html", ".htm", ".xhtml")):
        return "html"
    if capture.media_type == "text/plain" or path.endswith(".txt"):
        return "text"
    head = capture.body[:4096].lstrip(codecs.BOM_UTF8)
    if _HTML_START.match(head) or len(_HTML_TAGS.findall(head)) >= 3:
        return "html"
    return "text"


def decode(capture: Capture, fmt: Format) -> str:
    """The text of a capture: BOM, then the declared charset, then <meta charset>, then UTF-8.

    A body that is binary, or not valid in its declared charset, raises `CaptureError`. An HTML
    page that declares nothing and is not UTF-8 is read as windows-1252, as browsers do; a text
    snapshot must be UTF-8.
    """
    text = _decode(capture, fmt, keep_utf8=False)
    assert isinstance(text, str)  # bytes come back only when asked for
    return text


def html_source(capture: Capture) -> str | bytes:
    """The page as the HTML parser takes it: `decode`'s text, or the same text as UTF-8 bytes
    when the body is those already. The parser reads UTF-8: a text made from such a body
    would only be encoded back (20 µs on a 36 KB page)."""
    return _decode(capture, "html", keep_utf8=True)


def _decode(capture: Capture, fmt: Format, *, keep_utf8: bool) -> str | bytes:
    """`decode`; with `keep_utf8`, bytes that are valid UTF-8 and read as UTF-8 come back as
    they are (checked, not converted)."""
    body = capture.body
    if _is_binary(body, capture.media_type):
        kind = capture.media_type or "unknown type"
        raise CaptureError(f"binary content ({kind}, {len(body)} bytes), not an article page")
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return _strict(body[len(bom) :], encoding, "its byte-order mark", keep_utf8)
    if capture.charset:
        return _strict(body, capture.charset, "the Content-Type header", keep_utf8)
    if fmt == "html" and (match := _META_CHARSET.search(body[:4096])):
        declared = match.group(1).decode("ascii").lower()
        return _strict(body, declared, "its <meta charset>", keep_utf8)
    try:
        return _utf8(body, keep_utf8)
    except UnicodeDecodeError as exc:
        if fmt == "html":
            return body.decode("cp1252", errors="replace")
        raise CaptureError(
            f"capture is not valid UTF-8 (byte {body[exc.start]:#04x} at offset {exc.start}); "
            "save text snapshots as UTF-8"
        ) from None


def _utf8(body: bytes, keep: bool) -> str | bytes:
    """`body` read as UTF-8 (raises `UnicodeDecodeError`), or itself once checked if `keep`."""
    if not keep:
        return body.decode("utf-8")
    if not body.isascii():  # ASCII is UTF-8 as it is; anything else is checked by decoding
        body.decode("utf-8")
    return body


# The legacy single-byte encodings of the HTML standard: a browser reads every byte of them,
# those the Windows code pages leave undefined (0x98 in windows-1251, 0x81 in windows-1252) as
# the control character of the same number, where Python's codecs refuse the whole page.
_SINGLE_BYTE = re.compile(r"cp(?:866|874|125[0-8])|iso8859-(?:[2-9]|1[0-6])|koi8-[ru]|mac-roman")
_C1 = "monitor-c1"


def _c1(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(byte) for byte in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_C1, _c1)


def _strict(body: bytes, encoding: str, declared_by: str, keep_utf8: bool) -> str | bytes:
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise CaptureError(f"unknown charset {encoding!r} declared by {declared_by}") from None
    # Pages that say latin-1 are windows-1252 in practice (the HTML standard maps one to the
    # other, and ASCII too). `codecs.lookup` names latin-1 "iso8859-1", whatever it was called.
    if codec.name in ("iso8859-1", "ascii"):
        codec = codecs.lookup("cp1252")
    try:
        if codec.name == "utf-8":
            return _utf8(body, keep_utf8)
        if _SINGLE_BYTE.fullmatch(codec.name):
            return body.decode(codec.name, errors=_C1)
        return body.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise CaptureError(
            f"body is not valid {encoding} as declared by {declared_by} "
            f"(byte {body[exc.start]:#04x} at offset {exc.start})"
        ) from None
