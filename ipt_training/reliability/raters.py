"""Rater statistics for reports: severity (mean signed difference), rater-pair agreement matrix and Bland-Altman limits (Bland & Altman 1986).
"""

from __future__ import annotations

from typing import Any
import numpy as np
import pandas as pd
from .agreement import _percent_agreement
from .icc import _icc
from .long_data import ReliabilityError, _ensure, _require_numeric


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
    return _rater_severity(d)


def _rater_severity(d: pd.DataFrame) -> pd.DataFrame:
    x = d["rating"].to_numpy(float)
    t_codes = pd.factorize(d["target"])[0]
    total = np.bincount(t_codes, weights=x)[t_codes]
    count = np.bincount(t_codes)[t_codes]
    shared = count >= 2
    diff = np.where(shared, x - (total - x) / np.maximum(count - 1, 1), np.nan)
    g = pd.DataFrame({"rater": d["rater"].to_numpy(), "x": x, "shared": shared, "diff": diff}).groupby("rater")
    out = pd.DataFrame({"n_ratings": g.size(), "mean_rating": g["x"].mean(), "n_shared_targets": g["shared"].sum(),
                        "mean_difference": g["diff"].mean()}).sort_index().reset_index()
    out["n_ratings"] = out["n_ratings"].astype(int)
    out["n_shared_targets"] = out["n_shared_targets"].astype(int)
    columns = ["rater", "n_ratings", "mean_rating", "n_shared_targets", "mean_difference"]
    out = out[columns]
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
