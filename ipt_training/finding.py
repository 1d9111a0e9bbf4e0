"""Finding things in long lists: text search, inclusive date ranges and pages (issue 17). Pure.

Every list page searches the same way, so a search box behaves alike everywhere: a query is
split into words and a row matches when each word occurs, ignoring case, in one of its fields;
every character is literal (a query is never a pattern or SQL). A date range includes both of
its days. Long lists are shown ``PAGE_SIZE`` rows at a time so a page stays fast with
thousands of trainees and sessions. Store-facing searches (the audit log) build the same
match in SQL with :func:`sql_words` and :func:`day_bounds`, always as bound parameters.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Iterable, Optional, Sequence

PAGE_SIZE = 50


def words(query: Optional[str]) -> list[str]:
    """The words of a search query, case-folded; an empty or blank query has none."""
    return (query or "").casefold().split()


def text_matches(query: Optional[str], *fields) -> bool:
    """True when every word of ``query`` occurs in at least one of ``fields``, ignoring case.

    An empty query matches every row; ``None`` fields count as empty text.
    """
    needed = words(query)
    if not needed:
        return True
    haystack = "\n".join("" if f is None else str(f) for f in fields).casefold()
    return all(w in haystack for w in needed)


def range_problem(since: Optional[date], until: Optional[date]) -> Optional[str]:
    """A sentence when the range is the wrong way round, else None."""
    if since and until and since > until:
        return (f"The start date ({since.isoformat()}) is after the end date ({until.isoformat()}): "
                "swap them or clear one to see entries.")
    return None


def in_date_range(stamp: Optional[str], since: Optional[date] = None, until: Optional[date] = None) -> bool:
    """Whether an ISO date or timestamp falls on a day from ``since`` to ``until``, both included.

    Either end may be open (None). A row without a date is outside every range that has an end.
    Timestamps are compared by their calendar day as stored (UTC).
    """
    if since is None and until is None:
        return True
    if not stamp:
        return False
    day = str(stamp)[:10]
    return (since is None or day >= since.isoformat()) and (until is None or day <= until.isoformat())


def day_bounds(since: Optional[date], until: Optional[date]) -> tuple[Optional[str], Optional[str]]:
    """``(low, high)`` for SQL over ISO timestamps: ``at >= low AND at < high`` is the inclusive
    day range (``high`` is the day after ``until``), so an index on the column can be used."""
    low = since.isoformat() if since else None
    high = (until + timedelta(days=1)).isoformat() if until else None
    return low, high


def sql_words(query: Optional[str], expression: str) -> tuple[str, list[str]]:
    """SQL conditions (joined with AND) that each word of ``query`` occurs in ``expression``,
    ignoring case as :func:`text_matches` does, and their parameters. ``instr`` has no wildcards,
    so ``%`` and ``_`` match themselves; ``expression`` is code written by us, never user text."""
    found = words(query)
    return " AND ".join(f"instr({sql_folded(w, expression)}, ?) > 0" for w in found), found


def sql_folded(word: str, expression: str) -> str:
    """``expression`` case-folded in SQL as :func:`words` folds ``word``: Python's full Unicode
    folding (``casefold()``, which the store registers) for a word beyond ASCII, so "ö" finds
    "Ö"; for an ASCII word, SQLite's own ``lower()`` on ASCII text (the same fold, in C, so a
    search of a long audit log stays fast) and ``casefold()`` on text beyond ASCII (its byte
    length differs from its length), so "strasse" finds "Straße"."""
    if not word.isascii():
        return f"casefold({expression})"
    return (f"(CASE WHEN length(CAST(({expression}) AS BLOB)) = length({expression}) "
            f"THEN lower({expression}) ELSE casefold({expression}) END)")


def sql_day_range(column: str, since: Optional[date], until: Optional[date]) -> tuple[list[str], list[str]]:
    """SQL conditions and their parameters that the ISO timestamps of ``column`` (code written
    by us) fall on a day from ``since`` to ``until``, both included (:func:`day_bounds`)."""
    low, high = day_bounds(since, until)
    conds = ([f"{column} >= ?"] if low else []) + ([f"{column} < ?"] if high else [])
    return conds, [b for b in (low, high) if b]


def page_count(n_items: int, per_page: int = PAGE_SIZE) -> int:
    """How many pages ``n_items`` rows fill (at least one, so an empty list has page 1)."""
    return max(1, math.ceil(n_items / per_page))


def clamp_page(page: int, n_items: int, per_page: int = PAGE_SIZE) -> int:
    """``page`` kept within 1..page_count (a filter that shrinks the list keeps a valid page)."""
    return min(max(1, int(page)), page_count(n_items, per_page))


def page_of(items: Sequence, page: int, per_page: int = PAGE_SIZE) -> list:
    """The rows on page ``page`` (1-based, clamped to the pages there are)."""
    page = clamp_page(page, len(items), per_page)
    return list(items[(page - 1) * per_page: page * per_page])


def newest_first(items: Iterable[dict], key: str) -> list[dict]:
    """Rows sorted by the ISO timestamp ``key``, newest first; rows without one go last."""
    return sorted(items, key=lambda r: r.get(key) or "", reverse=True)
