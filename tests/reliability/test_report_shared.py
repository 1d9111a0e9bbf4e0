"""Issues 11 and 16 on the platform report: every item at once (checked item by item against
pingouin and the engine), the pass rule's session score, pass/fail decision agreement, a data
stamp that ignores drafts, and one shared computation per change of submitted data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa as sm_fleiss

from ipt_training import fidelity, reliability as R
from ipt_training.fidelity.ratings import score_rating
from ipt_training.reliability import calibration, report_data as rd, report_live, shared_cache
from ipt_training.reliability.report_stats import decision_agreement, group_figures

from test_calibration import Builder

INSTRUMENT = "ipt-session-fidelity"


def _codes(df: pd.DataFrame, n_items: int):
    """(group, target, rater, y, names) codes of a long frame with columns item, target, rater, rating."""
    g = pd.Index(range(n_items)).get_indexer(df["item"])
    t = pd.factorize(df["item"].astype(str) + ":" + df["target"].astype(str))[0]
    r, names = pd.factorize(df["rater"])
    return g, t, r, df["rating"].to_numpy(float), np.asarray(names, dtype=object)


@pytest.mark.parametrize("seed", range(3))
def test_every_item_at_once_equals_pingouin_item_by_item(seed):
    """Balanced items (every session rated by the same three raters): the one-way ICC(1,1) with
    k0 = k and the Henderson III ICC(A,1) are pingouin's ICC(1,1) and ICC(A,1), to 1e-10."""
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(6):
        bias = np.array([-0.6, 0.0, 0.6]) + rng.normal(0, 0.1, 3)  # rater variance well above 0
        for s in range(25 + 5 * item):
            true = rng.normal(3, 1)
            rows += [(item, s, f"r{j}", float(np.clip(np.round(true + bias[j] + rng.normal(0, 0.6)), 1, 5)))
                     for j in range(3)]
    df = pd.DataFrame(rows, columns=["item", "target", "rater", "rating"])
    figures = group_figures(*_codes(df, 6)[:4], 6, _codes(df, 6)[4], "ordinal")
    for item, fig in enumerate(figures):
        part = df[df["item"] == item]
        ref = pg.intraclass_corr(part, targets="target", raters="rater", ratings="rating").set_index("Type")
        assert fig["icc"] == pytest.approx(ref.loc["ICC(1,1)", "ICC"], abs=1e-10)
        assert fig["icc_a1"] == pytest.approx(ref.loc["ICC(A,1)", "ICC"], abs=1e-10)
        assert fig["n_double_rated"] == part["target"].nunique() == fig["n_icc_sessions"]


def test_every_item_at_once_equals_the_engine_on_rotating_unbalanced_raters():
    """Raters rotate and sessions have 1-3 ratings: each item's figures are the engine's
    single-data-set functions (icc_oneway, icc_crossed, krippendorff_alpha) on that item."""
    rng = np.random.default_rng(11)
    rows = []
    for item in range(4):
        for s in range(60):
            true = rng.normal(3, 1)
            raters = rng.choice(12, size=rng.choice([1, 2, 2, 3]), replace=False)
            rows += [(item, s, f"r{j}", float(np.clip(np.round(true + (j % 4 - 1.5) * 0.3 + rng.normal(0, .7)), 1, 5)))
                     for j in raters]
    df = pd.DataFrame(rows, columns=["item", "target", "rater", "rating"])
    g, t, r, y, names = _codes(df, 4)
    for item, fig in enumerate(group_figures(g, t, r, y, 4, names, "ordinal")):
        long = df[df["item"] == item][["target", "rater", "rating"]]
        one = R.icc_oneway(long)
        assert fig["icc"] == pytest.approx(one["ICC(1,1)"]["value"], abs=1e-10)
        assert [fig["ci_low"], fig["ci_high"]] == pytest.approx(one["ICC(1,1)"]["ci95"], abs=1e-10)
        assert fig["icc_a1"] == pytest.approx(R.icc_crossed(long)["value"], abs=1e-10)
        assert fig["alpha"] == pytest.approx(R.krippendorff_alpha(long, "ordinal"), abs=1e-12)
        assert fig["n_sessions"] == long["target"].nunique()
        assert fig["n_double_rated"] == int((long.groupby("target").size() >= 2).sum())


def test_pass_fail_agreement_hand_worked_with_two_and_three_raters():
    """Sessions (P,P), (P,F), (P,P,F), (F,F,F): p_a = (1 + 0 + 1/3 + 1) / 4 = 7/12;
    pi_pass = (1 + 1/2 + 2/3 + 0) / 4 = 13/24, so Fleiss' chance agreement is 290/576 and
    kappa = (336 - 290) / (576 - 290) = 23/143; AC1's is 2 (13/24)(11/24) = 286/576 and
    AC1 = (336 - 286) / (576 - 286) = 5/29. A fifth session with one decision is left out."""
    target = [0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4]
    passed = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1]
    d = decision_agreement(np.array(target), np.array(passed))
    assert d["n_sessions"] == 4 and d["n_ratings"] == 10
    assert d["agreement"] == pytest.approx(7 / 12, abs=1e-12)
    assert d["kappa"] == pytest.approx(23 / 143, abs=1e-12)
    assert d["ac1"] == pytest.approx(5 / 29, abs=1e-12)
    assert d["all_agree"] == 0.5 and d["pass_rate"] == pytest.approx(5 / 10)
    assert "Landis & Koch" in d["kappa_band"]


def test_pass_fail_agreement_equals_statsmodels_fleiss_with_two_raters():
    rng = np.random.default_rng(3)
    a = rng.random(80) < 0.7
    b = np.where(rng.random(80) < 0.8, a, ~a)
    d = decision_agreement(np.repeat(np.arange(80), 2), np.column_stack([a, b]).ravel().astype(int))
    table, _ = aggregate_raters(np.column_stack([a, b]).astype(int))
    assert d["kappa"] == pytest.approx(sm_fleiss(table), abs=1e-12)
    assert d["agreement"] == pytest.approx(np.mean(a == b), abs=1e-12)
    long = pd.DataFrame({"target": np.repeat(np.arange(80), 2), "rater": ["x", "y"] * 80,
                         "rating": np.column_stack([a, b]).ravel().astype(int)})
    assert d["ac1"] == pytest.approx(R.gwet_ac1(long, categories=[0, 1]), abs=1e-12)
    same = decision_agreement(np.repeat(np.arange(5), 2), np.ones(10, int))
    assert same["kappa"] is None and same["agreement"] == 1.0 and "chance agreement is 100%" in same["note"]


@pytest.fixture
def rated(db, library):
    """Two raters on four sessions; a proscribed item scored above 'none' on some ratings."""
    b = Builder(db)
    trainee = b.user("t1", "trainee")
    alice, bob = b.user("alice"), b.user("bob")
    inst = library.instruments[INSTRUMENT]
    proscribed = [it.id for it in inst.items if it.proscribed][:2]
    ipt = [it.id for it in inst.applicable_items("middle", "role_dispute") if not it.proscribed][:5]
    plan = {0: ([4, 4, 3, 4, 4], [1, 1], [4, 3, 3, 4, 4], [3, 1]),
            1: ([2, 3, 2, 2, 3], [1, 1], [2, 2, 2, 3, 3], [1, 1]),
            2: ([5, 4, 5, 4, 5], [4, 1], [5, 5, 4, 4, 5], [1, 2]),
            3: ([3, 3, 3, 2, 3], [1, 1], [3, 2, 3, 3, 3], [2, 2])}
    sessions = []
    for n, (a_ipt, a_pro, b_ipt, b_pro) in plan.items():
        sid = b.session(trainee)
        sessions.append(sid)
        for rater, i_scores, p_scores in ((alice, a_ipt, a_pro), (bob, b_ipt, b_pro)):
            b.rating(sid, rater, {**dict(zip(ipt, i_scores)), **dict(zip(proscribed, p_scores))})
    return {"b": b, "db": db, "sessions": sessions, "inst": inst, "ipt": ipt, "proscribed": proscribed}


def test_session_score_is_the_pass_rules_not_a_mean_with_proscribed_items(rated, library):
    db, inst = rated["db"], rated["inst"]
    long = rd.long_ratings(db, INSTRUMENT, library=library)
    for rid, sid, rater in db.conn.execute("SELECT r.id, r.session_id, u.display_name FROM ratings r "
                                           "JOIN users u ON u.id = r.rater_id"):
        scores = {i: {"score": s, "not_applicable": na} for i, s, na in db.conn.execute(
            "SELECT item_id, score, not_applicable FROM item_scores WHERE rating_id = ?", (rid,))}
        expected = score_rating(inst, {"phase": "middle", "problem_area": "role_dispute"}, scores)
        got = long[(long["target"] == str(sid)) & (long["rater"] == rater)]["rating"].item()
        assert got == pytest.approx(expected["mean"], abs=1e-12)
    plain = rd.long_ratings(db, INSTRUMENT, item_id=rated["ipt"][0])
    assert len(plain) == 8
    # Alice, session 3: adherence mean 4.6, one proscribed item 3 points above none: 4.6 - 0.75
    alice_s3 = long[(long["target"] == str(rated["sessions"][2])) & (long["rater"] == "Alice")]["rating"].item()
    assert alice_s3 == pytest.approx(4.6 - 3 * inst.pass_rule.proscribed_deduction)
    report = rd.reliability_report(db, library, INSTRUMENT)
    assert report["total"]["icc"] == pytest.approx(R.icc_oneway(long)["ICC(1,1)"]["value"], abs=1e-12)
    assert report["total"]["icc_a1"] == pytest.approx(R.icc_crossed(long)["value"], abs=1e-12)
    # a stored session score (as submit_rating stores it) is the one used
    first = db.conn.execute("SELECT id, session_id FROM ratings ORDER BY id LIMIT 1").fetchone()
    db.conn.execute("UPDATE ratings SET mean = 1.25, passed = 0 WHERE id = ?", (first[0],))
    again = rd.long_ratings(db, INSTRUMENT, library=library)
    assert again[again["target"] == str(first[1])]["rating"].min() == 1.25


def test_report_pass_fail_figures_on_every_double_rated_session(rated, library):
    db, inst = rated["db"], rated["inst"]
    decisions = []
    for rid, sid in db.conn.execute("SELECT id, session_id FROM ratings ORDER BY session_id, id"):
        scores = {i: {"score": s, "not_applicable": na} for i, s, na in db.conn.execute(
            "SELECT item_id, score, not_applicable FROM item_scores WHERE rating_id = ?", (rid,))}
        decisions.append((sid, int(score_rating(inst, {"phase": "middle", "problem_area": "role_dispute"},
                                                scores)["passed"])))
    by = pd.DataFrame(decisions, columns=["s", "p"]).groupby("s")["p"].agg(list)
    agree = np.mean([a == b for a, b in by])
    d = rd.reliability_report(db, library, INSTRUMENT)["decisions"]
    assert d["n_sessions"] == 4 and d["agreement"] == pytest.approx(agree)
    expected = decision_agreement(np.repeat(np.arange(4), 2), np.array([p for ps in by for p in ps]))
    assert d["kappa"] == expected["kappa"] and d["ac1"] == pytest.approx(expected["ac1"])
    table = rd.decisions_table(rd.reliability_report(db, library, INSTRUMENT))
    assert table["Sessions with 2+ decisions"].item() == 4


def test_a_draft_save_leaves_the_stamp_and_a_submission_changes_it(rated, library):
    db, b = rated["db"], rated["b"]
    admin, carol = b.as_user(b.user("boss", "admin")), b.as_user(b.user("carol"))
    sid = rated["sessions"][0]
    fidelity.assign(db, admin, sid, carol.id, None, "second_rating")
    before = rd.data_stamp(db)
    draft = fidelity.get_or_create_draft(db, carol, sid, "rater", library=library)
    items = rated["inst"].applicable_items("middle", "role_dispute")
    for it in items:
        fidelity.save_item(db, carol, draft["id"], it.id, 1 if it.proscribed else 3, False, library=library)
        assert rd.data_stamp(db) == before  # every autosave of a draft keeps the shared report
    fidelity.submit_rating(db, carol, draft["id"], library=library)
    assert rd.data_stamp(db) != before


def test_one_computation_per_change_shared_by_viewers(rated, library):
    """Viewers with nothing to hide share one report; a viewer blind to a rated session gets
    the report without it; a draft save recomputes nothing; a submission recomputes once."""
    db, b = rated["db"], rated["b"]
    carol = b.user("carol")
    shared_cache.clear()
    report_live.clear()
    built = shared_cache.builds

    def reports() -> int:
        return built["reliability_report"]

    start = reports()
    first = report_live.shared_report(db, library, INSTRUMENT, blind=frozenset())
    second = report_live.shared_report(db, library, INSTRUMENT, blind=frozenset({999_999}))  # an unrated session
    assert first is second and reports() == start + 1
    hidden = frozenset({rated["sessions"][1]})
    sums_before = dict(report_live.counts)
    mine = report_live.shared_report(db, library, INSTRUMENT, blind=hidden)
    assert reports() == start + 2 and mine["n_double_rated"] == first["n_double_rated"] - 1
    # from the one set of kept sums, less the hidden session: no sums of its own
    assert report_live.counts["sums_views"] == sums_before["sums_views"] + 1
    assert report_live.counts["sums_built"] == sums_before["sums_built"] and len(report_live._sums) == 1
    assert mine["session_ids"] == first["session_ids"] - hidden
    assert report_live.shared_report(db, library, INSTRUMENT, blind=hidden) is mine and reports() == start + 2
    # a draft (any rater, any session) changes nothing
    draft = b.rating(rated["sessions"][0], carol, {i: 3 for i in rated["ipt"]}, status="draft")
    assert report_live.shared_report(db, library, INSTRUMENT) is first and reports() == start + 2
    # a submission is a change: recomputed once, then shared again
    b.submit(draft, "2026-01-11")
    new = report_live.shared_report(db, library, INSTRUMENT)
    assert new is not first and new["n_ratings"] == first["n_ratings"] + 1 and reports() == start + 3
    assert report_live.shared_report(db, library, INSTRUMENT) is new and reports() == start + 3
    g1 = report_live.shared_generalizability(db, library, INSTRUMENT)
    assert report_live.shared_generalizability(db, library, INSTRUMENT) is g1


def test_drift_view_is_shared_and_filtered_for_a_plain_rater(rated, library):
    db, b = rated["db"], rated["b"]
    shared_cache.clear()
    admin, sup = b.as_user(b.user("boss", "admin")), b.as_user(b.user("sup", "supervisor", "rater"))
    rater = b.as_user(db.conn.execute("SELECT id FROM users WHERE username = 'alice'").fetchone()[0])
    today = dt.date(2026, 6, 1)
    full = calibration.shared_drift_view(db, library, today, admin)
    assert calibration.shared_drift_view(db, library, today, sup) is full
    own = calibration.shared_drift_view(db, library, today, rater)
    assert [r["rater_id"] for r in own["raters"]] == [rater.id]
    assert own["raters"] == calibration.drift_view(db, library, today, rater)["raters"]
