"""What a reading of a page depends on besides the page: this package's code and the source's
extraction rules, and for a page read in the browser, how the browser read it.

A version stored by another reading (an upgrade whose extraction differs, a source whose
`[source.extract]` rules were edited) cannot be compared with a page read now: the difference
would be in the reading, not in the page. `reading_key` tells two readings apart; the store
keeps the key of each source's current version, and a check whose key differs takes the page
as read now for its new reference (`rebaselined`) instead of reporting a change.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

import selectolax

from monitor.detect.rules import ExtractRules


@functools.cache
def code_key() -> str | None:
    """What the reading depends on besides the page and the rules: the detection package's
    source, the parser's version and Python's (its Unicode tables). None when this package's
    own files cannot be read (an install without its sources)."""
    return installed_code_key()


def installed_code_key() -> str | None:
    """`code_key` of the files on disk now, which an upgrade may have replaced since this
    process read them."""
    try:
        files = sorted(Path(__file__).parent.glob("*.py"))
        source = b"".join(path.read_bytes() for path in files)
    except OSError:
        return None
    if not files:
        return None
    versions = f"{selectolax.__version__}\x00{sys.version}".encode()
    return hashlib.sha256(source + versions).hexdigest()


@functools.cache
def reading_key(rules: ExtractRules, capture: str = "") -> str:
    """The key of a reading by this code with `rules`, of a page captured as `capture` says
    (the browser's way, for a browser source: `fetch.browser.capture_key`). Without its own
    sources (`code_key`), this code is told apart by the rules alone: an upgrade is then not
    noticed."""
    text = f"{code_key() or 'code unknown'}\x00{rules!r}"
    if capture:
        text += f"\x00{capture}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
