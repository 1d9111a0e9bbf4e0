"""Vignette practice: scoring an attempt against its rubric, and the attempts in the store.

The first half is pure: ``score_attempt(vignette, rubric, answers, grades)`` and the one
function per rubric criterion type it is built from, on plain data. The second half keeps
attempts in ``vignette_attempts`` (drafts saved on every change, submission, supervisor
grading) and decides who may see what (issue 3).

Answers, as stored in ``vignette_attempts.answers`` (JSON)::

    {"areas": ["grief", "role_transition"],            # areas the trainee says apply
     "ranking": {"grief": 1, "role_transition": 2},    # 1 = the primary focus
     "formulation": "...",
     "moments": {"<moment id>": {"technique": "clarification", "response": "..."}}}

Grades (``vignette_attempts.grades``): ``{"<criterion id>": {"level": 2, "comment": "..."}}``.

Non-disclosure rule: the expert key (areas, reasons, alternatives, formulation, model
responses, rationales) leaves this module only inside a submitted attempt's view. A draft's
view carries the case text of the revealed stages and nothing from ``vignette.key``.
On submission the vignette and rubric it was scored against are kept in ``content_versions``
(once per content hash, however many attempts use them) and the attempt stores its result in
``auto_scores``, so it stays readable and gradable when the content file later changes or
fails validation.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Iterable, Optional

from sqlite_utils import Database

from .auth import User, supervisee_ids
from .content import (
    DIFFICULTIES,
    POPULATIONS,
    PROBLEM_AREAS,
    TECHNIQUES,
    GradedCriterion,
    Library,
    MachineCriterion,
    Vignette,
    VignetteRubric,
)
from .credentials import VignetteResult
from .store import audit, now_iso, one, rows, transaction

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


# --- answers -----------------------------------------------------------------------------


def empty_answers() -> dict:
    return {"areas": [], "ranking": {}, "formulation": "", "moments": {}}


def clean_answers(vignette: Vignette, answers: Optional[dict], for_submit: bool = False) -> dict:
    """Check an answers dict against the vignette; return it in canonical form.

    Unknown problem areas, techniques or moments raise ``AnswerError`` at any time (no widget
    can produce them). Tied ranks, and a rank for an area not selected, are allowed in a draft
    (the trainee may be half-way through re-ranking) and refused only when ``for_submit``.
    """
    answers = answers or {}
    if not isinstance(answers, dict):
        raise AnswerError("The answers must be a mapping of areas, ranking, formulation and moments.")
    unknown = set(answers) - {"areas", "ranking", "formulation", "moments"}
    if unknown:
        raise AnswerError(f"Unknown part(s) of an answer: {', '.join(sorted(unknown))}. "
                          "Answers hold only areas, ranking, formulation and moments.")
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
    out = {"areas": areas, "ranking": ranking, "formulation": str(answers.get("formulation") or ""),
           "moments": moments}
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
    if not answers["formulation"].strip():
        out.append("write the interpersonal formulation")
    for m in vignette.moments:
        ans = answers["moments"].get(m.id, {})
        if not ans.get("technique"):
            out.append(f"choose a technique at moment '{m.id}'")
        if not ans.get("response", "").strip():
            out.append(f"write your response at moment '{m.id}'")
    return out


# --- scoring, one function per criterion type ---------------------------------------------


def score_area_identification(vignette: Vignette, answers: dict, criterion=None) -> dict:
    """F1 of precision (selected areas the key lists) and recall (key areas selected)."""
    answers = clean_answers(vignette, answers)
    key = {a.area for a in vignette.key.problem_areas}
    chosen = set(answers["areas"])
    hits = chosen & key
    details = [{"area": a, "selected": a in chosen, "applies": a in key} for a in PROBLEM_AREAS]
    if not chosen:
        return {"credit": 0.0, "details": details,
                "explanation": f"You selected no problem area. The key lists {_list_areas(key)}."}
    precision = len(hits) / len(chosen)
    recall = len(hits) / len(key)
    f1 = 0.0 if not hits else 2 * precision * recall / (precision + recall)
    extra, missed = chosen - key, key - chosen
    parts = [f"You selected {_list_areas(chosen)}; the key lists {_list_areas(key)}."]
    if extra:
        parts.append(f"Not applicable here: {_list_areas(extra)}.")
    if missed:
        parts.append(f"Missed: {_list_areas(missed)}.")
    parts.append(f"Precision {len(hits)}/{len(chosen)}, recall {len(hits)}/{len(key)}, F1 {_pct(f1)}.")
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


MACHINE_SCORERS = {
    "area_identification": score_area_identification,
    "area_ranking": score_area_ranking,
    "technique_choice": score_technique_choice,
}


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
    return {
        "id": criterion.id, "title": criterion.title, "type": criterion.type,
        "machine": isinstance(criterion, MachineCriterion), "weight": criterion.weight,
        "credit": None if credit is None else round(credit, 6),
        "points": None if credit is None else round(credit * criterion.weight, 6),
        "status": "awaiting grading" if credit is None else "scored",
        "explanation": scored["explanation"], "details": scored["details"],
    }


def _with_totals(rubric: VignetteRubric, entries: list[dict], head: dict) -> dict:
    total_weight = sum(e["weight"] for e in entries)
    machine = [e for e in entries if e["machine"]]
    machine_weight = sum(e["weight"] for e in machine)
    final = all(e["status"] == "scored" for e in entries)
    if final:
        score = sum(e["points"] for e in entries) / total_weight
        label = "Final score"
    elif machine_weight:
        score = sum(e["points"] for e in machine) / machine_weight
        label = (f"Provisional score: machine-scored parts only ({machine_weight:g} of {total_weight:g} weight). "
                 "It becomes final when a supervisor has graded the written parts.")
    else:
        score, label = None, "No score yet: every criterion awaits a supervisor's grading."
    passed = None if not final else score >= rubric.pass_mark - _TOL
    return {**head, "criteria": entries, "total_weight": total_weight, "machine_weight": machine_weight,
            "score": None if score is None else round(score, 6), "final": final, "provisional": not final,
            "score_label": label, "pass_mark": rubric.pass_mark, "passed": passed,
            "rubric_id": rubric.id, "rubric_version": rubric.version, "rubric_hash": rubric.content_hash}


def score_attempt(vignette: Vignette, rubric: VignetteRubric, answers: dict, grades: Optional[dict] = None) -> dict:
    """Score an attempt: one entry per rubric criterion, the total as a share of total weight.

    Before every supervisor-graded criterion has a level, ``score`` is provisional: the share
    of the machine-scored criteria only (``provisional`` True, ``passed`` None). Once all are
    graded it is final and ``passed`` compares it with the rubric's pass mark.
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
            "primary_area": vignette.primary_area}
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
    return _with_totals(rubric, entries, head)


# --- public (key-free) view of a vignette --------------------------------------------------


def public_case(vignette: Vignette, stages_revealed: int) -> dict:
    """What a trainee may see while working: the revealed stages and their moments. No key."""
    n = max(1, min(stages_revealed, len(vignette.stages)))
    shown = vignette.stages[:n]
    shown_ids = {s.id for s in shown}
    return {
        "id": vignette.id, "title": vignette.title, "summary": vignette.summary,
        "population": vignette.population, "difficulty": vignette.difficulty,
        "n_stages": len(vignette.stages), "stages_revealed": n,
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
        "moments": [{"id": m.id, "stage": m.stage, "client_statement": m.client_statement,
                     "techniques": list(k.moments[m.id].techniques),
                     "alternatives": [{"technique": a.technique, "credit": a.credit} for a in k.moments[m.id].alternatives],
                     "model_response": k.moments[m.id].model_response,
                     "rationale": k.moments[m.id].rationale}
                    for m in vignette.moments],
    }


# --- the store ---------------------------------------------------------------------------


def _load(row: dict) -> dict:
    att = dict(row)
    att["answers"] = json.loads(att.get("answers") or "{}")
    att["grades"] = json.loads(att["grades"]) if att.get("grades") else {}
    att["auto_scores"] = json.loads(att["auto_scores"]) if att.get("auto_scores") else None
    return att


def get_attempt(db: Database, attempt_id: int) -> Optional[dict]:
    row = one(db, "SELECT * FROM vignette_attempts WHERE id = ?", (attempt_id,))
    return _load(row) if row else None


def offered_vignette(library: Library, vignette_id: str) -> tuple[Vignette, VignetteRubric]:
    """The vignette and its rubric if both validated; otherwise a VignetteError."""
    v = library.vignettes.get(vignette_id)
    if v is None or v.rubric not in library.rubrics:
        raise VignetteError(f"Vignette '{vignette_id}' is not offered at the moment (it does not exist or its "
                            "file failed validation). Choose another vignette from the library.")
    return v, library.rubrics[v.rubric]


def _require_trainee(user: User) -> None:
    if not user.has("trainee"):
        raise AttemptAccessError("Only trainees work on vignette attempts; sign in with a trainee account.")


def _own_draft(db: Database, user: User, attempt_id: int) -> dict:
    att = get_attempt(db, attempt_id)
    if att is None or att["trainee_id"] != user.id:
        raise AttemptAccessError("This attempt is not yours; open your own attempt from the vignette library.")
    if att["status"] != "draft":
        raise VignetteError("This attempt has been submitted and can no longer change; start a retake to try again.")
    return att


def current_draft(db: Database, trainee_id: int, vignette_id: str) -> Optional[dict]:
    row = one(db, "SELECT * FROM vignette_attempts WHERE trainee_id = ? AND vignette_id = ? AND status = 'draft'",
              (trainee_id, vignette_id))
    return _load(row) if row else None


def start_attempt(db: Database, library: Library, user: User, vignette_id: str) -> dict:
    """Resume the trainee's draft of this vignette, or start one (a retake after a submission).

    One draft per trainee and vignette (also enforced by a unique index). The draft records
    the vignette and rubric id and content hash it was started on.
    """
    _require_trainee(user)
    vignette, rubric = offered_vignette(library, vignette_id)
    with transaction(db):
        row = one(db, "SELECT id FROM vignette_attempts WHERE trainee_id = ? AND vignette_id = ? AND status = 'draft'",
                  (user.id, vignette_id))
        if row:
            attempt_id = row["id"]
        else:
            now = now_iso()
            attempt_id = db.conn.execute(
                """INSERT INTO vignette_attempts (trainee_id, vignette_id, vignette_hash, rubric_id, rubric_hash, status,
                   answers, stages_revealed, created_at, updated_at) VALUES (?,?,?,?,?, 'draft', ?, 1, ?, ?)""",
                (user.id, vignette.id, vignette.content_hash, rubric.id, rubric.content_hash,
                 json.dumps(empty_answers()), now, now)).lastrowid
            audit(db, user.id, "start_vignette_attempt", "vignette_attempt", attempt_id, {"vignette_id": vignette.id})
    return get_attempt(db, attempt_id)


def save_draft(db: Database, library: Library, user: User, attempt_id: int, answers: dict) -> dict:
    """Store the draft's answers as they are now (called on every change in the workspace)."""
    att = _own_draft(db, user, attempt_id)
    vignette, _ = offered_vignette(library, att["vignette_id"])
    cleaned = clean_answers(vignette, answers)
    with transaction(db):
        db.conn.execute("UPDATE vignette_attempts SET answers = ?, updated_at = ? WHERE id = ? AND status = 'draft'",
                        (json.dumps(cleaned), now_iso(), attempt_id))
    return cleaned


def reveal_next_stage(db: Database, library: Library, user: User, attempt_id: int) -> int:
    """Reveal the next stage of the case (stages unfold in order); returns how many are shown."""
    att = _own_draft(db, user, attempt_id)
    vignette, _ = offered_vignette(library, att["vignette_id"])
    n = min(att["stages_revealed"] + 1, len(vignette.stages))
    with transaction(db):
        db.conn.execute("UPDATE vignette_attempts SET stages_revealed = ?, updated_at = ? WHERE id = ?",
                        (n, now_iso(), attempt_id))
    return n


def submit_attempt(db: Database, library: Library, user: User, attempt_id: int) -> dict:
    """Score the machine-scorable parts at once and lock the attempt.

    Status becomes 'graded' when the rubric has no supervisor-graded criteria, else
    'submitted' (awaiting grading). The attempt keeps a snapshot of the vignette and rubric
    it was scored against, with their hashes.
    """
    att = _own_draft(db, user, attempt_id)
    vignette, rubric = offered_vignette(library, att["vignette_id"])
    if att["stages_revealed"] < len(vignette.stages):
        raise VignetteError("Reveal all stages of the case before you submit: the later stages hold moments "
                            "you have not answered yet.")
    answers = clean_answers(vignette, _drop_stale_moments(vignette, att["answers"]), for_submit=True)
    result = score_attempt(vignette, rubric, answers)
    status = "graded" if result["final"] else "submitted"
    now = now_iso()
    stored = {"result": result}
    with transaction(db):
        keep_version(db, vignette)
        keep_version(db, rubric)
        cur = db.conn.execute(
            """UPDATE vignette_attempts SET status = ?, answers = ?, auto_scores = ?, score = ?, passed = ?,
               primary_area = ?, vignette_hash = ?, rubric_id = ?, rubric_hash = ?, submitted_at = ?, updated_at = ?,
               graded_at = ? WHERE id = ? AND status = 'draft'""",
            (status, json.dumps(answers), json.dumps(stored), result["score"],
             None if result["passed"] is None else int(result["passed"]), vignette.primary_area,
             vignette.content_hash, rubric.id, rubric.content_hash, now, now,
             now if status == "graded" else None, attempt_id))
        if cur.rowcount == 0:  # submitted meanwhile from another tab
            raise VignetteError("This attempt has been submitted already; its feedback is on the vignette's page.")
        audit(db, user.id, "submit_vignette_attempt", "vignette_attempt", attempt_id,
              {"vignette_id": vignette.id, "score": result["score"], "provisional": result["provisional"]})
    return result


def may_grade(db: Database, user: User, trainee_id: int) -> bool:
    if user.id == trainee_id:
        return False
    if user.has("admin"):
        return True
    return user.has("supervisor") and trainee_id in supervisee_ids(db, user.id)


def keep_version(db: Database, model: Vignette | VignetteRubric) -> None:
    """Store this content version once, keyed by its content hash (a no-op when already kept)."""
    db.conn.execute("INSERT OR IGNORE INTO content_versions (hash, kind, content_id, body) VALUES (?,?,?,?)",
                    (model.content_hash, model.kind, model.id, json.dumps(model.model_dump(mode="json"))))


def _version(db: Database, content_hash: str, model_cls):
    row = one(db, "SELECT body FROM content_versions WHERE hash = ?", (content_hash,))
    if row is None:
        raise VignetteError("The content version this attempt was scored against is missing from the database; "
                            "restore it from a backup.")
    return model_cls.model_validate(json.loads(row["body"]))


def _snapshot(db: Database, att: dict) -> tuple[Vignette, VignetteRubric, dict]:
    """The vignette and rubric versions the attempt was scored against, and its stored result."""
    return (_version(db, att["vignette_hash"], Vignette), _version(db, att["rubric_hash"], VignetteRubric),
            att["auto_scores"]["result"])


def grade_attempt(db: Database, grader: User, attempt_id: int, grades: dict) -> dict:
    """A supervisor of the trainee (or an admin) grades the written parts; the score becomes final.

    Grading uses the rubric version the attempt was scored against (its stored snapshot), so a
    later edit of the rubric file does not change what the levels meant. A graded attempt may
    be graded again; every grading is in the audit log.
    """
    att = get_attempt(db, attempt_id)
    if att is None:
        raise VignetteError(f"There is no attempt {attempt_id}; pick one from the grading queue.")
    if not may_grade(db, grader, att["trainee_id"]):
        raise AttemptAccessError("You may grade only attempts of trainees you supervise (admins: any trainee's, "
                                 "never your own). Ask an admin to link you as this trainee's supervisor.")
    if att["status"] == "draft":
        raise VignetteError("This attempt is still a draft; it can be graded once the trainee submits it.")
    _, rubric, result = _snapshot(db, att)
    grades = clean_grades(rubric, grades)
    missing = [c.title for c in rubric.criteria if isinstance(c, GradedCriterion) and c.id not in grades]
    if missing:
        raise GradeError(f"Choose a level for every criterion before saving; missing: {', '.join(missing)}.")
    new = apply_grades(result, rubric, grades)
    stored = {**att["auto_scores"], "result": new}
    now = now_iso()
    with transaction(db):
        db.conn.execute(
            """UPDATE vignette_attempts SET status = 'graded', grades = ?, auto_scores = ?, score = ?, passed = ?,
               grader_id = ?, graded_at = ?, updated_at = ? WHERE id = ?""",
            (json.dumps(grades), json.dumps(stored), new["score"], int(bool(new["passed"])), grader.id, now, now,
             attempt_id))
        audit(db, grader.id, "regrade_vignette_attempt" if att["status"] == "graded" else "grade_vignette_attempt",
              "vignette_attempt", attempt_id,
              {"trainee_id": att["trainee_id"], "levels": {k: v["level"] for k, v in grades.items()},
               "score": new["score"], "passed": new["passed"]})
    return new


def grading_queue(db: Database, user: User, include_graded: bool = False) -> list[dict]:
    """Submitted attempts this user may grade: supervisees' (admins: everyone's), oldest first."""
    if not user.has("supervisor", "admin"):
        return []
    statuses = ("submitted", "graded") if include_graded else ("submitted",)
    # who may be graded is decided in SQL and only the listed columns are read: the queue of a
    # training body with thousands of attempts must not parse every attempt's answers
    scope = "" if user.has("admin") else "AND a.trainee_id IN (SELECT trainee_id FROM supervision_links WHERE supervisor_id = :me)"
    found = rows(db, f"""SELECT a.id AS attempt_id, a.trainee_id, u.display_name AS trainee, a.vignette_id,
                                a.vignette_hash, a.status, a.submitted_at, a.score, g.display_name AS grader
                         FROM vignette_attempts a JOIN users u ON u.id = a.trainee_id
                         LEFT JOIN users g ON g.id = a.grader_id
                         WHERE a.status IN ({','.join(':s%d' % k for k in range(len(statuses)))}) AND a.trainee_id <> :me
                         {scope} ORDER BY a.submitted_at, a.id""",
                     {"me": user.id, **{f"s{k}": v for k, v in enumerate(statuses)}})
    titles = {r["hash"]: r["title"] for r in rows(
        db, "SELECT hash, json_extract(body, '$.title') AS title FROM content_versions WHERE kind = 'vignette'")}
    for r in found:
        r["status"] = STATUS_LABELS[r["status"]]
        r["vignette_title"] = titles.get(r.pop("vignette_hash"), r["vignette_id"])
    return found


def _attempts_of(db: Database, trainee_id: int, vignette_id: Optional[str] = None) -> list[dict]:
    sql = "SELECT * FROM vignette_attempts WHERE trainee_id = ?"
    params: tuple = (trainee_id,)
    if vignette_id is not None:
        sql += " AND vignette_id = ?"
        params += (vignette_id,)
    found = [_load(r) for r in rows(db, sql + " ORDER BY created_at, id", params)]
    counter: dict[str, int] = {}
    for att in found:
        counter[att["vignette_id"]] = counter.get(att["vignette_id"], 0) + 1
        att["number"] = counter[att["vignette_id"]]
    return found


def _title(att: dict, library: Library) -> str:
    if att.get("auto_scores"):
        return att["auto_scores"]["result"]["vignette_title"]
    v = library.vignettes.get(att["vignette_id"])
    return v.title if v else att["vignette_id"]


def attempts_for(db: Database, library: Library, user: User, trainee_id: int,
                 vignette_id: Optional[str] = None) -> list[dict]:
    """A summary row per attempt (no key), newest first, for lists of past attempts."""
    _check_can_read(db, user, trainee_id)
    out = []
    for att in _attempts_of(db, trainee_id, vignette_id):
        out.append({"attempt_id": att["id"], "vignette_id": att["vignette_id"], "title": _title(att, library),
                    "number": att["number"], "status": STATUS_LABELS[att["status"]],
                    "score": att["score"], "final": att["status"] == "graded",
                    "passed": None if att["passed"] is None else bool(att["passed"]),
                    "rubric_id": att["rubric_id"], "rubric_hash": att["rubric_hash"],
                    "submitted_at": att["submitted_at"], "graded_at": att["graded_at"],
                    "offered": att["vignette_id"] in library.vignettes})
    return list(reversed(out))


def _check_can_read(db: Database, user: User, trainee_id: int) -> None:
    if user.id == trainee_id or user.has("admin"):
        return
    if user.has("supervisor") and trainee_id in supervisee_ids(db, user.id):
        return
    raise AttemptAccessError("You may see only your own attempts (supervisors: their supervisees'; admins: all).")


def attempt_view_for(db: Database, library: Library, user: User, attempt_id: int) -> dict:
    """Everything a page needs to show one attempt to ``user``, and nothing they may not see.

    Trainees see only their own attempts; anyone else needs to supervise the trainee or be an
    admin. A draft's view has the revealed case stages and the answers, never the key: the
    key, rationales, model responses and score breakdown appear only once submitted, and are
    then read from the attempt's own snapshot, so they stay readable if the file is withdrawn.
    """
    att = get_attempt(db, attempt_id)
    if att is None:
        raise VignetteError(f"There is no attempt {attempt_id}; open one from your list of attempts.")
    _check_can_read(db, user, att["trainee_id"])
    number = next(a["number"] for a in _attempts_of(db, att["trainee_id"], att["vignette_id"]) if a["id"] == attempt_id)
    trainee = one(db, "SELECT display_name FROM users WHERE id = ?", (att["trainee_id"],))
    grader = one(db, "SELECT display_name FROM users WHERE id = ?", (att["grader_id"],)) if att["grader_id"] else None
    view = {"attempt_id": att["id"], "trainee_id": att["trainee_id"], "trainee": trainee["display_name"],
            "vignette_id": att["vignette_id"], "number": number, "status": att["status"],
            "status_label": STATUS_LABELS[att["status"]], "answers": att["answers"],
            "rubric_id": att["rubric_id"], "rubric_hash": att["rubric_hash"], "vignette_hash": att["vignette_hash"],
            "created_at": att["created_at"], "submitted_at": att["submitted_at"], "graded_at": att["graded_at"],
            "grader": grader["display_name"] if grader else None, "withdrawn": False,
            "case": None, "result": None, "key": None, "rubric": None, "graded_criteria": []}
    if att["status"] == "draft":
        v = library.vignettes.get(att["vignette_id"])
        if v is None or v.rubric not in library.rubrics:
            view["withdrawn"] = True
            view["title"] = att["vignette_id"]
            return view
        view["title"] = v.title
        view["case"] = public_case(v, att["stages_revealed"])
        view["answers"] = _drop_stale_moments(v, att["answers"])
        return view
    vignette, rubric, result = _snapshot(db, att)
    view["title"] = vignette.title
    view["withdrawn"] = att["vignette_id"] not in library.vignettes
    view["case"] = public_case(vignette, len(vignette.stages))
    view["result"] = result
    view["key"] = expert_key(vignette)
    view["rubric"] = {"id": rubric.id, "name": rubric.name, "version": rubric.version, "pass_mark": rubric.pass_mark}
    view["graded_criteria"] = [
        {"id": c.id, "title": c.title, "description": c.description, "applies_to": c.applies_to,
         "levels": [{"score": lv.score, "label": lv.label, "description": lv.description} for lv in c.levels],
         "grade": att["grades"].get(c.id)}
        for c in rubric.criteria if isinstance(c, GradedCriterion)]
    return view


# --- library, progress and recommendation ------------------------------------------------


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


def vignette_results(db: Database, trainee_id: int) -> list[VignetteResult]:
    """Submitted attempts as evidence for credential readiness: ``problem_area`` is the
    vignette's expert primary focus; an attempt is final once graded."""
    return vignette_results_many(db, [trainee_id])[int(trainee_id)]


def vignette_results_many(db: Database, trainee_ids: list[int]) -> dict[int, list[VignetteResult]]:
    """:func:`vignette_results` for many trainees in one query (reads no answer JSON)."""
    out: dict[int, list[VignetteResult]] = {int(t): [] for t in trainee_ids}
    for a in rows(db, """SELECT id, trainee_id, vignette_id, primary_area, score, passed, status, submitted_at
                         FROM vignette_attempts WHERE trainee_id IN (SELECT value FROM json_each(?))
                         AND status <> 'draft' ORDER BY created_at, id""", (json.dumps(sorted(out)),)):
        out[a["trainee_id"]].append(VignetteResult(
            attempt_id=str(a["id"]), vignette_id=a["vignette_id"], problem_area=a["primary_area"],
            score=a["score"] if a["score"] is not None else 0.0, passed=bool(a["passed"]),
            final=a["status"] == "graded", submitted_on=date.fromisoformat(a["submitted_at"][:10])))
    return out


def filter_options() -> dict[str, Any]:
    """Choices for the library's filters, in the field's words."""
    return {"population": POPULATIONS, "difficulty": {d: d for d in DIFFICULTIES},
            "status": {s: s for s in LIBRARY_STATUSES}, "area": PROBLEM_AREAS}
