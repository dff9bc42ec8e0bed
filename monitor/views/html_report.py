"""`monitor report`: one self-contained HTML file of sources and changes.

Inline CSS, no scripts, no external requests: it opens from `file://` anywhere.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from monitor.store.db import Store
from monitor.store.schema import iso
from monitor.views.render import change_view, environment, source_summaries, stylesheet


def build_report(
    store: Store,
    *,
    now: datetime,
    source_id: str | None = None,
    since: str | None = None,
    report_url: str | None = None,
) -> str:
    changes = store.changes(source_id=source_id, since=since)
    views = [change_view(store, change, report_url) for change in changes]
    return (
        environment()
        .get_template("report.html")
        .render(
            generated=iso(now),
            css=Markup(stylesheet()),  # our own file, not page text
            sources=source_summaries(store, source_id),
            views=views,
            since=since,
        )
    )


def write_report(path: Path, html: str) -> None:
    """Write whole or not at all, so a reader never opens half a report."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(path)
