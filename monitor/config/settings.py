"""Load `config.toml` once into validated, immutable settings.

Every problem is reported as a `ConfigError` that names the key and the fix; unknown keys are
errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import re
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import tomli

from monitor.config.validate import (
    DURATION_RANGE,
    MAX_SECONDS,
    MAX_TRIES,
    Table,
    check_port,
    entry_table,
    parse_duration,
    parse_size,
    shown,
)
from monitor.detect.rules import (
    DEFAULT_DESCRIPTION,
    DEFAULT_MARKERS,
    DEFAULT_PAYWALL,
    DEFAULT_TEASER,
    ExtractRules,
)
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.config.discover import Discovery, NotifyTarget

# Each retry of a fetch waits backoff × 2^attempt: ten retries already span 1024 backoffs.
MAX_RETRIES = 10
# Upper bounds of the other counts: far above any real use (a thread, a socket or a browser
# page each), low enough for a thread pool, a semaphore and an SQLite INTEGER.
MAX_CONCURRENCY = 1024
MAX_BROWSER_PAGES = 64
MAX_FAILING_AFTER = 10_000
MAX_MIN_WORDS = 100_000


# The keys of each table, and which other tables know a key misplaced in one (`_homes`).
MONITOR_KEYS = (
    "database",
    "interval",
    "timeout",
    "max_body",
    "concurrency",
    "per_host",
    "keep_checks",
    "user_agent",
    "retries",
    "backoff",
    "failing_after",
    "confirm",
    "fetch",
    "browser_pages",
)
EMAIL_KEYS = (
    "host",
    "port",
    "security",
    "from",
    "to",
    "username",
    "password_env",
    "mode",
    "digest_interval",
    "outbox",
    "ca_file",
    "report_url",
    "max_tries",
    "backoff",
)
SOURCE_KEYS = (
    "id",
    "url",
    "baseline",
    "interval",
    "cron",
    "recipients",
    "extract",
    "allow_private",
    "allow_any_path",
    "fetch",
    "settle",
)
EXTRACT_KEYS = ("teaser", "paywall", "description", "markers", "exclude", "min_words")
TOP_KEYS = ("monitor", "email", "source", "discover", "notify")


@functools.cache
def _homes(here: str) -> dict[str, str]:
    """For each key table `here` ("" for the top level) does not take, the tables that do, as
    the fix names them: `database` written above `[monitor]` belongs in `[monitor]`."""
    from monitor.config.discover import DISCOVER_KEYS, NOTIFY_KEYS

    tables = {
        "[monitor]": MONITOR_KEYS,
        "[email]": EMAIL_KEYS,
        "[[source]]": SOURCE_KEYS,
        "[source.extract]": EXTRACT_KEYS,
        "[[discover]]": DISCOVER_KEYS,
        "[[notify]]": NOTIFY_KEYS,
    }
    allowed = tables.get(here, TOP_KEYS)
    homes: dict[str, list[str]] = {}
    for name, keys in tables.items():
        for key in keys:
            if key not in allowed:
                homes.setdefault(key, []).append(name)
    return {key: _belongs(names) for key, names in homes.items()}


def _belongs(names: list[str]) -> str:
    if len(names) == 1:
        return f"it belongs in {names[0]}: move it below a {names[0]} line"
    either = f"{', '.join(names[:-1])} or {names[-1]}"
    return f"it belongs in {either}: move it below the line of the one you meant"


@dataclass(frozen=True)
class MonitorSettings:
    database: Path
    interval: float = 3600.0
    timeout: float = 30.0
    max_body: int = 5 * 1024 * 1024
    concurrency: int = 16
    per_host: int = 2
    keep_checks: float = 90 * 86400.0
    user_agent: str = "monitor/0.1 (+https://example.org/monitor)"
    retries: int = 2
    backoff: float = 1.0
    failing_after: int = 3
    # A page that differs is fetched once more, this many seconds later (0: at once); None:
    # never (see `service.check.confirm`).
    confirm: float | None = 0.0
    fetch: str = "http"  # the sources' default: "http", or "browser" (headless Chromium)
    browser_pages: int = 2  # browser pages loading at once (each costs far more than a request)


@dataclass(frozen=True)
class EmailSettings:
    host: str | None = None
    port: int = 587
    security: str = "starttls"
    sender: str = "monitor@localhost"
    to: tuple[str, ...] = ()
    username: str | None = None
    password_env: str | None = None
    mode: str = "immediate"
    digest_interval: float = 86400.0
    outbox: Path = Path("outbox")
    ca_file: Path | None = None
    report_url: str | None = None
    max_tries: int = 8
    backoff: float = 60.0


@dataclass(frozen=True)
class Source:
    id: str
    url: str
    baseline: Path | None = None
    interval: float | None = None
    cron: str | None = None
    recipients: tuple[str, ...] = ()
    extract: ExtractRules = field(default_factory=ExtractRules)
    # Redirects to loopback, link-local and private addresses are refused unless this is set.
    allow_private: bool = False
    fetch: str = "http"  # or "browser": the page as headless Chromium renders it
    # A browser source's page is read once its text has been still this long; None: the
    # browser's default (`BrowserFetcher.settle_for`: 2 s, or a quarter of the timeout).
    settle: float | None = None
    # The `[[discover]]` id that found this source; None for a configured one.
    discovered_by: str | None = None
    # Found by a feed on the public internet: the page may not be fetched from a private
    # address, whatever its name resolves to when it is checked (DNS rebinding).
    public_only: bool = False
    # The `[[notify]]` targets that take this source's alerts: (target id, kinds; empty: all).
    notify: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class Looked:
    """What on disk a config's validation depended on: the folders it looked names up in
    (capture files, baselines, the CA file), and whether it followed a link or a `..`."""

    folders: frozenset[str]
    linked: bool


@dataclass(frozen=True)
class Settings:
    path: Path
    monitor: MonitorSettings
    email: EmailSettings
    sources: tuple[Source, ...]
    discover: tuple[Discovery, ...] = ()
    notify: tuple[NotifyTarget, ...] = ()

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none configured"
        raise ConfigError(f"no source with id {source_id!r} in {self.path} (known: {known})")


def _check_selectors(selectors: tuple[str, ...], key: str) -> None:
    if (bad := _invalid_selector(selectors)) is not None:
        raise ConfigError(f"{key}: {bad!r} is not a valid CSS selector")


@functools.lru_cache(maxsize=1024)
def _invalid_selector(selectors: tuple[str, ...]) -> str | None:
    # Every source without its own rules repeats the same default tuples: check each tuple once.
    for selector in selectors:
        if selector not in _DEFAULT_SELECTORS and not _valid_selector(selector):
            return selector
    return None


# The rules' own selectors, valid by the tests (`test_config`): only a user's are compiled to
# be checked, so that a config without any loads no HTML parser.
_DEFAULT_SELECTORS = frozenset((*DEFAULT_TEASER, *DEFAULT_PAYWALL, *DEFAULT_DESCRIPTION))


@functools.cache
def _valid_selector(selector: str) -> bool:
    # Thousands of sources share the same few selectors: compile each once. The parser is
    # imported here, not with the settings: a pass's parent reads no page, and with the
    # default rules (or settings from the cache) never loads it; its workers do.
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    try:
        LexborHTMLParser("<html><body></body></html>").css(selector)
    except SelectolaxError:
        return False
    return True


class _Folder:
    """The config's folder, resolved once, and a path resolver that resolves each folder of the
    captures once: 100,000 captures in a few folders would otherwise cost a `realpath` (a system
    call per path component) each, seconds in all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real: str | None = None
        self._folders: dict[str, str] = {}
        # A folder's entries once it has been met often: name -> whether it is a link. One
        # listing costs less than an lstat per capture (0.06 s against 0.4 s for 100,000).
        self._met: dict[str, int] = {}
        self._entries: dict[str, dict[str, bool]] = {}
        # What the answers depended on, for the cache of validated settings (`config.cache`):
        # the folders names were looked up in, and whether a link or a `..` was followed.
        self.looked_in: set[str] = set()
        self.linked = False

    @property
    def real(self) -> str:
        if self._real is None:
            self._real = str(self.root.resolve())
        return self._real

    def contains(self, resolved: str) -> bool:
        """Whether a resolved path is the folder or inside it."""
        real = self.real
        prefix = real if real.endswith(os.sep) else real + os.sep
        return resolved == real or resolved.startswith(prefix)

    def resolve(self, path: str) -> tuple[str, bool]:
        """`os.path.realpath(path)` and whether it exists, as `Path.resolve()` and
        `Path.exists()` give them. Raises OSError or ValueError where they would."""
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or not folder:
            return self._slow(path)
        self.looked_in.add(folder)
        link = self._listed(folder).get(name)
        if link is None:  # not listed (or not listed yet): ask the file system
            try:
                link = stat.S_ISLNK(os.lstat(path).st_mode)
            except FileNotFoundError:
                link = None
            except (OSError, ValueError):
                return self._slow(path)
        if link:
            return self._slow(path)  # a link is followed wherever it leads, as realpath does
        # The last component is no link: the path resolves to its resolved folder plus it.
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = str(Path(folder).resolve())
        # Strings, not Paths: a PurePath costs more to build than the join.
        return os.path.join(real_folder, name), link is not None  # noqa: PTH118

    def _listed(self, folder: str) -> dict[str, bool]:
        """The entries of a folder met at least 64 times (listing a large folder for one or
        two captures would cost more than it saves); empty before that."""
        entries = self._entries.get(folder)
        if entries is not None:
            return entries
        met = self._met[folder] = self._met.get(folder, 0) + 1
        if met < 64:
            return {}
        try:
            with os.scandir(folder) as listing:
                entries = {entry.name: entry.is_symlink() for entry in listing}
        except (OSError, ValueError):
            entries = {}
        self._entries[folder] = entries
        return entries

    def _slow(self, path: str) -> tuple[str, bool]:
        self.linked = True
        resolved = Path(path).resolve()
        return str(resolved), resolved.exists()


def _inside(path: Path, folder: _Folder, key: str) -> Path:
    root = folder.root
    try:
        resolved, _ = folder.resolve(str(root / path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{key}: {str(path)!r} is not a usable path ({exc})") from None
    if not folder.contains(resolved):
        raise ConfigError(f"{key}: {str(path)!r} points outside the project folder {root}")
    return Path(resolved)


def _load_extract(data: object, where: str, seen: dict[object, ExtractRules]) -> ExtractRules:
    """The rules of one `extract` table. `seen` holds the rules of the tables already loaded,
    by value: most sources share a few (or no) extract tables, validated once and shared."""
    key = _frozen(data)
    if key is not None and (rules := seen.get(key)) is not None:
        return rules
    rules = _validate_extract(data, where)
    if key is not None:
        seen[key] = rules
    return rules


def _frozen(data: object) -> object:
    """A hashable copy of a table of strings, lists of strings and integers; None for another
    (that one is validated each time)."""
    if not isinstance(data, Mapping):
        return None
    items = []
    for name, value in data.items():
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                return None
            value = ("list", *value)
        elif not isinstance(value, (str, int)):
            return None
        items.append((name, type(value).__name__, value))
    return tuple(sorted(items))


def _validate_extract(data: object, where: str) -> ExtractRules:
    table = Table(data, where, EXTRACT_KEYS)
    rules = ExtractRules(
        teaser=table.strings("teaser", DEFAULT_TEASER),
        paywall=table.strings("paywall", DEFAULT_PAYWALL),
        description=table.strings("description", DEFAULT_DESCRIPTION),
        markers=table.strings("markers", DEFAULT_MARKERS),
        exclude=table.strings("exclude", ()),
        min_words=table.int_between("min_words", ExtractRules.min_words, 1, MAX_MIN_WORDS),
    )
    for name in ("teaser", "paywall", "description", "exclude"):
        _check_selectors(getattr(rules, name), table.key(name))
    return rules


class _Context:
    """What every source of one config shares, worked out once for all of them."""

    def __init__(self, root: Path, emails: tuple[str, ...], fetch: str, timeout: float) -> None:
        self.folder = _Folder(root)
        self.emails = emails
        self.fetch = fetch
        self.timeout = timeout
        self.extracts: dict[object, ExtractRules] = {}
        self.addresses: set[tuple[str, ...]] = set()


def _load_source(
    data: object,
    index: int,
    context: _Context,
    where: str | None = None,
) -> Source:
    allowed = SOURCE_KEYS
    table = (
        entry_table(data, "source", index, allowed, _homes("[[source]]"))
        if where is None
        else Table(data, where, allowed)
    )
    where = table.where
    source_id = table.identifier("source", "my-article")
    url = table.get("url", str)
    if not url:
        raise ConfigError(f"{table.key('url')}: missing; give the article's https:// address")
    if _SCHEME.match(url):
        if not _KNOWN_SCHEME.match(url):
            raise ConfigError(f"{table.key('url')}: {url!r}: use https://, http:// or file://")
        if (host := _HTTP_HOST.match(url)) is None and not url.startswith("file://"):
            raise ConfigError(f"{table.key('url')}: {url!r} has no host name")
        if host is not None:
            check_port(url, host.group(1), table.key("url"))
    root = context.folder.root
    url = _capture_file(url, context.folder, table)
    baseline = None
    if (raw := table.get("baseline", str)) is not None:
        baseline = _inside(Path(raw), context.folder, table.key("baseline"))
        if baseline.is_dir():
            raise ConfigError(
                f"{table.key('baseline')}: {raw!r} is a folder, not a capture file; name the "
                "file inside it, or remove the key"
            )
        if not baseline.is_file():
            raise ConfigError(
                f"{table.key('baseline')}: file {raw!r} not found (looked in {root}); "
                "fix the path or remove the key"
            )
    interval = table.get("interval", (str, int, float))
    cron = table.get("cron", str)
    if interval is not None and cron is not None:
        raise ConfigError(f"{where}: set either interval or cron, not both")
    if cron is not None:
        from apscheduler.triggers.cron import CronTrigger  # only configs with cron pay for it

        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise ConfigError(
                f"{table.key('cron')}: {cron!r} is not a five-field cron expression ({exc})"
            ) from None
    fetch = _fetch(table, context.fetch)
    settle = _settle(table, fetch, context.timeout)
    recipients = table.strings("recipients", context.emails)
    if recipients not in context.addresses:
        _check_addresses(recipients, table.key("recipients"))
        context.addresses.add(recipients)
    return Source(
        id=source_id,
        url=url,
        baseline=baseline,
        interval=None if interval is None else parse_duration(interval, table.key("interval")),
        cron=cron,
        recipients=recipients,
        extract=_load_extract(table.get("extract", dict, {}), f"{where}.extract", context.extracts),
        allow_private=table.get("allow_private", bool, False),
        fetch=fetch,
        settle=settle,
    )


def _settle(table: Table, fetch: str, timeout: float) -> float | None:
    raw = table.get("settle", (str, int, float))
    if raw is None:
        return None
    key = table.key("settle")
    if fetch != "browser":
        raise ConfigError(
            f'{key}: only a page read in the browser waits to settle; set fetch = "browser" on '
            "this source, or remove the key"
        )
    settle = parse_duration(raw, key)
    if settle >= timeout:
        raise ConfigError(
            f"{key}: {shown(raw)} is not shorter than monitor.timeout ({timeout:g} s), within "
            "which the page must be read; lower settle or raise the timeout"
        )
    return settle


# A host name at the start of a path: "warontherocks.com/2023/…", "www.example.org".
# A host with a port, whatever its name: "localhost:8765/a.html", "127.0.0.1:8765",
# "[::1]:8765/".
_HOST_LIKE = re.compile(
    r"^(?:[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?::\d+)?"
    r"|[A-Za-z0-9.-]+:\d+"
    r"|\[[0-9A-Fa-f:.]+\](?::\d+)?)(/|$)"
)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_KNOWN_SCHEME = re.compile(r"^(https?|file)://")
_HTTP = re.compile(r"^https?://")
_HTTP_HOST = re.compile(r"^https?://([^/?#]+)")


def _capture_file(url: str, folder: _Folder, table: Table) -> str:
    """`url` as the fetcher reads it. A capture file (a path, relative to the config's folder,
    or a file:// URL) must be inside that folder, as a baseline must, unless the source sets
    allow_any_path: a config that names /etc/passwd or /dev/zero would store it as an article."""
    anywhere = table.get("allow_any_path", bool, False)
    key = table.key("url")
    root = folder.root
    if _HTTP.match(url):
        if anywhere:
            raise ConfigError(
                f"{table.key('allow_any_path')}: only for a url that names a local file; remove it"
            )
        return url
    if url.startswith("file://"):
        import urllib.parse
        from urllib.request import url2pathname

        parsed = urllib.parse.urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise ConfigError(f"{key}: {url!r} names a host; write file:///path/on/this/machine")
        path = url2pathname(parsed.path)
    else:
        path = os.path.join(root, url)  # noqa: PTH118 (one Path per source is slow)
    try:
        resolved, exists = folder.resolve(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{key}: {url!r} is not a usable path ({exc})") from None
    if not exists and _HOST_LIKE.match(url) and not Path(url).is_absolute():
        # Read as a capture file beside the config, it would fail at every check.
        raise ConfigError(
            f"{key}: {url!r} is read as a file beside the config, and there is none; "
            f"did you mean '{_scheme_for(url)}://{url}'?"
        )
    if exists and os.path.isdir(resolved):  # noqa: PTH112 (as above)
        raise ConfigError(
            f"{key}: {url!r} is a folder, not a capture file; name the file inside it"
        )
    if not anywhere and not folder.contains(resolved):
        raise ConfigError(
            f"{key}: {url!r} is a file outside the config's folder {root}; move the capture "
            f"into that folder, or set {table.key('allow_any_path')} = true to read it there"
        )
    return url if url.startswith("file://") else resolved


def _scheme_for(url: str) -> str:
    """The scheme a URL written without one most likely lacks: a page on this machine is a test
    server, rarely behind TLS; any other host, https."""
    host = url.split("/", 1)[0]
    host = host.partition("]")[0] if host.startswith("[") else host.rpartition(":")[0] or host
    return "http" if _loopback(host) else "https"


def _fetch(table: Table, default: str) -> str:
    fetch: str = table.get("fetch", str, default)
    if fetch not in ("http", "browser"):
        raise ConfigError(
            f'{table.key("fetch")}: {fetch!r}; use "http" (the page as served) or "browser" '
            "(as headless Chromium renders it, for paywalls built by a script)"
        )
    return fetch


def _check_addresses(addresses: tuple[str, ...], key: str) -> None:
    for address in addresses:
        check_address(address, key)


def check_address(address: str, key: str) -> None:
    """Refuse what is not one bare email address: a name, a list, or a line break (which would
    let the value add headers such as Bcc) among them."""
    if not re.fullmatch(r"[^@\s<>,;]+@[^@\s<>,;]+", address):
        raise ConfigError(
            f"{key}: {address!r} is not an email address; write one bare address such as "
            "'desk@example.org'"
        )
    if address.isascii():
        return
    # Every alert to or from it would fail to compose: mail headers are ASCII, and an address
    # outside it needs SMTPUTF8, which monitor does not speak.
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise ConfigError(
            f"{key}: {address!r}: the part before @ has characters outside ASCII, which monitor "
            "cannot send to or from; use an address without them"
        )
    import idna  # IDNA 2008 (httpx's own dependency): Python's "idna" codec maps ß to ss

    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ConfigError(f"{key}: {address!r}: {domain!r} is not a valid domain name") from None
    raise ConfigError(f"{key}: {address!r}: write its domain in ASCII, as {local}@{ascii_domain}")


def _load_monitor(data: object, root: Path) -> MonitorSettings:
    allowed = MONITOR_KEYS
    table = Table(data, "monitor", allowed, _homes("[monitor]"))
    d = MonitorSettings(database=Path("monitor.db"))
    retries = table.int_between("retries", d.retries, 0, MAX_RETRIES)
    return MonitorSettings(
        database=root / table.get("database", str, "monitor.db"),
        interval=parse_duration(table.get("interval", (str, int, float), "1h"), "monitor.interval"),
        timeout=parse_duration(table.get("timeout", (str, int, float), "30s"), "monitor.timeout"),
        max_body=parse_size(table.get("max_body", (str, int), "5MiB"), "monitor.max_body"),
        concurrency=table.int_between("concurrency", d.concurrency, 1, MAX_CONCURRENCY),
        per_host=table.int_between("per_host", d.per_host, 1, MAX_CONCURRENCY),
        keep_checks=parse_duration(
            table.get("keep_checks", (str, int, float), "90d"), "monitor.keep_checks"
        ),
        user_agent=table.get("user_agent", str, d.user_agent),
        retries=retries,
        backoff=parse_duration(table.get("backoff", (str, int, float), "1s"), "monitor.backoff"),
        failing_after=table.int_between("failing_after", d.failing_after, 1, MAX_FAILING_AFTER),
        confirm=_confirm(table),
        fetch=_fetch(table, d.fetch),
        browser_pages=table.int_between("browser_pages", d.browser_pages, 1, MAX_BROWSER_PAGES),
    )


def _confirm(table: Table) -> float | None:
    """`confirm = true` (a second request at once, the default), `confirm = "5s"` (after a
    pause) or `confirm = false`."""
    value = table.data.get("confirm", True)
    if isinstance(value, bool):
        return 0.0 if value else None
    try:
        return parse_duration(value, "monitor.confirm")
    except ConfigError as exc:
        raise ConfigError(
            f"{exc}, or true (fetch again at once) or false (record a change without fetching "
            "again)"
        ) from None


def _load_email(data: object, root: Path, database: Path) -> EmailSettings:
    allowed = EMAIL_KEYS
    table = Table(data, "email", allowed, _homes("[email]"))
    security = table.get("security", str, "starttls")
    if security not in ("tls", "starttls", "none"):
        raise ConfigError(f'email.security: {security!r}; use "tls", "starttls" or "none"')
    mode = table.get("mode", str, "immediate")
    if mode not in ("immediate", "digest"):
        raise ConfigError(f'email.mode: {mode!r}; use "immediate" or "digest"')
    port = table.get("port", int, 465 if security == "tls" else 587)
    if not 0 < port < 65536:
        raise ConfigError(f"email.port: {shown(port)} is not a TCP port; use 1 to 65535")
    sender = table.get("from", str, "monitor@localhost")
    check_address(sender, "email.from")
    to = table.strings("to", ())
    _check_addresses(to, "email.to")
    password_env = table.get("password_env", str)
    if password_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
        raise ConfigError(
            f"email.password_env: {password_env!r} is not an environment variable "
            "name (the password itself never goes in the file)"
        )
    ca_file = table.get("ca_file", str)
    if ca_file is not None and not (root / ca_file).is_file():
        raise ConfigError(f"email.ca_file: {ca_file!r} not found")
    report_url = table.get("report_url", str)
    if report_url is not None and not re.match(r"^https?://", report_url):
        raise ConfigError(f"email.report_url: {report_url!r} must start with http:// or https://")
    host = table.get("host", str)
    if host is not None:
        _check_smtp_host(host)
    username = table.get("username", str)
    if username is not None and password_env is None:
        raise ConfigError(
            "email.username: set without email.password_env; add password_env = "
            '"MONITOR_SMTP_PASSWORD" (the name of the environment variable holding the '
            "password), or remove username if the server needs no login"
        )
    if username is not None and security == "none" and host is not None and not _loopback(host):
        raise ConfigError(
            f'email.security: "none" with email.username would send the password in clear '
            f'to {host}; use security = "starttls" or "tls" (plain SMTP with a login is '
            "allowed only to a loopback host such as 127.0.0.1)"
        )
    backoff = parse_duration(table.get("backoff", (str, int, float), "1m"), "email.backoff")
    max_tries = table.int_between("max_tries", 8, 1, MAX_TRIES)
    # The wait before try n is backoff × 2^(n-1): it must stay a duration we can schedule.
    if max_tries - 1 > 64 or backoff * 2 ** (max_tries - 1) > MAX_SECONDS:
        raise ConfigError(
            f"email.max_tries: {max_tries} tries with backoff = {backoff:g}s would wait "
            f"backoff × 2^{max_tries - 1} before the last one; keep that {DURATION_RANGE}: "
            "lower max_tries or backoff"
        )
    return EmailSettings(
        host=host,
        port=port,
        security=security,
        sender=sender,
        to=to,
        username=username,
        password_env=password_env,
        mode=mode,
        digest_interval=parse_duration(
            table.get("digest_interval", (str, int, float), "1d"), "email.digest_interval"
        ),
        outbox=database.parent / table.get("outbox", str, "outbox"),
        ca_file=None if ca_file is None else root / ca_file,
        report_url=None if report_url is None else report_url.rstrip("/"),
        max_tries=max_tries,
        backoff=backoff,
    )


_HOST_NAME = re.compile(
    r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$"
)


def _check_smtp_host(host: str) -> None:
    """`email.host` is the server's name or address alone: a URL or a port written into it
    would fail every alert as an unknown host."""
    scheme, sep, rest = host.partition("://")
    if sep:
        name = re.split(r"[/:?#]", rest, maxsplit=1)[0]
        tls = ' and security = "tls"' if scheme.lower() == "smtps" else ""
        raise ConfigError(
            f"email.host: {host!r} is a URL; write the server's name alone, host = {name!r}"
            f"{tls} (the port goes in email.port)"
        )
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        raise ConfigError(
            f"email.host: {host!r} holds a port; write host = {name!r} and port = {port}"
        )
    if _HOST_NAME.match(host):
        return
    if host.startswith("[") and host.endswith("]"):
        raise ConfigError(
            f"email.host: {host!r}: write an IPv6 address without brackets, host = {host[1:-1]!r}"
        )
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"email.host: {host!r} is not a host name; write the SMTP server's name, such as "
            '"smtp.example.org", or its IP address (or remove host to write .eml files)'
        ) from None


def _loopback(host: str) -> bool:
    """Whether an SMTP host is this machine, judged from its name alone (no DNS at load)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_settings(text: str, path: Path) -> Settings:
    """Validate the text of a config file; relative paths are taken from `path`'s folder."""
    return _parse(text, path)[0]


def _parse(text: str, path: Path) -> tuple[Settings, Looked]:
    """The settings, and what on disk their validation looked at (see `_Folder`)."""
    try:
        # tomli is what became tomllib (the same messages), compiled: a 5.7 MB config with
        # 100,000 sources parses in 0.3 s instead of 1.1 s
        # A BOM is what some Windows editors put first in a UTF-8 file: not part of the TOML.
        data = tomli.loads(text.removeprefix("\ufeff"))
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValueError:
        # Python refuses to convert an integer of more than 4300 digits (a guard against slow
        # conversions), and tomli lets that through as a plain ValueError.
        raise ConfigError(
            f"{path}: not valid TOML: a number has more than 4300 digits; no setting takes a "
            "number that large"
        ) from None
    root = path.parent
    top = Table(data, "", TOP_KEYS, _homes(""))
    monitor = _load_monitor(top.get("monitor", dict, {}), root)
    email = _load_email(top.get("email", dict, {}), root, monitor.database)
    # With no mail server, alerts still go somewhere a person can read: .eml files in the
    # outbox, addressed to the sender when nobody else is named.
    default_to = email.to or ((email.sender,) if email.host is None else ())
    raw_sources = top.get("source", list, [])
    context = _Context(root, default_to, monitor.fetch, monitor.timeout)
    if email.ca_file is not None:
        # Only for what it depends on: `_load_email` found it a file.
        with contextlib.suppress(OSError, ValueError):
            context.folder.resolve(str(email.ca_file))
    loaded = []
    for index in range(len(raw_sources)):
        loaded.append(_load_source(raw_sources[index], index + 1, context))
        # Its table is done with: freed now, so the sources fill the room it leaves instead of
        # the whole parsed file and every source being held at once (for 100,000 sources, a
        # peak 17 MB lower and 16 MB less kept).
        raw_sources[index] = None
    sources = tuple(loaded)
    if email.host is not None and any(not s.recipients for s in sources):
        raise ConfigError("email.to: set default recipients, or give every source recipients")
    seen: set[str] = set()
    for source in sources:
        if source.id in seen:
            raise ConfigError(f"source id {source.id!r} is used twice; ids must be unique")
        seen.add(source.id)
    discover_context = _Context(root, default_to, "http", monitor.timeout)
    discover, notify = _load_discover_notify(top, discover_context)
    if email.host is not None and any(
        d.template is not None and not d.template.recipients for d in discover
    ):
        raise ConfigError(
            "email.to: set default recipients, or give every [discover.source] recipients"
        )
    settings = _with_routes(
        Settings(
            path=path,
            monitor=monitor,
            email=email,
            sources=sources,
            discover=discover,
            notify=notify,
        )
    )
    return settings, Looked(frozenset(context.folder.looked_in), context.folder.linked)


_TEMPLATE_EXTRACT = _belongs(["[discover.source.extract]"])
# What a `[[discover]]` table's sources take, in its `[discover.source]` (`template` below).
_TEMPLATE_KEYS = ("interval", "cron", "recipients", "extract", "allow_private")


@functools.cache
def _discover_homes() -> dict[str, str]:
    """`_homes` for a `[[discover]]` table, where what its sources take (but the discovery's
    own `interval` and `allow_private`) belongs in its `[discover.source]`, and a `url` is
    the address of a feed or a sitemap."""
    homes = dict(_homes("[[discover]]"))
    homes.update(dict.fromkeys(_TEMPLATE_KEYS, _belongs(["[discover.source]"])))
    homes.update(dict.fromkeys(EXTRACT_KEYS, _TEMPLATE_EXTRACT))
    homes["url"] = "a discovery reads `feed` (an RSS or Atom feed's URL) or `sitemap`"
    return homes


def _load_discover_notify(
    top: Table, context: _Context
) -> tuple[tuple[Discovery, ...], tuple[NotifyTarget, ...]]:
    from monitor.config.discover import load_discovery, load_notify
    from monitor.detect.compare import KINDS

    def template(data: object, where: str) -> Source:
        # id, url and baseline come from each found article
        Table(data, where, _TEMPLATE_KEYS, dict.fromkeys(EXTRACT_KEYS, _TEMPLATE_EXTRACT))
        assert isinstance(data, Mapping)
        filled = {**data, "id": "discovered", "url": "https://discovered.invalid/"}
        return _load_source(filled, 0, context, where=where)

    found = _discover_homes()
    discover = tuple(
        load_discovery(d, i, template, found)
        for i, d in enumerate(top.get("discover", list, []), 1)
    )
    targets = _homes("[[notify]]")
    notify = tuple(
        load_notify(n, i, KINDS, targets) for i, n in enumerate(top.get("notify", list, []), 1)
    )
    for name, items in (("discover", discover), ("notify", notify)):
        ids = [item.id for item in items]
        if twice := {i for i in ids if ids.count(i) > 1}:
            raise ConfigError(f"{name} id {min(twice)!r} is used twice; ids must be unique")
    return discover, notify


def _with_routes(settings: Settings) -> Settings:
    """Give each source (and each discovery's template) the notify targets that take it."""
    known = {s.id for s in settings.sources} | {d.id for d in settings.discover}
    for target in settings.notify:
        if unknown := sorted(target.sources - known):
            raise ConfigError(
                f"notify (id {target.id!r}).sources: {unknown[0]!r} is neither a source nor a "
                "discover id"
            )
    if not settings.notify:
        return settings

    def routes(source_id: str, discovered_by: str | None) -> tuple[tuple[str, frozenset[str]], ...]:
        return tuple(t.route() for t in settings.notify if t.takes_source(source_id, discovered_by))

    sources = tuple(replace(s, notify=routes(s.id, None)) for s in settings.sources)
    discover = tuple(
        replace(d, template=replace(d.template, notify=routes("", d.id)))
        if d.template is not None
        else d
        for d in settings.discover
    )
    return replace(settings, sources=sources, discover=discover)


def load_settings(path: Path, *, cache: bool = True, named_by: str | None = None) -> Settings:
    """Read and validate the config file at `path`.

    A large config's validated settings are kept in a cache (`config.cache`) keyed by the
    file's bytes and by what on disk its validation looked at: any edit, or a change among its
    local captures' folders, validates it again. `cache=False` always validates. `named_by`:
    where the path came from when not from the user's own words (an environment variable),
    so that a missing file points there."""
    from monitor.config import cache as settings_cache

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        fix = (
            f"the path comes from {named_by}: fix or unset it, or pass --config PATH"
            if named_by
            else "pass --config PATH or set MONITOR_CONFIG"
        )
        raise ConfigError(f"{path}: config file not found; {fix}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    resolved = path.resolve()
    if cache and (kept := settings_cache.lookup(resolved, data)) is not None:
        return kept
    started = time.time_ns()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}: cannot read the config file: line {line}, column {column} is not UTF-8 "
            f"(byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None
    settings, looked = _parse(text, resolved)
    if cache and settings_cache.keep(resolved, data, settings, looked, started):
        # Read back from the entry just written: made apart from the parsed file's tables,
        # 100,000 sources then hold 15 MB less than the validated ones among what the
        # tables left (0.2 s more, once per edit).
        del settings
        kept = settings_cache.lookup(resolved, data)
        if kept is not None:
            return kept
        settings, _ = _parse(text, resolved)
    elif cache and len(data) >= settings_cache.MIN_BYTES:
        # Not cached (its captures' folders changed a moment ago, say): made apart all the
        # same, in memory, for the same 15 MB (0.2 s more; `cache=False` asks for neither).
        packed = settings_cache.pack(settings)
        del settings
        return settings_cache.unpack(*packed)
    return settings


def default_settings(path: Path | None = None) -> Settings:
    """Settings for commands that need no config file (compare)."""
    where = (path or Path("config.toml")).resolve()
    return Settings(
        path=where,
        monitor=MonitorSettings(database=where.parent / "monitor.db"),
        email=EmailSettings(outbox=where.parent / "outbox"),
        sources=(),
    )
