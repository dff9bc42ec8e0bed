"""Compare two sets of regions and classify the change.

Pure. Regions hold normalised text; equality is decided on that text with its whitespace
removed, so only edits a reader would notice count. The word diff is computed only for regions
that differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.detect.diff import Segment, render_plain, with_context, word_diff
from monitor.detect.normalise import compact, word_count
from monitor.detect.regions import Access, Regions

REGIONS = ("teaser", "paywall", "description")
KINDS = (
    "access_changed",
    "paywall_changed",
    "teaser_rewritten",
    "teaser_length_changed",
    "description_changed",
)
CONTEXT_WORDS = 12

_KIND_LABELS = {
    "paywall_changed": "Paywall notice reworded",
    "teaser_rewritten": "Teaser edited",
    "teaser_length_changed": "Teaser cut moved",
    "description_changed": "Description changed",
}


def headline(kinds: Sequence[str], access_before: str, access_after: str) -> str:
    """A short summary such as "Paywall lifted, teaser cut moved"."""
    parts = []
    if "access_changed" in kinds:
        if access_after == "free":
            parts.append("Paywall lifted")
        elif access_after == "locked":
            parts.append("Paywall added")
        elif access_after == "metered":
            # the wall is gone (or came) but the article is still marked for the paywall
            parts.append("Paywall now metered")
        else:
            parts.append(f"Access {access_before} → {access_after}")
    parts += [_KIND_LABELS[k] for k in kinds if k in _KIND_LABELS]
    if not parts:
        return "No change"
    return ", ".join([parts[0], *(p[0].lower() + p[1:] for p in parts[1:])])


@dataclass(frozen=True)
class RegionDiff:
    changed: bool
    before: str
    after: str
    segments: tuple[Segment, ...] = ()

    def plain(self, context: int | None = CONTEXT_WORDS) -> str:
        if not self.changed:
            return ""
        segments = self.segments if context is None else with_context(self.segments, context)
        return render_plain(segments)


@dataclass(frozen=True)
class Comparison:
    changed: bool
    kinds: tuple[str, ...]
    access_before: Access
    access_after: Access
    regions: Mapping[str, RegionDiff] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The object `monitor compare --json` prints (DESIGN.md, "Command line")."""
        data: dict[str, Any] = {
            "changed": self.changed,
            "kinds": list(self.kinds),
            "access": {"before": self.access_before, "after": self.access_after},
            "regions": {
                name: {
                    "changed": region.changed,
                    "before": region.before,
                    "after": region.after,
                    "diff": region.plain(),
                }
                for name, region in self.regions.items()
            },
        }
        if self.error is not None:
            data["error"] = self.error
        return data


def compare(old: Regions, new: Regions) -> Comparison:
    """What changed from `old` to `new`. An unknown side is an extraction failure, not a change."""
    regions = {name: _region(getattr(old, name), getattr(new, name)) for name in REGIONS}
    if old.access == "unknown" or new.access == "unknown":
        which = "new" if new.access == "unknown" else "old"
        reason = new.error if new.access == "unknown" else old.error
        unchanged = {n: RegionDiff(False, r.before, r.after) for n, r in regions.items()}
        return Comparison(
            changed=False,
            kinds=(),
            access_before=old.access,
            access_after=new.access,
            regions=unchanged,
            error=f"{which} capture has no recognisable article: {reason or 'unknown reason'}",
        )
    kinds = classify(old, new, regions)
    return Comparison(
        changed=bool(kinds),
        kinds=kinds,
        access_before=old.access,
        access_after=new.access,
        regions=regions,
    )


def _region(before: str, after: str) -> RegionDiff:
    if compact(before) == compact(after):
        return RegionDiff(False, before, after)
    return RegionDiff(True, before, after, tuple(word_diff(before, after)))


def classify(old: Regions, new: Regions, regions: Mapping[str, RegionDiff]) -> tuple[str, ...]:
    """The kinds of a change, in the order of `KINDS`."""
    kinds: list[str] = []
    access_changed = old.access != new.access
    if access_changed:
        kinds.append("access_changed")
    paywall = regions["paywall"]
    # A notice that appears or vanishes with the access state is the access change itself; one
    # that vanishes while the page still declares itself locked is a change of the notice.
    if paywall.changed and ((old.paywall and new.paywall) or not access_changed):
        kinds.append("paywall_changed")
    if regions["teaser"].changed:
        before, after = compact(old.teaser), compact(new.teaser)
        cut_moved = before.startswith(after) or after.startswith(before)
        kinds.append("teaser_length_changed" if cut_moved else "teaser_rewritten")
    if regions["description"].changed:
        kinds.append("description_changed")
    return tuple(kinds)


def suspect(old: Regions, new: Regions) -> str | None:
    """Why `new` looks like a broken extraction rather than an edit, or None.

    A notice that vanishes while the article text does not grow is far more often a paywall
    selector that stopped matching than a publisher lifting the paywall: a lifted paywall shows
    more of the article.
    """
    if not old.paywall or new.paywall:
        return None
    teaser = compact(new.teaser)
    # the notice's own sentences now read as article text: the block is there, unrecognised
    notice = [compact(line) for line in old.paywall.split("\n") if word_count(line) >= 5]
    if len(teaser) <= len(compact(old.teaser)) or any(line in teaser for line in notice):
        return (
            "regions stopped matching: the paywall notice is gone but the article text did not "
            "grow; check the source's paywall selectors and markers"
        )
    return None
