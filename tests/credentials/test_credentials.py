"""Tests for the credential readiness engine and the shipped credential standards."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from ipt_training.content import CredentialStandard, load_file, load_library
from ipt_training.credentials import (
    AttestationEntry,
    CaseReportEntry,
    ClinicalCase,
    ClinicalHours,
    Evidence,
    HeldCredential,
    RatedSession,
    SessionDraw,
    SupervisionSession,
    TrainingEvent,
    VignetteResult,
    evaluate,
    format_missing,
    readiness_to_dict,
    status_label,
)

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2025, 6, 1)
D = date(2025, 1, 10)
INSTR = "ipt-session-fidelity"


# --- builders ----------------------------------------------------------------------------


def std(*reqs: dict, id: str = "test-standard") -> CredentialStandard:
    return CredentialStandard.model_validate({
        "kind": "credential_standard", "id": id, "name": "Test", "version": "1",
        "issuing_body": "Test body", "certifies": "therapist", "validity_months": 36,
        "description": "A test standard.",
        "requirements": [{"id": r["type"].replace("_", "-"), "description": f"about {r['type']}", **r} for r in reqs],
    })


def one(standard: CredentialStandard, ev: Evidence, **kw):
    """Evaluate a one-requirement standard and return its single result."""
    r = evaluate(standard, ev, TODAY, **kw)
    assert r.total == 1
    return r.requirements[0]


def training(i, hours, confirmed=True, day=D):
    return TrainingEvent(f"t{i}", day, hours, f"Course {i}", "Dr Trainer", confirmed)


def clinical(i, hours, confirmed=True, day=D):
    return ClinicalHours(f"h{i}", day, hours, confirmed)


def supervision(i, hours, case_id=None, confirmed=True, day=D):
    return SupervisionSession(f"s{i}", day, hours, "Dr Super", case_id, confirmed)


def case(cid, n_sessions=12, confirmed=True, scores=(), area="role_dispute", pseudonym=None):
    return ClinicalCase(cid, pseudonym or f"P-{cid}", area, D, None, n_sessions, confirmed, tuple(scores))


def rating(rid, case_id=None, phase="middle", mean=3.5, passed=True, certified=True,
           instrument=INSTR, pseudonym="", day=D):
    return RatedSession(rid, case_id, pseudonym or (f"P-{case_id}" if case_id else ""), phase, instrument,
                        certified, mean, passed, day)


def phases_for(cid, certified=True, phases=("initial", "middle", "termination")):
    return [rating(f"{cid}-{p}", case_id=cid, phase=p, certified=certified) for p in phases]


def vig(aid, area, score, passed=True, final=True):
    return VignetteResult(aid, f"v-{aid}", area, score, passed, final, D)


def phq(sessions, measure="PHQ-9"):
    return [(s, measure, 10.0) for s in sessions]


# --- training_hours ----------------------------------------------------------------------

TRAINING = std({"type": "training_hours", "min_hours": 16})


def test_training_hours_no_evidence():
    r = one(TRAINING, Evidence())
    assert not r.met and r.progress == 0 and r.current == "0 of 16 hours"
    assert r.missing and "16 more hours" in r.missing[0]


def test_training_hours_exactly_at_threshold_is_met():
    r = one(TRAINING, Evidence(training_events=(training(1, 8), training(2, 8))))
    assert r.met and r.progress == 1.0 and r.missing == []
    assert r.current == "16 of 16 hours"
    assert [e.id for e in r.evidence] == ["t1", "t2"]


def test_training_hours_just_below():
    r = one(TRAINING, Evidence(training_events=(training(1, 8), training(2, 7.5))))
    assert not r.met and 0.9 < r.progress < 1
    assert r.current == "15.5 of 16 hours"
    assert "0.5 more hour" in r.missing[0]


def test_training_hours_unconfirmed_not_counted():
    r = one(TRAINING, Evidence(training_events=(training(1, 12), training(2, 4, confirmed=False))))
    assert not r.met and r.current == "12 of 16 hours"
    assert [(n.id, n.reason) for n in r.not_counted] == [("t2", "unconfirmed by supervisor")]
    assert any("4 hours logged but not yet confirmed" in m for m in r.missing)


def test_training_hours_future_dated_not_counted():
    r = one(TRAINING, Evidence(training_events=(training(1, 16, day=date(2025, 7, 1)),)))
    assert not r.met and r.not_counted[0].reason == "dated after today"


# --- supervised_clinical_hours -----------------------------------------------------------

CLINICAL = std({"type": "supervised_clinical_hours", "min_hours": 150})


def test_clinical_hours_thresholds():
    assert not one(CLINICAL, Evidence()).met
    assert one(CLINICAL, Evidence(clinical_hours=(clinical(1, 100), clinical(2, 50)))).met
    below = one(CLINICAL, Evidence(clinical_hours=(clinical(1, 100), clinical(2, 49))))
    assert not below.met and below.current == "149 of 150 hours" and "1 more hour " in below.missing[0]


def test_clinical_hours_unconfirmed_not_counted():
    r = one(CLINICAL, Evidence(clinical_hours=(clinical(1, 150, confirmed=False),)))
    assert not r.met and r.progress == 0
    assert r.not_counted[0].reason == "unconfirmed by supervisor"


# --- supervision_hours -------------------------------------------------------------------

SUPERVISION = std({"type": "supervision_hours", "min_hours": 10})


def test_supervision_hours_thresholds_and_unconfirmed():
    assert not one(SUPERVISION, Evidence()).met
    assert one(SUPERVISION, Evidence(supervision=tuple(supervision(i, 1) for i in range(10)))).met
    r = one(SUPERVISION, Evidence(supervision=tuple(supervision(i, 1) for i in range(9)) + (supervision(9, 1, confirmed=False),)))
    assert not r.met and r.current == "9 of 10 hours"
    assert r.not_counted[0].id == "s9" and r.not_counted[0].reason == "unconfirmed by supervisor"


def test_supervision_hours_per_case_uses_min_cases_of_the_standard():
    s = std({"type": "supervision_hours", "min_hours": 2, "per_case": True},
            {"type": "supervised_cases", "min_cases": 2})
    ev = Evidence(cases=(case("a"), case("b")),
                  supervision=(supervision(1, 2, "a"), supervision(2, 1, "b"), supervision(3, 5)))
    r = evaluate(s, ev, TODAY).requirements[0]
    assert not r.met and r.current.startswith("1 of 2 cases")
    assert any("P-b" in m and "1 more hour" in m for m in r.missing)
    assert any(n.id == "s3" and "not linked" in n.reason for n in r.not_counted)
    ev2 = Evidence(cases=ev.cases, supervision=ev.supervision + (supervision(4, 1, "b"),))
    assert evaluate(s, ev2, TODAY).requirements[0].met


# --- supervised_cases --------------------------------------------------------------------

CASES = std({"type": "supervised_cases", "min_cases": 3, "min_sessions_per_case": 8,
             "phases_rated": ["initial", "middle", "termination"]})


def _three_cases():
    cases = [case("a", 12), case("b", 8), case("c", 16)]
    ratings = phases_for("a") + phases_for("b") + phases_for("c")
    return cases, ratings


def test_supervised_cases_no_evidence():
    r = one(CASES, Evidence())
    assert not r.met and r.progress == 0 and r.current == "0 of 3 cases"
    assert "3 more supervised cases" in r.missing[0] and "termination-phase" in r.missing[0]


def test_supervised_cases_exactly_at_threshold_is_met():
    cases, ratings = _three_cases()  # case b has exactly 8 sessions
    r = one(CASES, Evidence(cases=tuple(cases), rated_sessions=tuple(ratings)))
    assert r.met and r.current == "3 of 3 cases"
    assert {e.id for e in r.evidence if e.kind == "case"} == {"a", "b", "c"}


def test_supervised_cases_one_session_short():
    cases, ratings = _three_cases()
    cases[1] = case("b", 7)
    r = one(CASES, Evidence(cases=tuple(cases), rated_sessions=tuple(ratings)))
    assert not r.met and r.current == "2 of 3 cases" and 0.9 < r.progress < 1
    assert r.missing == ["1 more supervised case: case 'P-b' needs 1 more session (7 of 8)"]


def test_supervised_cases_missing_phase_is_named():
    cases, ratings = _three_cases()
    ratings = [x for x in ratings if x.id != "c-termination"]
    r = one(CASES, Evidence(cases=tuple(cases), rated_sessions=tuple(ratings)))
    assert not r.met
    assert len(r.missing) == 1 and "termination-phase" in r.missing[0] and "P-c" in r.missing[0]
    assert "initial" not in r.missing[0]
    assert any(n.id == "c" and "termination-phase" in n.reason for n in r.not_counted)


def test_supervised_cases_unconfirmed_case_not_counted():
    cases, ratings = _three_cases()
    cases[2] = case("c", 16, confirmed=False)
    r = one(CASES, Evidence(cases=tuple(cases), rated_sessions=tuple(ratings)))
    assert not r.met and r.progress == pytest.approx(2 / 3, abs=1e-3)
    assert any(n.id == "c" and n.reason == "unconfirmed by supervisor" for n in r.not_counted)
    assert "confirmation by your supervisor" in r.missing[0]


def test_supervised_cases_uncertified_ratings_do_not_cover_phases_unless_allowed():
    cases, ratings = _three_cases()
    ratings = phases_for("a") + phases_for("b") + phases_for("c", certified=False)
    ev = Evidence(cases=tuple(cases), rated_sessions=tuple(ratings))
    r = one(CASES, ev)
    assert not r.met
    assert any(n.kind == "rated_session" and n.reason == "rated by an uncertified rater" for n in r.not_counted)
    assert one(CASES, ev, count_uncertified_ratings=True).met


def test_supervised_cases_link_by_pseudonym_and_phase_aliases():
    s = std({"type": "supervised_cases", "min_cases": 1, "phases_rated": ["initial", "termination"]})
    ev = Evidence(cases=(case("x", pseudonym="Ms K"),),
                  rated_sessions=(rating("r1", pseudonym="ms k", phase="early"),
                                  rating("r2", pseudonym="Ms K", phase="late")))
    assert one(s, ev).met


# --- rated_sessions ----------------------------------------------------------------------

RATED = std({"type": "rated_sessions", "instrument": INSTR, "min_sessions": 3, "min_mean": 3.0})


def test_rated_sessions_no_evidence():
    r = one(RATED, Evidence())
    assert not r.met and r.progress == 0
    assert "3 more recorded sessions" in r.missing[0] and "IPT session fidelity" in r.missing[0]  # an instrument not in Evidence.names: its id humanized


def test_rated_sessions_exactly_at_threshold_is_met():
    ev = Evidence(rated_sessions=tuple(rating(f"r{i}", mean=3.0) for i in range(3)))
    r = one(RATED, ev)
    assert r.met and r.current.startswith("3 of 3 sessions, mean 3.00")


def test_rated_sessions_just_below():
    r = one(RATED, Evidence(rated_sessions=tuple(rating(f"r{i}") for i in range(2))))
    assert not r.met and r.missing == [
        f"1 more recorded session rated on IPT session fidelity by certified raters and reaching the pass mark"]


def test_rated_sessions_uncertified_rater_not_counted_unless_allowed():
    ev = Evidence(rated_sessions=(rating("r1"), rating("r2"), rating("r3", certified=False)))
    r = one(RATED, ev)
    assert not r.met
    assert [(n.id, n.reason) for n in r.not_counted] == [("r3", "rated by an uncertified rater")]
    assert one(RATED, ev, count_uncertified_ratings=True).met
    lenient = std({"type": "rated_sessions", "instrument": INSTR, "min_sessions": 3, "certified_raters_only": False})
    assert one(lenient, ev).met


def test_rated_sessions_failed_and_other_instrument_not_counted():
    ev = Evidence(rated_sessions=(rating("r1"), rating("r2"), rating("r3", mean=2.4, passed=False),
                                  rating("r4", instrument="other-scale")))
    r = one(RATED, ev)
    assert not r.met and r.current.startswith("2 of 3")
    assert [n.id for n in r.not_counted] == ["r3"] and "pass mark" in r.not_counted[0].reason


def test_rated_sessions_min_mean_not_reached():
    s = std({"type": "rated_sessions", "instrument": INSTR, "min_sessions": 2, "min_mean": 3.5})
    r = one(s, Evidence(rated_sessions=(rating("r1", mean=3.0), rating("r2", mean=3.6))))
    assert not r.met and any("at least 3.50 (now 3.30)" in m for m in r.missing)


def test_rated_sessions_double_rated_session_counts_once():
    ev = Evidence(rated_sessions=(rating("r1", mean=3.0), rating("r1", mean=4.0), rating("r2")))
    r = one(std({"type": "rated_sessions", "instrument": INSTR, "min_sessions": 3}), ev)
    assert not r.met and r.current.startswith("2 of 3")


# --- vignette_mastery --------------------------------------------------------------------

MASTERY = std({"type": "vignette_mastery", "areas": ["grief", "role_dispute"],
               "min_attempts_per_area": 2, "min_mean_score": 0.7})


def test_vignette_mastery_no_evidence():
    r = one(MASTERY, Evidence())
    assert not r.met and r.progress == 0 and r.current == "0 of 2 problem areas"
    assert any(m.startswith("Grief") and "2 more graded vignette attempts" in m for m in r.missing)


def test_vignette_mastery_exactly_at_threshold_is_met():
    ev = Evidence(vignette_results=(vig(1, "grief", 0.7), vig(2, "grief", 0.7),
                                    vig(3, "role_dispute", 0.9), vig(4, "role_dispute", 0.5, passed=False)))
    assert one(MASTERY, ev).met


def test_vignette_mastery_just_below_mean():
    ev = Evidence(vignette_results=(vig(1, "grief", 0.7), vig(2, "grief", 0.68),
                                    vig(3, "role_dispute", 0.9), vig(4, "role_dispute", 0.9)))
    r = one(MASTERY, ev)
    assert not r.met and r.current == "1 of 2 problem areas"
    assert r.missing == ["Grief (complicated bereavement): raise your mean score to at least 70 % (now 69 %)"]


def test_vignette_mastery_only_final_results_count():
    # attempt ids arrive as integers from the store; evidence refs carry them as strings
    ev = Evidence(vignette_results=(vig(1, "grief", 0.9), vig(2, "grief", 0.9, final=False)))
    r = one(std({"type": "vignette_mastery", "areas": ["grief"], "min_attempts_per_area": 2}), ev)
    assert not r.met and [n.id for n in r.not_counted] == ["2"] and "not final" in r.not_counted[0].reason


def test_vignette_mastery_pass_rate():
    s = std({"type": "vignette_mastery", "areas": ["role_transition"], "min_pass_rate": 0.8})
    ev = Evidence(vignette_results=(vig(1, "role_transition", 0.9), vig(2, "role_transition", 0.4, passed=False)))
    r = one(s, ev)
    assert not r.met and "pass rate to at least 80 % (now 50 %)" in r.missing[0]


# --- outcome_monitoring ------------------------------------------------------------------

OUTCOME = std({"type": "outcome_monitoring", "measure": "PHQ-9", "every_n_sessions": 4})


def test_outcome_monitoring_no_cases():
    r = one(OUTCOME, Evidence())
    assert not r.met and r.progress == 0 and "PHQ-9" in r.missing[0]


def test_outcome_monitoring_exactly_every_n_sessions_is_met():
    ev = Evidence(cases=(case("a", 16, scores=phq([1, 5, 9, 13])), case("b", 12, scores=phq([4, 8, 12], "phq9"))))
    r = one(OUTCOME, ev)
    assert r.met and r.current == "2 of 2 cases with PHQ-9 every 4 sessions"


def test_outcome_monitoring_gap_names_case_and_sessions():
    ev = Evidence(cases=(case("a", 16, scores=phq([1, 5, 10, 13])), case("b", 12, scores=phq([1, 5, 9]))))
    r = one(OUTCOME, ev)
    assert not r.met and r.progress == 0.5
    assert r.missing == ["Case 'P-a': no PHQ-9 score between sessions 6 and 9 (record one at least every 4 sessions)"]
    assert r.not_counted[0].id == "a" and "sessions 6-9" in r.not_counted[0].reason


def test_outcome_monitoring_gap_at_the_end_and_other_measures_ignored():
    ev = Evidence(cases=(case("a", 17, scores=phq([1, 5, 9, 13]) + phq([14, 15, 16, 17], "GAD-7")),))
    r = one(OUTCOME, ev)
    assert not r.met and "between sessions 14 and 17" in r.missing[0]


def test_outcome_monitoring_no_scores_and_unconfirmed_case():
    ev = Evidence(cases=(case("a", 3), case("b", 16, confirmed=False, scores=phq([1, 5, 9, 13]))))
    r = one(OUTCOME, ev)
    assert not r.met and "between sessions 1 and 3" in r.missing[0]
    assert any(n.id == "b" and n.reason == "unconfirmed by supervisor" for n in r.not_counted)


# --- rater_calibration -------------------------------------------------------------------

CALIBRATION = std({"type": "rater_calibration", "instrument": INSTR})


def test_rater_calibration():
    assert not one(CALIBRATION, Evidence()).met
    assert not one(CALIBRATION, Evidence(rater_certified={INSTR: False, "other": True})).met
    r = one(CALIBRATION, Evidence(rater_certified={INSTR: True}))
    assert r.met and r.evidence[0].kind == "rater_certification"


# --- prerequisite ------------------------------------------------------------------------

PREREQ = std({"type": "prerequisite", "credential": "ipt-therapist-example"})


def test_requirements_and_content_are_named_for_the_reader_not_by_id():
    """Issue 17: the standard's name from Evidence.names, the requirement's title from its id."""
    r = one(PREREQ, Evidence(names={"ipt-therapist-example": "IPT therapist"}))
    assert "Earn the IPT therapist credential first" in r.missing[0] and "ipt-therapist-example" not in r.missing[0]
    assert r.title == "Prerequisite"  # the id "prerequisite" humanized: the content gives no title


def test_prerequisite_missing_valid_and_on_expiry_day():
    r = one(PREREQ, Evidence())
    assert not r.met and "IPT therapist example" in r.missing[0]
    held = HeldCredential("ipt-therapist-example", date(2023, 1, 1), TODAY)
    assert one(PREREQ, Evidence(credentials_held=(held,))).met
    assert one(PREREQ, Evidence(credentials_held=(HeldCredential("ipt-therapist-example", D, None),))).met


def test_prerequisite_expired_not_met():
    held = HeldCredential("ipt-therapist-example", date(2021, 1, 1), date(2024, 1, 1))
    other = HeldCredential("fidelity-rater-example", date(2025, 1, 1), date(2026, 1, 1))
    r = one(PREREQ, Evidence(credentials_held=(held, other)))
    assert not r.met and r.current == "expired on 2024-01-01"
    assert "expired on 2024-01-01" in r.missing[0]
    assert r.not_counted[0].reason == "expired on 2024-01-01"


# --- whole standard ----------------------------------------------------------------------


def test_readiness_summary_status_and_dict():
    s = std({"type": "training_hours", "min_hours": 16}, {"type": "rater_calibration", "instrument": INSTR},
            {"type": "supervised_clinical_hours", "min_hours": 150})
    empty = evaluate(s, Evidence(), TODAY)
    assert (empty.met_count, empty.total, empty.ready, empty.progress) == (0, 3, False, 0)
    assert status_label(empty) == "in progress"
    assert len(format_missing(empty)) >= 3
    ev = Evidence(training_events=(training(1, 16),), rater_certified={INSTR: True},
                  clinical_hours=(clinical(1, 100),))
    nearly = evaluate(s, ev, TODAY)
    assert nearly.met_count == 2 and status_label(nearly) == "nearly ready"
    assert format_missing(nearly) == nearly.requirements[2].missing
    done = evaluate(s, Evidence(training_events=ev.training_events, rater_certified=ev.rater_certified,
                                clinical_hours=(clinical(1, 150),)), TODAY)
    assert done.ready and done.progress == 1.0 and status_label(done) == "ready for review"
    d = json.loads(json.dumps(readiness_to_dict(nearly)))
    assert d["standard_id"] == "test-standard" and d["status"] == "nearly ready"
    assert d["requirements"][0]["evidence"][0] == {"kind": "training_event", "id": "t1",
                                                   "label": "2025-01-10: Course 1 (Dr Trainer), 16 hours", "reason": ""}


def test_status_nearly_ready_by_progress():
    s = std({"type": "training_hours", "min_hours": 10}, {"type": "supervised_clinical_hours", "min_hours": 10})
    r = evaluate(s, Evidence(training_events=(training(1, 8),), clinical_hours=(clinical(1, 8),)), TODAY)
    assert r.met_count == 0 and r.progress == pytest.approx(0.8) and status_label(r) == "nearly ready"


# --- shipped content ---------------------------------------------------------------------

SHIPPED = sorted((ROOT / "training").glob("*.yaml"))
KINDS = ("credential_standard", "rater_certification_policy")


def test_shipped_training_files_validate():
    ids = {}
    for path in SHIPPED:
        model, errors = load_file(path, ROOT, KINDS)
        assert errors == [], [str(e) for e in errors]
        ids[model.id] = model
    assert {"ipt-therapist-example", "ipt-supervisor-example", "fidelity-rater-example", "rater-certification"} <= set(ids)
    for sid in ("ipt-therapist-example", "ipt-supervisor-example", "fidelity-rater-example"):
        m = ids[sid]
        assert "EXAMPLE" in m.name and "EXAMPLE" in m.description and m.issuing_body == "IPT Training Body"
    assert [ids[s].validity_months for s in ("ipt-therapist-example", "ipt-supervisor-example", "fidelity-rater-example")] == [36, 60, 12]
    pol = ids["rater-certification"]
    assert (pol.instrument, pol.min_sessions, pol.min_icc, pol.min_within_one, pol.min_exact,
            pol.min_pass_fail_agreement, pol.valid_months, pol.count_uncertified_ratings) == (
        INSTR, 6, 0.75, 0.90, 0.60, 1.0, 12, False)


def _stub_instrument(root: Path) -> None:
    (root / "rubrics").mkdir()
    (root / "rubrics" / "scale.yaml").write_text(
        "kind: rating_scale\nid: s5\nname: Five\nmin: 1\nmax: 5\nlabels: {1: a, 2: b, 3: c, 4: d, 5: e}\n")
    (root / "rubrics" / "instrument.yaml").write_text(
        f"kind: fidelity_instrument\nid: {INSTR}\nname: Stub\nversion: '0'\ndescription: stub\nscale: s5\n"
        "items:\n  - {id: i1, section: s, text: t, phases: [initial], anchors: {1: a, 2: b, 3: c, 4: d, 5: e}}\n")


def test_shipped_training_references_resolve(tmp_path):
    shutil.copytree(ROOT / "training", tmp_path / "training")
    _stub_instrument(tmp_path)
    lib = load_library(tmp_path)
    assert lib.errors == []
    assert {"ipt-therapist-example", "ipt-supervisor-example", "fidelity-rater-example"} <= set(lib.standards)
    assert "rater-certification" in lib.policies


def test_shipped_training_files_in_the_project_library():
    lib = load_library(ROOT)
    errors = [e for e in lib.errors if e.path.startswith(("training", "rubrics"))]
    assert errors == [], [str(e) for e in errors]
    assert INSTR in lib.instruments
    assert len(lib.standards) >= 3
    for std in lib.standards.values():  # every instrument a standard names is loaded
        for req in std.requirements:
            assert getattr(req, "instrument", INSTR) in lib.instruments, (std.id, req.id)


def test_shipped_therapist_standard_ready_with_full_evidence():
    therapist, _ = load_file(ROOT / "training" / "ipt_therapist_example.yaml", ROOT, KINDS)
    cases = tuple(case(c, 16, scores=phq([1, 5, 9, 13]), area=a)
                  for c, a in (("a", "grief"), ("b", "role_dispute"), ("c", "role_transition")))
    rated = tuple(r for c in "abc" for r in phases_for(c))
    ev = Evidence(
        training_events=(TrainingEvent("t1", D, 16, "Course", "Dr Trainer", True, "introductory"),),
        clinical_hours=(clinical(1, 150),),
        supervision=(supervision(1, 10),), cases=cases,
        rated_sessions=rated,
        vignette_results=tuple(vig(i, a, 0.8) for i, a in enumerate(
            ["grief", "role_dispute", "role_transition", "interpersonal_deficits"])),
        draws=tuple(SessionDraw(therapist.id, "rated-sessions", r.case_id, r.case_pseudonym, r.phase, r.id, 1, D)
                    for r in rated),
        case_reports=tuple(CaseReportEntry(f"r{c}", c, f"P-{c}", D, "good", "Dr Super", D) for c in "abc"),
        attestations=(AttestationEntry("a1", therapist.id, "supervisor", "Dr Super", D, "Competent."),),
    )
    r = evaluate(therapist, ev, TODAY)
    assert r.ready, format_missing(r)
    # the same evidence with the intro course logged as another kind, or without the draws, is not ready
    other = dataclasses.replace(ev, training_events=(training(1, 16),))
    assert [q.requirement_id for q in evaluate(therapist, other, TODAY).requirements if not q.met] == ["intro-training"]
    undrawn = dataclasses.replace(ev, draws=())
    assert [q.requirement_id for q in evaluate(therapist, undrawn, TODAY).requirements if not q.met] == ["rated-sessions"]
    assert evaluate(therapist, Evidence(), TODAY).met_count == 0


# --- validation errors of a broken standard ----------------------------------------------

BROKEN = """\
kind: credential_standard
id: broken
name: Broken
version: "1"
issuing_body: Test body
certifies: therapist
validity_months: 12
description: A broken standard.
requirements:
  - id: intro
    type: training_hours
    description: no min_hours here
  - id: odd
    type: coffee_hours
    min_hours: 3
    description: unknown type
  - id: cases
    type: supervised_cases
    min_cases: 2
    phases_rated: [initial, ending]
    description: bad phase
"""


def _errors(tmp_path: Path, text: str):
    (tmp_path / "training").mkdir(exist_ok=True)
    path = tmp_path / "training" / "broken.yaml"
    path.write_text(text)
    model, errors = load_file(path, tmp_path, ("credential_standard",))
    assert model is None
    return {e.field: e for e in errors}


def test_broken_standard_reports_path_line_field(tmp_path):
    errors = _errors(tmp_path, BROKEN)
    missing = errors["requirements[0].min_hours"]
    assert missing.line == 10 and "required" in missing.message
    assert str(missing) == "training/broken.yaml:10: requirements[0].min_hours: is required but missing; add it"
    unknown = errors["requirements[1]"]
    assert unknown.line == 13 and "coffee_hours" in unknown.message
    assert str(unknown).startswith("training/broken.yaml:13: requirements[1]: ")
    phase = errors["requirements[2].phases_rated[1]"]
    assert phase.line == 20 and "ending" in phase.message


def test_broken_standard_missing_top_level_field(tmp_path):
    errors = _errors(tmp_path, BROKEN.replace("validity_months: 12\n", "validity_months: 0\n"))
    assert errors["validity_months"].line == 7
