"""The statistics of the platform's reliability report, for every item at once (pure numpy).

Input is integer codes, one entry per rating: ``group`` (the item, or 0 for the session score),
``target`` (the (item, session) pair, unique across groups), ``rater`` and the rating. Each
figure is the same estimator as the engine's single-data-set function (:func:`.icc.icc_oneway`,
:func:`.icc.icc_crossed`, :func:`.agreement.krippendorff_alpha`), computed for all groups
with group sums (one-way ANOVA by ``bincount``, Henderson III by one batched solve), so a report
over 22 items and 300,000 item scores costs tens of milliseconds rather than 22 x 3 validated
calls. The tests compare every figure with pingouin and the engine, item by item (issue 11.4).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd
from scipy.stats import f as f_dist

from .agreement import _chance_corrected, alpha_groups
from .icc import _valid, crossed_groups, oneway_groups
from .interpretation import interpret_alpha, interpret_icc, interpret_kappa
from .long_data import _finite_or_none


ROUNDING = 1e-10  # relative size of a variance component taken as zero (rounding in the sums' solves)


def _shown(v: float) -> str:
    """``v`` to 3 significant digits, rounded from its first 10 (so that two computations equal
    to rounding, the kept sums' and a full one, show the same text at a half-way digit)."""
    return f"{float(f'{v:.10g}'):.3g}"


def _group_constant(group: np.ndarray, y: np.ndarray, n_groups: int) -> np.ndarray:
    """Whether every value of each group equals its first (a constant group)."""
    first = np.zeros(n_groups)
    first[group[::-1]] = y[::-1]  # the last write wins: each group's first value
    return np.bincount(group, weights=(y != first[group]).astype(float), minlength=n_groups) == 0


def group_figures(group: np.ndarray, target: np.ndarray, rater: np.ndarray, y: np.ndarray, n_groups: int,
                  rater_names: np.ndarray, level: str) -> list[dict[str, Any]]:
    """ICC(1,1) with its CI and Koo & Li band, crossed ICC(A,1) and Krippendorff's alpha of each
    group, on the targets with two or more ratings; targets with one rating count in
    ``n_sessions`` only. ``rater_names`` labels the rater codes; ``level`` is alpha's level."""
    order = np.argsort(np.asarray(target, dtype=np.int64), kind="stable")  # once: later steps find runs
    group, target, rater = (np.asarray(v, dtype=np.int64)[order] for v in (group, target, rater))
    y = np.asarray(y, dtype=float)[order]
    n_t = int(target.max()) + 1 if len(target) else 0
    counts = np.bincount(target, minlength=n_t)
    t_group = np.zeros(n_t, dtype=np.int64)
    t_group[target] = group
    n_sessions = np.bincount(t_group[counts > 0], minlength=n_groups)
    keep = counts[target] >= 2
    g, yy, rr = group[keep], y[keep], rater[keep]
    kept = target[keep]
    tt = np.cumsum(np.r_[False, kept[1:] != kept[:-1]]).astype(np.int64) if len(kept) else kept
    n_double = np.bincount(t_group[counts >= 2], minlength=n_groups)
    one = crossed = alpha = constant_group = None
    if len(g):
        one = oneway_groups(g, tt, yy, n_groups)
        crossed = crossed_groups(g, tt, rr, yy, n_groups)
        alpha = alpha_groups(g, tt, yy, n_groups, level)
        constant_group = _group_constant(g, yy, n_groups)
    used = np.zeros((n_groups, len(rater_names)), dtype=bool)
    used[g, rr] = True
    return figure_rows(n_sessions, n_double, used, rater_names, one, crossed, alpha, constant_group, level)


def figure_rows(n_sessions: np.ndarray, n_double: np.ndarray, used: np.ndarray, rater_names: np.ndarray,
                one: Optional[dict], crossed: Optional[dict], alpha: Optional[np.ndarray],
                constant_group: Optional[np.ndarray], level: str) -> list[dict[str, Any]]:
    """The figure of each group (see :func:`group_figures`) from its estimates: ``one``
    (:func:`.icc.oneway_groups`), ``crossed`` (:func:`.icc.crossed_groups`), ``alpha``, whether
    its ratings are all one value, its sessions, double-rated sessions and raters (``used``:
    groups x raters). The refusals and warnings of every figure are decided here."""
    n_groups = len(n_sessions)
    if one is not None:
        with np.errstate(all="ignore"):
            p_value = f_dist.sf(one["F"], one["a"] - 1, one["N"] - one["a"])
    out = []
    for k in range(n_groups):
        n_dr = int(n_double[k])
        fig: dict[str, Any] = {
            "n_sessions": int(n_sessions[k]), "n_double_rated": n_dr, "n_raters": int(used[k].sum()),
            "icc": None, "ci_low": None, "ci_high": None, "p": None, "band": "not available",
            "icc_a1": None, "icc_a1_band": "not available", "icc_raters": [], "n_icc_sessions": 0,
            "alpha": None, "alpha_level": level, "alpha_band": "not available", "notes": [],
        }
        out.append(fig)
        if n_dr == 0:
            fig["notes"].append("no session was rated by two raters")
            continue
        constant = bool(constant_group[k])
        if n_dr < 3:
            fig["notes"].append(f"ICC(1,1) not computed: the one-way ICC needs at least 3 targets with two or more "
                                f"ratings, but there {'is' if n_dr == 1 else 'are'} {n_dr}; have more targets rated twice.")
        elif constant:
            fig["notes"].append("ICC(1,1) not computed: the ICC is undefined because every rating is the same value; "
                                "the ratings must vary across targets.")
        else:
            problems: dict[str, str] = {}
            if not np.isfinite(one["F"][k]):
                problems["ICC(1,1) CI"] = ("the within-target mean square is zero (every target's ratings agree), "
                                           "so the 95% CI is undefined")
            value, ci = _valid("ICC(1,1)", _finite_or_none(one["icc"][k]),
                               [_finite_or_none(one["lo"][k]), _finite_or_none(one["hi"][k])], problems)
            fig.update(icc=value, ci_low=ci[0], ci_high=ci[1], p=_finite_or_none(p_value[k]),
                       band=interpret_icc(value, ci) if value is not None else "not available",
                       icc_raters=sorted(str(x) for x in rater_names[used[k]]), n_icc_sessions=n_dr)
            fig["notes"] += [f"ICC(1,1): {why}" for why in problems.values()]
        if n_dr < 3:
            fig["notes"].append(f"ICC(A,1) not computed: ICC(A,1) needs at least 3 targets with two or more ratings, "
                                f"but there {'is' if n_dr == 1 else 'are'} {n_dr}; have more targets rated twice.")
        elif not np.isfinite(crossed["residual"][k]):
            fig["notes"].append("ICC(A,1) not computed: the crossed model cannot separate target, rater and residual "
                                "variance with these ratings; more targets rated by overlapping raters are needed.")
        else:
            parts = {name: float(crossed[name][k]) for name in ("target", "rater", "residual")}
            scale = sum(abs(v) for v in parts.values())  # a component at rounding level of the others is 0
            parts = {name: 0.0 if abs(v) <= ROUNDING * scale else v for name, v in parts.items()}
            for name, v in parts.items():
                if v < 0:
                    fig["notes"].append(f"ICC(A,1): the {name} variance estimate was negative ({_shown(v)}) and is set to 0")
            pos = {name: max(v, 0.0) for name, v in parts.items()}
            total = sum(pos.values())
            if total > 0:
                fig["icc_a1"] = pos["target"] / total
                fig["icc_a1_band"] = interpret_icc(fig["icc_a1"], None)
        if n_dr < 2:
            fig["notes"].append("alpha not computed: it needs at least 2 double-rated sessions")
        elif constant:
            fig["notes"].append("alpha not computed: every rating of a double-rated session is the same value")
        else:
            fig["alpha"] = float(alpha[k])
            fig["alpha_band"] = interpret_alpha(fig["alpha"])
    return out


def decision_agreement(target: np.ndarray, passed: np.ndarray) -> dict[str, Any]:
    """Agreement of raters on each session's pass/fail decision, over the sessions with two or
    more decisions: percent agreement (the mean share of agreeing rater pairs per session),
    Fleiss' kappa (Fleiss 1971; Gwet's generalisation for 2-3 raters per session) and Gwet's
    AC1 (q = 2; stable when nearly every session passes, where kappa falls although raters
    agree: Feinstein & Cicchetti 1990), with the share of sessions on which all raters agree.

    Returns
    -------
    dict
        n_sessions, n_ratings, agreement, all_agree, pass_rate, kappa, ac1, kappa_band, note.
    """
    target = np.asarray(target, dtype=np.int64)
    passed = np.asarray(passed, dtype=np.int64)
    out: dict[str, Any] = {"n_sessions": 0, "n_ratings": 0, "agreement": None, "all_agree": None,
                           "pass_rate": None, "kappa": None, "ac1": None, "kappa_band": "not available", "note": ""}
    if not len(target):
        out["note"] = "no session has two or more submitted ratings"
        return out
    n_t = int(target.max()) + 1
    r_i = np.bincount(target, minlength=n_t)
    keep = r_i[target] >= 2
    t, d = np.unique(target[keep], return_inverse=True)[1], passed[keep]
    n_sessions = int(t.max()) + 1 if len(t) else 0
    out.update(n_sessions=n_sessions, n_ratings=int(len(t)))
    if n_sessions < 2:
        out["note"] = ("pass/fail agreement needs at least 2 sessions with two or more submitted ratings; "
                       f"there {'is' if n_sessions == 1 else 'are'} {n_sessions}")
        return out
    cell, count = np.unique(t * 2 + d, return_counts=True)
    chance = _chance_corrected(cell // 2, cell % 2, count.astype(float), 2)
    n_pass = np.bincount(t, weights=d, minlength=n_sessions)
    n_all = np.bincount(t, minlength=n_sessions)
    out.update(agreement=chance["p_a"], all_agree=float(np.mean((n_pass == 0) | (n_pass == n_all))),
               pass_rate=float(d.mean()), ac1=(chance["p_a"] - chance["pe_ac1"]) / (1 - chance["pe_ac1"]))
    if chance["pe_fleiss"] < 1:
        out["kappa"] = (chance["p_a"] - chance["pe_fleiss"]) / (1 - chance["pe_fleiss"])
        out["kappa_band"] = interpret_kappa(out["kappa"])
    else:
        out["note"] = "kappa not computed: every decision is the same, so chance agreement is 100%"
    return out


# --- rater pairs ---------------------------------------------------------------------------


def kappas(table: np.ndarray, scores: np.ndarray) -> dict[str, Optional[float]]:
    """Cohen's kappa, linear and quadratic weighted, of one table (Cohen 1960, 1968); the tests
    compare it with statsmodels' cohens_kappa."""
    n = table.sum()
    p = table / n
    expected = np.outer(p.sum(axis=1), p.sum(axis=0))
    dist = np.abs(scores[:, None] - scores[None, :])
    out: dict[str, Optional[float]] = {}
    for name, w in (("unweighted", (dist > 0).astype(float)), ("linear", dist), ("quadratic", dist ** 2)):
        denom = float((w * expected).sum())
        out[name] = None if denom <= 0 else 1.0 - float((w * p).sum()) / denom
    return out


def pair_icc_matrix(long: pd.DataFrame, raters: list[str]) -> pd.DataFrame:
    """Session-score ICC(2,1) of every pair of ``raters`` on the sessions both rated (None under 3
    shared sessions or when undefined), from one sessions x raters table."""
    from .icc import _icc_table

    wide = long[long["rater"].isin(raters)].pivot(index="target", columns="rater", values="rating")
    values = wide.reindex(columns=raters).to_numpy(float)
    out = pd.DataFrame(np.full((len(raters), len(raters)), None, dtype=object), index=raters, columns=raters)
    for a in range(len(raters)):
        for b in range(a + 1, len(raters)):
            y = values[:, [a, b]]
            y = y[~np.isnan(y).any(axis=1)]
            value = None
            if len(y) >= 3 and np.ptp(y) > 0:
                value = _icc_table(y)["ICC(2,1)"]["value"]
            out.iat[a, b] = out.iat[b, a] = value
    return out


def shared_counts(long: pd.DataFrame) -> pd.DataFrame:
    """Sessions rated by both raters of every pair (diagonal: sessions each rater rated)."""
    raters = sorted(long["rater"].unique())
    sets = long.groupby("rater")["target"].apply(set).to_dict()
    return pd.DataFrame([[len(sets[a] & sets[b]) if a != b else len(sets[a]) for b in raters] for a in raters],
                        index=raters, columns=raters)


def rater_pairs(data: dict[str, Any], sums: Any, names: np.ndarray, matrix: pd.DataFrame,
                limit: int) -> tuple[list[dict[str, Any]], int]:
    """Cohen's kappa (item scores pooled over shared sessions) and agreement for rater pairs.

    The ``limit`` pairs sharing the most sessions are listed, their tables of categories (the
    instrument's scale points and every score given) taken from ``sums``; the session-score ICC
    of a pair comes from ``matrix``. Returns the rows and how many further pairs were left out.
    """
    if data["items"].empty:
        return [], 0
    counts = sums.pair_counts()
    if counts.empty:
        return [], 0
    left_out = max(0, len(counts) - limit)
    if left_out:  # only pairs that can be among the first ``limit`` (ties at the limit kept) are sorted
        n = counts["n"].to_numpy()
        counts = counts[n >= np.partition(n, len(n) - limit)[len(n) - limit]].reset_index(drop=True)
    # each pair as (first, second) by label, with their codes: a label is not mapped back to a code
    # (the sums may hold raters the data have no label for, shown by id, which a typed name may equal)
    swap = names[counts["a"]] > names[counts["b"]]
    counts["ca"], counts["cb"] = np.where(swap, counts["b"], counts["a"]), np.where(swap, counts["a"], counts["b"])
    counts["first"], counts["second"] = names[counts["ca"]], names[counts["cb"]]
    counts = counts.sort_values(["n", "first", "second"], ascending=[False, True, True])
    top = counts.head(limit)
    tables = sums.pair_tables(list(zip(top["ca"].tolist(), top["cb"].tolist())))
    scores = sums.categories
    dist = np.abs(scores[:, None] - scores[None, :])
    out = []
    for (a, b), n_sessions, table in zip(zip(top["first"], top["second"]), top["n"], tables):
        n_items = int(table.sum())
        row_out = {"rater_a": a, "rater_b": b, "n_sessions": int(n_sessions), "n_item_pairs": n_items,
                   "kappa": None, "kappa_linear": None, "kappa_quadratic": None, "kappa_band": "not available",
                   "exact": None, "within_one": None, "icc_total": None, "note": ""}
        if n_items >= 2:
            k = kappas(table, scores)
            row_out.update(kappa=k["unweighted"], kappa_linear=k["linear"], kappa_quadratic=k["quadratic"],
                           kappa_band=interpret_kappa(k["unweighted"]) if k["unweighted"] is not None else "not available")
            if k["unweighted"] is None:
                row_out["note"] = "kappa not computed: both raters gave every item the same score"
            row_out.update(exact=float(np.trace(table)) / n_items, within_one=float(table[dist <= 1].sum()) / n_items)
        else:
            row_out["note"] = "kappa not computed: the pair shares fewer than 2 scored items"
        if a in matrix.index and b in matrix.columns:
            value = matrix.at[a, b]
            row_out["icc_total"] = None if value is None or pd.isna(value) else float(value)
        out.append(row_out)
    return out, left_out
