"""Storage: every SQL statement of the project, on sqlite-utils.

`db.Store` is the database (reads, and the small writes); `record` writes checks; `outbox` the
alert queue; `heartbeat` the service's row; `schema` the migrations; `rows` the typed rows.
"""

from monitor.store.db import Store
from monitor.store.rows import (
    Alert,
    ChangeRow,
    CheckResult,
    EventRow,
    Known,
    ServiceRow,
    SourceRow,
    SourceState,
    StoredVersion,
)
from monitor.store.schema import iso

__all__ = [
    "Alert",
    "ChangeRow",
    "CheckResult",
    "EventRow",
    "Known",
    "ServiceRow",
    "SourceRow",
    "SourceState",
    "Store",
    "StoredVersion",
    "iso",
]
