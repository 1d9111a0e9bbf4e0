"""Calibration against a gold-standard rating, rater certification status and drift (pure; the store-facing side is :mod:`.calibration`).
"""

from __future__ import annotations

import calendar
import datetime as _dt
from typing import Any, Iterable, Mapping, Sequence
import numpy as np
import pandas as pd
from .icc import _icc
from .long_data import ReliabilityError, _ensure, _finite_or_none, _is_missing_value


DEFAULT_CERTIFICATION_POLICY: dict[str, Any] = {
    "min_sessions": 2,
    "min_icc": 0.75,
    "min_within_one": 0.80,
    "valid_months": 12,
}


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


def _policy(policy: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(DEFAULT_CERTIFICATION_POLICY)
    merged.update(policy or {})
    return merged


def _sessions(calibrations: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in calibrations:
        for key in ("icc", "within_one"):
            if c.get(key) is not None and not isinstance(c.get(key), (int, float, np.number)):
                raise ReliabilityError(
                    f"calibration on {c.get('date')}: {key} {c.get(key)!r} is not a number."
                )
        out.append(
            {
                "date": _as_date(c.get("date")),
                "icc": _finite_or_none(c.get("icc")),
                "within_one": _finite_or_none(c.get("within_one")),
            }
        )
    return sorted(out, key=lambda s: s["date"])


def certification_status(
    calibrations: Sequence[Mapping[str, Any]],
    policy: Mapping[str, Any] | None = None,
    today: _dt.date | None = None,
) -> dict[str, Any]:
    """Whether a rater is currently certified, from their calibration sessions.

    Rule: the most recent ``min_sessions`` sessions (on or before ``today``)
    must each reach ICC(2,1) >= ``min_icc`` and within-one agreement >=
    ``min_within_one``. Certification dates from the latest of them and lasts
    ``valid_months``; a recent failing session withdraws it.

    Parameters
    ----------
    calibrations : list of dict
        Each ``{"date", "icc", "within_one"}`` (date or ISO string; icc may be None).
    policy : dict, optional
        min_sessions (2), min_icc (0.75), min_within_one (0.80), valid_months (12).
    today : datetime.date, optional
        Reference date (default: today).

    Returns
    -------
    dict
        certified (bool), certified_on and expires_on (dates, or None when the
        recent sessions do not qualify; kept when certification has expired),
        reasons (why not certified; empty when certified).
    """
    pol = _policy(policy)
    today = today or _dt.date.today()
    sessions = [s for s in _sessions(calibrations) if s["date"] <= today]
    need = int(pol["min_sessions"])
    result = {"certified": False, "certified_on": None, "expires_on": None, "reasons": []}
    if len(sessions) < need:
        result["reasons"].append(
            f"{len(sessions)} calibration session(s) on record; {need} are needed."
        )
        return result
    recent = sessions[-need:] if need > 0 else []
    for s in recent:
        day = s["date"].isoformat()
        if s["icc"] is None:
            result["reasons"].append(f"calibration on {day}: no ICC available.")
        elif s["icc"] < pol["min_icc"]:
            result["reasons"].append(
                f"calibration on {day}: ICC {s['icc']:.2f} is below {pol['min_icc']:.2f}."
            )
        if s["within_one"] is None:
            result["reasons"].append(f"calibration on {day}: no within-one agreement available.")
        elif s["within_one"] < pol["min_within_one"]:
            result["reasons"].append(
                f"calibration on {day}: within-one agreement {s['within_one']:.0%} is below "
                f"{pol['min_within_one']:.0%}."
            )
    if result["reasons"]:
        return result
    certified_on = recent[-1]["date"] if recent else today
    expires_on = _add_months(certified_on, int(pol["valid_months"]))
    result["certified_on"] = certified_on
    result["expires_on"] = expires_on
    if today >= expires_on:
        result["reasons"].append(
            f"certification of {certified_on.isoformat()} expired on {expires_on.isoformat()}; "
            "a new calibration session is needed."
        )
    else:
        result["certified"] = True
    return result


def drift(
    calibrations: Sequence[Mapping[str, Any]],
    policy: Mapping[str, Any] | None = None,
    window: int = 2,
) -> list[dict[str, Any]]:
    """Flag windows of calibration sessions whose mean agreement is below threshold.

    For ICC (threshold ``min_icc``) and within-one agreement (threshold
    ``min_within_one``) separately, the mean over each run of ``window``
    consecutive sessions with a value is compared with the threshold.

    Returns
    -------
    list of dict
        One flag per below-threshold window, in date order:
        date (last session of the window), metric, rolling_mean, threshold,
        window, sessions (dates in the window).
    """
    if int(window) < 1:
        raise ReliabilityError(f"window must be at least 1, not {window!r}.")
    window = int(window)
    pol = _policy(policy)
    sessions = _sessions(calibrations)
    flags = []
    for metric, key in (("icc", "min_icc"), ("within_one", "min_within_one")):
        series = [(s["date"], s[metric]) for s in sessions if s[metric] is not None]
        for end in range(window - 1, len(series)):
            chunk = series[end - window + 1:end + 1]
            mean = float(np.mean([v for _, v in chunk]))
            if mean < pol[key]:
                flags.append(
                    {
                        "date": chunk[-1][0],
                        "metric": metric,
                        "rolling_mean": mean,
                        "threshold": float(pol[key]),
                        "window": window,
                        "sessions": [day for day, _ in chunk],
                    }
                )
    return sorted(flags, key=lambda f: (f["date"], f["metric"]))
