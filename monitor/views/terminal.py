"""Change reports for people: terminal output of comparisons, changes and history.

The headline wording (`compare.headline`) is shared with the emails and the HTML views, so
that they all say the same thing about a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.store.rows import CheckResult

if TYPE_CHECKING:
    from monitor.store.rows import Alert
from monitor.detect.compare import REGIONS, Comparison, headline
from monitor.detect.diff import Segment, render_plain, render_rich, with_context, word_diff
from monitor.detect.normalise import word_count
from monitor.store.rows import ChangeRow, StoredVersion
from monitor.views.status import Status, format_seconds
from monitor.views.summary import QUIET_OUTCOMES

_OUTCOME_STYLES = {
    "changed": "bold yellow",
    "new": "cyan",
    "error": "bold red",
    "unstable": "magenta",
    "superseded": "magenta",
}


def _region_title(name: str) -> Text:
    return Text(f"{name}:", style="bold underline")


def print_diffs(console: Console, diffs: Mapping[str, Sequence[Segment]]) -> None:
    """Colour on a terminal; `[-old-]{+new+}` marks where colour would be lost."""
    for name in REGIONS:
        if name in diffs:
            console.print(_region_title(name))
            # NO_COLOR leaves strike-through as the only difference between old and new
            # words, and it is lost on many terminals: the markers say it in text.
            if console.is_terminal and console.color_system and not console.no_color:
                console.print(render_rich(diffs[name]), soft_wrap=True)
            else:
                console.print(Text(render_plain(diffs[name])), soft_wrap=True)
            console.print()


def print_comparison(console: Console, comparison: Comparison, old: str, new: str) -> None:
    console.print(f"[bold]old:[/] {old}\n[bold]new:[/] {new}", highlight=False)
    console.print(f"access: {comparison.access_before} → {comparison.access_after}")
    if comparison.error:
        console.print(Text(f"error: {comparison.error}", style="bold red"))
        return
    kinds = ", ".join(comparison.kinds) or "none"
    console.print(
        f"{headline(comparison.kinds, comparison.access_before, comparison.access_after)}"
        f" (kinds: {kinds})",
        highlight=False,
    )
    console.print()
    diffs = {
        name: with_context(region.segments)
        for name, region in comparison.regions.items()
        if region.changed
    }
    print_diffs(console, diffs)


def print_change(
    console: Console,
    change: ChangeRow,
    url: str | None,
    before: StoredVersion,
    after: StoredVersion,
    *,
    full: bool = False,
) -> None:
    title = headline(change.kinds, change.access_before, change.access_after)
    console.print(Text(f"Change #{change.id}: {title}", style="bold"))
    console.print(f"source:   {change.source_id}" + (f" ({url})" if url else ""), highlight=False)
    console.print(f"detected: {change.detected_at}", highlight=False)
    console.print(f"kinds:    {', '.join(change.kinds)}", highlight=False)
    console.print(f"access:   {change.access_before} → {change.access_after}", highlight=False)
    console.print(f"versions: #{before.id} → #{after.id}", highlight=False)
    if change.revert_to is not None:
        console.print(
            Text(
                f"returns to version #{change.revert_to} (first seen {after.first_seen})",
                style="magenta",
            ),
        )
    console.print(f"reviewed: {'yes' if change.reviewed else 'no'}\n", highlight=False)
    if full:
        diffs = {
            name: word_diff(getattr(before.regions, name), getattr(after.regions, name))
            for name in change.diff
        }
    else:
        diffs = change.diff
    print_diffs(console, diffs)


def print_results(
    console: Console, results: Sequence[CheckResult], *, changes_only: bool = False
) -> None:
    """One line per source; with `changes_only`, only the sources that are new, changed or
    failed (a pass over hundreds of sources is otherwise a wall of "not_modified")."""
    if changes_only:
        results = [r for r in results if r.outcome not in QUIET_OUTCOMES]
    width = max((len(r.source_id) for r in results), default=0)
    for result in results:
        line = Text(f"{result.source_id:<{width}}  ")
        line.append(f"{result.outcome:<12}", style=_OUTCOME_STYLES.get(result.outcome, ""))
        if result.change_id is not None:
            line.append(f" change #{result.change_id}: ")
            comparison = result.comparison
            assert comparison is not None
            line.append(headline(result.kinds, comparison.access_before, comparison.access_after))
            if result.revert_to is not None:
                line.append(f" (back to version #{result.revert_to})", style="magenta")
        elif result.outcome == "changed":
            line.append(" " + ", ".join(result.kinds) + " (dry run, not stored)")
        if result.error and result.error != result.outcome:  # not "cancelled    cancelled"
            line.append(f" {result.error}", style="red")
        console.print(line, soft_wrap=True)


def changes_table(rows: Sequence[ChangeRow]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("id", "detected", "source", "change", "access", "reviewed"):
        table.add_column(column, no_wrap=column != "change")
    for row in rows:
        table.add_row(
            str(row.id),
            row.detected_at,
            row.source_id,
            headline(row.kinds, row.access_before, row.access_after)
            + (f" (back to #{row.revert_to})" if row.revert_to else ""),
            f"{row.access_before} → {row.access_after}",
            "yes" if row.reviewed else "",
        )
    return table


def history_table(versions: Sequence[StoredVersion], changes: Sequence[ChangeRow]) -> Table:
    made_by = {c.to_version_id: c for c in changes}
    table = Table(box=None, pad_edge=False)
    for column in ("version", "first seen", "last seen", "access", "teaser words", "how"):
        table.add_column(column, no_wrap=column != "how")
    for version in versions:
        change = made_by.get(version.id)
        how = version.origin
        if change is not None:
            how = f"change #{change.id}: " + headline(
                change.kinds, change.access_before, change.access_after
            )
        table.add_row(
            f"#{version.id}",
            version.first_seen,
            version.last_seen,
            version.regions.access,
            str(word_count(version.regions.teaser)),
            how,
        )
    return table


def print_status(console: Console, state: Status) -> None:
    if state.stalled:
        console.print(
            f"[bold red]service stalled[/]: pid {state.pid} on {state.host}, all "
            f"{state.workers} workers hold a stuck check, last heartbeat {state.heartbeat_at}"
        )
    elif state.alive:
        console.print(
            f"[green]service up[/]: pid {state.pid} on {state.host}, "
            f"up {format_seconds(state.uptime_seconds or 0)}, last heartbeat {state.heartbeat_at}"
        )
    else:
        last = f" (last heartbeat {state.heartbeat_at})" if state.heartbeat_at else ""
        console.print(f"[bold red]service not running[/]{last}")
    table = Table(box=None, pad_edge=False)
    for column in (
        "source",
        "schedule",
        "state",
        "last check",
        "outcome",
        "next due",
        "failures",
        "versions",
    ):
        table.add_column(column, no_wrap=True)
    for s in state.sources:
        style = "bold red" if s.state in ("failing", "stuck") else ""
        table.add_row(
            f"{s.id} (found by {s.discovered_by})" if s.discovered_by else s.id,
            s.schedule,
            Text(s.state, style=style),
            s.last_check_at or "never",
            s.last_outcome or "",
            s.next_due_at or "",
            str(s.consecutive_failures),
            str(s.versions),
        )
    console.print(table)
    for s in state.sources:
        if s.last_error:
            console.print(Text(f"{s.id}: {s.last_error}", style="red"))
    for c in state.in_flight:
        if c.stuck:  # every one, whatever the page: a stuck check holds a worker
            console.print(
                Text(
                    f"{c.source}: check stuck, running for {format_seconds(c.running_seconds)} "
                    f"since {c.started_at}, past the {format_seconds(c.limit_seconds)} "
                    "a check may take",
                    style="bold red",
                )
            )
    for d in state.discoveries:
        if d.error:
            times = "reading" if d.failures == 1 else f"{d.failures} readings in a row"
            state_word = "failing" if d.failing else "failed its last"
            console.print(
                Text(
                    f"discover {d.id}: {state_word} {times} since {d.failing_since} (last "
                    f"read {d.last_run_at}): {d.error}",
                    style="bold red" if d.failing else "yellow",
                )
            )
    if state.failed_alerts:
        noun = "alert" if state.failed_alerts == 1 else "alerts"
        console.print(
            Text(
                f"{state.failed_alerts} {noun} given up on for good (the newest tried "
                f"{state.failed_alerts_at}): monitor alerts --failed lists them, "
                "monitor alerts --retry sends them again",
                style="red",
            )
        )
    shown = len(state.sources)
    if shown < state.total:
        end = state.offset + shown
        where = f"sources {state.offset + 1}-{end}" if shown else f"no source past {state.offset}"
        more = f"; next: --offset {end}" if shown and end < state.total else ""
        console.print(
            f"{where} of {state.total}, {state.failing} failing{more} (--all lists every one)",
            highlight=False,
        )


def alerts_table(rows: Sequence[Alert]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("id", "created", "source", "about", "to", "status", "tries", "last error"):
        table.add_column(column, no_wrap=column != "last error")
    for row in rows:
        about = f"change #{row.change_id}" if row.change_id is not None else row.event
        style = {"failed": "bold red", "pending": "yellow", "sent": "green"}.get(row.status, "")
        table.add_row(
            str(row.id),
            row.created_at,
            row.source_id,
            about,
            row.recipient if row.channel == "email" else f"{row.channel} {row.recipient}",
            Text(row.status, style=style),
            str(row.tries),
            row.last_error or "",
        )
    return table
