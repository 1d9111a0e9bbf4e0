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
from ..finding import text_matches
from .attempts import _attempts_of, _title
from .scoring import LIBRARY_STATUSES, MASTERY_WINDOW, STATUS_LABELS, _pct, area_label, technique_label


def library_rows(db: Database, library: Library, trainee_id: int, *, population: Optional[str] = None,
                 difficulty: Optional[str] = None, status: Optional[str] = None,
                 area: Optional[str] = None, text: str = "") -> list[dict]:
    """One row per offered vignette, in the suggested order, with the trainee's status: new, in
    progress, awaiting grading, graded. ``status="passed"`` keeps the vignettes with a passed
    attempt; ``text`` searches the title and summary (:func:`finding.text_matches`), never the key.

    Problem areas are part of the answer, so a vignette is tagged with its areas only once the
    trainee has submitted an attempt on it (``areas`` is empty before). Filtering by ``area``
    therefore finds only vignettes already submitted; see vignette_library.py for why.
    """
    by_vignette: dict[str, list[dict]] = {}
    for att in _attempts_of(db, trainee_id):
        by_vignette.setdefault(att["vignette_id"], []).append(att)
    out = []
    for order, v in enumerate(suggested_order(library), start=1):
        atts = by_vignette.get(v.id, [])
        done = [a for a in atts if a["status"] != "draft"]
        if any(a["status"] == "draft" for a in atts):
            state = "in progress"
        elif done:
            state = STATUS_LABELS[done[-1]["status"]]
        else:
            state = "new"
        # the key's areas are shown once submitted, but not while a retake is open (issue 12)
        shown = done and state != "in progress"
        areas = [a.area for a in sorted(v.key.problem_areas, key=lambda a: a.rank)] if shown else []
        finals = [a for a in done if a["status"] == "graded"]
        row = {"order": order, "vignette_id": v.id, "title": v.title, "summary": v.summary, "population": v.population,
               "population_label": POPULATIONS[v.population], "difficulty": v.difficulty, "status": state,
               "attempts": len(done), "best_score": max((a["score"] for a in done if a["score"] is not None), default=None),
               "passed": any(a["passed"] for a in finals),
               "areas": areas, "areas_label": (", ".join(area_label(a) for a in areas) if shown else
                                               "(hidden while your retake is open)" if done else "(shown after you submit)")}
        if population and v.population != population:
            continue
        if difficulty and v.difficulty != difficulty:
            continue
        if status and (not row["passed"] if status == "passed" else state != status):
            continue
        if not text_matches(text, v.title, v.summary):
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
    retaking = {a["vignette_id"] for a in attempts if a["status"] == "draft"}
    submitted = sorted([a for a in attempts if a["status"] != "draft"], key=lambda a: (a["submitted_at"], a["id"]))
    area_series, tech_series = [], []
    area_hist: dict[str, list[float]] = {}
    tech_hist: dict[str, list[float]] = {}
    for a in submitted:
        if a["vignette_id"] in retaking:
            continue  # the series are drawn from the key: none of a case whose retake is open
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


def suggested_order(library: Library) -> list[Vignette]:
    """The offered vignettes from introductory to advanced (then by id): the order the library
    suggests and the recommendation follows."""
    offered = [v for v in library.vignettes.values() if v.rubric in library.rubrics]
    return sorted(offered, key=lambda v: (_DIFFICULTY_ORDER[v.difficulty], v.id))


_DIFFICULTY_ORDER = {d: n for n, d in enumerate(DIFFICULTIES)}


# cases to pass at a difficulty before the recommendation moves on to the next one
PASSES_TO_MOVE_ON = 2


def recommend_next(library: Library, progress_data: dict) -> Optional[dict]:
    """The next vignette to practise, chosen without the answer key (issue 12).

    Only what a trainee may know before starting is used: the suggested order (difficulty,
    then id), the vignette's population, and the trainee's own record. A case in progress comes
    first; otherwise the level is the easiest difficulty at which fewer than
    ``PASSES_TO_MOVE_ON`` cases are passed, and among that level's cases not yet passed, an
    untried one of the population practised least comes first, then the lowest latest score.
    The reason names the level, the population and, as advice from the trainee's own results,
    their weakest technique; never a problem area or a technique of the recommended case.
    """
    ordered = suggested_order(library)
    if not ordered:
        return None
    status = {r["vignette_id"]: r for r in progress_data["vignettes"]}

    def pack(v: Vignette, kind: str, reason: str) -> dict:
        return {"vignette_id": v.id, "title": v.title, "kind": kind, "target": None, "difficulty": v.difficulty,
                "population": v.population, "reason": reason}

    drafting = [v for v in ordered if status.get(v.id, {}).get("pass_status") == "in progress"]
    if drafting:
        return pack(drafting[0], "continue", "Finish the case you have started.")
    passed = {vid for vid, r in status.items() if r["pass_status"] == "passed"}
    open_ = [v for v in ordered if v.id not in passed]
    if not open_:
        v = min(ordered, key=lambda v: (status.get(v.id, {}).get("best_final_score") or 0.0, v.id))
        return pack(v, "review", "You have passed every vignette; revisit your lowest-scoring one.")
    level = next((d for d in DIFFICULTIES
                  if any(v.difficulty == d for v in open_)
                  and sum(1 for v in ordered if v.difficulty == d and v.id in passed) < PASSES_TO_MOVE_ON),
                 open_[0].difficulty)
    practised: dict[str, int] = {}
    for v in ordered:
        practised[v.population] = practised.get(v.population, 0) + (status.get(v.id, {}).get("attempts") or 0)

    def rank(v: Vignette):
        r = status.get(v.id) or {}
        return (bool(r.get("attempts")), practised.get(v.population, 0), r.get("latest_score") or 0.0,
                ordered.index(v))

    v = min((v for v in open_ if v.difficulty == level), key=rank)
    n_passed = sum(1 for x in ordered if x.difficulty == level and x.id in passed)
    parts = [f"Next in the suggested order: {'an' if level[0] in 'aeiou' else 'a'} {level} case "
             f"({POPULATIONS[v.population]})."]
    if progress_data["n_submitted"] == 0:
        parts.append("A good first case.")
    else:
        parts.append(f"You have passed {n_passed} {level} case{'s' if n_passed != 1 else ''}; "
                     f"passing {PASSES_TO_MOVE_ON} moves you on to the next level.")
    techs = progress_data.get("technique_mastery") or {}
    if techs:
        weak = min(techs, key=lambda t: (techs[t], t))
        parts.append(f"From your results so far, your weakest technique is {technique_label(weak)} "
                     f"({_pct(techs[weak])}).")
    return pack(v, "level", " ".join(parts))


def filter_options() -> dict[str, Any]:
    """Choices for a trainee's library filters, in the field's words. There is no problem-area
    filter: the areas are the key's first answer, and a filter drawn from them would hint at it
    (issue 17); a trainee searches by what they may know before starting."""
    return {"population": POPULATIONS, "difficulty": {d: d for d in DIFFICULTIES},
            "status": {**{s: ("not started" if s == "new" else s) for s in LIBRARY_STATUSES}, "passed": "passed"}}
