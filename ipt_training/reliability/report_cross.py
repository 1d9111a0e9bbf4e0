"""The crossed ICC(A,1)'s rater reduction R(r | mu, t) = q' C^+ q of every item, kept up to date as
sessions come and go (:mod:`.report_sums`, issue 16).

C = diag(n_.j) - sum over targets i of (1 / n_i) (co-ratings of i) is the raters' matrix of
Henderson's Method III (Henderson 1953; Searle, Casella & McCulloch 1992, ch. 5), singular once
per connected block of raters; R(r | mu, t) = q' (C + P)^-1 q with P the block-indicator matrix
(see :func:`.icc.crossed_closed`). Rebuilding and factorising C of every item at every change costs
O(raters^3) per item; here each item keeps

- ``W``: the co-rating weights sum_i (L / n_i) (co-ratings of i), whole numbers with L the least
  common multiple of the target sizes seen, so W does not depend on the order in which sessions
  came and went, and C = diag(n_.j) - W / L. W is int32 while a bound on |W| after the next
  addition or scaling fits, checked before it is made, then int64; once even int64 cannot hold it
  (L grows past 2^63 with target sizes up to about 43), W turns to float64 weights (still in 1 / L,
  rounded at 1e-16 relative, a cell that empties set to zero) and every item is factorised afresh
  from them: the figures stay correct to rounding, no longer equal bit for bit whatever the order;
- ``M`` = (C + P)^-1 of its C at the last update, changed by a session's contribution through the
  Sherman-Morrison-Woodbury identity (Woodbury 1950; Golub & Van Loan 2013, 2.1.4): the contribution
  touches only the raters of the session (U), so with S its change of C on them,
  (A + U S U')^-1 = M - M U (I + S U' M U)^-1 S U' M, O(raters^2) per item;
- the blocks of raters, recomputed only for an item where a rater or a link between two raters
  appears or goes (a changed block structure factorises that item afresh).

Each solve is refined against C itself (x += M (q - (C + P) x); Wilkinson's iterative refinement)
until the residual is at rounding level, so the result does not drift with the updates; an
item whose refinement does not converge is factorised afresh, and if it still does not, solved
directly in float64 from C + P; the tests compare the updated
figures with figures built at once.

:class:`ReductionView` gives the same figures with some sessions taken out or put in (a viewer's
blind set) without changing the kept matrices: the same identity applied to vectors,
x = M q - M U (I + S U' M U)^-1 S U' M q, O(raters x touched raters) per item, refined against
the changed C + P; an item whose blocks change is solved directly.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy import linalg
from scipy.linalg import lapack
from scipy.sparse.csgraph import connected_components
from threadpoolctl import ThreadpoolController

_BLAS = ThreadpoolController()
_LIMIT = {np.int32: 2 ** 31 - 1, np.int64: 2 ** 63 - 1}
REFINE_STEPS = 8
WOODBURY_SHARE = 8  # an update touching more than 1 / 8 of the raters factorises afresh
TOLERANCE = 1e-12  # residual, relative to the sizes of q and C x


class RaterReduction:
    """R(r | mu, t) of ``G`` items over ``B`` raters (codes), from the co-rating weights (module)."""

    def __init__(self, G: int, B: int):
        self.G, self.B, self.L = G, B, 1
        self.W = np.zeros((G, B, B), np.int32)
        self.M = np.zeros((G, B, B), np.float32)
        self.block = np.tile(np.arange(B), (G, 1))
        self.factored = np.zeros(G, bool)
        self.dirty = np.ones(G, bool)      # q or C changed since the last solve
        self.r_rater = np.zeros(G)
        self._pending: list[tuple[np.ndarray, ...]] = []  # (item, a, b, weight in units of 1 / L)
        self._pending_nj: list[tuple[np.ndarray, ...]] = []
        self._bound = 0                    # at least the largest |W| and every partial sum of pending (_room)
        self._pending_abs = 0              # sum of |pending weights|
        self._largest = 1                  # the largest target size seen
        self.exact = True                  # W whole numbers (int32 / int64); False: float64 (_room)
        self.refactored = 0                # items factorised afresh (tests, benchmark)

    def nbytes(self) -> int:
        return self.W.nbytes + self.M.nbytes + self.block.nbytes

    def use_size(self, m: int) -> None:
        """Make L a multiple of the target size ``m`` (W and pending weights scaled with it)."""
        self._largest = max(self._largest, m)
        new = self.L * m // math.gcd(self.L, m)
        if new != self.L:
            k = new // self.L
            self._room(k=k)  # checked before the scaling, with the scaling
            self._bound *= k
            self._pending_abs *= k
            self.W *= k if self.W.dtype != np.float64 else float(k)
            self._pending = [(g, a, b, w * (k if w.dtype != np.float64 else float(k))) for g, a, b, w in self._pending]
            self.L = new

    def _room(self, k: int = 1, add: int = 0) -> None:
        """Hold W so that it fits after the next change (W scaled by ``k``, then ``add`` more in
        size): int32, else int64, else (past int64: L from target sizes up to about 43) float64.

        The bound on |W| after the change is _bound * k + add (every |units| counted, nothing taken
        off); when it does not fit, it is tightened first to (max |W| + the pending weights' sizes)
        * k + add, and W stays int32 only while that is under half of int32's range (else every
        addition near the end would tighten it again). The bound also covers every partial sum of
        the pending weights (the update's)."""
        if self.W.dtype == np.float64 or self._bound * k + add <= _LIMIT[self.W.dtype.type]:
            return
        self._bound = int(np.abs(self.W.astype(np.int64)).max(initial=0)) + self._pending_abs
        need = self._bound * k + add
        if need <= _LIMIT[np.int32] // 2:  # room for as much again before the next tightening
            return
        if need <= _LIMIT[np.int64]:
            self.W = self.W.astype(np.int64)
            return
        # past int64: float64 weights; every item is factorised afresh from them at its next solve
        self.W = self.W.astype(np.float64)
        self._pending, self._pending_nj, self._pending_abs = [], [], 0
        self.factored[:] = False
        self.dirty[:] = True
        self.exact = False

    def add(self, item: np.ndarray, a: np.ndarray, b: np.ndarray, units: int) -> None:
        """W[item, a, b] += units (a whole number, in 1 / L) for each cell given (repeats add up),
        remembered for the next update of the items already factorised."""
        size = abs(int(units)) * len(item)
        self._room(add=size)  # checked before the addition, with the addition
        self._bound += size
        exact = self.W.dtype != np.float64
        u = int(units) if exact else float(units)
        flat = (item * self.B + a) * self.B + b
        if len(flat) * 8 > self.W.size:  # many cells (sums built at once): one count per cell
            counts = np.bincount(flat, minlength=self.W.size).reshape(self.W.shape)
            self.W += (counts.astype(np.int64) * u).astype(self.W.dtype) if exact else counts * u
        else:
            np.add.at(self.W, (item, a, b), u)
        if not exact:  # float64: a cell emptied is zero (a true weight is at least L / the largest size)
            cell = self.W[item, a, b]
            self.W[item, a, b] = np.where(np.abs(cell) < 0.5 * self.L / self._largest, 0.0, cell)
        if self.factored.any():
            self._pending.append((item, a, b, np.full(len(item), u, np.int64 if exact else np.float64)))
            self._pending_abs += size
        self.dirty[item] = True

    def add_count(self, item: np.ndarray, rater: np.ndarray, sign: float) -> None:
        """n_.j of (item, rater) changed by ``sign`` each (:attr:`.report_sums.ItemSums.nj` holds them)."""
        if self.factored.any():
            self._pending_nj.append((item, rater, np.full(len(item), sign)))
        self.dirty[item] = True

    def grow(self, order: np.ndarray, k: int) -> None:
        """``k`` raters new (codes appended, then every code placed by ``order``: see ItemSums._grow)."""
        G, B = self.G, self.B + k
        W = np.zeros((G, B, B), self.W.dtype)
        W[:, :self.B, :self.B] = self.W
        M = np.zeros((G, B, B), np.float32)
        M[:, :self.B, :self.B] = self.M
        M[:, np.arange(self.B, B), np.arange(self.B, B)] = 1.0  # a rater of nothing: a block of its own
        block = np.concatenate([self.block, self.block.max(initial=-1) + 1 + np.tile(np.arange(k), (G, 1))], axis=1)
        self.W, self.M = (np.ascontiguousarray(x[:, order][:, :, order]) for x in (W, M))
        self.B = B
        self.block = np.stack([_first_code(labels) for labels in block[:, order]]) if G else block
        where = np.empty(B, np.int64)
        where[order] = np.arange(B)  # old code -> new code
        self._pending = [(g, where[a], where[b], w) for g, a, b, w in self._pending]
        self._pending_nj = [(g, where[j], w) for g, j, w in self._pending_nj]

    def _c(self, g: int, nj: np.ndarray) -> np.ndarray:
        """C + P of item ``g``."""
        c = -self.W[g] / float(self.L)
        c[np.arange(self.B), np.arange(self.B)] += nj
        return c + (self.block[g][:, None] == self.block[g][None, :])

    def _blocks(self, g: int, nj: np.ndarray) -> np.ndarray:
        """Connected blocks of item ``g``'s raters (linked by a shared target), labelled by their
        first rater; a rater of nothing is a block of its own."""
        a, b = np.nonzero(self.W[g])
        graph = sparse.csr_matrix((np.ones(len(a)), (a, b)), shape=(self.B, self.B))
        return _first_code(connected_components(graph, directed=False)[1])

    def _factor(self, g: int, nj: np.ndarray) -> None:
        self.block[g] = self._blocks(g, nj)
        c = self._c(g, nj)
        low, info = lapack.dpotrf(c, lower=1)  # C + P = L L' (positive definite), then its inverse
        if info == 0:
            inv, info = lapack.dpotri(low, lower=1)
        if info == 0:
            self.M[g] = np.tril(inv) + np.tril(inv, -1).T
        else:
            try:
                self.M[g] = np.linalg.inv(c)
            except np.linalg.LinAlgError:
                self.M[g] = np.linalg.pinv(c)
        self.factored[g] = True
        self.refactored += 1

    def _update(self, nj: np.ndarray) -> None:
        """Bring M of every item up to date with the pending changes (see module)."""
        if not self._pending and not self._pending_nj:
            return
        B = self.B
        # summed in W's own kind: exact for whole numbers
        cells, dw = _summed(self._pending, B, np.int64 if self.exact else np.float64)
        if not self.exact:
            dw[np.abs(dw) < 0.5 * self.L / self._largest] = 0
            cells, dw = cells[dw != 0], dw[dw != 0]
        ncells, dnj = _summed(self._pending_nj, B, np.float64)
        self._pending, self._pending_nj, self._pending_abs = [], [], 0
        items = np.union1d(cells // (B * B), ncells // B)
        for g in items.tolist():
            on = (cells >= g * B * B) & (cells < (g + 1) * B * B)
            ca, cb, cw = (cells[on] // B) % B, cells[on] % B, dw[on]
            non = (ncells >= g * B) & (ncells < (g + 1) * B)
            nj_r, nj_d = ncells[non] % B, dnj[non]
            if not self.factored[g]:
                continue
            now_w, block = self.W[g][ca, cb], self.block[g]
            # the blocks can change only where a link goes, a link joins two blocks or a rater comes or goes
            changed = (np.any((now_w == 0) & (now_w - cw != 0)) or np.any((block[ca] != block[cb]) & (now_w != 0))
                       or np.any((nj[g][nj_r] > 0) != (nj[g][nj_r] - nj_d > 0)))
            if changed and not np.array_equal(self._blocks(g, nj[g]), block):
                self._factor(g, nj[g])
                continue
            touched = np.union1d(np.union1d(ca, cb), nj_r)
            k = len(touched)
            if k > max(16, B / WOODBURY_SHARE):  # many raters changed (a long run of appends): afresh is cheaper
                self._factor(g, nj[g])
                continue
            pos = np.searchsorted(touched, np.arange(B))  # code -> position in touched (where touched)
            s = np.zeros((k, k))
            np.add.at(s, (pos[ca], pos[cb]), -cw / float(self.L))
            s[pos[nj_r], pos[nj_r]] += nj_d
            m = self.M[g]
            mu = m[:, touched].astype(float)
            cap = np.eye(k) + s @ mu[touched]
            try:
                x = np.linalg.solve(cap, s @ mu.T)
            except np.linalg.LinAlgError:
                self._factor(g, nj[g])
                continue
            m -= (mu @ x).astype(np.float32)

    def solve(self, nj: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """R(r | mu, t) = q' (C + P)^-1 q of every item (``rhs``: q, items x raters)."""
        if not self.B:  # no rater: nothing to solve (LAPACK refuses an empty matrix)
            self.dirty[:] = False
            return self.r_rater.copy()
        with _BLAS.limit(limits=1, user_api="blas"):  # threaded BLAS on a busy machine: far slower
            self._update(nj)
            for g in np.flatnonzero(self.dirty).tolist():
                if not self.factored[g]:
                    self._factor(g, nj[g])
                x = self._refined(g, nj[g], rhs[g])
                if x is None:
                    self._factor(g, nj[g])
                    x = self._refined(g, nj[g], rhs[g])
                    if x is None:  # ill-conditioned: a direct float64 solve of C + P, not an unconverged one
                        x = self._direct(g, nj[g], rhs[g])
                self.r_rater[g] = float(rhs[g] @ x)
        self.dirty[:] = False
        return self.r_rater.copy()

    def _direct(self, g: int, nj: np.ndarray, q: np.ndarray) -> np.ndarray:
        """(C + P)^-1 q solved in float64 from C + P itself (least squares if it is singular)."""
        c = self._c(g, nj)
        try:
            return np.linalg.solve(c, q)
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(c, q, rcond=None)[0]

    def _refined(self, g: int, nj: np.ndarray, q: np.ndarray):
        """(C + P)^-1 q from M, refined against C + P until the residual is at rounding level
        (None when it does not get there: M has drifted)."""
        m, block = self.M[g], self.block[g]
        x = (m @ q.astype(np.float32)).astype(float)
        for _ in range(REFINE_STEPS):
            cx = nj * x - (self.W[g] @ x) / float(self.L) + np.bincount(block, weights=x, minlength=self.B)[block]
            r = q - cx
            size = np.abs(q).max(initial=0.0) + np.abs(nj * x).max(initial=0.0)
            if np.abs(r).max(initial=0.0) <= TOLERANCE * max(size, 1e-300):
                return x
            x = x + m @ r.astype(np.float32)
        return None


class ReductionView:
    """R(r | mu, t) of a :class:`RaterReduction`'s items with some sessions' contribution taken out
    or put in (:meth:`.report_sums.ItemSums.view`), read-only: the changes are kept
    aside (:meth:`add`, :meth:`add_count`, as :class:`RaterReduction` takes them) and :meth:`solve`
    solves each changed item by the Woodbury identity applied to vectors (see module), refined
    against the changed C + P, or directly in float64 when its blocks change or many raters do.
    ``base`` must be solved for ``base_rhs`` (its r_rater current) and unchanged while this is used."""

    def __init__(self, base: RaterReduction, base_rhs: np.ndarray):
        self.base, self.base_rhs = base, base_rhs
        self.G, self.B, self.L, self.exact = base.G, base.B, base.L, base.exact
        self.block = base.block.copy()
        self._cells: list[tuple[np.ndarray, ...]] = []
        self._counts: list[tuple[np.ndarray, ...]] = []
        self.solved = {"woodbury": 0, "direct": 0}  # items solved each way (tests)
        self.r_rater = base.r_rater.copy()

    def nbytes(self) -> int:
        return self.block.nbytes

    class Unsupported(Exception):
        """A change the view cannot hold: a rater or a target size the base never had."""

    def use_size(self, m: int) -> None:
        if self.L % m:
            raise ReductionView.Unsupported(f"target size {m}")

    def grow(self, order: np.ndarray, k: int) -> None:
        raise ReductionView.Unsupported(f"{k} new rater(s)")

    def add(self, item: np.ndarray, a: np.ndarray, b: np.ndarray, units: int) -> None:
        self._cells.append((item, a, b, np.full(len(item), units, np.int64 if self.exact else np.float64)))

    def add_count(self, item: np.ndarray, rater: np.ndarray, sign: float) -> None:
        self._counts.append((item, rater, np.full(len(item), sign)))

    def solve(self, nj: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """R(r | mu, t) = q' (C + P)^-1 q of every item with the changes (``nj``, ``rhs``: the changed
        n_.j and q); an item whose C and q are unchanged keeps the base's figure."""
        base, B = self.base, self.B
        out = base.r_rater.copy()
        cells, dw = _summed(self._cells, B, np.int64 if self.exact else np.float64)
        ncells, dnj = _summed(self._counts, B, np.float64)
        items = np.union1d(np.union1d(cells // (B * B), ncells // B),
                           np.flatnonzero((rhs != self.base_rhs).any(axis=1)))
        with _BLAS.limit(limits=1, user_api="blas"):
            for g in items.tolist():
                on = (cells >= g * B * B) & (cells < (g + 1) * B * B)
                ca, cb = (cells[on] // B) % B, cells[on] % B
                old = base.W[g][ca, cb]
                new = old + dw[on]
                if not self.exact:  # a cell emptied is zero, as RaterReduction.add keeps it
                    new = np.where(np.abs(new) < 0.5 * self.L / base._largest, 0.0, new)
                cw = (new - old).astype(float)
                non = (ncells >= g * B) & (ncells < (g + 1) * B)
                nj_r, nj_d = ncells[non] % B, dnj[non]
                x = None
                lost = (new == 0) & (old != 0)
                moved = np.any((nj[g][nj_r] > 0) != (nj[g][nj_r] - nj_d > 0))  # a rater comes or goes
                joined = np.any((new != 0) & (old == 0) & (base.block[g][ca] != base.block[g][cb]))
                touched = np.union1d(np.union1d(ca, cb), nj_r)
                if lost.any() or moved or joined:
                    linked = base.W[g] != 0
                    linked[ca, cb] = new != 0
                    # links only gone, each between raters who still share a rater: the blocks stay
                    if moved or joined or not (linked[ca[lost]] & linked[cb[lost]]).any(axis=1).all():
                        a, b = np.nonzero(linked)
                        graph = sparse.csr_matrix((np.ones(len(a)), (a, b)), shape=(B, B))
                        self.block[g] = _first_code(connected_components(graph, directed=False)[1])
                if np.array_equal(self.block[g], base.block[g]) and len(touched) <= max(16, B // 4):
                    x = self._woodbury(g, touched, ca, cb, cw, nj_r, nj_d, nj[g], rhs[g])
                if x is None:
                    w = base.W[g].astype(float)
                    w[ca, cb] += cw
                    c = np.diag(nj[g]) - w / float(self.L) + (self.block[g][:, None] == self.block[g][None, :])
                    try:
                        x = np.linalg.solve(c, rhs[g])
                    except np.linalg.LinAlgError:
                        x = np.linalg.lstsq(c, rhs[g], rcond=None)[0]
                    self.solved["direct"] += 1
                else:
                    self.solved["woodbury"] += 1
                out[g] = float(rhs[g] @ x)
        self.r_rater = out
        return out.copy()

    def _woodbury(self, g: int, touched: np.ndarray, ca: np.ndarray, cb: np.ndarray, cw: np.ndarray,
                  nj_r: np.ndarray, nj_d: np.ndarray, nj: np.ndarray, q: np.ndarray):
        """(C + P + U S U')^-1 q of item ``g`` from the base's M (see module), refined against the
        changed C + P; None when singular or not converged (the caller solves directly)."""
        base, B, k = self.base, self.B, len(touched)
        m, block = base.M[g], base.block[g]
        pos = np.searchsorted(touched, np.arange(B))
        s = np.zeros((k, k))
        np.add.at(s, (pos[ca], pos[cb]), -cw / float(self.L))
        s[pos[nj_r], pos[nj_r]] += nj_d
        mu = m[:, touched].astype(float)
        try:
            lu = linalg.lu_factor(np.eye(k) + s @ mu[touched], check_finite=False) if k else None
        except (ValueError, np.linalg.LinAlgError):
            return None

        def inverse(v: np.ndarray) -> np.ndarray:
            y = (m @ v.astype(np.float32)).astype(float)
            return y - mu @ linalg.lu_solve(lu, s @ y[touched], check_finite=False) if k else y

        x = inverse(q)
        for _ in range(REFINE_STEPS):
            if not np.isfinite(x).all():
                return None
            wx = base.W[g] @ x
            np.add.at(wx, ca, cw * x[cb])
            cx = nj * x - wx / float(self.L) + np.bincount(block, weights=x, minlength=B)[block]
            r = q - cx
            size = np.abs(q).max(initial=0.0) + np.abs(nj * x).max(initial=0.0)
            if np.abs(r).max(initial=0.0) <= TOLERANCE * max(size, 1e-300):
                return x
            x = x + inverse(r)
        return None


def _summed(parts: list[tuple[np.ndarray, ...]], B: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Flat cells of (item, codes..., change) ``parts`` (item * B + code, then * B + the next) and
    their summed changes, those that are not zero."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, dtype)
    cells = []
    for part in parts:
        flat = np.asarray(part[0], dtype=np.int64)
        for code in part[1:-1]:
            flat = flat * B + code
        cells.append(flat)
    uniq, inv = np.unique(np.concatenate(cells), return_inverse=True)
    summed = np.zeros(len(uniq), dtype)
    np.add.at(summed, inv, np.concatenate([p[-1] for p in parts]).astype(dtype))
    return uniq[summed != 0], summed[summed != 0]


def _first_code(labels: np.ndarray) -> np.ndarray:
    """Block labels as the first (lowest) code of each block: one labelling per partition."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return first[inverse]
