"""A cache of a large config's validated settings, so that every command does not parse and
validate 100,000 `[[source]]` tables again.

An entry answers only for the exact bytes of the config file (SHA-256), at the same resolved
path, validated by the same code (the validation modules' own bytes) on the same Python. The
validation also looked at the disk: local captures and baselines must be inside the config's
folder and some must exist, and the CA file too. So an entry also holds, for each folder that
validation looked names up in, the identity and change times of the folder (`st_ino`,
`st_mtime_ns`, `st_ctime_ns`: adding, removing, renaming or replacing an entry changes them)
and the kind of each folder on the way to it (none may be a link). Any difference, a config
whose validation followed a link, or an entry that cannot be read, means validating again;
an entry whose folders changed while it was being validated is never written.

Entries live in `$XDG_CACHE_HOME/monitor` (default `~/.cache/monitor`), a folder of the user's
own that nobody else may write (an entry is a pickle: only this user's own files are read); a
folder that cannot be made or is not private means no cache. Small configs are not cached:
validating them costs less than reading an entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import pickle
import stat
import sys
import tempfile
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config.settings import Looked, Settings

FORMAT = 2
# Under this size (some 200 sources) reading an entry saves little: a fresh process validated
# 50 sources in 10 ms and read their entry in 3, 1,000 in 26 ms against 5.
MIN_BYTES = 16 * 1024
KEEP_ENTRIES = 8  # one per config file; the least recently written beyond these are removed
# A folder changed this recently may change again within the same tick of the file system's
# clock (coarse on some: a second or two) without its times moving: not trusted.
RACY_NS = 2_000_000_000
MAX_HEADER = 1024 * 1024
MAX_FOLDERS = 5000  # captures spread over more folders than this: their state is not kept


def folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "monitor"


def _entry(config: Path) -> Path:
    name = hashlib.sha256(str(config).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return folder() / f"settings-{name}.cache"


def _private(info: os.stat_result) -> bool:
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _code() -> str:
    """The validation code's own bytes, the versions of the libraries it relies on (the
    parser; the selector engine that judges selectors) and the Python reading the pickle: an
    upgrade that validates differently, or shapes the settings differently, never reads an old
    entry."""
    import selectolax
    import tomli

    from monitor.config import discover, settings, validate
    from monitor.detect import rules

    versions = (sys.version, tomli.__version__, selectolax.__version__)
    digest = hashlib.sha256(repr(versions).encode())
    for module in (settings, validate, discover, rules, sys.modules[__name__]):
        if module.__file__ is None:
            raise OSError("a validation module has no file")
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _stamps(looked: Looked) -> list[list[Any]] | None:
    """What the folders looked at are now; None when they cannot be trusted to tell a change
    (a link or a `..` on the way, a folder missing)."""
    if looked.linked or len(looked.folders) > MAX_FOLDERS:
        return None
    kinds: dict[str, int] = {}
    leaves = []
    for path in sorted(looked.folders):
        if os.path.normpath(path) != path or not Path(path).is_absolute():
            return None
        try:
            info = os.lstat(path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISDIR(info.st_mode):
            return None
        leaves.append([path, info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns])
        parent = Path(path).parent
        while str(parent) not in kinds and parent != parent.parent:
            try:
                kind = kinds[str(parent)] = stat.S_IFMT(parent.lstat().st_mode)
            except (OSError, ValueError):
                return None
            if kind != stat.S_IFDIR:
                return None
            parent = parent.parent
    return leaves


def lookup(config: Path, data: bytes) -> Settings | None:
    """The settings kept for this config file's `data`, or None (no entry, another file or
    folder state, or an entry that cannot be read: each means validating again)."""
    if len(data) < MIN_BYTES:
        return None
    try:
        return _read(config, data)
    except Exception:  # a broken entry is no entry; validating again rewrites it
        return None


def _read(config: Path, data: bytes) -> Settings | None:
    from monitor.config.settings import Looked, Settings

    path = _entry(config)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        if not (_private(os.fstat(handle.fileno())) and _private(path.parent.stat())):
            return None
        header = json.loads(handle.readline(MAX_HEADER))
        expected = _header(config, data)
        if any(header.get(k) != v for k, v in expected.items()):
            return None
        looked = Looked(frozenset(s[0] for s in header["stamps"]), linked=False)
        if _stamps(looked) != header["stamps"]:
            return None
        enabled = gc.isenabled()
        gc.disable()  # 100,000 objects: the collector would walk them again and again
        try:
            rest, count, columns = pickle.load(handle)  # from the file, never held whole
            if not isinstance(rest, Settings) or rest.path != config:
                return None
            return unpack(rest, count, columns)
        finally:
            if enabled:
                gc.enable()


def _header(config: Path, data: bytes) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "code": _code(),
        "config": str(config),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def keep(config: Path, data: bytes, settings: Settings, looked: Looked, started: int) -> bool:
    """Write an entry for settings validated from `data`, validation having started at
    `started` (`time.time_ns()`); whether it was written. Nothing is written when the folders
    it looked at changed since shortly before then, or cannot be trusted; failing to write is
    not an error."""
    if len(data) < MIN_BYTES:
        return False
    try:
        return _write(config, data, settings, looked, started)
    except Exception:
        return False


def _write(config: Path, data: bytes, settings: Settings, looked: Looked, started: int) -> bool:
    stamps = _stamps(looked)
    if stamps is None:
        return False
    database = os.path.realpath(settings.monitor.database.parent)
    if any(os.path.realpath(folder) == database for folder in looked.folders):
        # SQLite makes and removes the database's -wal and -shm files there with every
        # command: an entry stamped with that folder would never be read, only written again.
        return False
    if any(max(s[3], s[4]) > started - RACY_NS for s in stamps):
        return False  # changed while (or just before) it was validated: the answer may be old
    place = folder()
    place.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _private(place.stat()):
        return False
    header = _header(config, data) | {"stamps": stamps}
    descriptor, temporary = tempfile.mkstemp(dir=place, prefix=".settings-")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(json.dumps(header).encode() + b"\n")
            # to the file as it goes: the pickle is never held whole
            pickle.dump(pack(settings), out, protocol=pickle.HIGHEST_PROTOCOL)
        Path(temporary).replace(_entry(config))
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    _prune(place)
    return True


def _prune(place: Path) -> None:
    entries = sorted(
        place.glob("settings-*.cache"), key=lambda p: p.stat().st_mtime_ns, reverse=True
    )
    for old in entries[KEEP_ENTRIES:]:
        with contextlib.suppress(OSError):
            old.unlink()


# Kept as one string each, split on load: NUL is in no config string nor any path.
_JOINED = ("id", "url")


def pack(settings: Settings) -> tuple[Settings, int, list[object]]:
    """The settings without their sources, and the sources as columns: `id` and `url` joined,
    every other field as its few distinct values and an index per source. A pickle of 100,000
    `Source` objects costs a memo entry for each and each of their strings, and holds them all
    while it writes; columns hold a handful (and read back at the same speed)."""
    from monitor.config.settings import Source

    sources = settings.sources
    columns: list[object] = []
    for field in dataclasses.fields(Source):
        values = [getattr(s, field.name) for s in sources]
        if field.name in _JOINED:
            if any("\0" in v for v in values):
                raise ValueError("a NUL in an id or url")
            columns.append("\0".join(values))
            continue
        seen: dict[tuple[type, object], int] = {}
        distinct: list[object] = []
        index = array("I")
        for value in values:
            key = (type(value), value)  # True and 1.0 are equal as keys, not as values
            at = seen.get(key)
            if at is None:
                at = seen[key] = len(distinct)
                distinct.append(value)
            index.append(at)
        columns.append((distinct, index.tobytes()))
    return dataclasses.replace(settings, sources=()), len(sources), columns


def unpack(rest: Settings, count: int, columns: list[Any]) -> Settings:
    from monitor.config.settings import Source

    names = [f.name for f in dataclasses.fields(Source)]
    if len(columns) != len(names):
        raise ValueError("another shape of Source")
    expanded: list[list[Any]] = []
    for name, column in zip(names, columns, strict=True):
        if name in _JOINED:
            expanded.append(column.split("\0") if count else [])
        else:
            distinct, raw = column
            index = array("I")
            index.frombytes(raw)
            expanded.append([distinct[i] for i in index])
        if len(expanded[-1]) != count:
            raise ValueError(f"column {name} holds {len(expanded[-1])} values, not {count}")
    # Through __init__: each instance gets the shared-key dict a validated source has.
    sources = tuple(Source(*row) for row in zip(*expanded, strict=True))
    return dataclasses.replace(rest, sources=sources)
