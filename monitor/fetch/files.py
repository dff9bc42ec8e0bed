"""Local captures: a path relative to the config file, or a file:// URL."""

from __future__ import annotations

import os
import stat
import urllib.parse
from pathlib import Path

from monitor.detect.capture import Capture
from monitor.errors import CaptureError


def is_local(url: str) -> bool:
    return not url.startswith(("http://", "https://"))


def format_size(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def file_path(url: str) -> Path:
    if url.startswith("file://"):
        parsed = urllib.parse.urlparse(url)
        from urllib.request import url2pathname  # 8 ms to import, for file:// URLs only

        return Path(url2pathname(parsed.path))
    return Path(url)


def read_file(url: str, max_body: int) -> Capture:
    """Read a capture file, never more than `max_body` bytes of it.

    Only regular files: a device (`/dev/zero`) or a named pipe has no size to check and would
    read for ever or block, so it is refused before it is opened for reading.
    """
    path = file_path(url)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise CaptureError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CaptureError(f"{path}: is a folder, not a capture file") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise CaptureError(f"{path}: is a folder, not a capture file")
        if not stat.S_ISREG(info.st_mode):
            raise CaptureError(f"{path}: not a regular file (a device or a pipe)")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            body = handle.read(max_body + 1)
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(body) > max_body:
        raise CaptureError(f"{path}: over the {format_size(max_body)} limit (max_body)")
    return Capture(url=str(path), body=body)
