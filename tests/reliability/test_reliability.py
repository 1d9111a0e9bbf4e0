"""Tests for ipt_training.reliability against published values and hand calculations."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipt_training import reliability as R
from ipt_training.reliability import ReliabilityError

DATA = Path(__file__).resolve().parents[1] / "data"


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


def two_rater_long(a, b, raters=("A", "B")) -> pd.DataFrame:
    """Long format for two raters who rated the same targets in order."""
    rows = []
    for i, (x, y) in enumerate(zip(a, b), start=1):
        rows.append((f"t{i}", raters[0], x))
        rows.append((f"t{i}", raters[1], y))
    return pd.DataFrame(rows, columns=["target", "rater", "rating"])


def from_table(table, categories) -> pd.DataFrame:
    """Two-rater long data from a contingency table (rows rater A, columns rater B)."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [categories[i]] * count
            b += [categories[j]] * count
    return two_rater_long(a, b)


def walk_no_nan(obj, path="summary"):
    """Assert that no float anywhere in a nested structure is NaN or infinite."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            walk_no_nan(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            walk_no_nan(v, f"{path}[{i}]")
    elif isinstance(obj, float):
        assert math.isfinite(obj), f"{path} is {obj}"
    else:
        assert obj is None or isinstance(obj, (int, str, bool)), f"{path} has type {type(obj)}"


# ---------------------------------------------------------------------------
# Published values
# ---------------------------------------------------------------------------

SHROUT_FLEISS = {
    "ICC(1,1)": 0.165742,
    "ICC(2,1)": 0.289764,
    "ICC(3,1)": 0.714841,
    "ICC(1,k)": 0.442797,
    "ICC(2,k)": 0.620051,
    "ICC(3,k)": 0.909316,
}


def test_icc_shrout_fleiss_1979_all_six_forms():
    """Shrout & Fleiss (1979), Psychol. Bull. 86:420-428, Table 2 data (6 targets x 4 judges).

    Published: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71, ICC(1,4) .44, ICC(2,4) .62,
    ICC(3,4) .91; full precision as given by R psych::ICC on the same data.
    """
    result = R.icc(load("shrout_fleiss_1979.csv"))
    assert list(result) == list(SHROUT_FLEISS)
    for name, published in SHROUT_FLEISS.items():
        entry = result[name]
        assert entry["value"] == pytest.approx(published, abs=1e-5), name
        lo, hi = entry["ci95"]
        assert lo < entry["value"] < hi, name
        for key in ("value", "F", "df1", "df2", "p"):
            assert type(entry[key]) is float, (name, key)
        assert all(type(c) is float for c in entry["ci95"])
    # Degrees of freedom of the F tests: one-way (n-1, n(k-1)) and two-way (n-1, (n-1)(k-1)).
    assert (result["ICC(1,1)"]["df1"], result["ICC(1,1)"]["df2"]) == (5.0, 18.0)
    assert (result["ICC(2,1)"]["df1"], result["ICC(2,1)"]["df2"]) == (5.0, 15.0)


def test_icc_ci_is_full_precision_not_rounded():
    """pingouin rounds CIs to 2 decimals by default; ours must keep full precision."""
    lo, hi = R.icc_2_1(load("shrout_fleiss_1979.csv"))["ci95"]
    assert round(lo, 2) != lo and round(hi, 2) != hi


def test_icc_leaves_pingouin_options_unchanged():
    import pingouin

    before = dict(pingouin.options)
    R.icc(load("shrout_fleiss_1979.csv"))
    assert dict(pingouin.options) == before


def test_icc_2_1_convenience_matches_icc():
    df = load("shrout_fleiss_1979.csv")
    assert R.icc_2_1(df) == R.icc(df)["ICC(2,1)"]


def test_fleiss_kappa_fleiss_1971():
    """Fleiss (1971), Psychol. Bull. 76:378-382: 30 patients x 6 ratings, kappa = .430.

    Full precision 0.4302445 as given by R irr::kappam.fleiss(diagnoses).
    """
    assert R.fleiss_kappa(load("fleiss_1971_diagnoses.csv")) == pytest.approx(0.4302445, abs=1e-6)


@pytest.mark.parametrize(
    "level, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_2011_alpha(level, published):
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", p. 8 example
    (4 coders x 12 units, 7 missing values): nominal .743, ordinal .815, interval .849."""
    df = load("krippendorff_2011_reliability_data.csv")
    assert R.krippendorff_alpha(df, level) == pytest.approx(published, abs=5e-4)


def _package_alpha(df: pd.DataFrame, level: str) -> float:
    """The krippendorff package on the raters x targets matrix (the independent reference)."""
    import krippendorff

    d = R.validate_long(df)
    wide = d.pivot(index="rater", columns="target", values="rating")
    values = wide.to_numpy(float)
    domain = np.sort(pd.unique(d["rating"].to_numpy(float)))
    return krippendorff.alpha(reliability_data=values, value_domain=domain, level_of_measurement=level)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("seed", range(6))
def test_krippendorff_alpha_from_coincidences_matches_package(level, seed):
    """Issue 11.4: alpha from the coincidence matrix's margins equals the package to 1e-12,
    on ordinal and continuous ratings with missing values."""
    rng = np.random.default_rng(seed)
    n_t, n_r = 40, 4
    truth = rng.integers(1, 6, n_t)
    ratings = np.clip(truth[:, None] + rng.integers(-1, 2, (n_t, n_r)), 1, 5).astype(float)
    if seed % 2:  # continuous scores
        ratings = ratings + rng.normal(0, 0.3, ratings.shape).round(2)
    df = pd.DataFrame({"target": np.repeat(np.arange(n_t), n_r), "rater": np.tile(list("abcd"), n_t),
                       "rating": ratings.ravel()}).sample(frac=0.8, random_state=seed)
    assert R.krippendorff_alpha(df, level) == pytest.approx(_package_alpha(df, level), abs=1e-12)


def test_krippendorff_alpha_categories_match_package():
    df = two_rater_long(list("aabbcab"), list("abbbcac"))
    assert R.krippendorff_alpha(df) == pytest.approx(
        _package_alpha(df.assign(rating=df["rating"].map({"a": 1, "b": 2, "c": 3})), "nominal"), abs=1e-12)


def test_krippendorff_data_icc_drops_incomplete_targets():
    """Units 1, 10, 11, 12 of Krippendorff's example lack some coder: the ICC leaves them out."""
    df = load("krippendorff_2011_reliability_data.csv")
    complete, dropped = R.icc_complete_targets(df)
    assert dropped == 4
    assert sorted(complete["target"].unique()) == [
        "U02", "U03", "U04", "U05", "U06", "U07", "U08", "U09"
    ]
    summary = R.summarize(df)
    assert summary["icc_targets_dropped"] == 4
    assert summary["icc"] is not None
    assert any("4 of 12 targets" in w for w in summary["warnings"])
    # Fleiss' kappa needs complete data; it is null with a reason.
    assert summary["fleiss_kappa"] is None
    assert any("Fleiss' kappa" in w and "Krippendorff" in w for w in summary["warnings"])
    with pytest.raises(ReliabilityError, match="same number of ratings"):
        R.fleiss_kappa(df)


# R irr data set `anxiety` (20 subjects, 3 raters, ratings 1-6), raters 2 and 3.
ANXIETY_RATER2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
ANXIETY_RATER3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]


def test_cohen_kappa_r_irr_anxiety():
    """R irr::kappa2 on anxiety[, 2:3] (irr 0.84; output recorded in statsmodels'
    test_inter_rater.py): unweighted -0.006289308, "equal" 0.1459075, "squared" 0.2520325.

    irr weights by the rank of the observed categories (1, 2, 3, 4, 6: no rating of 5),
    which is our scores="ranks".
    """
    df = two_rater_long(ANXIETY_RATER2, ANXIETY_RATER3)
    ranks = R.cohen_kappa(df, scores="ranks")
    assert ranks["unweighted"] == pytest.approx(-0.006289308, abs=1e-8)
    assert ranks["linear"] == pytest.approx(0.1459075, abs=1e-7)
    assert ranks["quadratic"] == pytest.approx(0.2520325, abs=1e-7)
    # With the default value scores the gap between 4 and 6 counts as 2 points, so the
    # weighted values differ while the unweighted kappa does not.
    values = R.cohen_kappa(df)
    assert values["unweighted"] == ranks["unweighted"]
    assert values["linear"] != pytest.approx(ranks["linear"], abs=1e-3)
    assert values["quadratic"] != pytest.approx(ranks["quadratic"], abs=1e-3)


def test_cohen_kappa_hand_computed_3x3():
    """Hand computation on a 3x3 table (rows rater A, columns rater B, n = 15):

            B=1  B=2  B=3 | row
      A=1    4    1    0  |  5
      A=2    1    3    1  |  5
      A=3    0    2    3  |  5
      col    5    6    4

    Unweighted: p_o = (4+3+3)/15 = 2/3; p_e = (5*5 + 5*6 + 5*4)/225 = 1/3;
      kappa = (2/3 - 1/3) / (1 - 1/3) = 1/2.
    Linear (disagreement weights |i-j|): observed sum w*n = 1+1+1+2 (all off-diagonal
      counts are one step apart) = 5, D_o = 5/15. Expected: sum_ij |i-j| r_i c_j =
      5 * (c_1*3 + c_2*2 + c_3*3) = 5 * (15 + 12 + 12) = 195, D_e = 195/225 = 13/15;
      kappa_w = 1 - D_o/D_e = 1 - 5/13 = 8/13.
    Quadratic ((i-j)^2): D_o = 5/15 again; expected 5 * (5*5 + 6*2 + 4*5) = 285,
      D_e = 19/15; kappa_w = 1 - 5/19 = 14/19.
    """
    table = [[4, 1, 0], [1, 3, 1], [0, 2, 3]]
    result = R.cohen_kappa(from_table(table, [1, 2, 3]))
    assert result["unweighted"] == pytest.approx(0.5, abs=1e-12)
    assert result["linear"] == pytest.approx(8 / 13, abs=1e-12)
    assert result["quadratic"] == pytest.approx(14 / 19, abs=1e-12)
    # Same table with scale points 1, 2, 5: ranks reproduce 1-2-3, values do not.
    gapped = from_table(table, [1, 2, 5])
    assert R.cohen_kappa(gapped, scores="ranks")["linear"] == pytest.approx(8 / 13, abs=1e-12)
    assert R.cohen_kappa(gapped)["linear"] != pytest.approx(8 / 13, abs=1e-3)


def test_cohen_kappa_categorical_has_no_weighted_values():
    df = two_rater_long(["yes", "no", "yes", "no"], ["yes", "no", "no", "no"])
    result = R.cohen_kappa(df)
    # p_o = 3/4; p_e = (2/4)(1/4) + (2/4)(3/4) = 1/2; kappa = (3/4 - 1/2)/(1/2) = 1/2
    assert result == {"unweighted": pytest.approx(0.5), "linear": None, "quadratic": None}


def test_cohen_kappa_refuses_three_raters():
    with pytest.raises(ReliabilityError, match="exactly two raters.*has 4"):
        R.cohen_kappa(load("shrout_fleiss_1979.csv"))


def test_gwet_ac1_high_when_kappa_paradoxically_low():
    """Two raters, two categories, skewed prevalence (n = 20):

                 B=yes  B=no
      A=yes        18     1
      A=no          1     0

    Cohen: p_o = 18/20 = .90; both raters say yes 19/20 = .95, so
      p_e = .95*.95 + .05*.05 = .905 and kappa = (.90 - .905)/(1 - .905) = -1/19.
    Gwet (2008): pi = (.95 + .95)/2 = .95, p_e = 2 pi (1 - pi) = .095,
      AC1 = (.90 - .095)/(1 - .095) = .805/.905 = 161/181 = 0.8895...
    """
    df = from_table([[18, 1], [1, 0]], ["yes", "no"])
    kappa = R.cohen_kappa(df)["unweighted"]
    ac1 = R.gwet_ac1(df)
    assert kappa == pytest.approx(-1 / 19, abs=1e-12)
    assert ac1 == pytest.approx(161 / 181, abs=1e-12)
    assert ac1 > 0.85 and kappa < 0.1


def test_gwet_ac1_multiple_raters_with_missing_ratings():
    """Hand computation, 3 raters, categories a/b, one rating missing:

      t1: a a a    -> r=3, agreeing pairs sum r_k(r_k-1) = 6, / (3*2) = 1
      t2: a a b    -> (2*1 + 0) / 6 = 1/3
      t3: b b (.)  -> r=2: (2*1) / (2*1) = 1
      t4: a b (.)  -> 0 / 2 = 0
      p_a = (1 + 1/3 + 1 + 0) / 4 = 7/12
      pi_a = mean(3/3, 2/3, 0/2, 1/2) = (1 + 2/3 + 0 + 1/2)/4 = 13/24, pi_b = 11/24
      p_e = (pi_a(1-pi_a) + pi_b(1-pi_b)) / (2-1) = 2 * 13*11/576 = 286/576
      AC1 = (7/12 - 286/576) / (1 - 286/576) = (336 - 286) / (576 - 286) = 50/290
    """
    df = pd.DataFrame(
        [("t1", "x", "a"), ("t1", "y", "a"), ("t1", "z", "a"),
         ("t2", "x", "a"), ("t2", "y", "a"), ("t2", "z", "b"),
         ("t3", "x", "b"), ("t3", "y", "b"),
         ("t4", "x", "a"), ("t4", "z", "b")],
        columns=["target", "rater", "rating"],
    )
    assert R.gwet_ac1(df) == pytest.approx(50 / 290, abs=1e-12)


def test_percent_agreement_two_raters():
    df = two_rater_long([1, 2, 3, 4, 5], [1, 3, 5, 4, 2])
    # exact: targets 1 and 4 -> 2/5; within one: diffs 0, 1, 2, 0, 3 -> 3/5
    assert R.percent_agreement(df) == {"exact": 0.4, "within_one": 0.6}
    cat = two_rater_long(["a", "b"], ["a", "a"])
    assert R.percent_agreement(cat) == {"exact": 0.5, "within_one": None}


# ---------------------------------------------------------------------------
# Interpretation
# ---------------------------------------------------------------------------


def test_interpret_icc_koo_li_on_ci():
    assert R.interpret_icc(0.7, [0.6, 0.8]) == "moderate to good (Koo & Li 2016, judged on the 95% CI)"
    assert R.interpret_icc(0.95, [0.91, 0.99]).startswith("excellent (Koo & Li 2016")
    assert R.interpret_icc(0.3, [0.1, 0.45]).startswith("poor (")
    assert "point estimate" in R.interpret_icc(0.8, None)
    assert R.interpret_icc(None, None) == "not available"


@pytest.mark.parametrize(
    "value, band",
    [(-0.1, "poor"), (0.1, "slight"), (0.3, "fair"), (0.5, "moderate"),
     (0.7, "substantial"), (0.9, "almost perfect")],
)
def test_interpret_kappa_landis_koch(value, band):
    assert R.interpret_kappa(value) == f"{band} (Landis & Koch 1977)"


def test_interpret_alpha_krippendorff_cutoffs():
    assert R.interpret_alpha(0.85).startswith("reliable")
    assert R.interpret_alpha(0.7).startswith("tentative")
    assert R.interpret_alpha(0.5).startswith("unreliable")


# ---------------------------------------------------------------------------
# Validation and degenerate data
# ---------------------------------------------------------------------------


def test_validate_long_renames_and_drops_empty_ratings():
    raw = pd.DataFrame(
        {"session": ["s1", "s1", "s2", "s2"], "coder": ["a", "b", "a", "b"],
         "score": ["3", "", "4", None]}
    )
    d = R.validate_long(raw, target="session", rater="coder", rating="score")
    assert list(d.columns) == ["target", "rater", "rating"]
    assert len(d) == 2
    assert d["rating"].tolist() == [3.0, 4.0]


def test_validate_long_missing_columns_named():
    with pytest.raises(ReliabilityError) as err:
        R.validate_long(pd.DataFrame({"target": [1], "who": ["a"], "score": [1]}))
    msg = str(err.value)
    assert "'rater'" in msg and "'rating'" in msg and "who" in msg


def test_validate_long_duplicate_pair_named():
    df = pd.DataFrame(
        {"target": ["s1", "s1", "s2", "s1"], "rater": ["a", "b", "a", "a"], "rating": [1, 2, 3, 4]}
    )
    with pytest.raises(ReliabilityError) as err:
        R.validate_long(df)
    msg = str(err.value)
    assert "'s1'" in msg and "'a'" in msg and "row 1" in msg and "row 4" in msg
    with pytest.raises(ReliabilityError, match="more than once"):
        R.summarize(df)


def test_validate_long_mixed_numbers_and_text_names_row():
    df = pd.DataFrame({"target": [1, 2, 3], "rater": ["a"] * 3, "rating": ["3", "four", "5"]})
    with pytest.raises(ReliabilityError, match=r"row 2: rating 'four' is not a number"):
        R.validate_long(df)


def test_validate_long_rating_without_target():
    df = pd.DataFrame({"target": ["s1", None], "rater": ["a", "a"], "rating": [1, 2]})
    with pytest.raises(ReliabilityError, match="row 2 has a rating but no target"):
        R.validate_long(df)


def test_one_rater():
    df = pd.DataFrame({"target": ["s1", "s2", "s3", "s4"], "rater": "a", "rating": [1, 2, 3, 4]})
    with pytest.raises(ReliabilityError, match=r"at least 2 raters.*has 1 \('a'\)"):
        R.icc(df)
    summary = R.summarize(df)
    walk_no_nan(summary)
    assert summary["icc"] is None and summary["gwet_ac1"] is None
    assert summary["krippendorff_alpha"] == {"nominal": None, "ordinal": None, "interval": None}
    assert any("only one rater" in w for w in summary["warnings"])


def test_fewer_than_three_targets():
    df = two_rater_long([1, 3], [2, 3])
    with pytest.raises(ReliabilityError, match="at least 3 targets rated by all 2 raters"):
        R.icc(df)
    summary = R.summarize(df)
    walk_no_nan(summary)
    assert summary["icc"] is None
    assert any(w.startswith("ICC not computed") and "3 targets" in w for w in summary["warnings"])
    assert summary["percent_agreement"] == 0.5


def test_zero_variance():
    df = two_rater_long([3, 3, 3, 3], [3, 3, 3, 3])
    with pytest.raises(ReliabilityError, match="every rating is the same value"):
        R.icc(df)
    with pytest.raises(ReliabilityError, match="chance agreement is 100%"):
        R.cohen_kappa(df)
    with pytest.raises(ReliabilityError, match="one category"):
        R.fleiss_kappa(df)
    with pytest.raises(ReliabilityError, match="same category"):
        R.gwet_ac1(df)
    summary = R.summarize(df)
    walk_no_nan(summary)
    assert summary["icc"] is None and summary["cohen_kappa"] is None
    assert summary["fleiss_kappa"] is None and summary["gwet_ac1"] is None
    assert summary["krippendorff_alpha"]["nominal"] is None
    assert summary["percent_agreement"] == 1.0
    assert len(summary["warnings"]) >= 5


def test_perfect_agreement_reports_null_ci_with_warning():
    df = two_rater_long([1, 2, 3, 4], [1, 2, 3, 4])
    summary = R.summarize(df)
    walk_no_nan(summary)
    assert summary["icc"]["ICC(2,1)"]["value"] == pytest.approx(1.0)
    assert summary["icc"]["ICC(2,1)"]["ci95"] == [None, None]
    assert any("ICC(2,1) CI" in w and "agree perfectly" in w for w in summary["warnings"])
    json.dumps(summary, allow_nan=False)


def test_icc_ci_that_excludes_its_estimate_is_dropped():
    """With 3 targets pingouin's ICC(2,k) interval comes out as [7.5, 0.998]
    (lower bound above the estimate); such a CI is reported as null with a warning."""
    df = two_rater_long([1, 3, 5], [2, 3, 4])
    result = R.icc(df)
    for name, entry in result.items():
        lo, hi = entry["ci95"]
        assert (lo is None and hi is None) or lo <= entry["value"] <= hi, name
    assert result["ICC(2,k)"]["ci95"] == [None, None]
    assert result["ICC(2,1)"]["ci95"][0] is not None
    summary = R.summarize(df)
    assert any("ICC(2,k) CI" in w and "does not contain" in w for w in summary["warnings"])


def test_non_numeric_ratings():
    df = two_rater_long(["yes", "no", "yes", "no", "yes"], ["yes", "no", "no", "no", "yes"])
    with pytest.raises(ReliabilityError, match="needs numeric ratings"):
        R.icc(df)
    with pytest.raises(ReliabilityError, match="numeric"):
        R.krippendorff_alpha(df, "interval")
    summary = R.summarize(df)
    walk_no_nan(summary)
    assert summary["icc"] is None
    assert isinstance(summary["krippendorff_alpha"]["nominal"], float)
    assert summary["krippendorff_alpha"]["ordinal"] is None
    assert summary["krippendorff_alpha"]["interval"] is None
    assert summary["cohen_kappa"]["linear"] is None
    assert any("ordinal alpha" in w and "not numbers" in w for w in summary["warnings"])
    assert any(w.startswith("ICC not computed") and "numeric" in w for w in summary["warnings"])


def test_no_ratings_at_all():
    df = pd.DataFrame({"target": ["s1"], "rater": ["a"], "rating": [None]})
    with pytest.raises(ReliabilityError, match="no ratings"):
        R.summarize(df)


@pytest.mark.parametrize(
    "name", ["shrout_fleiss_1979.csv", "fleiss_1971_diagnoses.csv",
             "krippendorff_2011_reliability_data.csv"]
)
def test_summarize_contract_on_reference_sets(name):
    summary = R.summarize(load(name))
    walk_no_nan(summary)
    assert list(summary) == [
        "n_targets", "n_raters", "n_ratings", "icc", "icc_targets_dropped", "icc_all_targets",
        "krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "gwet_ac1",
        "percent_agreement", "scale", "warnings",
    ]
    assert set(summary["krippendorff_alpha"]) == {"nominal", "ordinal", "interval"}
    json.dumps(summary, allow_nan=False)


def test_summarize_two_raters_fills_cohen_and_agreement():
    df = two_rater_long([1, 2, 3, 4, 5, 3], [1, 3, 3, 4, 4, 3])
    summary = R.summarize(df)
    assert set(summary["cohen_kappa"]) == {"unweighted", "linear", "quadratic"}
    assert summary["percent_agreement"] == pytest.approx(4 / 6)
    assert summary["cohen_kappa"] == R.cohen_kappa(df)
    assert summary["icc"]["ICC(2,1)"] == R.icc_2_1(df)


def test_format_summary_table():
    text = R.format_summary_table(R.summarize(load("shrout_fleiss_1979.csv")))
    assert "ICC(2,1)" in text and "0.290" in text and "[0.019, 0.761]" in text
    assert "poor to good (Koo & Li 2016, judged on the 95% CI)" in text
    assert "Fleiss' kappa" in text and "Notes:" in text


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = R.cli_reliability(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_contract(capsys):
    code, out, err = run_cli(capsys, str(DATA / "shrout_fleiss_1979.csv"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_targets"] == 6 and summary["n_raters"] == 4 and summary["n_ratings"] == 24
    assert set(summary["icc"]) == set(SHROUT_FLEISS)
    for name, published in SHROUT_FLEISS.items():
        entry = summary["icc"][name]
        assert set(entry) == {"value", "ci95", "F", "df1", "df2", "p"}
        assert entry["value"] == pytest.approx(published, abs=1e-5)
        assert isinstance(entry["ci95"], list) and len(entry["ci95"]) == 2
    assert isinstance(summary["icc_targets_dropped"], int)
    assert all(isinstance(v, float) for v in summary["krippendorff_alpha"].values())
    assert isinstance(summary["fleiss_kappa"], float)
    assert summary["cohen_kappa"] is None and summary["percent_agreement"] is None
    assert isinstance(summary["gwet_ac1"], float)
    assert isinstance(summary["warnings"], list) and summary["warnings"]


def test_cli_table(capsys):
    code, out, _ = run_cli(capsys, str(DATA / "krippendorff_2011_reliability_data.csv"))
    assert code == 0
    assert "Krippendorff's alpha (ordinal)" in out and "0.815" in out
    assert "Targets left out of ICC: 4" in out


def test_cli_help(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    assert "python -m ipt_training reliability" in out and "--rating" in out


def test_cli_column_options(tmp_path, capsys):
    path = tmp_path / "scores.csv"
    path.write_text(
        "session,coder,score,comment\n"
        + "".join(f"s{i},{c},{v},ok\n" for i, (a, b) in enumerate(
            [(1, 1), (2, 3), (3, 3), (4, 5), (5, 5)]) for c, v in (("x", a), ("y", b)))
    )
    code, _, err = run_cli(capsys, str(path))
    assert code == 2
    assert "'target'" in err and "--target" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(
        capsys, str(path), "--target", "session", "--rater", "coder", "--rating", "score", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_targets"] == 5 and summary["n_raters"] == 2
    assert summary["percent_agreement"] == pytest.approx(3 / 5)


def test_cli_missing_file(tmp_path, capsys):
    code, out, err = run_cli(capsys, str(tmp_path / "nope.csv"))
    assert code == 2 and out == ""
    assert "no such file" in err and len(err.strip().splitlines()) == 1


def test_cli_directory_and_empty_file(tmp_path, capsys):
    code, _, err = run_cli(capsys, str(tmp_path))
    assert code == 2 and "directory" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run_cli(capsys, str(empty))
    assert code == 2 and "empty" in err


def test_cli_garbage_row_reports_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("target,rater,rating\ns1,a,1\ns1,b,2\nthis line is garbage\ns2,a,3\n")
    code, _, err = run_cli(capsys, str(path))
    assert code == 2
    assert "line 4 (data row 3)" in err and len(err.strip().splitlines()) == 1


def test_cli_missing_rater_reports_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("target,rater,rating\ns1,a,1\n\ns1,,2\n")
    code, _, err = run_cli(capsys, str(path))
    assert code == 2 and "line 4" in err and "no 'rater'" in err


def test_cli_duplicate_and_non_number_report_lines(tmp_path, capsys):
    dup = tmp_path / "dup.csv"
    dup.write_text("target,rater,rating\ns1,a,1\ns1,b,2\ns1,a,3\n")
    code, _, err = run_cli(capsys, str(dup))
    assert code == 2 and "line 2" in err and "line 4" in err and "more than once" in err
    bad = tmp_path / "nan.csv"
    bad.write_text("target,rater,rating\ns1,a,1\ns1,b,x7\ns2,a,3\n")
    code, _, err = run_cli(capsys, str(bad))
    assert code == 2 and "line 3" in err and "'x7'" in err


def test_cli_empty_rating_is_missing_not_error(tmp_path, capsys):
    path = tmp_path / "gaps.csv"
    rows = ["target,rater,rating"] + [f"s{i},a,{i % 5 + 1}" for i in range(6)]
    rows += [f"s{i},b,{(i + 1) % 5 + 1 if i % 2 else ''}" for i in range(6)]
    path.write_text("\n".join(rows) + "\n")
    code, out, err = run_cli(capsys, str(path), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_ratings"] == 9 and summary["icc_targets_dropped"] == 3


def test_cli_100k_rows(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 50_000
    truth = rng.integers(1, 6, n)
    noise = rng.integers(-1, 2, (n, 2)) * (rng.random((n, 2)) < 0.3)
    ratings = np.clip(truth[:, None] + noise, 1, 5)
    df = pd.DataFrame(
        {"target": np.repeat([f"T{i}" for i in range(n)], 2),
         "rater": np.tile(["A", "B"], n),
         "rating": ratings.ravel()}
    )
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    start = time.perf_counter()
    code, out, err = run_cli(capsys, str(path), "--json")
    elapsed = time.perf_counter() - start
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_ratings"] == 100_000 and summary["n_targets"] == n
    assert 0.5 < summary["icc"]["ICC(2,1)"]["value"] < 1
    assert elapsed < 10


# ---------------------------------------------------------------------------
# Rater statistics
# ---------------------------------------------------------------------------


def three_raters_c_lenient() -> pd.DataFrame:
    base = [1, 2, 3, 4]
    rows = []
    for i, x in enumerate(base):
        rows += [(f"t{i}", "A", x), (f"t{i}", "B", x), (f"t{i}", "C", x + 1)]
    rows.append(("t9", "A", 2))  # rated by A alone
    return pd.DataFrame(rows, columns=["target", "rater", "rating"])


def test_rater_severity():
    sev = R.rater_severity(three_raters_c_lenient()).set_index("rater")
    # C: (x+1) - mean(x, x) = +1; A: x - mean(x, x+1) = -0.5 on the 4 shared targets.
    assert sev.loc["C", "mean_difference"] == pytest.approx(1.0)
    assert sev.loc["A", "mean_difference"] == pytest.approx(-0.5)
    assert sev.loc["B", "mean_difference"] == pytest.approx(-0.5)
    assert sev.loc["A", "n_shared_targets"] == 4 and sev.loc["A", "n_ratings"] == 5


def test_rater_pair_matrix():
    df = three_raters_c_lenient()
    df = pd.concat(
        [df, pd.DataFrame([("u1", "D", 1), ("u1", "A", 1), ("u2", "D", 2), ("u2", "A", 3)],
                          columns=df.columns)]
    )
    m = R.rater_pair_matrix(df)
    assert list(m.index) == ["A", "B", "C", "D"] and list(m.columns) == ["A", "B", "C", "D"]
    assert m.loc["A", "B"] == pytest.approx(1.0) and m.loc["B", "A"] == m.loc["A", "B"]
    # A and C on t0..t3: 1 2 3 4 vs 2 3 4 5. By hand, n = 4, k = 2, grand mean 3: SS rows 10 (MSR 10/3),
    # SS raters 2 (MSC 2), SS error 0. ICC(2,1) = MSR / (MSR + k (MSC - MSE) / n) = (10/3) / (10/3 + 1)
    # = 10/13 (R psych::ICC agrees: tests/reliability/r/issue18_values.json)
    assert m.loc["A", "C"] == pytest.approx(10 / 13)
    assert m.loc["A", "D"] is None  # only 2 shared targets
    assert m.loc["A", "A"] is None
    exact = R.rater_pair_matrix(df, stat="exact")
    assert exact.loc["A", "C"] == 0.0 and exact.loc["A", "D"] == 0.5


def test_bland_altman_hand_computed():
    df = two_rater_long([3, 4, 5, 2], [2, 4, 3, 1])
    ba = R.bland_altman(df, "A", "B")
    # diffs 1, 0, 2, 1: bias 1; SD = sqrt((0 + 1 + 1 + 0) / 3) = sqrt(2/3)
    sd = math.sqrt(2 / 3)
    assert ba["diff"] == [1.0, 0.0, 2.0, 1.0]
    assert ba["mean"] == [2.5, 4.0, 4.0, 1.5]
    assert ba["bias"] == pytest.approx(1.0) and ba["sd"] == pytest.approx(sd)
    assert ba["lower"] == pytest.approx(1 - 1.96 * sd) and ba["upper"] == pytest.approx(1 + 1.96 * sd)
    with pytest.raises(ReliabilityError, match="'Z' is not in the data"):
        R.bland_altman(df, "A", "Z")


# ---------------------------------------------------------------------------
# Calibration and certification
# ---------------------------------------------------------------------------


def test_calibration_agreement():
    gold = {"i1": 1, "i2": 2, "i3": 3, "i4": 4, "i5": 2, "i6": 3}
    rater = {"i1": 1, "i2": 3, "i3": 3, "i4": 2, "i5": 2}
    res = R.calibration_agreement(rater, gold)
    assert res["n_items"] == 5 and res["unscored_items"] == ["i6"]
    # differences 0, 1, 0, -2, 0 -> exact 3/5, within one 4/5
    assert [d["difference"] for d in res["differences"]] == [0.0, 1.0, 0.0, -2.0, 0.0]
    assert res["exact"] == pytest.approx(0.6) and res["within_one"] == pytest.approx(0.8)
    long = pd.DataFrame(
        [(k, "rater", v) for k, v in rater.items()] + [(k, "gold", gold[k]) for k in rater],
        columns=["target", "rater", "rating"],
    )
    assert res["icc"] == pytest.approx(R.icc_2_1(long)["value"])
    assert res["icc_reason"] is None


def test_calibration_agreement_too_few_items():
    res = R.calibration_agreement({"i1": 2, "i2": 3}, {"i1": 2, "i2": 4})
    assert res["icc"] is None and "at least 3 items" in res["icc_reason"]
    assert res["exact"] == 0.5 and res["within_one"] == 1.0
    with pytest.raises(ReliabilityError, match="no item has both"):
        R.calibration_agreement({"x": 1}, {"y": 1})




@pytest.mark.parametrize("cut", [0.5, 0.75, 0.9])
def test_an_icc_at_a_cut_off_gets_its_band_whatever_the_rounding_error(cut):
    """An ICC that is a cut-off in exact arithmetic comes out a rounding error either side of it,
    depending on the order of the sums (the kept report's updates and views, or a build at once:
    0.5000000000000009 and 0.49999999999999883 for one item); both get the cut-off's own band."""
    at = R.interpret_icc(cut, None)
    for eps in (1e-15, 5e-14):
        assert R.interpret_icc(cut - eps, None) == at and R.interpret_icc(cut + eps, None) == at
        assert R.interpret_icc(0.3, [cut - eps, 0.99]) == R.interpret_icc(0.3, [cut, 0.99])
    assert R.interpret_icc(0.5000000000000009, None) == R.interpret_icc(0.49999999999999883, None)
    assert R.interpret_icc(cut - 1e-6, None) != R.interpret_icc(cut + 1e-6, None)  # a real difference counts


@pytest.mark.parametrize("cut", [0.0, 0.2, 0.4, 0.6, 0.8])
def test_a_kappa_at_a_cut_off_gets_its_band_whatever_the_rounding_error(cut):
    at = R.interpret_kappa(cut)
    assert R.interpret_kappa(cut - 1e-15) == at and R.interpret_kappa(cut + 1e-15) == at
    assert R.interpret_kappa(cut - 1e-6) != R.interpret_kappa(cut + 1e-6)


def test_an_alpha_at_a_cut_off_gets_its_band_whatever_the_rounding_error():
    assert R.interpret_alpha(0.8 - 1e-15) == R.interpret_alpha(0.8) != R.interpret_alpha(0.8 - 1e-6)
    assert R.interpret_alpha(0.667 - 1e-15) == R.interpret_alpha(0.667) != R.interpret_alpha(0.667 - 1e-6)
