"""Long-format ratings (target, rater, rating): input validation and the helpers every statistic shares.

Problems with the data raise :class:`ReliabilityError`, whose message says what is wrong and how to fix it.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable
import numpy as np
import pandas as pd


# Tokens read as "no rating" in text input (compared case-insensitively).
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})


class ReliabilityError(ValueError):
    """The data cannot give the requested statistic; the message says why and what would fix it."""


def _row_where(pos: int) -> str:
    return f"row {pos + 1}"


def _is_missing_value(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in _MISSING_TOKENS
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _missing_mask(series: pd.Series) -> np.ndarray:
    if series.dtype.kind in "fc":
        return series.isna().to_numpy()
    if series.dtype.kind in "iub":
        return np.zeros(len(series), dtype=bool)
    # vectorised form of _is_missing_value (a report validates hundreds of thousands of cells)
    tokens = series.map(lambda v: v if isinstance(v, str) else "").str.strip().str.lower()
    return (series.isna() | tokens.isin(_MISSING_TOKENS)).to_numpy(dtype=bool)


def _as_labels(series: pd.Series) -> pd.Series:
    """Target/rater identifiers as stripped strings (1.0 -> "1")."""
    if series.dtype.kind == "f":
        values = series.to_numpy()
        if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            return pd.Series(values.astype(np.int64).astype(str), index=series.index)
    if series.dtype.kind in "iub":
        return series.astype(str)
    return series.map(lambda v: str(v).strip())


def _validate_long(
    df: pd.DataFrame,
    target: str,
    rater: str,
    rating: str,
    where: Callable[[int], str] = _row_where,
) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ReliabilityError(
            f"expected a pandas DataFrame of ratings, got {type(df).__name__}; "
            "pass one row per rating with target, rater and rating columns."
        )
    roles = {"target": target, "rater": rater, "rating": rating}
    if len(set(roles.values())) < 3:
        raise ReliabilityError(
            "the same column is named for two roles "
            f"(target={target!r}, rater={rater!r}, rating={rating!r}); "
            "give three different columns."
        )
    missing = [col for col in roles.values() if col not in df.columns]
    if missing:
        have = ", ".join(repr(str(c)) for c in df.columns) or "none"
        plural = "s" if len(missing) > 1 else ""
        raise ReliabilityError(
            f"missing column{plural} {', '.join(repr(c) for c in missing)} "
            f"(the data has columns: {have}); name the right columns with the "
            "target/rater/rating options."
        )
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()][0]
        raise ReliabilityError(f"column {dup!r} appears twice; give every column a distinct name.")

    tgt = df[target].reset_index(drop=True)
    rtr = df[rater].reset_index(drop=True)
    rat = df[rating].reset_index(drop=True)

    has_rating = ~_missing_mask(rat)
    for role, col in (("target", tgt), ("rater", rtr)):
        bad = np.flatnonzero(_missing_mask(col) & has_rating)
        if bad.size:
            raise ReliabilityError(
                f"{where(int(bad[0]))} has a rating but no {role}; "
                f"fill in the {role} or delete the row."
            )

    keep = np.flatnonzero(has_rating)
    if keep.size == 0:
        raise ReliabilityError(
            "there are no ratings (every rating is empty); provide at least "
            "two raters' ratings of the same targets."
        )
    tgt, rtr, rat = tgt.iloc[keep], rtr.iloc[keep], rat.iloc[keep]

    # Ratings: numbers if every rating is a number, otherwise category labels.
    if rat.dtype.kind in "iuf":
        values = rat.astype(float)
    elif rat.dtype.kind == "b":
        values = rat.astype(float)
    else:
        stripped = rat.map(lambda v: v.strip() if isinstance(v, str) else v)
        numeric = pd.to_numeric(stripped, errors="coerce")
        failed = numeric.isna().to_numpy()
        if failed.all():
            values = stripped.map(str)
        elif failed.any():
            pos = int(keep[np.flatnonzero(failed)[0]])
            raise ReliabilityError(
                f"{where(pos)}: rating {str(rat.iloc[np.flatnonzero(failed)[0]])!r} is not a "
                "number although the other ratings are numbers; correct it, or leave it "
                "empty to record a missing rating."
            )
        else:
            values = numeric.astype(float)
    if values.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(values.to_numpy()))
        if bad.size:
            raise ReliabilityError(
                f"{where(int(keep[bad[0]]))}: rating {_show(values.iloc[bad[0]])} is not a finite "
                "number; correct it or leave it empty."
            )

    out = pd.DataFrame(
        {
            "target": _as_labels(tgt).to_numpy(),
            "rater": _as_labels(rtr).to_numpy(),
            "rating": values.to_numpy(),
        }
    )
    dup = out.duplicated(["target", "rater"], keep=False).to_numpy()
    if dup.any():
        first = np.flatnonzero(dup)[0]
        t0, r0 = out.at[first, "target"], out.at[first, "rater"]
        same = np.flatnonzero(
            dup & (out["target"].to_numpy() == t0) & (out["rater"].to_numpy() == r0)
        )
        rows = " and ".join(where(int(keep[p])) for p in same[:2])
        raise ReliabilityError(
            f"target {t0!r} was rated more than once by rater {r0!r} ({rows}); keep one "
            "rating per target and rater (e.g. average repeated ratings or drop the repeat)."
        )
    return out


def validate_long(
    df: pd.DataFrame, target: str = "target", rater: str = "rater", rating: str = "rating"
) -> pd.DataFrame:
    """Check long-format ratings and return them as columns target, rater, rating.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per rating.
    target, rater, rating : str
        Names of the columns holding the rated item, the rater and the rating.

    Returns
    -------
    pandas.DataFrame
        Columns ``target`` and ``rater`` (strings) and ``rating`` (float when
        every rating is a number, otherwise string categories). Rows with an
        empty rating (NaN, "", "NA", ...) are dropped.

    Raises
    ------
    ReliabilityError
        Missing columns, a rating without target or rater, a (target, rater)
        pair rated twice, a non-number among numeric ratings, or no ratings.
    """
    return _validate_long(df, target, rater, rating)


def _ensure(df: pd.DataFrame) -> pd.DataFrame:
    return _validate_long(df, "target", "rater", "rating")


def _is_numeric(d: pd.DataFrame) -> bool:
    return d["rating"].dtype.kind in "fiu"


def _require_numeric(d: pd.DataFrame, what: str) -> None:
    if not _is_numeric(d):
        example = d["rating"].iloc[0]
        raise ReliabilityError(
            f"{what} needs numeric ratings, but the ratings are categories such as "
            f"{example!r}; use Krippendorff's nominal alpha, Fleiss' kappa or AC1 instead."
        )


def _require_raters(d: pd.DataFrame, what: str, minimum: int = 2) -> None:
    raters = d["rater"].unique()
    if len(raters) < minimum:
        only = f" ({raters[0]!r})" if len(raters) == 1 else ""
        raise ReliabilityError(
            f"{what} needs at least {minimum} raters, but the data has {len(raters)}{only}; "
            "add ratings of the same targets by another rater."
        )


def _sorted_categories(values: Iterable[Any], numeric: bool) -> list:
    uniq = pd.unique(pd.Series(list(values)))
    return sorted(uniq) if numeric else sorted(uniq, key=str)


def _count_table(d: pd.DataFrame) -> np.ndarray:
    """targets x categories matrix of rating counts."""
    t_codes, t_uniques = pd.factorize(d["target"])
    c_codes, c_uniques = pd.factorize(d["rating"])
    counts = np.bincount(
        t_codes * len(c_uniques) + c_codes, minlength=len(t_uniques) * len(c_uniques)
    )
    return counts.reshape(len(t_uniques), len(c_uniques)).astype(float)


def _require_squarable(x: np.ndarray, what: str) -> None:
    """Sums of squares of ratings near 1e308 overflow to inf; say so instead of returning nonsense."""
    big = float(np.max(np.abs(x))) if len(x) else 0.0
    if big > 1e150:
        raise ReliabilityError(
            f"{what} cannot be computed: ratings as large as {big:g} overflow when squared in "
            "floating point; rescale the ratings (e.g. to the instrument's scale points)."
        )


def _show(value: Any) -> str:
    """A rating as a user wrote it: numbers as 4 or 2.5 (never np.float64(...)), text quoted."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):g}"
    return repr(str(value))


def _finite_or_none(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def same_key_pairs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (i, j) of every two rows sharing ``key``, each unordered pair once.

    Targets carry a few ratings each (2-3 for recorded sessions), so a few shifted comparisons of
    the sorted keys find every pair without a merge."""
    order = np.argsort(key, kind="stable")
    k = np.asarray(key)[order]
    left, right = [], []
    for off in range(1, len(k)):
        same = k[:-off] == k[off:]
        if not same.any():
            break
        left.append(order[:-off][same])
        right.append(order[off:][same])
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(left), np.concatenate(right)
