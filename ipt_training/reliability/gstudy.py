"""Generalizability theory: G study variance components for sessions nested in trainees crossed with raters, and the D study (Brennan 2001; Shavelson & Webb 1991).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping
import numpy as np
import pandas as pd
from .long_data import ReliabilityError, _as_labels, _missing_mask


G_COMPONENTS = ("trainee", "session", "rater", "trainee_x_rater", "residual")


DESIGN = "(s:p) x r: sessions nested in trainees, crossed with raters"


def _codes(series: pd.Series) -> np.ndarray:
    """Integer codes of identifiers, equal where their labels (:func:`_as_labels`) are: whole
    numbers are coded as they are, anything else by its stripped text."""
    if series.dtype.kind == "f":
        values = series.to_numpy()
        if not (np.all(np.isfinite(values)) and np.all(values == np.round(values))):
            return pd.factorize(_as_labels(series))[0].astype(np.int64)
        return pd.factorize(values.astype(np.int64))[0].astype(np.int64)
    if series.dtype.kind in "iub":
        return pd.factorize(series.to_numpy())[0].astype(np.int64)
    return pd.factorize(_as_labels(series))[0].astype(np.int64)


def _g_validate(df: pd.DataFrame) -> dict[str, Any]:
    """The scores and integer codes of trainee, session within trainee and rater (``session``
    codes the (trainee, session) pair), after the checks whose sentences the user sees."""
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
    d = df[["trainee", "session", "rater", "score"]]
    present = ~_missing_mask(d["score"])
    if not present.all():
        d = d[present]
    d = d.reset_index(drop=True)
    if d.empty:
        raise ReliabilityError("there are no scores; the G study needs scored sessions.")
    score = pd.to_numeric(d["score"], errors="coerce")
    if score.isna().any():
        bad = int(np.flatnonzero(score.isna().to_numpy())[0])
        raise ReliabilityError(
            f"score {d['score'].iloc[bad]!r} (row {bad + 1}) is not a number; "
            "the G study needs numeric scores."
        )
    codes = {}
    for col in ("trainee", "session", "rater"):
        if _missing_mask(d[col]).any():
            raise ReliabilityError(f"some scores have no {col}; fill it in or drop those rows.")
        codes[col] = _codes(d[col])
    trainee, rater = codes["trainee"], codes["rater"]
    session = pd.factorize(trainee * (int(codes["session"].max()) + 1) + codes["session"])[0].astype(np.int64)
    key = session * (int(rater.max()) + 1) + rater
    dup = pd.Series(key).duplicated().to_numpy()
    if dup.any():
        row = d.iloc[[int(np.flatnonzero(dup)[0])]]
        label = {col: _as_labels(row[col]).iloc[0] for col in ("trainee", "session", "rater")}
        raise ReliabilityError(
            f"rater {label['rater']!r} scored session {label['session']!r} of trainee "
            f"{label['trainee']!r} twice; keep one score per session and rater."
        )
    return {"trainee": trainee, "session": session, "rater": rater, "score": score.to_numpy(float)}


def _g_anova(d: dict[str, Any], n_t: int, n_s: int, n_r: int) -> tuple[dict[str, float], dict[str, float]]:
    """Expected-mean-squares estimates for the balanced (s:p) x r design (Brennan 2001, ch. 7).

    EMS: MS_p = e + n_s pr + n_r s + n_s n_r p; MS_s:p = e + n_r s; MS_r = e + n_s pr + n_p n_s r;
    MS_pr = e + n_s pr; MS_res (rs:p, e) = e.
    """
    order = np.lexsort((d["rater"], d["session"], d["trainee"]))
    x = d["score"][order].reshape(n_t, n_s, n_r)
    grand = x.mean()
    m_t = x.mean(axis=(1, 2))
    m_ts = x.mean(axis=2)
    m_r = x.mean(axis=(0, 1))
    m_tr = x.mean(axis=1)
    ss_t = n_s * n_r * np.sum((m_t - grand) ** 2)
    ss_st = n_r * np.sum((m_ts - m_t[:, None]) ** 2)
    ss_r = n_t * n_s * np.sum((m_r - grand) ** 2)
    ss_tr = n_s * np.sum((m_tr - m_t[:, None] - m_r[None, :] + grand) ** 2)
    ss_res = np.sum((x - grand) ** 2) - ss_t - ss_st - ss_r - ss_tr
    ms = {
        "trainee": ss_t / (n_t - 1),
        "session": ss_st / (n_t * (n_s - 1)),
        "rater": ss_r / (n_r - 1),
        "trainee_x_rater": ss_tr / ((n_t - 1) * (n_r - 1)),
        "residual": ss_res / (n_t * (n_s - 1) * (n_r - 1)),
    }
    comps = {
        "trainee": (ms["trainee"] - ms["session"] - ms["trainee_x_rater"] + ms["residual"]) / (n_s * n_r),
        "session": (ms["session"] - ms["residual"]) / n_r,
        "rater": (ms["rater"] - ms["trainee_x_rater"]) / (n_t * n_s),
        "trainee_x_rater": (ms["trainee_x_rater"] - ms["residual"]) / n_s,
        "residual": ms["residual"],
    }
    return {k: float(v) for k, v in comps.items()}, {k: float(v) for k, v in ms.items()}


def _pair_sums(x: np.ndarray, group: np.ndarray | None) -> tuple[float, float]:
    """Sum over unordered pairs in the same ``group`` (integer codes; None: one group) of
    (x_i - x_j)^2, and the number of such pairs.

    Within a group of n values, sum_{i<j} (x_i - x_j)^2 = n * sum x^2 - (sum x)^2; the group sums
    by ``bincount`` (a pandas groupby of the label columns cost ~90 ms at scale L, issue 16).
    """
    if group is None:
        n = len(x)
        return float(n * np.sum(x * x) - np.sum(x) ** 2), n * (n - 1) / 2
    n = np.bincount(group).astype(float)
    s, s2 = np.bincount(group, weights=x), np.bincount(group, weights=x * x)
    return float((n * s2 - s ** 2).sum()), float((n * (n - 1) / 2).sum())


def _g_symmetric_sums(d: dict[str, Any]) -> tuple[dict[str, float], list[str], bool]:
    """Moment estimates from squared differences of pairs of scores (Koch 1967), unbalanced data.

    Half the mean squared difference of two scores estimates the sum of the components in which
    they differ: same session, other rater (A): r + pr + e; same trainee and rater, other session
    (B): s + e; same trainee, other session and rater (C): s + r + pr + e; other trainee, same
    rater (D): p + s + pr + e; other trainee and rater (E): p + s + r + pr + e. So e = A + B - C,
    r = E - D, pr = A - e - r, s = B - e, p = D - s - pr - e. Without pairs of type B or C the
    trainee x rater interaction cannot be told from the residual and is pooled into it.

    Koch, G. G. (1967). A general approach to the estimation of variance components.
    Technometrics, 9(1), 93-118.
    """
    x, trainee, session, rater = d["score"], d["trainee"], d["session"], d["rater"]
    p_all, c_all = _pair_sums(x, None)
    p_t, c_t = _pair_sums(x, trainee)
    p_s, c_s = _pair_sums(x, session)  # a session_id names its trainee: (trainee, session) groups
    p_r, c_r = _pair_sums(x, rater)
    # (trainee, rater) cells numbered as they come: their product of codes would size the sums at XL
    p_tr, c_tr = _pair_sums(x, pd.factorize(trainee * (int(rater.max()) + 1) + rater)[0])

    def half_mean(p, c):
        return p / c / 2 if c > 0 else None

    a = half_mean(p_s, c_s)
    b = half_mean(p_tr, c_tr)
    c = half_mean(p_t - p_s - p_tr, c_t - c_s - c_tr)
    dd = half_mean(p_r - p_tr, c_r - c_tr)
    e_ = half_mean(p_all - p_t - p_r + p_tr, c_all - c_t - c_r + c_tr)
    if a is None or dd is None or e_ is None:
        raise ReliabilityError(
            "the G study cannot separate trainee, rater and residual variance: it needs sessions scored "
            "by two raters and raters who score several trainees; rate more sessions with the same raters."
        )
    notes = []
    rater = e_ - dd
    if b is not None and c is not None:
        resid = a + b - c
        inter = a - resid - rater
        session = b - resid
        separated = True
    else:
        notes.append("the trainee x rater interaction cannot be separated from the residual with these data "
                     "(no trainee has two sessions scored by the same rater and two by different raters); "
                     "it is pooled into the residual.")
        inter = 0.0
        resid = a - rater
        session = (c - a) if c is not None else (b - resid)
        separated = False
    trainee = dd - session - inter - resid
    comps = {"trainee": trainee, "session": session, "rater": rater, "trainee_x_rater": inter, "residual": resid}
    return {k: float(v) for k, v in comps.items()}, notes, separated


def g_study(df: pd.DataFrame, method: str = "auto") -> dict[str, Any]:
    """Variance components of fidelity scores in the (s:p) x r design.

    Model: X = mu + p + s:p + r + pr + e, with p the trainee, s:p the session within the trainee,
    r the rater, pr the trainee x rater interaction (a rater's leniency toward one trainee) and e
    the residual (which includes the rater x session interaction).

    Estimators: balanced data (every trainee has the same number of sessions and every session is
    scored by every rater) give the ANOVA / expected-mean-squares estimates, which equal REML
    (lme4) whenever none is negative; unbalanced data give Koch's (1967) symmetric-sums moment
    estimates, unbiased and non-iterative, so they scale to thousands of sessions. Either way a
    negative estimate is set to 0 with a warning (Brennan 2001, sec. 3.4), as REML would put it
    on the boundary; the others are kept as estimated, so they may differ from a REML refit.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns trainee, session, rater, score (one row per score).
    method : {"auto", "anova", "moments"}
        "auto" uses ANOVA when the design is balanced, else "moments".

    Returns
    -------
    dict
        design, components {trainee, session, rater, trainee_x_rater, residual}, method, balanced,
        interaction_separated, n_trainees, n_sessions, n_raters, n_scores, mean_squares (ANOVA
        only, else None), warnings.

    References
    ----------
    Shavelson, R. J., & Webb, N. M. (1991). Generalizability Theory: A Primer. Sage.
    Brennan, R. L. (2001). Generalizability Theory. Springer.
    """
    if method not in ("auto", "anova", "moments"):
        raise ReliabilityError(f"method must be 'auto', 'anova' or 'moments', not {method!r}.")
    d = _g_validate(df)
    n_t = int(d["trainee"].max()) + 1
    n_r = int(d["rater"].max()) + 1
    trainee_of = np.zeros(int(d["session"].max()) + 1, np.int64)
    trainee_of[d["session"]] = d["trainee"]
    sessions_per_trainee = np.bincount(trainee_of, minlength=n_t)
    raters_per_session = np.bincount(d["session"])  # one score per session and rater (checked)
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
    n_s = int(sessions_per_trainee[0])
    balanced = bool((sessions_per_trainee == n_s).all() and (raters_per_session == n_r).all())
    warns: list[str] = []
    mean_squares = None
    if method == "anova" and not balanced:
        raise ReliabilityError(
            "the ANOVA estimator needs a balanced design (same number of sessions per "
            "trainee, every session scored by every rater); use method='moments'."
        )
    separated = True
    if balanced and method in ("auto", "anova"):
        comps, mean_squares = _g_anova(d, n_t, n_s, n_r)
        used = "ANOVA (expected mean squares), balanced design"
    else:
        comps, notes, separated = _g_symmetric_sums(d)
        warns += notes
        used = "moments (Koch 1967 symmetric sums), unbalanced design"
    for name in G_COMPONENTS:
        if comps[name] < 0:
            warns.append(
                f"the {name.replace('_x_', ' x ')} variance estimate was negative ({comps[name]:.4g}) and is "
                "set to 0 (Brennan 2001)."
            )
            comps[name] = 0.0
    return {
        "design": DESIGN + ("; trainee x rater interaction estimated" if separated
                            else "; trainee x rater interaction pooled into the residual"),
        "components": comps,
        "method": used,
        "balanced": balanced,
        "interaction_separated": separated,
        "n_trainees": int(n_t),
        "n_sessions": int(len(trainee_of)),
        "n_raters": int(n_r),
        "n_scores": int(len(d["score"])),
        "mean_squares": mean_squares,
        "warnings": warns,
    }


def d_study(
    components: Mapping[str, Any],
    raters: Iterable[int] = range(1, 5),
    sessions: Iterable[int] = range(1, 7),
) -> pd.DataFrame:
    """Projected generalizability (relative, E rho^2) and dependability (absolute, phi) of a
    trainee's mean fidelity score over n_s sessions each scored by the same n_r raters.

    delta = s / n_s + pr / n_r + e / (n_s n_r) (relative error), Delta = delta + r / n_r
    (absolute error); E rho^2 = p / (p + delta), phi = p / (p + Delta) (Brennan 2001, ch. 4 and 7).

    Returns
    -------
    pandas.DataFrame
        Columns n_raters, n_sessions, rel_error_variance, abs_error_variance, g, phi.
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
            rel = v["session"] / n_s + v["trainee_x_rater"] / n_r + v["residual"] / (n_s * n_r)
            err = rel + v["rater"] / n_r
            if v["trainee"] + err <= 0:
                raise ReliabilityError("all variance components are 0, so dependability is undefined.")
            g = v["trainee"] / (v["trainee"] + rel) if v["trainee"] + rel > 0 else 1.0
            rows.append({"n_raters": int(n_r), "n_sessions": int(n_s), "rel_error_variance": rel,
                         "abs_error_variance": err, "g": g, "phi": v["trainee"] / (v["trainee"] + err)})
    return pd.DataFrame(rows, columns=["n_raters", "n_sessions", "rel_error_variance", "abs_error_variance", "g", "phi"])
