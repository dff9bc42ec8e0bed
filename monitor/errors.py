"""The exception tree of monitor.

Library code raises these; only the command line turns them into exit statuses.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is missing, malformed or inconsistent (exit status 2)."""


class CaptureError(MonitorError):
    """A source could not be read, or what came back is not a usable capture.

    A capture error is a failed check, never a change of content.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Cancelled(CaptureError):
    """A fetch cut short on purpose (Ctrl-C, a stop): no fault of the site, so the check is
    not recorded at all and counts toward nothing."""


class StoreError(MonitorError):
    """The database is unusable or a stored record is missing."""


class NotFound(StoreError):
    """A source, version or change asked for by id does not exist."""


class DatabaseDamaged(StoreError):
    """The database file is damaged: SQLite found a page it cannot read ("database disk image
    is malformed") or no database at all ("file is not a database"). Nothing more is read or
    written until a person restores it; the message says how (exit status 1)."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"{path}: the database is damaged ({detail}). Stop `monitor run`, keep a copy of "
            f"the file, then restore it from a backup, or rebuild what SQLite can still read: "
            f"`sqlite3 {path} .recover | sqlite3 recovered.db`, and put recovered.db in its "
            "place"
        )
        self.path = path


class DeliveryError(MonitorError):
    """An alert could not be sent."""

    def __init__(self, message: str, *, permanent: bool = False, connection: bool = False):
        super().__init__(message)
        self.permanent = permanent  # the server refused this message: trying again will not help
        self.connection = connection  # the server is unreachable: stop this round
