"""The pieces config validation is made of: typed getters for a TOML table that report unknown
keys with a suggestion, and the duration and size formats. Every problem is a `ConfigError`
naming the key."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from monitor.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$")
# One range for every duration and one for every size. Wide enough for any real schedule, timeout,
# retention or page; narrow enough that what is built on them later (a next due time, a doubled
# backoff, a deadline, a read buffer) stays inside what datetime, timedelta, thread waits and
# memory accept, so a value that loads can never crash `monitor run` hours later.
MIN_SECONDS = 0.001
MAX_SECONDS = 3650 * 86400.0
DURATION_RANGE = "from 1ms to 3650d (ten years)"
MIN_BYTES = 1
MAX_BYTES = 1024**3
SIZE_RANGE = "from 1B to 1GiB"
# Tries of an alert: a bound for the integer itself; backoff × 2^(tries − 1) must also stay
# within MAX_SECONDS, which is checked with the backoff.
MAX_TRIES = 10_000
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KB": 1000,
    "KiB": 1024,
    "MB": 1000**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "GiB": 1024**3,
}


def parse_duration(value: object, key: str) -> float:
    """Seconds from "90s", "15m", "1h", "1d" (or a positive number of seconds), within
    `MIN_SECONDS`..`MAX_SECONDS`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f'{key}: expected a duration such as "90s", "15m", "1h" or "1d"')
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ConfigError(
                f'{key}: {shown(value)} is not a duration; write it like "90s", "15m", "1h" or "1d"'
            )
        # Decimal: "99999999999999999999d" neither overflows nor rounds into range.
        seconds = Decimal(match.group(1)) * Decimal(_DURATION_UNITS[match.group(2)])
    elif isinstance(value, int):
        seconds = Decimal(value)  # a TOML integer may be larger than any float
    elif math.isnan(value):
        raise ConfigError(
            f"{key}: {shown(value)} must be a finite duration longer than zero; "
            f"use a duration {DURATION_RANGE}"
        )
    else:
        seconds = Decimal(value)
    if not seconds.is_finite() or seconds <= 0:
        raise ConfigError(
            f"{key}: {shown(value)} must be a finite duration longer than zero; "
            f"use a duration {DURATION_RANGE}"
        )
    if not Decimal(str(MIN_SECONDS)) <= seconds <= Decimal(MAX_SECONDS):
        raise ConfigError(f"{key}: {shown(value)} is out of range; use a duration {DURATION_RANGE}")
    return float(seconds)


def parse_size(value: object, key: str) -> int:
    """Bytes from "5MiB", "512KB", "1000" or an integer, within `MIN_BYTES`..`MAX_BYTES`."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(f'{key}: expected a size such as "5MiB" or "512KiB"')
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(value)
        if not match:
            raise ConfigError(
                f'{key}: {shown(value)} is not a size; write it like "5MiB" or "512KiB"'
            )
        size = int(Decimal(match.group(1)) * _SIZE_UNITS[match.group(2)])
    if size <= 0:
        raise ConfigError(
            f"{key}: {shown(value)} must be larger than zero; use a size {SIZE_RANGE}"
        )
    if not MIN_BYTES <= size <= MAX_BYTES:
        raise ConfigError(f"{key}: {shown(value)} is out of range; use a size {SIZE_RANGE}")
    return size


def check_port(url: str, netloc: str, key: str) -> None:
    """Refuse an http(s) URL whose port no connection can use (":99999", ":0", ":http"), which
    would otherwise fail every check as "connection refused". `netloc` is the URL's host part."""
    if ":" not in netloc.rpartition("@")[2].rpartition("]")[2]:
        return  # no port: the scheme's own (checked cheaply, once per source of a large config)
    import urllib.parse

    try:
        port = urllib.parse.urlsplit(url).port
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(
            f"{key}: {url!r} has no usable port; use a port from 1 to 65535, or none for the "
            "scheme's own (80 for http, 443 for https)"
        )


def shown(value: object) -> str:
    """The value as written, cut short: a 400-digit number is not worth quoting whole."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def entry_table(
    data: object,
    kind: str,
    index: int,
    allowed: tuple[str, ...],
    elsewhere: Mapping[str, str] | None = None,
) -> Table:
    """One entry of an array of tables (`[[source]]`, `[[discover]]`, `[[notify]]`), named in
    errors by its place and, once it has one, its id."""
    where = f"{kind}[{index}]"
    if isinstance(data, Mapping) and isinstance(data.get("id"), str):
        where = f"{kind}[{index}] (id {data['id']!r})"
    return Table(data, where, allowed, elsewhere)


class Table:
    """A TOML table being validated: typed getters, and unknown keys reported at the end."""

    def __init__(
        self,
        data: object,
        where: str,
        allowed: tuple[str, ...],
        elsewhere: Mapping[str, str] | None = None,
    ) -> None:
        """`elsewhere`: for a key not allowed here that another table takes, the fix ("it
        belongs in [monitor]…"): a key under the wrong header is the likelier mistake."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a table, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.where = where
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                if elsewhere and key in elsewhere:
                    hint = elsewhere[key]
                elif close:
                    hint = f"did you mean {close[0]!r}?"
                else:
                    hint = f"known keys: {', '.join(allowed)}"
                raise ConfigError(f"{self.key(key)}: unknown key; {hint}")

    def identifier(self, thing: str, example: str) -> str:
        """The entry's `id`: present, and a-z, 0-9 and '-' (at most 64)."""
        value = self.get("id", str)
        if value is None:
            raise ConfigError(
                f'{self.key("id")}: missing; give each {thing} an id like "{example}"'
            )
        if not _ID.match(value):
            raise ConfigError(
                f"{self.key('id')}: {value!r} may use only a-z, 0-9 and '-' (at most 64)"
            )
        return str(value)

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, str) and "\x00" in value:
            raise ConfigError(f"{self.key(name)}: contains a NUL character")
        if isinstance(value, bool) and kind is not bool:
            raise ConfigError(f"{self.key(name)}: expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise ConfigError(
                f"{self.key(name)}: expected {_kind_name(kind)}, got {type(value).__name__}"
            )
        return value

    def int_between(self, name: str, default: int, low: int, high: int) -> int:
        """An integer within `low`..`high`. Every integer setting has an upper bound: a TOML
        integer may be far larger than SQLite, a thread pool or a semaphore accepts, and a
        value that loads must never crash `monitor run` later."""
        value: int = self.get(name, int, default)
        if not low <= value <= high:
            raise ConfigError(
                f"{self.key(name)}: {shown(value)} is out of range; use {low} to {high}"
            )
        return value

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A string or a list of strings, as a tuple."""
        value = self.get(name, (str, list), None)
        if value is None:
            return default
        items = [value] if isinstance(value, str) else value
        if not items or not all(isinstance(v, str) and v.strip() for v in items):
            raise ConfigError(f"{self.key(name)}: expected a non-empty string or list of strings")
        return tuple(v.strip() for v in items)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "a list",
        bool: "true or false",
        dict: "a table",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
