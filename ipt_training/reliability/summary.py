"""All statistics of one long-format data set at once (the JSON the ``reliability`` command prints) and its text table.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence
import numpy as np
import pandas as pd
from .agreement import _cohen_kappa, _fleiss_kappa, _gwet_ac1, _krippendorff_alpha, _percent_agreement
from .icc import CROSSED_METHOD, ICC_FORMS, _complete_targets, _icc, _icc_crossed, _icc_oneway
from .interpretation import NO_BENCHMARK, interpret_alpha, interpret_icc, interpret_kappa
from .long_data import ReliabilityError, _ensure, _finite_or_none, _is_numeric, _show


def _attempt(label: str, fn: Callable[[], Any], warns: list[str]) -> Any:
    try:
        return fn()
    except ReliabilityError as exc:
        warns.append(f"{label} not computed: {exc}")
        return None


def _clean(obj: Any, path: str, warns: list[str]) -> Any:
    """Plain-Python copy of obj with every non-finite number replaced by None."""
    if isinstance(obj, dict):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), warns) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{path}[{i}]", warns) for i, v in enumerate(obj)]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        if math.isfinite(float(obj)):
            return float(obj)
        warns.append(
            f"{path} is undefined for these data (not a finite number) and is reported as null."
        )
        return None
    return obj


def _check_scale(d: pd.DataFrame, scale: Sequence[int] | None) -> list | None:
    """The scale's categories MIN..MAX, after checking every rating is one of them."""
    if scale is None:
        return None
    lo, hi = (int(x) for x in scale)
    if lo >= hi:
        raise ReliabilityError(f"the scale {lo} to {hi} is empty; give the lowest point first, e.g. 1 5.")
    if not _is_numeric(d):
        raise ReliabilityError(
            f"a numeric scale {lo} to {hi} was given, but the ratings are categories such as "
            f"{_show(d['rating'].iloc[0])}; leave out the scale for category labels."
        )
    x = d["rating"].to_numpy(float)
    bad = np.flatnonzero((x < lo) | (x > hi) | (x != np.round(x)))
    if bad.size:
        row = d.iloc[int(bad[0])]
        raise ReliabilityError(
            f"rating {_show(row['rating'])} of target {row['target']!r} by rater {row['rater']!r} is not "
            f"a point of the scale {lo} to {hi}; correct the rating or the scale."
        )
    return [float(v) for v in range(lo, hi + 1)]


def _icc_problems(label: str, problems: Mapping[str, str], warns: list[str]) -> None:
    for form, why in problems.items():
        warns.append(f"{label}: {form} is reported as null: {why}.")


def _all_targets(d: pd.DataFrame, warns: list[str]) -> dict[str, Any] | None:
    """One-way ICC(1,1) and crossed ICC(A,1) on every target with two or more ratings."""
    n_multi = int((d.groupby("target", sort=False).size() >= 2).sum())
    if n_multi < 3:
        warns.append(f"ICC on all targets not computed: it needs at least 3 targets with two or more "
                     f"ratings, and there {'is' if n_multi == 1 else 'are'} {n_multi}.")
        return None
    out: dict[str, Any] = {"ICC(1,1)": {"value": None, "ci95": None},
                           "ICC(A,1)": {"value": None, "method": CROSSED_METHOD}, "n_targets": n_multi}
    one = _attempt("ICC(1,1) on all targets", lambda: _icc_oneway(d), warns)
    if one is not None:
        ci = one["ICC(1,1)"]["ci95"]
        out["ICC(1,1)"] = {"value": one["ICC(1,1)"]["value"], "ci95": None if None in ci else ci}
        _icc_problems("ICC on all targets", {k: v for k, v in one["problems"].items() if "(1,1)" in k}, warns)
    crossed = _attempt("ICC(A,1) on all targets", lambda: _icc_crossed(d), warns)
    if crossed is not None:
        out["ICC(A,1)"]["value"] = crossed["value"]
        for why in crossed["problems"].values():
            warns.append(f"ICC(A,1) on all targets: {why} (Henderson's Method III can give negative estimates).")
    return out


def summarize(df: pd.DataFrame, scale: Sequence[int] | None = None) -> dict[str, Any]:
    """All reliability statistics for a set of ratings, as a JSON-able dict.

    Statistics that do not apply to the data (e.g. Cohen's kappa with three
    raters, ICC with categorical ratings) are None, and ``warnings`` says why.
    No value is ever NaN or infinite, and no ICC lies outside [-1, 1]; all values are at
    full precision.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings (target, rater, rating).
    scale : (int, int), optional
        The rating scale's lowest and highest point. Gwet's AC1 then uses q = MAX - MIN + 1
        categories (Gwet 2014) and the kappas use that category set; a rating off the scale
        raises ReliabilityError.

    Returns
    -------
    dict
        Keys n_targets, n_raters, n_ratings, icc (six forms or None: the two-way forms on the
        targets every rater rated, ICC(1,1) and ICC(1,k) on every target with two or more
        ratings), icc_targets_dropped, icc_all_targets ({"ICC(1,1)": {value, ci95},
        "ICC(A,1)": {value, method}, n_targets} when at least 3 targets have two or more
        ratings, else None), krippendorff_alpha {nominal, ordinal, interval}, fleiss_kappa,
        cohen_kappa {unweighted, linear, quadratic} or None, gwet_ac1, percent_agreement
        (exact agreement, two raters only), scale, warnings.

    Raises
    ------
    ReliabilityError
        Invalid data (see :func:`validate_long`), e.g. a duplicate (target, rater) pair, or a
        rating off the given scale.
    """
    d = _ensure(df)
    categories = _check_scale(d, scale)
    warns: list[str] = []
    n_raters = int(d["rater"].nunique())
    numeric = _is_numeric(d)
    if n_raters < 2:
        warns.append(
            f"only one rater ({d['rater'].iloc[0]!r}) is in the data; reliability "
            "needs at least two raters rating the same targets."
        )
    if numeric and categories is None and bool(np.any(d["rating"].to_numpy(float) % 1 != 0)):
        warns.append(
            "the ratings are not all whole numbers, so Cohen's and Fleiss' kappa, Gwet's AC1 and "
            "nominal alpha treat each distinct value as a category of its own (2.5 and 2.6 count as "
            "a disagreement); prefer the ICC or interval alpha for continuous scores."
        )
    icc_targets_dropped = 0
    icc_result = None
    icc_all = None
    if n_raters >= 2:
        _, icc_targets_dropped = _complete_targets(d)
        if icc_targets_dropped:
            warns.append(
                f"ICC: {icc_targets_dropped} of {d['target'].nunique()} targets lack a rating "
                "from at least one rater and are left out of the two-way forms ICC(2,.) and "
                "ICC(3,.); ICC(1,.) and icc_all_targets use every target with two or more ratings."
            )
        icc_result = _attempt("ICC", lambda: _icc(d), warns)
        if icc_result is not None:
            _icc_problems("ICC", icc_result.pop("problems"), warns)
        if numeric:
            one = _attempt("ICC(1,1) and ICC(1,k)", lambda: _icc_oneway(d), warns) if icc_result is None \
                else _attempt("ICC(1,1) and ICC(1,k) on all targets", lambda: _icc_oneway(d), warns)
            if one is not None:
                if icc_result is None:
                    icc_result = {name: None for name in ICC_FORMS}
                for name in ("ICC(1,1)", "ICC(1,k)"):
                    icc_result[name] = one[name]
                _icc_problems("ICC", one["problems"], warns)
            elif icc_result is not None:
                icc_result["ICC(1,1)"] = icc_result["ICC(1,k)"] = None
            icc_all = _all_targets(d, warns)
    alpha: dict[str, float | None] = {}
    for level in ("nominal", "ordinal", "interval"):
        if level != "nominal" and not numeric:
            warns.append(
                f"Krippendorff's {level} alpha not computed: the ratings are not numbers."
            )
            alpha[level] = None
        elif n_raters < 2:
            alpha[level] = None
        else:
            alpha[level] = _attempt(
                f"Krippendorff's {level} alpha", lambda lv=level: _krippendorff_alpha(d, lv), warns
            )
    fleiss = _attempt("Fleiss' kappa", lambda: _fleiss_kappa(d, categories), warns) if n_raters >= 2 else None
    cohen = None
    agreement = None
    if n_raters == 2:
        cohen = _attempt("Cohen's kappa", lambda: _cohen_kappa(d, "values", categories), warns)
        pa = _attempt("Percent agreement", lambda: _percent_agreement(d), warns)
        agreement = None if pa is None else pa["exact"]
    elif n_raters > 2:
        warns.append(
            f"Cohen's kappa and percent agreement not computed: they compare two raters "
            f"and the data has {n_raters} (see Fleiss' kappa and Krippendorff's alpha)."
        )
    ac1 = _attempt("Gwet's AC1", lambda: _gwet_ac1(d, categories), warns) if n_raters >= 2 else None
    if ac1 is not None and categories is None and numeric:
        warns.append(
            "Gwet's AC1 counted only the categories used as the scale's categories; give the "
            "scale (--scale MIN MAX) so that q is the number of scale points, as Gwet (2014) defines it."
        )
    summary = {
        "n_targets": int(d["target"].nunique()),
        "n_raters": n_raters,
        "n_ratings": int(len(d)),
        "icc": icc_result,
        "icc_targets_dropped": int(icc_targets_dropped),
        "icc_all_targets": icc_all,
        "krippendorff_alpha": alpha,
        "fleiss_kappa": fleiss,
        "cohen_kappa": cohen,
        "gwet_ac1": ac1,
        "percent_agreement": agreement,
        "scale": None if scale is None else [int(scale[0]), int(scale[1])],
    }
    cleaned = _clean(summary, "", warns)
    cleaned["warnings"] = list(warns)
    return cleaned


def _fmt(x: Any, digits: int = 3) -> str:
    v = _finite_or_none(x) if x is not None else None
    return "n/a" if v is None else f"{v:.{digits}f}"


def format_summary_table(summary: Mapping[str, Any]) -> str:
    """Plain-text table of a :func:`summarize` result: statistic, value, 95% CI, interpretation.

    Values are shown to 3 decimals (the summary itself keeps full precision).
    """
    rows: list[tuple[str, str, str, str]] = []
    icc_block = summary.get("icc") or {}
    for name in ICC_FORMS:
        entry = icc_block.get(name)
        if entry is None:
            rows.append((name, "n/a", "", ""))
            continue
        ci = entry.get("ci95") or [None, None]
        ci_text = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if any(c is not None for c in ci) else "n/a"
        value = entry.get("value")
        rows.append((name, _fmt(value), ci_text, interpret_icc(value, ci) if value is not None else ""))
    every = summary.get("icc_all_targets") or {}
    if every:
        one = every.get("ICC(1,1)") or {}
        ci = one.get("ci95") or [None, None]
        ci_text = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if None not in ci else "n/a"
        value = one.get("value")
        rows.append((f"ICC(1,1), all {every.get('n_targets')} targets", _fmt(value), ci_text,
                     interpret_icc(value, ci) if value is not None else ""))
        value = (every.get("ICC(A,1)") or {}).get("value")
        rows.append((f"ICC(A,1) crossed, all {every.get('n_targets')} targets", _fmt(value), "",
                     interpret_icc(value, None) if value is not None else ""))
    alpha = summary.get("krippendorff_alpha") or {}
    for level in ("nominal", "ordinal", "interval"):
        v = alpha.get(level)
        label = interpret_alpha(v) if v is not None else ""
        rows.append((f"Krippendorff's alpha ({level})", _fmt(v), "", label))
    v = summary.get("fleiss_kappa")
    rows.append(("Fleiss' kappa", _fmt(v), "", interpret_kappa(v) if v is not None else ""))
    cohen = summary.get("cohen_kappa") or {}
    for key, label in (("unweighted", "Cohen's kappa"), ("linear", "Cohen's kappa (linear)"),
                       ("quadratic", "Cohen's kappa (quadratic)")):
        v = cohen.get(key)
        band = (interpret_kappa(v) if key == "unweighted" else NO_BENCHMARK) if v is not None else ""
        rows.append((label, _fmt(v), "", band))
    v = summary.get("gwet_ac1")
    rows.append(("Gwet's AC1", _fmt(v), "", NO_BENCHMARK if v is not None else ""))
    v = summary.get("percent_agreement")
    rows.append(("Exact agreement", _fmt(v), "", ""))

    header = ("Statistic", "Value", "95% CI", "Interpretation")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]

    def line(r: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()

    out = [
        f"Targets: {summary.get('n_targets')}   Raters: {summary.get('n_raters')}   "
        f"Ratings: {summary.get('n_ratings')}   Targets left out of ICC: "
        f"{summary.get('icc_targets_dropped')}",
        "",
        line(header),
        line(["-" * w for w in widths]),
    ]
    out += [line(r) for r in rows]
    warns = summary.get("warnings") or []
    if warns:
        out += ["", "Notes:"] + [f"  - {w}" for w in warns]
    return "\n".join(out)
