"""One computation per data change, shared by every viewer (issue 16).

A process-wide, bounded cache for the cohort-wide reliability views (report, G study, drift).
Keys carry the database file and :func:`.report_data.data_stamp`, which changes only when
submitted data change, so a draft save never forces a recomputation, and viewers who see the
same data share one result. A key is computed by one thread at a time: viewers who arrive while
it is computed wait for it instead of computing it again. Values are shared: treat them as
read-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from sqlite_utils import Database

MAX_ENTRIES = 48

_values: "OrderedDict[tuple, Any]" = OrderedDict()
_computing: dict[tuple, threading.Lock] = {}
_lock = threading.Lock()


def database_key(db: Database) -> str:
    """The main database file of ``db`` (':memory:' databases are keyed by the connection)."""
    for _, name, path in db.conn.execute("PRAGMA database_list"):
        if name == "main":
            return path or f"memory:{id(db.conn)}"
    return f"memory:{id(db.conn)}"


def shared(kind: str, db: Database, key: Hashable, build: Callable[[], Any]) -> Any:
    """The cached value of ``(kind, database, key)``, built once by ``build()`` when missing.

    An exception from ``build`` is not cached (the next viewer tries again)."""
    full = (kind, database_key(db), key)
    with _lock:
        if full in _values:
            _values.move_to_end(full)
            return _values[full]
        gate = _computing.setdefault(full, threading.Lock())
    with gate:
        with _lock:
            if full in _values:
                return _values[full]
        value = build()
        with _lock:
            _values[full] = value
            while len(_values) > MAX_ENTRIES:
                _values.popitem(last=False)
            _computing.pop(full, None)
    return value


def clear() -> None:
    """Forget every cached value (tests; a restored database file)."""
    with _lock:
        _values.clear()
