"""Tests for the generalizability (G) and decision (D) studies in ipt_training.reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipt_training import reliability as R
from ipt_training.reliability import ReliabilityError

# Balanced design: 3 trainees x 2 sessions (nested) x 2 raters (crossed with sessions).
SCORES = {
    ("T1", "S1"): (4, 5),
    ("T1", "S2"): (2, 3),
    ("T2", "S1"): (6, 6),
    ("T2", "S2"): (5, 7),
    ("T3", "S1"): (1, 3),
    ("T3", "S2"): (3, 3),
}


def balanced() -> pd.DataFrame:
    rows = [
        (t, s, r, v)
        for (t, s), pair in SCORES.items()
        for r, v in zip(("R1", "R2"), pair)
    ]
    return pd.DataFrame(rows, columns=["trainee", "session", "rater", "score"])


# Hand calculation (n_t = 3, n_s = 2, n_r = 2; 12 scores summing to 48, grand mean 4):
#   trainee means  T1 = 14/4 = 3.5, T2 = 24/4 = 6, T3 = 10/4 = 2.5
#   SS_t   = n_s n_r * sum (m_t - 4)^2 = 4 * (0.25 + 4 + 2.25) = 26,      df 2 -> MS_t = 13
#   session means 4.5, 2.5 | 6, 6 | 2, 3
#   SS_s:t = n_r * sum (m_ts - m_t)^2 = 2 * (1 + 1 + 0 + 0 + 0.25 + 0.25) = 5, df 3 -> MS_s:t = 5/3
#   rater means R1 = 21/6 = 3.5, R2 = 27/6 = 4.5
#   SS_r   = n_t n_s * sum (m_r - 4)^2 = 6 * (0.25 + 0.25) = 3,           df 1 -> MS_r = 3
#   SS_tot = sum (x - 4)^2 = 0+1+4+1+4+4+1+9+9+1+1+1 = 36
#   SS_res = 36 - 26 - 5 - 3 = 2,                df (n_t n_s - 1)(n_r - 1) = 5 -> MS_res = 0.4
# Expected mean squares give
#   var_res = MS_res                        = 0.4
#   var_r   = (MS_r - MS_res) / (n_t n_s)   = 2.6 / 6        = 13/30
#   var_s:t = (MS_s:t - MS_res) / n_r       = (5/3 - 2/5) / 2 = 19/30
#   var_t   = (MS_t - MS_s:t) / (n_s n_r)   = (13 - 5/3) / 4  = 17/6
HAND = {"trainee": 17 / 6, "session:trainee": 19 / 30, "rater": 13 / 30, "residual": 0.4}


def test_g_study_anova_matches_hand_calculation():
    g = R.g_study(balanced())
    assert g["balanced"] is True and g["method"].startswith("ANOVA")
    for name, value in HAND.items():
        assert g["components"][name] == pytest.approx(value, abs=1e-12), name
    assert g["mean_squares"] == pytest.approx(
        {"trainee": 13.0, "session:trainee": 5 / 3, "rater": 3.0, "residual": 0.4}
    )
    assert (g["n_trainees"], g["n_sessions"], g["n_raters"], g["n_scores"]) == (3, 6, 2, 12)
    assert g["warnings"] == []


def test_g_study_reml_agrees_with_anova_on_balanced_data():
    """For balanced data with positive estimates REML equals the ANOVA estimator."""
    g = R.g_study(balanced(), method="reml")
    assert g["method"].startswith("REML")
    for name, value in HAND.items():
        assert g["components"][name] == pytest.approx(value, abs=1e-3), name


def test_g_study_session_labels_are_nested_in_trainees():
    """Session "S1" of T1 and "S1" of T2 are different sessions."""
    g = R.g_study(balanced())
    assert g["n_sessions"] == 6


def test_g_study_negative_estimate_set_to_zero_with_warning():
    # Each trainee's two sessions have equal means, so MS_s:t = 0 < MS_res and
    # var_s:t = (0 - MS_res) / n_r < 0.
    df = pd.DataFrame(
        [("T1", "S1", "A", 1), ("T1", "S1", "B", 3), ("T1", "S2", "A", 3), ("T1", "S2", "B", 1),
         ("T2", "S1", "A", 4), ("T2", "S1", "B", 6), ("T2", "S2", "A", 6), ("T2", "S2", "B", 4),
         ("T3", "S1", "A", 2), ("T3", "S1", "B", 3), ("T3", "S2", "A", 3), ("T3", "S2", "B", 2)],
        columns=["trainee", "session", "rater", "score"],
    )
    g = R.g_study(df)
    assert g["components"]["session:trainee"] == 0.0
    assert any("session:trainee" in w and "set to 0" in w for w in g["warnings"])
    assert all(v >= 0 for v in g["components"].values())


def test_g_study_unbalanced_uses_moments():
    rng = np.random.default_rng(5)
    rows = []
    for t in range(12):
        t_eff = rng.normal(0, 1.0)
        for s in range(4):
            s_eff = rng.normal(0, 0.5)
            for r, r_eff in zip(("A", "B", "C"), (0.0, 0.3, -0.3)):
                rows.append((f"T{t}", f"S{s}", r, 3 + t_eff + s_eff + r_eff + rng.normal(0, 0.4)))
    df = pd.DataFrame(rows, columns=["trainee", "session", "rater", "score"])
    # Only some sessions double-rated, one trainee with 3 sessions: unbalanced.
    keep = (df["rater"] == "A") | ((df["session"] == "S0") & (df["rater"] != "C"))
    keep &= ~((df["trainee"] == "T0") & (df["session"] == "S3"))
    g = R.g_study(df[keep])
    assert g["balanced"] is False and g["method"].startswith("moments")
    assert all(v >= 0 for v in g["components"].values())
    assert g["components"]["trainee"] > g["components"]["residual"]
    with pytest.raises(ReliabilityError, match="balanced design"):
        R.g_study(df[keep], method="anova")


def test_g_study_refuses_bad_data():
    df = balanced()
    with pytest.raises(ReliabilityError, match="at least 2 raters"):
        R.g_study(df[df["rater"] == "R1"])
    with pytest.raises(ReliabilityError, match="missing column.*'score'"):
        R.g_study(df.drop(columns="score"))
    with pytest.raises(ReliabilityError, match="twice"):
        R.g_study(pd.concat([df, df.iloc[[0]]]))
    with pytest.raises(ReliabilityError, match="not a number"):
        R.g_study(df.assign(score=df["score"].astype(object).where(df.index != 3, "high")))


def test_d_study_formula_on_hand_components():
    g = R.g_study(balanced())
    table = R.d_study(g)  # whole result accepted
    assert list(table.columns) == ["n_raters", "n_sessions", "abs_error_variance", "phi"]
    assert len(table) == 4 * 6
    one = table[(table.n_raters == 1) & (table.n_sessions == 1)].iloc[0]
    # phi = (17/6) / (17/6 + 19/30 + 13/30 + 2/5) = (85/30) / (129/30) = 85/129
    assert one["phi"] == pytest.approx(85 / 129, abs=1e-12)
    row = table[(table.n_raters == 2) & (table.n_sessions == 3)].iloc[0]
    err = (19 / 30) / 3 + (13 / 30) / 2 + 0.4 / 6
    assert row["abs_error_variance"] == pytest.approx(err, abs=1e-12)
    assert row["phi"] == pytest.approx((17 / 6) / (17 / 6 + err), abs=1e-12)
    # More raters or more sessions never lowers dependability.
    grid = table.pivot(index="n_raters", columns="n_sessions", values="phi").to_numpy()
    assert (np.diff(grid, axis=0) > 0).all() and (np.diff(grid, axis=1) > 0).all()


def test_d_study_simple_components():
    comps = {"trainee": 1.0, "session:trainee": 0.5, "rater": 0.25, "residual": 1.0}
    table = R.d_study(comps, raters=[2], sessions=[4])
    # error = 0.5/4 + 0.25/2 + 1/(4*2) = 0.375 -> phi = 1 / 1.375
    assert table["phi"].tolist() == [pytest.approx(1 / 1.375, abs=1e-12)]
    zero_t = R.d_study({**comps, "trainee": 0.0}, raters=[1], sessions=[1])
    assert zero_t["phi"].tolist() == [0.0]
    with pytest.raises(ReliabilityError, match="all variance components are 0"):
        R.d_study({k: 0.0 for k in comps}, raters=[1], sessions=[1])
    with pytest.raises(ReliabilityError, match="components must have"):
        R.d_study({"trainee": 1.0})


def _brute_force_components(df):
    """Koch's estimator written pair by pair (O(n^2)), to check the grouped sums."""
    rec = df.to_dict("records")
    acc = {k: [0.0, 0] for k in ("ss", "tr", "tsr", "ot_r", "ot_or")}
    for i in range(len(rec)):
        for j in range(i + 1, len(rec)):
            a, b = rec[i], rec[j]
            d2 = (a["score"] - b["score"]) ** 2
            same_t, same_s, same_r = a["trainee"] == b["trainee"], same_t_s(a, b), a["rater"] == b["rater"]
            key = ("ss" if same_s else "tr" if same_t and same_r else "tsr" if same_t
                   else "ot_r" if same_r else "ot_or")
            acc[key][0] += d2
            acc[key][1] += 1
    h = {k: v[0] / v[1] / 2 for k, v in acc.items()}
    r = h["tsr"] - h["tr"]
    e = h["ss"] - r
    st = h["tr"] - e
    t = h["ot_r"] - st - e
    return {"trainee": t, "session:trainee": st, "rater": r, "residual": e}


def same_t_s(a, b):
    return a["trainee"] == b["trainee"] and a["session"] == b["session"]


def test_symmetric_sums_match_pair_by_pair_computation():
    """The grouped n*sum(x^2) - (sum x)^2 identities equal the explicit pair sums (Koch 1967)."""
    rng = np.random.default_rng(11)
    rows = []
    for t in range(6):
        for s in range(3):
            raters = rng.choice(["A", "B", "C", "D"], size=2, replace=False)
            for r in raters:
                rows.append((f"T{t}", f"S{s}", r, float(rng.integers(1, 6))))
    df = pd.DataFrame(rows, columns=["trainee", "session", "rater", "score"])
    g = R.g_study(df, method="moments")
    expected = _brute_force_components(df)
    for k, v in expected.items():
        assert g["components"][k] == pytest.approx(max(v, 0.0), abs=1e-9), k


def test_symmetric_sums_recover_known_components_with_rotating_rater_pairs():
    """Simulated fidelity data as rated in practice: each session by 2 of 10 raters."""
    rng = np.random.default_rng(2024)
    true = {"trainee": 0.25, "session:trainee": 0.15, "rater": 0.10, "residual": 0.20}
    r_eff = rng.normal(0, true["rater"] ** 0.5, 10)
    rows = []
    for t in range(400):
        te = rng.normal(0, true["trainee"] ** 0.5)
        for s in range(4):
            se = rng.normal(0, true["session:trainee"] ** 0.5)
            for r in rng.choice(10, size=2, replace=False):
                rows.append((t, f"{t}-{s}", int(r), 3 + te + se + r_eff[r] + rng.normal(0, true["residual"] ** 0.5)))
    df = pd.DataFrame(rows, columns=["trainee", "session", "rater", "score"])
    g = R.g_study(df)
    assert g["method"].startswith("moments")
    # the rater component rests on only 10 raters' effects: compare with their sample variance
    assert g["components"]["rater"] == pytest.approx(float(np.var(r_eff, ddof=1)), abs=0.05)
    for k in ("trainee", "session:trainee", "residual"):
        assert g["components"][k] == pytest.approx(true[k], abs=0.05), k
