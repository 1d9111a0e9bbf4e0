"""Readiness rules of issue 13: random selection of rated sessions, the per-case portfolio,
case reports, attestations, supervision given, continuing education, training categories and
outcome measures per population."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from ipt_training.content import CredentialStandard
from ipt_training.credentials import (
    AttestationEntry,
    CaseReportEntry,
    ClinicalCase,
    Evidence,
    RatedSession,
    SessionDraw,
    SupervisionGivenEntry,
    TrainingEvent,
    evaluate,
)
from ipt_training.credentials.readiness_portfolio import draw_state

TODAY = date(2025, 6, 1)
D = date(2025, 1, 10)
INSTR = "ipt-session-fidelity"


def std(*reqs: dict, id: str = "test-standard") -> CredentialStandard:
    return CredentialStandard.model_validate({
        "kind": "credential_standard", "id": id, "name": "Test", "version": "1",
        "issuing_body": "Test body", "certifies": "therapist", "validity_months": 36,
        "description": "A test standard.",
        "requirements": [{"id": r["type"].replace("_", "-"), "description": f"about {r['type']}", **r} for r in reqs],
    })


def one(standard: CredentialStandard, ev: Evidence):
    r = evaluate(standard, ev, TODAY)
    assert r.total == 1
    return r.requirements[0]


def rating(sid, case="c1", phase="middle", mean=3.5, passed=True, day=D):
    return RatedSession(sid, case, f"P-{case}", phase, INSTR, True, mean, passed, day)


def draw(sid, case="c1", phase="middle", seq=1, req="rated-sessions", standard="test-standard"):
    return SessionDraw(standard, req, case, f"P-{case}", phase, sid, seq, D)


RANDOM = {"type": "rated_sessions", "instrument": INSTR, "min_sessions": 1, "selection": "random", "further_draws": 1,
          "all_must_pass": True}


# --- random selection ----------------------------------------------------------------------


def test_random_selection_counts_only_drawn_sessions():
    ev = Evidence(rated_sessions=(rating("s1"), rating("s2")), draws=(draw("s2"),))
    r = one(std(RANDOM), ev)
    assert r.met and [e.id for e in r.evidence] == ["s2"]
    assert [(n.id, n.reason.startswith("not drawn at random")) for n in r.not_counted] == [("s1", True)]


def test_random_selection_without_draw_does_not_count_a_chosen_session():
    r = one(std(RANDOM), Evidence(rated_sessions=(rating("s1"),)))
    assert not r.met and r.evidence == [] and "drawn at random by your supervisor" in r.missing[0]


def test_chosen_selection_counts_every_rated_session():
    req = {**RANDOM, "selection": "chosen", "further_draws": 0}
    r = one(std(req), Evidence(rated_sessions=(rating("s1"),)))
    assert r.met


def test_drawn_session_awaiting_rating_is_a_next_step():
    r = one(std(RANDOM), Evidence(draws=(draw("s9", phase="initial"),)))
    assert not r.met and any("initial phase: the session drawn on 2025-01-10 awaits rating" in m for m in r.missing)


def test_failed_drawn_session_is_shown_and_offers_a_further_draw():
    ev = Evidence(rated_sessions=(rating("s1", mean=2.4, passed=False),), draws=(draw("s1"),))
    r = one(std({**RANDOM, "min_sessions": 1}), ev)
    assert not r.met
    assert r.not_counted[0].id == "s1" and "pass mark (mean 2.40)" in r.not_counted[0].reason
    assert any("ask your supervisor for a further random draw" in m and "1 further draw left" in m for m in r.missing)


def test_a_passing_further_draw_replaces_the_failed_one():
    ev = Evidence(rated_sessions=(rating("s1", mean=2.4, passed=False), rating("s2", mean=3.4)),
                  draws=(draw("s1"), draw("s2", seq=2)))
    r = one(std(RANDOM), ev)
    assert r.met and [e.id for e in r.evidence] == ["s2"]
    assert [(n.id, n.reason) for n in r.not_counted] == [("s1", "replaced by a further random draw")]


def test_failed_draw_with_no_further_draw_left_blocks():
    ev = Evidence(rated_sessions=(rating("s1", mean=2.4, passed=False), rating("s2", mean=2.2, passed=False),
                                  rating("s3", mean=3.6)),
                  draws=(draw("s1"), draw("s2", seq=2), draw("s3", phase="initial")))
    r = one(std(RANDOM), ev)
    assert not r.met and r.current.endswith("1 failed session")
    assert any("no further draw can be made" in m and "allows 1 further draw" in m for m in r.missing)


def test_draw_state_follows_the_further_draws_parameter():
    req = std({**RANDOM, "further_draws": 2}).requirements[0]
    failed = {"s1": (None, 2.0, False), "s2": (None, 2.1, False), "s3": (None, 2.2, False)}
    assert draw_state(req, [], {}) == (True, "no session drawn yet")
    assert draw_state(req, [draw("s1")], {})[0] is False  # awaiting rating
    assert draw_state(req, [draw("s1")], {"s1": (None, 3.5, True)})[0] is False  # passed
    assert draw_state(req, [draw("s1")], failed) == (True, "the drawn session did not pass; 2 further draws left")
    assert draw_state(req, [draw("s1"), draw("s2", seq=2)], failed)[0] is True
    assert draw_state(req, [draw("s1"), draw("s2", seq=2), draw("s3", seq=3)], failed)[0] is False


def test_draws_of_another_requirement_or_standard_do_not_count():
    ev = Evidence(rated_sessions=(rating("s1"),), draws=(draw("s1", req="other"), draw("s1", standard="other-std")))
    assert not one(std(RANDOM), ev).met


def test_further_draws_need_random_selection():
    with pytest.raises(ValidationError, match="further_draws applies only with selection: random"):
        std({**RANDOM, "selection": "chosen"})


# --- every phase per case, every session passing -------------------------------------------


PORTFOLIO = {"type": "rated_sessions", "instrument": INSTR, "min_sessions": 6, "min_cases": 2,
             "phases_per_case": ["initial", "middle", "termination"], "all_must_pass": True}


def test_portfolio_needs_each_phase_in_each_case():
    full = [rating(f"a-{p}", "a", p) for p in ("initial", "middle", "termination")]
    part = [rating(f"b-{p}", "b", p) for p in ("initial", "middle")]
    r = one(std(PORTFOLIO), Evidence(rated_sessions=tuple(full + part)))
    assert not r.met and "1 of 2 cases with every phase" in r.current
    assert r.missing == ["Case 'P-b': a passing rated session (on IPT session fidelity) from the termination phase"]
    full_b = part + [rating("b-termination", "b", "termination")]
    assert one(std(PORTFOLIO), Evidence(rated_sessions=tuple(full + full_b))).met


def test_portfolio_failed_session_blocks_and_is_named():
    sessions = [rating(f"{c}-{p}", c, p) for c in "ab" for p in ("initial", "middle", "termination")]
    sessions.append(rating("a-middle-2", "a", "middle", mean=2.1, passed=False))
    r = one(std(PORTFOLIO), Evidence(rated_sessions=tuple(sessions)))
    assert not r.met
    assert "Case 'P-a', middle phase: the rated session did not reach the pass mark (mean 2.10); every rated session must pass" in r.missing


def test_min_cases_needs_phases_per_case():
    with pytest.raises(ValidationError, match="min_cases needs phases_per_case"):
        std({**PORTFOLIO, "phases_per_case": []})


# --- case reports --------------------------------------------------------------------------


CASE_REPORT = {"type": "case_report", "min_cases": 2, "min_level": "good"}


def report(rid, case, level=None, day=D):
    return CaseReportEntry(rid, case, f"P-{case}", day, level, "Dr Super" if level else "", day if level else None)


def test_case_report_counts_reports_graded_at_the_level_or_above():
    ev = Evidence(case_reports=(report("r1", "a", "excellent"), report("r2", "b", "good")))
    r = one(std(CASE_REPORT), ev)
    assert r.met and r.current == "2 of 2 case reports graded good or better"


def test_case_report_below_level_and_awaiting_grading_are_next_steps():
    ev = Evidence(case_reports=(report("r1", "a", "adequate"), report("r2", "b")))
    r = one(std(CASE_REPORT), ev)
    assert not r.met and r.progress == 0
    assert r.missing == ["Case 'P-b': your report awaits grading by your supervisor",
                         "Case 'P-a': revise the report and submit it again (graded adequate, needs good or better)"]


def test_case_report_resubmission_graded_higher_counts():
    ev = Evidence(case_reports=(report("r1", "a", "revise"), report("r2", "a", "good", day=date(2025, 3, 1))))
    r = one(std({**CASE_REPORT, "min_cases": 1}), ev)
    assert r.met and [e.id for e in r.evidence] == ["r2"]


def test_case_report_with_no_report_says_what_to_write():
    r = one(std(CASE_REPORT), Evidence())
    assert r.missing == ["Write a case report (formulation, course and outcome) for 2 more cases and submit it for "
                         "grading; it needs good or better"]


def test_case_report_min_level_revise_is_refused():
    with pytest.raises(ValidationError, match="min_level 'revise'"):
        std({**CASE_REPORT, "min_level": "revise"})


# --- attestation ---------------------------------------------------------------------------


def attest(aid, attester="supervisor", day=D, standard="test-standard"):
    return AttestationEntry(aid, standard, attester, "Dr Super", day, "Competent in IPT, observed over 3 cases.")


def test_attestation_by_the_right_attester_counts():
    r = one(std({"type": "attestation"}), Evidence(attestations=(attest("a1"),)))
    assert r.met and "Statement signed by Dr Super" in r.evidence[0].label


def test_attestation_of_another_kind_or_standard_does_not_count():
    ev = Evidence(attestations=(attest("a1", "observer"), attest("a2", standard="other")))
    r = one(std({"type": "attestation"}), ev)
    assert not r.met and [n.id for n in r.not_counted] == ["a1"]
    assert r.missing == ["Ask your supervisor to sign a statement of your competence for this credential "
                         "(1 more statement)"]


def test_attestation_within_months():
    r = one(std({"type": "attestation", "attester": "observer", "within_months": 3}),
            Evidence(attestations=(attest("a1", "observer", day=date(2025, 1, 1)),)))
    assert not r.met and r.not_counted[0].reason == "signed more than 3 months ago"


# --- supervision given ---------------------------------------------------------------------


GIVEN = {"type": "supervision_given", "min_hours": 80, "min_supervisees": 4, "since_credential": "therapist",
         "min_months_since": 12}


def given(i, hours, who):
    return SupervisionGivenEntry(f"g{i}", D, hours, who)


def test_supervision_given_met():
    ev = Evidence(supervision_given=tuple(given(i, 20, f"person {i}") for i in range(4)),
                  first_awarded={"therapist": date(2024, 6, 1)})
    r = one(std(GIVEN), ev)
    assert r.met and r.current.startswith("80 of 80 hours to 4 of 4 supervisees")


def test_supervision_given_short_on_each_count():
    ev = Evidence(supervision_given=(given(1, 30, "A"), given(2, 30, "A"), given(3, 10, "B")),
                  first_awarded={"therapist": date(2024, 12, 1)})
    r = one(std(GIVEN), ev)
    assert not r.met
    assert r.missing == [
        "10 more hours of supervision given: supervisees log their supervision with you and you confirm it",
        "Supervise 2 more clinicians (2 of 4 so far)",
        "Wait until 2025-12-01: 12 months after your own certification (Therapist, 2024-12-01)",
    ]


def test_supervision_given_without_own_certification():
    r = one(std(GIVEN), Evidence(supervision_given=tuple(given(i, 20, str(i)) for i in range(4))))
    assert not r.met and r.missing == ["Hold the therapist credential (the time counts from your own certification)"]


def test_min_months_since_needs_since_credential():
    with pytest.raises(ValidationError, match="needs since_credential"):
        std({"type": "supervision_given", "min_hours": 5, "min_months_since": 12})


# --- continuing education and training categories -------------------------------------------


def event(i, hours, category, day=D, confirmed=True):
    return TrainingEvent(f"t{i}", day, hours, f"Course {i}", "Dr Trainer", confirmed, category)


def test_training_hours_counts_only_the_named_categories():
    ev = Evidence(training_events=(event(1, 8, "introductory"), event(2, 8, "rater")))
    r = one(std({"type": "training_hours", "min_hours": 16, "categories": ["introductory"]}), ev)
    assert not r.met and r.current == "8 of 16 hours"
    assert r.not_counted[0].id == "t2" and r.not_counted[0].reason.startswith("Fidelity rater training; this requirement counts")
    assert one(std({"type": "training_hours", "min_hours": 16}), ev).met  # no categories: every kind counts


def test_continuing_education_within_the_period():
    ev = Evidence(training_events=(event(1, 6, "continuing", day=date(2023, 1, 1)), event(2, 6, "continuing"),
                                   event(3, 6, "advanced")))
    r = one(std({"type": "continuing_education", "min_hours": 12, "period_months": 12}), ev)
    assert r.met and {e.id for e in r.evidence} == {"t2", "t3"}
    assert any(n.id == "t1" and n.reason.startswith("before this period") for n in r.not_counted)
    r = one(std({"type": "continuing_education", "min_hours": 12, "categories": ["continuing"]}), ev)
    assert r.met and {e.id for e in r.evidence} == {"t1", "t2"}  # no period: all the evidence given
    r = one(std({"type": "continuing_education", "min_hours": 12, "period_months": 12, "categories": ["continuing"]}), ev)
    assert not r.met and r.missing[0].startswith("6 more hours of confirmed continuing education (Continuing education")


# --- outcome measures per population --------------------------------------------------------


OUTCOME = {"type": "outcome_monitoring", "every_n_sessions": 4,
           "measures": {"adult": "PHQ-9", "adolescent": "PHQ-A", "perinatal": "EPDS", "late_life": "GDS-15"}}


def case(cid, population, measure, sessions=(1, 5, 9)):
    return ClinicalCase(cid, f"P-{cid}", "grief", D, None, 12, True, tuple((s, measure, 5.0) for s in sessions), population)


def test_outcome_measure_per_population():
    ev = Evidence(cases=(case("a", "adolescent", "PHQ-A"), case("b", "perinatal", "EPDS"),
                         case("c", "late_life", "GDS-15"), case("d", "adult", "PHQ-9")))
    r = one(std(OUTCOME), ev)
    assert r.met and r.current == "4 of 4 cases with PHQ-A / EPDS / GDS-15 / PHQ-9 every 4 sessions"


def test_outcome_wrong_measure_for_population_is_a_gap():
    r = one(std(OUTCOME), Evidence(cases=(case("a", "adolescent", "PHQ-9"),)))
    assert not r.met and r.missing == ["Case 'P-a': no PHQ-A score between sessions 1 and 12 (record one at least every 4 sessions)"]


def test_outcome_population_without_a_measure_is_said():
    r = one(std(OUTCOME), Evidence(cases=(case("a", "group", "PHQ-9"),)))
    assert r.not_counted[0].reason == "this standard names no measure for cases of the population 'Group IPT'"


def test_outcome_never_says_0_of_0():
    r = one(std(OUTCOME), Evidence())
    assert "0 of 0" not in r.current and r.current == "no confirmed case with sessions yet"
    assert r.missing == ["Add a confirmed case with its symptom measure (PHQ-9 (adult), PHQ-A (adolescent), EPDS "
                         "(perinatal), GDS-15 (late life)) recorded at least every 4 sessions"]


def test_outcome_needs_some_measure():
    with pytest.raises(ValidationError, match="name the symptom measure"):
        std({"type": "outcome_monitoring", "every_n_sessions": 4})
