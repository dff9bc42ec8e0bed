"""One-line summaries in plain text: what a pass and an alert delivery print at their end.

Apart from `terminal` (rich tables and diffs) so that `check --json`, which prints no table,
does not load rich.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.alerts.outbox import DeliveryReport

# Outcomes a pass lists only when asked for every source: nothing happened to the page.
QUIET_OUTCOMES = frozenset({"unchanged", "not_modified"})


def summary_line(outcomes: Mapping[str, int], seconds: float) -> str:
    """`checked 250 sources in 3.4 s: 2 changed, 247 unchanged, 1 failed`, from how many
    checks ended in each outcome."""
    count = dict.fromkeys(("changed", "new", "unchanged", "error"), 0)
    for outcome, n in outcomes.items():
        outcome = "unchanged" if outcome in QUIET_OUTCOMES else outcome
        count[outcome] = count.get(outcome, 0) + n
    total = sum(outcomes.values())
    noun = "source" if total == 1 else "sources"
    parts = [f"{count['changed']} changed"]
    if count["new"]:
        parts.append(f"{count['new']} new")
    parts.append(f"{count['unchanged']} unchanged")
    if count.get("rebaselined"):
        # read for the first time by new extraction rules: the new reference, not a change
        parts.append(f"{count['rebaselined']} re-read by new rules")
    if count.get("unstable"):
        # differed between two requests: neither a change nor a failure
        parts.append(f"{count['unstable']} unstable")
    if count.get("superseded"):
        # read before another writer's newer version: neither a change nor a failure
        parts.append(f"{count['superseded']} superseded")
    parts.append(f"{count['error']} failed")
    if count.get("cancelled"):
        # Ctrl-C: neither checked nor recorded
        parts.append(f"{count['cancelled']} cancelled")
    return f"checked {total} {noun} in {seconds:.1f} s: " + ", ".join(parts)


def delivery_line(delivery: DeliveryReport, outbox: Path | None) -> str | None:
    """What alert delivery did, in the same words for `check` and the demo; `outbox` is the
    folder .eml files are written to when no SMTP server is configured."""
    if not (delivery.sent or delivery.failed or delivery.deferred or delivery.notified):
        return None
    emails = "email" if delivery.sent == 1 else "emails"
    if outbox is not None:
        line = f"alerts: {delivery.sent} {emails} written to {outbox}"
    else:
        line = f"alerts: {delivery.sent} {emails} sent"
    if delivery.notified:
        line += f", {delivery.notified} to notify targets"
    if delivery.deferred:
        line += f", {delivery.deferred} waiting to be retried"
    if delivery.failed:
        line += f", {delivery.failed} failed (see `monitor alerts --failed`)"
    return line
