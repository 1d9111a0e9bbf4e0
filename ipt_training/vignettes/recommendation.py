"""The vignette library, a trainee's progress (rolling mastery per problem area and technique) and the recommended next case.
"""

from __future__ import annotations

from typing import Any, Optional
from sqlite_utils import Database
from ..content import (
    DIFFICULTIES,
    POPULATIONS,
    PROBLEM_AREAS,
    Library,
    Vignette,
)
from .attempts import _attempts_of, _title
from .scoring import LIBRARY_STATUSES, MASTERY_WINDOW, STATUS_LABELS, _TOL, _pct, area_label, technique_label


def library_rows(db: Database, library: Library, trainee_id: int, *, population: Optional[str] = None,
                 difficulty: Optional[str] = None, status: Optional[str] = None,
                 area: Optional[str] = None) -> list[dict]:
    """One row per offered vignette with the trainee's status: new, in progress, awaiting grading, graded.

    Problem areas are part of the answer, so a vignette is tagged with its areas only once the
    trainee has submitted an attempt on it (``areas`` is empty before). Filtering by ``area``
    therefore finds only vignettes already submitted; see vignette_library.py for why.
    """
    by_vignette: dict[str, list[dict]] = {}
    for att in _attempts_of(db, trainee_id):
        by_vignette.setdefault(att["vignette_id"], []).append(att)
    out = []
    for v in sorted(library.vignettes.values(), key=lambda v: v.id):
        if v.rubric not in library.rubrics:
            continue
        atts = by_vignette.get(v.id, [])
        done = [a for a in atts if a["status"] != "draft"]
        if any(a["status"] == "draft" for a in atts):
            state = "in progress"
        elif done:
            state = STATUS_LABELS[done[-1]["status"]]
        else:
            state = "new"
        areas = [a.area for a in sorted(v.key.problem_areas, key=lambda a: a.rank)] if done else []
        finals = [a for a in done if a["status"] == "graded"]
        row = {"vignette_id": v.id, "title": v.title, "summary": v.summary, "population": v.population,
               "population_label": POPULATIONS[v.population], "difficulty": v.difficulty, "status": state,
               "attempts": len(done), "best_score": max((a["score"] for a in done if a["score"] is not None), default=None),
               "passed": any(a["passed"] for a in finals),
               "areas": areas, "areas_label": ", ".join(area_label(a) for a in areas) if done else "(shown after you submit)"}
        if population and v.population != population:
            continue
        if difficulty and v.difficulty != difficulty:
            continue
        if status and state != status:
            continue
        if area and area not in areas:
            continue
        out.append(row)
    return out


def _rolling(values: list[float]) -> float:
    recent = values[-MASTERY_WINDOW:]
    return sum(recent) / len(recent)


def progress(db: Database, library: Library, trainee_id: int) -> dict:
    """The trainee's history: mastery per problem area and per technique over time, pass status
    per vignette, and a recommended next vignette.

    Mastery of an area after an attempt is the mean score of the last ``MASTERY_WINDOW``
    submitted attempts on vignettes whose expert primary focus is that area. Mastery of a
    technique is the mean, over the last ``MASTERY_WINDOW`` attempts where the expert would use
    it at some moment, of the credit earned at those moments. Scores awaiting grading count
    with their provisional value (the charts say so).
    """
    attempts = _attempts_of(db, trainee_id)
    submitted = sorted([a for a in attempts if a["status"] != "draft"], key=lambda a: (a["submitted_at"], a["id"]))
    area_series, tech_series = [], []
    area_hist: dict[str, list[float]] = {}
    tech_hist: dict[str, list[float]] = {}
    for a in submitted:
        result = a["auto_scores"]["result"]
        area = a["primary_area"] or result["primary_area"]
        if a["score"] is not None:
            area_hist.setdefault(area, []).append(a["score"])
            area_series.append({"date": a["submitted_at"], "attempt_id": a["id"], "area": area,
                                "area_label": area_label(area), "mastery": _rolling(area_hist[area]),
                                "final": a["status"] == "graded"})
        tech_entry = next((e for e in result["criteria"] if e["type"] == "technique_choice"), None)
        if tech_entry:
            per_tech: dict[str, list[float]] = {}
            for d in tech_entry["details"]:
                for t in d["expected"]:
                    per_tech.setdefault(t, []).append(d["credit"])
            for t, credits in per_tech.items():
                tech_hist.setdefault(t, []).append(sum(credits) / len(credits))
                tech_series.append({"date": a["submitted_at"], "attempt_id": a["id"], "technique": t,
                                    "technique_label": technique_label(t), "mastery": _rolling(tech_hist[t])})
    area_now = {ar: (_rolling(area_hist[ar]) if ar in area_hist else None) for ar in PROBLEM_AREAS}
    tech_now = {t: _rolling(v) for t, v in tech_hist.items()}
    per_vignette: dict[str, list[dict]] = {}
    for a in attempts:
        per_vignette.setdefault(a["vignette_id"], []).append(a)
    vignettes = []
    for vid, atts in sorted(per_vignette.items()):
        done = [a for a in atts if a["status"] != "draft"]
        finals = [a for a in done if a["status"] == "graded"]
        if any(a["passed"] for a in finals):
            pass_status = "passed"
        elif any(a["status"] == "submitted" for a in done):
            pass_status = "awaiting grading"
        elif finals:
            pass_status = "not passed yet"
        else:
            pass_status = "in progress"
        vignettes.append({"vignette_id": vid, "title": _title(atts[-1], library), "attempts": len(done),
                          "best_final_score": max((a["score"] for a in finals), default=None),
                          "latest_score": done[-1]["score"] if done else None,
                          "pass_status": pass_status, "offered": vid in library.vignettes})
    data = {"area_series": area_series, "technique_series": tech_series, "area_mastery": area_now,
            "technique_mastery": tech_now, "vignettes": vignettes, "n_submitted": len(submitted)}
    data["recommendation"] = recommend_next(library, data)
    return data


_DIFFICULTY_ORDER = {d: n for n, d in enumerate(DIFFICULTIES)}


def recommend_next(library: Library, progress_data: dict) -> Optional[dict]:
    """The next vignette to practise: one that exercises the weakest area or technique.

    Areas never practised count as weakest. The technique is targeted instead when its
    mastery is lower than the weakest area's. Among vignettes not yet passed that exercise
    the target (an area the key lists as applying or as an acceptable alternative; a
    technique the key uses at a moment), one with a draft in progress comes first, then
    untried ones, then the lowest score, then the easier. The reason names the target but not the vignette's primary focus.
    """
    offered = [v for v in library.vignettes.values() if v.rubric in library.rubrics]
    if not offered:
        return None
    status = {r["vignette_id"]: r for r in progress_data["vignettes"]}
    open_ = [v for v in offered if status.get(v.id, {}).get("pass_status") != "passed"]

    def order(v: Vignette, weight: float = 0.0):
        r = status.get(v.id)
        drafting = bool(r and r["pass_status"] == "in progress")  # finish what was started first
        tried = bool(r and r["attempts"])
        return (not drafting, tried, -weight, (r or {}).get("latest_score") or 0.0, _DIFFICULTY_ORDER[v.difficulty], v.id)

    def pack(v: Vignette, kind: str, target: Optional[str], reason: str) -> dict:
        return {"vignette_id": v.id, "title": v.title, "kind": kind, "target": target, "reason": reason}

    if progress_data["n_submitted"] == 0:
        first = min(open_ or offered, key=order)
        return pack(first, "start", None, "A good first case: start with an introductory vignette."
                    if first.difficulty == "introductory" else "A good first case to start with.")
    if not open_:
        v = min(offered, key=lambda v: (status.get(v.id, {}).get("best_final_score") or 0.0, v.id))
        return pack(v, "review", None, "You have passed every vignette; revisit your lowest-scoring one.")
    area_mastery = progress_data["area_mastery"]
    untried = [a for a in PROBLEM_AREAS if area_mastery.get(a) is None]
    weak_area = untried[0] if untried else min(PROBLEM_AREAS, key=lambda a: area_mastery[a])
    weak_area_m = 0.0 if untried else area_mastery[weak_area]
    techs = progress_data["technique_mastery"]
    weak_tech = min(techs, key=lambda t: (techs[t], t)) if techs else None
    if weak_tech is not None and techs[weak_tech] < weak_area_m - _TOL:
        cands = [(v, sum(1 for mk in v.key.moments.values() if weak_tech in mk.techniques)) for v in open_]
        cands = [(v, n) for v, n in cands if n]
        if cands:
            v, _ = min(cands, key=lambda c: order(c[0], c[1]))
            return pack(v, "technique", weak_tech,
                        f"Your lowest mastery is in {technique_label(weak_tech)} ({_pct(techs[weak_tech])}); "
                        "this case has moments that call for it.")
    cands = [v for v in open_ if weak_area in {a.area for a in v.key.problem_areas} | {a.area for a in v.key.alternatives}]
    if cands:
        v = min(cands, key=order)
        why = (f"You have not yet practised a case involving {area_label(weak_area)}"
               if untried else f"Your lowest area mastery is {area_label(weak_area)} ({_pct(weak_area_m)})")
        return pack(v, "area", weak_area, f"{why}; this case will exercise that judgement.")
    v = min(open_, key=order)
    return pack(v, "open", None, "A vignette you have not passed yet.")


def filter_options() -> dict[str, Any]:
    """Choices for the library's filters, in the field's words."""
    return {"population": POPULATIONS, "difficulty": {d: d for d in DIFFICULTIES},
            "status": {s: s for s in LIBRARY_STATUSES}, "area": PROBLEM_AREAS}
