"""What a person reads about a change, shared by the emails and the HTML views.

`ChangeView` gathers a change, its source and both versions from the store; the Jinja2
environment renders it. Page text reaches HTML only through autoescaping or `render_html`,
which escapes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    from jinja2 import Environment

from monitor.detect.compare import REGIONS, headline
from monitor.detect.diff import Segment, render_html, render_plain, word_diff
from monitor.fetch.files import is_local
from monitor.store.db import Store
from monitor.store.rows import ChangeRow, SourceRow, StoredVersion

_UNSAFE_HEADER = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_text(value: str, limit: int = 150) -> str:
    """Page text made safe for a mail header: one line, no controls, bounded."""
    text = one_line(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def one_line(value: str) -> str:
    """Page text for a one-line field (a title in a message's text): its line breaks and
    controls as spaces, which would otherwise add lines of their own ("URL: …")."""
    return " ".join(_UNSAFE_HEADER.sub(" ", value).split())


@dataclass(frozen=True)
class RegionView:
    name: str
    before: str
    after: str
    segments: tuple[Segment, ...]

    @property
    def plain(self) -> str:
        return render_plain(self.segments)

    @property
    def html(self) -> Markup:
        return Markup(render_html(self.segments))

    @property
    def mail_plain(self) -> str:
        """`plain`, cut for a message (`MAIL_DIFF`)."""
        shown, rest = _cut(self.segments)
        return render_plain(shown) + _more(rest)

    @property
    def mail_html(self) -> Markup:
        """`html`, cut for a message (`MAIL_DIFF`)."""
        shown, rest = _cut(self.segments)
        return Markup(render_html(shown)) + _more(rest)

    def side_by_side(self) -> tuple[Markup, Markup]:
        """The full before and after texts with removals and additions marked."""
        full = word_diff(self.before, self.after)
        left = [s for s in full if s.op != "+"]
        right = [s for s in full if s.op != "-"]
        return Markup(render_html(left)), Markup(render_html(right))


# Characters of a region's diff a message shows: a rewrite of a book-length teaser would make
# a message of megabytes, which a mail server may refuse for good ("552 message too large").
MAIL_DIFF = 20_000


def _cut(segments: tuple[Segment, ...]) -> tuple[tuple[Segment, ...], int]:
    """The segments within `MAIL_DIFF` characters (the last one cut at a space), and how many
    characters are left out."""
    shown: list[Segment] = []
    size = 0
    for index, segment in enumerate(segments):
        if size + len(segment.text) > MAIL_DIFF:
            window = segment.text[: MAIL_DIFF - size]
            room = window.rpartition(" ")[0] or window  # text without spaces (Chinese): cut
            if room:
                shown.append(Segment(segment.op, room))
            left = len(segment.text) - len(room) + sum(len(s.text) for s in segments[index + 1 :])
            return tuple(shown), left
        shown.append(segment)
        size += len(segment.text)
    return tuple(shown), 0


def _more(left: int) -> str:
    return f" […] ({left:,} more characters of this diff: see the report)" if left else ""


@dataclass(frozen=True)
class ChangeView:
    change: ChangeRow
    title: str
    url: str
    before: StoredVersion
    after: StoredVersion
    link: str | None = None

    @property
    def headline(self) -> str:
        text = headline(self.change.kinds, self.change.access_before, self.change.access_after)
        if self.change.revert_to is not None:
            text += " (back to an earlier version)"
        return text

    @property
    def subject(self) -> str:
        return header_text(f"{self.headline}: {self.title}")

    @property
    def regions(self) -> list[RegionView]:
        return [
            RegionView(
                name,
                getattr(self.before.regions, name),
                getattr(self.after.regions, name),
                tuple(self.change.diff[name]),
            )
            for name in REGIONS
            if name in self.change.diff
        ]


def change_view(store: Store, change: ChangeRow, report_url: str | None = None) -> ChangeView:
    url, title = store.source_link(change.source_id)
    return ChangeView(
        change=change,
        title=one_line(title),
        url=url,
        before=store.version(change.from_version_id),
        after=store.version(change.to_version_id),
        link=f"{report_url}/changes/{change.id}" if report_url else None,
    )


KIND_BADGES = {
    "access_changed": "access",
    "paywall_changed": "paywall notice",
    "teaser_rewritten": "teaser edited",
    "teaser_length_changed": "teaser cut moved",
    "description_changed": "description",
}


def source_summaries(store: Store, source_id: str | None = None) -> list[SourceRow]:
    """One line per source: where it stands now. Every source in the database, or one."""
    return store.source_rows(source_id)


def stylesheet() -> str:
    """The one stylesheet: inlined in the report file, served by the web UI."""
    source = environment().loader
    assert source is not None
    return source.get_source(environment(), "style.css")[0]


@cache
def environment() -> Environment:
    # Imported here: `monitor check` with nothing to send never needs the template engine.
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("monitor.views", "templates"),
        # .css is ours, never page text: no escaping, so selectors such as "a > b" survive.
        autoescape=select_autoescape(["html", "xml"], disabled_extensions=["txt", "css"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates are the installed package's: a file's time is not looked up again
        # each time a template is asked for (twice an alert).
        auto_reload=False,
    )
    env.globals["badges"] = KIND_BADGES
    env.filters["href"] = href
    return env


def href(url: str) -> str:
    """A source's address as a link: a local capture's absolute path as a file: URI, which a
    bare path in a web page, an email or a feed is not (it would be read against the site
    showing it)."""
    if is_local(url) and not url.startswith("file:") and Path(url).is_absolute():
        return Path(url).as_uri()
    return url
