"""The instrument's pass rule with critical and proscribed items (issue 13), on the shipped instrument.

Expected values are worked out by hand from the rule the instrument documents: the mean of the
scored IPT items, minus 0.25 per point a proscribed item scores above 1, passing at 3.0 when no
critical item is below 3 and no proscribed item is above 3.
"""

from __future__ import annotations

import pytest

from ipt_training.fidelity import describe_pass_rule, session_result

INSTRUMENT = "ipt-session-fidelity"
PHASE, AREA = "middle", "role_dispute"


@pytest.fixture(scope="module")
def inst(library):
    return library.instruments[INSTRUMENT]


def _scores(inst, ipt: dict[str, int], proscribed: dict[str, int] | None = None, default: int = 4) -> dict:
    """Every applicable item: IPT items at ``default`` unless given, N/A where listed as None,
    proscribed items at 1 (none) unless given."""
    out = {}
    for it in inst.applicable_items(PHASE, AREA):
        if it.proscribed:
            score = (proscribed or {}).get(it.id, 1)
        else:
            score = ipt.get(it.id, default)
        out[it.id] = {"score": score, "not_applicable": score is None}
    return out


def _result(inst, scores):
    return session_result(inst, inst.applicable_items(PHASE, AREA), scores)


def _ipt_ids(inst):
    return [it.id for it in inst.applicable_items(PHASE, AREA) if not it.proscribed]


def test_a_critical_item_at_1_fails_a_session_whose_mean_is_4(inst):
    others = [i for i in _ipt_ids(inst) if i not in ("area_role_dispute", "risk_review_when_raised")]
    # area strategy at 1, three items at 5 to balance it, the rest at 4: (1 + 15 + 4 * (n - 4)) / n = 4.0
    ipt = {"area_role_dispute": 1, "risk_review_when_raised": None, **{i: 5 for i in others[:3]}}
    r = _result(inst, _scores(inst, ipt))
    assert r["mean"] == pytest.approx(4.0) and r["adherence_mean"] == pytest.approx(4.0)
    assert r["passed"] is False
    assert [(f["item"], f["score"], f["rule"]) for f in r["failed_by"]] == [("area_role_dispute", 1, "critical")]
    assert "Role dispute" in r["failed_by"][0]["text"] and "3" in r["failed_by"][0]["text"]
    assert "area_role_dispute" not in r["failed_by"][0]["text"]  # the item's name, not its id (issue 17)
    # the same session with the area strategy at the critical minimum passes
    ipt["area_role_dispute"] = 3
    assert _result(inst, _scores(inst, ipt))["passed"] is True


def test_a_critical_item_marked_na_does_not_fail_the_session(inst):
    r = _result(inst, _scores(inst, {"risk_review_when_raised": None}))
    assert r["passed"] is True and r["failed_by"] == [] and r["n_not_applicable"] == 1


def test_a_proscribed_intervention_lowers_the_session_score_by_the_documented_deduction(inst):
    ids = _ipt_ids(inst)
    # IPT items: one at 4 for every four at 3 -> a mean a little above the pass mark
    ipt = {i: (4 if n % 5 == 0 else 3) for n, i in enumerate(ids)}
    clean = _result(inst, _scores(inst, ipt))
    expected_mean = sum(ipt.values()) / len(ipt)
    assert clean["mean"] == pytest.approx(expected_mean) and 3.0 < expected_mean < 3.25
    assert clean["passed"] is True and clean["deduction"] == 0
    # one brief instance of cognitive restructuring (2 on the extent scale) costs 0.25 and fails it
    drift = _result(inst, _scores(inst, ipt, {"pro_cognitive_restructuring": 2}))
    assert drift["adherence_mean"] == pytest.approx(expected_mean)
    assert drift["deduction"] == pytest.approx(0.25)
    assert drift["mean"] == pytest.approx(expected_mean - 0.25)
    assert drift["passed"] is False and drift["failed_by"] == []  # the score, not a single item, fails it
    # two interventions, each repeated (3), cost 2 x 2 x 0.25 = 1.0
    two = _result(inst, _scores(inst, ipt, {"pro_directive_advice": 3, "pro_childhood_causes": 3}))
    assert two["deduction"] == pytest.approx(1.0) and two["mean"] == pytest.approx(expected_mean - 1.0)


def test_a_sustained_proscribed_intervention_fails_a_strong_session(inst):
    r = _result(inst, _scores(inst, {}, {"pro_transference_interpretation": 4}, default=5))
    assert r["adherence_mean"] == pytest.approx(5.0) and r["mean"] == pytest.approx(5.0 - 0.75)
    assert r["passed"] is False
    assert [(f["item"], f["rule"]) for f in r["failed_by"]] == [("pro_transference_interpretation", "proscribed")]


def test_the_session_score_never_falls_below_the_scale(inst):
    many = {it.id: 5 for it in inst.applicable_items(PHASE, AREA) if it.proscribed}
    r = _result(inst, _scores(inst, {}, many, default=2))
    assert r["deduction"] == pytest.approx(5 * 4 * 0.25) and r["mean"] == pytest.approx(1.0)


def test_proscribed_items_are_never_na_and_never_count_toward_the_mean(inst):
    scores = _scores(inst, {})
    scores["pro_non_ipt_homework"] = {"score": None, "not_applicable": True}
    r = _result(inst, scores)
    assert r["na_refused"] == ["pro_non_ipt_homework"] and r["passed"] is True
    assert r["n_scored"] == len(_ipt_ids(inst))


def test_the_rule_in_words_names_every_part(inst):
    text = describe_pass_rule(inst)
    for part in ("3 or more", "at least 3 item(s)", "minus 0.25", "critical item", "above 3 fails"):
        assert part in text, text
