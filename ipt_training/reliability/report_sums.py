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

import copy
from typing import Any, Optional

import numpy as np
import pandas as pd

from .icc import crossed_reduced, oneway_closed
from .long_data import same_key_pairs
from .report_cross import RaterReduction, ReductionView
from .report_stats import figure_rows


DENSE_CELLS = 2 ** 24


class ItemSums:
    """The sums of every item's figures (see module) over whole sessions' item scores.

    The groups are the items ``item_ids`` (by position), raters coded by their position in
    ``rater_ids``, scores coded by their position in ``categories`` (sorted). :meth:`add` adds
    (sign +1) or takes out (-1) sessions.
    """

    def __init__(self, item_ids: list[str], rater_ids: np.ndarray, categories: np.ndarray):
        G, B, V = len(item_ids), len(rater_ids), len(categories)
        self.item_ids = list(item_ids)
        self.G, self.B, self.V = G, B, V
        self.rater_ids = np.asarray(rater_ids, dtype=np.int64)
        self.categories = np.asarray(categories, dtype=float)
        self.by_size: dict[int, dict[str, np.ndarray]] = {}
        z = np.zeros
        self.N, self.Sy, self.Syy = z(G), z(G), z(G)
        self.a, self.n1, self.sum_n2 = z(G), z(G), z(G)
        self.nj, self.Rj, self.ncat = z((G, B)), z((G, B)), z((G, V))
        self.cross = RaterReduction(G, B)  # C of the crossed ICC and its inverse (report_cross)
        self.pairs = RaterPairs(V)         # pair tables and shared sessions, by rater id

    def nbytes(self) -> int:
        """Bytes the sums hold (the benchmark reports it)."""
        arrays = [self.N, self.Sy, self.Syy, self.a, self.n1, self.sum_n2, self.nj, self.Rj, self.ncat]
        arrays += [a for part in self.by_size.values() for a in part.values()]
        return sum(a.nbytes for a in arrays) + self.cross.nbytes() + self.pairs.nbytes()

    def _size(self, m: int) -> dict[str, np.ndarray]:
        G, B, V = self.G, self.B, self.V
        if m not in self.by_size:
            self.by_size[m] = {"SB": np.zeros(G), "W": np.zeros(G), "U": np.zeros((G, B)), "P": np.zeros((G, V, V))}
        return self.by_size[m]

    def codes(self, rater_ids: np.ndarray, scores: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """Rater and category codes; raters new to the sums are added (every array grows, with
        zeros, and stays in rater-id order, as built at once), a score not in the categories gives None."""
        c = np.searchsorted(self.categories, scores) if self.V else np.zeros(len(scores), np.int64)
        c = np.minimum(c, max(self.V - 1, 0))
        if len(scores) and (not self.V or (self.categories[c] != scores).any()):
            return None
        at = np.minimum(np.searchsorted(self.rater_ids, rater_ids), max(self.B - 1, 0))
        new = np.unique(rater_ids[self.rater_ids[at] != rater_ids]) if self.B else np.unique(rater_ids)
        if len(new):
            self._grow(new)
        return np.searchsorted(self.rater_ids, rater_ids).astype(np.int64), c.astype(np.int64)

    def _grow(self, new_ids: np.ndarray) -> None:
        ids = np.concatenate([self.rater_ids, np.asarray(new_ids, dtype=np.int64)])
        order = np.argsort(ids, kind="stable")
        k, self.B, self.rater_ids = len(new_ids), len(ids), ids[order]

        def grow(arr: np.ndarray) -> np.ndarray:
            return np.take(np.pad(arr, [(0, 0), (0, k)]), order, axis=1)

        self.nj, self.Rj = grow(self.nj), grow(self.Rj)
        for part in self.by_size.values():
            part["U"] = grow(part["U"])
        self.cross.grow(order, k)

    def add(self, sign: float, item: np.ndarray, session: np.ndarray, rater: np.ndarray, cat: np.ndarray,
            y: np.ndarray, rating_session: np.ndarray, rating_rater: np.ndarray) -> None:
        """Add (``sign`` 1) or take out (-1) whole sessions: their item scores (item, session,
        rater code, category code, score) and their ratings (session, rater code)."""
        B, V = self.B, self.V
        i, j = same_key_pairs(np.asarray(rating_session, dtype=np.int64))
        # sums built at once: the pairs counted densely (while raters x raters x categories^2 stay small)
        bulk = not len(self.pairs.keys) and sign > 0 and B * B * max(V, 1) ** 2 <= DENSE_CELLS
        if bulk:
            self.pairs.bulk_shared(rating_rater[i], rating_rater[j], self.rater_ids)
        else:
            self.pairs.add_shared(self.rater_ids[rating_rater[i]], self.rater_ids[rating_rater[j]], sign)
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
        self.cross.add_count(item, rater, sign)
        pi, pj = same_key_pairs(t)
        rp, rq, cp, cq = rater[pi], rater[pj], cat[pi], cat[pj]
        if bulk:
            self.pairs.bulk_tables(rp, rq, cp, cq, self.rater_ids)
        else:
            self.pairs.add_tables(self.rater_ids[rp], self.rater_ids[rq], cp, cq, sign)
        sizes = np.unique(m_t[double]).tolist()
        for size in sizes:
            self.cross.use_size(int(size))
        for size in sizes:
            part = self._size(int(size))
            ts = double & (m_t == size)
            _acc(part["SB"], t_item[ts], sign * s_t[ts] ** 2)
            _acc(part["W"], t_item[ts], sign * (size * q_t[ts] - s_t[ts] ** 2))
            rows = m == size
            _acc(part["U"], item[rows] * B + rater[rows], sign * s_t[t[rows]])
            pairs = m[pi] == size
            gi, a_, b_ = item[pi][pairs], rp[pairs], rq[pairs]
            units = int(sign) * (self.cross.L // int(size))  # W counts in 1 / L: whole numbers
            self.cross.add(np.concatenate([item[rows], gi, gi]), np.concatenate([rater[rows], a_, b_]),
                           np.concatenate([rater[rows], b_, a_]), units)
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
            ss_r = np.sum(np.divide(self.Rj ** 2, self.nj, out=np.zeros((G, B)), where=present), axis=1) - mean_sq
            r_rater = self.cross.solve(self.nj, self._q())
            block = self.cross.block
            n_blocks = np.array([len(np.unique(block[g][present[g]])) for g in range(G)], dtype=float)
            crossed = crossed_reduced(r_rater, n_blocks, present.sum(axis=1).astype(float), N, self.a,
                                      self.Syy - mean_sq, ssb, ss_r)
        alpha = _ordinal_alpha(sum((p["P"] / (m - 1) for m, p in parts), np.zeros((G, self.V, self.V))),
                               self.ncat, N)
        constant = (self.ncat > 0).sum(axis=1) <= 1
        any_double = bool((self.a > 0).any())
        return figure_rows((self.a + self.n1).astype(np.int64), self.a.astype(np.int64), present, rater_names,
                           one if any_double else None, crossed if any_double else None,
                           alpha if any_double else None, constant, "ordinal")

    def _q(self) -> np.ndarray:
        """q of the crossed ICC (see module), items x raters."""
        return self.Rj - sum((p["U"] / m for m, p in sorted(self.by_size.items())), np.zeros((self.G, self.B)))

    def view(self, *changes: tuple[dict[str, Any], Any, float]) -> Optional["ItemSums"]:
        """These sums with ``changes`` made, each (data, sessions, sign): the rows of ``sessions``
        of ``data`` taken out (sign -1: a viewer's blind set, or sessions rated since the data a
        visitor holds) or put in (+1), as new sums for reading that share the crossed ICC's
        matrices with these (:class:`.report_cross.ReductionView`): the copy of the small sums and
        the changed items' solves, not a copy of every item's raters x raters matrices. These must
        stay unchanged while the result is used. None when the changes bring a rater, a target
        size or a score these sums never had (then build the sums afresh)."""
        q = self._q()
        self.cross.solve(self.nj, q)  # the base's figures current: the view's unchanged items keep them
        view = copy.copy(self)
        for name in ("N", "Sy", "Syy", "a", "n1", "sum_n2", "nj", "Rj", "ncat"):
            setattr(view, name, getattr(self, name).copy())
        view.by_size = {m: {k: v.copy() for k, v in part.items()} for m, part in self.by_size.items()}
        view.pairs = copy.deepcopy(self.pairs)
        view.cross = ReductionView(self.cross, q)
        try:
            for data, sessions, sign in changes:
                if not add_sessions(view, data, np.asarray(sorted(sessions), dtype=np.int64), sign):
                    return None
        except ReductionView.Unsupported:
            return None
        return view

    def pair_counts(self) -> pd.DataFrame:
        """Rater-code pairs (a <= b) and how many sessions both rated, one row per pair."""
        ia, ib, n = self.pairs.counts()
        return pd.DataFrame({"a": np.searchsorted(self.rater_ids, ia), "b": np.searchsorted(self.rater_ids, ib),
                             "n": n})

    def pair_tables(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        """pairs x categories x categories tables: the categories rater a (rows) and rater b
        (columns) of each pair (a, b) gave the session items both scored."""
        if not pairs:
            return np.zeros((0, self.V, self.V))
        a, b = (np.asarray(x, dtype=np.int64) for x in zip(*pairs))
        return self.pairs.tables_of(self.rater_ids[a], self.rater_ids[b])


class RaterPairs:
    """The sessions two raters share and the table of categories they gave the same session
    items, kept for the pairs that share one (sorted keys of rater ids, lower id first)."""

    def __init__(self, V: int):
        self.V = V
        self.keys = np.zeros(0, np.int64)
        self.shared = np.zeros(0, np.int64)
        self.tables = np.zeros((0, V, V), np.int64)

    def nbytes(self) -> int:
        return self.keys.nbytes + self.shared.nbytes + self.tables.nbytes

    def _rows(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Rows of the pairs (lo, hi) (ids, lo <= hi), added (zeros) where missing."""
        key = lo * (1 << 32) + hi
        at = np.minimum(np.searchsorted(self.keys, key), max(len(self.keys) - 1, 0))
        new = np.unique(key[self.keys[at] != key]) if len(self.keys) else np.unique(key)
        if len(new):
            at = np.searchsorted(self.keys, new)
            self.keys = np.insert(self.keys, at, new)
            self.shared = np.insert(self.shared, at, 0)
            self.tables = np.insert(self.tables, at, 0, axis=0)
        return np.searchsorted(self.keys, key)

    def add_shared(self, ida: np.ndarray, idb: np.ndarray, sign: float) -> None:
        if len(ida):
            rows = self._rows(np.minimum(ida, idb), np.maximum(ida, idb))  # before self.shared: it may grow
            np.add.at(self.shared, rows, int(sign))

    def add_tables(self, ida: np.ndarray, idb: np.ndarray, ca: np.ndarray, cb: np.ndarray, sign: float) -> None:
        """Rater ``ida`` gave category ``ca`` and ``idb`` gave ``cb`` to one session item."""
        if not len(ida):
            return
        swap = ida > idb
        lo, hi = np.where(swap, idb, ida), np.where(swap, ida, idb)
        c_lo, c_hi = np.where(swap, cb, ca), np.where(swap, ca, cb)
        same = ida == idb  # one rater twice: both orders, as a table of rater with itself
        rows = self._rows(lo, hi)
        rows, c_lo, c_hi = (np.concatenate([v, w[same]]) for v, w in ((rows, rows), (c_lo, c_hi), (c_hi, c_lo)))
        np.add.at(self.tables, (rows, c_lo, c_hi), int(sign))

    def _dense(self, ids: np.ndarray, cells: int, index: np.ndarray) -> tuple:
        """Counts of ``index`` (pair-major, ``cells`` per pair) over every pair of rater codes (codes
        in id order, so the lower code is the lower id), and the rows of the pairs counted (added)."""
        B = len(ids)
        counts = np.bincount(index, minlength=B * B * cells).reshape(B * B, cells)
        pair = np.flatnonzero(counts.any(axis=1))
        rows = self._rows(ids[pair // B], ids[pair % B])
        return counts[pair], rows

    def bulk_shared(self, a: np.ndarray, b: np.ndarray, ids: np.ndarray) -> None:
        """:meth:`add_shared` of every pair of rater codes at once (sums built at once)."""
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        counts, rows = self._dense(ids, 1, lo * len(ids) + hi)
        self.shared[rows] += counts[:, 0]

    def bulk_tables(self, a: np.ndarray, b: np.ndarray, ca: np.ndarray, cb: np.ndarray, ids: np.ndarray) -> None:
        """:meth:`add_tables` of rater codes at once (codes in id order: see :meth:`add_tables`)."""
        V, B = self.V, len(ids)
        swap = a > b
        lo, hi = np.where(swap, b, a), np.where(swap, a, b)
        c_lo, c_hi = np.where(swap, cb, ca), np.where(swap, ca, cb)
        same = a == b  # one rater twice: both orders, as in add_tables
        index = np.concatenate([((lo * B + hi) * V + c_lo) * V + c_hi, ((a[same] * B + a[same]) * V + cb[same]) * V + ca[same]])
        counts, rows = self._dense(ids, V * V, index)
        self.tables[rows] += counts.reshape(-1, V, V)

    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lower ids, higher ids, sessions shared) of the pairs sharing one."""
        on = self.shared != 0
        return self.keys[on] >> 32, self.keys[on] & ((1 << 32) - 1), self.shared[on]

    def tables_of(self, ida: np.ndarray, idb: np.ndarray) -> np.ndarray:
        """The tables of the pairs (rows: ``ida``'s categories), zeros for a pair never seen."""
        lo, hi = np.minimum(ida, idb), np.maximum(ida, idb)
        key = lo * (1 << 32) + hi
        at = np.minimum(np.searchsorted(self.keys, key), max(len(self.keys) - 1, 0))
        out = np.zeros((len(key), self.V, self.V))
        found = self.keys[at] == key if len(self.keys) else np.zeros(len(key), bool)
        out[found] = self.tables[at[found]]
        flip = ida > idb
        out[flip] = out[flip].transpose(0, 2, 1)
        return out


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
    sums = ItemSums(data["item_ids"], rater_ids, cats)
    add_sessions(sums, data, None, 1.0)
    return sums


def add_sessions(sums: ItemSums, data: dict[str, Any], sessions: Optional[np.ndarray], sign: float) -> bool:
    """Add (or with ``sign`` -1 take out) the rows of ``sessions`` (None: all) of ``data`` to
    ``sums``; False (nothing changed) when a score is new to the sums (a new rater is added to them)."""
    ratings, items = data["ratings"], data["items"]
    session = ratings["session_id"].to_numpy(np.int64)
    rows = np.arange(len(ratings)) if sessions is None else np.flatnonzero(np.isin(session, sessions))
    row = items["row"].to_numpy()  # item rows in rating order: each rating's items are one run
    on = slice(None)
    if sessions is not None:
        lo, hi = np.searchsorted(row, rows), np.searchsorted(row, rows, side="right")
        on = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)] or [np.zeros(0, np.int64)])
    score = items["score"].to_numpy(float)[on]
    coded = sums.codes(ratings["rater_id"].to_numpy(np.int64)[rows], score)
    if coded is None:
        return False
    rater, cat = coded  # of the ratings ``rows``
    row = row[on]
    at = row if sessions is None else np.searchsorted(rows, row)
    sums.add(sign, items["item"].to_numpy(np.int64)[on], session[row], rater[at], cat, score, session[rows], rater)
    return True
