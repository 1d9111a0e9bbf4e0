"""Calibration against a gold-standard rating, rater certification status and drift (pure; the store-facing side is :mod:`.calibration`).
"""

from __future__ import annotations

import calendar
import datetime as _dt
from typing import Any, Mapping, Sequence
import numpy as np
import pandas as pd
from .icc import _icc, _icc_table
from .long_data import ReliabilityError, _ensure, _is_missing_value


def calibration_agreement(
    rater_scores: Mapping[Any, float], gold_scores: Mapping[Any, float]
) -> dict[str, Any]:
    """Agreement of one rater's item scores with gold-standard scores.

    Over items scored by both: ICC(2,1) with the gold standard as the second
    "rater" (Shrout & Fleiss 1979), exact and within-one-point proportions and
    the per-item differences (rater - gold).

    Returns
    -------
    dict
        n_items, icc (float or None), icc_ci95, icc_reason (why icc is None),
        exact, within_one, differences (list of {item, score, gold, difference}),
        unscored_items (gold items the rater did not score).
    """
    items = []
    unscored = []
    for item, gold in gold_scores.items():
        if _is_missing_value(gold):
            continue
        score = rater_scores.get(item)
        if _is_missing_value(score):
            unscored.append(item)
            continue
        try:
            items.append((item, float(score), float(gold)))
        except (TypeError, ValueError):
            raise ReliabilityError(
                f"item {item!r}: scores must be numbers (got {score!r} and {gold!r})."
            ) from None
    if not items:
        raise ReliabilityError(
            "no item has both a rater score and a gold-standard score; score the "
            "calibration items first."
        )
    diffs = [{"item": i, "score": s, "gold": g, "difference": s - g} for i, s, g in items]
    delta = np.array([x["difference"] for x in diffs])
    result: dict[str, Any] = {
        "n_items": len(items),
        "icc": None,
        "icc_ci95": None,
        "icc_reason": None,
        "exact": float(np.mean(delta == 0)),
        "within_one": float(np.mean(np.abs(delta) <= 1 + 1e-12)),
        "differences": diffs,
        "unscored_items": unscored,
    }
    if len(items) < 3:
        result["icc_reason"] = (
            f"ICC needs at least 3 items scored by both the rater and the gold standard; "
            f"there are {len(items)}."
        )
        return result
    long = pd.DataFrame(
        [(str(i), "rater", s) for i, s, _ in items] + [(str(i), "gold", g) for i, _, g in items],
        columns=["target", "rater", "rating"],
    )
    try:
        entry = _icc(_ensure(long))["ICC(2,1)"]
    except ReliabilityError as exc:
        result["icc_reason"] = str(exc)
        return result
    result["icc"] = entry["value"]
    result["icc_ci95"] = entry["ci95"]
    return result


def _as_date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ReliabilityError(f"calibration date {value!r} is not a date (use YYYY-MM-DD).")


def _add_months(day: _dt.date, months: int) -> _dt.date:
    month0 = day.month - 1 + int(months)
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


POOLED_DEFAULTS: dict[str, Any] = {
    "min_sessions": 6, "window_sessions": None, "window_months": None, "min_phases": 1,
    "min_icc": 0.75, "icc_judged_on": "point", "min_exact": 0.60, "min_within_one": 0.90,
    "min_pass_fail_agreement": 1.0, "valid_months": 12,
}


def pooled_agreement(sessions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A rater's agreement with gold ratings pooled over calibration sessions.

    Targets are (session, item) pairs of every item the gold rating scored. An item the rater
    left unscored counts as a disagreement in exact and within-one agreement (never as missing).
    ICC(A,1) (two-way random, absolute agreement, single rater; McGraw & Wong 1996) treats the
    rater and the gold rating as two raters of the pooled targets the rater scored, with its
    95 % CI; mean signed difference = mean(rater - gold) (severity: negative is severe).

    Parameters
    ----------
    sessions : list of dict
        Each ``{"items": [(item, rater score or None, gold score)], "rater_passed", "gold_passed"}``
        (pass/fail decisions under the instrument's pass rule; None when undecided).

    Returns
    -------
    dict
        n_sessions, n_targets, n_unscored, exact, within_one, mean_difference, icc, icc_ci95,
        icc_reason, pass_fail_agreement, pass_fail_disagreements (session indices).
    """
    rows = []
    unscored = 0
    for n, s in enumerate(sessions):
        for item, score, gold in s["items"]:
            if _is_missing_value(gold):
                continue
            if _is_missing_value(score):
                unscored += 1
                rows.append((f"{n}:{item}", None, float(gold)))
            else:
                rows.append((f"{n}:{item}", float(score), float(gold)))
    if not rows:
        raise ReliabilityError("no calibration item has a gold-standard score; nothing to compare.")
    scored = [(t, s, g) for t, s, g in rows if s is not None]
    diffs = np.array([s - g for _, s, g in scored])
    n_targets = len(rows)
    out: dict[str, Any] = {
        "n_sessions": len(sessions), "n_targets": n_targets, "n_unscored": unscored,
        "exact": float(np.sum(diffs == 0)) / n_targets,
        "within_one": float(np.sum(np.abs(diffs) <= 1 + 1e-12)) / n_targets,
        "mean_difference": float(diffs.mean()) if len(diffs) else None,
        "icc": None, "icc_ci95": [None, None], "icc_reason": None,
    }
    golds = np.array([g for _, _, g in rows])
    if len(scored) < 3:
        out["icc_reason"] = f"ICC(A,1) needs at least 3 items scored by the rater; there are {len(scored)}."
    elif np.ptp(golds) == 0 and np.ptp(diffs) == 0 and diffs[0] == 0 and unscored == 0:
        out["icc_reason"] = ("ICC(A,1) is undefined: every gold score is the same and the rater gave the same "
                             "scores, so there is no variance to share; exact agreement decides.")
    else:
        table = np.asarray([(s, g) for _, s, g in scored], dtype=float)  # targets x (rater, gold)
        if np.ptp(table) == 0:
            out["icc_reason"] = "ICC(A,1) is undefined: every score the rater gave and every gold score is the same value."
        else:
            entry = _icc_table(table)["ICC(2,1)"]
            out["icc"], out["icc_ci95"] = entry["value"], entry["ci95"]
            if entry["value"] is None:
                out["icc_reason"] = "ICC(A,1) is not defined for these scores."
    decided = [s for s in sessions if s.get("rater_passed") is not None and s.get("gold_passed") is not None]
    agree = [s["rater_passed"] == s["gold_passed"] for s in decided]
    out["pass_fail_agreement"] = float(np.mean(agree)) if decided else None
    out["pass_fail_disagreements"] = [n for n, s in enumerate(sessions) if s.get("rater_passed") is not None
                                      and s.get("gold_passed") is not None and s["rater_passed"] != s["gold_passed"]]
    return out


def drift(calibrations: Sequence[Mapping[str, Any]], policy: Mapping[str, Any] | None = None,
          window: int | None = None) -> dict[str, Any]:
    """A rater's agreement with gold over time, on the certification rule's own terms (issue 11.3).

    At each calibration session (date order) the rater's agreement is pooled over the (session,
    item) targets of the last ``window`` sessions up to it (default: the policy's
    ``min_sessions``, the certification window; fewer at the start), exactly as
    :func:`pooled_certification` pools them: ICC(A,1) with the gold rating, exact and within-one
    agreement (an unscored gold item is a disagreement) and the mean signed difference
    (severity). A full window is flagged when its pooled ICC(A,1) (the point estimate or the
    lower 95 % bound, as the policy's ``icc_judged_on`` says), exact or within-one agreement falls
    below the policy's threshold, so the latest point is the figure certification judges.

    Parameters
    ----------
    calibrations : list of dict
        ``{"date", "items": [(item, score or None, gold)], ...}`` as for :func:`pooled_certification`.

    Returns
    -------
    dict
        points (one per session: date, n_sessions pooled, full, icc, icc_low, exact, within_one,
        mean_difference) and flags (date, metric, value, threshold, window, sessions).
    """
    pol = dict(POOLED_DEFAULTS)
    pol.update({k: v for k, v in (policy or {}).items() if v is not None})
    window = int(window if window is not None else pol["min_sessions"])
    if window < 1:
        raise ReliabilityError(f"window must be at least 1, not {window!r}.")
    sessions = sorted(({**c, "date": _as_date(c.get("date"))} for c in calibrations), key=lambda c: c["date"])
    points, flags = [], []
    names = {"icc": "ICC(A,1)" if pol["icc_judged_on"] != "lower_ci" else "lower 95% bound of ICC(A,1)",
             "exact": "exact agreement", "within_one": "within-one agreement"}
    for end in range(len(sessions)):
        chunk = sessions[max(0, end - window + 1):end + 1]
        fig = pooled_agreement(chunk)
        low = fig["icc_ci95"][0] if fig["icc_ci95"] else None
        point = {"date": chunk[-1]["date"], "n_sessions": len(chunk), "full": len(chunk) == window,
                 "icc": fig["icc"], "icc_low": low, "exact": fig["exact"], "within_one": fig["within_one"],
                 "mean_difference": fig["mean_difference"]}
        points.append(point)
        if not point["full"]:
            continue
        judged = {"icc": low if pol["icc_judged_on"] == "lower_ci" else fig["icc"], "exact": fig["exact"],
                  "within_one": fig["within_one"]}
        thresholds = {"icc": pol["min_icc"], "exact": pol["min_exact"], "within_one": pol["min_within_one"]}
        for metric, value in judged.items():
            if value is not None and value < thresholds[metric] - 1e-12:
                flags.append({"date": point["date"], "metric": metric, "label": names[metric], "value": value,
                              "threshold": float(thresholds[metric]), "window": window,
                              "sessions": [c["date"] for c in chunk]})
    return {"points": points, "flags": flags}


def pooled_certification(
    calibrations: Sequence[Mapping[str, Any]],
    policy: Mapping[str, Any] | None = None,
    today: _dt.date | None = None,
) -> dict[str, Any]:
    """Whether a rater is certified, from calibration sessions pooled as the policy says (issue 11.6).

    The most recent sessions on or before ``today`` (at most ``window_sessions``, only those of
    the last ``window_months`` when set) are pooled; there must be at least ``min_sessions`` from
    at least ``min_phases`` phases. Pooled over their (session, item) targets (see
    :func:`pooled_agreement`) the rater must reach: exact agreement >= ``min_exact``, within-one
    >= ``min_within_one``, ICC(A,1) >= ``min_icc`` judged on the CI's lower bound or the point
    estimate (``icc_judged_on``; when every score is the same and the rater matches it, the ICC
    is undefined and agreement decides), and pass/fail agreement with the gold rating on at least
    ``min_pass_fail_agreement`` of the sessions (1.0: every session). Certification dates from
    the latest pooled session and lasts ``valid_months``.

    Parameters
    ----------
    calibrations : list of dict
        ``{"date", "phase", "items": [(item, score or None, gold)], "rater_passed", "gold_passed"}``.

    Returns
    -------
    dict
        certified, certified_on, expires_on, reasons, figures (of :func:`pooled_agreement`, plus
        sessions: the dates pooled).
    """
    pol = dict(POOLED_DEFAULTS)
    pol.update({k: v for k, v in (policy or {}).items() if v is not None or k in ("window_sessions", "window_months")})
    today = today or _dt.date.today()
    sessions = sorted(({**c, "date": _as_date(c.get("date"))} for c in calibrations), key=lambda c: c["date"])
    sessions = [c for c in sessions if c["date"] <= today]
    if pol.get("window_months"):
        start = _add_months(today, -int(pol["window_months"]))
        sessions = [c for c in sessions if c["date"] >= start]
    if pol.get("window_sessions"):
        sessions = sessions[-int(pol["window_sessions"]):]
    result: dict[str, Any] = {"certified": False, "certified_on": None, "expires_on": None, "reasons": [],
                              "figures": None}
    need = int(pol["min_sessions"])
    if len(sessions) < need:
        result["reasons"].append(f"{len(sessions)} calibration session(s) in the policy's window; {need} are needed.")
        return result
    phases = {c.get("phase") for c in sessions if c.get("phase")}
    if len(phases) < int(pol["min_phases"]):
        result["reasons"].append(f"the calibration sessions cover {len(phases)} treatment phase(s); "
                                 f"{int(pol['min_phases'])} are needed.")
    fig = pooled_agreement(sessions)
    fig["sessions"] = [c["date"].isoformat() for c in sessions]
    result["figures"] = fig
    reasons = result["reasons"]
    if fig["exact"] < pol["min_exact"]:
        reasons.append(f"exact agreement {fig['exact']:.0%} is below {pol['min_exact']:.0%}"
                       + (f" ({fig['n_unscored']} gold item(s) left unscored count as disagreements)"
                          if fig["n_unscored"] else "") + ".")
    if fig["within_one"] < pol["min_within_one"]:
        reasons.append(f"within-one agreement {fig['within_one']:.0%} is below {pol['min_within_one']:.0%}.")
    lower = fig["icc_ci95"][0] if fig["icc_ci95"] else None
    judged = lower if pol["icc_judged_on"] == "lower_ci" else fig["icc"]
    label = "the lower 95% bound of ICC(A,1)" if pol["icc_judged_on"] == "lower_ci" else "ICC(A,1)"
    if fig["icc"] is None and "exact agreement decides" in (fig["icc_reason"] or ""):
        pass
    elif judged is None:
        reasons.append(f"{label} is not available: {fig['icc_reason'] or 'its confidence interval is undefined'}")
    elif judged < pol["min_icc"]:
        reasons.append(f"{label} with the gold rating is {judged:.2f}, below {pol['min_icc']:.2f}.")
    pf = fig["pass_fail_agreement"]
    if pol["min_pass_fail_agreement"] > 0:
        if pf is None:
            reasons.append("no session has pass/fail decisions to compare with the gold rating.")
        elif pf < pol["min_pass_fail_agreement"] - 1e-12:
            reasons.append(f"the pass/fail decision differs from the gold rating's on "
                           f"{len(fig['pass_fail_disagreements'])} of {len(sessions)} session(s) "
                           f"(agreement {pf:.0%}; {pol['min_pass_fail_agreement']:.0%} needed).")
    if reasons:
        return result
    certified_on = sessions[-1]["date"]
    expires_on = _add_months(certified_on, int(pol["valid_months"]))
    result.update(certified_on=certified_on, expires_on=expires_on)
    if today >= expires_on:
        reasons.append(f"certification of {certified_on.isoformat()} expired on {expires_on.isoformat()}; "
                       "a new calibration session is needed.")
    else:
        result["certified"] = True
    return result
