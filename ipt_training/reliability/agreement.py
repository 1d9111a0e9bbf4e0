"""Agreement statistics: Cohen's (weighted) and Fleiss' kappa (statsmodels), Krippendorff's alpha (the ``krippendorff`` package; Krippendorff 2011), Gwet's AC1 (Gwet 2008) and percent agreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from .long_data import ReliabilityError, _count_table, _ensure, _finite_or_none, _is_numeric, _require_numeric, _require_raters, _sorted_categories


# Above this many distinct values Krippendorff's coincidence matrix (V x V)
# gets large; interval alpha then uses the closed form instead.
_PACKAGE_INTERVAL_VALUES = 20


_MAX_ALPHA_VALUES = 2000


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
