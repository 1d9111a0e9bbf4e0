"""Generalizability theory: G study variance components for sessions nested in trainees crossed with raters, and the D study (Brennan 2001; Shavelson & Webb 1991).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Mapping
import numpy as np
import pandas as pd
from .long_data import ReliabilityError, _as_labels, _missing_mask


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
