"""The kept sums of the reliability report (:mod:`ipt_training.reliability.report_sums`) against
an independent computation on the raw item scores: :func:`report_stats.group_figures` (itself
checked against pingouin and R in test_icc/test_agreement) for every item figure, and pandas
cross-tabulations for the pair tables and shared-session counts. The live report's tests compare
sums updated step by step with sums built at once; this is the check that both are right."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ipt_training.reliability import report_sums
from ipt_training.reliability.report_stats import group_figures

def _data(seed: int, n_sessions=40, n_raters=7, n_items=6, one_rater_item=False, constant_item=False):
    """Sessions rated by 2-4 of the raters (a rater who joins late rates only a few), item scores
    on 0-4 with N/A left out; optionally an item only one rater of each session scores (no
    double-rated target) and an item every rater scores 3."""
    rng = np.random.default_rng(seed)
    ratings, items = [], []
    rater_ids = np.sort(rng.choice(np.arange(10, 200), n_raters, replace=False))
    for s in range(n_sessions):
        pool = rater_ids if s > 5 or n_raters < 3 else rater_ids[:-1]  # the last rater joins late
        raters = rng.choice(pool, min(len(pool), rng.integers(2, 5)), replace=False)
        quality = rng.normal(2, 0.8)
        for r in raters:
            row = len(ratings)
            ratings.append((1000 + s, int(r)))
            for g in range(n_items):
                if constant_item and g == n_items - 1:
                    items.append((row, g, 3.0))
                    continue
                if one_rater_item and g == 0 and r != raters[0]:
                    continue
                if rng.random() < 0.12:
                    continue  # N/A
                items.append((row, g, float(np.clip(np.rint(quality + rng.normal(0, 0.7) + (r % 3 - 1) * 0.3), 0, 4))))
    return {"ratings": pd.DataFrame(ratings, columns=["session_id", "rater_id"]),
            "items": pd.DataFrame(items, columns=["row", "item", "score"]),
            "item_ids": [f"i{g}" for g in range(n_items)]}


def _long(data):
    r, it = data["ratings"], data["items"]
    return pd.DataFrame({"item": it["item"].to_numpy(), "session": r["session_id"].to_numpy()[it["row"]],
                         "rater": r["rater_id"].to_numpy()[it["row"]], "score": it["score"].to_numpy()})


def _same(a, b):
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) == (b is None or (isinstance(b, float) and math.isnan(b))) \
            if not (a is None and b is None) else True
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed, options", [(1, {}), (2, {"one_rater_item": True}), (3, {"constant_item": True}),
                                           (4, {"n_raters": 2}), (5, {"n_sessions": 3, "n_items": 2})])
def test_item_figures_from_the_sums_equal_the_figures_on_the_raw_scores(seed, options):
    data = _data(seed, **options)
    sums = report_sums.build(data, [0, 1, 2, 3, 4])
    names = np.asarray([f"rater {x}" for x in sums.rater_ids], dtype=object)
    got = sums.item_figures(names)
    d = _long(data)
    target = d.groupby(["item", "session"], sort=False).ngroup().to_numpy()
    rater = np.searchsorted(sums.rater_ids, d["rater"].to_numpy())
    want = group_figures(d["item"].to_numpy(), target, rater, d["score"].to_numpy(), len(data["item_ids"]),
                         names, "ordinal")
    assert len(got) == len(want) == len(data["item_ids"])
    compared = 0
    for g, w in zip(got, want):
        assert set(g) == set(w)
        for key in w:
            if isinstance(w[key], float) or isinstance(g[key], float):
                assert _same(g[key], w[key]), (key, g[key], w[key])
                compared += w[key] is not None and not (isinstance(w[key], float) and math.isnan(w[key]))
            else:
                assert g[key] == w[key], (key, g[key], w[key])
    assert compared > 0  # some figures are numbers, not all refused


def test_pair_tables_and_shared_sessions_equal_cross_tabulations_of_the_raw_scores():
    data = _data(7)
    sums = report_sums.build(data, [0, 1, 2, 3, 4])
    d = _long(data)
    wide = d.pivot_table(index=["item", "session"], columns="rater", values="score")
    r = data["ratings"]
    sessions_of = r.groupby("rater_id")["session_id"].apply(set)
    counts = sums.pair_counts()
    assert len(counts) > 5
    for a, b, n in zip(counts["a"], counts["b"], counts["n"]):
        ra, rb = sums.rater_ids[a], sums.rater_ids[b]
        assert n == len(sessions_of[ra] & sessions_of[rb])
        if a == b:
            continue
        both = wide[[ra, rb]].dropna()
        table = sums.pair_tables([(a, b)])[0]
        want = pd.crosstab(both[ra], both[rb]).reindex(index=sums.categories, columns=sums.categories, fill_value=0)
        np.testing.assert_array_equal(table, want.to_numpy())


def test_sessions_taken_out_and_put_back_leave_the_sums_of_the_rest():
    """Taking a session out gives the sums of the data without it; putting it back, the sums of all."""
    data = _data(8)
    sums = report_sums.build(data, [0, 1, 2, 3, 4])
    names = np.asarray([str(x) for x in sums.rater_ids], dtype=object)
    session = int(data["ratings"]["session_id"].iloc[0])
    assert report_sums.add_sessions(sums, data, np.array([session]), -1.0)
    r = data["ratings"]
    keep = (r["session_id"] != session).to_numpy()
    new_row = np.cumsum(keep) - 1
    it = data["items"][keep[data["items"]["row"]]].copy()
    it["row"] = new_row[it["row"]]
    without = report_sums.build({**data, "ratings": r[keep].reset_index(drop=True), "items": it.reset_index(drop=True)},
                                [0, 1, 2, 3, 4])
    _compare(sums, without)
    assert report_sums.add_sessions(sums, data, np.array([session]), 1.0)
    _compare(sums, report_sums.build(data, [0, 1, 2, 3, 4]))


def _as_data(sessions: dict, n_items: int | None = None) -> dict:
    """Data of ``{session: {rater id: {item: score}}}``, ratings in (session, rater) order; items
    ``i0 .. i{n_items - 1}`` (by default as many as the highest item scored)."""
    ratings, items = [], []
    for sid in sorted(sessions):
        for rid in sorted(sessions[sid]):
            row = len(ratings)
            ratings.append((sid, rid))
            items += [(row, g, v) for g, v in sorted(sessions[sid][rid].items())]
    n_items = n_items or 1 + max((g for _, g, _ in items), default=0)
    return {"ratings": pd.DataFrame(ratings, columns=["session_id", "rater_id"]),
            "items": pd.DataFrame(items, columns=["row", "item", "score"]), "item_ids": [f"i{g}" for g in range(n_items)]}


def _compare(sums, want):
    """Every item figure of the updated ``sums`` equal to the sums built at once to 1e-10, every
    count, note and list exactly; the pair counts and tables exactly."""
    label = lambda ids: np.asarray([f"rater {x}" for x in ids], dtype=object)  # noqa: E731
    got_rows, want_rows = sums.item_figures(label(sums.rater_ids)), want.item_figures(label(want.rater_ids))
    assert len(got_rows) == len(want_rows)
    for g, w in zip(got_rows, want_rows):
        assert set(g) == set(w)
        for key in w:
            if isinstance(w[key], float) or isinstance(g[key], float):
                assert (g[key] is None) == (w[key] is None), key
                if w[key] is not None:
                    assert g[key] == pytest.approx(w[key], abs=1e-10, rel=0), key
            else:
                assert g[key] == w[key], key

    def pairs(s):
        c = s.pair_counts()
        ids = list(zip(s.rater_ids[c["a"]], s.rater_ids[c["b"]]))
        tables = s.pair_tables(list(zip(c["a"], c["b"])))
        return {p: (n, t.tolist()) for p, n, t in zip(ids, c["n"], tables)}

    assert pairs(sums) == pairs(want)


def _mixed_run(seed: int, steps: int, check) -> None:
    """A random run of second and third ratings, reopened ratings, rescored ratings, new raters
    and first ratings, each applied to the sums as the live report does (the session's old
    contribution out, the new one in), with ``check(sums, data)`` after every step."""
    rng = np.random.default_rng(seed)
    raters = list(range(10, 18))
    sessions = {}
    for s in range(30):
        chosen = rng.choice(raters, rng.integers(1, 4), replace=False)
        sessions[s] = {int(r): {g: float(rng.integers(0, 5)) for g in range(5) if rng.random() > 0.1} for r in chosen}
    data = _as_data(sessions)
    sums = report_sums.build(data, [0, 1, 2, 3, 4])
    for step in range(steps):
        old = data
        sid = int(rng.choice(sorted(sessions)))
        kind = rng.choice(["further", "reopen", "rescore", "newcomer", "first"])
        if kind == "first":
            sid = max(sessions) + 1
            sessions[sid] = {}
        session = sessions[sid]
        if kind == "reopen" and session:
            session.pop(int(rng.choice(sorted(session))))
        elif kind == "rescore" and session:
            r = int(rng.choice(sorted(session)))
            session[r] = {g: float(rng.integers(0, 5)) for g in range(5) if rng.random() > 0.1}
        else:
            pool = [r for r in raters if r not in session]
            if kind == "newcomer" or not pool:
                raters.append(max(raters) + 1 + int(rng.integers(0, 3)))
                pool = [raters[-1]]
            session[int(rng.choice(pool))] = {g: float(rng.integers(0, 5)) for g in range(5) if rng.random() > 0.1}
        data = _as_data(sessions)
        if len(data["item_ids"]) != len(old["item_ids"]):
            continue
        assert report_sums.add_sessions(sums, old, np.array([sid]), -1.0)
        assert report_sums.add_sessions(sums, data, np.array([sid]), 1.0)
        check(sums, data)


@pytest.mark.parametrize("seed", range(3))
def test_sums_updated_through_random_mixed_runs_equal_sums_built_at_once(seed):
    updated = []

    def check(sums, data):
        _compare(sums, report_sums.build(data, [0, 1, 2, 3, 4]))
        updated.append(sums.cross.refactored)

    _mixed_run(seed, 60, check)
    # the crossed ICC's inverses were updated, not factorised afresh at every step
    assert len(updated) > 40 and updated[-1] - updated[0] < 5 * len(updated) * 0.5


def test_the_comparison_catches_co_ratings_never_taken_out(monkeypatch):
    """A planted bug: the crossed ICC's matrix C keeps a session's old co-ratings. The comparison
    with sums built at once catches it."""
    from ipt_training.reliability import report_cross

    real = report_cross.RaterReduction.add
    monkeypatch.setattr(report_cross.RaterReduction, "add",
                        lambda self, item, a, b, units: real(self, item, a, b, np.maximum(units, 0)))
    with pytest.raises(AssertionError):
        _mixed_run(0, 60, lambda sums, data: _compare(sums, report_sums.build(data, [0, 1, 2, 3, 4])))
