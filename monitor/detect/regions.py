"""`Regions`: what one capture reads as, the value that extraction makes and that comparing,
storing and reporting take.

A module of its own, apart from `extract`, so that what only handles readings (the pass's
parent process, which compares and stores them; reports) does not import the extractor: its
selectors and patterns cost a process about 15 ms to load. A large pass's worker processes,
which extract, load it themselves (`service.workers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from monitor.detect.normalise import fingerprint

# `metered`: the article's own container carries a paywall class, but the page shows no notice
# and declares nothing: the site's script decides per reader (a meter, a plugin that walls
# only some posts), and this reader was shown no wall.
Access = Literal["locked", "metered", "free", "unknown"]


@dataclass(frozen=True)
class Regions:
    """What the monitor watches on one capture, in canonical (normalised) text."""

    teaser: str
    paywall: str
    description: str
    access: Access
    error: str | None = None
    title: str = ""  # shown in reports and mail subjects; not watched, not in the fingerprint
    # What this reading was made from (`_digest`): a later page with the same digest reads the
    # same, to the letter. None where no digest is kept (text snapshots, failures).
    digest: str | None = field(default=None, compare=False)

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.access, self.teaser, self.paywall, self.description)

    @classmethod
    def failed(cls, reason: str) -> Regions:
        return cls(teaser="", paywall="", description="", access="unknown", error=reason)
