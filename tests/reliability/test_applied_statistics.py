"""Issue 11: statistics applied the way the platform rates (rotating raters, ICCs that cannot be
ICCs, the rating scale, continuous data, one target, messages). Reference values: pingouin, the
krippendorff package, R (lme4, aov; tests/reliability/r/reference.R) and hand-worked sums."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import f_oneway

from ipt_training import reliability as R
from ipt_training.reliability import ReliabilityError
from ipt_training.reliability.command import cli_reliability

RDIR = Path(__file__).resolve().parent / "r"
REF = json.loads((RDIR / "reference.json").read_text())


def long(rows):
    return pd.DataFrame(rows, columns=["target", "rater", "rating"])


def two_raters(a, b):
    return long([(f"t{i}", "A", x) for i, x in enumerate(a)] + [(f"t{i}", "B", y) for i, y in enumerate(b)])


def pingouin_icc(df):
    """pingouin's table at full precision (it rounds CIs to 2 decimals by default)."""
    import pingouin

    saved = {k: pingouin.options.get(k) for k in ("round", "round.column.CI95")}
    pingouin.options.update({"round": None, "round.column.CI95": None})
    try:
        return pingouin.intraclass_corr(df, targets="target", raters="rater", ratings="rating").set_index("Type")
    finally:
        pingouin.options.update(saved)


def run_cli(capsys, *argv):
    code = cli_reliability(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- 1. every target with two or more ratings ----------------------------------------------


def test_crossed_icc_a1_within_002_of_lme4_reml_on_rotating_design():
    """300 targets, 12 rotating raters: Henderson III ICC(A,1) against lmer(... (1|target) + (1|rater))."""
    res = R.icc_crossed(pd.read_csv(RDIR / "rotating.csv"))
    assert res["n_targets"] == 300
    assert res["value"] == pytest.approx(REF["rotating"]["icc_a1"], abs=0.02)
    for comp in ("target", "rater", "residual"):
        assert res["components"][comp] == pytest.approx(REF["rotating"][comp], abs=0.06), comp
    assert "Henderson" in res["method"]


def test_oneway_icc_with_k0_matches_r_aov_on_unbalanced_groups():
    res = R.icc_oneway(pd.read_csv(RDIR / "oneway_unbalanced.csv"))
    ref = REF["oneway"]
    assert res["k0"] == pytest.approx(ref["k0"], abs=1e-10)
    assert res["ICC(1,1)"]["value"] == pytest.approx(ref["icc"], abs=1e-10)
    assert res["ICC(1,1)"]["ci95"] == pytest.approx([ref["lo"], ref["hi"]], abs=1e-10)
    assert res["ICC(1,1)"]["F"] == pytest.approx(ref["F"], abs=1e-9)
    assert "Searle" in res["ci_method"]


def test_oneway_icc_uses_targets_with_missing_raters():
    """Issue 11.7: ICC(1,.) no longer drops targets; its F is scipy's one-way ANOVA on all of them."""
    df = pd.read_csv(RDIR / "oneway_unbalanced.csv")
    summary = R.summarize(df)
    groups = [g["rating"].to_numpy() for _, g in df.groupby("target")]
    F = f_oneway(*groups).statistic
    n = np.array([len(g) for g in groups])
    k0 = (n.sum() - (n ** 2).sum() / n.sum()) / (len(n) - 1)
    assert summary["icc"]["ICC(1,1)"]["value"] == pytest.approx((F - 1) / (F + k0 - 1), abs=1e-10)
    assert summary["icc"]["ICC(1,k)"]["value"] == pytest.approx(1 - 1 / F, abs=1e-10)


def test_oneway_equals_pingouin_on_balanced_data():
    rng = np.random.default_rng(1)
    df = long([(f"t{t}", r, float(rng.integers(1, 6))) for t in range(15) for r in "abc"])
    ours = R.icc(df)
    ref = pingouin_icc(df)
    assert ours["ICC(1,1)"]["value"] == pytest.approx(ref.at["ICC(1,1)", "ICC"], abs=1e-12)
    assert R.icc_oneway(df)["ICC(1,1)"]["value"] == pytest.approx(ref.at["ICC(1,1)", "ICC"], abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_two_way_forms_equal_pingouin(seed):
    rng = np.random.default_rng(seed)
    truth = rng.normal(3, 1, 12)
    df = long([(f"t{t}", r, round(truth[t] + rng.normal(0, 0.7) + (0.5 if r == "b" else 0), 2))
               for t in range(12) for r in "abcd"])
    ours = R.icc(df)
    ref = pingouin_icc(df)
    names = {"ICC(1,1)": "ICC(1,1)", "ICC(2,1)": "ICC(A,1)", "ICC(3,1)": "ICC(C,1)",
             "ICC(1,k)": "ICC(1,k)", "ICC(2,k)": "ICC(A,k)", "ICC(3,k)": "ICC(C,k)"}
    for ours_name, pg_name in names.items():
        entry = ours[ours_name]
        assert entry["value"] == pytest.approx(ref.at[pg_name, "ICC"], abs=1e-12), ours_name
        lo, hi = np.asarray(ref.at[pg_name, "CI95"], dtype=float)
        assert entry["ci95"] == pytest.approx([max(-1.0, lo), min(1.0, hi)], abs=1e-9), ours_name
        assert entry["p"] == pytest.approx(ref.at[pg_name, "pval"], rel=1e-9, abs=1e-300)


def test_cli_json_icc_all_targets_contract(tmp_path, capsys):
    path = tmp_path / "rot.csv"
    pd.read_csv(RDIR / "rotating.csv").to_csv(path, index=False)
    code, out, err = run_cli(capsys, str(path), "--json")
    assert code == 0, err
    block = json.loads(out)["icc_all_targets"]
    assert set(block) == {"ICC(1,1)", "ICC(A,1)", "n_targets"}
    assert block["n_targets"] == 300
    assert set(block["ICC(1,1)"]) == {"value", "ci95"} and len(block["ICC(1,1)"]["ci95"]) == 2
    lo, hi = block["ICC(1,1)"]["ci95"]
    assert lo < block["ICC(1,1)"]["value"] < hi
    assert set(block["ICC(A,1)"]) == {"value", "method"} and "Henderson" in block["ICC(A,1)"]["method"]
    assert block["ICC(A,1)"]["value"] == pytest.approx(REF["rotating"]["icc_a1"], abs=0.02)


def test_icc_all_targets_needs_three_targets_with_two_ratings():
    df = long([("t1", "a", 1), ("t1", "b", 2), ("t2", "a", 3), ("t2", "b", 3), ("t3", "a", 4)])
    summary = R.summarize(df)
    assert summary["icc_all_targets"] is None
    assert any("ICC on all targets not computed" in w for w in summary["warnings"])
    df = long([("t1", "a", 1), ("t1", "b", 2), ("t2", "c", 3), ("t2", "d", 4), ("t3", "a", 5), ("t3", "d", 4)])
    assert R.summarize(df)["icc_all_targets"]["n_targets"] == 3


# --- 2. values that cannot be ICCs ----------------------------------------------------------


def test_raters_swapping_2_and_4_get_no_icc_outside_minus_one_one():
    """Issue 11.2: two raters who swap 2<->4 got ICC(2,k) = 5.0 labelled excellent."""
    df = two_raters([2, 4, 2, 4, 3, 3], [4, 2, 4, 2, 3, 3])
    summary = R.summarize(df)
    for name, entry in summary["icc"].items():
        if entry["value"] is not None:
            assert -1 <= entry["value"] <= 1, name
    assert summary["icc"]["ICC(2,k)"]["value"] is None and summary["icc"]["ICC(2,k)"]["ci95"] == [None, None]
    assert any("ICC(2,k) is reported as null" in w and "outside [-1, 1]" in w for w in summary["warnings"])
    table = R.format_summary_table(summary)
    row = next(line for line in table.splitlines() if line.startswith("ICC(2,k)"))
    assert "excellent" not in row and "poor" not in row and "n/a" in row


def test_strongly_negatively_correlated_raters():
    a = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    summary = R.summarize(two_raters(a, [6 - x for x in a]))
    values = [e["value"] for e in summary["icc"].values() if e is not None and e["value"] is not None]
    assert all(-1 <= v <= 1 for v in values)
    assert any("outside [-1, 1]" in w for w in summary["warnings"])


def test_huge_ratings_are_null_with_a_reason_not_perfect_agreement():
    """Issue 11.2: ratings near 1e308 overflow; not 'raters agree perfectly'."""
    df = two_raters([1e308, -1e308, 5e307, 0], [1e308, -1e308, 4e307, 1])
    summary = R.summarize(df)
    assert summary["icc"] is None
    joined = " ".join(summary["warnings"])
    assert "overflow" in joined and "agree perfectly" not in joined
    assert summary["krippendorff_alpha"]["interval"] is None


# --- 3. scale, continuous ratings, one target ------------------------------------------------


def test_ac1_with_scale_uses_q_scale_points_hand_worked():
    """Targets (1,1), (1,1), (2,2), (1,2): p_a = .75, pi = (.625, .375).
    q = 2 (categories used): p_e = .46875, AC1 = .28125/.53125; q = 5 (scale 1..5):
    p_e = .46875/4 = .1171875, AC1 = .6328125/.8828125 (Gwet 2014)."""
    df = two_raters([1, 1, 2, 1], [1, 1, 2, 2])
    assert R.gwet_ac1(df) == pytest.approx(0.28125 / 0.53125, abs=1e-12)
    assert R.gwet_ac1(df, categories=[1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(0.6328125 / 0.8828125, abs=1e-12)
    summary = R.summarize(df, scale=(1, 5))
    assert summary["gwet_ac1"] == pytest.approx(0.6328125 / 0.8828125, abs=1e-12)
    assert summary["scale"] == [1, 5]


def test_cli_scale_option(tmp_path, capsys):
    path = tmp_path / "r.csv"
    two_raters([1, 1, 2, 1], [1, 1, 2, 2]).to_csv(path, index=False)
    code, out, err = run_cli(capsys, str(path), "--scale", "1", "5", "--json")
    assert code == 0, err
    assert json.loads(out)["gwet_ac1"] == pytest.approx(0.6328125 / 0.8828125, abs=1e-12)
    code, out, err = run_cli(capsys, str(path), "--scale", "2", "5")
    assert code == 2 and out == ""
    assert "rating 1 " in err and "scale 2 to 5" in err and err.strip().endswith(".")
    assert "Traceback" not in err


def test_kappa_uses_the_scale_categories():
    """With the full category set an unused scale point counts in the rank weights."""
    df = two_raters([1, 2, 5, 5, 1], [1, 2, 5, 2, 2])
    scale = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert R.cohen_kappa(df, scores="ranks", categories=scale)["linear"] == pytest.approx(
        R.cohen_kappa(df, scores="values")["linear"], abs=1e-12)


def test_continuous_ratings_warn_each_value_is_a_category():
    rng = np.random.default_rng(3)
    a = rng.normal(3, 1, 12).round(2)
    summary = R.summarize(two_raters(a, a + rng.normal(0, 0.1, 12).round(2)))
    assert any("each distinct value as a category" in w for w in summary["warnings"])
    integer = R.summarize(two_raters([1, 2, 3, 4], [1, 2, 3, 3]))
    assert not any("each distinct value as a category" in w for w in integer["warnings"])


def test_one_target_alpha_and_ac1_are_null_with_warning():
    df = long([("t1", "a", 2), ("t1", "b", 4), ("t1", "c", 4)])
    with pytest.raises(ReliabilityError, match="0 by construction"):
        R.krippendorff_alpha(df)
    with pytest.raises(ReliabilityError, match="one target"):
        R.gwet_ac1(df)
    summary = R.summarize(df)
    assert summary["gwet_ac1"] is None and summary["krippendorff_alpha"]["nominal"] is None
    assert any(w.startswith("Gwet's AC1 not computed") for w in summary["warnings"])
    assert any(w.startswith("Krippendorff's nominal alpha not computed") for w in summary["warnings"])


def test_one_shared_target_percent_agreement_is_null():
    df = long([("t1", "a", 2), ("t1", "b", 2), ("t2", "a", 3), ("t3", "b", 4)])
    summary = R.summarize(df)
    assert summary["percent_agreement"] is None
    assert any(w.startswith("Percent agreement not computed") and "share 1" in w for w in summary["warnings"])


# --- 7. messages and bands ------------------------------------------------------------------


def test_no_numpy_reprs_in_messages(tmp_path, capsys):
    path = tmp_path / "inf.csv"
    path.write_text("target,rater,rating\nt1,a,1\nt1,b,inf\nt2,a,2\nt2,b,2\n")
    code, _, err = run_cli(capsys, str(path))
    assert code == 2 and "np.float64" not in err and "rating inf" in err
    summary = R.summarize(two_raters([4, 4, 4], [4, 4, 4]))
    assert summary["warnings"] and not any("np.float" in w for w in summary["warnings"])


def test_landis_koch_only_for_unweighted_kappas():
    summary = R.summarize(two_raters([1, 2, 3, 4, 5, 3, 2, 4], [1, 2, 3, 5, 5, 3, 1, 4]))
    table = R.format_summary_table(summary)
    rows = {line.split("  ")[0]: line for line in table.splitlines()}
    assert "Landis & Koch 1977)" in rows["Cohen's kappa"]
    assert "Landis & Koch 1977)" in rows["Fleiss' kappa"]
    for name in ("Gwet's AC1", "Cohen's kappa (quadratic)", "Cohen's kappa (linear)"):
        assert "no benchmark scale" in rows[name] and "almost perfect" not in rows[name]


# --- 4. memory: no targets x values x values arrays -------------------------------------------


def test_continuous_ratings_of_250_targets_by_8_raters_need_no_dense_tables():
    """Issue 11.4: this once allocated 7-22 GB; now every statistic works from sparse counts.

    On 250 x 8 continuous ratings (about 2,000 distinct values) the engine's peak allocation stays
    far below one dense targets x values x values table (250 x 2,000^2 x 8 bytes = 8 GB); Fleiss'
    kappa is checked against statsmodels on the same data, and ordinal alpha against the
    krippendorff package on the same ratings rounded to one decimal (the package itself builds the
    dense table, so it is the reference only where that table is small).
    """
    import tracemalloc

    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    rng = np.random.default_rng(4)
    truth = rng.normal(3, 1, 250)
    ratings = (truth[:, None] + rng.normal(0, 0.4, (250, 8))).round(3)
    df = long([(f"t{t}", f"r{j}", ratings[t, j]) for t in range(250) for j in range(8)])
    tracemalloc.start()
    try:
        summary = R.summarize(df)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 500 * 2**20, f"peak allocation {peak / 2**20:.0f} MiB"
    table, _ = aggregate_raters(ratings)
    assert summary["fleiss_kappa"] == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-12)
    coarse = long([(f"t{t}", f"r{j}", ratings[t, j].round(1)) for t in range(250) for j in range(8)])
    assert R.summarize(coarse)["krippendorff_alpha"]["ordinal"] == pytest.approx(
        _package_alpha_small(coarse), abs=1e-12)


def _package_alpha_small(df):
    import krippendorff

    wide = df.pivot(index="rater", columns="target", values="rating").to_numpy(float)
    return krippendorff.alpha(reliability_data=wide, level_of_measurement="ordinal",
                              value_domain=np.sort(df["rating"].unique()))


@pytest.mark.parametrize("seed", range(3))
def test_ac1_from_sparse_counts_equals_the_dense_formula(seed):
    """Gwet (2014) with missing ratings, written out on the dense targets x categories table."""
    rng = np.random.default_rng(seed)
    df = long([(f"t{t}", f"r{j}", float(rng.integers(1, 5))) for t in range(30) for j in range(4)
               if rng.random() < 0.8])
    cats = [1.0, 2.0, 3.0, 4.0, 5.0]
    counts = np.zeros((df["target"].nunique(), 5))
    for n, (_, g) in enumerate(df.groupby("target", sort=False)):
        for v in g["rating"]:
            counts[n, cats.index(v)] += 1
    r = counts.sum(axis=1)
    multi = r >= 2
    p_a = np.mean((counts[multi] * (counts[multi] - 1)).sum(axis=1) / (r[multi] * (r[multi] - 1)))
    pi = (counts / r[:, None]).mean(axis=0)
    p_e = np.sum(pi * (1 - pi)) / 4
    assert R.gwet_ac1(df, categories=cats) == pytest.approx((p_a - p_e) / (1 - p_e), abs=1e-12)
