"""`monitor feed`: the changes as an Atom feed (RFC 4287).

Built with ElementTree, which escapes every text once: the diff travels as `type="html"`
content, escaped HTML that a feed reader unescapes once and renders.
"""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

from monitor.store.db import Store
from monitor.store.schema import iso
from monitor.views.render import ChangeView, change_view, environment, href

ATOM = "http://www.w3.org/2005/Atom"
FEED_ID = "tag:monitor.invalid,2026:changes"


def entry_id(view: ChangeView) -> str:
    """Stable for a change: its source, its number and the content it led to."""
    change = view.change
    return f"tag:monitor.invalid,2026:{change.source_id}/{change.id}/{view.after.fingerprint[:16]}"


def build_feed(
    store: Store, *, now: datetime, report_url: str | None = None, limit: int = 100
) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    views = [change_view(store, c, report_url) for c in store.changes(limit=limit)]
    ET.SubElement(feed, f"{{{ATOM}}}id").text = FEED_ID
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "monitor: changes"
    updated = views[0].change.detected_at if views else iso(now)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "monitor"
    if report_url:
        ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=report_url)
        ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{report_url}/feed.atom")
    fragment = environment().get_template("_feed_entry.html")
    for view in views:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = entry_id(view)
        ET.SubElement(entry, f"{{{ATOM}}}title").text = view.subject
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = view.change.detected_at
        ET.SubElement(entry, f"{{{ATOM}}}published").text = view.change.detected_at
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=view.link or href(view.url))
        for kind in view.change.kinds:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=kind)
        content = ET.SubElement(entry, f"{{{ATOM}}}content", type="html")
        content.text = fragment.render(view=view)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
