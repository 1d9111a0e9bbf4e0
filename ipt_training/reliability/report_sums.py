"""The reliability report's item figures kept as sums over the double-rated sessions, so that a
second rating of a session costs that session's contribution, not a pass over every item score
(issue 16).

Each item figure of :func:`.report_stats.group_figures` is a closed form of sums over the item's
targets (session items with two or more ratings; target i has n_i ratings summing to s_i):

- one-way ICC(1,1) (Searle 1971; Donner 1986; McGraw & Wong 1996): N, a, sum n_i^2,
  SSW = sum_i (n_i sum y^2 - s_i^2) / n_i and SSB = sum_i s_i^2 / n_i - (sum y)^2 / N;
- crossed ICC(A,1) by Henderson's Method III (Henderson 1953; Searle, Casella & McCulloch 1992):
  per rater j, n_.j and its sum y_.j; C = diag(n_.j) - sum_i (1 / n_i) (co-ratings of target i);
  q_j = y_.j - sum_{i rated by j} s_i / n_i, so R(r | mu, t) = q' C^+ q; R(t | mu) = SSB;
  R(r | mu) = sum_j y_.j^2 / n_.j - (sum y)^2 / N; total = sum y^2 - (sum y)^2 / N;
- ordinal Krippendorff's alpha (Krippendorff 2011): the coincidence matrix
  o_ck = sum_u (ordered pairs of values c, k in unit u) / (m_u - 1) and the value counts n_c;
  with the ranks a_c = n_1 + ... + n_c - n_c / 2, D_o = sum o_ck (a_c - a_k)^2 / n and
  D_e = sum n_c n_k (a_c - a_k)^2 / (n (n - 1)), alpha = 1 - D_o / D_e;
- Cohen's kappa of a pair of raters (Cohen 1960, 1968): the pair's table of the categories both
  gave a session item, and the number of sessions they share.

Every sum is kept per target size m as counts and sums of scores, which are whole numbers for
whole-number scale points, so the sums do not depend on the order in which sessions came and
went: a session's new rating takes its old contribution out and puts its new one in, and the
figures equal those of the sums built at once (the tests compare them with the full computation).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .icc import crossed_closed, oneway_closed
from .long_data import same_key_pairs
from .report_stats import figure_rows


class ItemSums:
    """The sums of every item's figures (see module) over whole sessions' item scores.

    ``n_items`` groups, raters coded by their position in ``rater_ids``, scores coded by their
    position in ``categories`` (sorted). :meth:`add` adds (sign +1) or takes out (-1) sessions.
    """

    def __init__(self, n_items: int, rater_ids: np.ndarray, categories: np.ndarray):
        G, B, V = n_items, len(rater_ids), len(categories)
        self.G, self.B, self.V = G, B, V
        self.rater_ids = np.asarray(rater_ids, dtype=np.int64)
        self.categories = np.asarray(categories, dtype=float)
        self.by_size: dict[int, dict[str, np.ndarray]] = {}
        z = np.zeros
        self.N, self.Sy, self.Syy = z(G), z(G), z(G)
        self.a, self.n1, self.sum_n2 = z(G), z(G), z(G)
        self.nj, self.Rj, self.ncat = z((G, B)), z((G, B)), z((G, V))
        self.tables = z((B, B, V, V))   # categories two raters gave one session item
        self.shared = z((B, B))         # sessions two raters both rated (a <= b)

    def _size(self, m: int) -> dict[str, np.ndarray]:
        G, B, V = self.G, self.B, self.V
        if m not in self.by_size:
            self.by_size[m] = {"SB": np.zeros(G), "W": np.zeros(G), "U": np.zeros((G, B)),
                               "K": np.zeros((G, B, B)), "P": np.zeros((G, V, V))}
        return self.by_size[m]

    def codes(self, rater_ids: np.ndarray, scores: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """Rater and category codes; raters new to the sums are added (every array grows, with
        zeros, and stays in rater-id order, as built at once), a score not in the categories gives None."""
        c = np.searchsorted(self.categories, scores) if self.V else np.zeros(len(scores), np.int64)
        c = np.minimum(c, max(self.V - 1, 0))
        if len(scores) and (not self.V or (self.categories[c] != scores).any()):
            return None
        new = np.setdiff1d(rater_ids, self.rater_ids)
        if len(new):
            self._grow(new)
        return np.searchsorted(self.rater_ids, rater_ids).astype(np.int64), c.astype(np.int64)

    def _grow(self, new_ids: np.ndarray) -> None:
        ids = np.concatenate([self.rater_ids, np.asarray(new_ids, dtype=np.int64)])
        order = np.argsort(ids, kind="stable")
        k, self.B, self.rater_ids = len(new_ids), len(ids), ids[order]

        def grow(arr: np.ndarray, axes: tuple) -> np.ndarray:
            arr = np.pad(arr, [(0, k) if n in axes else (0, 0) for n in range(arr.ndim)])
            for axis in axes:
                arr = np.take(arr, order, axis=axis)
            return arr

        self.nj, self.Rj = grow(self.nj, (1,)), grow(self.Rj, (1,))
        shared = grow(self.shared, (0, 1))  # kept as (a <= b): fold what the new order put below
        self.tables, self.shared = grow(self.tables, (0, 1)), np.triu(shared) + np.triu(shared.T, 1)
        for part in self.by_size.values():
            part["U"], part["K"] = grow(part["U"], (1,)), grow(part["K"], (1, 2))

    def add(self, sign: float, item: np.ndarray, session: np.ndarray, rater: np.ndarray, cat: np.ndarray,
            y: np.ndarray, rating_session: np.ndarray, rating_rater: np.ndarray) -> None:
        """Add (``sign`` 1) or take out (-1) whole sessions: their item scores (item, session,
        rater code, category code, score) and their ratings (session, rater code)."""
        B, V = self.B, self.V
        i, j = same_key_pairs(np.asarray(rating_session, dtype=np.int64))
        ra, rb = rating_rater[i], rating_rater[j]
        _acc(self.shared, np.minimum(ra, rb) * B + np.maximum(ra, rb), sign)
        if not len(y):
            return
        key = item.astype(np.int64) * (int(session.max()) + 1) + session
        order = np.argsort(key, kind="stable")  # targets as runs: the pairs below find them sorted
        key, item, rater, cat, y = key[order], item[order], rater[order], cat[order], y[order]
        start = np.r_[True, key[1:] != key[:-1]]
        t = np.cumsum(start) - 1
        m_t = np.diff(np.r_[np.flatnonzero(start), len(key)])
        t_item = np.zeros(len(m_t), np.int64)
        t_item[t] = item
        _acc(self.n1, t_item[m_t == 1], sign)
        keep = m_t[t] >= 2
        item, t, rater, cat, y = item[keep], t[keep], rater[keep], cat[keep], y[keep]
        if not len(y):
            return
        m = m_t[t]
        s_t = np.bincount(t, weights=y, minlength=len(m_t))
        q_t = np.bincount(t, weights=y * y, minlength=len(m_t))
        double = m_t >= 2
        _acc(self.N, item, sign)
        _acc(self.Sy, item, sign * y)
        _acc(self.Syy, item, sign * y * y)
        _acc(self.a, t_item[double], sign)
        _acc(self.sum_n2, t_item[double], sign * m_t[double].astype(float) ** 2)
        _acc(self.nj, item * B + rater, sign)
        _acc(self.Rj, item * B + rater, sign * y)
        _acc(self.ncat, item * V + cat, sign)
        pi, pj = same_key_pairs(t)
        rp, rq, cp, cq = rater[pi], rater[pj], cat[pi], cat[pj]
        _acc(self.tables, np.concatenate([(rp * B + rq) * V * V + cp * V + cq, (rq * B + rp) * V * V + cq * V + cp]),
             sign)
        for size in np.unique(m_t[double]).tolist():
            part = self._size(int(size))
            ts = double & (m_t == size)
            _acc(part["SB"], t_item[ts], sign * s_t[ts] ** 2)
            _acc(part["W"], t_item[ts], sign * (size * q_t[ts] - s_t[ts] ** 2))
            rows = m == size
            _acc(part["U"], item[rows] * B + rater[rows], sign * s_t[t[rows]])
            pairs = m[pi] == size
            gi, a_, b_ = item[pi][pairs], rp[pairs], rq[pairs]
            self_cells = (item[rows] * B + rater[rows]) * B + rater[rows]
            _acc(part["K"], np.concatenate([self_cells, (gi * B + a_) * B + b_, (gi * B + b_) * B + a_]), sign)
            ca, cb = cp[pairs], cq[pairs]
            _acc(part["P"], np.concatenate([(gi * V + ca) * V + cb, (gi * V + cb) * V + ca]), sign)

    def item_figures(self, rater_names: np.ndarray) -> list[dict[str, Any]]:
        """:func:`.report_stats.group_figures` of every item ("ordinal" alpha), from the sums;
        ``rater_names`` labels the rater codes."""
        G, B = self.G, self.B
        N, Sy = self.N, self.Sy
        parts = sorted(self.by_size.items())
        SB = sum((p["SB"] / m for m, p in parts), np.zeros(G))
        with np.errstate(all="ignore"):
            mean_sq = np.where(N > 0, Sy * Sy / N, 0.0)
            ssb = SB - mean_sq
            ssw = sum((p["W"] / m for m, p in parts), np.zeros(G))
            one = oneway_closed(ssb, ssw, N, self.a, self.sum_n2)
            present = self.nj > 0
            c = np.zeros((G, B, B))
            for m, p in parts:  # C = diag(n_.j) - sum over sizes m of K_m / m
                c -= np.multiply(p["K"], 1.0 / m) if m == 2 else p["K"] / m
            c[:, np.arange(B), np.arange(B)] += self.nj
            rhs = self.Rj - sum((p["U"] / m for m, p in parts), np.zeros((G, B)))
            ss_r = np.sum(np.divide(self.Rj ** 2, self.nj, out=np.zeros((G, B)), where=present), axis=1) - mean_sq
            crossed = crossed_closed(c, rhs, _blocks(c), present, N, self.a, self.Syy - mean_sq, ssb, ss_r)
        alpha = _ordinal_alpha(sum((p["P"] / (m - 1) for m, p in parts), np.zeros((G, self.V, self.V))),
                               self.ncat, N)
        constant = (self.ncat > 0).sum(axis=1) <= 1
        any_double = bool((self.a > 0).any())
        return figure_rows((self.a + self.n1).astype(np.int64), self.a.astype(np.int64), present, rater_names,
                           one if any_double else None, crossed if any_double else None,
                           alpha if any_double else None, constant, "ordinal")

    def pair_counts(self) -> pd.DataFrame:
        """Rater-code pairs (a <= b) and how many sessions both rated, one row per pair."""
        a, b = np.nonzero(self.shared)
        keep = a <= b
        return pd.DataFrame({"a": a[keep], "b": b[keep], "n": self.shared[a[keep], b[keep]].astype(np.int64)})

    def pair_tables(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        """pairs x categories x categories tables: the categories rater a (rows) and rater b
        (columns) of each pair (a, b) gave the session items both scored."""
        if not pairs:
            return np.zeros((0, self.V, self.V))
        return np.stack([self.tables[a, b] for a, b in pairs])


def _acc(arr: np.ndarray, index: np.ndarray, weights: Any) -> None:
    """``arr.flat[index] += weights``, repeated indexes summed (``bincount`` when many)."""
    flat = arr.reshape(-1)
    index = np.asarray(index, dtype=np.int64)
    if not len(index):
        return
    if len(index) * 8 > flat.size:
        if np.ndim(weights) == 0:  # a count: whole numbers, exact
            flat += float(weights) * np.bincount(index, minlength=flat.size)
        else:
            flat += np.bincount(index, weights=weights, minlength=flat.size)
    else:
        np.add.at(flat, index, np.broadcast_to(np.asarray(weights, dtype=float), index.shape))


def _blocks(c: np.ndarray) -> np.ndarray:
    """Connected blocks of raters within each item, linked where C (items x raters x raters) is
    not zero off its diagonal (two raters of one target): labels unique across items, a rater
    who rated nothing of an item in a block of its own."""
    G, B = c.shape[0], c.shape[1]
    g, a, b = np.nonzero(c)
    n = G * B
    graph = sparse.csr_matrix((np.ones(len(g)), (g * B + a, g * B + b)), shape=(n, n))
    return connected_components(graph, directed=False)[1].reshape(G, B)


def _ordinal_alpha(o: np.ndarray, n_c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Ordinal Krippendorff's alpha of each group from its coincidence matrix ``o`` and value
    counts ``n_c`` (see module)."""
    ranks = np.cumsum(n_c, axis=1) - n_c / 2.0
    d2 = (ranks[:, :, None] - ranks[:, None, :]) ** 2
    with np.errstate(all="ignore"):
        d_o = np.einsum("gck,gck->g", o, d2) / n
        d_e = np.einsum("gc,gk,gck->g", n_c, n_c, d2) / (n * (n - 1))
        return 1.0 - d_o / d_e


def build(data: dict[str, Any], categories: list) -> ItemSums:
    """The sums of assembled double-rated data (:func:`.report_data.double_rated_part`), with
    every rater of the data and the sorted union of ``categories`` and the scores given."""
    ratings, items = data["ratings"], data["items"]
    rater_ids = np.unique(ratings["rater_id"].to_numpy(np.int64))
    cats = np.asarray(sorted(set(float(c) for c in categories) | set(np.unique(items["score"]).tolist())), float)
    sums = ItemSums(len(data["item_ids"]), rater_ids, cats)
    add_sessions(sums, data, None, 1.0)
    return sums


def add_sessions(sums: ItemSums, data: dict[str, Any], sessions: Optional[np.ndarray], sign: float) -> bool:
    """Add (or with ``sign`` -1 take out) the rows of ``sessions`` (None: all) of ``data`` to
    ``sums``; False (nothing changed) when a rater or a score is new to the sums."""
    ratings, items = data["ratings"], data["items"]
    session = ratings["session_id"].to_numpy(np.int64)
    rows = np.arange(len(ratings)) if sessions is None else np.flatnonzero(np.isin(session, sessions))
    row = items["row"].to_numpy()  # item rows in rating order: each rating's items are one run
    on = slice(None)
    if sessions is not None:
        lo, hi = np.searchsorted(row, rows), np.searchsorted(row, rows, side="right")
        on = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)] or [np.zeros(0, np.int64)])
    score = items["score"].to_numpy(float)[on]
    coded = sums.codes(ratings["rater_id"].to_numpy(np.int64), score)
    if coded is None:
        return False
    rater, cat = coded
    row = row[on]
    sums.add(sign, items["item"].to_numpy(np.int64)[on], session[row], rater[row], cat, score,
             session[rows], rater[rows])
    return True
