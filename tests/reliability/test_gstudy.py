"""Tests for the generalizability (G) and decision (D) studies in ipt_training.reliability."""

from __future__ import annotations

import json
from pathlib import Path

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
#   trainee means  T1 = 3.5, T2 = 6, T3 = 2.5:  SS_t = 4 * (0.25 + 4 + 2.25) = 26, df 2 -> MS_t = 13
#   session means 4.5, 2.5 | 6, 6 | 2, 3:      SS_s:t = 2 * (1 + 1 + 0 + 0 + 0.25 + 0.25) = 5, df 3 -> 5/3
#   rater means R1 = 3.5, R2 = 4.5:            SS_r = 6 * (0.25 + 0.25) = 3, df 1 -> MS_r = 3
#   trainee x rater means 3, 4 | 5.5, 6.5 | 2, 3: every m_tr - m_t - m_r + 4 = 0, so SS_tr = 0, df 2
#   SS_tot = 36, SS_res = 36 - 26 - 5 - 3 - 0 = 2, df n_t (n_s - 1)(n_r - 1) = 3 -> MS_res = 2/3
# Expected mean squares of (s:p) x r give
#   res = 2/3;  pr = (0 - 2/3) / 2 = -1/3 (negative: set to 0);  s = (5/3 - 2/3) / 2 = 1/2
#   r = (MS_r - MS_pr) / (n_t n_s) = 3/6 = 1/2;  p = (13 - 5/3 - 0 + 2/3) / 4 = 3
HAND = {"trainee": 3.0, "session": 0.5, "rater": 0.5, "trainee_x_rater": 0.0, "residual": 2 / 3}


def test_g_study_anova_matches_hand_calculation():
    g = R.g_study(balanced())
    assert g["balanced"] is True and g["method"].startswith("ANOVA")
    for name, value in HAND.items():
        assert g["components"][name] == pytest.approx(value, abs=1e-12), name
    assert g["mean_squares"] == pytest.approx(
        {"trainee": 13.0, "session": 5 / 3, "rater": 3.0, "trainee_x_rater": 0.0, "residual": 2 / 3}
    )
    assert (g["n_trainees"], g["n_sessions"], g["n_raters"], g["n_scores"]) == (3, 6, 2, 12)
    assert any("trainee x rater" in w and "negative" in w and "set to 0" in w for w in g["warnings"])
    assert "interaction estimated" in g["design"]


def test_g_study_anova_equals_lme4_reml_on_balanced_data():
    """Issue 11.5: with no negative estimate the EMS components equal lme4's REML
    (tests/reliability/r/reference.R: score ~ (1|trainee) + (1|trainee:session) + (1|rater) + (1|trainee:rater))."""
    ref = json.loads((Path(__file__).resolve().parent / "r" / "reference.json").read_text())["gstudy"]
    g = R.g_study(pd.read_csv(Path(__file__).resolve().parent / "r" / "gstudy_balanced.csv"))
    assert g["balanced"] and g["warnings"] == []
    for name in R.G_COMPONENTS:
        assert g["components"][name] == pytest.approx(ref[name], abs=1e-5), name


def test_reml_option_is_gone():
    with pytest.raises(ReliabilityError, match="'auto', 'anova' or 'moments'"):
        R.g_study(balanced(), method="reml")


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
    assert g["components"]["session"] == 0.0
    assert any("session variance" in w and "set to 0" in w for w in g["warnings"])
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
    assert list(table.columns) == ["n_raters", "n_sessions", "rel_error_variance", "abs_error_variance", "g", "phi"]
    assert len(table) == 4 * 6
    one = table[(table.n_raters == 1) & (table.n_sessions == 1)].iloc[0]
    # delta = 1/2 + 0 + 2/3 = 7/6, Delta = 7/6 + 1/2 = 5/3: G = 3 / (3 + 7/6) = 18/25, phi = 3 / (3 + 5/3) = 9/14
    assert one["g"] == pytest.approx(18 / 25, abs=1e-12)
    assert one["phi"] == pytest.approx(9 / 14, abs=1e-12)
    row = table[(table.n_raters == 2) & (table.n_sessions == 3)].iloc[0]
    rel = 0.5 / 3 + (2 / 3) / 6
    assert row["rel_error_variance"] == pytest.approx(rel, abs=1e-12)
    assert row["abs_error_variance"] == pytest.approx(rel + 0.5 / 2, abs=1e-12)
    assert row["phi"] == pytest.approx(3 / (3 + rel + 0.25), abs=1e-12)
    grid = table.pivot(index="n_raters", columns="n_sessions", values="phi").to_numpy()
    assert (np.diff(grid, axis=0) > 0).all() and (np.diff(grid, axis=1) > 0).all()
    assert (table["g"] >= table["phi"]).all()


def test_d_study_interaction_lowers_projected_dependability():
    """Issue 11.5: pooling trainee x rater into the residual overstated phi; kept apart it is
    divided by n_r only, not n_s n_r."""
    comps = {"trainee": 1.0, "session": 0.5, "rater": 0.25, "trainee_x_rater": 0.4, "residual": 0.6}
    table = R.d_study(comps, raters=[2], sessions=[4])
    # Delta = 0.5/4 + 0.4/2 + 0.6/8 + 0.25/2 = 0.525 -> phi = 1 / 1.525
    assert table["phi"].tolist() == [pytest.approx(1 / 1.525, abs=1e-12)]
    pooled = R.d_study({**comps, "trainee_x_rater": 0.0, "residual": 1.0}, raters=[2], sessions=[4])
    assert pooled["phi"].iloc[0] > table["phi"].iloc[0]
    with pytest.raises(ReliabilityError, match="all variance components are 0"):
        R.d_study({k: 0.0 for k in comps}, raters=[1], sessions=[1])
    with pytest.raises(ReliabilityError, match="components must have"):
        R.d_study({"trainee": 1.0})


def _brute_force_components(df):
    """Koch's estimator written pair by pair (O(n^2)), to check the grouped sums."""
    rec = df.to_dict("records")
    acc = {k: [0.0, 0] for k in "ABCDE"}
    for i in range(len(rec)):
        for j in range(i + 1, len(rec)):
            a, b = rec[i], rec[j]
            d2 = (a["score"] - b["score"]) ** 2
            same_t = a["trainee"] == b["trainee"]
            same_s = same_t and a["session"] == b["session"]
            same_r = a["rater"] == b["rater"]
            key = ("A" if same_s else "B" if same_t and same_r else "C" if same_t
                   else "D" if same_r else "E")
            acc[key][0] += d2
            acc[key][1] += 1
    h = {k: v[0] / v[1] / 2 for k, v in acc.items()}
    e = h["A"] + h["B"] - h["C"]
    r = h["E"] - h["D"]
    pr = h["A"] - e - r
    s = h["B"] - e
    return {"trainee": h["D"] - s - pr - e, "session": s, "rater": r, "trainee_x_rater": pr, "residual": e}


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
    """Simulated fidelity data as rated in practice: each session by 2 of 10 raters, with a
    trainee x rater interaction."""
    rng = np.random.default_rng(2024)
    true = {"trainee": 0.25, "session": 0.15, "rater": 0.10, "trainee_x_rater": 0.10, "residual": 0.20}
    r_eff = rng.normal(0, true["rater"] ** 0.5, 10)
    rows, t_eff = [], []
    for t in range(400):
        te = rng.normal(0, true["trainee"] ** 0.5)
        t_eff.append(te)
        pr = rng.normal(0, true["trainee_x_rater"] ** 0.5, 10)
        for s in range(4):
            se = rng.normal(0, true["session"] ** 0.5)
            for r in rng.choice(10, size=2, replace=False):
                rows.append((t, f"{t}-{s}", int(r),
                             3 + te + se + r_eff[r] + pr[r] + rng.normal(0, true["residual"] ** 0.5)))
    df = pd.DataFrame(rows, columns=["trainee", "session", "rater", "score"])
    g = R.g_study(df)
    assert g["method"].startswith("moments") and g["interaction_separated"]
    # trainee and rater components rest on the effects drawn: compare with their sample variances
    assert g["components"]["rater"] == pytest.approx(float(np.var(r_eff, ddof=1)), abs=0.05)
    assert g["components"]["trainee"] == pytest.approx(float(np.var(t_eff, ddof=1)), abs=0.05)
    for k in ("session", "trainee_x_rater", "residual"):
        assert g["components"][k] == pytest.approx(true[k], abs=0.05), k


def test_gstudy_command_json_contract(tmp_path, capsys):
    from ipt_training.reliability.command import cli_gstudy

    path = tmp_path / "g.csv"
    balanced().rename(columns={"trainee": "who", "score": "total"}).to_csv(path, index=False)
    assert cli_gstudy([str(path), "--person", "who", "--score", "total", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) >= {"design", "method", "n", "components", "d_study"}
    assert set(res["components"]) == {"trainee", "session", "rater", "trainee_x_rater", "residual"}
    assert res["components"]["trainee"] == pytest.approx(3.0, abs=1e-12)
    assert [(r["sessions"], r["raters"]) for r in res["d_study"]] == [(s, r) for s in range(1, 7) for r in range(1, 5)]
    first = res["d_study"][0]
    assert (first["g"], first["phi"]) == (pytest.approx(18 / 25), pytest.approx(9 / 14))
    assert cli_gstudy([str(path)]) == 2
    err = capsys.readouterr().err
    assert "no columns 'trainee', 'score'" in err and "Traceback" not in err
    assert cli_gstudy([str(path), "--person", "who", "--score", "total"]) == 0
    assert "D study" in capsys.readouterr().out
