"""Intraclass correlations (Shrout & Fleiss 1979; McGraw & Wong 1996) through :func:`pingouin.intraclass_corr`, behind stable names.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any
import numpy as np
import pandas as pd
from .long_data import ReliabilityError, _ensure, _finite_or_none, _require_numeric, _require_raters


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


_PINGOUIN_LOCK = threading.Lock()


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
