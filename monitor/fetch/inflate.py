"""Content-Encoding decoded with a bound, and a stream that ends early refused.

httpx's own decoders expand each received chunk whole, so a few kilobytes of a gzip bomb would
become hundreds of megabytes before a size cap could look at them; here no call returns more
than the cap allows. A gzip or deflate stream cut short (a connection closed mid-body with no
Content-Length) is an error, never a shorter page: a shorter page would read as a change.
"""

from __future__ import annotations

import zlib
from typing import Any

from monitor.errors import CaptureError


class Inflater:
    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        self.limit = limit
        self.decoder: Any = None
        if encoding in ("gzip", "x-gzip"):
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.decoder = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            raise CaptureError(f"unsupported Content-Encoding {encoding!r}")

    def __call__(self, data: bytes) -> bytes:
        """The decoded bytes of one chunk; more than `limit` when the body is over it."""
        if self.decoder is None:
            return data
        try:
            out: bytes = self.decoder.decompress(data, self.limit + 1)
        except zlib.error as exc:
            raise CaptureError(f"cannot decode the compressed body: {exc}") from None
        if self.decoder.unconsumed_tail:
            # More output is waiting than the cap allows: the body is over it by definition.
            return out + b"\0" * (self.limit + 1 - len(out))
        return out

    def finish(self) -> None:
        """Raise if a compressed body stopped before its end."""
        if self.decoder is not None and not self.decoder.eof:
            raise CaptureError("the compressed body ends early (the connection was cut)")
