"""One computation per data change, shared by every viewer (issue 16).

A process-wide, bounded cache for the cohort-wide reliability views (report, G study, drift).
Keys carry the database file and what the value was computed from (:mod:`.report_live`: the
version of the kept data; drift: the calibration token), which change only when submitted data
change, so a draft save never forces a recomputation, and viewers who see the same data share
one result. A key is computed by one thread at a time: viewers who arrive while
it is computed wait for it instead of computing it again. Values are shared: treat them as
read-only.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from typing import Any, Callable, Hashable

from sqlite_utils import Database

MAX_ENTRIES = 48

_values: "OrderedDict[tuple, Any]" = OrderedDict()
_computing: dict[tuple, threading.Lock] = {}
_lock = threading.Lock()
builds: Counter = Counter()  # how many values of each kind were built (tests count recomputations)


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
            builds[kind] += 1
            _values[full] = value
            while len(_values) > MAX_ENTRIES:
                _values.popitem(last=False)
            _computing.pop(full, None)
    return value


_on_clear: list[Callable[[], None]] = []


def on_clear(forget: Callable[[], None]) -> None:
    """Have :func:`clear` call ``forget`` too (another process-wide cache of the same data)."""
    _on_clear.append(forget)


def clear() -> None:
    """Forget every cached value (tests; a restored database file)."""
    with _lock:
        _values.clear()
    for forget in _on_clear:
        forget()
