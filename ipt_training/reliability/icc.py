"""Intraclass correlations: the six Shrout & Fleiss (1979) forms on fully crossed data, and the
forms for rotating raters (one-way ICC(1,1) with k0 for unbalanced groups; ICC(A,1) from a crossed
random-effects model by Henderson's Method III) on every target with two or more ratings.

The two-way forms reproduce :func:`pingouin.intraclass_corr` (the tests compare with it) from a
vectorised ANOVA, so a report over many items costs milliseconds rather than one pingouin call each.
"""

from __future__ import annotations

from typing import Any
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.linalg import solve_triangular
from scipy.sparse.csgraph import connected_components
from threadpoolctl import ThreadpoolController
from scipy.stats import f as f_dist
from .long_data import ReliabilityError, _ensure, _finite_or_none, _require_numeric, _require_raters, _require_squarable, _show, same_key_pairs


_BLAS = ThreadpoolController()


ICC_FORMS = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")


ONE_WAY_CI = ("Searle (1971) F-based interval for the unbalanced one-way model, k replaced by k0 "
              "(Donner 1986)")


CROSSED_METHOD = ("Henderson (1953) Method III (fitting constants) moment estimates of the crossed "
                  "random-effects model rating = target + rater + residual; negative components set to 0")


def icc_complete_targets(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep only targets rated by every rater (listwise deletion for the two-way ICC forms).

    Returns
    -------
    complete : pandas.DataFrame
        Ratings of the targets that every rater in the data rated.
    n_dropped : int
        Number of targets left out because some rater did not rate them.
    """
    return _complete_targets(_ensure(df))


def _complete_targets(d: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    n_raters = d["rater"].nunique()
    counts = d.groupby("target", sort=False)["rater"].size()
    complete = counts.index[counts.to_numpy() == n_raters]
    kept = d[d["target"].isin(complete)].reset_index(drop=True)
    return kept, int(len(counts) - len(complete))


def _valid(name: str, value: float | None, ci: list, problems: dict[str, str]) -> tuple[float | None, list]:
    """Null an estimate outside [-1, 1] (with its CI), and a CI that does not contain the estimate.

    CI bounds below -1 (possible for the average-measure forms) are shown as -1."""
    if value is not None and not (-1.0 - 1e-12 <= value <= 1.0 + 1e-12):
        problems[name] = (f"the estimate {value:.3g} lies outside [-1, 1], which no correlation can; the "
                          "mean squares do not fit the model (e.g. raters whose ratings run against each "
                          "other, or too few targets)")
        return None, [None, None]
    if value is None:
        problems.setdefault(name, "it is undefined for these data (a mean square it divides by is zero)")
        return None, [None, None]
    if None in ci:
        problems.setdefault(f"{name} CI", "its 95% CI is undefined for these data")
        return value, [None, None]
    if not (ci[0] <= value <= ci[1]):
        problems[f"{name} CI"] = ("its 95% CI approximation does not contain the estimate (it breaks "
                                  "down with very few targets)")
        return value, [None, None]
    return value, [float(max(-1.0, ci[0])), float(min(1.0, ci[1]))]


def _two_way_table(complete: pd.DataFrame) -> np.ndarray:
    wide = complete.pivot(index="target", columns="rater", values="rating")
    return wide.to_numpy(float)


def _icc(d: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The six Shrout & Fleiss forms on the complete targets; ``problems`` says what was nulled."""
    _require_raters(d, "The ICC")
    _require_numeric(d, "The ICC")
    complete, _ = _complete_targets(d)
    n_targets = d["target"].nunique()
    y = _two_way_table(complete) if len(complete) else np.empty((0, d["rater"].nunique()))
    n, k = y.shape
    _require_squarable(y.ravel(), "The ICC")
    if n < 3:
        raise ReliabilityError(
            f"the ICC needs at least 3 targets rated by all {k} raters, but only {n} of {n_targets} "
            "targets are; have every rater rate the same targets (or compare fewer raters)."
        )
    if np.ptp(y) == 0:
        raise ReliabilityError(
            f"the ICC is undefined because every rating is the same value ({_show(y[0, 0])}); "
            "the ratings must vary across targets."
        )
    return _icc_table(y)


def _icc_table(y: np.ndarray) -> dict[str, Any]:
    """The six forms from a complete targets x raters table (at least 3 rows, not constant)."""
    n, k = y.shape
    grand = y.mean()
    ss_total = float(((y - grand) ** 2).sum())
    ss_rows = float(k * ((y.mean(axis=1) - grand) ** 2).sum())
    ss_cols = float(n * ((y.mean(axis=0) - grand) ** 2).sum())
    ss_err = max(ss_total - ss_rows - ss_cols, 0.0)
    msb, msj = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    return _forms(msb, msw, msj, mse, n, k, ss_total)


def _forms(msb: float, msw: float, msj: float, mse: float, n: int, k: int, ss_total: float) -> dict:
    """McGraw & Wong (1996) estimates, F tests and CIs, as pingouin 0.7 computes them."""
    msb, msw, msj, mse = (np.float64(x) for x in (msb, msw, msj, mse))
    tiny = 1e-12 * max(ss_total, 1e-300)
    problems: dict[str, str] = {}
    df1, df1kd, df2kd = n - 1, n * (k - 1), (n - 1) * (k - 1)
    with np.errstate(all="ignore"):
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        icc1k = (msb - msw) / msb
        icc2k = (msb - mse) / (msb + (msj - mse) / n)
        icc3k = (msb - mse) / msb
        f1 = msb / msw if msw * df1kd > tiny else np.inf
        f2 = msb / mse if mse * df2kd > tiny else np.inf
        q = 0.975
        f1l, f1u = f1 / f_dist.ppf(q, df1, df1kd), f1 * f_dist.ppf(q, df1kd, df1)
        f3l, f3u = f2 / f_dist.ppf(q, df1, df2kd), f2 * f_dist.ppf(q, df2kd, df1)
        ci1 = [(f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)]
        ci3 = [(f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)]
        fj = msj / mse
        vn = df2kd * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = df1 * k ** 2 * icc2 ** 2 * fj ** 2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        f2u, f2l = f_dist.ppf(q, n - 1, v), f_dist.ppf(q, v, n - 1)
        l2 = n * (msb - f2u * mse) / (f2u * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (f2l * msb - mse) / (k * msj + (k * n - k - n) * mse + n * f2l * msb)
        ci = {
            "ICC(1,1)": ci1, "ICC(2,1)": [l2, u2], "ICC(3,1)": ci3,
            "ICC(1,k)": [1 - 1 / f1l, 1 - 1 / f1u],
            "ICC(2,k)": [l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))],
            "ICC(3,k)": [1 - 1 / f3l, 1 - 1 / f3u],
        }
        p1, p2 = f_dist.sf(f1, df1, df1kd), f_dist.sf(f2, df1, df2kd)
    values = {"ICC(1,1)": icc1, "ICC(2,1)": icc2, "ICC(3,1)": icc3,
              "ICC(1,k)": icc1k, "ICC(2,k)": icc2k, "ICC(3,k)": icc3k}
    out: dict[str, dict[str, Any]] = {}
    for name in ICC_FORMS:
        one_way = name.startswith("ICC(1")
        fval = f1 if one_way else f2
        if not np.isfinite(fval):
            problems[f"{name} CI"] = ("the residual mean square is zero (the raters agree perfectly, or "
                                      "differ only by a constant), so F, p and the 95% CI are undefined")
        value, interval = _valid(name, _finite_or_none(values[name]),
                                 [_finite_or_none(c) if np.isfinite(fval) else None for c in ci[name]], problems)
        out[name] = {
            "value": value, "ci95": interval, "F": _finite_or_none(fval),
            "df1": float(df1), "df2": float(df1kd if one_way else df2kd),
            "p": _finite_or_none(p1 if one_way else p2),
        }
    out["problems"] = problems
    return out


def icc(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Intraclass correlations ICC(1,1) ... ICC(3,k) of Shrout & Fleiss (1979).

    Two-way ANOVA on the targets rated by every rater (see :func:`icc_complete_targets`), with the
    estimates, F tests and confidence intervals of McGraw & Wong (1996) as
    :func:`pingouin.intraclass_corr` computes them. ICC(2,1) = (MSR - MSE) / (MSR + (k-1) MSE +
    k (MSC - MSE) / n) is absolute agreement (McGraw & Wong's ICC(A,1)); ICC(3,1) is consistency.
    For raters who rotate across targets use :func:`icc_oneway` and :func:`icc_crossed`, which use
    every target with two or more ratings.

    Returns
    -------
    dict
        Keys "ICC(1,1)", ..., "ICC(3,k)"; each ``{"value", "ci95": [lo, hi], "F", "df1", "df2",
        "p"}`` as plain floats. An estimate outside [-1, 1] is None with its CI; a CI that does
        not contain its estimate is [None, None]; F, p and the CI are None when the residual mean
        square is zero (:func:`summarize` says why in its warnings).

    Raises
    ------
    ReliabilityError
        Fewer than 2 raters, fewer than 3 complete targets, zero variance or non-numeric ratings.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Psychological Bulletin, 86, 420-428.
    McGraw, K. O., & Wong, S. P. (1996). Psychological Methods, 1, 30-46.
    """
    out = _icc(_ensure(df))
    out.pop("problems")
    return out


def icc_2_1(df: pd.DataFrame) -> dict[str, Any]:
    """ICC(2,1): two-way random effects, absolute agreement, single rater (fully crossed data).

    Returns
    -------
    dict
        ``{"value", "ci95", "F", "df1", "df2", "p"}``; see :func:`icc`.
    """
    return icc(df)["ICC(2,1)"]


# --- every target with two or more ratings ---------------------------------------------------


def oneway_groups(group: np.ndarray, target: np.ndarray, y: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """One-way random-effects ICC(1,1) and ICC(1,k) for many groups at once (e.g. every item).

    ``group`` (0..n_groups-1) and ``target`` are integer codes per rating (a target code is unique
    across groups); targets with fewer than two ratings must already be left out. ANOVA estimator
    for unbalanced groups: MSB = SSB / (a - 1), MSW = SSW / (N - a),
    k0 = (N - sum n_i^2 / N) / (a - 1), ICC(1,1) = (MSB - MSW) / (MSB + (k0 - 1) MSW);
    95 % CI from F = MSB / MSW with F_L = F / F_.975(a-1, N-a), F_U = F F_.975(N-a, a-1),
    bounds (F_x - 1) / (F_x + k0 - 1) (Searle 1971; Donner 1986). ICC(1,k0) = 1 - 1/F.

    Returns
    -------
    dict of arrays (length n_groups)
        icc, lo, hi, icc_k, lo_k, hi_k, F, a (targets), N (ratings), k0, msb, msw.

    References
    ----------
    Searle, S. R. (1971). Linear Models. Wiley, ch. 9.
    Donner, A. (1986). A review of inference procedures for the intraclass correlation coefficient
    in the one-way random effects model. International Statistical Review, 54, 67-82.
    """
    n_t = int(target.max()) + 1 if len(target) else 0
    n_i = np.bincount(target, minlength=n_t).astype(float)
    s_i = np.bincount(target, weights=y, minlength=n_t)
    has = n_i > 0
    mean_i = np.divide(s_i, n_i, out=np.zeros_like(s_i), where=has)
    t_group = np.zeros(n_t, dtype=np.int64)
    t_group[target] = group
    N = np.bincount(group, minlength=n_groups).astype(float)
    a = np.bincount(t_group[has], minlength=n_groups).astype(float)
    grand = np.divide(np.bincount(group, weights=y, minlength=n_groups), N, out=np.zeros(n_groups), where=N > 0)
    ssw = np.bincount(group, weights=(y - mean_i[target]) ** 2, minlength=n_groups)
    ssb = np.bincount(t_group[has], weights=n_i[has] * (mean_i[has] - grand[t_group[has]]) ** 2,
                      minlength=n_groups)
    sum_n2 = np.bincount(t_group[has], weights=n_i[has] ** 2, minlength=n_groups)
    return oneway_closed(ssb, ssw, N, a, sum_n2)


def oneway_closed(ssb: np.ndarray, ssw: np.ndarray, N: np.ndarray, a: np.ndarray,
                  sum_n2: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`oneway_groups` from each group's sums of squares between (``ssb``) and within
    (``ssw``) targets, ratings ``N``, targets ``a`` and sum of squared target sizes ``sum_n2``."""
    with np.errstate(all="ignore"):
        msb = ssb / (a - 1)
        msw = ssw / (N - a)
        k0 = (N - sum_n2 / N) / (a - 1)
        icc1 = (msb - msw) / (msb + (k0 - 1) * msw)
        fval = np.where(msw > 1e-12 * (ssb + ssw) / np.maximum(N - a, 1), msb / msw, np.inf)
        fl = fval / f_dist.ppf(0.975, a - 1, N - a)
        fu = fval * f_dist.ppf(0.975, N - a, a - 1)
        out = {"icc": icc1, "lo": (fl - 1) / (fl + k0 - 1), "hi": (fu - 1) / (fu + k0 - 1),
               "icc_k": (msb - msw) / msb, "lo_k": 1 - 1 / fl, "hi_k": 1 - 1 / fu,
               "F": fval, "a": a, "N": N, "k0": k0, "msb": msb, "msw": msw}
    return out


def crossed_groups(group: np.ndarray, target: np.ndarray, rater: np.ndarray, y: np.ndarray,
                   n_groups: int) -> dict[str, np.ndarray]:
    """Variance components of rating = mu + target + rater + residual, for many groups at once
    (e.g. every item of an instrument), on unbalanced crossed data.

    Henderson's Method III (fitting constants): with R(.) the reductions in sums of squares,
    sigma2_e = SSE / (N - rank[1 Zt Zr]),
    sigma2_r = (R(r | mu, t) - df_r sigma2_e) / (N - sum_i sum_j n_ij^2 / n_i.),
    sigma2_t = (R(t | mu, r) - df_t sigma2_e) / (N - sum_j sum_i n_ij^2 / n_.j),
    each unbiased whatever the pattern of missing ratings (a rater rates a target at most once,
    so the sums of n_ij^2 are a and b). The rater effects are absorbed through the
    rater-by-rater matrix C = diag(n_.j) - N' diag(1/n_i.) N of each group; C is singular once
    per connected block of raters (linked through shared targets), and R(r | mu, t) = q' C^+ q
    is obtained from one batched solve with C + P, P the block-indicator matrix (C P = 0 and q is
    orthogonal to every block, so q' (C + P)^-1 q = q' C^+ q).

    ``group`` is 0..n_groups-1, ``target`` integer codes unique across groups, ``rater`` codes
    0..b-1 shared by the groups; every target must have two or more ratings.

    Returns
    -------
    dict of arrays (length n_groups)
        target, rater, residual (variances, negative estimates kept; NaN where the group cannot
        separate them: df_e, df_t or df_r <= 0), df_e, df_r, df_t, a (targets), b (raters), N.

    References
    ----------
    Henderson, C. R. (1953). Estimation of variance and covariance components. Biometrics, 9, 226-252.
    Searle, S. R., Casella, G., & McCulloch, C. E. (1992). Variance Components. Wiley, ch. 5.
    """
    group, target, rater = (np.asarray(v, dtype=np.int64) for v in (group, target, rater))
    y = np.asarray(y, dtype=float)
    n_t = int(target.max()) + 1 if len(target) else 0
    b = int(rater.max()) + 1 if len(rater) else 0
    G = int(n_groups)
    N = np.bincount(group, minlength=G).astype(float)
    grand = np.divide(np.bincount(group, weights=y, minlength=G), N, out=np.zeros(G), where=N > 0)
    yc = y - grand[group]
    n_i = np.bincount(target, minlength=n_t).astype(float)
    has_t = n_i > 0
    t_sum = np.bincount(target, weights=yc, minlength=n_t)
    t_group = np.zeros(n_t, dtype=np.int64)
    t_group[target] = group
    gr = group * b + rater                                   # rater within group
    n_j = np.bincount(gr, minlength=G * b).astype(float)
    r_sum = np.bincount(gr, weights=yc, minlength=G * b)
    # C = diag(n_.j) - sum over targets i of (1 / n_i.) e_j e_k' for every two ratings j, k of i
    w = 1.0 / np.where(has_t, n_i, 1.0)
    i, j = same_key_pairs(target)
    cells = np.concatenate([gr * b + rater, gr[i] * b + rater[j], gr[j] * b + rater[i]])
    c = -np.bincount(cells, weights=np.concatenate([w[target], w[target[i]], w[target[i]]]), minlength=G * b * b)
    diag = np.arange(G * b)
    c[diag * b + diag % b] += n_j
    c = c.reshape(G, b, b)
    rhs = (r_sum - np.bincount(gr, weights=(t_sum * w)[target], minlength=G * b)).reshape(G, b)
    # connected blocks of raters within each group, through shared targets
    edges = sparse.csr_matrix((np.ones(len(y)), (target, n_t + gr)), shape=(n_t + G * b, n_t + G * b))
    _, labels = connected_components(edges, directed=False)
    block = labels[n_t:].reshape(G, b)
    present = n_j.reshape(G, b) > 0
    a_g = np.bincount(t_group[has_t], minlength=G).astype(float)
    ss_t = np.bincount(t_group[has_t], weights=t_sum[has_t] ** 2 / n_i[has_t], minlength=G)   # R(t | mu)
    nj = n_j.reshape(G, b)
    ss_r = np.sum(np.divide(r_sum.reshape(G, b) ** 2, nj, out=np.zeros((G, b)), where=nj > 0), axis=1)  # R(r | mu)
    ss_all = np.bincount(group, weights=yc ** 2, minlength=G)
    return crossed_closed(c, rhs, block, present, N, a_g, ss_all, ss_t, ss_r)


def crossed_closed(c: np.ndarray, rhs: np.ndarray, block: np.ndarray, present: np.ndarray, N: np.ndarray,
                   a_g: np.ndarray, ss_all: np.ndarray, ss_t: np.ndarray, ss_r: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`crossed_groups` from each group's matrix C (groups x raters x raters), q (``rhs``),
    the raters' connected blocks (``block``, labels unique across groups) and which raters rated
    (``present``), ratings ``N``, targets ``a_g`` and the reductions in sums of squares about the
    group mean: total (``ss_all``), R(t | mu) (``ss_t``) and R(r | mu) (``ss_r``)."""
    G = len(N)
    c = c + (block[:, :, None] == block[:, None, :])
    with _BLAS.limit(limits=1, user_api="blas"):  # threaded BLAS on a busy machine: 100x slower
        try:  # C + P is positive definite: q' (C + P)^-1 q = |L^-1 q|^2 with C + P = L L'
            low = np.linalg.cholesky(c)
            r_rater = np.array([np.sum(solve_triangular(low[g], rhs[g], lower=True, check_finite=False) ** 2)
                                for g in range(G)])
        except np.linalg.LinAlgError:
            r_rater = np.einsum("gb,gb->g", rhs, np.linalg.solve(c, rhs[:, :, None])[:, :, 0])  # R(r | mu, t)
    n_blocks = np.array([len(np.unique(block[g][present[g]])) for g in range(G)], dtype=float)
    return crossed_reduced(r_rater, n_blocks, present.sum(axis=1).astype(float), N, a_g, ss_all, ss_t, ss_r)


def crossed_reduced(r_rater: np.ndarray, n_blocks: np.ndarray, b_g: np.ndarray, N: np.ndarray, a_g: np.ndarray,
                    ss_all: np.ndarray, ss_t: np.ndarray, ss_r: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`crossed_closed` from R(r | mu, t) (``r_rater``), each group's connected blocks of
    raters and raters who rated (``b_g``)."""
    G = len(N)
    df_r = b_g - n_blocks
    df_e = N - a_g - df_r
    df_t = a_g + df_r - b_g
    ss_full = ss_t + r_rater
    ok = (df_e > 0) & (df_t > 0) & (df_r > 0)
    with np.errstate(all="ignore"):
        se2 = np.maximum(ss_all - ss_full, 0.0) / df_e
        sr2 = (r_rater - df_r * se2) / (N - a_g)
        st2 = ((ss_full - ss_r) - df_t * se2) / (N - b_g)
    nan = np.full(G, np.nan)
    return {"target": np.where(ok, st2, nan), "rater": np.where(ok, sr2, nan), "residual": np.where(ok, se2, nan),
            "df_e": df_e, "df_r": df_r, "df_t": df_t, "a": a_g, "b": b_g, "N": N}


def crossed_components(target: np.ndarray, rater: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Variance components of rating = mu + target + rater + residual on unbalanced crossed data
    (Henderson's Method III; one group of :func:`crossed_groups`, which gives the formulas).

    ``target`` and ``rater`` are integer codes 0..a-1 and 0..b-1, one pair per rating.

    Returns
    -------
    dict
        target, rater, residual (variances, negative estimates kept), df_e, a, b, N.
    """
    r = crossed_groups(np.zeros(len(y), dtype=np.int64), target, rater, y, 1)
    a, b, n = int(r["a"][0]), int(r["b"][0]), len(y)
    if not np.isfinite(r["residual"][0]):
        raise ReliabilityError(
            "the crossed model cannot separate target, rater and residual variance with these "
            f"ratings ({a} targets, {b} raters, {n} ratings); more targets rated by overlapping "
            "raters are needed."
        )
    return {"target": float(r["target"][0]), "rater": float(r["rater"][0]), "residual": float(r["residual"][0]),
            "df_e": float(r["df_e"][0]), "a": a, "b": b, "N": n}


def _codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values)[0].astype(np.int64)


def _pairable(d: pd.DataFrame) -> pd.DataFrame:
    n = d.groupby("target", sort=False)["rater"].transform("size").to_numpy()
    return d[n >= 2]


def icc_oneway(df: pd.DataFrame) -> dict[str, Any]:
    """One-way ICC(1,1) and ICC(1,k) on every target with two or more ratings (raters may rotate).

    See :func:`oneway_groups` for the estimator (ANOVA with k0 for unbalanced groups) and the CI.

    Returns
    -------
    dict
        ``{"ICC(1,1)": {"value", "ci95", "F", "df1", "df2", "p"}, "ICC(1,k)": {...}, "k0",
        "n_targets", "n_ratings", "ci_method", "problems"}``; ICC(1,k) is ICC(1,k0).
    """
    d = _ensure(df)
    _require_numeric(d, "The ICC")
    return _icc_oneway(d)


def _icc_oneway(d: pd.DataFrame) -> dict[str, Any]:
    p = _pairable(d)
    return oneway_from_codes(_codes(p["target"]), p["rating"].to_numpy(float))


def oneway_from_codes(target: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """:func:`icc_oneway` on integer target codes and ratings (targets with 2+ ratings only)."""
    n_targets = len(np.unique(target))
    if n_targets < 3:
        raise ReliabilityError(
            f"the one-way ICC needs at least 3 targets with two or more ratings, but there "
            f"{'is' if n_targets == 1 else 'are'} {n_targets}; have more targets rated twice."
        )
    _require_squarable(y, "The ICC")
    if np.ptp(y) == 0:
        raise ReliabilityError(
            f"the ICC is undefined because every rating is the same value ({_show(y[0])}); "
            "the ratings must vary across targets."
        )
    r = oneway_groups(np.zeros(len(y), dtype=np.int64), target, y, 1)
    problems: dict[str, str] = {}
    if not np.isfinite(r["F"][0]):
        problems["ICC(1,1) CI"] = problems["ICC(1,k) CI"] = (
            "the within-target mean square is zero (every target's ratings agree), so the 95% CI "
            "is undefined")
    out: dict[str, Any] = {}
    a, n = float(r["a"][0]), float(r["N"][0])
    fval = _finite_or_none(r["F"][0])
    p_value = _finite_or_none(f_dist.sf(fval, a - 1, n - a)) if fval is not None else None
    for name, v, lo, hi in (("ICC(1,1)", "icc", "lo", "hi"), ("ICC(1,k)", "icc_k", "lo_k", "hi_k")):
        value, ci = _valid(name, _finite_or_none(r[v][0]),
                           [_finite_or_none(r[lo][0]), _finite_or_none(r[hi][0])], problems)
        out[name] = {"value": value, "ci95": ci, "F": fval, "df1": a - 1, "df2": n - a, "p": p_value}
    out.update(k0=float(r["k0"][0]), n_targets=n_targets, n_ratings=int(len(y)), ci_method=ONE_WAY_CI,
               problems=problems)
    return out


def icc_crossed(df: pd.DataFrame) -> dict[str, Any]:
    """Absolute-agreement ICC(A,1) = s2_t / (s2_t + s2_r + s2_e) from the crossed random-effects
    model fitted to every target with two or more ratings (raters may rotate).

    Components by Henderson's Method III (:func:`crossed_components`); negative estimates are set
    to 0 before the ratio, as a REML fit would put them on the boundary. Tested against lme4 REML
    (``lmer(rating ~ 1 + (1|target) + (1|rater))``) on a rotating design.

    Returns
    -------
    dict
        ``{"value", "method", "components": {target, rater, residual}, "n_targets", "problems"}``.
    """
    d = _ensure(df)
    _require_numeric(d, "The ICC")
    return _icc_crossed(d)


def _icc_crossed(d: pd.DataFrame) -> dict[str, Any]:
    p = _pairable(d)
    return crossed_from_codes(_codes(p["target"]), _codes(p["rater"]), p["rating"].to_numpy(float))


def crossed_from_codes(target: np.ndarray, rater: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """:func:`icc_crossed` on contiguous integer codes (targets with 2+ ratings only)."""
    n_targets = int(target.max()) + 1 if len(target) else 0
    if n_targets < 3:
        raise ReliabilityError(
            f"ICC(A,1) needs at least 3 targets with two or more ratings, but there "
            f"{'is' if n_targets == 1 else 'are'} {n_targets}; have more targets rated twice."
        )
    _require_squarable(y, "ICC(A,1)")
    return _crossed_result(crossed_components(target, rater, y), n_targets)


def _crossed_result(comps: dict[str, float], n_targets: int) -> dict[str, Any]:
    problems: dict[str, str] = {}
    parts = {k: comps[k] for k in ("target", "rater", "residual")}
    for k, v in parts.items():
        if v < 0:
            problems[f"{k} variance"] = f"the {k} variance estimate was negative ({v:.3g}) and is set to 0"
    pos = {k: max(v, 0.0) for k, v in parts.items()}
    total = sum(pos.values())
    value = pos["target"] / total if total > 0 else None
    return {"value": value, "method": CROSSED_METHOD, "components": parts, "n_targets": n_targets,
            "problems": problems}
