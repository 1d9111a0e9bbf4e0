"""Reliability of the platform's own fidelity ratings: data from the store, report, G study.

Reads submitted ratings by raters (``ratings.kind = 'rater'``; gold-standard and self-ratings
are left out) and builds the reliability report of issues 5 and 11: per item and for the
session score, on every double-rated session (raters rotate), the one-way ICC(1,1) with its 95 %
CI and Koo & Li band and the crossed random-effects ICC(A,1), Krippendorff's alpha, the raters'
agreement on each session's pass/fail decision, Cohen's kappa for each pair of raters, the
number of double-rated sessions behind every figure, a rater-by-rater matrix, rater severity,
and a G/D study. The session score is the instrument's own (:mod:`ipt_training.fidelity.pass_rule`:
the mean of the IPT items minus the proscribed-item deduction), as stored with each submitted
rating, never a mean that mixes proscribed items with adherence items. The statistics are
computed for every item at once (:mod:`.report_stats`); :mod:`.report_live` keeps the read data
up to date as ratings are submitted and serves one computation per change to every viewer (issue 16).
"""

from __future__ import annotations

import datetime as _dt
import functools
import platform
from importlib import metadata
from typing import Any, Optional, Union
import numpy as np
import pandas as pd
from sqlite_utils import Database
from .gstudy import d_study, g_study
from .long_data import ReliabilityError
from .raters import _rater_severity, bland_altman
from . import report_sums
from .shared_cache import shared
from .report_stats import decision_agreement, group_figures, pair_icc_matrix, rater_pairs as _pairs, shared_counts
from .report_tables import decision_table
# the display tables, re-exported for the page (``rd.figures_table(report)``)
from .report_tables import (decisions_table, figures_table, pairs_table, rater_pairs_for_plot,  # noqa: F401
                            severity_table)
from ..content import Library
from ..fidelity.base import default_library
from ..fidelity.ratings import score_rating
from ..store import one
from ..display import humanize, item_label


TOTAL = "total"


DEFAULT_TARGET_PHI = 0.80


# Bounds that keep the report readable at training-body scale: the matrix shows the raters with
# the most double-rated sessions and the pair table the pairs that share the most sessions.
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
    "The session score is the instrument's own: the mean of the IPT items scored minus the deduction for "
    "proscribed items (as the pass rule scores a session), so proscribed items are never averaged with "
    "adherence items; each item, proscribed ones included, also has its own figures. "
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
    """Where the log of changes to submitted ratings stands (:mod:`ipt_training.store_submissions`).

    Changes when a rating is submitted, when a submitted one is reopened, edited or deleted, when
    a session's trainee, phase, gold-standard mark or deletion changes, when cohort membership
    or names change; a draft save never changes it (issue 16), so the shared computations
    survive the raters' autosaves.
    """
    row = db.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM submitted_changes").fetchone()
    return str(row[0])


_SELECTED = """FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
        WHERE r.kind = 'rater' AND r.status = 'submitted' AND r.instrument_id = :inst
          AND s.deleted_at IS NULL AND (:gold = 1 OR s.is_gold_standard = 0)
          AND (:cohort IS NULL OR s.trainee_id IN (SELECT user_id FROM cohort_members WHERE cohort_id = :cohort))
          AND (:dfrom IS NULL OR substr(COALESCE(r.submitted_at, r.updated_at), 1, 10) >= :dfrom)
          AND (:dto IS NULL OR substr(COALESCE(r.submitted_at, r.updated_at), 1, 10) <= :dto)
          AND (:phase IS NULL OR s.phase = :phase)"""


RATING_COLUMNS = ["rating_id", "session_id", "trainee_id", "rater_id", "mean", "passed", "phase", "problem_area"]


def selection_params(instrument_id: str, cohort_id: Optional[int], date_from: DateLike, date_to: DateLike,
                     phase: Optional[str], include_gold_standard_sessions: bool = False) -> dict[str, Any]:
    """The SQL parameters of a selection (see :func:`_read`)."""
    return {"inst": instrument_id, "cohort": None if cohort_id is None else int(cohort_id),
            "dfrom": _iso(date_from), "dto": _iso(date_to), "phase": phase or None,
            "gold": 1 if include_gold_standard_sessions else 0}


def read_rows(db: Database, params: dict[str, Any], rating_ids: Optional[list[int]] = None) -> dict[str, Any]:
    """The rows of a selection as read from the store: ``ratings`` (RATING_COLUMNS and ``target``,
    the session id as text, by id),
    their scored items as arrays ``item_rating`` (rating id), ``item_id`` and ``score``, and
    ``names`` (id, display_name, username of the raters). ``rating_ids`` reads only those
    ratings (the ones submitted since an earlier read: :mod:`.report_live`)."""
    only = "" if rating_ids is None else f" AND r.id IN ({','.join(str(int(i)) for i in rating_ids) or 'NULL'})"
    ratings = pd.DataFrame.from_records(db.conn.execute(
        f"""SELECT r.id, r.session_id, s.trainee_id, r.rater_id, r.mean, r.passed, s.phase, s.problem_area
            {_SELECTED}{only} ORDER BY r.id""", params).fetchall(), columns=RATING_COLUMNS)
    ratings = ratings.astype({"rating_id": np.int64, "session_id": np.int64, "trainee_id": np.int64,
                              "rater_id": np.int64, "mean": float, "passed": float})
    ratings["target"] = ratings["session_id"].astype(str)  # the session as the long tables name it, made once
    items = pd.DataFrame.from_records(db.conn.execute(
        f"""WITH sel AS (SELECT r.id {_SELECTED}{only})
            SELECT i.rating_id, i.item_id, i.score FROM sel JOIN item_scores i ON i.rating_id = sel.id
            WHERE i.score IS NOT NULL AND i.not_applicable = 0""", params).fetchall(),
        columns=["rating_id", "item_id", "score"])
    return {"ratings": ratings, "item_rating": items["rating_id"].to_numpy(np.int64),
            "item_id": items["item_id"].to_numpy(object), "score": items["score"].to_numpy(float),
            "names": rater_names(db, ratings["rater_id"].tolist())}


def rater_names(db: Database, rater_ids: list) -> pd.DataFrame:
    """id, display_name, username of the given raters."""
    return pd.DataFrame.from_records(db.conn.execute(
        f"SELECT id, display_name, username FROM users WHERE id IN ({','.join(map(str, sorted(set(rater_ids)))) or 'NULL'})"
    ).fetchall(), columns=["id", "display_name", "username"])


def item_key(rows: dict[str, Any]) -> np.ndarray:
    """The (rating, item) order of coded item rows, as one integer per row."""
    return rows["item_rating"] * max(len(rows["item_ids"]), 1) + rows["item_code"]


def in_item_order(rows: dict[str, Any]) -> dict[str, Any]:
    """Coded item rows (``item_code`` into the sorted ``item_ids``) in (rating, item) order, so
    that data read at once and data merged from several reads are the same arrays."""
    key = item_key(rows)
    if len(key) < 2 or (np.diff(key) > 0).all():
        return rows
    order = np.argsort(key, kind="stable")
    return {**rows, **{k: rows[k][order] for k in ("item_rating", "item_code", "score")}}


def assemble(rows: dict[str, Any], exclude_sessions: frozenset = frozenset()) -> dict[str, Any]:
    """The data the statistics use, from :func:`read_rows` output (``item_code`` and
    ``item_ids``, the sorted item ids, when already coded), less the ratings of
    ``exclude_sessions``: see :func:`_read`. Rater labels are display names, disambiguated by
    sign-in name when two raters in the selection share one."""
    ratings = rows["ratings"]
    if exclude_sessions:
        ratings = ratings[~ratings["session_id"].isin(exclude_sessions)].reset_index(drop=True)
    if "item_code" not in rows:
        code, uniques = pd.factorize(rows["item_id"], sort=True)
        rows = in_item_order({**rows, "item_code": code.astype(np.int64), "item_ids": [str(x) for x in uniques]})
    code, item_ids, rid = rows["item_code"], list(rows["item_ids"]), rows["item_rating"]
    ids = ratings["rating_id"].to_numpy(np.int64)
    # item rows are in rating-id order (in_item_order): each rating's items are one run of rid
    lo, hi = np.searchsorted(rid, ids), np.searchsorted(rid, ids, side="right")
    count = hi - lo
    pos = np.repeat(np.arange(len(ids)), count)
    found = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(len(pos))  # the item rows of ``ids``
    code = np.asarray(code, dtype=np.int64)[found]
    if exclude_sessions:  # only the items scored in what is left
        used = np.bincount(code, minlength=len(item_ids)) > 0
        if not used.all():
            code, item_ids = (np.cumsum(used) - 1)[code], [i for i, u in zip(item_ids, used) if u]
    items = _item_frame(pos, code, rows["score"][found])
    names = rows["names"]
    names = names[names["id"].isin(set(ratings["rater_id"].tolist()))]
    dup = names["display_name"].duplicated(keep=False)
    labels = {int(r.id): (f"{r.display_name} ({r.username})" if d else r.display_name)
              for r, d in zip(names.itertuples(), dup)}
    ratings = ratings.assign(rater=ratings["rater_id"].map(labels))
    return {"ratings": ratings, "items": items, "item_ids": item_ids, "labels": labels, "memo": {}}


def _item_frame(row: np.ndarray, item: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """The items table (row, item, score) around the arrays as they are: the item codes as int32,
    so that no two columns share a dtype and pandas stacks (copies) none of them."""
    return pd.DataFrame({"row": np.asarray(row, dtype=np.int64), "item": np.asarray(item, dtype=np.int32),
                         "score": np.asarray(score, dtype=float)}, copy=False)


def _read(db: Database, instrument_id: str, cohort_id: Optional[int], date_from: DateLike, date_to: DateLike,
          phase: Optional[str], include_gold_standard_sessions: bool = False,
          exclude_sessions: frozenset = frozenset()) -> dict[str, Any]:
    """The submitted rater ratings that pass the filters, and their scored items (lean: no drafts,
    no N/A items, only the columns the statistics use).

    Filters: the trainee is in ``cohort_id``; the rating was submitted between ``date_from``
    and ``date_to`` (inclusive, ISO days); the session is of ``phase``. Deleted sessions are left
    out; so are gold-standard (calibration) sessions unless asked for, and ``exclude_sessions``
    (those the viewer is still blind to: :func:`fidelity.blind_session_ids`).

    Returns ``ratings`` (DataFrame of RATING_COLUMNS plus ``target`` and ``rater``, the label, by rating id),
    ``items`` (DataFrame: row (index into ratings), item (index into ``item_ids``, sorted), score)
    and ``labels`` (rater id -> label: display names, disambiguated by sign-in name when two
    people share one).
    """
    params = selection_params(instrument_id, cohort_id, date_from, date_to, phase, include_gold_standard_sessions)
    return assemble(read_rows(db, params), exclude_sessions)


def _session_scores(inst: Any, data: dict[str, Any], min_items: int) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_scored` of ``data``, once per data (assembled data carry a ``memo``; read-only results)."""
    memo = data.get("memo")
    key = ("scores", inst.id, getattr(inst, "content_hash", None), int(min_items))
    if memo is None:
        return _scored(inst, data, min_items)
    if key not in memo:
        memo[key] = _scored(inst, data, min_items)
    return memo[key]


def _scored(inst: Any, data: dict[str, Any], min_items: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Each rating's session score and pass/fail under the instrument's pass rule.

    The score and decision stored when the rating was submitted (``ratings.mean``, ``passed``,
    from :func:`fidelity.ratings.score_rating`) are used; a rating stored without them is scored
    now by the same rule. A rating with fewer than ``min_items`` IPT items scored is left out
    (NaN score, no decision). Returns (scores, passed as 0/1 or -1 when undecided, how many
    were left out for too few items).
    """
    ratings, items = data["ratings"], data["items"]
    n = len(ratings)
    score = pd.to_numeric(ratings["mean"], errors="coerce").to_numpy(float)
    passed = pd.to_numeric(ratings["passed"], errors="coerce").to_numpy(float)
    proscribed = {it.id for it in inst.items if it.proscribed}
    ipt = ~np.asarray([i in proscribed for i in data["item_ids"]] + [False], dtype=bool)[items["item"].to_numpy()]
    n_scored = np.bincount(items["row"].to_numpy()[ipt], minlength=n)
    redo = np.flatnonzero(np.isnan(score) | np.isnan(passed))
    if len(redo):
        rows_of = items[items["row"].isin(redo)].groupby("row")
        for k in redo:
            part = rows_of.get_group(k) if k in rows_of.groups else items.iloc[:0]
            result = score_rating(inst, {"phase": ratings.at[k, "phase"], "problem_area": ratings.at[k, "problem_area"]},
                                  {data["item_ids"][i]: {"score": v, "not_applicable": 0}
                                   for i, v in zip(part["item"], part["score"])})
            score[k] = np.nan if result["mean"] is None else result["mean"]
            passed[k] = float(result["passed"])
    short = n_scored < max(1, int(min_items))
    score[short] = np.nan
    passed[short | np.isnan(passed)] = -1
    return score, passed.astype(np.int64), int(short.sum())


def _session_long(data: dict[str, Any], score: np.ndarray) -> pd.DataFrame:
    keep = ~np.isnan(score)
    r = data["ratings"]
    target = r["target"] if "target" in r else r["session_id"].astype(str)
    return pd.DataFrame({"target": target.to_numpy()[keep], "rater": r["rater"].to_numpy()[keep],
                         "rating": score[keep]})


def _double_rated_scores(data: dict[str, Any], score: np.ndarray, long_all: pd.DataFrame) -> pd.DataFrame:
    """:func:`_double_rated` of :func:`_session_long` ``long_all``, counted on the session ids (a
    rater rates a session once: ``UNIQUE (session_id, rater_id, kind)``, so ratings are raters)."""
    sid = data["ratings"]["session_id"].to_numpy(np.int64)[~np.isnan(score)]
    if not len(sid):
        return long_all
    _, inverse, count = np.unique(sid, return_inverse=True, return_counts=True)
    return long_all[count[inverse] >= 2].reset_index(drop=True)


def _double_rated(long: pd.DataFrame) -> pd.DataFrame:
    if long.empty:
        return long
    n = long.groupby("target")["rater"].transform("nunique")
    return long[n >= 2].reset_index(drop=True)


def long_ratings(db: Database, instrument_id: str, cohort_id: Optional[int] = None, date_from: DateLike = None,
                 date_to: DateLike = None, phase: Optional[str] = None, item_id: Optional[str] = None,
                 double_rated_only: bool = False, min_items: int = 1, include_gold_standard_sessions: bool = False,
                 library: Optional[Library] = None) -> pd.DataFrame:
    """Submitted rater ratings in long format: columns target (session id), rater, rating.

    ``item_id`` names one instrument item (its scores; N/A left out); None or ``'total'``
    gives the session score of each rating under the instrument's pass rule (see
    :func:`_session_scores`; ratings with fewer than ``min_items`` IPT items scored are left
    out). Only ``kind='rater'`` ratings count: gold and self-ratings are excluded.
    ``double_rated_only`` keeps sessions rated by 2+ raters.
    """
    data = _read(db, instrument_id, cohort_id, date_from, date_to, phase, include_gold_standard_sessions)
    if item_id not in (None, TOTAL):
        code = data["item_ids"].index(item_id) if item_id in data["item_ids"] else -1
        part = data["items"][data["items"]["item"] == code]
        r = data["ratings"].iloc[part["row"].to_numpy()]
        long = pd.DataFrame({"target": r["session_id"].astype(str).to_numpy(), "rater": r["rater"].to_numpy(),
                             "rating": part["score"].to_numpy(float)})
    else:
        inst = (library or default_library()).instruments[instrument_id]
        long = _session_long(data, _session_scores(inst, data, min_items)[0])
    return _double_rated(long) if double_rated_only else long


@functools.lru_cache(maxsize=1)
def _versions_cached() -> tuple:
    return tuple(_package_versions().items())


def _versions() -> dict[str, str]:
    return dict(_versions_cached())


def _package_versions() -> dict[str, str]:
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


def _item_figures(data: dict[str, Any], sums: "report_sums.ItemSums", names: np.ndarray,
                  labels: dict[str, tuple[str, str]], names_of: dict[str, str]) -> list[dict[str, Any]]:
    """Per-item figures on every double-rated session, every item at once (:func:`group_figures`
    from the kept sums: :mod:`.report_sums`); the sums may hold items the data no longer have
    (scored only in sessions a viewer is blind to: :meth:`.report_sums.ItemSums.view`)."""
    if not data["item_ids"]:
        return []
    wanted = set(data["item_ids"])
    by_id = {i: f for i, f in zip(sums.item_ids, sums.item_figures(names)) if i in wanted}
    order = [i for i in labels if i in by_id] + sorted(set(by_id) - set(labels))
    return [{"item_id": i, "label": names_of.get(i) or humanize(i), "section": labels.get(i, ("", i))[0],
             "item": labels.get(i, ("", i))[1], **by_id[i]} for i in order]


def _session_figure(long_all: pd.DataFrame, data: dict[str, Any], score: np.ndarray) -> dict[str, Any]:
    """The session score's figure of :func:`_session_long` ``long_all`` (of ``data`` and ``score``),
    targets and raters coded by their ids (one to one with the long table's labels)."""
    if long_all.empty:
        return group_figures(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), 1, np.asarray([]), "interval")[0]
    keep = ~np.isnan(score)
    r = data["ratings"]
    r_codes = pd.factorize(r["rater_id"].to_numpy(np.int64)[keep])[0]
    names = np.asarray(long_all["rater"].to_numpy()[np.unique(r_codes, return_index=True)[1]], dtype=object)
    return group_figures(np.zeros(len(long_all)), pd.factorize(r["session_id"].to_numpy(np.int64)[keep])[0], r_codes,
                         long_all["rating"].to_numpy(float), 1, names, "interval")[0]


def reliability_report(db: Database, library: Library, instrument_id: str, cohort_id: Optional[int] = None,
                       date_from: DateLike = None, date_to: DateLike = None,
                       phase: Optional[str] = None, exclude_sessions: frozenset = frozenset()) -> dict[str, Any]:
    """Inter-rater reliability of submitted rater ratings on one instrument.

    Returns a dict (plain data and DataFrames): instrument, filters, model (the ICC model
    statement), counts, ``total`` (the session score) and ``items`` (on every double-rated
    session: ICC(1,1) as ``icc`` with CI and Koo & Li band, crossed ICC(A,1) as ``icc_a1``,
    Krippendorff's alpha, sessions behind each figure), ``decisions`` (raters' agreement on each
    double-rated session's pass/fail: :func:`report_stats.decision_agreement`), ``pairs``
    (Cohen's kappa per pair of raters), ``matrix`` (session-score ICC(2,1) per rater pair) and
    ``matrix_n`` (shared sessions), ``severity``, ``long_total`` (the double-rated session
    scores, for Bland-Altman), ``session_ids`` (every session in the selection), ``warnings``
    and ``software``.
    """
    inst = library.instruments.get(instrument_id)
    if inst is None:
        raise ReportError(f"The instrument {instrument_id!r} is not loaded; choose one of the listed instruments.")
    dfrom, dto = _iso(date_from), _iso(date_to)
    if dfrom and dto and dfrom > dto:
        raise ReportError("The start date is after the end date; swap them or widen the range.")
    data = _read(db, instrument_id, cohort_id, dfrom, dto, phase, exclude_sessions=exclude_sessions)
    filters = {"cohort_id": cohort_id, "cohort": _cohort_name(db, cohort_id), "date_from": dfrom, "date_to": dto,
               "phase": phase or "all phases"}
    return report_from_data(library, inst, data, filters)


def read_ratings(db: Database, instrument_id: str, cohort_id: Optional[int] = None, date_from: DateLike = None,
                 date_to: DateLike = None, phase: Optional[str] = None,
                 exclude_sessions: frozenset = frozenset()) -> dict[str, Any]:
    """The SQL read of :func:`reliability_report` alone (the benchmark times it apart)."""
    return _read(db, instrument_id, cohort_id, date_from, date_to, phase, exclude_sessions=exclude_sessions)


def double_rated_part(data: dict[str, Any]) -> dict[str, Any]:
    """The ratings (and their items) of the sessions with two or more ratings: every figure of the
    report but the counts of sessions and ratings depends on these alone (:func:`figures_of`).
    Once per assembled data (kept in its ``memo``; read-only)."""
    found = data.get("memo", {}).get("double_part")
    if found is not None:
        return found
    r = data["ratings"]
    codes = pd.factorize(r["session_id"])[0]
    keep = np.bincount(codes, minlength=1)[codes] >= 2
    if keep.all():
        return data
    it = data["items"]
    row = it["row"].to_numpy()
    on = keep[row]
    items = _item_frame((np.cumsum(keep) - 1)[row[on]], it["item"].to_numpy()[on], it["score"].to_numpy()[on])
    memo = {}  # the part's session scores are the data's, row by row
    for key, value in list(data.get("memo", {}).items()):
        if isinstance(key, tuple) and key[0] == "scores":
            score, passed, _ = value
            memo[key] = (score[keep], passed[keep], int((passed[keep] < 0).sum()))  # -1: too few items
    part = {**data, "ratings": r[keep].reset_index(drop=True), "items": items, "memo": memo}
    if "memo" in data:
        data["memo"]["double_part"] = part
    return part


def figures_of(library: Library, inst: Any, data: dict[str, Any],
               sums: Optional["report_sums.ItemSums"] = None) -> dict[str, Any]:
    """The figures of :func:`reliability_report` (everything but the counts of all sessions and
    ratings), on :func:`double_rated_part` data; ``sums``: :func:`.report_sums.build` of it, when
    kept up to date already (:mod:`.report_live`)."""
    min_items = inst.pass_rule.min_applicable_items
    if sums is None:
        sums = report_sums.build(data, scale_points(library, inst) or [])
    names = np.asarray([data["labels"].get(int(x), str(x)) for x in sums.rater_ids], dtype=object)
    score, passed, _ = _session_scores(inst, data, min_items)
    long_all = _session_long(data, score)
    long_total = _double_rated_scores(data, score, long_all)
    total = {"item_id": TOTAL, "label": "Session score", "section": "",
             "item": "Session score (the pass rule's: mean of IPT items less the proscribed-item deduction)",
             **_session_figure(long_all, data, score)}
    items = _item_figures(data, sums, names, item_labels(library, inst.id), {it.id: item_label(it) for it in inst.items})
    decided = passed >= 0
    decisions = decision_agreement(pd.factorize(data["ratings"]["session_id"])[0][decided], passed[decided])
    warnings: list[str] = []
    severity = pd.DataFrame(columns=["rater", "n_ratings", "mean_rating", "n_shared_targets", "mean_difference"])
    matrix = matrix_n = pd.DataFrame()
    if not long_total.empty:
        severity = _rater_severity(long_total)
        counts = long_total["rater"].value_counts()
        busiest = sorted(counts.index, key=lambda r: (-counts[r], r))  # ties by label: independent of row order
        shown = sorted(busiest[:MAX_MATRIX_RATERS])
        if len(busiest) > MAX_MATRIX_RATERS:
            warnings.append(f"The rater-by-rater matrix shows the {MAX_MATRIX_RATERS} raters with the most "
                            f"double-rated sessions (of {len(busiest)}); rater severity lists everyone.")
        in_matrix = long_total[long_total["rater"].isin(shown)]
        matrix = pair_icc_matrix(in_matrix, shown)
        matrix_n = shared_counts(in_matrix)
    pairs, pairs_left_out = _pairs(data, sums, names, matrix, MAX_PAIRS)
    if pairs_left_out:
        warnings.append(f"The rater-pair table lists the {MAX_PAIRS} pairs that share the most sessions; "
                        f"{pairs_left_out} further pair(s) are left out.")
    severity["direction"] = [
        "" if v is None or pd.isna(v) else ("more lenient than the others" if v > 0 else
                              "more severe than the others" if v < 0 else "same as the others")
        for v in severity["mean_difference"]
    ]
    return {"total": total, "items": items, "decisions": decisions, "pairs": pairs, "matrix": matrix,
            "matrix_n": matrix_n, "severity": severity, "long_total": long_total, "warnings": warnings}


def report_from_data(library: Library, inst: Any, data: dict[str, Any], filters: dict[str, Any],
                     figures: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The statistics of :func:`reliability_report` on data already read (:func:`read_ratings`);
    ``figures``: :func:`figures_of` its :func:`double_rated_part`, when already computed
    (:mod:`.report_live` shares them while only single-rated sessions change). Read-only."""
    min_items = inst.pass_rule.min_applicable_items
    if figures is None:
        figures = figures_of(library, inst, double_rated_part(data))
    score, _, n_short = _session_scores(inst, data, min_items)
    long_all = _session_long(data, score)
    long_total = figures["long_total"]
    # sessions behind each figure: the double-rated part's, plus each single-rated session's items
    codes = pd.factorize(data["ratings"]["session_id"])[0]
    single = (np.bincount(codes, minlength=1)[codes] == 1)[data["items"]["row"].to_numpy()]
    code_of = {item_id: n for n, item_id in enumerate(data["item_ids"])}
    singles = np.bincount(data["items"]["item"].to_numpy()[single], minlength=len(code_of))
    total = {**figures["total"], "n_sessions": int(long_all["target"].nunique()) if not long_all.empty else 0}
    items = [{**r, "n_sessions": r["n_sessions"] + int(singles[code_of[r["item_id"]]])} for r in figures["items"]]
    warnings: list[str] = []
    if n_short:
        warnings.append(f"{n_short} rating(s) scored fewer than {min_items} IPT items and are left out of the "
                        "session score (the instrument's pass rule cannot judge them).")
    if data["ratings"].empty:
        warnings.append("No submitted rater ratings match these filters; widen the date range or choose "
                        "another cohort or phase.")
    elif total["n_double_rated"] == 0:
        warnings.append("No session in this selection was rated by two raters, so no agreement can be "
                        "computed; assign second ratings (double-rate 15-20% of sessions).")
    for note in total["notes"]:
        if note != "no session was rated by two raters":
            warnings.append(f"Session score: {note}.")
    no_double = [r["label"] for r in items if r["n_double_rated"] == 0]
    if no_double and total["n_double_rated"]:
        warnings.append(f"{len(no_double)} item(s) have no double-rated session: {', '.join(no_double)}.")
    uncomputed = [r["label"] for r in items if r["n_double_rated"] and r["icc"] is None]
    if uncomputed:
        warnings.append(f"ICC(1,1) could not be computed for {len(uncomputed)} item(s) "
                        f"({', '.join(uncomputed)}); see the notes column for why.")
    return {
        "instrument": {"id": inst.id, "name": inst.name, "version": inst.version},
        "filters": filters,
        "model": {**MODEL, "statement": MODEL_STATEMENT},
        "n_ratings": int(len(long_all)),
        "n_sessions": total["n_sessions"],
        "n_double_rated": total["n_double_rated"],
        "raters": sorted(long_total["rater"].unique()) if not long_total.empty else [],
        "total": total,
        "items": items,
        "decisions": figures["decisions"],
        "pairs": figures["pairs"],
        "matrix": figures["matrix"],
        "matrix_n": figures["matrix_n"],
        "severity": figures["severity"],
        "long_total": long_total,
        "session_ids": frozenset(data["ratings"]["session_id"].tolist()),
        "warnings": warnings + figures["warnings"],
        "software": _versions(),
        "generated_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "bland_altman_memo": {},
    }


def bland_altman_pair(report: dict[str, Any], rater_a: str, rater_b: str) -> dict[str, Any]:
    """Bland-Altman bias and limits of two raters' total scores, plus a ``points`` DataFrame.

    Raises ReportError with a sentence when the pair shares fewer than two sessions.
    """
    memo = report.get("bland_altman_memo")
    if memo is not None and (rater_a, rater_b) in memo:
        return memo[(rater_a, rater_b)]  # a shared report computes each pair once (read-only)
    long = report["long_total"]
    wanted = {str(rater_a).strip(), str(rater_b).strip()}
    labels = [x for x in long["rater"].unique() if str(x).strip() in wanted]  # each label stripped once
    pair = long[long["rater"].isin(labels)]
    try:  # the pair's rows only: checking every rater's would cost more than the plot
        res = bland_altman(pair, rater_a, rater_b)
    except ReliabilityError as exc:
        raise ReportError(f"No Bland-Altman plot for this pair: {exc} Choose a pair that shares sessions.") from None
    res["points"] = pd.DataFrame({"session": res["targets"], "mean": res["mean"], "difference": res["diff"]})
    if memo is not None:
        memo[(rater_a, rater_b)] = res
    return res


def rating_period(db: Database, instrument_id: Optional[str] = None) -> tuple[_dt.date, _dt.date]:
    """First and last day a rater rating was submitted (a default date range for the report),
    read once per change of submitted ratings (:func:`data_stamp`) and day."""
    return shared("rating_period", db, (instrument_id, data_stamp(db), _dt.date.today()),
                  lambda: _rating_period(db, instrument_id))


def _rating_period(db: Database, instrument_id: Optional[str]) -> tuple[_dt.date, _dt.date]:
    r = one(db, """SELECT MIN(substr(submitted_at, 1, 10)) AS lo, MAX(substr(submitted_at, 1, 10)) AS hi
                   FROM ratings WHERE kind = 'rater' AND status = 'submitted'
                   AND (:inst IS NULL OR instrument_id = :inst)""", {"inst": instrument_id}) or {}
    today = _dt.date.today()
    lo = _dt.date.fromisoformat(r["lo"]) if r.get("lo") else today - _dt.timedelta(days=365)
    hi = max(_dt.date.fromisoformat(r["hi"]) if r.get("hi") else today, today)
    return min(lo, hi), hi


def g_input(inst: Any, data: dict[str, Any], min_items: int) -> pd.DataFrame:
    """Double-rated session scores (the pass rule's) of read data, for ``g_study``: columns
    trainee, session, rater, score."""
    score = _session_scores(inst, data, min_items)[0]
    keep = ~np.isnan(score)
    r = data["ratings"][keep]
    # integer ids: the G study reads them as labels without a per-cell conversion
    per = pd.DataFrame({"trainee": r["trainee_id"].to_numpy(np.int64), "session": r["session_id"].to_numpy(np.int64),
                        "rater": r["rater_id"].to_numpy(np.int64), "score": score[keep]})
    return per[per.groupby("session")["rater"].transform("nunique") >= 2].reset_index(drop=True)


def g_study_data(db: Database, instrument_id: str, cohort_id: Optional[int] = None, date_from: DateLike = None,
                 date_to: DateLike = None, phase: Optional[str] = None, min_items: int = 1,
                 exclude_sessions: frozenset = frozenset(), library: Optional[Library] = None) -> pd.DataFrame:
    """:func:`g_input` of the selection read from the store."""
    data = _read(db, instrument_id, cohort_id, date_from, date_to, phase, exclude_sessions=exclude_sessions)
    return g_input((library or default_library()).instruments[instrument_id], data, min_items)


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
    if inst is None:
        raise ReportError(f"The instrument {instrument_id!r} is not loaded; choose one of the listed instruments.")
    data = g_study_data(db, instrument_id, cohort_id, date_from, date_to, phase, min_items, exclude_sessions, library)
    return generalizability_of(data, target_phi)


def generalizability_of(data: pd.DataFrame, target_phi: float = DEFAULT_TARGET_PHI) -> dict[str, Any]:
    """:func:`generalizability` of :func:`g_input` data (pure)."""
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
