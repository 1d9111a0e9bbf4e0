"""Demo vignette attempts, made through the real store functions so every score is a real score.

- ``trainee`` (Tara): a graded attempt that did not pass and its passing retake, a graded
  attempt with the supervisor's comments, one awaiting grading, and one draft in progress.
- ``trainee.ready`` (Rosa): final, passing attempts in all four problem areas (scores >= 0.75),
  so credential readiness can count vignette mastery.
- ``trainee.near`` (Nico): passing attempts in two areas, one awaiting grading, none in the fourth.

Vignettes are picked by their expert primary focus, so the loader follows the content as it
grows; an area with no valid vignette is skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from .. import auth
from ..content import GradedCriterion, Library, Vignette
from ..store import transaction
from ..vignettes import (
    commit_focus,
    focus_commit_stage,
    grade_attempt,
    reveal_next_stage,
    save_draft,
    start_attempt,
    submit_attempt,
)

FORMULATIONS = {
    "grief": ("From what you have told me, you have major depression, a common illness that can be treated. "
              "It began after {who} died, and there has been no room to grieve: you kept going for everyone else. "
              "I suggest that over our weekly sessions we talk about the person you lost and what happened, "
              "and then about finding your way back to the people around you. Does that fit?"),
    "role_dispute": ("You have major depression, which is an illness and treatable. It seems tied to a conflict "
                     "in which you and someone close to you expect different things and cannot talk it through. "
                     "I suggest we use our sessions to understand that disagreement and find ways to change it, "
                     "or decide what you want to do about it. How does that sound?"),
    "role_transition": ("What you describe is major depression, a medical illness that responds to treatment. "
                        "It started with a big change in your life: the old role is gone and the new one does not "
                        "feel like yours yet. I suggest we spend our sessions on what you lost, on what the new "
                        "situation offers, and on the skills and people that would help. Does that fit?"),
    "interpersonal_deficits": ("You have major depression, which is an illness, not a failing. It seems linked to "
                               "feeling cut off from people for a long time. I suggest our sessions focus on your "
                               "relationships: what has happened in them before, and how to build new ones, "
                               "practising here first. Does that sound useful?"),
}
RESPONSES = {
    "non_directive_exploration": "Tell me more about that. What has it been like for you?",
    "direct_elicitation": "When did that start, and who was there when it happened?",
    "encouragement_of_affect": "That sounds very painful. It is all right to feel that here; what is it like now, talking about it?",
    "clarification": "Let me check I have understood: you wanted one thing, and then something else got in the way?",
    "communication_analysis": "Take me through it word by word: what did you say, what did they say, and how did you feel?",
    "decision_analysis": "What could you do about it? Let's list the options and what each would mean for you.",
    "role_play": "Shall we try it here? I'll be them; say it to me the way you would like to.",
    "use_of_therapeutic_relationship": "I wonder if something similar is happening between us right now.",
    "directive_techniques": "It might help to plan one small step for this week.",
}


def _answers(v: Vignette, *, primary: Optional[str] = None, extra_area: Optional[str] = None,
             alternative_at: tuple[int, ...] = (), wrong_at: tuple[int, ...] = (), written: bool = True) -> dict:
    """Answers close to the key, with chosen slips: another primary focus, an extra area, an
    alternative or a wrong technique at some moments."""
    key_areas = [a.area for a in sorted(v.key.problem_areas, key=lambda a: a.rank)]
    areas = list(key_areas)
    if primary and primary not in areas:
        areas.insert(0, primary)
    elif primary:
        areas.remove(primary)
        areas.insert(0, primary)
    if extra_area and extra_area not in areas:
        areas.append(extra_area)
    moments = {}
    for n, m in enumerate(v.moments):
        mk = v.key.moments[m.id]
        tech = mk.techniques[0]
        if n in alternative_at and mk.alternatives:
            tech = mk.alternatives[0].technique
        if n in wrong_at:
            accepted = set(mk.techniques) | {a.technique for a in mk.alternatives}
            tech = next(t for t in RESPONSES if t not in accepted)
        moments[m.id] = {"technique": tech, "response": RESPONSES[tech] if written else ""}
    stage = next((a.dispute_stage for a in v.key.problem_areas if a.area == "role_dispute"), None)
    return {"areas": areas, "ranking": {a: i + 1 for i, a in enumerate(areas)},
            "dispute_stage": (stage or "renegotiation") if "role_dispute" in areas else None,
            "formulation": FORMULATIONS[areas[0]].format(who="someone close to you") if written else "",
            "moments": moments}


def _attempt(db, library, trainee, v: Vignette, answers: dict, days_ago: float, grader=None,
             levels: Optional[dict] = None, comments: Optional[dict] = None) -> int:
    att = start_attempt(db, library, trainee, v.id)
    commit_at = focus_commit_stage(v)
    for n in range(2, len(v.stages) + 1):
        if commit_at is not None and n == commit_at + 1:  # the focus is committed before the later stages
            save_draft(db, library, trainee, att["id"], answers)
            commit_focus(db, library, trainee, att["id"])
        reveal_next_stage(db, library, trainee, att["id"])
    save_draft(db, library, trainee, att["id"], answers)
    submit_attempt(db, library, trainee, att["id"])
    if grader is not None:
        # levels and comments are given per part graded (formulation / responses), so any rubric works
        rubric = library.rubrics[v.rubric]
        grades = {c.id: {"level": min(levels[c.applies_to], c.max_level), "comment": (comments or {}).get(c.applies_to, "")}
                  for c in rubric.criteria if isinstance(c, GradedCriterion)}
        grade_attempt(db, grader, att["id"], grades)
    _backdate(db, att["id"], days_ago, graded=grader is not None)
    return att["id"]


def _backdate(db, attempt_id: int, days_ago: float, graded: bool) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = (now - timedelta(days=days_ago, hours=1)).isoformat()
    sent = (now - timedelta(days=days_ago)).isoformat()
    done = (now - timedelta(days=max(days_ago - 2, 0.1))).isoformat() if graded else None
    with transaction(db):
        db.conn.execute("""UPDATE vignette_attempts SET created_at = ?, submitted_at = ?, updated_at = ?,
                           graded_at = CASE WHEN graded_at IS NULL THEN NULL ELSE ? END WHERE id = ?""",
                        (start, sent, done or sent, done, attempt_id))


def _by_area(library: Library) -> dict[str, list[Vignette]]:
    out: dict[str, list[Vignette]] = {}
    for v in sorted(library.vignettes.values(), key=lambda v: v.id):
        if v.rubric in library.rubrics:
            out.setdefault(v.primary_area, []).append(v)
    return out


def load(db, library: Library, ids: dict, cohort_id: int, data_dir) -> None:
    areas = _by_area(library)
    sup = auth.get_user(db, ids["supervisor"])
    first = {a: vs[0] for a, vs in areas.items()}

    def pick(area: str, n: int = 0) -> Optional[Vignette]:
        vs = areas.get(area, [])
        return vs[n] if len(vs) > n else (vs[0] if vs else None)

    # Tara: one graded that missed the focus and its retake, one graded with comments, one awaiting grading, one draft
    tara = auth.get_user(db, ids["trainee"])
    if v := first.get("interpersonal_deficits"):
        _attempt(db, library, tara, v, _answers(v, primary="role_transition", wrong_at=(1, 3)), 30, sup,
                 {"formulation": 1, "responses": 1},
                 {"formulation": "You tied the low mood to a recent change, but nothing in the case changed recently: "
                                 "the isolation is long-standing. Look again at the inventory.",
                  "responses": "Several responses give advice. Try asking for a specific recent exchange instead."})
    if v := first.get("interpersonal_deficits"):  # her retake, after the feedback
        _attempt(db, library, tara, v, _answers(v, alternative_at=(1,)), 24, sup, {"formulation": 2, "responses": 2},
                 {"formulation": "Much better: the long-standing isolation is now the focus.",
                  "responses": "Specific and open. Keep linking feelings to the people involved."})
    if v := first.get("grief"):
        _attempt(db, library, tara, v, _answers(v, extra_area="role_dispute", alternative_at=(1,), wrong_at=(3,)), 18,
                 sup, {"formulation": 2, "responses": 2},
                 {"formulation": "Good link between the death and the onset. Use her own words about her sister, and "
                                 "offer the focus as a shared plan.",
                  "responses": "Warm and open. At the last moment, acknowledge her worry about ending before planning."})
    if v := first.get("role_transition"):
        _attempt(db, library, tara, v, _answers(v, alternative_at=(0, 2)), 4)
    if v := first.get("role_dispute"):
        att = start_attempt(db, library, tara, v.id)
        reveal_next_stage(db, library, tara, att["id"])
        draft = _answers(v)
        revealed = {m.id for m in v.moments if m.stage in {s.id for s in v.stages[:2]}}
        draft["moments"] = {k: val for k, val in draft["moments"].items() if k in revealed}
        draft["formulation"] = ""
        save_draft(db, library, tara, att["id"], draft)

    # Rosa: final, passing attempts in every problem area
    rosa = auth.get_user(db, ids["trainee.ready"])
    for n, area in enumerate(["grief", "role_dispute", "role_transition", "interpersonal_deficits"]):
        if v := pick(area):
            _attempt(db, library, rosa, v, _answers(v, alternative_at=(2,) if n % 2 else ()), 60 - 12 * n, sup,
                     {"formulation": 3, "responses": 2 + n % 2},
                     {"formulation": "Clear, specific and offered as a shared plan.",
                      "responses": "Stays in the area and invites elaboration."})
    if v := pick("role_transition", 1):
        _attempt(db, library, rosa, v, _answers(v), 6, sup, {"formulation": 3, "responses": 3},
                 {"formulation": "Excellent.", "responses": "Excellent."})

    # Nico: passing in two areas, one awaiting grading, nothing yet in the fourth
    nico = auth.get_user(db, ids["trainee.near"])
    if v := pick("grief", 1):
        _attempt(db, library, nico, v, _answers(v, alternative_at=(0,)), 25, sup, {"formulation": 2, "responses": 2},
                 {"formulation": "Adequate; name the depression as an illness.", "responses": "Mostly open questions."})
    if v := pick("role_transition"):
        _attempt(db, library, nico, v, _answers(v, wrong_at=(1,)), 14, sup, {"formulation": 2, "responses": 2},
                 {"formulation": "Links onset to the change.", "responses": "One response drifts into advice."})
    if v := pick("role_dispute", 1):
        _attempt(db, library, nico, v, _answers(v, extra_area="role_transition"), 3)
