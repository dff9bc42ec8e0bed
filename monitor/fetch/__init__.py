"""Fetching: HTTP(S) through httpx (`http`), pages rendered in headless Chromium (`browser`,
an optional extra), local capture files (`files`), bounded decoding (`inflate`). Everything here
returns a `Capture` or raises `CaptureError`.

`browser` is not imported here: it loads asyncio, which the worker processes and a pass without
a browser source do not need. Import `monitor.fetch.browser` where it is used."""

from monitor.fetch.files import file_path, format_size, is_local, read_file
from monitor.fetch.http import Fetcher, build_client, is_private_host

__all__ = [
    "Fetcher",
    "build_client",
    "file_path",
    "format_size",
    "is_local",
    "is_private_host",
    "read_file",
]
