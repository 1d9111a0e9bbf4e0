"""The reliability report on the platform's own ratings: data, figures, exports and pages (issue 5)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
import io
import re

import pandas as pd
import pytest

from ipt_training import auth, reliability
from ipt_training.reliability import report_data as rd, report_export
from ipt_training.store import open_store, rows

from apphelp import ROOT, app_as, texts
from test_calibration import Builder
from pdfhelp import pdf_text

INSTRUMENT = "ipt-session-fidelity"
ITEMS = ["tech_exploratory", "tech_affect", "tech_clarification", "quality_alliance"]
# session -> (Alice's scores, Bob's scores or None); None inside a list = N/A
SCORES = {
    1: ([4, 4, 3, 4], [4, 3, 3, 4]),
    2: ([2, 3, 2, 2], [2, 2, None, 2]),
    3: ([5, 5, 4, 5], [4, 5, 4, 5]),
    4: ([3, 2, 3, 3], [3, 2, 2, 3]),
    5: ([1, 2, 1, 2], [2, 2, 1, 1]),
    6: ([4, 3, 4, 4], None),
}
# totals (mean of scored items): Alice 3.75 2.25 4.75 2.75 1.5 | Bob 3.5 2.0 4.5 2.5 1.5 -> A - B: .25 .25 .25 .25 0


@pytest.fixture
def world(db):
    """Three trainees (two in cohort C1), raters Alice and Bob, six sessions, five double-rated."""
    b = Builder(db)
    t = [b.user(f"t{n}", "trainee") for n in (1, 2, 3)]
    alice, bob, carol = b.user("alice"), b.user("bob"), b.user("carol")
    expert = b.user("expert", "admin")
    cohort = auth.create_cohort(db, "C1", None)
    auth.set_cohort_members(db, cohort, t[:2], None)
    owner = {1: t[0], 2: t[0], 3: t[1], 4: t[1], 5: t[2], 6: t[2]}
    phase = {5: "termination"}
    sessions = {}
    for n, (a, bb) in SCORES.items():
        sid = b.session(owner[n], phase=phase.get(n, "middle"))
        sessions[n] = sid
        day = "2026-01-15" if n <= 2 else "2026-03-10"
        b.rating(sid, alice, dict(zip(ITEMS, a)), day=day)
        if bb:
            b.rating(sid, bob, dict(zip(ITEMS, bb)), day=day)
    # ratings that must NOT count: gold, self, a draft, and a calibration (gold-standard) session
    b.rating(sessions[1], expert, dict(zip(ITEMS, [1, 1, 1, 1])), kind="gold")
    b.rating(sessions[1], t[0], dict(zip(ITEMS, [5, 5, 5, 5])), kind="self")
    b.rating(sessions[1], carol, dict(zip(ITEMS, [1, 1, 1, 1])), status="draft")
    gold_sid = b.session(t[0], gold=True)
    b.rating(gold_sid, alice, dict(zip(ITEMS, [5, 5, 5, 5])))
    b.rating(gold_sid, bob, dict(zip(ITEMS, [1, 1, 1, 1])))
    return {"b": b, "db": db, "cohort": cohort, "sessions": sessions, "alice": alice, "bob": bob, "carol": carol,
            "trainees": t}


def test_long_ratings_uses_submitted_rater_ratings_only(world):
    long = rd.long_ratings(world["db"], INSTRUMENT)
    assert list(long.columns) == ["target", "rater", "rating"]
    assert set(long["rater"]) == {"Alice", "Bob"}
    assert long["target"].nunique() == 6 and len(long) == 11
    alice = long[long["rater"] == "Alice"].set_index("target")["rating"]
    assert alice[str(world["sessions"][1])] == pytest.approx(3.75)
    bob = long[long["rater"] == "Bob"].set_index("target")["rating"]
    assert bob[str(world["sessions"][2])] == pytest.approx(2.0)  # the N/A item is left out of the mean

    item = rd.long_ratings(world["db"], INSTRUMENT, item_id="tech_clarification")
    assert len(item) == 10  # Bob's N/A on session 2 is not a rating
    double = rd.long_ratings(world["db"], INSTRUMENT, double_rated_only=True)
    assert double["target"].nunique() == 5


def test_long_ratings_filters(world):
    db = world["db"]
    assert rd.long_ratings(db, INSTRUMENT, cohort_id=world["cohort"])["target"].nunique() == 4
    assert rd.long_ratings(db, INSTRUMENT, phase="termination")["target"].nunique() == 1
    assert rd.long_ratings(db, INSTRUMENT, date_to="2026-01-31")["target"].nunique() == 2
    assert rd.long_ratings(db, INSTRUMENT, date_from=dt.date(2026, 2, 1))["target"].nunique() == 4
    assert len(rd.long_ratings(db, INSTRUMENT, min_items=4)) == 10  # Bob's 3-item rating of session 2 drops out
    with_gold = rd.long_ratings(db, INSTRUMENT, include_gold_standard_sessions=True)
    assert with_gold["target"].nunique() == 7


def test_report_counts_double_rated_sessions_per_item(world, library):
    report = rd.reliability_report(world["db"], library, INSTRUMENT)
    assert report["n_sessions"] == 6 and report["n_double_rated"] == 5
    assert report["raters"] == ["Alice", "Bob"]
    by_item = {r["item_id"]: r for r in report["items"]}
    assert list(by_item) == ITEMS  # instrument order, only items with scores
    assert by_item["tech_clarification"]["n_double_rated"] == 4
    assert by_item["tech_exploratory"]["n_double_rated"] == 5
    assert by_item["tech_exploratory"]["n_sessions"] == 6
    assert report["total"]["n_double_rated"] == 5 and report["total"]["n_icc_sessions"] == 5


def test_total_icc_equals_the_engine_on_the_same_long_data(world, library):
    """The report's figures against R (psych::ICC on the same totals; tests/reliability/r/issue18_values.R)."""
    ref = json.loads((Path(__file__).parent / "r" / "issue18_values.json").read_text())
    report = rd.reliability_report(world["db"], library, INSTRUMENT)
    long = rd.long_ratings(world["db"], INSTRUMENT, double_rated_only=True, min_items=3)
    expected = ref["world_total"]["icc1"]
    total = report["total"]
    assert total["icc"] == pytest.approx(expected["value"], abs=1e-9)
    assert [total["ci_low"], total["ci_high"]] == pytest.approx([expected["lo"], expected["hi"]], abs=1e-6)
    assert total["band"] == reliability.interpret_icc(expected["value"], (expected["lo"], expected["hi"]))
    assert "Koo & Li 2016" in total["band"]
    assert total["icc_a1"] == pytest.approx(ref["world_total"]["icc_a1"]["value"], abs=1e-6)
    assert total["alpha"] == pytest.approx(reliability.krippendorff_alpha(long, "interval"))
    item = next(r for r in report["items"] if r["item_id"] == "tech_affect")
    item_long = rd.long_ratings(world["db"], INSTRUMENT, item_id="tech_affect", double_rated_only=True)
    assert item["icc"] == pytest.approx(ref["world_tech_affect"]["icc1"]["value"], abs=1e-9)
    assert item["alpha"] == pytest.approx(reliability.krippendorff_alpha(item_long, "ordinal"), abs=1e-12)
    assert "one-way random effects" in report["model"]["model"]
    assert report["model"]["type"] == "absolute agreement" and report["model"]["unit"] == "single rater"


def test_pairs_severity_matrix_and_bland_altman(world, library):
    report = rd.reliability_report(world["db"], library, INSTRUMENT)
    (pair,) = report["pairs"]
    assert (pair["rater_a"], pair["rater_b"], pair["n_sessions"]) == ("Alice", "Bob", 5)
    assert pair["n_item_pairs"] == 19  # 5 sessions x 4 items, less Bob's N/A
    assert pair["kappa_quadratic"] is not None and "Landis & Koch" in pair["kappa_band"]
    pooled = pd.concat([rd.long_ratings(world["db"], INSTRUMENT, item_id=i).assign(
        target=lambda d, i=i: d["target"] + ":" + i) for i in ITEMS], ignore_index=True)
    pooled = pooled[pooled.groupby("target")["rater"].transform("size") == 2]
    ref = reliability.cohen_kappa(pooled, categories=[1.0, 2.0, 3.0, 4.0, 5.0])  # statsmodels
    assert pair["kappa"] == pytest.approx(ref["unweighted"], abs=1e-12)
    assert pair["kappa_quadratic"] == pytest.approx(ref["quadratic"], abs=1e-12)
    assert pair["kappa_band"] == reliability.interpret_kappa(ref["unweighted"])
    assert pair["exact"] == pytest.approx(reliability.percent_agreement(pooled)["exact"], abs=1e-12)
    sev = report["severity"].set_index("rater")
    assert sev.loc["Alice", "mean_difference"] == pytest.approx(0.2)
    assert sev.loc["Bob", "mean_difference"] == pytest.approx(-0.2)
    assert sev.loc["Alice", "direction"] == "more lenient than the others"
    totals = rd.long_ratings(world["db"], INSTRUMENT, double_rated_only=True, min_items=3)
    assert report["matrix"].loc["Alice", "Bob"] == pytest.approx(reliability.icc_2_1(totals)["value"], abs=1e-12)
    assert report["matrix_n"].loc["Alice", "Bob"] == 5
    ba = rd.bland_altman_pair(report, "Alice", "Bob")
    assert ba["n"] == 5 and ba["bias"] == pytest.approx(0.2)
    assert list(ba["points"].columns) == ["session", "mean", "difference"]
    assert rd.rater_pairs_for_plot(report) == [("Alice", "Bob")]


def test_rotating_raters_every_double_rated_session_counts(world, library):
    """Issue 11.1: the ICC uses all 8 double-rated sessions, not the raters sharing most."""
    b, s = world["b"], world["sessions"]
    carol = world["carol"]
    for n in (7, 8, 9):  # Alice and Carol share three further sessions
        sid = b.session(world["trainees"][0])
        b.rating(sid, world["alice"], dict(zip(ITEMS, [n - 5, 3, 3, 4])), day="2026-03-10")
        b.rating(sid, carol, dict(zip(ITEMS, [n - 4, 3, 2, 4])), day="2026-03-10")
    report = rd.reliability_report(world["db"], library, INSTRUMENT)
    total = report["total"]
    assert total["n_double_rated"] == 8
    assert total["icc_raters"] == ["Alice", "Bob", "Carol"] and total["n_icc_sessions"] == 8
    long = rd.long_ratings(world["db"], INSTRUMENT, double_rated_only=True, min_items=3)
    assert long["target"].nunique() == 8
    assert total["icc"] == pytest.approx(reliability.icc_oneway(long)["ICC(1,1)"]["value"], abs=1e-12)
    assert total["icc_a1"] == pytest.approx(reliability.icc_crossed(long)["value"], abs=1e-12)
    assert s  # the original sessions are still there
    assert {(p["rater_a"], p["rater_b"]) for p in report["pairs"]} == {("Alice", "Bob"), ("Alice", "Carol")}


def test_no_double_rating_gives_warnings_not_errors(db, library):
    b = Builder(db)
    t, r = b.user("t", "trainee"), b.user("r")
    b.rating(b.session(t), r, dict(zip(ITEMS, [3, 3, 3, 3])))
    report = rd.reliability_report(db, library, INSTRUMENT)
    assert report["total"]["icc"] is None and report["n_double_rated"] == 0
    assert any("rated by two raters" in w for w in report["warnings"])
    empty = rd.reliability_report(db, library, INSTRUMENT, date_from="2030-01-01", date_to="2030-12-31")
    assert empty["n_sessions"] == 0 and any("No submitted rater ratings" in w for w in empty["warnings"])
    assert report_export.report_csv(empty).startswith(b"scope,")
    assert report_export.report_pdf(empty).startswith(b"%PDF")
    with pytest.raises(rd.ReportError, match="start date is after"):
        rd.reliability_report(db, library, INSTRUMENT, date_from="2026-02-01", date_to="2026-01-01")
    with pytest.raises(rd.ReportError, match="not loaded"):
        rd.reliability_report(db, library, "no-such-instrument")
    g = rd.generalizability(db, library, INSTRUMENT)
    assert g["ok"] is False and "double-rated" in g["message"]


def test_csv_has_one_row_per_figure(world, library):
    report = rd.reliability_report(world["db"], library, INSTRUMENT)
    data = report_export.report_csv(report)
    header = data.decode().splitlines()[0]
    assert header == ",".join(report_export.CSV_COLUMNS)
    table = pd.read_csv(io.BytesIO(data))
    icc_total = table[(table["scope"] == "total") & (table["statistic"] == "ICC(1,1)")]
    assert icc_total["value"].item() == pytest.approx(report["total"]["icc"])
    assert icc_total["n_double_rated_sessions"].item() == 5
    assert (table["statistic"] == "Cohen's kappa (quadratic)").sum() == 1


def _pdf_text(data: bytes) -> str:
    """The PDF's text layer (pypdf), and again with lines joined (a phrase may wrap at a line end)."""
    raw = pdf_text(data)
    return raw + "\n" + " ".join(raw.split())


def test_pdf_states_model_type_unit_and_counts(world, library):
    report = rd.reliability_report(world["db"], library, INSTRUMENT)
    g = rd.generalizability(world["db"], library, INSTRUMENT)
    data = report_export.report_pdf(report, g)
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    for phrase in ("one-way random effects", "crossed random-effects", "absolute agreement", "single rater",
                   "95% confidence interval", "Koo & Li", "Henderson", "5 sessions were rated by two",
                   "2 raters"):
        assert phrase in text, phrase
    assert "ICC(1,1)" in text and "ICC(A,1)" in text and "How many ratings are enough" in text


def test_generalizability_study_on_double_rated_totals(world, library):
    data = rd.g_study_data(world["db"], INSTRUMENT, min_items=3)
    assert list(data.columns) == ["trainee", "session", "rater", "score"]
    assert len(data) == 10 and data["session"].nunique() == 5 and data["trainee"].nunique() == 3
    g = rd.generalizability(world["db"], library, INSTRUMENT)
    assert g["ok"], g["message"]
    assert g["decision"].shape == (4, 6)
    assert list(g["components"]["component"])[0].startswith("trainee")
    phi = g["decision"].to_numpy()
    assert (phi[:, 1:] >= phi[:, :-1] - 1e-12).all()  # more sessions never lower dependability
    assert "0.80" in g["smallest"]


def test_data_stamp_changes_when_a_rating_changes(world):
    before = rd.data_stamp(world["db"])
    assert rd.data_stamp(world["db"]) == before
    b = world["b"]
    b.rating(world["sessions"][6], world["bob"], dict(zip(ITEMS, [4, 3, 4, 4])), day="2026-03-11")
    assert rd.data_stamp(world["db"]) != before


# --- pages ---------------------------------------------------------------------------------


def test_demo_data_makes_the_report_and_calibration_meaningful(demo_db, library):
    """Issue 5's 'done when': the views work on the demo, which double-rates and calibrates."""
    from ipt_training.reliability import calibration

    report = rd.reliability_report(demo_db, library, INSTRUMENT)
    assert report["n_double_rated"] >= 5 and len(report["raters"]) >= 2
    assert report["total"]["icc"] is not None and len(report["pairs"]) >= 1
    certified = calibration.certified_raters(demo_db, library, dt.date.today())
    statuses = {v[INSTRUMENT] for v in certified.values()}
    assert statuses == {True, False}  # some demo raters certified, some not
    view = calibration.drift_view(demo_db, library, dt.date.today())
    assert sum(r["n_sessions"] for r in view["raters"]) >= 6


@pytest.fixture
def demo_app(demo_db_path):
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield open_store(demo_db_path)
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize("username", ["admin", "supervisor"])
def test_report_page_shows_icc_and_band(demo_app, username):
    user = auth.find_user(demo_app, username)
    at = app_as(user.id, "reliability_report.py")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Reliability report" in shown
    assert "ICC(1,1)" in shown and "ICC(A,1)" in shown
    assert re.search(r"\b(poor|moderate|good|excellent)\b", shown), shown[:2000]
    assert "Koo & Li 2016" in shown
    assert "one-way random effects" in shown
    # the figures shown are the report's for this viewer (sessions they are blind to left out)
    from ipt_training import fidelity
    from ipt_training.content import load_library

    report = rd.reliability_report(demo_app, load_library(ROOT), INSTRUMENT,
                                   exclude_sessions=frozenset(fidelity.blind_session_ids(demo_app, user)))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Double-rated sessions"] == str(report["n_double_rated"])
    assert metrics["Raters"] == str(len(report["raters"]))
    total = report["total"]
    assert metrics["ICC(1,1), session score"] == f"{total['icc']:.2f}"
    assert (f"Session score ICC(1,1) = {total['icc']:.2f}** (95% CI {total['ci_low']:.2f} to {total['ci_high']:.2f}, "
            f"{total['n_icc_sessions']} double-rated sessions): {total['band']}.") in shown
    assert any(b.label == "Download CSV" for b in at.get("download_button"))
    has_toggle = any(t.key == "rr_count_uncertified" for t in at.toggle)
    assert has_toggle is (username == "admin")
    # the pass/fail figures are the report's; the PDF is built only when asked for (issue 16)
    decisions = report["decisions"]
    assert "Pass/fail decisions" in shown and decisions["n_sessions"] == report["n_double_rated"]
    assert not any(b.label == "Download PDF report" for b in at.get("download_button"))
    assert "rr_pdf_bytes" not in at.session_state
    at.button(key="rr_build_pdf").click().run()
    assert not at.exception, at.exception
    assert any(b.label == "Download PDF report" for b in at.get("download_button"))
    assert at.session_state["rr_pdf_bytes"][1].startswith(b"%PDF")


def test_admin_toggles_count_uncertified_setting(demo_app, demo_db_path, library):
    from ipt_training.reliability import calibration

    admin = auth.find_user(demo_app, "admin")
    at = app_as(admin.id, "reliability_report.py")
    at.toggle(key="rr_count_uncertified").set_value(True)
    next(b for b in at.button if b.label == "Save setting").click().run()
    assert not at.exception
    assert "now count" in texts(at)
    assert calibration.count_uncertified_ratings(open_store(demo_db_path), library) is True


def test_rater_cannot_reach_the_report(demo_app):
    rater = auth.find_user(demo_app, "rater")
    at = app_as(rater.id)
    assert not at.exception
    # the router registers no such page for a rater: switching to it is refused by navigation itself
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ipt_training/app_pages/reliability_report.py")


def test_calibration_page_shows_certification_status_for_a_rater(demo_app):
    rater = auth.find_user(demo_app, "rater")
    at = app_as(rater.id, "calibration.py")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "My calibration" in shown
    # the demo rater's three calibrations all pass the example policy (2 sessions, ICC >= 0.75, 80 %
    # within one): certified for 12 months from the latest one, read here from the ratings table
    latest = rows(demo_app, """SELECT MAX(r.submitted_at) AS at FROM ratings r JOIN recorded_sessions s
                               ON s.id = r.session_id WHERE r.rater_id = ? AND r.kind = 'rater'
                               AND s.is_gold_standard = 1 AND r.status = 'submitted'""", (rater.id,))[0]["at"]
    day = dt.date.fromisoformat(latest[:10])
    until = day.replace(year=day.year + 1)
    from ipt_training.content import load_library

    name = load_library(ROOT).instruments[INSTRUMENT].name
    assert [s.value for s in at.success] == [
        f"Certification status: certified as a rater on {name} until {until.isoformat()}."]
    assert "All raters" not in shown  # that overview is for supervisors


def test_calibration_page_for_a_supervisor_lists_all_raters(demo_app):
    sup = auth.find_user(demo_app, "supervisor")
    at = app_as(sup.id, "calibration.py")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Certification status:" in shown and "All raters" in shown
    assert "Rita Second" in shown


def valid_vega_lite(spec: dict) -> None:
    """``spec`` is valid Vega-Lite (the schema Altair ships, as Altair would check it) and JSON."""
    import json

    import jsonschema
    from altair.vegalite.v5.schema import load_schema

    jsonschema.validate(json.loads(json.dumps(spec)), load_schema())


def test_chart_builders_make_valid_vega_lite_specs(world, library):
    from ipt_training.ui import charts

    report = rd.reliability_report(world["db"], library, INSTRUMENT)
    ba = rd.bland_altman_pair(report, "Alice", "Bob")
    spec = charts.bland_altman_chart(ba["points"], ba["bias"], ba["lower"], ba["upper"])
    valid_vega_lite(spec)
    assert len(spec["layer"]) == 3
    zero, limits, dots = (spec["datasets"][layer["data"]["name"]] for layer in spec["layer"])
    assert zero == [{"value": 0.0}]
    assert [r["value"] for r in limits] == pytest.approx([ba["bias"], ba["lower"], ba["upper"]])
    assert [(r["mean"], r["difference"]) for r in dots] == list(zip(ba["points"]["mean"], ba["points"]["difference"]))
    assert spec["layer"][2]["encoding"]["x"]["field"] == "mean"
    series = pd.DataFrame({"date": ["2026-01-10", "2026-02-01"], "value": [0.9, 0.6], "rater": ["A", "A"]})
    drift = charts.drift_chart(series, 0.75).to_dict()
    data = {name: values for name, values in drift["datasets"].items()}
    line, rule = drift["layer"]
    assert line["mark"]["type"] == "line" and rule["mark"]["type"] == "rule"
    assert data[rule["data"]["name"]] == [{"threshold": 0.75}] and rule["encoding"]["y"]["field"] == "threshold"
    assert [r["value"] for r in data[line["data"]["name"]]] == [0.9, 0.6]
    assert "layer" in charts.mastery_lines(series.rename(columns={"value": "score"}), 0.7, color="rater").to_dict()
    g = rd.generalizability(world["db"], library, INSTRUMENT)
    bars = charts.variance_components_chart(g["components"])
    valid_vega_lite(bars)
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["field"] == "share" and bars["encoding"]["y"]["field"] == "component"
    shown = bars["datasets"][bars["data"]["name"]]
    assert [r["component"] for r in shown] == list(g["components"]["component"])
    assert sum(r["share"] for r in shown) == pytest.approx(1.0)
    html = charts.highlight_at_least(pd.DataFrame({"a": [0.79, 0.8]}), 0.80).to_html()
    assert html.count("background-color") == 1


def test_large_selections_run_the_g_study_on_every_trainee(app_env, library):
    """62 double-rated sessions of 31 trainees: the G study uses them all, at once."""
    import random

    import streamlit as st

    from ipt_training.config import get_settings

    db = open_store(get_settings().db_path)
    b = Builder(db)
    admin = b.user("boss", "admin")
    alice, bob = b.user("alice"), b.user("bob")
    rng = random.Random(5)
    today = dt.date.today().isoformat()
    for t in range(31):
        trainee = b.user(f"t{t}", "trainee")
        level = rng.choice([2, 3, 4])
        for _ in range(2):
            sid = b.session(trainee)
            for rater in (alice, bob):
                b.rating(sid, rater, {i: min(5, max(1, level + rng.choice([-1, 0, 0, 1]))) for i in ITEMS}, day=today)
    st.cache_resource.clear()
    st.cache_data.clear()

    at = app_as(admin, "reliability_report.py")
    assert not at.exception, at.exception
    shown = texts(at)
    # the moment estimator runs on every trainee at once: no sampling, no button
    assert "Generalizability study of the session score (ANOVA" in shown
    assert "31 trainees, 62 double-rated sessions" in shown


def test_report_leaves_out_sessions_the_viewer_is_still_blind_to(demo_db, library):
    """A supervisor assigned as second rater must not read that session's totals in the
    report's Bland-Altman points (blind rule), and sees them again once they submit."""
    from ipt_training import auth, fidelity

    admin, sup = auth.find_user(demo_db, "admin"), auth.find_user(demo_db, "supervisor")
    full = rd.reliability_report(demo_db, library, "ipt-session-fidelity")
    sessions = set(full["long_total"]["target"].astype(str))
    target = int(sorted(sessions)[0])
    fidelity.assign(demo_db, admin, target, sup.id, None, "second_rating")
    blind = frozenset(fidelity.blind_session_ids(demo_db, sup))
    assert target in blind
    seen = rd.reliability_report(demo_db, library, "ipt-session-fidelity", exclude_sessions=blind)
    assert str(target) not in set(seen["long_total"]["target"].astype(str))
    assert seen["n_double_rated"] == full["n_double_rated"] - 1
