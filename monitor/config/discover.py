"""The `[[discover]]` and `[[notify]]` tables of `config.toml`.

A discovery reads a feed or a sitemap and watches each new article it lists as a source of its
own, made from the discovery's `[discover.source]` defaults. A notify target is an Apprise URL
that takes the alerts of some kinds and sources, beside email.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.config.validate import (
    DURATION_RANGE,
    MAX_SECONDS,
    MAX_TRIES,
    check_port,
    entry_table,
    parse_duration,
)
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.config.settings import Source

# `${NAME}` in a notify URL: the secret stays in the environment, never in the file.
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The kinds a notify target can take besides the change kinds of `monitor.detect.compare`.
EVENT_KINDS = ("change", "failing", "recovered", "discovered")
DISCOVER_KEYS = (
    "id",
    "feed",
    "sitemap",
    "include",
    "exclude",
    "interval",
    "max_sources",
    "max_age",
    "alert",
    "allow_private",
    "source",
)
NOTIFY_KEYS = ("id", "url", "kinds", "sources", "max_tries", "backoff")


@dataclass(frozen=True)
class Discovery:
    id: str
    feed: str | None = None
    sitemap: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    interval: float = 3600.0
    max_sources: int = 100
    max_age: float | None = None
    alert: bool = False
    allow_private: bool = False
    # What every source found here gets (its id and url are left empty here).
    template: Source | None = field(default=None, compare=False)

    @property
    def url(self) -> str:
        url = self.feed or self.sitemap
        assert url is not None
        return url

    def matches(self, url: str) -> bool:
        """Whether a found URL is watched: it matches an `include` pattern (any, when there is
        none) and no `exclude` pattern."""
        if self.include and not any(re.search(p, url) for p in self.include):
            return False
        return not any(re.search(p, url) for p in self.exclude)

    def source_for(self, source_id: str, url: str, public_only: bool = False) -> Source:
        """The source watching one found article; `public_only`: see `Source.public_only`."""
        template = self.template
        assert template is not None
        # A copy of the template's fields, without `dataclasses.replace`: status and the
        # scheduler build one per discovered source, and replace costs 6 µs each (0.6 s for
        # 100,000 sources). The template was validated when the config was loaded.
        source = object.__new__(type(template))
        source.__dict__.update(
            template.__dict__,
            id=source_id,
            url=url,
            discovered_by=self.id,
            public_only=public_only,
        )
        return source


@dataclass(frozen=True)
class NotifyTarget:
    id: str
    url: str  # may hold ${NAME} references, filled from the environment when sending
    kinds: frozenset[str] = frozenset()  # empty: every kind
    sources: frozenset[str] = frozenset()  # source or discovery ids; empty: every source
    max_tries: int = 8
    backoff: float = 60.0

    def takes_source(self, source_id: str, discovered_by: str | None) -> bool:
        return not self.sources or bool({source_id, discovered_by} & self.sources)

    def route(self) -> tuple[str, frozenset[str]]:
        """What the recorder needs to queue an alert for this target: its id and kinds."""
        return self.id, self.kinds


def _check_patterns(patterns: tuple[str, ...], key: str) -> None:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{key}: {pattern!r} is not a regular expression ({exc})") from None


def _http_url(url: str, key: str) -> str:
    if not (host := re.match(r"^https?://([^/?#\s]+)", url)):
        raise ConfigError(f"{key}: {url!r}: give the http:// or https:// address")
    check_port(url, host.group(1), key)
    return url


def load_discovery(
    data: object,
    index: int,
    load_source: Callable[[object, str], Source],
    elsewhere: Mapping[str, str] | None = None,
) -> Discovery:
    """One `[[discover]]` table; `load_source(data, where)` builds its `[discover.source]`;
    `elsewhere`: where a key this table does not take belongs (`validate.Table`)."""
    table = entry_table(data, "discover", index, DISCOVER_KEYS, elsewhere)
    where = table.where
    discovery_id = table.identifier("discovery", "in-brief")
    feed = table.get("feed", str)
    sitemap = table.get("sitemap", str)
    if (feed is None) == (sitemap is None):
        raise ConfigError(
            f"{where}: set one of feed (an RSS or Atom URL) or sitemap (a sitemap or sitemap "
            "index URL)"
        )
    if feed is not None:
        _http_url(feed, table.key("feed"))
    if sitemap is not None:
        _http_url(sitemap, table.key("sitemap"))
    include = table.strings("include", ())
    exclude = table.strings("exclude", ())
    _check_patterns(include, table.key("include"))
    _check_patterns(exclude, table.key("exclude"))
    max_age = table.get("max_age", (str, int, float))
    template = load_source(table.get("source", dict, {}), f"{where}.source")
    return Discovery(
        id=discovery_id,
        feed=feed,
        sitemap=sitemap,
        include=include,
        exclude=exclude,
        interval=parse_duration(
            table.get("interval", (str, int, float), "1h"), table.key("interval")
        ),
        max_sources=table.int_between("max_sources", 100, 1, 100_000),
        max_age=None if max_age is None else parse_duration(max_age, table.key("max_age")),
        alert=table.get("alert", bool, False),
        allow_private=table.get("allow_private", bool, False),
        template=template,
    )


def load_notify(
    data: object,
    index: int,
    change_kinds: tuple[str, ...],
    elsewhere: Mapping[str, str] | None = None,
) -> NotifyTarget:
    table = entry_table(data, "notify", index, NOTIFY_KEYS, elsewhere)
    target_id = table.identifier("target", "chat")
    url = table.get("url", str)
    if not url:
        raise ConfigError(
            f"{table.key('url')}: missing; give an Apprise URL such as "
            '"json://hooks.example.org/monitor" or "slack://${SLACK_TOKENS}"'
        )
    _check_apprise_url(url, table.key("url"))
    kinds = table.strings("kinds", ())
    known = (*EVENT_KINDS, *change_kinds)
    for kind in kinds:
        if kind not in known:
            raise ConfigError(f"{table.key('kinds')}: {kind!r} is not one of {', '.join(known)}")
    backoff = parse_duration(table.get("backoff", (str, int, float), "1m"), table.key("backoff"))
    max_tries = table.int_between("max_tries", 8, 1, MAX_TRIES)
    if max_tries - 1 > 64 or backoff * 2 ** (max_tries - 1) > MAX_SECONDS:
        raise ConfigError(
            f"{table.key('max_tries')}: {max_tries} tries with backoff = {backoff:g}s would wait "
            f"backoff × 2^{max_tries - 1} before the last one; keep that {DURATION_RANGE}: "
            "lower max_tries or backoff"
        )
    return NotifyTarget(
        id=target_id,
        url=url,
        kinds=frozenset(kinds),
        sources=frozenset(table.strings("sources", ())),
        max_tries=max_tries,
        backoff=backoff,
    )


def _check_apprise_url(url: str, key: str) -> None:
    """Refuse a URL Apprise cannot use when the config is loaded, not at the first alert.

    With `${NAME}` references the secret is not known yet: only the scheme is checked.
    """
    if "://" not in url:
        raise ConfigError(f"{key}: {url!r} is not an Apprise URL (scheme://…)")
    from apprise import Apprise  # only configs with [[notify]] pay for loading it

    if ENV_REFERENCE.search(url):
        scheme = url.split("://", 1)[0]
        if not _known_scheme(scheme):
            raise ConfigError(f"{key}: {scheme!r} is not a notification service Apprise knows")
        return
    # A number after the host's colon must be a port; what else stands there (Telegram's
    # `bot_id:token`) is the service's, and never shown
    host = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0].rpartition("@")[2]
    if (port := re.fullmatch(r".*:(\d+)", host)) and not 0 < int(port.group(1)) < 65536:
        raise ConfigError(f"{key}: {_redacted(url)!r} has a port out of range (1 to 65535)")
    if Apprise.instantiate(url) is None:
        raise ConfigError(
            f"{key}: Apprise cannot use {_redacted(url)!r}; see "
            "https://github.com/caronc/apprise/wiki for the URL of each service"
        )


def _known_scheme(scheme: str) -> bool:
    from apprise.manager_plugins import NotificationManager

    manager = NotificationManager()  # type: ignore[no-untyped-call]
    return scheme.lower() in manager.schemas()  # type: ignore[no-untyped-call]


def _redacted(url: str) -> str:
    """A notify URL as shown in messages: its scheme only. Any other part may be the secret
    (Telegram's bot token and Pushbullet's access token stand where a host would)."""
    return f"{url.partition('://')[0]}://…"
