"""Reliability of the platform's own fidelity ratings: data from the store, report, exports.

Reads submitted ratings by raters (``ratings.kind = 'rater'``; gold-standard and self-ratings
are left out), turns them into the long format of :mod:`ipt_training.reliability` (target =
recorded session, rater, rating) and builds the reliability report of issues 5 and 11: per item
and for the session total score, on every double-rated session (raters rotate), the one-way
ICC(1,1) with its 95 % CI and Koo & Li band and the crossed random-effects ICC(A,1),
Krippendorff's alpha, Cohen's kappa for each pair of raters, the number of double-rated
sessions behind every figure, a rater-by-rater matrix, rater severity, and a G/D study.
"""

from __future__ import annotations

import datetime as _dt
import platform
from importlib import metadata
from typing import Any, Optional, Union
import numpy as np
import pandas as pd
from sqlite_utils import Database
from .agreement import _alpha_from_coincidences
from .gstudy import d_study, g_study
from .icc import _icc_table, crossed_from_codes, oneway_from_codes
from .interpretation import interpret_alpha, interpret_icc, interpret_kappa
from .long_data import ReliabilityError
from .raters import _rater_severity, bland_altman
from ..content import Library
from ..store import one
from ..display import humanize, item_label, readable


TOTAL = "total"


DEFAULT_TARGET_PHI = 0.80


# Bounds that keep a cold report within a couple of seconds at training-body scale: every
# rater pair costs a pingouin ICC or a kappa, so the matrix shows the raters with the most
# double-rated sessions and the pair table the pairs that share the most sessions.
MAX_MATRIX_RATERS = 10


MAX_PAIRS = 30


MODEL = {
    "form": "ICC(1,1) and ICC(A,1)",
    "model": "one-way random effects (ICC(1,1)); crossed random effects sessions x raters (ICC(A,1))",
    "type": "absolute agreement",
    "unit": "single rater",
}


MODEL_STATEMENT = (
    "Raters rotate across sessions, so every figure uses every session rated by two or more raters. "
    "ICC(1,1): one-way random effects model; single rater; ANOVA estimator for unbalanced groups "
    "(k0 = (N - Σ nᵢ² / N) / (a - 1)), with the F-based 95% confidence interval (Searle 1971; "
    "Donner 1986); with rotating raters, rater differences count as error, so it measures absolute "
    "agreement. ICC(A,1): absolute agreement; single rater; crossed random-effects model of "
    "session + rater + residual, variance components by Henderson's Method III (McGraw & Wong 1996). "
    "Bands after Koo & Li (2016), judged on the confidence interval: below 0.50 poor, 0.50-0.75 "
    "moderate, 0.75-0.90 good, above 0.90 excellent."
)


DateLike = Union[_dt.date, str, None]


class ReportError(Exception):
    """The report cannot be built as asked; the message says what to change."""


def _iso(day: DateLike) -> Optional[str]:
    if day is None or day == "":
        return None
    if isinstance(day, _dt.datetime):
        return day.date().isoformat()
    if isinstance(day, _dt.date):
        return day.isoformat()
    try:
        return _dt.date.fromisoformat(str(day).strip()[:10]).isoformat()
    except ValueError:
        raise ReportError(f"{day!r} is not a date; give dates as YYYY-MM-DD.") from None


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    first = text.split(". ")[0]
    return first if len(first) <= limit else first[: limit - 3].rstrip() + "..."


def item_labels(library: Library, instrument_id: str) -> dict[str, tuple[str, str]]:
    """item_id -> (section, short wording), in the instrument's order (empty if unknown)."""
    inst = library.instruments.get(instrument_id)
    if inst is None:
        return {}
    return {it.id: (it.section, _short(it.text)) for it in inst.items}


def scale_points(library: Library, inst: Any) -> Optional[list]:
    """The points of the rating scales the instrument's items use (its scale and proscribed scale)."""
    points: set[float] = set()
    for scale_id in (inst.scale, getattr(inst, "proscribed_scale", None)):
        scale = library.scales.get(scale_id) if scale_id else None
        if scale is not None:
            points |= {float(p) for p in scale.points}
    return sorted(points) or None


def data_stamp(db: Database) -> str:
    """A cheap fingerprint of everything the report reads; changes whenever a rating does.

    Pages pass it to ``st.cache_data`` with the filter values so reruns reuse the report.
    """
    r = one(db, """SELECT COUNT(*) AS n, MAX(updated_at) AS u, MAX(submitted_at) AS s,
                          SUM(CASE WHEN status = 'submitted' THEN 1 ELSE 0 END) AS sub FROM ratings""") or {}
    s = one(db, """SELECT COUNT(*) AS n, SUM(is_gold_standard) AS g,
                          SUM(CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END) AS d FROM recorded_sessions""") or {}
    c = one(db, "SELECT COUNT(*) AS n, COALESCE(SUM(cohort_id * 7919 + user_id), 0) AS h FROM cohort_members") or {}
    u = one(db, """SELECT (SELECT COUNT(*) FROM users) AS n, (SELECT MAX(id) FROM users) AS m,
                          (SELECT COUNT(*) FROM user_roles) AS roles,
                          (SELECT COALESCE(SUM(user_id * 31 + length(role)), 0) FROM user_roles) AS h""") or {}
    return "|".join(str(x) for x in (r.get("n"), r.get("u"), r.get("s"), r.get("sub"), s.get("n"), s.get("g"),
                                     s.get("d"), c.get("n"), c.get("h"), u.get("n"), u.get("m"), u.get("roles"),
                                     u.get("h")))


def _item_frame(db: Database, instrument_id: str, cohort_id: Optional[int], date_from: DateLike,
                date_to: DateLike, phase: Optional[str], include_gold_standard_sessions: bool = False,
                exclude_sessions: frozenset = frozenset()) -> pd.DataFrame:
    """One row per scored item of a submitted rater rating that passes the filters.

    Filters: the trainee is in ``cohort_id``; the rating was submitted between ``date_from``
    and ``date_to`` (inclusive, ISO days); the session is of ``phase``. Deleted sessions and
    N/A items are left out; so are gold-standard (calibration) sessions unless asked for, and
    ``exclude_sessions`` (those the viewer is still blind to: :func:`fidelity.blind_session_ids`).
    """
    params = {
        "inst": instrument_id,
        "cohort": None if cohort_id is None else int(cohort_id),
        "dfrom": _iso(date_from),
        "dto": _iso(date_to),
        "phase": phase or None,
        "gold": 1 if include_gold_standard_sessions else 0,
    }
    cols = ["rating_id", "session_id", "trainee_id", "rater_id", "display_name", "username", "item_id", "score"]
    frame = pd.read_sql_query("""
        SELECT r.id AS rating_id, r.session_id, s.trainee_id, r.rater_id, u.display_name, u.username,
               i.item_id, i.score
        FROM ratings r
        JOIN recorded_sessions s ON s.id = r.session_id
        JOIN users u ON u.id = r.rater_id
        JOIN item_scores i ON i.rating_id = r.id
        WHERE r.kind = 'rater' AND r.status = 'submitted' AND r.instrument_id = :inst
          AND s.deleted_at IS NULL AND (:gold = 1 OR s.is_gold_standard = 0)
          AND i.score IS NOT NULL AND i.not_applicable = 0
          AND (:cohort IS NULL OR s.trainee_id IN (SELECT user_id FROM cohort_members WHERE cohort_id = :cohort))
          AND (:dfrom IS NULL OR substr(COALESCE(r.submitted_at, r.updated_at), 1, 10) >= :dfrom)
          AND (:dto IS NULL OR substr(COALESCE(r.submitted_at, r.updated_at), 1, 10) <= :dto)
          AND (:phase IS NULL OR s.phase = :phase)
        ORDER BY r.session_id, r.rater_id, i.item_id""", db.conn, params=params)[cols]
    if exclude_sessions:
        frame = frame[~frame["session_id"].isin(exclude_sessions)].reset_index(drop=True)
    if frame.empty:
        frame["rater"] = pd.Series(dtype=str)
        return frame
    # rater labels: display names, disambiguated by sign-in name when two people share one
    names = frame.drop_duplicates("rater_id")[["rater_id", "display_name", "username"]]
    dup = names["display_name"].duplicated(keep=False)
    label = {r.rater_id: (f"{r.display_name} ({r.username})" if d else r.display_name)
             for r, d in zip(names.itertuples(), dup)}
    frame["rater"] = frame["rater_id"].map(label)
    frame["score"] = frame["score"].astype(float)
    return frame


def _long(frame: pd.DataFrame, item_id: Optional[str], min_items: int = 1) -> tuple[pd.DataFrame, int]:
    """Long data (target, rater, rating) for one item or the total; also how many ratings were
    left out of the total because they scored fewer than ``min_items`` items."""
    if frame.empty:
        return pd.DataFrame(columns=["target", "rater", "rating"]), 0
    if item_id not in (None, TOTAL):
        part = frame[frame["item_id"] == item_id]
        long = pd.DataFrame({"target": part["session_id"].astype(str), "rater": part["rater"],
                             "rating": part["score"]})
        return long.reset_index(drop=True), 0
    per = frame.groupby(["rating_id", "session_id", "rater"], as_index=False).agg(
        rating=("score", "mean"), n_items=("score", "size"))
    short = per["n_items"] < max(1, int(min_items))
    per = per[~short]
    long = pd.DataFrame({"target": per["session_id"].astype(str), "rater": per["rater"], "rating": per["rating"]})
    return long.reset_index(drop=True), int(short.sum())


def _double_rated(long: pd.DataFrame) -> pd.DataFrame:
    if long.empty:
        return long
    n = long.groupby("target")["rater"].transform("nunique")
    return long[n >= 2].reset_index(drop=True)


def long_ratings(db: Database, instrument_id: str, cohort_id: Optional[int] = None, date_from: DateLike = None,
                 date_to: DateLike = None, phase: Optional[str] = None, item_id: Optional[str] = None,
                 double_rated_only: bool = False, min_items: int = 1,
                 include_gold_standard_sessions: bool = False) -> pd.DataFrame:
    """Submitted rater ratings in long format: columns target (session id), rater, rating.

    ``item_id`` names one instrument item (its 1-5 scores; N/A left out); None or ``'total'``
    gives the session total score (mean of the scored items of each rating; ratings with fewer
    than ``min_items`` scored items are left out). Only ``kind='rater'`` ratings count: gold
    and self-ratings are excluded. ``double_rated_only`` keeps sessions rated by 2+ raters.
    """
    frame = _item_frame(db, instrument_id, cohort_id, date_from, date_to, phase, include_gold_standard_sessions)
    long, _ = _long(frame, item_id, min_items)
    return _double_rated(long) if double_rated_only else long


def _figure(long: pd.DataFrame, level: str) -> dict[str, Any]:
    """ICC(1,1) with its CI, crossed ICC(A,1) and alpha for one item or the total (long format)."""
    if long.empty:
        return _figure_codes(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.array([]), level)
    r_codes, names = pd.factorize(long["rater"])
    return _figure_codes(pd.factorize(long["target"])[0], r_codes, long["rating"].to_numpy(float),
                         np.asarray(names), level)


def _figure_codes(t: np.ndarray, r: np.ndarray, y: np.ndarray, names: np.ndarray, level: str) -> dict[str, Any]:
    """The figures of one item or the total from integer codes (session ``t``, rater ``r`` indexing
    ``names``) on every double-rated session; numpy only, so the whole report costs milliseconds."""
    counts = np.bincount(t) if len(t) else np.zeros(0, np.int64)
    keep = counts[t] >= 2 if len(t) else np.zeros(0, bool)
    tt = np.unique(t[keep], return_inverse=True)[1].astype(np.int64)
    used, rr = np.unique(r[keep], return_inverse=True)
    rr = rr.astype(np.int64)
    yy = y[keep]
    out: dict[str, Any] = {
        "n_sessions": int((counts > 0).sum()),
        "n_double_rated": int(tt.max()) + 1 if len(tt) else 0,
        "n_raters": int(len(used)),
        "icc": None, "ci_low": None, "ci_high": None, "p": None, "band": "not available",
        "icc_a1": None, "icc_a1_band": "not available",
        "icc_raters": [], "n_icc_sessions": 0,
        "alpha": None, "alpha_level": level, "alpha_band": "not available",
        "notes": [],
    }
    if not len(tt):
        out["notes"].append("no session was rated by two raters")
        return out
    try:
        one = oneway_from_codes(tt, yy)
        entry = one["ICC(1,1)"]
        lo, hi = entry["ci95"]
        out.update(icc=entry["value"], ci_low=lo, ci_high=hi, p=entry["p"],
                   band=interpret_icc(entry["value"], entry["ci95"]) if entry["value"] is not None else "not available",
                   icc_raters=sorted(str(x) for x in names[used]), n_icc_sessions=one["n_targets"])
        out["notes"] += [f"ICC(1,1): {why}" for form, why in one["problems"].items() if "(1,1)" in form]
    except ReliabilityError as exc:
        out["notes"].append(f"ICC(1,1) not computed: {exc}")
    try:
        crossed = crossed_from_codes(tt, rr, yy)
        out["icc_a1"] = crossed["value"]
        if crossed["value"] is not None:
            out["icc_a1_band"] = interpret_icc(crossed["value"], None)
        out["notes"] += [f"ICC(A,1): {why}" for why in crossed["problems"].values()]
    except ReliabilityError as exc:
        out["notes"].append(f"ICC(A,1) not computed: {exc}")
    if out["n_double_rated"] < 2:
        out["notes"].append("alpha not computed: it needs at least 2 double-rated sessions")
    elif np.ptp(yy) == 0:
        out["notes"].append("alpha not computed: every rating of a double-rated session is the same value")
    else:
        out["alpha"] = _alpha_from_coincidences(tt, yy, level)
        out["alpha_band"] = interpret_alpha(out["alpha"])
    return out


def _same_key_pairs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (i, j) of every two rows sharing ``key`` (sessions have 2-3 ratings, so a few
    shifted comparisons of the sorted keys find them all, without a merge)."""
    order = np.argsort(key, kind="stable")
    k = key[order]
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


def _pair_tables(frame: pd.DataFrame, pairs: list[tuple[str, str]], categories: list) -> np.ndarray:
    """pairs x categories x categories tables of item scores two raters gave the same session item."""
    q = len(categories)
    if not pairs:
        return np.zeros((0, q, q))
    r_codes, ids = pd.factorize(frame["rater_id"])
    n_r = len(ids)
    label = dict(zip(frame["rater_id"].to_numpy(), frame["rater"].to_numpy()))
    where = {label[x]: n for n, x in enumerate(ids)}
    lookup = np.full(n_r * n_r, -1, np.int64)
    for n, (a, b) in enumerate(pairs):
        lookup[where[a] * n_r + where[b]] = lookup[where[b] * n_r + where[a]] = n
    item_codes = pd.factorize(frame["item_id"])[0]
    key = frame["session_id"].to_numpy(np.int64) * (int(item_codes.max()) + 1) + item_codes
    i, j = _same_key_pairs(key)
    pair = lookup[r_codes[i] * n_r + r_codes[j]]
    c_idx = pd.Index(categories).get_indexer(frame["score"].to_numpy(float))
    ci, cj = c_idx[i], c_idx[j]
    # orient each score pair as (rater_a, rater_b) of its pair
    first = np.asarray([where[a] for a, _ in pairs] + [-1], dtype=np.int64)
    flip = r_codes[i] != first[pair]  # pair -1 picks the sentinel; those rows are dropped below
    ca, cb = np.where(flip, cj, ci), np.where(flip, ci, cj)
    ok = (pair >= 0) & (ca >= 0) & (cb >= 0)
    flat = (pair[ok] * q + ca[ok]) * q + cb[ok]
    return np.bincount(flat, minlength=len(pairs) * q * q).reshape(len(pairs), q, q).astype(float)


def _kappas(table: np.ndarray, scores: np.ndarray) -> dict[str, Optional[float]]:
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


def _pairs(frame: pd.DataFrame, matrix: pd.DataFrame, limit: int,
           categories: Optional[list] = None) -> tuple[list[dict[str, Any]], int]:
    """Cohen's kappa (item scores pooled over shared sessions) and agreement for rater pairs.

    The ``limit`` pairs sharing the most sessions are computed, all at once from one table of
    score pairs (``categories`` are the instrument's scale points); the total-score ICC of a pair
    comes from ``matrix``. Returns the rows and how many further pairs were left out.
    """
    if frame.empty:
        return [], 0
    sessions = frame[["session_id", "rater"]].drop_duplicates()
    i, j = _same_key_pairs(sessions["session_id"].to_numpy(np.int64))
    ra, rb = sessions["rater"].to_numpy()[i], sessions["rater"].to_numpy()[j]
    shared = pd.DataFrame({"rater_a": np.where(ra < rb, ra, rb), "rater_b": np.where(ra < rb, rb, ra)})
    counts = shared.groupby(["rater_a", "rater_b"]).size().reset_index(name="n")
    counts = counts.sort_values(["n", "rater_a", "rater_b"], ascending=[False, True, True])
    left_out = max(0, len(counts) - limit)
    top = counts.head(limit)
    pairs = list(zip(top["rater_a"], top["rater_b"]))
    cats = sorted(set(categories or []) | set(frame["score"].unique()))
    tables = _pair_tables(frame, pairs, cats) if pairs else np.zeros((0, 0, 0))
    scores = np.asarray(cats, dtype=float)
    out = []
    for (a, b), n_sessions, table in zip(pairs, top["n"], tables):
        n_items = int(table.sum())
        row = {"rater_a": a, "rater_b": b, "n_sessions": int(n_sessions), "n_item_pairs": n_items,
               "kappa": None, "kappa_linear": None, "kappa_quadratic": None, "kappa_band": "not available",
               "exact": None, "within_one": None, "icc_total": None, "note": ""}
        if n_items >= 2:
            k = _kappas(table, scores)
            row.update(kappa=k["unweighted"], kappa_linear=k["linear"], kappa_quadratic=k["quadratic"],
                       kappa_band=interpret_kappa(k["unweighted"]) if k["unweighted"] is not None else "not available")
            if k["unweighted"] is None:
                row["note"] = "kappa not computed: both raters gave every item the same score"
            dist = np.abs(scores[:, None] - scores[None, :])
            row.update(exact=float(np.trace(table)) / n_items, within_one=float(table[dist <= 1].sum()) / n_items)
        else:
            row["note"] = "kappa not computed: the pair shares fewer than 2 scored items"
        if a in matrix.index and b in matrix.columns:
            value = matrix.at[a, b]
            row["icc_total"] = None if value is None or pd.isna(value) else float(value)
        out.append(row)
    return out, left_out


def _pair_icc_matrix(long: pd.DataFrame, raters: list[str]) -> pd.DataFrame:
    """Total-score ICC(2,1) of every pair of ``raters`` on the sessions both rated (None under 3
    shared sessions or when undefined): :func:`rater_pair_matrix` without re-validating, from one
    sessions x raters table."""
    wide = long[long["rater"].isin(raters)].pivot(index="target", columns="rater", values="rating")
    wide = wide.reindex(columns=raters)
    values = wide.to_numpy(float)
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


def _shared_counts(long: pd.DataFrame) -> pd.DataFrame:
    raters = sorted(long["rater"].unique())
    sets = long.groupby("rater")["target"].apply(set).to_dict()
    return pd.DataFrame([[len(sets[a] & sets[b]) if a != b else len(sets[a]) for b in raters] for a in raters],
                        index=raters, columns=raters)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("pingouin", "krippendorff", "statsmodels", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _cohort_name(db: Database, cohort_id: Optional[int]) -> str:
    if cohort_id is None:
        return "all cohorts"
    row = one(db, "SELECT name FROM cohorts WHERE id = ?", (int(cohort_id),))
    if row is None:
        raise ReportError("That cohort no longer exists; choose another cohort or all cohorts.")
    return row["name"]


def reliability_report(db: Database, library: Library, instrument_id: str, cohort_id: Optional[int] = None,
                       date_from: DateLike = None, date_to: DateLike = None,
                       phase: Optional[str] = None, exclude_sessions: frozenset = frozenset()) -> dict[str, Any]:
    """Inter-rater reliability of submitted rater ratings on one instrument.

    Returns a dict (plain data and DataFrames): instrument, filters, model (the ICC model
    statement), counts, ``total`` and ``items`` (on every double-rated session: ICC(1,1) as
    ``icc`` with CI and Koo & Li band, crossed ICC(A,1) as ``icc_a1``, Krippendorff's alpha,
    sessions behind each figure), ``pairs`` (Cohen's kappa per pair of
    raters), ``matrix`` (total-score ICC(2,1) per rater pair) and ``matrix_n`` (shared
    sessions), ``severity``, ``long_total`` (the double-rated total scores, for Bland-Altman),
    ``warnings`` and ``software``.
    """
    inst = library.instruments.get(instrument_id)
    if inst is None:
        raise ReportError(f"The instrument {instrument_id!r} is not loaded; choose one of the listed instruments.")
    dfrom, dto = _iso(date_from), _iso(date_to)
    if dfrom and dto and dfrom > dto:
        raise ReportError("The start date is after the end date; swap them or widen the range.")
    min_items = inst.pass_rule.min_applicable_items
    frame = _item_frame(db, instrument_id, cohort_id, dfrom, dto, phase, exclude_sessions=exclude_sessions)
    long_all, n_short = _long(frame, TOTAL, min_items)
    long_total = _double_rated(long_all)
    warnings: list[str] = []
    if n_short:
        warnings.append(f"{n_short} rating(s) scored fewer than {min_items} items and are left out of the "
                        "total score (the instrument's pass rule cannot judge them).")
    total = {"item_id": TOTAL, "label": "Session total", "section": "", "item": "Session total score (mean of scored items)",
             **_figure(long_all, "interval")}
    labels = item_labels(library, instrument_id)
    inst = library.instruments.get(instrument_id)
    names_of = {it.id: item_label(it) for it in inst.items} if inst is not None else {}
    items = []
    if not frame.empty:
        item_codes, item_ids = pd.factorize(frame["item_id"])
        t_all = pd.factorize(frame["session_id"])[0]
        r_all, rater_ids = pd.factorize(frame["rater_id"])  # integer ids: factorizing labels is 10x slower
        label = dict(zip(frame["rater_id"].to_numpy(), frame["rater"].to_numpy()))
        names = np.asarray([label[x] for x in rater_ids], dtype=object)
        y_all = frame["score"].to_numpy(float)
        order = np.argsort(item_codes, kind="stable")
        bounds = np.searchsorted(item_codes[order], np.arange(len(item_ids) + 1))
        rows_of = {item: order[bounds[n]:bounds[n + 1]] for n, item in enumerate(item_ids)}
    else:
        rows_of = {}
    used = set(rows_of)
    for item_id in [i for i in labels if i in used] + sorted(used - set(labels)):
        rows = rows_of[item_id]
        section, text = labels.get(item_id, ("", item_id))
        items.append({"item_id": item_id, "label": names_of.get(item_id) or humanize(item_id), "section": section, "item": text,
                      **_figure_codes(t_all[rows], r_all[rows], y_all[rows], names, "ordinal")})
    if frame.empty:
        warnings.append("No submitted rater ratings match these filters; widen the date range or choose "
                        "another cohort or phase.")
    elif total["n_double_rated"] == 0:
        warnings.append("No session in this selection was rated by two raters, so no agreement can be "
                        "computed; assign second ratings (double-rate 15-20% of sessions).")
    for note in total["notes"]:
        if note != "no session was rated by two raters":
            warnings.append(f"Total score: {note}.")
    no_double = [r["label"] for r in items if r["n_double_rated"] == 0]
    if no_double and total["n_double_rated"]:
        warnings.append(f"{len(no_double)} item(s) have no double-rated session: {', '.join(no_double)}.")
    uncomputed = [r["label"] for r in items if r["n_double_rated"] and r["icc"] is None]
    if uncomputed:
        warnings.append(f"ICC(1,1) could not be computed for {len(uncomputed)} item(s) "
                        f"({', '.join(uncomputed)}); see the notes column for why.")
    severity = pd.DataFrame(columns=["rater", "n_ratings", "mean_rating", "n_shared_targets", "mean_difference"])
    matrix = matrix_n = pd.DataFrame()
    if not long_total.empty:
        severity = _rater_severity(long_total)
        busiest = long_total["rater"].value_counts()
        shown = sorted(busiest.index[:MAX_MATRIX_RATERS])
        if len(busiest) > MAX_MATRIX_RATERS:
            warnings.append(f"The rater-by-rater matrix shows the {MAX_MATRIX_RATERS} raters with the most "
                            f"double-rated sessions (of {len(busiest)}); rater severity lists everyone.")
        in_matrix = long_total[long_total["rater"].isin(shown)]
        matrix = _pair_icc_matrix(in_matrix, shown)
        matrix_n = _shared_counts(in_matrix)
    pairs, pairs_left_out = _pairs(frame[frame["session_id"].astype(str).isin(set(long_total["target"]))]
                                   if not frame.empty else frame, matrix, MAX_PAIRS, scale_points(library, inst))
    if pairs_left_out:
        warnings.append(f"The rater-pair table lists the {MAX_PAIRS} pairs that share the most sessions; "
                        f"{pairs_left_out} further pair(s) are left out.")
    severity["direction"] = [
        "" if v is None or pd.isna(v) else ("more lenient than the others" if v > 0 else
                              "more severe than the others" if v < 0 else "same as the others")
        for v in severity["mean_difference"]
    ]
    return {
        "instrument": {"id": inst.id, "name": inst.name, "version": inst.version},
        "filters": {"cohort_id": cohort_id, "cohort": _cohort_name(db, cohort_id), "date_from": dfrom,
                    "date_to": dto, "phase": phase or "all phases"},
        "model": {**MODEL, "statement": MODEL_STATEMENT},
        "n_ratings": int(len(long_all)),
        "n_sessions": int(long_all["target"].nunique()) if not long_all.empty else 0,
        "n_double_rated": total["n_double_rated"],
        "raters": sorted(long_total["rater"].unique()) if not long_total.empty else [],
        "total": total,
        "items": items,
        "pairs": pairs,
        "matrix": matrix,
        "matrix_n": matrix_n,
        "severity": severity,
        "long_total": long_total,
        "warnings": warnings,
        "software": _versions(),
        "generated_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }


def bland_altman_pair(report: dict[str, Any], rater_a: str, rater_b: str) -> dict[str, Any]:
    """Bland-Altman bias and limits of two raters' total scores, plus a ``points`` DataFrame.

    Raises ReportError with a sentence when the pair shares fewer than two sessions.
    """
    try:
        res = bland_altman(report["long_total"], rater_a, rater_b)
    except ReliabilityError as exc:
        raise ReportError(f"No Bland-Altman plot for this pair: {exc} Choose a pair that shares sessions.") from None
    res["points"] = pd.DataFrame({"session": res["targets"], "mean": res["mean"], "difference": res["diff"]})
    return res


def _ci_text(lo: Any, hi: Any) -> str:
    return "" if lo is None or hi is None else f"{lo:.2f} to {hi:.2f}"


def figures_table(report: dict[str, Any]) -> pd.DataFrame:
    """Total and per-item figures with the interpretation next to each value."""
    out = []
    for r in [report["total"]] + list(report["items"]):
        out.append({
            "Item": r["label"],
            "Section": r["section"],
            "Double-rated sessions": r["n_double_rated"],
            "Sessions in ICC": r["n_icc_sessions"],
            "ICC(1,1)": None if r["icc"] is None else round(r["icc"], 3),
            "95% CI": _ci_text(r["ci_low"], r["ci_high"]),
            "Band (Koo & Li 2016)": r["band"].split(" (")[0],
            "ICC(A,1) crossed": None if r["icc_a1"] is None else round(r["icc_a1"], 3),
            "Alpha": None if r["alpha"] is None else round(r["alpha"], 3),
            "Alpha reading (Krippendorff 2004)": r["alpha_band"].split(" (")[0],
            "Notes": "; ".join(r["notes"]),
            "Wording": r["item"],
        })
    return readable(pd.DataFrame(out))


def pairs_table(report: dict[str, Any]) -> pd.DataFrame:
    """Cohen's kappa and agreement for each pair of raters, with Landis & Koch readings."""
    out = []
    for p in report["pairs"]:
        out.append({
            "Rater A": p["rater_a"], "Rater B": p["rater_b"], "Shared sessions": p["n_sessions"],
            "Item pairs": p["n_item_pairs"],
            "Kappa": None if p["kappa"] is None else round(p["kappa"], 3),
            "Kappa (quadratic)": None if p["kappa_quadratic"] is None else round(p["kappa_quadratic"], 3),
            "Reading (Landis & Koch 1977)": p["kappa_band"].split(" (")[0],
            "Exact": None if p["exact"] is None else round(p["exact"], 3),
            "Within one": None if p["within_one"] is None else round(p["within_one"], 3),
            "ICC(2,1) total": None if p["icc_total"] is None else round(p["icc_total"], 3),
            "Notes": p["note"],
        })
    return readable(pd.DataFrame(out))


def severity_table(report: dict[str, Any]) -> pd.DataFrame:
    sev = report["severity"]
    return readable(pd.DataFrame({
        "Rater": sev["rater"], "Ratings": sev["n_ratings"],
        "Mean total": [round(v, 2) for v in sev["mean_rating"]],
        "Shared sessions": sev["n_shared_targets"],
        "Mean difference from others": [None if v is None or pd.isna(v) else round(v, 2) for v in sev["mean_difference"]],
        "Reading": sev["direction"],
    }))


def rater_pairs_for_plot(report: dict[str, Any]) -> list[tuple[str, str]]:
    """Rater pairs that share at least two sessions (enough for a Bland-Altman plot)."""
    return [(p["rater_a"], p["rater_b"]) for p in report["pairs"] if p["n_sessions"] >= 2]


def rating_period(db: Database, instrument_id: Optional[str] = None) -> tuple[_dt.date, _dt.date]:
    """First and last day a rater rating was submitted (a default date range for the report)."""
    r = one(db, """SELECT MIN(substr(submitted_at, 1, 10)) AS lo, MAX(substr(submitted_at, 1, 10)) AS hi
                   FROM ratings WHERE kind = 'rater' AND status = 'submitted'
                   AND (:inst IS NULL OR instrument_id = :inst)""", {"inst": instrument_id}) or {}
    today = _dt.date.today()
    lo = _dt.date.fromisoformat(r["lo"]) if r.get("lo") else today - _dt.timedelta(days=365)
    hi = max(_dt.date.fromisoformat(r["hi"]) if r.get("hi") else today, today)
    return min(lo, hi), hi


def g_study_data(db: Database, instrument_id: str, cohort_id: Optional[int] = None, date_from: DateLike = None,
                 date_to: DateLike = None, phase: Optional[str] = None, min_items: int = 1,
                 exclude_sessions: frozenset = frozenset()) -> pd.DataFrame:
    """Double-rated total scores for ``g_study``: columns trainee, session, rater, score."""
    frame = _item_frame(db, instrument_id, cohort_id, date_from, date_to, phase, exclude_sessions=exclude_sessions)
    if frame.empty:
        return pd.DataFrame(columns=["trainee", "session", "rater", "score"])
    per = frame.groupby(["rating_id", "session_id", "trainee_id", "rater"], as_index=False).agg(
        score=("score", "mean"), n_items=("score", "size"))
    per = per[per["n_items"] >= max(1, int(min_items))]
    per = per[per.groupby("session_id")["rater"].transform("nunique") >= 2]
    return pd.DataFrame({"trainee": per["trainee_id"].astype(str), "session": per["session_id"].astype(str),
                         "rater": per["rater"], "score": per["score"]}).reset_index(drop=True)


def decision_table(d: pd.DataFrame) -> pd.DataFrame:
    """``d_study`` output as a raters x sessions table of dependability (phi)."""
    table = d.pivot(index="n_raters", columns="n_sessions", values="phi")
    table.index = [f"{n} rater{'s' if n > 1 else ''}" for n in table.index]
    table.columns = [f"{n} session{'s' if n > 1 else ''}" for n in table.columns]
    return table


def generalizability(db: Database, library: Library, instrument_id: str, cohort_id: Optional[int] = None,
                     date_from: DateLike = None, date_to: DateLike = None, phase: Optional[str] = None,
                     target_phi: float = DEFAULT_TARGET_PHI, exclude_sessions: frozenset = frozenset()) -> dict[str, Any]:
    """G study (variance components) and D study (1-4 raters x 1-6 sessions) of total scores.

    Method: generalizability theory, sessions nested in trainees and crossed with raters
    (Shavelson & Webb 1991; Brennan 2001); see ``g_study`` / ``d_study``. The
    dependability phi of a trainee's mean fidelity score is what a credential rule relying on
    that mean needs to be high (0.80 is the usual target).

    Returns a dict: ok, message (why not, when ok is False), components (DataFrame: component,
    variance, share), method, counts, warnings, decision (raters x sessions phi table),
    smallest (a sentence: the fewest ratings that reach ``target_phi``).
    """
    inst = library.instruments.get(instrument_id)
    min_items = inst.pass_rule.min_applicable_items if inst else 1
    data = g_study_data(db, instrument_id, cohort_id, date_from, date_to, phase, min_items, exclude_sessions)
    out: dict[str, Any] = {"ok": False, "message": "", "components": None, "decision": None, "warnings": [],
                           "target_phi": target_phi, "n_scores": int(len(data))}
    try:
        g = g_study(data)
        d = d_study(g, raters=range(1, 5), sessions=range(1, 7))
    except (ReliabilityError, np.linalg.LinAlgError, ValueError) as exc:
        out["message"] = (f"The generalizability study needs more double-rated data: {exc} "
                          "Double-rate at least two sessions of each of several trainees.")
        return out
    comps = g["components"]
    total = sum(comps.values())
    names = {"trainee": "trainee (true differences)", "session": "session within trainee",
             "rater": "rater", "trainee_x_rater": "trainee x rater",
             "residual": "residual" if g["interaction_separated"] else "residual (incl. trainee x rater)"}
    out.update(
        ok=True,
        components=pd.DataFrame([{"component": names[k], "variance": v, "share": (v / total) if total > 0 else None}
                                 for k, v in comps.items()]),
        method=g["method"], n_trainees=g["n_trainees"], n_sessions=g["n_sessions"], n_raters=g["n_raters"],
        warnings=list(g["warnings"]), decision=decision_table(d),
    )
    reach = d[d["phi"] >= target_phi].assign(total=lambda x: x["n_raters"] * x["n_sessions"])
    if reach.empty:
        out["smallest"] = (f"No design up to 4 raters x 6 sessions reaches a dependability of {target_phi:.2f}; "
                           "more sessions per trainee are needed.")
    else:
        best = reach.sort_values(["total", "n_raters"]).iloc[0]
        out["smallest"] = (f"The fewest ratings reaching {target_phi:.2f}: {int(best['n_sessions'])} session(s) "
                           f"each rated by {int(best['n_raters'])} rater(s) (phi = {best['phi']:.2f}).")
    return out
