"""A viewer's blind set as a view of the kept item sums less those sessions (ItemSums.view,
report_cross's ReductionView): every figure equal to sums built without the sessions, whichever
way each item is solved (Woodbury applied to vectors, or directly when its blocks change), and
the kept sums left exactly as they were (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipt_training.reliability import report_sums

from test_report_cross import _check, _design
from test_report_sums import _as_data, _compare, _data

SCALE = [0, 1, 2, 3, 4]


def _without(data: dict, sessions) -> dict:
    r = data["ratings"]
    keep = ~r["session_id"].isin(list(sessions)).to_numpy()
    row = np.cumsum(keep) - 1
    it = data["items"][keep[data["items"]["row"].to_numpy()]]
    return {**data, "ratings": r[keep].reset_index(drop=True),
            "items": pd.DataFrame({"row": row[it["row"].to_numpy()], "item": it["item"].to_numpy(),
                                   "score": it["score"].to_numpy()})}


def _frozen(sums) -> dict:
    """Copies of every array the kept sums hold."""
    out = {k: v.copy() for k, v in vars(sums).items() if isinstance(v, np.ndarray)}
    out |= {f"cross.{k}": v.copy() for k, v in vars(sums.cross).items() if isinstance(v, np.ndarray)}
    out |= {f"pairs.{k}": v.copy() for k, v in vars(sums.pairs).items() if isinstance(v, np.ndarray)}
    out |= {f"{m}.{k}": v.copy() for m, part in sums.by_size.items() for k, v in part.items()}
    return out


def _unchanged(sums, before: dict) -> None:
    now = _frozen(sums)
    assert now.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(now[k], before[k], err_msg=k)


@pytest.mark.parametrize("seed", range(3))
def test_sums_less_a_blind_set_equal_sums_built_without_it(seed):
    rng = np.random.default_rng(seed)
    data = _data(20 + seed, n_sessions=60, n_raters=9)
    sums = report_sums.build(data, SCALE)
    names = np.asarray([str(x) for x in sums.rater_ids], dtype=object)
    sums.item_figures(names)  # solved: what the report holds between visits
    before = _frozen(sums)
    session_ids = np.unique(data["ratings"]["session_id"].to_numpy())
    r = data["ratings"]
    loner = r["rater_id"].value_counts().idxmin()
    blind_sets = [rng.choice(session_ids, k, replace=False) for k in (1, 3, 10, 30)]
    blind_sets.append(np.unique(r.loc[r["rater_id"] == loner, "session_id"]))  # a rater leaves: blocks change
    ways = {"woodbury": 0, "direct": 0}
    for hidden in blind_sets:
        view = sums.view((data, hidden, -1.0))
        _compare(view, report_sums.build(_without(data, hidden), SCALE))
        for way, n in view.cross.solved.items():
            ways[way] += n
        _unchanged(sums, before)
    assert ways["woodbury"] > 0 and ways["direct"] > 0
    _compare(sums, report_sums.build(data, SCALE))  # the kept sums still give everyone's figures


@pytest.mark.parametrize("largest, exact, seed", [(25, True, 1), (45, False, 2)])
def test_sums_less_sessions_past_int32_and_int64_equal_the_raw_figures(largest, exact, seed):
    """With L past 2^31 (int64 weights) and past 2^63 (float64 weights): the view of the sums
    less big and small sessions against the raw scores' figures and a least-squares R(r | mu, t)."""
    sessions, later = _design(largest, seed)
    every = {**sessions, **dict(later)}
    data = _as_data(every, 3)
    sums = report_sums.build(data, SCALE)
    assert sums.cross.exact == exact
    sums.item_figures(np.asarray([str(x) for x in sums.rater_ids], dtype=object))
    before = _frozen(sums)
    for hidden in ([later[-1][0]], [later[3][0], 0, 1], [s for s in sessions if s % 3 == 0]):
        view = sums.view((data, hidden, -1.0))
        _check(view, _as_data({s: v for s, v in every.items() if s not in hidden}, 3))
        _unchanged(sums, before)


def test_the_comparison_catches_a_view_that_keeps_the_old_co_ratings(monkeypatch):
    """A planted bug: the view ignores the co-ratings taken out (C unchanged, q changed). The
    comparison with sums built without the sessions catches it."""
    from ipt_training.reliability import report_cross

    monkeypatch.setattr(report_cross.ReductionView, "add", lambda self, item, a, b, units: None)
    data = _data(5, n_sessions=40, n_raters=7)
    sums = report_sums.build(data, SCALE)
    hidden = np.unique(data["ratings"]["session_id"])[:6]
    with pytest.raises(AssertionError):
        _compare(sums.view((data, hidden, -1.0)), report_sums.build(_without(data, hidden), SCALE))


def test_hiding_the_only_session_linking_two_groups_of_raters_splits_the_blocks():
    """Raters 1-3 and 4-6 rate apart; one session of raters 3 and 4 links them. Hidden, the
    raters stay but the blocks split (two blocks, more degrees of freedom): the view notices it
    and solves that item directly, equal to the sums built without the session."""
    rng = np.random.default_rng(9)
    sessions = {}
    for s in range(24):
        group = (1, 2, 3) if s % 2 else (4, 5, 6)
        sessions[s] = {int(r): {0: float(rng.integers(0, 5))} for r in rng.choice(group, 2, replace=False)}
    sessions[99] = {3: {0: 1.0}, 4: {0: 3.0}}
    data = _as_data(sessions, 1)
    sums = report_sums.build(data, SCALE)
    sums.item_figures(np.asarray([str(x) for x in sums.rater_ids], dtype=object))  # solved: blocks known
    assert len(np.unique(sums.cross.block[0])) == 1
    view = sums.view((data, [99], -1.0))
    want = report_sums.build(_as_data({s: v for s, v in sessions.items() if s != 99}, 1), SCALE)
    _compare(view, want)
    assert len(np.unique(view.cross.block[0])) == 2 and view.cross.solved == {"woodbury": 0, "direct": 1}


def test_a_view_with_sessions_rated_since_put_back_as_they_were():
    """What a visitor holding older rows gets from sums brought further: the sessions rated since
    taken out as they are now and put back as they were, equal to the sums built on the older
    data; a change that brings a rater the sums never had gives no view (built afresh instead)."""
    rng = np.random.default_rng(4)
    raters = list(range(10, 19))
    before = {s: {int(r): {g: float(rng.integers(0, 5)) for g in range(4)} for r in rng.choice(raters, 2, replace=False)}
              for s in range(40)}
    after = {s: {r: dict(v) for r, v in ratings.items()} for s, ratings in before.items()}
    for s in (3, 7, 11):  # third ratings since
        r = next(r for r in raters if r not in after[s])
        after[s][r] = {g: float(rng.integers(0, 5)) for g in range(4)}
    old, new = _as_data(before, 4), _as_data(after, 4)
    sums = report_sums.build(new, SCALE)
    sums.item_figures(np.asarray([str(x) for x in sums.rater_ids], dtype=object))
    frozen = _frozen(sums)
    since = {3, 7, 11}
    _compare(sums.view((new, since, -1.0), (old, since, 1.0)), report_sums.build(old, SCALE))
    hidden = {7, 20}  # and a blind set on top: out, and not put back
    _compare(sums.view((new, since | hidden, -1.0), (old, since - hidden, 1.0)),
             report_sums.build(_without(old, hidden), SCALE))
    _unchanged(sums, frozen)
    newcomer = {**before, 3: {**before[3], 99: {0: 2.0}}}
    assert sums.view((new, {3}, -1.0), (_as_data(newcomer, 4), {3}, 1.0)) is None
    _unchanged(sums, frozen)
