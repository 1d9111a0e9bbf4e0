"""Scoring a vignette attempt against its rubric (pure: no database, no Streamlit).

One function per criterion type: problem-area identification (F1 of the areas chosen against the key), ranking (rank distance or alternative credit), technique choice per moment, and supervisor-graded levels; plus answer cleaning and the key-free public view of a case.
"""

from __future__ import annotations

from typing import Iterable, Optional
from ..content import (
    DISPUTE_STAGES,
    PROBLEM_AREAS,
    TECHNIQUES,
    GradedCriterion,
    MachineCriterion,
    Vignette,
    VignetteRubric,
)


STATUS_LABELS = {
    "new": "new",
    "draft": "in progress",
    "submitted": "awaiting grading",
    "graded": "graded",
}


LIBRARY_STATUSES = ("new", "in progress", "awaiting grading", "graded")


# mastery is the mean of the last few attempts that exercised an area or technique, so it
# follows improvement instead of being held down by a first try forever
MASTERY_WINDOW = 3


_TOL = 1e-9


class VignetteError(Exception):
    """Something the user can fix; the message says what to do."""


class AnswerError(VignetteError):
    """An answer that cannot be scored (unknown id, tied ranks...)."""


class GradeError(VignetteError):
    """A supervisor grade that does not fit the rubric."""


class AttemptAccessError(VignetteError):
    """The user may not see or change this attempt."""


def area_label(area: str) -> str:
    return PROBLEM_AREAS.get(area, area)


def technique_label(technique: Optional[str]) -> str:
    return TECHNIQUES.get(technique, technique or "none chosen")


def _pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{round(100 * x)} %"


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def empty_answers() -> dict:
    return {"areas": [], "ranking": {}, "dispute_stage": None, "formulation": "", "moments": {}}


# the parts of an answer committed (and locked) before the later stages are revealed (issue 12)
FOCUS_PARTS = ("areas", "ranking", "dispute_stage", "formulation")


def clean_answers(vignette: Vignette, answers: Optional[dict], for_submit: bool = False) -> dict:
    """Check an answers dict against the vignette; return it in canonical form.

    Unknown problem areas, techniques or moments raise ``AnswerError`` at any time (no widget
    can produce them). Tied ranks, and a rank for an area not selected, are allowed in a draft
    (the trainee may be half-way through re-ranking) and refused only when ``for_submit``.
    """
    answers = answers or {}
    if not isinstance(answers, dict):
        raise AnswerError("The answers must be a mapping of areas, ranking, formulation and moments.")
    unknown = set(answers) - {"areas", "ranking", "dispute_stage", "formulation", "moments"}
    if unknown:
        raise AnswerError(f"Unknown part(s) of an answer: {', '.join(sorted(unknown))}. "
                          "Answers hold only areas, ranking, dispute stage, formulation and moments.")
    stage = answers.get("dispute_stage") or None
    if stage is not None and stage not in DISPUTE_STAGES:
        raise AnswerError(f"'{stage}' is not a stage of a role dispute. Choose from: {', '.join(DISPUTE_STAGES)}.")
    areas: list[str] = []
    for a in answers.get("areas") or []:
        if a not in PROBLEM_AREAS:
            raise AnswerError(f"'{a}' is not a problem area. Choose from: {', '.join(PROBLEM_AREAS)}.")
        if a not in areas:
            areas.append(a)
    ranking: dict[str, int] = {}
    for a, r in (answers.get("ranking") or {}).items():
        if a not in PROBLEM_AREAS:
            raise AnswerError(f"'{a}' is not a problem area, so it cannot be ranked. "
                              f"Choose from: {', '.join(PROBLEM_AREAS)}.")
        if r is None or r == "":
            continue
        if isinstance(r, bool) or not isinstance(r, (int, float)) or int(r) != r or r < 1:
            raise AnswerError(f"The rank for {area_label(a)} must be a whole number from 1 up; got {r!r}.")
        ranking[a] = int(r)
    moment_ids = [m.id for m in vignette.moments]
    moments: dict[str, dict] = {}
    for mid, ans in (answers.get("moments") or {}).items():
        if mid not in moment_ids:
            raise AnswerError(f"'{mid}' is not a moment of this vignette ({vignette.id}).")
        ans = ans or {}
        tech = ans.get("technique") or None
        if tech is not None and tech not in TECHNIQUES:
            raise AnswerError(f"'{tech}' is not an IPT technique. Choose from: {', '.join(TECHNIQUES)}.")
        moments[mid] = {"technique": tech, "response": str(ans.get("response") or "")}
    out = {"areas": areas, "ranking": ranking, "dispute_stage": stage,
           "formulation": str(answers.get("formulation") or ""), "moments": moments}
    if for_submit:
        _check_ranking(out)
    return out


def _drop_stale_moments(vignette: Vignette, answers: dict) -> dict:
    """A draft started before the vignette file was edited may answer a moment that no longer
    exists; keep the rest of the draft rather than locking the trainee out of it."""
    ids = {m.id for m in vignette.moments}
    return {**answers, "moments": {k: v for k, v in (answers.get("moments") or {}).items() if k in ids}}


def _check_ranking(answers: dict) -> None:
    ranking = answers["ranking"]
    not_selected = [a for a in ranking if a not in answers["areas"]]
    if not_selected:
        raise AnswerError(f"You ranked {', '.join(area_label(a) for a in not_selected)} but did not select it as "
                          "applying. Select the area or clear its rank.")
    by_rank: dict[int, list[str]] = {}
    for a, r in ranking.items():
        by_rank.setdefault(r, []).append(a)
    ties = {r: a for r, a in by_rank.items() if len(a) > 1}
    if ties:
        r, tied = min(ties.items())
        raise AnswerError(f"You gave rank {r} to both {' and '.join(area_label(a) for a in tied)}. "
                          "Give each area its own rank (1 = the focus you would work on).")


def primary_choice(answers: dict) -> Optional[str]:
    """The area the trainee ranked first; a single selected area counts as ranked first."""
    ranking = {a: r for a, r in answers.get("ranking", {}).items() if a in answers.get("areas", [])}
    if ranking:
        best = min(ranking.values())
        firsts = [a for a, r in ranking.items() if r == best]
        return firsts[0] if len(firsts) == 1 else None
    if len(answers.get("areas", [])) == 1:
        return answers["areas"][0]
    return None


def missing_parts(vignette: Vignette, answers: dict) -> list[str]:
    """What the trainee has not answered yet, in words (unanswered parts score zero)."""
    answers = clean_answers(vignette, answers)
    out = []
    if not answers["areas"]:
        out.append("select the problem areas that apply")
    elif primary_choice(answers) is None:
        out.append("rank the selected areas (1 = the focus)")
    if "role_dispute" in answers["areas"] and not answers["dispute_stage"]:
        out.append("name the stage of the role dispute")
    if not answers["formulation"].strip():
        out.append("write the interpersonal formulation")
    for m in vignette.moments:
        ans = answers["moments"].get(m.id, {})
        if not ans.get("technique"):
            out.append(f"choose a technique at moment '{m.id}'")
        if not ans.get("response", "").strip():
            out.append(f"write your response at moment '{m.id}'")
    return out


def score_area_identification(vignette: Vignette, answers: dict, criterion=None) -> dict:
    """F1 of precision (selected areas the key lists) and recall (key areas selected).

    An area the key names as an acceptable alternative focus is neither a hit nor a false
    positive: some experts would pick it, so selecting it costs nothing (issue 12).
    """
    answers = clean_answers(vignette, answers)
    key = {a.area for a in vignette.key.problem_areas}
    alternatives = {a.area for a in vignette.key.alternatives} - key
    chosen = set(answers["areas"])
    hits = chosen & key
    judged = chosen - alternatives
    details = [{"area": a, "selected": a in chosen, "applies": a in key, "alternative": a in alternatives}
               for a in PROBLEM_AREAS]
    if not chosen:
        return {"credit": 0.0, "details": details,
                "explanation": f"You selected no problem area. The key lists {_list_areas(key)}."}
    precision = len(hits) / len(judged) if judged else 0.0
    recall = len(hits) / len(key)
    f1 = 0.0 if not hits else 2 * precision * recall / (precision + recall)
    extra, missed, alt = judged - key, key - chosen, chosen & alternatives
    parts = [f"You selected {_list_areas(chosen)}; the key lists {_list_areas(key)}."]
    if alt:
        parts.append(f"Also acceptable as an alternative focus, so not counted against you: {_list_areas(alt)}.")
    if extra:
        parts.append(f"Not applicable here: {_list_areas(extra)}.")
    if missed:
        parts.append(f"Missed: {_list_areas(missed)}.")
    parts.append(f"Precision {len(hits)}/{len(judged)}, recall {len(hits)}/{len(key)}, F1 {_pct(f1)}.")
    return {"credit": f1, "details": details, "explanation": " ".join(parts)}


def _list_areas(areas: Iterable[str]) -> str:
    ordered = [a for a in PROBLEM_AREAS if a in set(areas)]
    return ", ".join(area_label(a) for a in ordered) or "none"


def score_area_ranking(vignette: Vignette, answers: dict, criterion: Optional[MachineCriterion] = None) -> dict:
    """Credit for the trainee's rank-1 area.

    By the distance of that area's expert rank from 1 (``criterion.rank_distance_credit``:
    entry 0 for the expert's primary focus, entry 1 for the expert's 2nd, ...), or the credit
    the key gives to it as an acceptable alternative focus, whichever is higher; 0 for an
    area the key does not list. Tied ranks are refused (``AnswerError``).
    """
    answers = clean_answers(vignette, answers, for_submit=True)
    distance_credit = list(criterion.rank_distance_credit) if criterion else [1.0, 0.5, 0.25]
    expert = {a.area: a.rank for a in vignette.key.problem_areas}
    alternatives = {a.area: a.credit for a in vignette.key.alternatives}
    primary = vignette.primary_area
    chosen = primary_choice(answers)
    details = {"chosen": chosen, "expert_primary": primary}
    if chosen is None:
        why = ("you selected no problem area" if not answers["areas"]
               else "you did not rank the selected areas")
        return {"credit": 0.0, "details": details,
                "explanation": f"No primary focus to score: {why}. The expert's focus is {area_label(primary)}."}
    by_rank = 0.0
    if chosen in expert:
        d = expert[chosen] - 1
        by_rank = distance_credit[d] if d < len(distance_credit) else 0.0
    by_alt = alternatives.get(chosen, 0.0)
    credit = max(by_rank, by_alt)
    if chosen == primary:
        text = f"You chose {area_label(chosen)} as the focus, the expert's primary focus."
    elif by_alt >= by_rank and by_alt > 0:
        text = (f"You chose {area_label(chosen)} as the focus. The expert's focus is {area_label(primary)}, "
                f"but the key accepts {area_label(chosen)} as an alternative focus some experts would pick.")
    elif chosen in expert:
        text = (f"You chose {area_label(chosen)} as the focus. It applies, but the expert ranks it "
                f"{_ordinal(expert[chosen])}; the primary focus is {area_label(primary)}.")
    else:
        text = (f"You chose {area_label(chosen)} as the focus, which the key does not list as applying; "
                f"the expert's focus is {area_label(primary)}.")
    return {"credit": credit, "details": details, "explanation": f"{text} Credit {_pct(credit)}."}


def score_technique_choice(vignette: Vignette, answers: dict, criterion=None) -> dict:
    """Per moment: 1 for a technique the expert would use, the key's credit for an alternative,
    else 0; averaged over all the vignette's moments (an unanswered moment scores 0)."""
    answers = clean_answers(vignette, answers)
    details = []
    for m in vignette.moments:
        mk = vignette.key.moments[m.id]
        chosen = answers["moments"].get(m.id, {}).get("technique")
        alts = {a.technique: a.credit for a in mk.alternatives}
        if chosen in mk.techniques:
            credit, verdict = 1.0, "an expert's choice"
        elif chosen in alts:
            credit, verdict = alts[chosen], "an acceptable alternative"
        elif chosen is None:
            credit, verdict = 0.0, "no technique chosen"
        else:
            credit, verdict = 0.0, "not what the key would use here"
        details.append({"moment": m.id, "chosen": chosen, "expected": list(mk.techniques),
                        "alternatives": alts, "credit": credit, "verdict": verdict})
    credit = sum(d["credit"] for d in details) / len(details) if details else 0.0
    full = sum(1 for d in details if d["credit"] >= 1 - _TOL)
    partial = sum(1 for d in details if _TOL < d["credit"] < 1 - _TOL)
    text = (f"{full} of {len(details)} moments with an expert's technique"
            + (f", {partial} with an acceptable alternative" if partial else "")
            + f"; mean credit {_pct(credit)}.")
    return {"credit": credit, "details": details, "explanation": text}


def score_dispute_stage(vignette: Vignette, answers: dict, criterion=None) -> dict:
    """Credit 1 when the trainee identified the role dispute and named the key's stage
    (renegotiation, impasse, dissolution), else 0; not applicable (credit None) to a vignette
    whose key has no role dispute."""
    answers = clean_answers(vignette, answers)
    dispute = next((a for a in vignette.key.problem_areas if a.area == "role_dispute"), None)
    if dispute is None:
        return {"credit": None, "applicable": False, "details": {},
                "explanation": "Not applicable: the key has no role dispute in this case."}
    named = answers["dispute_stage"] if "role_dispute" in answers["areas"] else None
    details = {"named": named, "expert": dispute.dispute_stage}
    if "role_dispute" not in answers["areas"]:
        text = f"You did not identify the role dispute, so no stage was named; the expert stages it as {dispute.dispute_stage}."
    elif named is None:
        text = f"You did not name the stage of the role dispute; the expert stages it as {dispute.dispute_stage}."
    elif named == dispute.dispute_stage:
        text = f"You staged the role dispute as {named}, as the expert does."
    else:
        text = f"You staged the role dispute as {named}; the expert stages it as {dispute.dispute_stage}."
    credit = 1.0 if named == dispute.dispute_stage else 0.0
    return {"credit": credit, "details": details, "explanation": f"{text} Credit {_pct(credit)}."}


MACHINE_SCORERS = {
    "area_identification": score_area_identification,
    "area_ranking": score_area_ranking,
    "technique_choice": score_technique_choice,
    "dispute_stage": score_dispute_stage,
}


def safety_check(vignette: Vignette, answers: dict) -> list[dict]:
    """The critical moments (a disclosure of suicidal thoughts, risk to a child, violence) where
    the trainee did not choose a safety response: a technique the key accepts there, fully or
    as an alternative. Any entry fails the attempt, whatever its total (issue 12)."""
    answers = clean_answers(vignette, answers)
    missed = []
    for m in vignette.moments:
        if not m.critical:
            continue
        mk = vignette.key.moments[m.id]
        accepted = set(mk.techniques) | {a.technique for a in mk.alternatives}
        chosen = answers["moments"].get(m.id, {}).get("technique")
        if chosen not in accepted:
            said = f"you chose {technique_label(chosen)}" if chosen else "you chose no technique"
            missed.append({"moment": m.id, "chosen": chosen, "accepted": sorted(accepted), "reason": (
                f"At the moment where the client says \"{_excerpt(m.client_statement)}\", safety comes first: "
                f"the response needed was {' or '.join(technique_label(t) for t in mk.techniques)} to ask directly "
                f"about the risk and agree what keeps everyone safe, but {said}. Missing a safety response fails "
                "the attempt, whatever the total.")})
    return missed


def _excerpt(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_grades(rubric: VignetteRubric, grades: Optional[dict]) -> dict:
    """Check supervisor grades against the rubric's graded criteria and levels."""
    graded = {c.id: c for c in rubric.criteria if isinstance(c, GradedCriterion)}
    out = {}
    for cid, g in (grades or {}).items():
        if cid not in graded:
            raise GradeError(f"'{cid}' is not a supervisor-graded criterion of rubric {rubric.id}; "
                             f"grade only: {', '.join(graded) or 'none'}.")
        g = g or {}
        level = g.get("level")
        if level is None:
            continue
        crit = graded[cid]
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= crit.max_level:
            raise GradeError(f"The level for '{crit.title}' must be a whole number from 0 to {crit.max_level}; got {level!r}.")
        out[cid] = {"level": level, "comment": str(g.get("comment") or "").strip()}
    return out


def score_graded(criterion: GradedCriterion, grade: Optional[dict]) -> dict:
    """A supervisor-graded criterion: credit = level / max_level, or awaiting grading."""
    if not grade or grade.get("level") is None:
        return {"credit": None, "details": {}, "explanation": "Awaiting a supervisor's grading."}
    level = grade["level"]
    lv = next(lv for lv in criterion.levels if lv.score == level)
    credit = level / criterion.max_level
    return {"credit": credit,
            "details": {"level": level, "max_level": criterion.max_level, "level_label": lv.label,
                        "level_description": lv.description, "comment": grade.get("comment", "")},
            "explanation": f"Level {level} of {criterion.max_level} ({lv.label}): {lv.description}"}


def _entry(criterion, scored: dict) -> dict:
    credit = scored["credit"]
    applicable = scored.get("applicable", True)
    return {
        "id": criterion.id, "title": criterion.title, "type": criterion.type,
        "machine": isinstance(criterion, MachineCriterion), "weight": criterion.weight,
        "credit": None if credit is None else round(credit, 6),
        "points": None if credit is None else round(credit * criterion.weight, 6),
        "status": "not applicable" if not applicable else "awaiting grading" if credit is None else "scored",
        "explanation": scored["explanation"], "details": scored["details"],
    }


def _with_totals(rubric: VignetteRubric, entries: list[dict], head: dict) -> dict:
    counted = [e for e in entries if e["status"] != "not applicable"]
    total_weight = sum(e["weight"] for e in counted)
    machine = [e for e in counted if e["machine"]]
    machine_weight = sum(e["weight"] for e in machine)
    final = all(e["status"] == "scored" for e in counted)
    if final:
        score = sum(e["points"] for e in counted) / total_weight
        label = "Final score"
    elif machine_weight:
        score = sum(e["points"] for e in machine) / machine_weight
        label = (f"Provisional score: machine-scored parts only ({machine_weight:g} of {total_weight:g} weight). "
                 "It becomes final when a supervisor has graded the written parts.")
    else:
        score, label = None, "No score yet: every criterion awaits a supervisor's grading."
    fails = _failed_requirements(rubric, entries, head.get("safety_missed", []))
    passed = None if not final else (score >= rubric.pass_mark - _TOL and not fails)
    return {**head, "criteria": entries, "total_weight": total_weight, "machine_weight": machine_weight,
            "score": None if score is None else round(score, 6), "final": final, "provisional": not final,
            "score_label": label, "pass_mark": rubric.pass_mark, "passed": passed, "fails": fails,
            "rubric_id": rubric.id, "rubric_version": rubric.version, "rubric_hash": rubric.content_hash}


def _failed_requirements(rubric: VignetteRubric, entries: list[dict], safety_missed: list[dict]) -> list[str]:
    """Why the attempt cannot pass whatever its total: a missed safety response, or a gated
    criterion graded below its ``min_level`` (issue 12)."""
    out = [m["reason"] for m in safety_missed]
    gates = {c.id: c for c in rubric.criteria if isinstance(c, GradedCriterion) and c.min_level is not None}
    for e in entries:
        c = gates.get(e["id"])
        if c is None or not isinstance(e.get("details"), dict):
            continue
        level = e["details"].get("level")
        if level is not None and level < c.min_level:
            need = next(lv.label for lv in c.levels if lv.score == c.min_level)
            out.append(f"{c.title} was graded level {level} of {c.max_level}; an attempt passes only from level "
                       f"{c.min_level} ({need}) on this criterion, whatever its total.")
    return out


def score_attempt(vignette: Vignette, rubric: VignetteRubric, answers: dict, grades: Optional[dict] = None) -> dict:
    """Score an attempt: one entry per rubric criterion, the total as a share of total weight.

    Before every supervisor-graded criterion has a level, ``score`` is provisional: the share
    of the machine-scored criteria only (``provisional`` True, ``passed`` None). Once all are
    graded it is final and ``passed`` needs the pass mark, every gated criterion at or above its
    ``min_level`` and a safety response at every critical moment (``fails`` says what failed).
    A criterion that does not apply to the vignette (``dispute_stage`` without a role dispute)
    is left out of the weights.
    """
    answers = clean_answers(vignette, answers, for_submit=True)
    grades = clean_grades(rubric, grades)
    entries = []
    for c in rubric.criteria:
        if isinstance(c, MachineCriterion):
            entries.append(_entry(c, MACHINE_SCORERS[c.type](vignette, answers, c)))
        else:
            entries.append(_entry(c, score_graded(c, grades.get(c.id))))
    head = {"vignette_id": vignette.id, "vignette_title": vignette.title, "vignette_hash": vignette.content_hash,
            "primary_area": vignette.primary_area, "safety_missed": safety_check(vignette, answers)}
    return _with_totals(rubric, entries, head)


def apply_grades(result: dict, rubric: VignetteRubric, grades: Optional[dict]) -> dict:
    """Re-total a stored result with supervisor grades; machine entries are kept as scored."""
    grades = clean_grades(rubric, grades)
    by_id = {c.id: c for c in rubric.criteria}
    entries = []
    for e in result["criteria"]:
        c = by_id.get(e["id"])
        if isinstance(c, GradedCriterion):
            entries.append(_entry(c, score_graded(c, grades.get(c.id))))
        else:
            entries.append(e)
    head = {k: result[k] for k in ("vignette_id", "vignette_title", "vignette_hash", "primary_area")}
    head["safety_missed"] = result.get("safety_missed", [])
    return _with_totals(rubric, entries, head)


def focus_commit_stage(vignette: Vignette) -> Optional[int]:
    """How many stages are shown before the trainee commits the focus (None: no commit step)."""
    if vignette.focus_commit_after is None:
        return None
    return [st.id for st in vignette.stages].index(vignette.focus_commit_after) + 1


def public_case(vignette: Vignette, stages_revealed: int) -> dict:
    """What a trainee may see while working: the revealed stages and their moments. No key."""
    n = max(1, min(stages_revealed, len(vignette.stages)))
    shown = vignette.stages[:n]
    shown_ids = {s.id for s in shown}
    return {
        "id": vignette.id, "title": vignette.title, "summary": vignette.summary,
        "population": vignette.population, "difficulty": vignette.difficulty,
        "n_stages": len(vignette.stages), "stages_revealed": n,
        # how many stages are shown before the focus must be committed (None: no commit step)
        "focus_commit_stage": focus_commit_stage(vignette),
        "stages": [{"id": s.id, "title": s.title, "text": s.text,
                    "relationships": [{"person": r.person, "description": r.description} for r in s.relationships],
                    "moments": [{"id": m.id, "client_statement": m.client_statement}
                                for m in vignette.moments if m.stage == s.id]}
                   for s in shown],
        "all_moment_ids": [m.id for m in vignette.moments],
        "revealed_moment_ids": [m.id for m in vignette.moments if m.stage in shown_ids],
    }


def expert_key(vignette: Vignette) -> dict:
    """The key in plain data, for a submitted attempt's feedback and for graders."""
    k = vignette.key
    return {
        "problem_areas": [{"area": a.area, "rank": a.rank, "dispute_stage": a.dispute_stage, "reason": a.reason}
                          for a in sorted(k.problem_areas, key=lambda a: a.rank)],
        "not_applicable": [{"area": a.area, "reason": a.reason} for a in k.not_applicable],
        "alternatives": [{"area": a.area, "credit": a.credit, "reason": a.reason} for a in k.alternatives],
        "tempting_but_wrong": k.tempting_but_wrong,
        "formulation": k.formulation,
        "moments": [{"id": m.id, "stage": m.stage, "client_statement": m.client_statement, "critical": m.critical,
                     "techniques": list(k.moments[m.id].techniques),
                     "alternatives": [{"technique": a.technique, "credit": a.credit} for a in k.moments[m.id].alternatives],
                     "model_response": k.moments[m.id].model_response,
                     "rationale": k.moments[m.id].rationale}
                    for m in vignette.moments],
    }
