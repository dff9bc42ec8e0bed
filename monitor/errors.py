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


class StoreError(MonitorError):
    """The database is unusable or a stored record is missing."""


class NotFound(StoreError):
    """A source, version or change asked for by id does not exist."""


class DeliveryError(MonitorError):
    """An alert could not be sent."""

    def __init__(self, message: str, *, permanent: bool = False, connection: bool = False):
        super().__init__(message)
        self.permanent = permanent  # the server refused this message: trying again will not help
        self.connection = connection  # the server is unreachable: stop this round
