"""Human words for the interface (issue 17): names for content ids and readable raw values.

Pure (no Streamlit, no store), so the domain packages that compose sentences and the pages
that draw tables use the same words. The content's own titles come first (an item's label,
a requirement's title, a standard's or instrument's name, a vignette's title); :func:`humanize`
names anything that has none, so an id such as ``supervised-clinical-hours`` is never shown
as it is stored. :func:`value` and :func:`number` turn stored values (``None``, ``NaN``,
flags stored as 1/0, NumPy scalars) into what a reader expects.
"""

from __future__ import annotations

import math
import re
from numbers import Number
from typing import Any, Iterable

NONE = "—"  # shown where a value is missing (never the word "None" or "nan")

# words kept as the field writes them
_WORDS = {"ipt": "IPT", "icc": "ICC", "na": "N/A", "id": "ID", "csv": "CSV", "pdf": "PDF", "url": "URL",
          "phq": "PHQ", "oidc": "OIDC", "sha256": "SHA-256", "vtt": "VTT"}
_SPLIT = re.compile(r"[-_\s]+")


def humanize(identifier: Any) -> str:
    """A readable name for an id that has no title: ``supervised-clinical-hours`` ->
    "Supervised clinical hours", ``locked_until`` -> "Locked until", ``ipt-training`` -> "IPT training"."""
    if identifier is None:
        return NONE
    words = [w for w in _SPLIT.split(str(identifier).strip()) if w]
    if not words:
        return NONE
    out = [_WORDS.get(w.lower(), w.lower() if w.isalpha() and w.islower() else w) for w in words]
    first = out[0]
    out[0] = first if first in _WORDS.values() else first[:1].upper() + first[1:]
    return " ".join(out)


def headers(columns: Iterable[str], names: dict[str, str] | None = None) -> dict[str, str]:
    """Column headers for a table: ``names`` where given, else :func:`humanize` of the column."""
    names = names or {}
    return {c: names.get(c, humanize(c)) for c in columns}


def is_missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return isinstance(v, float) and math.isnan(v) or (hasattr(v, "dtype") and bool(v != v))
    except (TypeError, ValueError):
        return False


def number(x: Any, digits: int = 2) -> str:
    """A number as a reader writes it: at most ``digits`` decimals, no trailing zeros, no
    NumPy repr (``np.float64(4.0)`` -> "4"); missing -> "—"."""
    if is_missing(x):
        return NONE
    f = float(x)
    if math.isinf(f):
        return "∞" if f > 0 else "-∞"
    text = f"{f:.{digits}f}".rstrip("0").rstrip(".") if digits > 0 else f"{f:.0f}"
    return "0" if text in ("-0", "") else text


def value(v: Any, flag: bool = False, digits: int = 2) -> str:
    """Any stored value as text: missing -> "—", booleans (and 1/0 when ``flag``) -> "yes"/"no",
    numbers via :func:`number`, everything else ``str``."""
    if is_missing(v):
        return NONE
    if isinstance(v, bool) or (flag and isinstance(v, Number) and v in (0, 1)):
        return "yes" if v else "no"
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # a NumPy scalar
        v = v.item()
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return number(v, digits)
    return str(v)


def first_clause(text: str, limit: int = 60) -> str:
    """The short name at the head of a content sentence: up to the first ``:`` / ``.`` / ``;``,
    else the first ``,`` or ``(``, cut at a word within ``limit`` characters."""
    t = " ".join(str(text).split())
    head = re.split(r"[:.;]", t, maxsplit=1)[0].strip()
    if len(head) > limit:
        head = re.split(r",| \(", head, maxsplit=1)[0].strip()
    if len(head) > limit:
        head = head[:limit].rsplit(" ", 1)[0].rstrip(",;") + "…"
    return head


def item_label(item: Any) -> str:
    """An instrument item's name: its ``label`` when the content gives one, else the head of its text."""
    label = getattr(item, "label", None)
    if label:
        return str(label)
    text = getattr(item, "text", None)
    return first_clause(text) if text else humanize(getattr(item, "id", item))


def requirement_title(req: Any) -> str:
    """A credential requirement's name: its ``title`` when the content gives one, else its id humanized."""
    return str(getattr(req, "title", None) or humanize(req.id))


def name_of(mapping: dict, key: Any, attr: str = "name") -> str:
    """The title of a content object looked up by id (``library.instruments``, ``.standards``,
    ``.vignettes`` with ``attr="title"``), or the id humanized when it is not loaded."""
    obj = mapping.get(key) if key is not None else None
    return str(getattr(obj, attr, None) or humanize(key))


def readable(df, names: dict[str, str] | None = None, flags: Iterable[str] = (), digits: int = 3):
    """A table as the reader sees it: columns named by :func:`headers` (``names`` first), the
    ``flags`` columns (stored 1/0 or booleans) as yes/no, boolean columns as yes/no, and every
    column holding a missing value shown with "—" (numbers formatted by :func:`number`)."""
    import pandas as pd

    out = df.copy()
    flags = set(flags)
    for col in out.columns:
        series = out[col]
        if col in flags or series.dtype == bool:
            out[col] = series.map(lambda v: value(v, flag=True))
        elif series.isna().any() or series.dtype == object and series.map(lambda v: isinstance(v, bool)).any():
            out[col] = series.map(lambda v: value(v, digits=digits))
    return out.rename(columns=headers(out.columns, names)) if names is not None or _snake(out.columns) else out


def _snake(columns) -> bool:
    return any("_" in str(c) or (str(c)[:1].islower() and str(c).isidentifier()) for c in columns)
