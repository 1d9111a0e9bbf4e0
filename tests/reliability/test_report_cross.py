"""The crossed ICC's co-rating weights W (report_cross) near the ends of int32 and int64, and
designs with many target sizes (L, the least common multiple of the sizes, past 2^31 and past
2^63), built at once and reached by updates, against the figures on the raw scores
(report_stats.group_figures) and an independent least-squares fit of R(r | mu, t)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipt_training.reliability import report_sums
from ipt_training.reliability.report_cross import RaterReduction
from ipt_training.reliability.report_stats import group_figures

from test_report_sums import _as_data

ONE = np.array([0])


def _cell(units: int, times: int, dtype=np.int32) -> RaterReduction:
    r = RaterReduction(1, 2)
    r.W = r.W.astype(dtype)
    for _ in range(times):
        r.add(ONE, ONE, np.array([1]), units)
    return r


def test_additions_past_int32_widen_before_they_are_made():
    r = _cell(2 ** 30, 3)
    assert int(r.W[0, 0, 1]) == 3 * 2 ** 30 and r.W.dtype == np.int64
    r = _cell(2 ** 30, 1)
    r.add(np.zeros(3, np.int64), np.zeros(3, np.int64), np.ones(3, np.int64), 2 ** 30)  # one call, repeated cell
    assert int(r.W[0, 0, 1]) == 4 * 2 ** 30
    r = _cell(-2 ** 30, 2)
    assert int(r.W[0, 0, 1]) == -2 ** 31 and r.exact


def test_a_scaling_past_int32_widens_before_it_is_applied():
    r = _cell(2 ** 29, 1)
    r.use_size(8)
    assert r.L == 8 and int(r.W[0, 0, 1]) == 2 ** 32
    r = _cell(2 ** 26, 1)
    r.use_size(8)
    assert int(r.W[0, 0, 1]) == 2 ** 29 and r.W.dtype == np.int32  # fits with room: not widened


def test_past_int64_the_weights_turn_to_float64_never_wrap():
    r = _cell(2 ** 62, 1, np.int64)
    r.add(ONE, ONE, np.array([1]), 2 ** 62)
    assert not r.exact and float(r.W[0, 0, 1]) == 2.0 ** 63
    r = _cell(2 ** 60, 1, np.int64)
    r.use_size(16)
    assert not r.exact and float(r.W[0, 0, 1]) == 2.0 ** 64
    r = _cell(2 ** 61, 1, np.int64)
    r.use_size(3)
    assert r.exact and int(r.W[0, 0, 1]) == 3 * 2 ** 61


def _design(largest: int, seed: int):
    """40 sessions rated by two raters, then one session for each size 3 .. ``largest``, every
    rater leaving an item N/A now and then (more target sizes still)."""
    rng = np.random.default_rng(seed)
    raters = np.arange(100, 160)
    effect = rng.normal(0, 0.6, 200)
    sessions = {}

    def rate(r, quality):
        return {g: float(np.clip(np.rint(quality + effect[r - 100] + rng.normal(0, 0.8)), 0, 4))
                for g in range(3) if g == 0 or rng.random() > 0.15}

    for s in range(40):
        q = rng.normal(2, 1)
        sessions[s] = {int(r): rate(int(r), q) for r in rng.choice(raters[:12], 2, replace=False)}
    later = []
    for m in range(3, largest + 1):
        q = rng.normal(2, 1)
        later.append((100 + m, {int(r): rate(int(r), q) for r in rng.choice(raters, m, replace=False)}))
    return sessions, later


def _reference(data, sums):
    it, r = data["items"], data["ratings"]
    item = it["item"].to_numpy()
    session = r["session_id"].to_numpy()[it["row"]]
    rater = np.searchsorted(sums.rater_ids, r["rater_id"].to_numpy()[it["row"]])
    target = pd.DataFrame({"i": item, "s": session}).groupby(["i", "s"], sort=False).ngroup().to_numpy()
    names = np.asarray([str(x) for x in sums.rater_ids], dtype=object)
    return item, target, rater, it["score"].to_numpy(float), names


def _r_rater_least_squares(target, rater, y):
    """R(r | mu, t): the residual sum of squares of y ~ target minus that of y ~ target + rater."""
    t = np.unique(target, return_inverse=True)[1]
    j = np.unique(rater, return_inverse=True)[1]
    xt = np.eye(t.max() + 1)[t]
    xtr = np.hstack([xt, np.eye(j.max() + 1)[j]])
    rss = [float(np.sum((y - x @ np.linalg.lstsq(x, y, rcond=None)[0]) ** 2)) for x in (xt, xtr)]
    return rss[0] - rss[1]


def _check(sums, data):
    item, target, rater, y, names = _reference(data, sums)
    got = sums.item_figures(names)
    want = group_figures(item, target, rater, y, len(data["item_ids"]), names, "ordinal")
    for g, (row, ref) in enumerate(zip(got, want)):
        assert ref["icc_a1"] is not None and row["icc_a1"] == pytest.approx(ref["icc_a1"], rel=1e-9, abs=1e-12)
        assert row["icc"] == pytest.approx(ref["icc"], rel=1e-9, abs=1e-12)
        double = np.bincount(target[item == g])[target[item == g]] >= 2
        least_squares = _r_rater_least_squares(target[item == g][double], rater[item == g][double],
                                               y[item == g][double])
        assert sums.cross.r_rater[g] == pytest.approx(least_squares, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("largest, exact, seed", [(25, True, 1), (45, False, 2)])
def test_many_target_sizes_built_at_once_and_reached_by_updates_equal_the_raw_figures(largest, exact, seed):
    sessions, later = _design(largest, seed)
    every = {**sessions, **dict(later)}
    data = _as_data(every, 3)
    at_once = report_sums.build(data, [0, 1, 2, 3, 4])
    assert at_once.cross.L > 2 ** 31 and at_once.cross.exact == exact
    _check(at_once, data)

    sums = report_sums.build(_as_data(sessions, 3), [0, 1, 2, 3, 4])
    so_far = dict(sessions)
    for sid, ratings in later:  # each big session's ratings come one at a time (the old contribution out, the new in)
        for rid in list(ratings)[:2] + [list(ratings)]:
            old = _as_data(so_far, 3)
            so_far[sid] = {r: ratings[r] for r in (rid if isinstance(rid, list) else list(so_far.get(sid, {})) + [rid])}
            assert report_sums.add_sessions(sums, old, np.array([sid]), -1.0)
            assert report_sums.add_sessions(sums, _as_data(so_far, 3), np.array([sid]), 1.0)
            sums.item_figures(np.asarray([str(x) for x in sums.rater_ids], dtype=object))  # solved, so the next change goes through the updates
    assert sums.cross.exact == exact and sums.cross.L == at_once.cross.L
    _check(sums, data)
    # a session taken out again: back to the figures without it
    old = _as_data(so_far, 3)
    gone = so_far.pop(later[-1][0])
    assert gone and report_sums.add_sessions(sums, old, np.array([later[-1][0]]), -1.0)
    _check(sums, _as_data(so_far, 3))


def test_a_solve_whose_refinement_never_converges_is_solved_directly(monkeypatch):
    """No refinement step allowed: every solve fails to converge, even after a fresh factorisation,
    and the figures come from the direct float64 solve, still those of the raw scores."""
    from ipt_training.reliability import report_cross

    monkeypatch.setattr(report_cross, "REFINE_STEPS", 0)
    sessions, later = _design(12, 3)
    data = _as_data({**sessions, **dict(later)}, 3)
    _check(report_sums.build(data, [0, 1, 2, 3, 4]), data)
