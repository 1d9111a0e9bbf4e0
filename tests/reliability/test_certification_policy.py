"""Issue 11.6: rater certification pooled over calibration sessions, every reproduced case.

Expected figures are worked by hand from the data built here; the ICC is the pingouin-checked
two-way ICC(A,1) (see test_applied_statistics)."""

import datetime as dt

import numpy as np
import pytest

from ipt_training import reliability as R
from ipt_training.reliability.certification import pooled_agreement, pooled_certification

POLICY = {"min_sessions": 6, "window_sessions": 6, "min_phases": 3, "min_icc": 0.75, "icc_judged_on": "point",
          "min_exact": 0.60, "min_within_one": 0.90, "min_pass_fail_agreement": 1.0, "valid_months": 12}
PHASES = ["beginning", "middle", "termination"]
TODAY = dt.date(2026, 6, 1)
# gold scores of 10 items in 6 sessions, varied across items and sessions
GOLD = [[1 + (3 * s + 2 * i) % 5 for i in range(10)] for s in range(6)]


def sessions(rater_scores, gold=GOLD, passes=None):
    out = []
    for s, (mine, expert) in enumerate(zip(rater_scores, gold)):
        rp = None if None in mine else float(np.mean(mine)) >= 3
        gp = float(np.mean(expert)) >= 3
        out.append({"date": dt.date(2026, 1, 1) + dt.timedelta(days=20 * s), "phase": PHASES[s % 3],
                    "items": [(f"i{i}", m, g) for i, (m, g) in enumerate(zip(mine, expert))],
                    "rater_passed": rp if passes is None else passes[s], "gold_passed": gp})
    return out


def test_constant_four_rater_identical_to_gold_is_certifiable():
    """Reproduced: ICC undefined for a rater identical to a gold that scores every item 4."""
    fours = [[4] * 10 for _ in range(6)]
    res = pooled_certification(sessions(fours, gold=fours), POLICY, TODAY)
    assert res["certified"], res["reasons"]
    assert res["figures"]["icc"] is None and "exact agreement decides" in res["figures"]["icc_reason"]
    assert res["figures"]["exact"] == 1.0


def test_ninety_percent_exact_all_within_one_passes():
    """Reproduced: 90 % exact / 100 % within one got ICC 0.0 on one session and failed."""
    mine = [list(g) for g in GOLD]
    for s in range(6):
        i = s % 10
        mine[s][i] = mine[s][i] + 1 if mine[s][i] < 5 else mine[s][i] - 1
    res = pooled_certification(sessions(mine), POLICY, TODAY)
    fig = res["figures"]
    assert fig["exact"] == pytest.approx(54 / 60) and fig["within_one"] == 1.0
    assert fig["icc"] > 0.75
    assert res["certified"], res["reasons"]


def test_one_point_high_everywhere_fails():
    """Reproduced: 20 % exact got ICC 0.82 and passed; pooled exact agreement now fails it."""
    mine = [[min(5, g + 1) for g in row] for row in GOLD]
    res = pooled_certification(sessions(mine), POLICY, TODAY)
    fig = res["figures"]
    assert fig["exact"] == pytest.approx(sum(g == 5 for row in GOLD for g in row) / 60)
    assert fig["mean_difference"] > 0.5
    assert not res["certified"] and any("exact agreement" in r for r in res["reasons"])


def test_scoring_three_of_ten_items_fails():
    """Reproduced: 3 of 10 items scored gave ICC 1.0 and passed; unscored gold items are disagreements."""
    mine = [[g if i < 3 else None for i, g in enumerate(row)] for row in GOLD]
    res = pooled_certification(sessions(mine), POLICY, TODAY)
    fig = res["figures"]
    assert fig["n_unscored"] == 42 and fig["exact"] == pytest.approx(18 / 60)
    assert fig["within_one"] == pytest.approx(18 / 60)
    assert not res["certified"] and any("left unscored" in r for r in res["reasons"])


def test_always_within_one_but_random_fails():
    """Reproduced: a rater always within one point (random -1/0/+1) passed two sessions in a row
    32 % of the time; pooled over 6 sessions exact agreement (about 1/3) fails."""
    rng = np.random.default_rng(0)
    failures = 0
    for _ in range(50):
        mine = [[int(np.clip(g + rng.integers(-1, 2), 1, 5)) for g in row] for row in GOLD]
        res = pooled_certification(sessions(mine), POLICY, TODAY)
        failures += not res["certified"]
    assert failures == 50


def test_pass_fail_disagreement_on_one_session_fails():
    mine = [list(g) for g in GOLD]
    passes = [float(np.mean(g)) >= 3 for g in GOLD]
    passes[2] = not passes[2]
    res = pooled_certification(sessions(mine, passes=passes), POLICY, TODAY)
    assert not res["certified"] and any("pass/fail decision differs" in r and "1 of 6" in r for r in res["reasons"])


def test_too_few_sessions_or_phases_and_lower_bound_option():
    mine = [list(g) for g in GOLD]
    few = pooled_certification(sessions(mine)[:4], POLICY, TODAY)
    assert not few["certified"] and "6 are needed" in few["reasons"][0]
    one_phase = [dict(s, phase="middle") for s in sessions(mine)]
    assert any("treatment phase" in r for r in pooled_certification(one_phase, POLICY, TODAY)["reasons"])
    # a rater whose point estimate passes but whose lower bound does not
    noisy = [list(g) for g in GOLD]
    for s in range(6):
        for i in (0, 5):
            noisy[s][i] = noisy[s][i] + 1 if noisy[s][i] < 5 else noisy[s][i] - 1
    fig = pooled_agreement(sessions(noisy))
    cut = (fig["icc_ci95"][0] + fig["icc"]) / 2  # between the lower bound and the point estimate
    loose = {**POLICY, "min_icc": cut, "min_exact": 0.5, "min_pass_fail_agreement": 0.0}
    point = pooled_certification(sessions(noisy), loose, TODAY)
    lower = pooled_certification(sessions(noisy), {**loose, "icc_judged_on": "lower_ci"}, TODAY)
    assert point["certified"] and not lower["certified"]
    assert any("lower 95% bound" in r for r in lower["reasons"])


def test_pooled_icc_is_the_two_way_absolute_agreement_icc_of_the_pooled_targets():
    mine = [[min(5, g + (i % 3 == 0)) for i, g in enumerate(row)] for row in GOLD]
    fig = pooled_agreement(sessions(mine))
    import pandas as pd

    long = pd.DataFrame([(f"{s}:{i}", "rater", m) for s, row in enumerate(mine) for i, m in enumerate(row)]
                        + [(f"{s}:{i}", "gold", g) for s, row in enumerate(GOLD) for i, g in enumerate(row)],
                        columns=["target", "rater", "rating"])
    assert fig["icc"] == pytest.approx(R.icc_2_1(long)["value"], abs=1e-12)


def test_pooled_certification_figures_match_r_psych():
    """The same rater as above, against R: psych::ICC's ICC2 and its 95 % CI
    (tests/reliability/r/certification_values.R, run once; R is not a runtime dependency)."""
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "r" / "certification_values.json").read_text())
    ref = ref["one_high_on_every_third_item"]
    mine = [[min(5, g + (i % 3 == 0)) for i, g in enumerate(row)] for row in GOLD]
    fig = pooled_agreement(sessions(mine))
    assert fig["icc"] == pytest.approx(ref["icc"], abs=1e-9)
    assert fig["icc_ci95"][0] == pytest.approx(ref["lo"], abs=1e-6)
    assert fig["icc_ci95"][1] == pytest.approx(ref["hi"], abs=1e-6)
    assert fig["mean_difference"] == pytest.approx(ref["mean_difference"], abs=1e-12)
    assert (fig["exact"], fig["within_one"]) == (pytest.approx(ref["exact"]), pytest.approx(ref["within_one"]))


def test_shipped_policy_states_every_threshold():
    from ipt_training.config import PROJECT_ROOT
    from ipt_training.content import load_library

    pol = load_library(PROJECT_ROOT).certification_policy
    assert (pol.min_within_one, pol.min_exact, pol.min_pass_fail_agreement, pol.min_icc) == (0.90, 0.60, 1.0, 0.75)
    assert pol.icc_judged_on in ("point", "lower_ci")
    assert (pol.min_sessions, pol.window_sessions, pol.min_phases) == (6, 6, 3)  # six sessions across the phases


def test_demo_certifies_rater_and_supervisor_not_rater2(demo_db, library):
    """The shipped policy on the demo's eight gold sessions: the six most recent (three phases)
    certify 'rater' and 'supervisor'; 'rater2' passes the near-pass session the expert fails."""
    from ipt_training import auth
    from ipt_training.reliability import calibration

    status = {name: calibration.certification(demo_db, library, auth.find_user(demo_db, name).id, dt.date.today())
              for name in ("rater", "supervisor", "rater2")}
    assert status["rater"]["certified"] and status["supervisor"]["certified"], status["rater"]["reasons"]
    assert not status["rater2"]["certified"]
    assert [r for r in status["rater2"]["reasons"] if "pass/fail decision differs" in r]
    for name in ("rater", "supervisor", "rater2"):
        fig = status[name]["figures"]
        assert len(fig["sessions"]) == 6 and fig["within_one"] >= 0.90 and fig["exact"] >= 0.60


# --- drift on the pooled rule's terms (issue 11.3) ---------------------------------------------


def test_drift_pools_each_window_of_sessions_as_certification_does():
    """Each point is pooled_agreement over the last `window` sessions; the latest full window is
    the one certification judges, so the two never disagree."""
    good = [list(g) for g in GOLD]
    drifting = [list(g) for g in GOLD[:3]] + [[min(5, g + 1) for g in row] for row in GOLD[3:]]
    cals = sessions(good) + [dict(c, date=c["date"] + dt.timedelta(days=200)) for c in sessions(drifting)]
    res = R.drift(cals, POLICY, window=6)
    assert len(res["points"]) == 12
    for end, point in enumerate(res["points"]):
        chunk = cals[max(0, end - 5):end + 1]
        ref = pooled_agreement(chunk)
        assert point["n_sessions"] == len(chunk) and point["full"] == (len(chunk) == 6)
        assert point["exact"] == pytest.approx(ref["exact"]) and point["within_one"] == pytest.approx(ref["within_one"])
        assert point["icc"] == ref["icc"] and point["mean_difference"] == pytest.approx(ref["mean_difference"])
    # the first full window is perfect agreement: no flag; the last pools three sessions one point high
    assert not [f for f in res["flags"] if f["date"] == res["points"][5]["date"]]
    last = res["points"][-1]
    exact_last = (30 + sum(g == 5 for row in GOLD[3:] for g in row)) / 60  # hand count: 3 exact sessions + the 5s
    assert last["exact"] == pytest.approx(exact_last)
    assert last["mean_difference"] == pytest.approx(sum(g < 5 for row in GOLD[3:] for g in row) / 60)
    flagged = {f["metric"] for f in res["flags"] if f["date"] == last["date"]}
    assert ("exact" in flagged) == (exact_last < 0.60)
    cert = pooled_certification(cals, POLICY, last["date"] + dt.timedelta(days=1))
    assert cert["figures"]["exact"] == pytest.approx(last["exact"]) and cert["figures"]["icc"] == last["icc"]
    assert cert["certified"] == (not flagged)


def test_drift_flags_only_full_windows_and_uses_the_policy_icc_bound():
    poor = [[1 + (g + 2) % 5 for g in row] for row in GOLD]  # far from gold everywhere
    res = R.drift(sessions(poor[:3]), POLICY, window=6)
    assert res["flags"] == [] and not any(p["full"] for p in res["points"])
    res = R.drift(sessions(poor), POLICY, window=3)
    assert {f["metric"] for f in res["flags"]} >= {"icc", "within_one"}
    assert all(len(f["sessions"]) == 3 for f in res["flags"])
    noisy = [[g if (s + i) % 4 else min(5, g + 1) for i, g in enumerate(row)] for s, row in enumerate(GOLD)]
    point = R.drift(sessions(noisy), {**POLICY, "min_exact": 0, "min_within_one": 0}, window=6)
    lower = R.drift(sessions(noisy), {**POLICY, "min_exact": 0, "min_within_one": 0, "icc_judged_on": "lower_ci"},
                    window=6)
    low = point["points"][-1]["icc_low"]
    assert ("icc" in {f["metric"] for f in lower["flags"]}) == (low < 0.75)
    assert ("icc" in {f["metric"] for f in point["flags"]}) == (point["points"][-1]["icc"] < 0.75)
    with pytest.raises(R.ReliabilityError, match="window"):
        R.drift(sessions(noisy), POLICY, window=0)
