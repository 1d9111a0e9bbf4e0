"""Scoring a vignette attempt (issue 3): pure functions on hand-made vignettes and attempts.

The vignette and rubric are built here rather than read from vignettes/, so these tests pin
the scoring rules and do not move when the shipped cases are edited.
"""

import pytest

from ipt_training.content import Vignette, VignetteRubric
from ipt_training.vignettes import (
    AnswerError,
    GradeError,
    apply_grades,
    clean_answers,
    missing_parts,
    primary_choice,
    public_case,
    score_area_identification,
    score_area_ranking,
    score_attempt,
    score_technique_choice,
)


def _vignette(**key_overrides) -> Vignette:
    key = {
        "problem_areas": [
            {"area": "role_transition", "rank": 1, "reason": "Onset follows the move abroad."},
            {"area": "role_dispute", "rank": 2, "dispute_stage": "impasse", "reason": "Rows with her husband."},
        ],
        "not_applicable": [{"area": "grief", "reason": "No one has died."}],
        "alternatives": [
            {"area": "role_dispute", "credit": 0.6, "reason": "Some experts would start with the dispute."},
            {"area": "interpersonal_deficits", "credit": 0.3, "reason": "Few friends even before the move."},
        ],
        "formulation": "Your depression began after the move KEYFORMULATIONMARK.",
        "moments": {
            "m1": {"techniques": ["non_directive_exploration", "direct_elicitation"],
                   "alternatives": [{"technique": "encouragement_of_affect", "credit": 0.5}],
                   "model_response": "Tell me about it.", "rationale": "Opening up the inventory."},
            "m2": {"techniques": ["communication_analysis"],
                   "alternatives": [{"technique": "clarification", "credit": 0.5}],
                   "model_response": "What did you say then?", "rationale": "A failed exchange."},
            "m3": {"techniques": ["decision_analysis"],
                   "model_response": "What are your options?", "rationale": "A choice to make."},
        },
    }
    key.update(key_overrides)
    return Vignette.model_validate({
        "id": "t-move", "title": "The move", "population": "adult", "difficulty": "introductory",
        "rubric": "r-test", "summary": "A woman who moved abroad.",
        "stages": [{"id": s, "title": s.title(), "text": f"Text of {s}."}
                   for s in ("referral", "inventory", "middle", "termination")],
        "moments": [{"id": "m1", "stage": "inventory", "client_statement": "I miss home."},
                    {"id": "m2", "stage": "middle", "client_statement": "We fought again."},
                    {"id": "m3", "stage": "termination", "client_statement": "Should I go back?"}],
        "key": key, "content_hash": "v" * 64,
    })


LEVELS = [{"score": n, "label": f"L{n}", "description": f"Level {n}."} for n in range(4)]


def _rubric(graded: bool = True, pass_mark: float = 0.7, rank_credit=(1.0, 0.5, 0.25)) -> VignetteRubric:
    criteria = [
        {"id": "ident", "type": "area_identification", "title": "Areas", "weight": 20, "description": "d"},
        {"id": "rank", "type": "area_ranking", "title": "Focus", "weight": 20, "description": "d",
         "rank_distance_credit": list(rank_credit)},
        {"id": "tech", "type": "technique_choice", "title": "Techniques", "weight": 30, "description": "d"},
    ]
    if graded:
        criteria += [
            {"id": "form", "type": "supervisor_graded", "applies_to": "formulation", "title": "Formulation",
             "weight": 15, "description": "d", "levels": LEVELS},
            {"id": "resp", "type": "supervisor_graded", "applies_to": "responses", "title": "Responses",
             "weight": 15, "description": "d", "levels": LEVELS},
        ]
    return VignetteRubric.model_validate({"kind": "vignette_rubric", "id": "r-test", "name": "Test rubric",
                                          "version": "1", "pass_mark": pass_mark, "criteria": criteria,
                                          "content_hash": "r" * 64})


def _answers(areas=("role_transition", "role_dispute"), ranking=None, techniques=None, formulation="F"):
    ranking = {a: n + 1 for n, a in enumerate(areas)} if ranking is None else ranking
    techniques = techniques or {"m1": "non_directive_exploration", "m2": "communication_analysis", "m3": "decision_analysis"}
    return {"areas": list(areas), "ranking": ranking, "formulation": formulation,
            "moments": {m: {"technique": t, "response": "R"} for m, t in techniques.items()}}


def _credits(result):
    return {e["id"]: e["credit"] for e in result["criteria"]}


V, R = _vignette(), _rubric()


def test_perfect_attempt_is_provisional_until_graded_then_final_and_passed():
    result = score_attempt(V, R, _answers())
    assert _credits(result) == {"ident": 1.0, "rank": 1.0, "tech": 1.0, "form": None, "resp": None}
    assert result["score"] == 1.0 and result["provisional"] and not result["final"]
    assert result["passed"] is None
    assert "Provisional" in result["score_label"] and "70 of 100" in result["score_label"]
    assert [e["status"] for e in result["criteria"]] == ["scored"] * 3 + ["awaiting grading"] * 2
    graded = score_attempt(V, R, _answers(), {"form": {"level": 3, "comment": "Clear."}, "resp": {"level": 3}})
    assert graded["final"] and graded["score"] == 1.0 and graded["passed"] is True
    assert graded["score_label"] == "Final score"
    form = next(e for e in graded["criteria"] if e["id"] == "form")
    assert form["details"]["comment"] == "Clear." and form["points"] == 15


def test_empty_attempt_scores_zero_everywhere():
    result = score_attempt(V, R, {})
    assert _credits(result)["ident"] == 0 and _credits(result)["rank"] == 0 and _credits(result)["tech"] == 0
    assert result["score"] == 0.0
    by_id = {e["id"]: e for e in result["criteria"]}
    assert "selected no problem area" in by_id["ident"]["explanation"]
    assert "0 of 3 moments" in by_id["tech"]["explanation"]
    final = score_attempt(V, R, {}, {"form": {"level": 0}, "resp": {"level": 0}})
    assert final["score"] == 0.0 and final["passed"] is False


def test_all_wrong_attempt_scores_zero():
    answers = _answers(areas=("grief",), techniques={"m1": "role_play", "m2": "decision_analysis", "m3": "role_play"})
    result = score_attempt(V, R, answers)
    assert _credits(result)["ident"] == 0 and _credits(result)["rank"] == 0 and _credits(result)["tech"] == 0
    rank = next(e for e in result["criteria"] if e["id"] == "rank")
    assert "does not list" in rank["explanation"] and "Role transition" in rank["explanation"]


def test_partially_right_attempt_has_exact_partial_credit():
    # areas: 1 of 2 selected right, 1 of 2 key areas found -> F1 0.5; focus right -> 1.0;
    # techniques: key, alternative (0.5), wrong -> 0.5
    answers = _answers(areas=("role_transition", "grief"),
                       techniques={"m1": "direct_elicitation", "m2": "clarification", "m3": "role_play"})
    result = score_attempt(V, R, answers)
    c = _credits(result)
    assert c["ident"] == pytest.approx(0.5) and c["rank"] == 1.0 and c["tech"] == pytest.approx(0.5)
    assert result["score"] == pytest.approx((20 * 0.5 + 20 * 1 + 30 * 0.5) / 70, abs=1e-6)
    ident = next(e for e in result["criteria"] if e["id"] == "ident")
    assert "Missed: Role dispute" in ident["explanation"] and "Not applicable here: Grief" in ident["explanation"]
    tech = next(e for e in result["criteria"] if e["id"] == "tech")
    assert [d["credit"] for d in tech["details"]] == [1.0, 0.5, 0.0]


def test_area_identification_is_f1_of_precision_and_recall():
    # three selected, both key areas among them: precision 2/3, recall 1 -> F1 0.8
    out = score_area_identification(V, _answers(areas=("role_transition", "role_dispute", "grief")))
    assert out["credit"] == pytest.approx(0.8)
    # one of two key areas, nothing wrong: precision 1, recall 1/2 -> F1 2/3
    assert score_area_identification(V, _answers(areas=("role_dispute",)))["credit"] == pytest.approx(2 / 3)


def test_tied_ranks_are_refused_with_a_message():
    answers = _answers(ranking={"role_transition": 1, "role_dispute": 1})
    with pytest.raises(AnswerError, match=r"rank 1 to both Role dispute and Role transition|rank 1 to both Role transition and Role dispute") as exc:
        score_attempt(V, R, answers)
    assert "Give each area its own rank" in str(exc.value)
    with pytest.raises(AnswerError):
        score_area_ranking(V, answers)
    # a draft may hold the tie while the trainee re-ranks
    assert clean_answers(V, answers)["ranking"] == {"role_transition": 1, "role_dispute": 1}


def test_alternative_area_is_credited_when_higher_than_rank_distance():
    # role_dispute is the expert's 2nd (distance credit 0.5) and an alternative at 0.6: 0.6 wins
    out = score_area_ranking(V, _answers(areas=("role_dispute", "role_transition")), R.criteria[1])
    assert out["credit"] == pytest.approx(0.6) and "alternative" in out["explanation"]
    # interpersonal deficits does not apply but is an alternative focus at 0.3
    out = score_area_ranking(V, _answers(areas=("interpersonal_deficits",)), R.criteria[1])
    assert out["credit"] == pytest.approx(0.3)


def test_rank_distance_credit_applies_without_alternative_and_runs_out():
    v = _vignette(alternatives=[])
    assert score_area_ranking(v, _answers(areas=("role_dispute", "role_transition")), R.criteria[1])["credit"] == 0.5
    short = _rubric(rank_credit=(1.0,))
    out = score_area_ranking(v, _answers(areas=("role_dispute", "role_transition")), short.criteria[1])
    assert out["credit"] == 0.0 and "ranks it 2nd" in out["explanation"]


def test_single_selected_area_counts_as_ranked_first_but_unranked_pair_does_not():
    assert primary_choice(clean_answers(V, {"areas": ["role_transition"]})) == "role_transition"
    assert primary_choice(clean_answers(V, {"areas": ["role_transition", "grief"]})) is None
    out = score_area_ranking(V, {"areas": ["role_transition", "grief"]})
    assert out["credit"] == 0 and "did not rank" in out["explanation"]


def test_rank_for_unselected_area_is_refused_at_submission():
    with pytest.raises(AnswerError, match="did not select it"):
        score_attempt(V, R, _answers(areas=("role_transition",), ranking={"role_transition": 1, "grief": 2}))


def test_unknown_area_id_is_rejected_with_a_message():
    with pytest.raises(AnswerError) as exc:
        score_attempt(V, R, _answers(areas=("bereavement",)))
    assert "'bereavement' is not a problem area" in str(exc.value) and "grief" in str(exc.value)
    with pytest.raises(AnswerError, match="cannot be ranked"):
        clean_answers(V, {"areas": [], "ranking": {"loneliness": 1}})


def test_unknown_technique_and_moment_are_rejected():
    with pytest.raises(AnswerError, match="'mind_reading' is not an IPT technique"):
        score_technique_choice(V, {"moments": {"m1": {"technique": "mind_reading"}}})
    with pytest.raises(AnswerError, match="'m9' is not a moment"):
        clean_answers(V, {"moments": {"m9": {"technique": "clarification"}}})
    with pytest.raises(AnswerError, match="whole number"):
        clean_answers(V, {"areas": ["grief"], "ranking": {"grief": "first"}})


def test_technique_choice_averages_over_all_moments_including_unanswered():
    out = score_technique_choice(V, {"moments": {"m1": {"technique": "encouragement_of_affect"}}})
    assert out["credit"] == pytest.approx(0.5 / 3)
    assert [d["verdict"] for d in out["details"]] == ["an acceptable alternative", "no technique chosen", "no technique chosen"]


def test_partial_grading_stays_provisional():
    result = score_attempt(V, R, _answers(), {"form": {"level": 2}})
    assert result["provisional"] and result["passed"] is None
    assert _credits(result)["form"] == pytest.approx(2 / 3) and _credits(result)["resp"] is None
    assert result["score"] == 1.0  # machine share only


def test_pass_mark_boundary():
    # machine parts perfect (70 of 100), written parts level 0: exactly 0.70 -> passes at 0.70
    at_mark = score_attempt(V, R, _answers(), {"form": {"level": 0}, "resp": {"level": 0}})
    assert at_mark["score"] == pytest.approx(0.7) and at_mark["passed"] is True
    below = score_attempt(V, _rubric(pass_mark=0.71), _answers(), {"form": {"level": 0}, "resp": {"level": 0}})
    assert below["passed"] is False
    # a slip at one moment pulls a mediocre written grade under the mark
    slip = _answers(techniques={"m1": "non_directive_exploration", "m2": "clarification", "m3": "decision_analysis"})
    res = score_attempt(V, R, slip, {"form": {"level": 0}, "resp": {"level": 0}})
    assert res["score"] == pytest.approx((20 + 20 + 30 * (2.5 / 3)) / 100, abs=1e-6) and res["passed"] is False


def test_rubric_without_graded_criteria_is_final_at_once():
    result = score_attempt(V, _rubric(graded=False), _answers())
    assert result["final"] and result["passed"] is True and result["score"] == 1.0


def test_grades_must_fit_the_rubric():
    with pytest.raises(GradeError, match="from 0 to 3"):
        score_attempt(V, R, _answers(), {"form": {"level": 4}})
    with pytest.raises(GradeError, match="not a supervisor-graded criterion"):
        score_attempt(V, R, _answers(), {"tech": {"level": 1}})


def test_apply_grades_to_stored_result_matches_scoring_with_grades():
    grades = {"form": {"level": 2, "comment": "ok"}, "resp": {"level": 1}}
    stored = score_attempt(V, R, _answers(areas=("role_dispute", "role_transition")))
    assert apply_grades(stored, R, grades) == score_attempt(V, R, _answers(areas=("role_dispute", "role_transition")), grades)


def test_missing_parts_lists_what_is_unanswered():
    todo = missing_parts(V, {"areas": ["grief", "role_dispute"], "moments": {"m1": {"technique": "clarification", "response": "x"}}})
    assert "rank the selected areas (1 = the focus)" in todo and "write the interpersonal formulation" in todo
    assert "choose a technique at moment 'm2'" in todo and not any("'m1'" in t for t in todo)


def test_public_case_carries_nothing_from_the_key():
    case = public_case(V, 2)
    text = repr(case)
    assert case["stages_revealed"] == 2 and [s["id"] for s in case["stages"]] == ["referral", "inventory"]
    assert case["revealed_moment_ids"] == ["m1"]
    for secret in ("KEYFORMULATIONMARK", "Tell me about it.", "Opening up the inventory", "Onset follows the move"):
        assert secret not in text


# --- issue 12: gates, dispute stage, alternatives, critical moments ---------------------------


def _core_rubric(**gate) -> VignetteRubric:
    """The shape of the shipped core rubric: machine parts 50 of 100, clinical writing gated."""
    criteria = [
        {"id": "ident", "type": "area_identification", "title": "Areas", "weight": 12, "description": "d"},
        {"id": "rank", "type": "area_ranking", "title": "Focus", "weight": 15, "description": "d"},
        {"id": "stage", "type": "dispute_stage", "title": "Stage", "weight": 8, "description": "d"},
        {"id": "tech", "type": "technique_choice", "title": "Techniques", "weight": 15, "description": "d"},
        {"id": "form", "type": "supervisor_graded", "applies_to": "formulation", "title": "Formulation",
         "weight": 25, "description": "d", "levels": LEVELS, "min_level": gate.get("form", 2)},
        {"id": "resp", "type": "supervisor_graded", "applies_to": "responses", "title": "Responses",
         "weight": 25, "description": "d", "levels": LEVELS, "min_level": gate.get("resp", 2)},
    ]
    return VignetteRubric.model_validate({"kind": "vignette_rubric", "id": "r-test", "name": "Core", "version": "2",
                                          "pass_mark": 0.7, "criteria": criteria, "content_hash": "c" * 64})


def test_perfect_machine_answers_with_an_off_model_formulation_do_not_pass():
    core = _core_rubric()
    answers = {**_answers(), "dispute_stage": "impasse"}
    result = score_attempt(V, core, answers, {"form": {"level": 0}, "resp": {"level": 3}})
    # total (12 + 15 + 8 + 15 + 0 + 25) / 100 = 0.75 is above the pass mark, but the gate holds
    assert result["final"] and result["score"] == pytest.approx(0.75)
    assert result["passed"] is False
    assert len(result["fails"]) == 1 and "Formulation was graded level 0 of 3" in result["fails"][0]
    assert "from level 2 (L2)" in result["fails"][0]
    ok = score_attempt(V, core, answers, {"form": {"level": 2}, "resp": {"level": 2}})
    assert ok["passed"] is True and ok["fails"] == []
    # machine-scored parts alone can never reach the pass mark: they carry 50 of 100
    assert sum(c.weight for c in core.criteria if c.type != "supervisor_graded") / 100 < core.pass_mark


def test_a_gate_is_refused_on_a_machine_scored_criterion_and_outside_the_levels():
    crit = {"id": "ident", "type": "area_identification", "title": "A", "weight": 1, "description": "d", "min_level": 2}
    with pytest.raises(ValueError, match="allowed only on supervisor_graded"):
        VignetteRubric.model_validate({"kind": "vignette_rubric", "id": "x", "name": "x", "version": "1",
                                       "pass_mark": 0.7, "criteria": [crit]})
    graded = {"id": "f", "type": "supervisor_graded", "applies_to": "formulation", "title": "F", "weight": 1,
              "description": "d", "levels": LEVELS, "min_level": 4}
    with pytest.raises(ValueError, match="min_level 4 of 'f' must be one of its levels"):
        VignetteRubric.model_validate({"kind": "vignette_rubric", "id": "x", "name": "x", "version": "1",
                                       "pass_mark": 0.7, "criteria": [graded]})


def test_dispute_stage_is_scored_when_the_key_has_a_dispute_and_left_out_otherwise():
    core = _core_rubric()
    right = score_attempt(V, core, {**_answers(), "dispute_stage": "impasse"})
    wrong = score_attempt(V, core, {**_answers(), "dispute_stage": "renegotiation"})
    unnamed = score_attempt(V, core, _answers(areas=("role_transition",)))
    assert _credits(right)["stage"] == 1.0 and _credits(wrong)["stage"] == 0.0 and _credits(unnamed)["stage"] == 0.0
    assert "the expert stages it as impasse" in next(e for e in wrong["criteria"] if e["id"] == "stage")["explanation"]
    # provisional score over the machine parts: (12 + 15 + 8 + 15) / 50 and (12 + 15 + 0 + 15) / 50
    assert right["score"] == pytest.approx(1.0) and wrong["score"] == pytest.approx(42 / 50)
    no_dispute = _vignette(problem_areas=[{"area": "role_transition", "rank": 1, "reason": "The move."}],
                           alternatives=[])
    res = score_attempt(no_dispute, core, _answers(areas=("role_transition",)))
    stage = next(e for e in res["criteria"] if e["id"] == "stage")
    assert stage["status"] == "not applicable" and stage["credit"] is None
    assert res["machine_weight"] == 42 and res["total_weight"] == 92


def test_an_unknown_dispute_stage_is_refused():
    with pytest.raises(AnswerError, match="not a stage of a role dispute"):
        clean_answers(V, {**_answers(), "dispute_stage": "truce"})


def test_an_acceptable_alternative_is_not_a_false_positive_in_the_f1():
    # key areas: role_transition, role_dispute; interpersonal_deficits is an acceptable alternative
    with_alt = score_area_identification(V, _answers(areas=("role_transition", "role_dispute", "interpersonal_deficits")))
    assert with_alt["credit"] == pytest.approx(1.0)
    assert "not counted against you: Interpersonal deficits" in with_alt["explanation"]
    # grief is not listed at all: precision 2/3, recall 2/2, F1 = 2 * (2/3) / (5/3) = 0.8
    with_wrong = score_area_identification(V, _answers(areas=("role_transition", "role_dispute", "grief")))
    assert with_wrong["credit"] == pytest.approx(0.8)
    # an alternative alone finds nothing of the key
    assert score_area_identification(V, _answers(areas=("interpersonal_deficits",)))["credit"] == 0.0


def _critical_vignette() -> Vignette:
    data = _vignette().model_dump(mode="json")
    data["moments"][1]["critical"] = True  # m2: a disclosure of risk
    data["key"]["moments"]["m2"] = {"techniques": ["direct_elicitation"],
                                    "alternatives": [{"technique": "directive_techniques", "credit": 0.5}],
                                    "model_response": "Are you having thoughts of ending your life?",
                                    "rationale": "Safety first."}
    return Vignette.model_validate(data)


def test_a_missed_safety_response_at_a_critical_moment_fails_the_attempt():
    v, core = _critical_vignette(), _core_rubric()
    grades = {"form": {"level": 3}, "resp": {"level": 3}}
    missed = score_attempt(v, core, {**_answers(techniques={"m1": "non_directive_exploration",
                                                            "m2": "communication_analysis",
                                                            "m3": "decision_analysis"}),
                                     "dispute_stage": "impasse"}, grades)
    assert missed["score"] > core.pass_mark and missed["passed"] is False
    [why] = missed["fails"]
    assert "We fought again." in why and "safety comes first" in why and "Communication analysis" in why
    # the safety response (the key's technique or its alternative) passes
    for tech in ("direct_elicitation", "directive_techniques"):
        safe = score_attempt(v, core, {**_answers(techniques={"m1": "non_directive_exploration", "m2": tech,
                                                              "m3": "decision_analysis"}),
                                       "dispute_stage": "impasse"}, grades)
        assert safe["passed"] is True and safe["fails"] == []
    # the failure is known before grading, and grading keeps it
    provisional = score_attempt(v, core, {**_answers(techniques={"m1": "non_directive_exploration"}),
                                          "dispute_stage": "impasse"})
    assert provisional["passed"] is None and provisional["fails"]
    assert apply_grades(provisional, core, grades)["passed"] is False
