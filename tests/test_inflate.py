"""The bounded decoder of compressed bodies, on its own (the fetch tests drive it over HTTP)."""

from __future__ import annotations

import gzip
import zlib

import pytest

from monitor.errors import CaptureError
from monitor.fetch.inflate import Inflater


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", " GZip "])
def test_gzip_under_each_name_decodes_up_to_the_cap_exactly(encoding: str) -> None:
    inflate = Inflater(encoding, 1000)
    assert inflate(gzip.compress(b"x" * 1000)) == b"x" * 1000  # at the cap: not over it
    inflate.finish()


def test_one_byte_over_the_cap_is_over_it() -> None:
    out = Inflater("deflate", 1000)(zlib.compress(b"x" * 1001))
    assert len(out) > 1000


@pytest.mark.parametrize("encoding", ["", "identity"])
def test_no_encoding_passes_the_bytes_through(encoding: str) -> None:
    inflate = Inflater(encoding, 10)
    assert inflate(b"\x1f\x8b not gzip, and longer than the cap") == (
        b"\x1f\x8b not gzip, and longer than the cap"
    )
    inflate.finish()


def test_a_deflate_stream_labelled_gzip_is_refused() -> None:
    with pytest.raises(CaptureError, match=r"^cannot decode the compressed body: "):
        Inflater("gzip", 1000)(zlib.compress(b"x" * 100))


def test_an_unknown_encoding_is_named() -> None:
    with pytest.raises(CaptureError, match=r"^unsupported Content-Encoding 'br'$"):
        Inflater("br", 1000)


def test_a_stream_cut_short_is_refused_when_finished() -> None:
    inflate = Inflater("gzip", 1000)
    inflate(gzip.compress(b"x" * 500)[:-8])  # without its trailer
    with pytest.raises(
        CaptureError, match=r"^the compressed body ends early \(the connection was cut\)$"
    ):
        inflate.finish()
