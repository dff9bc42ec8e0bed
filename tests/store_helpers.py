"""Databases as earlier versions of monitor left them, for the tests of schema upgrades."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database, Migrations

from monitor.store.schema import MIGRATION_SET, STEPS


def database_before(path: Path, step: str) -> Database:
    """A database at `path` with every schema step applied that comes before `step` (a name
    prefix such as "m007"), as the version before that step made it."""
    db = Database(path)
    old = Migrations(MIGRATION_SET)
    for each in STEPS:
        if each.__name__ < step:
            old()(each)
    old.apply(db)
    return db
