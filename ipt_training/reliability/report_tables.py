"""The reliability report's display tables (plain DataFrames for the page and the PDF)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..display import readable


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
            "ICC(2,1) session score": None if p["icc_total"] is None else round(p["icc_total"], 3),
            "Notes": p["note"],
        })
    return readable(pd.DataFrame(out))


def severity_table(report: dict[str, Any]) -> pd.DataFrame:
    sev = report["severity"]
    return readable(pd.DataFrame({
        "Rater": sev["rater"], "Ratings": sev["n_ratings"],
        "Mean session score": [round(v, 2) for v in sev["mean_rating"]],
        "Shared sessions": sev["n_shared_targets"],
        "Mean difference from others": [None if v is None or pd.isna(v) else round(v, 2) for v in sev["mean_difference"]],
        "Reading": sev["direction"],
    }))


def rater_pairs_for_plot(report: dict[str, Any]) -> list[tuple[str, str]]:
    """Rater pairs that share at least two sessions (enough for a Bland-Altman plot)."""
    return [(p["rater_a"], p["rater_b"]) for p in report["pairs"] if p["n_sessions"] >= 2]


def decision_table(d: pd.DataFrame) -> pd.DataFrame:
    """``d_study`` output as a raters x sessions table of dependability (phi)."""
    table = d.pivot(index="n_raters", columns="n_sessions", values="phi")
    table.index = [f"{n} rater{'s' if n > 1 else ''}" for n in table.index]
    table.columns = [f"{n} session{'s' if n > 1 else ''}" for n in table.columns]
    return table




def decisions_table(report: dict[str, Any]) -> pd.DataFrame:
    """Raters' agreement on each double-rated session's pass/fail decision (one row)."""
    d = report["decisions"]

    def r(x: Any) -> Any:
        return None if x is None else round(x, 3)

    return readable(pd.DataFrame([{
        "Sessions with 2+ decisions": d["n_sessions"], "Decisions": d["n_ratings"],
        "Agreement": r(d["agreement"]), "All raters agree": r(d["all_agree"]), "Pass rate": r(d["pass_rate"]),
        "Fleiss' kappa": r(d["kappa"]), "Reading (Landis & Koch 1977)": d["kappa_band"].split(" (")[0],
        "Gwet's AC1": r(d["ac1"]), "Notes": d["note"],
    }]))
