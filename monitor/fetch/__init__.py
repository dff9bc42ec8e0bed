"""Fetching: HTTP(S) through httpx (`http`), pages rendered in headless Chromium (`browser`,
an optional extra), local capture files (`files`), bounded decoding (`inflate`). Everything here
returns a `Capture` or raises `CaptureError`."""

from monitor.fetch.browser import BrowserFetcher
from monitor.fetch.files import file_path, format_size, is_local, read_file
from monitor.fetch.http import Fetcher, build_client, is_private_host

__all__ = [
    "BrowserFetcher",
    "Fetcher",
    "build_client",
    "file_path",
    "format_size",
    "is_local",
    "is_private_host",
    "read_file",
]
