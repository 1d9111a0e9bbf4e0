"""Agreement statistics: Cohen's (weighted) and Fleiss' kappa (statsmodels), Krippendorff's alpha (from the coincidence matrix, Krippendorff 2011; the ``krippendorff`` package is the tests' reference), Gwet's AC1 (Gwet 2008, 2014) and percent agreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from .long_data import ReliabilityError, _ensure, _finite_or_none, _is_numeric, _require_numeric, _require_raters, _require_squarable, _show, _sorted_categories


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


def cohen_kappa(df: pd.DataFrame, scores: str = "values", categories: list | None = None) -> dict[str, float | None]:
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
    categories : list, optional
        The scale's categories (e.g. 1..5); by default the categories observed.

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
    return _cohen_kappa(_ensure(df), scores, categories)


def _cohen_kappa(d: pd.DataFrame, scores: str = "values", categories: list | None = None) -> dict[str, float | None]:
    from statsmodels.stats.inter_rater import cohens_kappa as _sm_kappa

    wide, raters = _two_rater_wide(d, "Cohen's kappa")
    if len(wide) < 2:
        raise ReliabilityError(
            "Cohen's kappa needs at least 2 targets rated by both raters, but there is "
            f"{len(wide)}; have both raters rate more of the same targets."
        )
    numeric = _is_numeric(d)
    a, b = wide[raters[0]].to_numpy(), wide[raters[1]].to_numpy()
    both = np.concatenate([a, b])
    if categories is None and not numeric:
        categories = _sorted_categories(both, numeric)
    codes, cats = _category_codes(both, categories)
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (codes[:len(a)], codes[len(a):]), 1)
    with np.errstate(all="ignore"):
        unweighted = _finite_or_none(_sm_kappa(table, return_results=False))
    if unweighted is None:
        raise ReliabilityError(
            f"Cohen's kappa is undefined: both raters gave every target the same rating "
            f"({_show(a[0])}), so chance agreement is 100%; kappa needs varied ratings."
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


def fleiss_kappa(df: pd.DataFrame, categories: list | None = None) -> float:
    """Fleiss' kappa for two or more raters on nominal categories.

    kappa = (P_bar - P_e) / (1 - P_e), with P_bar the mean proportion of
    agreeing rater pairs per target and P_e = sum_j p_j^2 (Fleiss 1971), from the sparse
    target x category counts (statsmodels' ``fleiss_kappa`` is the tests' reference). Every target must have the
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
    return _fleiss_kappa(_ensure(df), categories)


def _fleiss_kappa(d: pd.DataFrame, categories: list | None = None) -> float:
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
    chance = _chance_corrected(*_sparse_counts(d, categories))
    p_e = chance["pe_fleiss"]
    value = None if p_e >= 1 else (chance["p_a"] - p_e) / (1 - p_e)
    if value is None:
        raise ReliabilityError(
            "Fleiss' kappa is undefined because every rating falls in one category "
            f"({_show(d['rating'].iloc[0])}); kappa needs at least two categories in use."
        )
    return value


def _pairable_values(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Target codes and ratings of the targets with at least two ratings."""
    t_codes = pd.factorize(d["target"])[0]
    m = np.bincount(t_codes)[t_codes]
    keep = m >= 2
    return pd.factorize(t_codes[keep])[0], d["rating"].to_numpy()[keep]


def _alpha_squared(group: np.ndarray, t: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    """1 - D_o / D_e for the squared-difference metric (Krippendorff 2011), per group, from sums of squares.

    Within a unit of m values the ordered pairs give sum (x_i - x_j)^2 = 2 m SS_u, so
    D_o = (1/n) sum_u 2 m_u SS_u / (m_u - 1) and D_e = 2 SS_total / (n - 1)."""
    m = np.bincount(t).astype(float)
    unit_mean = np.divide(np.bincount(t, weights=x), m, out=np.zeros(len(m)), where=m > 0)
    n = np.bincount(group, minlength=n_groups).astype(float)
    mean = np.divide(np.bincount(group, weights=x, minlength=n_groups), n, out=np.zeros(n_groups), where=n > 0)
    with np.errstate(all="ignore"):
        d_o = np.bincount(group, weights=2.0 * m[t] * (x - unit_mean[t]) ** 2 / (m[t] - 1), minlength=n_groups) / n
        d_e = 2.0 * np.bincount(group, weights=(x - mean[group]) ** 2, minlength=n_groups) / (n - 1)
        return 1.0 - d_o / d_e


def alpha_groups(group: np.ndarray, t: np.ndarray, x: np.ndarray, n_groups: int, level: str) -> np.ndarray:
    """Krippendorff's alpha of many groups at once (e.g. every item) from the coincidence matrix's
    margins and sums, never a units x values array; ``t`` codes units (unique across groups),
    each with two or more values.

    Nominal: with n_uc the count of value c in unit u and n_c = sum_u n_uc,
    sum_{c != k} o_ck = sum_u (m_u^2 - sum_c n_uc^2) / (m_u - 1) and the expected
    sum_{c != k} n_c n_k = n^2 - sum_c n_c^2, so alpha = 1 - (n - 1) D_o / D_e.
    Ordinal: delta_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 = (a_k - a_c)^2 with
    a_g = (n_1 + ... + n_g) - n_g / 2, so ordinal alpha is the squared-difference alpha of the
    values mapped to a_g. Interval: the squared-difference alpha of the values.
    """
    if level == "interval":
        return _alpha_squared(group, t, x.astype(float), n_groups)
    v_codes, uniques = pd.factorize(x, sort=True)
    n_v = len(uniques)
    n_c = np.bincount(group * n_v + v_codes, minlength=n_groups * n_v).astype(float).reshape(n_groups, n_v)
    if level == "ordinal":
        a = np.cumsum(n_c, axis=1) - n_c / 2.0
        return _alpha_squared(group, t, a[group, v_codes], n_groups)
    n = n_c.sum(axis=1)
    m = np.bincount(t).astype(float)
    pair = np.unique(t.astype(np.int64) * n_v + v_codes, return_inverse=True)[1]
    n_uc = np.bincount(pair).astype(float)
    unit_of_pair = np.zeros(len(n_uc), dtype=np.int64)
    unit_of_pair[pair] = t
    sum_sq = np.bincount(unit_of_pair, weights=n_uc ** 2, minlength=len(m))
    unit_group = np.zeros(len(m), dtype=np.int64)
    unit_group[t] = group
    has = m > 1
    disagree = np.bincount(unit_group[has], weights=(m[has] ** 2 - sum_sq[has]) / (m[has] - 1), minlength=n_groups)
    expected = n ** 2 - np.sum(n_c ** 2, axis=1)
    with np.errstate(all="ignore"):
        return 1.0 - (n - 1) * disagree / expected


def _alpha_from_coincidences(t: np.ndarray, x: np.ndarray, level: str) -> float:
    """Krippendorff's alpha of one set of units (:func:`alpha_groups` with one group)."""
    return float(alpha_groups(np.zeros(len(x), dtype=np.int64), t, x, 1, level)[0])


def krippendorff_alpha(df: pd.DataFrame, level: str = "nominal") -> float:
    """Krippendorff's alpha = 1 - D_o / D_e, allowing missing ratings.

    Uses every target with at least two ratings (Krippendorff 2011), computed from the
    coincidence matrix's margins and within-unit sums (see :func:`_alpha_from_coincidences`;
    the same value as the ``krippendorff`` package to 1e-12, in O(n log n) time and O(n)
    memory); ordinal alpha orders categories by rating value.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings; ordinal and interval need numeric ratings.
    level : {"nominal", "ordinal", "interval"}
        Level of measurement (metric for the disagreement D).

    Returns
    -------
    float

    Raises
    ------
    ReliabilityError
        Fewer than 2 raters, fewer than 2 targets with two or more ratings (with one target
        alpha is 0 by construction), no variation, or non-numeric ratings for ordinal/interval.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Annenberg School for Communication, University of Pennsylvania.
    """
    return _krippendorff_alpha(_ensure(df), level)


def _krippendorff_alpha(d: pd.DataFrame, level: str) -> float:
    if level not in ("nominal", "ordinal", "interval"):
        raise ReliabilityError(
            f"level must be 'nominal', 'ordinal' or 'interval', not {level!r}."
        )
    _require_raters(d, "Krippendorff's alpha")
    if level != "nominal":
        _require_numeric(d, f"{level.capitalize()} Krippendorff's alpha")
    t, x = _pairable_values(d)
    n_units = int(t.max()) + 1 if len(t) else 0
    if n_units == 0:
        raise ReliabilityError(
            "Krippendorff's alpha needs targets rated by at least two raters, but no "
            "target has more than one rating; have raters rate the same targets."
        )
    if n_units < 2:
        raise ReliabilityError(
            "Krippendorff's alpha needs at least 2 targets rated by two or more raters, but there "
            "is 1; with one target alpha is 0 by construction, whatever the ratings. Rate more targets."
        )
    if level == "interval":
        _require_squarable(x.astype(float), "Interval Krippendorff's alpha")
    if len(pd.unique(x)) < 2:
        raise ReliabilityError(
            "Krippendorff's alpha is undefined because every rating of a multiply rated "
            f"target is the same value ({_show(x[0])}); it needs variation."
        )
    return _alpha_from_coincidences(t, x, level)


def gwet_ac1(df: pd.DataFrame, categories: list | None = None) -> float:
    """Gwet's AC1 agreement coefficient for any number of raters, missing allowed.

    AC1 = (p_a - p_e) / (1 - p_e), where p_a is the mean over targets with
    r_i >= 2 ratings of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1)), and
    p_e = 1/(q-1) sum_k pi_k (1 - pi_k) with pi_k the mean over targets of
    r_ik / r_i and q the number of categories of the rating scale (Gwet 2014, who defines q as
    the scale's categories, not those used; give ``categories`` for a scale such as 1..5,
    otherwise the categories used stand in). For two raters and two categories
    p_e = 2 pi (1 - pi). Unlike kappa, AC1 stays stable when one category dominates.

    Raises
    ------
    ReliabilityError
        Fewer than 2 raters, fewer than 2 targets with two or more ratings (with one target AC1
        is fixed by the number of categories, not by agreement), or fewer than 2 categories.

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in
    the presence of high agreement. Br. J. Math. Stat. Psychol., 61, 29-48.
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.), ch. 2 and 5.
    """
    return _gwet_ac1(_ensure(df), categories)


def _category_codes(values: np.ndarray, categories: list | None) -> tuple[np.ndarray, list]:
    """Category codes of ``values`` and the category list: the scale's ``categories`` when given
    (a value off the scale is an error with a sentence), otherwise the values used, sorted."""
    if categories is None:
        codes, uniques = pd.factorize(values, sort=True)
        return codes, list(uniques)
    codes = pd.Index(list(categories)).get_indexer(values)
    if (codes < 0).any():
        bad = values[np.flatnonzero(codes < 0)[0]]
        raise ReliabilityError(f"rating {_show(bad)} is not one of the scale's categories.")
    return codes, list(categories)


def _sparse_counts(d: pd.DataFrame, categories: list | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Nonzero cells of the targets x categories count table: (target, category, count), q.

    Sparse, so continuous ratings (thousands of distinct values) never allocate a dense table."""
    t_codes = pd.factorize(d["target"])[0].astype(np.int64)
    c_codes, cats = _category_codes(d["rating"].to_numpy(), categories)
    q = len(cats)
    cell, counts = np.unique(t_codes * q + c_codes, return_counts=True)
    return cell // q, cell % q, counts.astype(float), q


def _chance_corrected(t: np.ndarray, c: np.ndarray, n: np.ndarray, q: int) -> dict[str, float]:
    """Observed and chance agreement of targets x categories counts (``t``, ``c``, count ``n``),
    any number of ratings per target (Gwet 2014, ch. 2 and 5).

    p_a: mean over targets with r_i >= 2 ratings of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1));
    pi_k = mean over all targets of r_ik / r_i; Fleiss' chance agreement sum_k pi_k^2 (Fleiss
    1971, and with unequal numbers of ratings per target Gwet's generalisation) and AC1's
    sum_k pi_k (1 - pi_k) / (q - 1) (Gwet 2008). Returns p_a, pe_fleiss, pe_ac1, n_targets
    (targets with two or more ratings)."""
    n_t = int(t.max()) + 1 if len(t) else 0
    r_i = np.bincount(t, weights=n, minlength=n_t)
    multi = r_i >= 2
    n_targets = int(multi.sum())
    agree = np.bincount(t, weights=n * (n - 1), minlength=n_t)[multi]
    p_a = float(np.mean(agree / (r_i[multi] * (r_i[multi] - 1)))) if n_targets else float("nan")
    pi = np.bincount(c, weights=n / r_i[t], minlength=q) / max(int((r_i > 0).sum()), 1)
    return {"p_a": p_a, "pe_fleiss": float(np.sum(pi ** 2)),
            "pe_ac1": float(np.sum(pi * (1 - pi)) / (q - 1)) if q > 1 else float("nan"), "n_targets": n_targets}


def _gwet_ac1(d: pd.DataFrame, categories: list | None = None) -> float:
    _require_raters(d, "Gwet's AC1")
    t, c, n, q = _sparse_counts(d, categories)
    if q < 2:
        raise ReliabilityError(
            f"Gwet's AC1 is undefined because every rating is the same category "
            f"({_show(d['rating'].iloc[0])}); it needs at least two categories in use or a rating scale."
        )
    chance = _chance_corrected(t, c, n, q)
    if chance["n_targets"] == 0:
        raise ReliabilityError(
            "Gwet's AC1 needs targets rated by at least two raters, but no target has "
            "more than one rating; have raters rate the same targets."
        )
    if chance["n_targets"] < 2:
        raise ReliabilityError(
            "Gwet's AC1 needs at least 2 targets rated by two or more raters, but there is 1; "
            "with one target its value is set by the number of categories, not by agreement. "
            "Rate more targets."
        )
    return (chance["p_a"] - chance["pe_ac1"]) / (1 - chance["pe_ac1"])


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
    if len(wide) < 2:
        raise ReliabilityError(
            f"percent agreement needs at least 2 targets rated by both raters, but {raters[0]!r} "
            f"and {raters[1]!r} share 1; one shared target says nothing about agreement. Have both "
            "rate more of the same targets."
        )
    a, b = wide[raters[0]].to_numpy(), wide[raters[1]].to_numpy()
    exact = float(np.mean(a == b))
    within = None
    if _is_numeric(d):
        within = float(np.mean(np.abs(a.astype(float) - b.astype(float)) <= 1 + 1e-12))
    return {"exact": exact, "within_one": within}
