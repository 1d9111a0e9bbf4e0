"""Inter-rater reliability of fidelity ratings.

Pure functions (no Streamlit) on *long-format* pandas DataFrames with the
columns ``target`` (what was rated, e.g. a session recording), ``rater`` and
``rating``: one row per rating, and a missing rating is simply absent.

Statistics come from established libraries where one exists:

* intraclass correlations: :func:`pingouin.intraclass_corr`
  (Shrout & Fleiss 1979; McGraw & Wong 1996);
* Cohen's kappa and Fleiss' kappa: :mod:`statsmodels.stats.inter_rater`;
* Krippendorff's alpha: the ``krippendorff`` package;
* Gwet's AC1, percent agreement, Bland-Altman limits and the
  generalizability (G/D) study are short documented functions here.

All numbers are returned at full precision; rounding is for display only.
Problems with the data raise :class:`ReliabilityError`, whose message says what
is wrong and how to fix it.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as _dt
import io
import json
import math
import sys
import threading
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "ReliabilityError",
    "validate_long",
    "icc",
    "icc_2_1",
    "icc_complete_targets",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
    "percent_agreement",
    "interpret_icc",
    "interpret_kappa",
    "interpret_alpha",
    "summarize",
    "format_summary_table",
    "cli_reliability",
    "rater_severity",
    "rater_pair_matrix",
    "bland_altman",
    "calibration_agreement",
    "certification_status",
    "drift",
    "DEFAULT_CERTIFICATION_POLICY",
    "g_study",
    "d_study",
]

ICC_FORMS = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")

# pingouin's "Type" column -> Shrout & Fleiss (1979) names.  pingouin 0.7 uses
# the McGraw & Wong labels (A = absolute agreement, C = consistency); older
# releases used ICC1, ICC2, ... Both spellings are accepted.
_PINGOUIN_TYPES = {
    "ICC(1,1)": "ICC(1,1)",
    "ICC1": "ICC(1,1)",
    "ICC(A,1)": "ICC(2,1)",
    "ICC2": "ICC(2,1)",
    "ICC(C,1)": "ICC(3,1)",
    "ICC3": "ICC(3,1)",
    "ICC(1,k)": "ICC(1,k)",
    "ICC1k": "ICC(1,k)",
    "ICC(A,k)": "ICC(2,k)",
    "ICC2k": "ICC(2,k)",
    "ICC(C,k)": "ICC(3,k)",
    "ICC3k": "ICC(3,k)",
}

# Tokens read as "no rating" in text input (compared case-insensitively).
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})

# Above this many distinct values Krippendorff's coincidence matrix (V x V)
# gets large; interval alpha then uses the closed form instead.
_PACKAGE_INTERVAL_VALUES = 20
_MAX_ALPHA_VALUES = 2000

_PINGOUIN_LOCK = threading.Lock()


class ReliabilityError(ValueError):
    """The data cannot give the requested statistic; the message says why and what would fix it."""


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------


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
                f"{where(int(keep[bad[0]]))}: rating {values.iloc[bad[0]]!r} is not a finite "
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


def _finite_or_none(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# --------------------------------------------------------------------------
# Intraclass correlation
# --------------------------------------------------------------------------


def icc_complete_targets(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep only targets rated by every rater (listwise deletion for the ICC).

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings (target, rater, rating).

    Returns
    -------
    complete : pandas.DataFrame
        Ratings of the targets that every rater in the data rated.
    n_dropped : int
        Number of targets left out because some rater did not rate them.
    """
    d = _ensure(df)
    return _complete_targets(d)


def _complete_targets(d: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    n_raters = d["rater"].nunique()
    counts = d.groupby("target", sort=False)["rater"].size()
    complete = counts.index[counts.to_numpy() == n_raters]
    kept = d[d["target"].isin(complete)].reset_index(drop=True)
    return kept, int(len(counts) - len(complete))


def _icc(d: pd.DataFrame) -> dict[str, dict[str, Any]]:
    import pingouin

    _require_raters(d, "The ICC")
    _require_numeric(d, "The ICC")
    complete, dropped = _complete_targets(d)
    n_targets = d["target"].nunique()
    n_complete = complete["target"].nunique()
    k = d["rater"].nunique()
    if n_complete < 3:
        raise ReliabilityError(
            f"the ICC needs at least 3 targets rated by all {k} raters, but only "
            f"{n_complete} of {n_targets} targets are; have every rater rate the same "
            "targets (or compare fewer raters)."
        )
    if complete["rating"].nunique() < 2:
        raise ReliabilityError(
            "the ICC is undefined because every rating is the same value "
            f"({complete['rating'].iloc[0]:g}); the ratings must vary across targets."
        )
    with _PINGOUIN_LOCK:
        saved = {key: pingouin.options.get(key) for key in ("round", "round.column.CI95")}
        pingouin.options["round"] = None
        pingouin.options["round.column.CI95"] = None
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                table = pingouin.intraclass_corr(
                    data=complete, targets="target", raters="rater", ratings="rating"
                )
        finally:
            pingouin.options.update(saved)
    out: dict[str, dict[str, Any]] = {}
    for _, row in table.iterrows():
        name = _PINGOUIN_TYPES.get(str(row["Type"]))
        if name is None:
            continue
        value = _finite_or_none(row["ICC"])
        ci = [_finite_or_none(c) for c in np.asarray(row["CI95"], dtype=float)]
        if None in ci or value is None or not (ci[0] <= value <= ci[1]):
            # The F-based (Satterthwaite) interval breaks down with very few
            # targets, e.g. a lower bound above the estimate: report no CI.
            ci = [None, None]
        out[name] = {
            "value": value,
            "ci95": ci,
            "F": _finite_or_none(row["F"]),
            "df1": float(row["df1"]),
            "df2": float(row["df2"]),
            "p": _finite_or_none(row["pval"]),
        }
    missing = [name for name in ICC_FORMS if name not in out]
    if missing:  # pragma: no cover - guards against a pingouin relabelling
        raise RuntimeError(f"pingouin returned no rows for {missing}; check its Type labels")
    return {name: out[name] for name in ICC_FORMS}


def icc(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Intraclass correlations ICC(1,1) ... ICC(3,k) of Shrout & Fleiss (1979).

    Two-way ANOVA on the targets rated by every rater (see
    :func:`icc_complete_targets`), via :func:`pingouin.intraclass_corr`.
    ICC(2,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n) is the
    absolute-agreement form (McGraw & Wong's ICC(A,1)); ICC(3,1) is the
    consistency form ICC(C,1); ICC(1,1) is the one-way model.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format numeric ratings (target, rater, rating).

    Returns
    -------
    dict
        Keys "ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)",
        "ICC(3,k)"; each ``{"value", "ci95": [lo, hi], "F", "df1", "df2", "p"}``
        as plain floats at full precision. A quantity that is undefined is None:
        F and the CI when all raters agree perfectly, and the CI when its
        approximation fails (bounds that do not contain the estimate, which
        happens with very few targets).

    Raises
    ------
    ReliabilityError
        Fewer than 2 raters, fewer than 3 complete targets, zero variance or
        non-numeric ratings.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in
    assessing rater reliability. Psychological Bulletin, 86, 420-428.
    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some
    intraclass correlation coefficients. Psychological Methods, 1, 30-46.
    """
    return _icc(_ensure(df))


def icc_2_1(df: pd.DataFrame) -> dict[str, Any]:
    """ICC(2,1): two-way random effects, absolute agreement, single rater.

    The default form for fidelity ratings, where any trained rater may score a
    session and systematic rater differences count as error (Koo & Li 2016).

    Returns
    -------
    dict
        ``{"value", "ci95", "F", "df1", "df2", "p"}``; see :func:`icc`.
    """
    return icc(df)["ICC(2,1)"]


# --------------------------------------------------------------------------
# Kappa family, alpha, AC1, agreement
# --------------------------------------------------------------------------


def _two_rater_wide(d: pd.DataFrame, what: str) -> tuple[pd.DataFrame, list[str]]:
    raters = sorted(d["rater"].unique())
    if len(raters) != 2:
        raise ReliabilityError(
            f"{what} compares exactly two raters, but the data has {len(raters)}; "
            "select two raters, or use Fleiss' kappa / Krippendorff's alpha for more."
        )
    wide = d.pivot(index="target", columns="rater", values="rating")[raters].dropna()
    if len(wide) == 0:
        raise ReliabilityError(
            f"{what} needs targets rated by both raters, but raters {raters[0]!r} and "
            f"{raters[1]!r} share none; have both rate the same targets."
        )
    return wide, raters


def cohen_kappa(df: pd.DataFrame, scores: str = "values") -> dict[str, float | None]:
    """Cohen's kappa, unweighted and weighted, for two raters.

    kappa = (p_o - p_e) / (1 - p_e) on the targets both raters rated (Cohen 1960).
    Weighted kappa (Cohen 1968) uses disagreement weights |x_i - x_j|
    ("linear", Cicchetti & Allison 1971) or (x_i - x_j)^2 ("quadratic",
    Fleiss & Cohen 1973), computed by :func:`statsmodels.stats.inter_rater.cohens_kappa`.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings from exactly two raters.
    scores : {"values", "ranks"}
        Category scores for the weights: the rating values themselves (default,
        so an unused scale point still counts as distance), or the rank of each
        category among those observed, as R ``irr::kappa2`` and scikit-learn do.
        The two agree whenever no scale point between the lowest and highest
        observed rating is unused.

    Returns
    -------
    dict
        ``{"unweighted", "linear", "quadratic"}``; the weighted values are None
        when the ratings are not numeric.

    References
    ----------
    Cohen, J. (1960). Educ. Psychol. Meas., 20, 37-46.
    Cohen, J. (1968). Weighted kappa. Psychological Bulletin, 70, 213-220.
    """
    if scores not in ("values", "ranks"):
        raise ReliabilityError(f"scores must be 'values' or 'ranks', not {scores!r}.")
    return _cohen_kappa(_ensure(df), scores)


def _cohen_kappa(d: pd.DataFrame, scores: str = "values") -> dict[str, float | None]:
    from statsmodels.stats.inter_rater import cohens_kappa as _sm_kappa

    wide, raters = _two_rater_wide(d, "Cohen's kappa")
    if len(wide) < 2:
        raise ReliabilityError(
            "Cohen's kappa needs at least 2 targets rated by both raters, but there is "
            f"{len(wide)}; have both raters rate more of the same targets."
        )
    numeric = _is_numeric(d)
    a, b = wide[raters[0]].to_numpy(), wide[raters[1]].to_numpy()
    cats = _sorted_categories(np.concatenate([a, b]), numeric)
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, ([index[x] for x in a], [index[x] for x in b]), 1)
    with np.errstate(all="ignore"):
        unweighted = _finite_or_none(_sm_kappa(table, return_results=False))
    if unweighted is None:
        raise ReliabilityError(
            f"Cohen's kappa is undefined: both raters gave every target the same rating "
            f"({cats[0]!r}), so chance agreement is 100%; kappa needs varied ratings."
        )
    out: dict[str, float | None] = {"unweighted": unweighted, "linear": None, "quadratic": None}
    if numeric:
        weights = np.asarray(cats, dtype=float) if scores == "values" else np.arange(len(cats))
        for wt in ("linear", "quadratic"):
            with np.errstate(all="ignore"):
                out[wt] = _finite_or_none(
                    _sm_kappa(table, weights=weights, wt=wt, return_results=False)
                )
    return out


def fleiss_kappa(df: pd.DataFrame) -> float:
    """Fleiss' kappa for two or more raters on nominal categories.

    kappa = (P_bar - P_e) / (1 - P_e), with P_bar the mean proportion of
    agreeing rater pairs per target and P_e = sum_j p_j^2 (Fleiss 1971), via
    :func:`statsmodels.stats.inter_rater.fleiss_kappa`. Every target must have the
    same number of ratings (e.g. complete data: every rater rated every target).

    Returns
    -------
    float

    Raises
    ------
    ReliabilityError
        Fewer than 2 raters or targets, unequal numbers of ratings per target,
        or a single category used throughout.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin, 76, 378-382.
    """
    return _fleiss_kappa(_ensure(df))


def _fleiss_kappa(d: pd.DataFrame) -> float:
    from statsmodels.stats.inter_rater import fleiss_kappa as _sm_fleiss

    _require_raters(d, "Fleiss' kappa")
    per_target = d.groupby("target", sort=False).size()
    lo, hi = int(per_target.min()), int(per_target.max())
    if lo != hi:
        raise ReliabilityError(
            "Fleiss' kappa needs the same number of ratings on every target (complete "
            f"data), but targets have between {lo} and {hi} ratings; use Krippendorff's "
            "alpha, which allows missing ratings, or keep only fully rated targets."
        )
    if lo < 2:
        raise ReliabilityError(
            "Fleiss' kappa needs at least 2 ratings per target, but each target has 1; "
            "have a second rater rate the same targets."
        )
    if len(per_target) < 2:
        raise ReliabilityError(
            "Fleiss' kappa needs at least 2 targets, but the data has 1; rate more targets."
        )
    counts = _count_table(d)
    with np.errstate(all="ignore"):
        value = _finite_or_none(_sm_fleiss(counts, method="fleiss"))
    if value is None:
        raise ReliabilityError(
            "Fleiss' kappa is undefined because every rating falls in one category "
            f"({d['rating'].iloc[0]!r}); kappa needs at least two categories in use."
        )
    return value


def _alpha_interval_closed_form(d: pd.DataFrame) -> float:
    """Interval alpha = 1 - D_o / D_e from sums of squares (Krippendorff 2011)."""
    m = d.groupby("target")["rating"].transform("size").to_numpy()
    p = d[m >= 2]
    m = m[m >= 2]
    x = p["rating"].to_numpy(float)
    n = len(x)
    unit_mean = p.groupby("target")["rating"].transform("mean").to_numpy()
    # Within unit u the ordered pairs give sum (x_i - x_j)^2 = 2 m_u SS_u, so
    # D_o = (1/n) sum_u 2 m_u SS_u / (m_u - 1) and D_e = 2 SS_total / (n - 1).
    d_o = np.sum(2.0 * m * (x - unit_mean) ** 2 / (m - 1)) / n
    d_e = 2.0 * np.sum((x - x.mean()) ** 2) / (n - 1)
    return float(1.0 - d_o / d_e)


def krippendorff_alpha(df: pd.DataFrame, level: str = "nominal") -> float:
    """Krippendorff's alpha = 1 - D_o / D_e, allowing missing ratings.

    Uses every target with at least two ratings (Krippendorff 2011), via
    ``krippendorff.alpha``; ordinal alpha orders categories by rating value.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings; ordinal and interval need numeric ratings.
    level : {"nominal", "ordinal", "interval"}
        Level of measurement (metric for the disagreement D).

    Returns
    -------
    float

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Annenberg School for Communication, University of Pennsylvania.
    """
    return _krippendorff_alpha(_ensure(df), level)


def _krippendorff_alpha(d: pd.DataFrame, level: str) -> float:
    import krippendorff

    if level not in ("nominal", "ordinal", "interval"):
        raise ReliabilityError(
            f"level must be 'nominal', 'ordinal' or 'interval', not {level!r}."
        )
    _require_raters(d, "Krippendorff's alpha")
    if level != "nominal":
        _require_numeric(d, f"{level.capitalize()} Krippendorff's alpha")
    per_target = d.groupby("target", sort=False).size()
    if int(per_target.max()) < 2:
        raise ReliabilityError(
            "Krippendorff's alpha needs targets rated by at least two raters, but no "
            "target has more than one rating; have raters rate the same targets."
        )
    pairable = d[d["target"].isin(per_target.index[per_target.to_numpy() >= 2])]
    n_values = pairable["rating"].nunique()
    if n_values < 2:
        raise ReliabilityError(
            "Krippendorff's alpha is undefined because every rating of a multiply rated "
            f"target is the same value ({pairable['rating'].iloc[0]!r}); it needs variation."
        )
    if level == "interval" and n_values > _PACKAGE_INTERVAL_VALUES:
        # the package's coincidence matrix is units x values x values: for a continuous total
        # score the closed form (same value, tested against the package) is far cheaper
        return _alpha_interval_closed_form(d)
    if n_values > _MAX_ALPHA_VALUES:
        raise ReliabilityError(
            f"{level} Krippendorff's alpha is not computed for {n_values} distinct rating "
            f"values (more than {_MAX_ALPHA_VALUES}); use interval alpha for continuous scores."
        )
    if _is_numeric(d):
        values = d["rating"].to_numpy(float)
        domain = np.sort(pd.unique(values))
    else:
        codes, uniques = pd.factorize(d["rating"], sort=True)
        values = codes.astype(float)
        domain = np.arange(len(uniques), dtype=float)
    raters, r_idx = np.unique(d["rater"].to_numpy(), return_inverse=True)
    targets, t_idx = np.unique(d["target"].to_numpy(), return_inverse=True)
    matrix = np.full((len(raters), len(targets)), np.nan)
    matrix[r_idx, t_idx] = values
    with np.errstate(all="ignore"):
        value = krippendorff.alpha(
            reliability_data=matrix, value_domain=domain, level_of_measurement=level
        )
    result = _finite_or_none(value)
    if result is None:  # pragma: no cover - guarded above
        raise ReliabilityError("Krippendorff's alpha is undefined for these ratings.")
    return result


def gwet_ac1(df: pd.DataFrame) -> float:
    """Gwet's AC1 agreement coefficient for any number of raters, missing allowed.

    AC1 = (p_a - p_e) / (1 - p_e), where p_a is the mean over targets with
    r_i >= 2 ratings of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1)), and
    p_e = 1/(q-1) sum_k pi_k (1 - pi_k) with pi_k the mean over targets of
    r_ik / r_i and q the number of categories used (Gwet 2008; missing-data
    form from Gwet 2014). For two raters and two categories p_e = 2 pi (1 - pi).
    Unlike kappa, AC1 stays stable when one category dominates.

    Returns
    -------
    float

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in
    the presence of high agreement. Br. J. Math. Stat. Psychol., 61, 29-48.
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.).
    """
    return _gwet_ac1(_ensure(df))


def _gwet_ac1(d: pd.DataFrame) -> float:
    _require_raters(d, "Gwet's AC1")
    counts = _count_table(d)
    q = counts.shape[1]
    if q < 2:
        raise ReliabilityError(
            f"Gwet's AC1 is undefined because every rating is the same category "
            f"({d['rating'].iloc[0]!r}); it needs at least two categories in use."
        )
    r_i = counts.sum(axis=1)
    multi = r_i >= 2
    if not multi.any():
        raise ReliabilityError(
            "Gwet's AC1 needs targets rated by at least two raters, but no target has "
            "more than one rating; have raters rate the same targets."
        )
    c, r = counts[multi], r_i[multi]
    p_a = float(np.mean((c * (c - 1)).sum(axis=1) / (r * (r - 1))))
    pi = (counts / r_i[:, None]).mean(axis=0)
    p_e = float(np.sum(pi * (1 - pi)) / (q - 1))
    return (p_a - p_e) / (1 - p_e)


def percent_agreement(df: pd.DataFrame) -> dict[str, float | None]:
    """Proportion of targets on which two raters agree exactly / within one point.

    Computed over the targets both raters rated.

    Returns
    -------
    dict
        ``{"exact": float, "within_one": float or None}``; within_one is None
        for non-numeric ratings.
    """
    return _percent_agreement(_ensure(df))


def _percent_agreement(d: pd.DataFrame) -> dict[str, float | None]:
    wide, raters = _two_rater_wide(d, "Percent agreement")
    a, b = wide[raters[0]].to_numpy(), wide[raters[1]].to_numpy()
    exact = float(np.mean(a == b))
    within = None
    if _is_numeric(d):
        within = float(np.mean(np.abs(a.astype(float) - b.astype(float)) <= 1 + 1e-12))
    return {"exact": exact, "within_one": within}


# --------------------------------------------------------------------------
# Interpretation
# --------------------------------------------------------------------------


def _koo_li_band(x: float) -> str:
    if x < 0.5:
        return "poor"
    if x < 0.75:
        return "moderate"
    if x <= 0.9:
        return "good"
    return "excellent"


def interpret_icc(value: float | None, ci95: Sequence[float | None] | None = None) -> str:
    """Describe an ICC with the Koo & Li (2016) bands, judged on the 95% CI.

    Bands: < .50 poor, .50-.75 moderate, .75-.90 good, > .90 excellent. With a
    CI the label spans the bands of its bounds (e.g. "moderate to good");
    without one the point estimate is used and the label says so.

    References
    ----------
    Koo, T. K., & Li, M. Y. (2016). A guideline of selecting and reporting
    intraclass correlation coefficients for reliability research. Journal of
    Chiropractic Medicine, 15, 155-163.
    """
    lo = hi = None
    if ci95 is not None and len(ci95) == 2:
        lo, hi = _finite_or_none(ci95[0]), _finite_or_none(ci95[1])
    if lo is not None and hi is not None:
        a, b = _koo_li_band(min(lo, hi)), _koo_li_band(max(lo, hi))
        label = a if a == b else f"{a} to {b}"
        return f"{label} (Koo & Li 2016, judged on the 95% CI)"
    v = _finite_or_none(value)
    if v is None:
        return "not available"
    return f"{_koo_li_band(v)} (Koo & Li 2016, point estimate; no CI)"


def interpret_kappa(value: float | None) -> str:
    """Describe a kappa-type coefficient with the Landis & Koch (1977) bands.

    < 0 poor, 0-.20 slight, .21-.40 fair, .41-.60 moderate, .61-.80
    substantial, .81-1 almost perfect.

    References
    ----------
    Landis, J. R., & Koch, G. G. (1977). The measurement of observer agreement
    for categorical data. Biometrics, 33, 159-174.
    """
    v = _finite_or_none(value)
    if v is None:
        return "not available"
    if v < 0:
        band = "poor"
    elif v <= 0.20:
        band = "slight"
    elif v <= 0.40:
        band = "fair"
    elif v <= 0.60:
        band = "moderate"
    elif v <= 0.80:
        band = "substantial"
    else:
        band = "almost perfect"
    return f"{band} (Landis & Koch 1977)"


def interpret_alpha(value: float | None) -> str:
    """Describe Krippendorff's alpha with Krippendorff's (2004) cut-offs.

    alpha >= .800 reliable; .667 <= alpha < .800 tentative conclusions only;
    below .667 unreliable.

    References
    ----------
    Krippendorff, K. (2004). Content Analysis: An Introduction to Its
    Methodology (2nd ed.), Sage, p. 241.
    """
    v = _finite_or_none(value)
    if v is None:
        return "not available"
    if v >= 0.8:
        band = "reliable"
    elif v >= 0.667:
        band = "tentative conclusions only"
    else:
        band = "unreliable"
    return f"{band} (Krippendorff 2004)"


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------


def _attempt(label: str, fn: Callable[[], Any], warns: list[str]) -> Any:
    try:
        return fn()
    except ReliabilityError as exc:
        warns.append(f"{label} not computed: {exc}")
        return None


def _clean(obj: Any, path: str, warns: list[str]) -> Any:
    """Plain-Python copy of obj with every non-finite number replaced by None."""
    if isinstance(obj, dict):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), warns) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{path}[{i}]", warns) for i, v in enumerate(obj)]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        if math.isfinite(float(obj)):
            return float(obj)
        warns.append(
            f"{path} is undefined for these data (not a finite number) and is reported as null."
        )
        return None
    return obj


def summarize(df: pd.DataFrame) -> dict[str, Any]:
    """All reliability statistics for a set of ratings, as a JSON-able dict.

    Statistics that do not apply to the data (e.g. Cohen's kappa with three
    raters, ICC with categorical ratings) are None, and ``warnings`` says why.
    No value is ever NaN or infinite; all values are at full precision.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings (target, rater, rating).

    Returns
    -------
    dict
        Keys n_targets, n_raters, n_ratings, icc (six forms or None),
        icc_targets_dropped, krippendorff_alpha {nominal, ordinal, interval},
        fleiss_kappa, cohen_kappa {unweighted, linear, quadratic} or None,
        gwet_ac1, percent_agreement (exact agreement, two raters only), warnings.

    Raises
    ------
    ReliabilityError
        Invalid data (see :func:`validate_long`), e.g. a duplicate
        (target, rater) pair.
    """
    d = _ensure(df)
    warns: list[str] = []
    n_raters = int(d["rater"].nunique())
    numeric = _is_numeric(d)
    if n_raters < 2:
        warns.append(
            f"only one rater ({d['rater'].iloc[0]!r}) is in the data; reliability "
            "needs at least two raters rating the same targets."
        )
    icc_targets_dropped = 0
    if n_raters >= 2:
        _, icc_targets_dropped = _complete_targets(d)
        if icc_targets_dropped:
            warns.append(
                f"ICC: {icc_targets_dropped} of {d['target'].nunique()} targets lack a rating "
                "from at least one rater and are left out of the ICC."
            )
    icc_result = _attempt("ICC", lambda: _icc(d), warns) if n_raters >= 2 else None
    if icc_result is not None:
        for name, entry in icc_result.items():
            undefined = [k for k in ("value", "F", "p") if entry[k] is None]
            undefined += ["95% CI"] if None in entry["ci95"] else []
            if undefined:
                warns.append(
                    f"ICC: {' and '.join(undefined)} of {name} cannot be computed for these data "
                    "and is reported as null (raters agree perfectly, or too few targets "
                    "for the CI approximation)."
                )
    alpha: dict[str, float | None] = {}
    for level in ("nominal", "ordinal", "interval"):
        if level != "nominal" and not numeric:
            warns.append(
                f"Krippendorff's {level} alpha not computed: the ratings are not numbers."
            )
            alpha[level] = None
        elif n_raters < 2:
            alpha[level] = None
        else:
            alpha[level] = _attempt(
                f"Krippendorff's {level} alpha", lambda lv=level: _krippendorff_alpha(d, lv), warns
            )
    fleiss = _attempt("Fleiss' kappa", lambda: _fleiss_kappa(d), warns) if n_raters >= 2 else None
    cohen = None
    agreement = None
    if n_raters == 2:
        cohen = _attempt("Cohen's kappa", lambda: _cohen_kappa(d), warns)
        pa = _attempt("Percent agreement", lambda: _percent_agreement(d), warns)
        agreement = None if pa is None else pa["exact"]
    elif n_raters > 2:
        warns.append(
            f"Cohen's kappa and percent agreement not computed: they compare two raters "
            f"and the data has {n_raters} (see Fleiss' kappa and Krippendorff's alpha)."
        )
    ac1 = _attempt("Gwet's AC1", lambda: _gwet_ac1(d), warns) if n_raters >= 2 else None
    summary = {
        "n_targets": int(d["target"].nunique()),
        "n_raters": n_raters,
        "n_ratings": int(len(d)),
        "icc": icc_result,
        "icc_targets_dropped": int(icc_targets_dropped),
        "krippendorff_alpha": alpha,
        "fleiss_kappa": fleiss,
        "cohen_kappa": cohen,
        "gwet_ac1": ac1,
        "percent_agreement": agreement,
    }
    cleaned = _clean(summary, "", warns)
    cleaned["warnings"] = list(warns)
    return cleaned


def _fmt(x: Any, digits: int = 3) -> str:
    v = _finite_or_none(x) if x is not None else None
    return "n/a" if v is None else f"{v:.{digits}f}"


def format_summary_table(summary: Mapping[str, Any]) -> str:
    """Plain-text table of a :func:`summarize` result: statistic, value, 95% CI, interpretation.

    Values are shown to 3 decimals (the summary itself keeps full precision).
    """
    rows: list[tuple[str, str, str, str]] = []
    icc_block = summary.get("icc") or {}
    for name in ICC_FORMS:
        entry = icc_block.get(name)
        if entry is None:
            rows.append((name, "n/a", "", ""))
            continue
        ci = entry.get("ci95") or [None, None]
        ci_text = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if any(c is not None for c in ci) else "n/a"
        value = entry.get("value")
        rows.append((name, _fmt(value), ci_text, interpret_icc(value, ci)))
    alpha = summary.get("krippendorff_alpha") or {}
    for level in ("nominal", "ordinal", "interval"):
        v = alpha.get(level)
        label = interpret_alpha(v) if v is not None else ""
        rows.append((f"Krippendorff's alpha ({level})", _fmt(v), "", label))
    v = summary.get("fleiss_kappa")
    rows.append(("Fleiss' kappa", _fmt(v), "", interpret_kappa(v) if v is not None else ""))
    cohen = summary.get("cohen_kappa") or {}
    for key, label in (("unweighted", "Cohen's kappa"), ("linear", "Cohen's kappa (linear)"),
                       ("quadratic", "Cohen's kappa (quadratic)")):
        v = cohen.get(key)
        rows.append((label, _fmt(v), "", interpret_kappa(v) if v is not None else ""))
    v = summary.get("gwet_ac1")
    rows.append(("Gwet's AC1", _fmt(v), "", interpret_kappa(v) if v is not None else ""))
    v = summary.get("percent_agreement")
    rows.append(("Exact agreement", _fmt(v), "", ""))

    header = ("Statistic", "Value", "95% CI", "Interpretation")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]

    def line(r: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()

    out = [
        f"Targets: {summary.get('n_targets')}   Raters: {summary.get('n_raters')}   "
        f"Ratings: {summary.get('n_ratings')}   Targets left out of ICC: "
        f"{summary.get('icc_targets_dropped')}",
        "",
        line(header),
        line(["-" * w for w in widths]),
    ]
    out += [line(r) for r in rows]
    warns = summary.get("warnings") or []
    if warns:
        out += ["", "Notes:"] + [f"  - {w}" for w in warns]
    return "\n".join(out)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


class _CsvProblem(Exception):
    pass


def _read_ratings_csv(path: str, target: str, rater: str, rating: str) -> pd.DataFrame:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise _CsvProblem(f"no such file: {path}") from None
    except IsADirectoryError:
        raise _CsvProblem(f"{path} is a directory, not a CSV file") from None
    except PermissionError:
        raise _CsvProblem(f"cannot read {path}: permission denied") from None
    except UnicodeDecodeError:
        raise _CsvProblem(f"{path} is not UTF-8 text; save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise _CsvProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    if "\x00" in text:
        raise _CsvProblem(f"{path} contains binary data; it is not a CSV file")
    if not text.strip():
        raise _CsvProblem(f"{path} is empty; it needs a header row and one row per rating")

    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = ","
    if "," not in first_line:
        if ";" in first_line:
            delimiter = ";"
        elif "\t" in first_line:
            delimiter = "\t"
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    cols: list[int] = []
    targets: list[str] = []
    raters: list[str] = []
    ratings: list[str] = []
    lines: list[int] = []
    data_row = 0
    prev_end = 0
    try:
        for row in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                missing = [c for c in (target, rater, rating) if c not in header]
                if missing:
                    plural = "s" if len(missing) > 1 else ""
                    raise _CsvProblem(
                        f"{path} has no column{plural} {', '.join(repr(c) for c in missing)} "
                        f"(its columns: {', '.join(header)}); name the columns with "
                        "--target, --rater and --rating"
                    )
                for c in (target, rater, rating):
                    if header.count(c) > 1:
                        raise _CsvProblem(f"column {c!r} appears twice in the header of {path}")
                cols = [header.index(c) for c in (target, rater, rating)]
                continue
            data_row += 1
            where = f"line {start} (data row {data_row})"
            if len(row) != len(header):
                extra = row[len(header):]
                extra_empty = len(row) > len(header) and all(not c.strip() for c in extra)
                if not extra_empty:
                    raise _CsvProblem(
                        f"{where} of {path} has {len(row)} field(s) but the header has "
                        f"{len(header)}; fix or delete that row"
                    )
            t, r, v = (row[i].strip() for i in cols)
            if v.lower() in _MISSING_TOKENS:
                continue  # a missing rating is simply absent
            if not t:
                raise _CsvProblem(
                    f"{where} of {path} has a rating but no {target!r}; "
                    "fill it in or delete the row"
                )
            if not r:
                raise _CsvProblem(
                    f"{where} of {path} has a rating but no {rater!r}; fill it in or delete the row"
                )
            targets.append(t)
            raters.append(r)
            ratings.append(v)
            lines.append(start)
    except csv.Error as exc:
        raise _CsvProblem(
            f"line {reader.line_num} of {path} cannot be parsed as CSV: {exc}"
        ) from None
    if header is None:
        raise _CsvProblem(f"{path} has no header row")
    if not ratings:
        raise _CsvProblem(f"{path} has no ratings (no data rows with a rating)")
    raw = pd.DataFrame({"target": targets, "rater": raters, "rating": ratings})

    def where_line(pos: int) -> str:
        return f"line {lines[pos]} of {path}"

    try:
        return _validate_long(raw, "target", "rater", "rating", where=where_line)
    except ReliabilityError as exc:
        raise _CsvProblem(str(exc)) from None


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ipt_training reliability",
        description=(
            "Inter-rater reliability of ratings in a long-format CSV file (one row per "
            "rating: target, rater, rating). Prints ICC(1,1)...ICC(3,k), Krippendorff's "
            "alpha, Fleiss' and Cohen's kappa, Gwet's AC1 and exact agreement, with 95% "
            "CIs and interpretations."
        ),
        epilog=(
            "A missing rating is an absent row or an empty rating cell. Exit status: 0 on "
            "success, 2 if the file cannot be read or its rows are invalid."
        ),
    )
    parser.add_argument("file", metavar="FILE.csv", help="CSV file with a header row")
    parser.add_argument("--target", default="target", metavar="COL",
                        help="column naming the rated item, e.g. the session (default: target)")
    parser.add_argument("--rater", default="rater", metavar="COL",
                        help="column naming the rater (default: rater)")
    parser.add_argument("--rating", default="rating", metavar="COL",
                        help="column holding the rating (default: rating)")
    parser.add_argument("--json", action="store_true",
                        help="print the full-precision summary as JSON instead of a table")
    return parser


def cli_reliability(argv: Sequence[str] | None = None) -> int:
    """Command ``reliability FILE.csv [--target COL] [--rater COL] [--rating COL] [--json]``.

    Prints a table (or JSON with ``--json``) of :func:`summarize`; returns the
    exit status: 0 on success, 2 when the file is missing or unreadable, lacks
    the named columns, or contains an invalid row (reported with its line).
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help or a usage error; argparse already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        data = _read_ratings_csv(args.file, args.target, args.rater, args.rating)
        summary = summarize(data)
    except (_CsvProblem, ReliabilityError) as exc:
        message = " ".join(str(exc).split())
        print(f"reliability: error: {message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, allow_nan=False))
    else:
        print(format_summary_table(summary))
    return 0


# --------------------------------------------------------------------------
# Rater statistics for reports
# --------------------------------------------------------------------------


def rater_severity(df: pd.DataFrame) -> pd.DataFrame:
    """Each rater's leniency or severity relative to the other raters.

    For each target a rater shares with others, difference = the rater's
    rating minus the mean of the other raters' ratings of that target;
    ``mean_difference`` averages these (positive = more lenient).

    Returns
    -------
    pandas.DataFrame
        Columns rater, n_ratings, mean_rating, n_shared_targets,
        mean_difference (None when the rater shares no target).
    """
    d = _ensure(df)
    _require_numeric(d, "Rater severity")
    wide = d.pivot(index="target", columns="rater", values="rating")
    total = wide.sum(axis=1, skipna=True)
    count = wide.count(axis=1)
    rows = []
    for rater in sorted(wide.columns):
        own = wide[rater]
        shared = own.notna() & (count >= 2)
        others = (total - own) / (count - 1)
        diffs = (own - others)[shared]
        rows.append(
            {
                "rater": rater,
                "n_ratings": int(own.notna().sum()),
                "mean_rating": float(own.mean()),
                "n_shared_targets": int(shared.sum()),
                "mean_difference": float(diffs.mean()) if len(diffs) else None,
            }
        )
    columns = ["rater", "n_ratings", "mean_rating", "n_shared_targets", "mean_difference"]
    out = pd.DataFrame(rows, columns=columns)
    diff = out["mean_difference"].astype(object)
    out["mean_difference"] = diff.where(diff.notna(), None)
    return out


def rater_pair_matrix(df: pd.DataFrame, stat: str = "icc_2_1") -> pd.DataFrame:
    """Agreement of every pair of raters on the targets they share.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings.
    stat : {"icc_2_1", "exact", "within_one"}
        ICC(2,1) (Shrout & Fleiss 1979), or the proportion of exact / within-one
        agreement.

    Returns
    -------
    pandas.DataFrame
        Symmetric rater x rater matrix (object dtype); None on the diagonal and
        where the pair shares fewer than 3 targets (ICC) or the ICC is undefined.
    """
    if stat not in ("icc_2_1", "exact", "within_one"):
        raise ReliabilityError(f"stat must be 'icc_2_1', 'exact' or 'within_one', not {stat!r}.")
    d = _ensure(df)
    raters = sorted(d["rater"].unique())
    out = pd.DataFrame(
        np.full((len(raters), len(raters)), None, dtype=object), index=raters, columns=raters
    )
    for i, a in enumerate(raters):
        for b in raters[i + 1:]:
            pair = d[d["rater"].isin([a, b])]
            value = None
            try:
                if stat == "icc_2_1":
                    shared = pair.groupby("target").size()
                    if int((shared == 2).sum()) >= 3:
                        value = _icc(pair)["ICC(2,1)"]["value"]
                else:
                    value = _percent_agreement(pair)[stat]
            except ReliabilityError:
                value = None
            out.at[a, b] = out.at[b, a] = value
    return out


def bland_altman(df: pd.DataFrame, rater_a: Any, rater_b: Any) -> dict[str, Any]:
    """Bland-Altman agreement of two raters: bias and 95% limits of agreement.

    For each target both rated: mean = (a + b) / 2 and diff = a - b;
    bias = mean(diff), limits = bias +/- 1.96 SD(diff) (SD with n - 1).

    Returns
    -------
    dict
        rater_a, rater_b, n, targets, mean, diff (lists), bias, sd, lower, upper.

    References
    ----------
    Bland, J. M., & Altman, D. G. (1986). Statistical methods for assessing
    agreement between two methods of clinical measurement. Lancet, 327, 307-310.
    """
    d = _ensure(df)
    _require_numeric(d, "Bland-Altman analysis")
    a, b = str(rater_a), str(rater_b)
    for r in (a, b):
        if r not in set(d["rater"]):
            raise ReliabilityError(
                f"rater {r!r} is not in the data "
                f"(raters: {', '.join(sorted(d['rater'].unique()))})."
            )
    if a == b:
        raise ReliabilityError("choose two different raters for a Bland-Altman comparison.")
    wide = d[d["rater"].isin([a, b])].pivot(index="target", columns="rater", values="rating")
    wide = wide[[a, b]].dropna()
    if len(wide) < 2:
        raise ReliabilityError(
            f"Bland-Altman limits need at least 2 targets rated by both {a!r} and {b!r}; "
            f"they share {len(wide)}."
        )
    diff = (wide[a] - wide[b]).to_numpy(float)
    mean = ((wide[a] + wide[b]) / 2).to_numpy(float)
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1))
    return {
        "rater_a": a,
        "rater_b": b,
        "n": int(len(wide)),
        "targets": [str(t) for t in wide.index],
        "mean": mean.tolist(),
        "diff": diff.tolist(),
        "bias": bias,
        "sd": sd,
        "lower": bias - 1.96 * sd,
        "upper": bias + 1.96 * sd,
    }


# --------------------------------------------------------------------------
# Calibration against a gold standard and certification
# --------------------------------------------------------------------------

DEFAULT_CERTIFICATION_POLICY: dict[str, Any] = {
    "min_sessions": 2,
    "min_icc": 0.75,
    "min_within_one": 0.80,
    "valid_months": 12,
}


def calibration_agreement(
    rater_scores: Mapping[Any, float], gold_scores: Mapping[Any, float]
) -> dict[str, Any]:
    """Agreement of one rater's item scores with gold-standard scores.

    Over items scored by both: ICC(2,1) with the gold standard as the second
    "rater" (Shrout & Fleiss 1979), exact and within-one-point proportions and
    the per-item differences (rater - gold).

    Returns
    -------
    dict
        n_items, icc (float or None), icc_ci95, icc_reason (why icc is None),
        exact, within_one, differences (list of {item, score, gold, difference}),
        unscored_items (gold items the rater did not score).
    """
    items = []
    unscored = []
    for item, gold in gold_scores.items():
        if _is_missing_value(gold):
            continue
        score = rater_scores.get(item)
        if _is_missing_value(score):
            unscored.append(item)
            continue
        try:
            items.append((item, float(score), float(gold)))
        except (TypeError, ValueError):
            raise ReliabilityError(
                f"item {item!r}: scores must be numbers (got {score!r} and {gold!r})."
            ) from None
    if not items:
        raise ReliabilityError(
            "no item has both a rater score and a gold-standard score; score the "
            "calibration items first."
        )
    diffs = [{"item": i, "score": s, "gold": g, "difference": s - g} for i, s, g in items]
    delta = np.array([x["difference"] for x in diffs])
    result: dict[str, Any] = {
        "n_items": len(items),
        "icc": None,
        "icc_ci95": None,
        "icc_reason": None,
        "exact": float(np.mean(delta == 0)),
        "within_one": float(np.mean(np.abs(delta) <= 1 + 1e-12)),
        "differences": diffs,
        "unscored_items": unscored,
    }
    if len(items) < 3:
        result["icc_reason"] = (
            f"ICC needs at least 3 items scored by both the rater and the gold standard; "
            f"there are {len(items)}."
        )
        return result
    long = pd.DataFrame(
        [(str(i), "rater", s) for i, s, _ in items] + [(str(i), "gold", g) for i, _, g in items],
        columns=["target", "rater", "rating"],
    )
    try:
        entry = _icc(_ensure(long))["ICC(2,1)"]
    except ReliabilityError as exc:
        result["icc_reason"] = str(exc)
        return result
    result["icc"] = entry["value"]
    result["icc_ci95"] = entry["ci95"]
    return result


def _as_date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ReliabilityError(f"calibration date {value!r} is not a date (use YYYY-MM-DD).")


def _add_months(day: _dt.date, months: int) -> _dt.date:
    month0 = day.month - 1 + int(months)
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _policy(policy: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(DEFAULT_CERTIFICATION_POLICY)
    merged.update(policy or {})
    return merged


def _sessions(calibrations: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in calibrations:
        for key in ("icc", "within_one"):
            if c.get(key) is not None and not isinstance(c.get(key), (int, float, np.number)):
                raise ReliabilityError(
                    f"calibration on {c.get('date')}: {key} {c.get(key)!r} is not a number."
                )
        out.append(
            {
                "date": _as_date(c.get("date")),
                "icc": _finite_or_none(c.get("icc")),
                "within_one": _finite_or_none(c.get("within_one")),
            }
        )
    return sorted(out, key=lambda s: s["date"])


def certification_status(
    calibrations: Sequence[Mapping[str, Any]],
    policy: Mapping[str, Any] | None = None,
    today: _dt.date | None = None,
) -> dict[str, Any]:
    """Whether a rater is currently certified, from their calibration sessions.

    Rule: the most recent ``min_sessions`` sessions (on or before ``today``)
    must each reach ICC(2,1) >= ``min_icc`` and within-one agreement >=
    ``min_within_one``. Certification dates from the latest of them and lasts
    ``valid_months``; a recent failing session withdraws it.

    Parameters
    ----------
    calibrations : list of dict
        Each ``{"date", "icc", "within_one"}`` (date or ISO string; icc may be None).
    policy : dict, optional
        min_sessions (2), min_icc (0.75), min_within_one (0.80), valid_months (12).
    today : datetime.date, optional
        Reference date (default: today).

    Returns
    -------
    dict
        certified (bool), certified_on and expires_on (dates, or None when the
        recent sessions do not qualify; kept when certification has expired),
        reasons (why not certified; empty when certified).
    """
    pol = _policy(policy)
    today = today or _dt.date.today()
    sessions = [s for s in _sessions(calibrations) if s["date"] <= today]
    need = int(pol["min_sessions"])
    result = {"certified": False, "certified_on": None, "expires_on": None, "reasons": []}
    if len(sessions) < need:
        result["reasons"].append(
            f"{len(sessions)} calibration session(s) on record; {need} are needed."
        )
        return result
    recent = sessions[-need:] if need > 0 else []
    for s in recent:
        day = s["date"].isoformat()
        if s["icc"] is None:
            result["reasons"].append(f"calibration on {day}: no ICC available.")
        elif s["icc"] < pol["min_icc"]:
            result["reasons"].append(
                f"calibration on {day}: ICC {s['icc']:.2f} is below {pol['min_icc']:.2f}."
            )
        if s["within_one"] is None:
            result["reasons"].append(f"calibration on {day}: no within-one agreement available.")
        elif s["within_one"] < pol["min_within_one"]:
            result["reasons"].append(
                f"calibration on {day}: within-one agreement {s['within_one']:.0%} is below "
                f"{pol['min_within_one']:.0%}."
            )
    if result["reasons"]:
        return result
    certified_on = recent[-1]["date"] if recent else today
    expires_on = _add_months(certified_on, int(pol["valid_months"]))
    result["certified_on"] = certified_on
    result["expires_on"] = expires_on
    if today >= expires_on:
        result["reasons"].append(
            f"certification of {certified_on.isoformat()} expired on {expires_on.isoformat()}; "
            "a new calibration session is needed."
        )
    else:
        result["certified"] = True
    return result


def drift(
    calibrations: Sequence[Mapping[str, Any]],
    policy: Mapping[str, Any] | None = None,
    window: int = 2,
) -> list[dict[str, Any]]:
    """Flag windows of calibration sessions whose mean agreement is below threshold.

    For ICC (threshold ``min_icc``) and within-one agreement (threshold
    ``min_within_one``) separately, the mean over each run of ``window``
    consecutive sessions with a value is compared with the threshold.

    Returns
    -------
    list of dict
        One flag per below-threshold window, in date order:
        date (last session of the window), metric, rolling_mean, threshold,
        window, sessions (dates in the window).
    """
    if int(window) < 1:
        raise ReliabilityError(f"window must be at least 1, not {window!r}.")
    window = int(window)
    pol = _policy(policy)
    sessions = _sessions(calibrations)
    flags = []
    for metric, key in (("icc", "min_icc"), ("within_one", "min_within_one")):
        series = [(s["date"], s[metric]) for s in sessions if s[metric] is not None]
        for end in range(window - 1, len(series)):
            chunk = series[end - window + 1:end + 1]
            mean = float(np.mean([v for _, v in chunk]))
            if mean < pol[key]:
                flags.append(
                    {
                        "date": chunk[-1][0],
                        "metric": metric,
                        "rolling_mean": mean,
                        "threshold": float(pol[key]),
                        "window": window,
                        "sessions": [day for day, _ in chunk],
                    }
                )
    return sorted(flags, key=lambda f: (f["date"], f["metric"]))


# --------------------------------------------------------------------------
# Generalizability theory
# --------------------------------------------------------------------------

G_COMPONENTS = ("trainee", "session:trainee", "rater", "residual")


def _g_validate(df: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ReliabilityError(
            "g_study expects a pandas DataFrame with trainee, session, rater, score."
        )
    missing = [c for c in ("trainee", "session", "rater", "score") if c not in df.columns]
    if missing:
        raise ReliabilityError(
            f"missing column(s) {', '.join(repr(c) for c in missing)} for the G study; "
            "provide trainee, session, rater and score."
        )
    d = df[["trainee", "session", "rater", "score"]].copy()
    d = d.reset_index(drop=True)
    d = d[~_missing_mask(d["score"])].reset_index(drop=True)
    if d.empty:
        raise ReliabilityError("there are no scores; the G study needs scored sessions.")
    score = pd.to_numeric(d["score"], errors="coerce")
    if score.isna().any():
        bad = int(np.flatnonzero(score.isna().to_numpy())[0])
        raise ReliabilityError(
            f"score {d['score'].iloc[bad]!r} (row {bad + 1}) is not a number; "
            "the G study needs numeric scores."
        )
    for col in ("trainee", "session", "rater"):
        if _missing_mask(d[col]).any():
            raise ReliabilityError(f"some scores have no {col}; fill it in or drop those rows.")
        d[col] = _as_labels(d[col])
    d["score"] = score.astype(float)
    d["session_id"] = d["trainee"] + "\x1f" + d["session"]
    dup = d.duplicated(["session_id", "rater"])
    if dup.any():
        row = d[dup].iloc[0]
        raise ReliabilityError(
            f"rater {row['rater']!r} scored session {row['session']!r} of trainee "
            f"{row['trainee']!r} twice; keep one score per session and rater."
        )
    return d


def _g_anova(
    d: pd.DataFrame, n_t: int, n_s: int, n_r: int
) -> tuple[dict[str, float], dict[str, float]]:
    ordered = d.sort_values(["trainee", "session_id", "rater"])
    x = ordered["score"].to_numpy(float).reshape(n_t, n_s, n_r)
    grand = x.mean()
    m_t = x.mean(axis=(1, 2))
    m_ts = x.mean(axis=2)
    m_r = x.mean(axis=(0, 1))
    ss_t = n_s * n_r * np.sum((m_t - grand) ** 2)
    ss_st = n_r * np.sum((m_ts - m_t[:, None]) ** 2)
    ss_r = n_t * n_s * np.sum((m_r - grand) ** 2)
    ss_res = np.sum((x - grand) ** 2) - ss_t - ss_st - ss_r
    ms = {
        "trainee": ss_t / (n_t - 1),
        "session:trainee": ss_st / (n_t * (n_s - 1)),
        "rater": ss_r / (n_r - 1),
        "residual": ss_res / ((n_t * n_s - 1) * (n_r - 1)),
    }
    comps = {
        "trainee": (ms["trainee"] - ms["session:trainee"]) / (n_s * n_r),
        "session:trainee": (ms["session:trainee"] - ms["residual"]) / n_r,
        "rater": (ms["rater"] - ms["residual"]) / (n_t * n_s),
        "residual": ms["residual"],
    }
    return {k: float(v) for k, v in comps.items()}, {k: float(v) for k, v in ms.items()}


def _g_reml(d: pd.DataFrame) -> tuple[dict[str, float], list[str]]:
    import statsmodels.formula.api as smf

    data = d.assign(_all=1)
    model = smf.mixedlm(
        "score ~ 1",
        data,
        groups="_all",
        re_formula="0",
        vc_formula={
            "trainee": "0 + C(trainee)",
            "session": "0 + C(session_id)",
            "rater": "0 + C(rater)",
        },
    )
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(reml=True)
    for w in caught:
        text = str(w.message).split("\n")[0]
        if text and f"MixedLM: {text}" not in notes:
            notes.append(f"MixedLM: {text}")
    vc = dict(zip(model.exog_vc.names, np.asarray(fit.vcomp, dtype=float)))
    comps = {
        "trainee": vc["trainee"],
        "session:trainee": vc["session"],
        "rater": vc["rater"],
        "residual": float(fit.scale),
    }
    return {k: float(v) for k, v in comps.items()}, notes


def _pair_sums(d: pd.DataFrame, keys: list[str]) -> tuple[float, float]:
    """Sum over unordered pairs sharing ``keys`` of (x_i - x_j)^2, and the number of such pairs.

    Within a group of n values, sum_{i<j} (x_i - x_j)^2 = n * sum x^2 - (sum x)^2.
    """
    x = d["score"].to_numpy(dtype=float)
    if not keys:
        n = len(x)
        return float(n * np.sum(x * x) - np.sum(x) ** 2), n * (n - 1) / 2
    g = d.assign(_x2=x * x).groupby(keys, sort=False).agg(n=("score", "size"), s=("score", "sum"), s2=("_x2", "sum"))
    return float((g["n"] * g["s2"] - g["s"] ** 2).sum()), float((g["n"] * (g["n"] - 1) / 2).sum())


def _g_symmetric_sums(d: pd.DataFrame) -> tuple[dict[str, float], list[str]]:
    """Moment estimates from squared differences of pairs of scores (Koch 1967).

    Half the mean squared difference of two scores estimates the sum of the variance
    components in which the two differ: same session, other rater: r + e; same trainee
    and rater, other session: s:t + e; same trainee, other session and rater: s:t + r + e;
    other trainee, same rater: t + s:t + e. Solving gives each component; no iteration,
    so it scales to thousands of sessions where REML does not.

    Koch, G. G. (1967). A general approach to the estimation of variance components.
    Technometrics, 9(1), 93-118.
    """
    p_all, c_all = _pair_sums(d, [])
    p_t, c_t = _pair_sums(d, ["trainee"])
    p_s, c_s = _pair_sums(d, ["trainee", "session_id"])
    p_r, c_r = _pair_sums(d, ["rater"])
    p_tr, c_tr = _pair_sums(d, ["trainee", "rater"])

    def half_mean(p, c):
        return p / c / 2 if c > 0 else None

    same_session = half_mean(p_s, c_s)                                   # r + e
    same_rater_other_session = half_mean(p_tr, c_tr)                     # s:t + e
    other_session_other_rater = half_mean(p_t - p_s - p_tr, c_t - c_s - c_tr)  # s:t + r + e
    other_trainee_same_rater = half_mean(p_r - p_tr, c_r - c_tr)         # t + s:t + e
    other_trainee_other_rater = half_mean(p_all - p_t - p_r + p_tr, c_all - c_t - c_r + c_tr)  # t + s:t + r + e
    notes = []
    if other_session_other_rater is not None and same_rater_other_session is not None:
        rater = other_session_other_rater - same_rater_other_session
    elif other_trainee_other_rater is not None and other_trainee_same_rater is not None:
        rater = other_trainee_other_rater - other_trainee_same_rater
        notes.append("rater variance estimated across trainees (no trainee has two sessions scored by different raters).")
    else:
        raise ReliabilityError("the G study cannot separate rater variance: every score of a rater belongs to one "
                               "session; rate more sessions with the same raters.")
    residual = same_session - rater
    if same_rater_other_session is not None:
        session = same_rater_other_session - residual
    else:
        session = other_session_other_rater - rater - residual
    if other_trainee_same_rater is not None:
        trainee = other_trainee_same_rater - session - residual
    else:
        trainee = other_trainee_other_rater - session - rater - residual
    comps = {"trainee": trainee, "session:trainee": session, "rater": rater, "residual": residual}
    return {k: float(v) for k, v in comps.items()}, notes


def g_study(df: pd.DataFrame, method: str = "auto") -> dict[str, Any]:
    """Variance components of fidelity scores: trainee, session:trainee, rater, residual.

    Model (sessions nested in trainees, raters crossed with sessions):
    X = mu + t + s:t + r + e. The trainee x rater interaction is not separated
    and is pooled into the residual.

    Estimators: for a balanced design (every trainee has the same number of
    sessions and every session is scored by every rater) the ANOVA /
    expected-mean-squares estimator,
    var_e = MS_res, var_r = (MS_r - MS_res) / (n_t n_s),
    var_s:t = (MS_s:t - MS_res) / n_r, var_t = (MS_t - MS_s:t) / (n_s n_r);
    otherwise Koch's (1967) symmetric-sums moment estimator, which allows unbalanced
    data and scales to thousands of sessions; REML with
    :class:`statsmodels.regression.mixed_linear_model.MixedLM` (crossed variance
    components) on request (slow beyond a few hundred scores).
    Negative ANOVA estimates are set to 0 with a warning (Brennan 2001).

    Parameters
    ----------
    df : pandas.DataFrame
        Columns trainee, session, rater, score (one row per score).
    method : {"auto", "anova", "moments", "reml"}
        "auto" uses ANOVA when the design is balanced, else "moments".

    Returns
    -------
    dict
        components {trainee, session:trainee, rater, residual}, method,
        balanced, n_trainees, n_sessions, n_raters, n_scores, mean_squares
        (ANOVA only, else None), warnings.

    References
    ----------
    Shavelson, R. J., & Webb, N. M. (1991). Generalizability Theory: A Primer. Sage.
    Brennan, R. L. (2001). Generalizability Theory. Springer.
    """
    if method not in ("auto", "anova", "moments", "reml"):
        raise ReliabilityError(f"method must be 'auto', 'anova', 'moments' or 'reml', not {method!r}.")
    d = _g_validate(df)
    n_t = d["trainee"].nunique()
    n_r = d["rater"].nunique()
    sessions_per_trainee = d.groupby("trainee")["session_id"].nunique()
    raters_per_session = d.groupby("session_id")["rater"].nunique()
    if n_t < 2:
        raise ReliabilityError(f"the G study needs at least 2 trainees; the data has {n_t}.")
    if n_r < 2:
        raise ReliabilityError(f"the G study needs at least 2 raters; the data has {n_r}.")
    if int(sessions_per_trainee.max()) < 2:
        raise ReliabilityError(
            "the G study needs some trainees with at least 2 sessions to separate "
            "session from trainee variance."
        )
    if int(raters_per_session.max()) < 2:
        raise ReliabilityError(
            "the G study needs some sessions scored by at least 2 raters to separate "
            "rater from residual variance."
        )
    n_s = int(sessions_per_trainee.iloc[0])
    balanced = bool(
        (sessions_per_trainee == n_s).all() and (raters_per_session == n_r).all()
    )
    warns: list[str] = []
    mean_squares = None
    if method == "anova" and not balanced:
        raise ReliabilityError(
            "the ANOVA estimator needs a balanced design (same number of sessions per "
            "trainee, every session scored by every rater); use method='reml'."
        )
    if balanced and method in ("auto", "anova"):
        comps, mean_squares = _g_anova(d, n_t, n_s, n_r)
        used = "ANOVA (expected mean squares), balanced design"
    elif method == "reml":
        comps, notes = _g_reml(d)
        warns += notes
        used = "REML (statsmodels MixedLM, crossed variance components)"
    else:
        comps, notes = _g_symmetric_sums(d)
        warns += notes
        used = "moments (Koch 1967 symmetric sums), unbalanced design"
    for name in G_COMPONENTS:
        if comps[name] < 0:
            warns.append(
                f"the {name} variance estimate was negative ({comps[name]:.4g}) and is set "
                "to 0 (Brennan 2001)."
            )
            comps[name] = 0.0
    return {
        "components": comps,
        "method": used,
        "balanced": balanced,
        "n_trainees": int(n_t),
        "n_sessions": int(d["session_id"].nunique()),
        "n_raters": int(n_r),
        "n_scores": int(len(d)),
        "mean_squares": mean_squares,
        "warnings": warns,
    }


def d_study(
    components: Mapping[str, Any],
    raters: Iterable[int] = range(1, 5),
    sessions: Iterable[int] = range(1, 7),
) -> pd.DataFrame:
    """Projected dependability (phi) of a trainee's mean fidelity score.

    phi = var_t / (var_t + var_s:t / n_s + var_r / n_r + var_res / (n_s n_r))
    for absolute decisions (e.g. certification against a cut score), averaging
    over n_s sessions each scored by n_r raters (Brennan 2001, ch. 4).

    Parameters
    ----------
    components : dict
        The ``components`` of :func:`g_study` (or its whole result).
    raters, sessions : iterable of int
        Numbers of raters and sessions to project.

    Returns
    -------
    pandas.DataFrame
        Columns n_raters, n_sessions, abs_error_variance, phi.
    """
    comps = components.get("components", components) if isinstance(components, Mapping) else None
    if comps is None or any(k not in comps for k in G_COMPONENTS):
        raise ReliabilityError(
            f"components must have {', '.join(G_COMPONENTS)} (e.g. g_study(...)['components'])."
        )
    v = {k: float(comps[k]) for k in G_COMPONENTS}
    if any(x < 0 or not math.isfinite(x) for x in v.values()):
        raise ReliabilityError("variance components must be finite and non-negative.")
    rows = []
    for n_r in raters:
        for n_s in sessions:
            if int(n_r) < 1 or int(n_s) < 1:
                raise ReliabilityError("numbers of raters and sessions must be at least 1.")
            err = v["session:trainee"] / n_s + v["rater"] / n_r + v["residual"] / (n_s * n_r)
            total = v["trainee"] + err
            if total <= 0:
                raise ReliabilityError(
                    "all variance components are 0, so dependability is undefined."
                )
            rows.append(
                {"n_raters": int(n_r), "n_sessions": int(n_s),
                 "abs_error_variance": err, "phi": v["trainee"] / total}
            )
    return pd.DataFrame(rows, columns=["n_raters", "n_sessions", "abs_error_variance", "phi"])
