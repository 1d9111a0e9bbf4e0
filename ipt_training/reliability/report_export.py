"""The platform reliability report as files: the CSV of every figure and the PDF that states the model, type and unit of each.
"""

from __future__ import annotations

from typing import Any, Optional
import numpy as np
import pandas as pd
from .interpretation import NO_BENCHMARK, interpret_kappa
from ..reports import Report, dataframe_to_csv
from .report_data import TOTAL


def _figure_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for row in [report["total"]] + list(report["items"]):
        common = {"scope": "total" if row["item_id"] == TOTAL else "item", "item_id": row["item_id"],
                  "item": row["item"], "n_sessions": row["n_sessions"], "n_double_rated_sessions": row["n_double_rated"]}
        out.append({**common, "statistic": "ICC(1,1)", "value": row["icc"], "ci95_low": row["ci_low"],
                    "ci95_high": row["ci_high"], "interpretation": row["band"],
                    "n_sessions_used": row["n_icc_sessions"], "raters": "; ".join(row["icc_raters"]),
                    "notes": "; ".join(row["notes"])})
        out.append({**common, "statistic": "ICC(A,1) crossed random effects", "value": row["icc_a1"],
                    "ci95_low": None, "ci95_high": None, "interpretation": row["icc_a1_band"],
                    "n_sessions_used": row["n_icc_sessions"], "raters": "; ".join(row["icc_raters"]), "notes": ""})
        out.append({**common, "statistic": f"Krippendorff's alpha ({row['alpha_level']})", "value": row["alpha"],
                    "ci95_low": None, "ci95_high": None, "interpretation": row["alpha_band"],
                    "n_sessions_used": row["n_double_rated"], "raters": "", "notes": ""})
    d = report["decisions"]
    common = {"scope": "pass/fail decision", "item_id": TOTAL, "item": "session pass/fail under the pass rule",
              "n_sessions": report["n_sessions"], "n_double_rated_sessions": d["n_sessions"], "ci95_low": None,
              "ci95_high": None, "n_sessions_used": d["n_sessions"], "raters": "", "notes": d["note"]}
    for stat, key, reading in (("percent agreement", "agreement", ""), ("all raters agree", "all_agree", ""),
                               ("Fleiss' kappa", "kappa", d["kappa_band"] if d["kappa"] is not None else ""),
                               ("Gwet's AC1", "ac1", NO_BENCHMARK if d["ac1"] is not None else "")):
        out.append({**common, "statistic": stat, "value": d[key], "interpretation": reading})
    for p in report["pairs"]:
        common = {"scope": "rater pair", "item_id": "all items", "item": f"{p['rater_a']} vs {p['rater_b']}",
                  "n_sessions": p["n_sessions"], "n_double_rated_sessions": p["n_sessions"],
                  "ci95_low": None, "ci95_high": None, "n_sessions_used": p["n_sessions"],
                  "raters": f"{p['rater_a']}; {p['rater_b']}", "notes": p["note"]}
        for stat, key in (("Cohen's kappa (unweighted)", "kappa"), ("Cohen's kappa (linear)", "kappa_linear"),
                          ("Cohen's kappa (quadratic)", "kappa_quadratic")):
            out.append({**common, "statistic": stat, "value": p[key],
                        "interpretation": interpret_kappa(p[key]) if key == "kappa" else
                        (NO_BENCHMARK if p[key] is not None else "")})
        out.append({**common, "statistic": "exact agreement (items)", "value": p["exact"], "interpretation": ""})
        out.append({**common, "statistic": "within-one agreement (items)", "value": p["within_one"],
                    "interpretation": ""})
    for s in report["severity"].to_dict("records"):
        out.append({"scope": "rater severity", "item_id": TOTAL, "item": s["rater"], "n_sessions": s["n_ratings"],
                    "n_double_rated_sessions": s["n_shared_targets"], "statistic": "mean difference from other raters",
                    "value": s["mean_difference"], "ci95_low": None, "ci95_high": None,
                    "interpretation": s["direction"], "n_sessions_used": s["n_shared_targets"], "raters": s["rater"],
                    "notes": ""})
    return out


CSV_COLUMNS = ["scope", "item_id", "item", "statistic", "value", "ci95_low", "ci95_high", "interpretation",
               "n_sessions", "n_double_rated_sessions", "n_sessions_used", "raters", "notes"]


def report_csv(report: dict[str, Any]) -> bytes:
    """The report as one tidy CSV: one row per figure, at full precision."""
    return dataframe_to_csv(pd.DataFrame(_figure_rows(report), columns=CSV_COLUMNS))


def _f(x: Any, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}f}"


def report_pdf(report: dict[str, Any], generalizability: Optional[dict[str, Any]] = None,
               compress: bool = True) -> bytes:
    """The report as a PDF that states the ICC model, type and unit (Koo & Li 2016 guidance)."""
    f = report["filters"]
    period = f"{f['date_from'] or 'start'} to {f['date_to'] or 'today'}"
    pdf = Report("Inter-rater reliability report",
                 f"{report['instrument']['name']} (version {report['instrument']['version']}) - {f['cohort']}, "
                 f"{f['phase']}, ratings submitted {period}")
    pdf.set_compression(compress)
    pdf.heading("Method")
    pdf.paragraph(report["model"]["statement"])
    pdf.paragraph(
        f"Data: {report['n_ratings']} submitted rater ratings of {report['n_sessions']} sessions; "
        f"{report['n_double_rated']} sessions were rated by two or more raters "
        f"({len(report['raters'])} raters: {', '.join(report['raters']) or 'none'}). Gold-standard and self-ratings "
        "are not included. Items scored N/A are left out. Krippendorff's alpha (ordinal for items, interval for "
        "the session score) uses every double-rated session too. Rater-pair ICC(2,1) is the two-way form on the "
        "sessions the two raters share.")
    sw = report["software"]
    pdf.paragraph(f"Software: the platform's own vectorised ANOVA and variance components (checked in its tests "
                  f"against pingouin {sw['pingouin']}, lme4 and the krippendorff package), Python {sw['python']}.")
    d = report["decisions"]
    pdf.heading("Pass/fail decisions")
    pdf.paragraph(f"Agreement of raters on each session's pass/fail decision under the instrument's pass rule, on "
                  f"every session with two or more submitted ratings ({d['n_sessions']} sessions, {d['n_ratings']} "
                  "decisions): percent agreement (the share of agreeing rater pairs per session), Fleiss' kappa "
                  "(Landis & Koch 1977 reading) and Gwet's AC1 (no benchmark scale; stable when nearly every "
                  "session passes)." + (f" {d['note'][0].upper()}{d['note'][1:]}." if d["note"] else ""))
    pdf.table(["Sessions", "Agreement", "All raters agree", "Pass rate", "Fleiss' kappa", "Landis & Koch 1977",
               "Gwet's AC1"],
              [[d["n_sessions"], _f(d["agreement"]), _f(d["all_agree"]), _f(d["pass_rate"]), _f(d["kappa"]),
                d["kappa_band"].split(" (")[0], _f(d["ac1"])]], widths=[20, 22, 26, 20, 22, 36, 20])
    pdf.heading("Agreement per item and for the session score")
    pdf.table(["Item", "Double-rated sessions", "ICC(1,1)", "95% CI", "Band (Koo & Li 2016)", "ICC(A,1)",
               "Alpha"],
              [[r["item_id"], r["n_double_rated"], _f(r["icc"]),
                f"{_f(r['ci_low'])} to {_f(r['ci_high'])}" if r["icc"] is not None and r["ci_low"] is not None else "-",
                r["band"].split(" (")[0], _f(r["icc_a1"]), _f(r["alpha"])] for r in [report["total"]] + report["items"]],
              widths=[40, 22, 18, 26, 32, 18, 16])
    if report["pairs"]:
        pdf.heading("Rater pairs (item scores pooled over shared sessions)")
        pdf.table(["Raters", "Shared sessions", "Kappa", "Landis & Koch 1977", "Kappa (quadratic)", "Exact",
                   "Within one", "ICC(2,1) session score"],
                  [[f"{p['rater_a']} / {p['rater_b']}", p["n_sessions"], _f(p["kappa"]), p["kappa_band"].split(" (")[0],
                    _f(p["kappa_quadratic"]), _f(p["exact"]), _f(p["within_one"]), _f(p["icc_total"])]
                   for p in report["pairs"]], widths=[44, 18, 16, 28, 20, 14, 16, 18])
    if len(report["severity"]):
        pdf.heading("Rater severity (mean difference from the other raters of the same sessions)")
        pdf.table(["Rater", "Ratings", "Mean session score", "Shared sessions", "Mean difference", "Direction"],
                  [[s["rater"], s["n_ratings"], _f(s["mean_rating"]), s["n_shared_targets"],
                    _f(s["mean_difference"]), s["direction"]] for s in report["severity"].to_dict("records")],
                  widths=[40, 16, 20, 22, 24, 48])
    if generalizability and generalizability.get("ok"):
        g = generalizability
        pdf.heading("How many ratings are enough (generalizability study)")
        pdf.paragraph(f"Variance components of the session score ({g['method']}; {g['n_trainees']} trainees, "
                      f"{g['n_sessions']} sessions, {g['n_raters']} raters). {g['smallest']}")
        pdf.table(["Component", "Variance", "Share"],
                  [[c["component"], _f(c["variance"], 3), _f(c["share"])] for c in g["components"].to_dict("records")])
        dec = g["decision"]
        pdf.table(["Dependability (phi)"] + list(dec.columns),
                  [[idx] + [_f(v) for v in dec.loc[idx]] for idx in dec.index])
    if report["warnings"]:
        pdf.heading("Notes")
        for w in report["warnings"]:
            pdf.paragraph(f"- {w}", size=9)
    pdf.paragraph(f"Generated {report['generated_at']}.", size=8)
    return pdf.to_bytes()
