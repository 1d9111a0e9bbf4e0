"""All statistics of one long-format data set at once (the JSON the ``reliability`` command prints) and its text table.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence
import numpy as np
import pandas as pd
from .agreement import _cohen_kappa, _fleiss_kappa, _gwet_ac1, _krippendorff_alpha, _percent_agreement
from .icc import ICC_FORMS, _complete_targets, _icc
from .interpretation import interpret_alpha, interpret_icc, interpret_kappa
from .long_data import ReliabilityError, _ensure, _finite_or_none, _is_numeric


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


def summarize(df: pd.DataFrame) -> dict[str, Any]:
    """All reliability statistics for a set of ratings, as a JSON-able dict.

    Statistics that do not apply to the data (e.g. Cohen's kappa with three
    raters, ICC with categorical ratings) are None, and ``warnings`` says why.
    No value is ever NaN or infinite; all values are at full precision.

    Parameters
    ----------
    df : pandas.DataFrame
        Long-format ratings (target, rater, rating).

    Returns
    -------
    dict
        Keys n_targets, n_raters, n_ratings, icc (six forms or None),
        icc_targets_dropped, krippendorff_alpha {nominal, ordinal, interval},
        fleiss_kappa, cohen_kappa {unweighted, linear, quadratic} or None,
        gwet_ac1, percent_agreement (exact agreement, two raters only), warnings.

    Raises
    ------
    ReliabilityError
        Invalid data (see :func:`validate_long`), e.g. a duplicate
        (target, rater) pair.
    """
    d = _ensure(df)
    warns: list[str] = []
    n_raters = int(d["rater"].nunique())
    numeric = _is_numeric(d)
    if n_raters < 2:
        warns.append(
            f"only one rater ({d['rater'].iloc[0]!r}) is in the data; reliability "
            "needs at least two raters rating the same targets."
        )
    icc_targets_dropped = 0
    if n_raters >= 2:
        _, icc_targets_dropped = _complete_targets(d)
        if icc_targets_dropped:
            warns.append(
                f"ICC: {icc_targets_dropped} of {d['target'].nunique()} targets lack a rating "
                "from at least one rater and are left out of the ICC."
            )
    icc_result = _attempt("ICC", lambda: _icc(d), warns) if n_raters >= 2 else None
    if icc_result is not None:
        for name, entry in icc_result.items():
            undefined = [k for k in ("value", "F", "p") if entry[k] is None]
            undefined += ["95% CI"] if None in entry["ci95"] else []
            if undefined:
                warns.append(
                    f"ICC: {' and '.join(undefined)} of {name} cannot be computed for these data "
                    "and is reported as null (raters agree perfectly, or too few targets "
                    "for the CI approximation)."
                )
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
    fleiss = _attempt("Fleiss' kappa", lambda: _fleiss_kappa(d), warns) if n_raters >= 2 else None
    cohen = None
    agreement = None
    if n_raters == 2:
        cohen = _attempt("Cohen's kappa", lambda: _cohen_kappa(d), warns)
        pa = _attempt("Percent agreement", lambda: _percent_agreement(d), warns)
        agreement = None if pa is None else pa["exact"]
    elif n_raters > 2:
        warns.append(
            f"Cohen's kappa and percent agreement not computed: they compare two raters "
            f"and the data has {n_raters} (see Fleiss' kappa and Krippendorff's alpha)."
        )
    ac1 = _attempt("Gwet's AC1", lambda: _gwet_ac1(d), warns) if n_raters >= 2 else None
    summary = {
        "n_targets": int(d["target"].nunique()),
        "n_raters": n_raters,
        "n_ratings": int(len(d)),
        "icc": icc_result,
        "icc_targets_dropped": int(icc_targets_dropped),
        "krippendorff_alpha": alpha,
        "fleiss_kappa": fleiss,
        "cohen_kappa": cohen,
        "gwet_ac1": ac1,
        "percent_agreement": agreement,
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
        rows.append((name, _fmt(value), ci_text, interpret_icc(value, ci)))
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
        rows.append((label, _fmt(v), "", interpret_kappa(v) if v is not None else ""))
    v = summary.get("gwet_ac1")
    rows.append(("Gwet's AC1", _fmt(v), "", interpret_kappa(v) if v is not None else ""))
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
