"""Reliability of the platform's own fidelity ratings: data from the store, report, exports.

Reads submitted ratings by raters (``ratings.kind = 'rater'``; gold-standard and self-ratings
are left out), turns them into the long format of :mod:`ipt_training.reliability` (target =
recorded session, rater, rating) and builds the reliability report of issue 5: per item and
for the session total score, ICC(2,1) with its 95 % CI and Koo & Li band, Krippendorff's
alpha, Cohen's kappa for each pair of raters, the number of double-rated sessions behind
every figure, a rater-by-rater matrix, rater severity, and a generalizability (G/D) study.

The ICC model is stated the way Koo & Li (2016) ask a report to state it: two-way random
effects, absolute agreement, single rater (Shrout & Fleiss ICC(2,1), McGraw & Wong ICC(A,1)).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import platform
from importlib import metadata
from typing import Any, Optional, Union
import numpy as np
import pandas as pd
from sqlite_utils import Database
from .agreement import cohen_kappa, krippendorff_alpha, percent_agreement
from .gstudy import d_study, g_study
from .icc import icc_2_1
from .interpretation import interpret_alpha, interpret_icc, interpret_kappa
from .long_data import ReliabilityError
from .raters import bland_altman, rater_pair_matrix, rater_severity
from ..content import Library
from ..store import one


TOTAL = "total"


DEFAULT_TARGET_PHI = 0.80


# Bounds that keep a cold report within a couple of seconds at training-body scale: every
# rater pair costs a pingouin ICC or a kappa, so the matrix shows the raters with the most
# double-rated sessions and the pair table the pairs that share the most sessions.
MAX_MATRIX_RATERS = 10


MAX_PAIRS = 30


MODEL = {
    "form": "ICC(2,1)",
    "model": "two-way random effects",
    "type": "absolute agreement",
    "unit": "single rater",
}


MODEL_STATEMENT = (
    "ICC model: two-way random effects; type: absolute agreement; unit: single rater "
    "(ICC(2,1) of Shrout & Fleiss 1979, ICC(A,1) of McGraw & Wong 1996), reported with its "
    "95% confidence interval. Bands after Koo & Li (2016), judged on the confidence interval: "
    "below 0.50 poor, 0.50-0.75 moderate, 0.75-0.90 good, above 0.90 excellent."
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


def _best_icc_raters(d: pd.DataFrame) -> tuple[list[str], int]:
    """The raters whose common sessions give the ICC the most data.

    ``pingouin`` (and any two-way ICC) needs every rater to have rated every session, so with
    rotating rater pairs the ICC over *all* raters may have no complete session at all. We
    take the set of at least two raters with the most sessions rated by all of them (ties:
    more raters), and say in a warning which double-rated sessions that leaves out.
    """
    wide = d.pivot(index="target", columns="rater", values="rating").notna()
    raters = list(wide.columns)
    present = wide.to_numpy()
    if len(raters) <= 2:
        return sorted(raters), int(present.all(axis=1).sum())
    if len(raters) <= 10:
        index = {r: n for n, r in enumerate(raters)}
        best, best_key = None, (-1, -1)
        for k in range(2, len(raters) + 1):
            for subset in itertools.combinations(raters, k):
                n_complete = int(present[:, [index[r] for r in subset]].all(axis=1).sum())
                if (n_complete, k) > best_key:
                    best, best_key = subset, (n_complete, k)
        return sorted(best), best_key[0]
    # many raters: the best pair (sessions shared, from one matrix product) or everyone
    as_float = present.astype(np.float64)  # float product: BLAS, exact for these small counts
    counts = np.rint(as_float.T @ as_float).astype(np.int64)
    np.fill_diagonal(counts, -1)
    i, j = np.unravel_index(int(np.argmax(counts)), counts.shape)
    everyone = int(present.all(axis=1).sum())
    if everyone >= counts[i, j]:
        return sorted(raters), everyone
    return sorted([raters[i], raters[j]]), int(counts[i, j])


def _figure(long: pd.DataFrame, level: str) -> dict[str, Any]:
    """ICC(2,1) and alpha for one item or the total, with the counts behind them."""
    d = _double_rated(long)
    out: dict[str, Any] = {
        "n_sessions": int(long["target"].nunique()) if not long.empty else 0,
        "n_double_rated": int(d["target"].nunique()) if not d.empty else 0,
        "n_raters": int(d["rater"].nunique()) if not d.empty else 0,
        "icc": None, "ci_low": None, "ci_high": None, "p": None, "band": "not available",
        "icc_raters": [], "n_icc_sessions": 0,
        "alpha": None, "alpha_level": level, "alpha_band": "not available",
        "notes": [],
    }
    if d.empty:
        out["notes"].append("no session was rated by two raters")
        return out
    subset, n_complete = _best_icc_raters(d)
    if n_complete < 3:
        out["notes"].append(f"ICC(2,1) not computed: it needs at least 3 sessions rated by the same raters, and "
                            f"there {'is' if n_complete == 1 else 'are'} {n_complete}; double-rate more sessions")
    else:
        out["icc_raters"], out["n_icc_sessions"] = subset, n_complete
        try:
            entry = icc_2_1(d[d["rater"].isin(subset)])
            lo, hi = entry["ci95"]
            out.update(icc=entry["value"], ci_low=lo, ci_high=hi, p=entry["p"],
                       band=interpret_icc(entry["value"], entry["ci95"]))
        except ReliabilityError as exc:
            out["notes"].append(f"ICC(2,1) not computed: {exc}")
            out["icc_raters"], out["n_icc_sessions"] = [], 0
    left_out = out["n_double_rated"] - out["n_icc_sessions"]
    if out["icc"] is not None and left_out > 0:
        out["notes"].append(
            f"ICC(2,1) uses the {n_complete} sessions rated by all of {', '.join(subset)}; "
            f"{left_out} other double-rated session(s) are in Krippendorff's alpha only"
        )
    try:
        out["alpha"] = krippendorff_alpha(d, level)
        out["alpha_band"] = interpret_alpha(out["alpha"])
    except ReliabilityError as exc:
        out["notes"].append(f"alpha not computed: {exc}")
    return out


def _pairs(frame: pd.DataFrame, matrix: pd.DataFrame, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Cohen's kappa (item scores pooled over shared sessions) and agreement for rater pairs.

    The ``limit`` pairs sharing the most sessions are computed (each pair costs a kappa and an
    agreement table); the total-score ICC of a pair comes from ``matrix``. Returns the rows and
    how many further pairs were left out.
    """
    if frame.empty:
        return [], 0
    sessions = frame.groupby("rater")["session_id"].apply(set).to_dict()
    shared_by_pair = [((a, b), sessions[a] & sessions[b]) for a, b in itertools.combinations(sorted(sessions), 2)]
    shared_by_pair = [x for x in shared_by_pair if x[1]]
    shared_by_pair.sort(key=lambda x: (-len(x[1]), x[0]))
    left_out = max(0, len(shared_by_pair) - limit)
    out = []
    for (a, b), shared in shared_by_pair[:limit]:
        part = frame[frame["session_id"].isin(shared) & frame["rater"].isin([a, b])]
        long = pd.DataFrame({"target": part["session_id"].astype(str) + ":" + part["item_id"],
                             "rater": part["rater"], "rating": part["score"]})
        long = long[long.groupby("target")["rater"].transform("nunique") == 2]
        row = {"rater_a": a, "rater_b": b, "n_sessions": len(shared), "n_item_pairs": int(long["target"].nunique()),
               "kappa": None, "kappa_linear": None, "kappa_quadratic": None, "kappa_band": "not available",
               "exact": None, "within_one": None, "icc_total": None, "note": ""}
        try:
            k = cohen_kappa(long)
            row.update(kappa=k["unweighted"], kappa_linear=k["linear"], kappa_quadratic=k["quadratic"],
                       kappa_band=interpret_kappa(k["quadratic"]))
        except ReliabilityError as exc:
            row["note"] = f"kappa not computed: {exc}"
        try:
            pa = percent_agreement(long)
            row.update(exact=pa["exact"], within_one=pa["within_one"])
        except ReliabilityError:
            pass
        if a in matrix.index and b in matrix.columns:
            value = matrix.at[a, b]
            row["icc_total"] = None if value is None or pd.isna(value) else float(value)
        out.append(row)
    return out, left_out


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
    statement), counts, ``total`` and ``items`` (ICC(2,1) with CI and Koo & Li band,
    Krippendorff's alpha, sessions behind each figure), ``pairs`` (Cohen's kappa per pair of
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
    total = {"item_id": TOTAL, "section": "", "item": "Session total score (mean of scored items)",
             **_figure(long_all, "interval")}
    labels = item_labels(library, instrument_id)
    items = []
    used = set(frame["item_id"]) if not frame.empty else set()
    for item_id in [i for i in labels if i in used] + sorted(used - set(labels)):
        long_item, _ = _long(frame, item_id)
        section, text = labels.get(item_id, ("", item_id))
        items.append({"item_id": item_id, "section": section, "item": text, **_figure(long_item, "ordinal")})
    if frame.empty:
        warnings.append("No submitted rater ratings match these filters; widen the date range or choose "
                        "another cohort or phase.")
    elif total["n_double_rated"] == 0:
        warnings.append("No session in this selection was rated by two raters, so no agreement can be "
                        "computed; assign second ratings (double-rate 15-20% of sessions).")
    for note in total["notes"]:
        if note != "no session was rated by two raters":
            warnings.append(f"Total score: {note}.")
    no_double = [r["item_id"] for r in items if r["n_double_rated"] == 0]
    if no_double and total["n_double_rated"]:
        warnings.append(f"{len(no_double)} item(s) have no double-rated session: {', '.join(no_double)}.")
    uncomputed = [r["item_id"] for r in items if r["n_double_rated"] and r["icc"] is None]
    if uncomputed:
        warnings.append(f"ICC(2,1) could not be computed for {len(uncomputed)} item(s) "
                        f"({', '.join(uncomputed)}); see the notes column for why.")
    severity = pd.DataFrame(columns=["rater", "n_ratings", "mean_rating", "n_shared_targets", "mean_difference"])
    matrix = matrix_n = pd.DataFrame()
    if not long_total.empty:
        severity = rater_severity(long_total)
        busiest = long_total["rater"].value_counts()
        shown = sorted(busiest.index[:MAX_MATRIX_RATERS])
        if len(busiest) > MAX_MATRIX_RATERS:
            warnings.append(f"The rater-by-rater matrix shows the {MAX_MATRIX_RATERS} raters with the most "
                            f"double-rated sessions (of {len(busiest)}); rater severity lists everyone.")
        in_matrix = long_total[long_total["rater"].isin(shown)]
        matrix = rater_pair_matrix(in_matrix, "icc_2_1")
        matrix_n = _shared_counts(in_matrix)
    pairs, pairs_left_out = _pairs(frame[frame["session_id"].astype(str).isin(set(long_total["target"]))]
                                   if not frame.empty else frame, matrix, MAX_PAIRS)
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
            "Item": r["item_id"],
            "Section": r["section"],
            "Double-rated sessions": r["n_double_rated"],
            "Sessions in ICC": r["n_icc_sessions"],
            "ICC(2,1)": None if r["icc"] is None else round(r["icc"], 3),
            "95% CI": _ci_text(r["ci_low"], r["ci_high"]),
            "Band (Koo & Li 2016)": r["band"].split(" (")[0],
            "Alpha": None if r["alpha"] is None else round(r["alpha"], 3),
            "Alpha reading (Krippendorff 2004)": r["alpha_band"].split(" (")[0],
            "Notes": "; ".join(r["notes"]),
            "Wording": r["item"],
        })
    return pd.DataFrame(out)


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
    return pd.DataFrame(out)


def severity_table(report: dict[str, Any]) -> pd.DataFrame:
    sev = report["severity"]
    return pd.DataFrame({
        "Rater": sev["rater"], "Ratings": sev["n_ratings"],
        "Mean total": [round(v, 2) for v in sev["mean_rating"]],
        "Shared sessions": sev["n_shared_targets"],
        "Mean difference from others": [None if v is None or pd.isna(v) else round(v, 2) for v in sev["mean_difference"]],
        "Reading": sev["direction"],
    })


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
    names = {"trainee": "trainee (true differences)", "session:trainee": "session within trainee",
             "rater": "rater", "residual": "residual (incl. trainee x rater)"}
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
