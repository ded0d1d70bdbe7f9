"""Weapon–target assignment (WTA) at one decision cycle: fire units and fighters to threats.

The static WTA problem (Manne 1958; den Broeder, Ellison & Emerling 1959), from the defender's side:

    maximise   Σ_j V_j · (1 − Π_i (1 − p_ij)^{x_ij})
    subject to Σ_j x_ij ≤ c_i,   x_ij ∈ {0, 1, …, s_ij},   x_ij = 0 where p_ij = 0,

with V_j the value of threat j, p_ij the kill probability of one missile of weapon i at threat j (0
where the pair is infeasible: outside the envelope at the predicted intercept point, not allowed by
the rules of engagement, weapon not ready or out of missiles), c_i the shots weapon i can fire this
cycle and s_ij the most missiles weapon i may fire at threat j this cycle (a salvo).

Two methods: ``assign_weapons_exact`` (dynamic programming over the threats on the vector of
remaining shots, separately for each connected part of the weapon–threat feasibility graph; exact,
for small problems, refuses above a stated size) and ``assign_weapons_greedy`` (maximum marginal
return greedy, then an optional local improvement by single-shot moves and pairwise exchanges; for
large raids). ``assign_weapons`` picks between them. Model and measured optimality gap:
docs/models/assignment.md.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "AUTO_MAX_NODES",
    "EXACT_MAX_NODES",
    "WeaponAssignment",
    "assign_weapons",
    "assign_weapons_exact",
    "assign_weapons_greedy",
    "exact_nodes",
    "expected_value",
]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

EXACT_MAX_NODES = 5_000_000
"""Default size limit of the exact method, in dynamic-programming nodes (see ``exact_nodes``): about
0.2 s and at most 120 MB at the limit (docs/models/assignment.md)."""

AUTO_MAX_NODES = 200_000
"""``assign_weapons(method="auto")`` uses the exact method up to this many nodes (a few ms)."""


@dataclass(frozen=True)
class WeaponAssignment:
    """A weapon–target assignment and its expected value.

    Attributes:
        shots: ``(W, T)`` int64, missiles weapon i fires at threat j this cycle.
        value: expected threat value destroyed, Σ_j V_j (1 − survival_j), in the units of the values.
        survival: ``(T,)`` probability that threat j survives all shots assigned to it.
        method: ``"exact"`` or ``"greedy"``.
    """

    shots: IntArray
    value: float
    survival: Array
    method: str


# ---------------------------------------------------------------------------------------- inputs


def _as_int(x: ArrayLike, name: str, shape: tuple[int, ...]) -> IntArray:
    arr = np.asarray(x)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.dtype.kind == "f":
        if not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise ValueError(f"{name} must hold whole numbers")
    elif arr.dtype.kind not in "iu" and arr.size:
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    if np.any(out < 0):
        raise ValueError(f"{name} must be ≥ 0")
    return out


def _inputs(values: ArrayLike, pk: ArrayLike, capacity: ArrayLike,
            pair_cap: ArrayLike | None) -> tuple[Array, Array, IntArray, IntArray]:
    """Checked arrays V (T,), P (W, T), c (W,) and the effective pair caps s (W, T).

    The effective cap is 0 where p = 0 or V = 0 (no shot there gains anything) and at most c_i.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be one-dimensional (T,), got shape {v.shape}")
    p = np.asarray(pk, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != v.shape[0]:
        raise ValueError(f"pk must have shape (W, {v.shape[0]}) to match values, got {p.shape}")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError("values must be finite and ≥ 0")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("pk must lie in [0, 1]")
    w = p.shape[0]
    c = _as_int(capacity, "capacity", (w,))
    s = np.ones(p.shape, np.int64) if pair_cap is None else _as_int(pair_cap, "pair_cap", p.shape)
    s = np.where((p > 0) & (v > 0)[None, :], np.minimum(s, c[:, None]), 0)
    return v, p, c, s


def _survival(p: Array, shots: IntArray) -> Array:
    """Π_i (1 − p_ij)^{x_ij} per threat, (T,)."""
    if shots.shape[0] == 0:
        return np.ones(shots.shape[1])
    return np.asarray(np.prod((1.0 - p) ** shots, axis=0), dtype=np.float64)


def expected_value(values: ArrayLike, pk: ArrayLike, shots: ArrayLike) -> float:
    """Expected threat value destroyed by an assignment, Σ_j V_j (1 − Π_i (1 − p_ij)^{x_ij}).

    Args:
        values: ``(T,)`` threat values V_j ≥ 0.
        pk: ``(W, T)`` single-shot kill probabilities p_ij in [0, 1].
        shots: ``(W, T)`` missiles x_ij ≥ 0.
    """
    v = np.asarray(values, dtype=np.float64)
    p = np.asarray(pk, dtype=np.float64)
    x = _as_int(shots, "shots", p.shape)
    return float(np.sum(v * (1.0 - _survival(p, x))))


def _result(v: Array, p: Array, shots: IntArray, method: str) -> WeaponAssignment:
    surv = _survival(p, shots)
    return WeaponAssignment(shots=shots, value=float(np.sum(v * (1.0 - surv))), survival=surv,
                            method=method)


# ------------------------------------------------------------------------- exact: the programme


def _components(s: IntArray) -> list[tuple[IntArray, IntArray]]:
    """The connected parts (weapons, threats) of the bipartite graph of pairs with s_ij > 0."""
    w, t = s.shape
    wi, tj = np.nonzero(s)
    if wi.size == 0:
        return []
    graph = coo_matrix((np.ones(wi.size), (wi, w + tj)), shape=(w + t, w + t))
    _, labels = connected_components(graph, directed=False)
    parts = []
    for label in np.unique(labels[wi]):
        weapons = np.flatnonzero(labels[:w] == label)
        threats = np.flatnonzero(labels[w:] == label)
        parts.append((weapons.astype(np.int64), threats.astype(np.int64)))
    return parts


def _pairs_per_axis(c: IntArray, s: IntArray) -> NDArray[np.float64]:
    """n_ij = Σ_{r=0}^{c_i} (min(r, s_ij) + 1): the (remaining r, shots x ≤ r) pairs of one axis."""
    cc = c[:, None].astype(np.float64)
    ss = s.astype(np.float64)  # s ≤ c
    return (cc + 1.0) + ss * (ss + 1.0) / 2.0 + (cc - ss) * ss


def exact_nodes(values: ArrayLike, pk: ArrayLike, capacity: ArrayLike,
                pair_cap: ArrayLike | None = None) -> float:
    """Size of the exact method's dynamic programme: the (remaining shots, shots fired) nodes it evaluates.

    For each connected part of the feasibility graph with capacities c_i' = min(c_i, Σ_j s_ij) and
    each of its threats j, Π_i n_ij with n_ij = Σ_{r=0}^{c_i'} (min(r, s_ij) + 1); summed. Work and
    memory of ``assign_weapons_exact`` grow with it (work about W·nodes, memory 24 bytes per node
    of the largest threat's table).

    Args: as ``assign_weapons_exact``.
    """
    _, _, c, s = _inputs(values, pk, capacity, pair_cap)
    return _nodes(c, s)


def _nodes(c: IntArray, s: IntArray) -> float:
    total = 0.0
    for weapons, threats in _components(s):
        sub = s[np.ix_(weapons, threats)]
        ceff = np.minimum(c[weapons], sub.sum(axis=1))
        total += float(np.sum(np.prod(_pairs_per_axis(ceff, sub), axis=0)))
    return total


def _axis_pairs(cap: int, s: int) -> tuple[IntArray, IntArray, IntArray]:
    """(r − x, x, group starts) of the pairs (r, x), r = 0…cap, x = 0…min(r, s), ordered by r then x."""
    r = np.concatenate([np.full(min(k, s) + 1, k) for k in range(cap + 1)]).astype(np.int64)
    x = np.concatenate([np.arange(min(k, s) + 1) for k in range(cap + 1)]).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum([min(k, s) + 1 for k in range(cap)])]).astype(np.int64)
    return r - x, x, starts


def _solve_part(v: Array, p: Array, c: IntArray, s: IntArray) -> IntArray:
    """Optimal shots (W, T) of one connected part by dynamic programming over its threats.

    F_j(r) = max over columns x ≤ min(r, s_·j) of V_j (1 − Π_i q_ij^{x_i}) + F_{j+1}(r − x), F_T = 0,
    on the vector r of remaining shots; the answer is F_0(c). One threat's step evaluates every
    (r, x) pair at once on a W-dimensional array and reduces over x along each weapon's axis.
    """
    w, t = p.shape
    q = 1.0 - p
    shape = tuple(int(k) + 1 for k in c)
    tables: list[Array] = [np.zeros(shape)] * (t + 1)
    for j in range(t - 1, -1, -1):
        nxt = tables[j + 1]
        index: list[IntArray] = []
        surv: Array = np.ones((1,) * w)
        reduce_at: list[tuple[int, IntArray]] = []
        for i in range(w):
            if s[i, j] > 0:
                back, x, starts = _axis_pairs(int(c[i]), int(s[i, j]))
                index.append(back)
                view = [1] * w
                view[i] = x.size
                surv = surv * (q[i, j] ** x).reshape(view)
                reduce_at.append((i, starts))
            else:
                index.append(np.arange(c[i] + 1, dtype=np.int64))
        table = nxt[np.ix_(*index)] + v[j] * (1.0 - surv)
        for axis, starts in reduce_at:
            table = np.maximum.reduceat(table, starts, axis=axis)
        tables[j] = table
    shots = np.zeros((w, t), np.int64)
    remaining = c.copy()
    tol = 1e-12 * float(np.sum(v))
    for j in range(t):
        reach = np.flatnonzero(s[:, j] > 0)
        if reach.size == 0:
            continue
        # every column x ≤ min(r, s), in decreasing lexicographic order (lower-index weapons fire first)
        ranges = [range(int(min(remaining[i], s[i, j])), -1, -1) for i in reach]
        cols = np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, reach.size)
        surv_col = np.ones(cols.shape[0])
        after = [np.full(cols.shape[0], remaining[i], np.int64) for i in range(w)]
        for k, i in enumerate(reach.tolist()):
            surv_col = surv_col * q[i, j] ** cols[:, k]
            after[i] = remaining[i] - cols[:, k]
        vals = tables[j + 1][tuple(after)] + v[j] * (1.0 - surv_col)
        good = np.flatnonzero(vals >= vals.max() - tol)
        pick = good[np.argmin(cols[good].sum(axis=1))]  # fewest shots, then the first
        shots[reach, j] = cols[pick]
        remaining[reach] -= cols[pick]
    return shots


def assign_weapons_exact(values: ArrayLike, pk: ArrayLike, capacity: ArrayLike,
                         pair_cap: ArrayLike | None = None, *,
                         max_nodes: float = EXACT_MAX_NODES) -> WeaponAssignment:
    """An optimal weapon–target assignment, by dynamic programming; for small problems.

    Exact to floating-point rounding (1e-12·ΣV per threat). Among optimal assignments it takes, threat
    by threat in index order, the fewest shots, then lower-index weapons first. Threats of value 0
    and pairs with p = 0 get no shots.

    Args:
        values: ``(T,)`` threat values V_j ≥ 0 (any unit; the objective is in the same unit).
        pk: ``(W, T)`` single-shot kill probability p_ij in [0, 1]; 0 where infeasible.
        capacity: ``(W,)`` int, shots c_i weapon i can fire this cycle.
        pair_cap: ``(W, T)`` int, most shots s_ij from weapon i at threat j (a salvo); default 1.
        max_nodes: refuse above this size of the programme (``exact_nodes``).

    Raises:
        ValueError: on malformed inputs, or when the programme has more than ``max_nodes`` nodes.
    """
    v, p, c, s = _inputs(values, pk, capacity, pair_cap)
    w, t = p.shape
    nodes = _nodes(c, s)
    if nodes > max_nodes:
        raise ValueError(
            f"exact weapon–target assignment of {w} weapons × {t} threats needs {nodes:,.0f} "
            f"dynamic-programming nodes, above max_nodes={max_nodes:,.0f}; use "
            f"assign_weapons_greedy or raise max_nodes")
    shots = np.zeros((w, t), np.int64)
    for weapons, threats in _components(s):
        sub = s[np.ix_(weapons, threats)]
        ceff = np.minimum(c[weapons], sub.sum(axis=1))
        shots[np.ix_(weapons, threats)] = _solve_part(v[threats], p[np.ix_(weapons, threats)], ceff, sub)
    return _result(v, p, shots, "exact")


# ---------------------------------------------------------------------------------- greedy


def _greedy(v: Array, p: Array, c: IntArray, s: IntArray) -> IntArray:
    """Maximum marginal return: repeatedly fire the shot of the largest gain V_j S_j p_ij.

    Ties go to the first maximum of the (W, T) gain matrix in row-major order (lowest weapon index,
    then lowest threat index). The best weapon of each threat is kept, so a step costs O(W + T) plus
    O(W) per threat whose best weapon runs out.
    """
    w, t = p.shape
    shots = np.zeros((w, t), np.int64)
    if w == 0 or t == 0:
        return shots
    q = 1.0 - p
    remaining = c.copy()
    surv = np.ones(t)
    gain = np.where((s > 0) & (remaining > 0)[:, None], (v * surv)[None, :] * p, -np.inf)
    best_w = np.argmax(gain, axis=0)
    best_g = gain[best_w, np.arange(t)]
    while True:
        top = best_g.max()
        if not top > 0.0:
            break
        tied = np.flatnonzero(best_g == top)
        i = int(best_w[tied].min())
        j = int(tied[best_w[tied] == i][0])
        shots[i, j] += 1
        remaining[i] -= 1
        surv[j] *= q[i, j]
        open_ = (shots[:, j] < s[:, j]) & (remaining > 0)
        gain[:, j] = np.where(open_, (v[j] * surv[j]) * p[:, j], -np.inf)
        redo = np.array([j])
        if remaining[i] == 0:
            gain[i, :] = -np.inf
            redo = np.union1d(redo, np.flatnonzero(best_w == i))
        sub = gain[:, redo]
        best_w[redo] = np.argmax(sub, axis=0)
        best_g[redo] = sub[best_w[redo], np.arange(redo.size)]
    return shots


def _improve(v: Array, p: Array, c: IntArray, s: IntArray, shots: IntArray,
             max_moves: int, swap_limit: int) -> IntArray:
    """Local improvement: apply the best improving move until none improves by more than rounding.

    Moves: fire a spare shot; move one shot of a weapon to another threat; exchange the threats of
    two shots of different weapons (when at most ``swap_limit`` (weapon, threat) pairs have shots).
    The best move is the first largest gain, pairs in row-major order. Works on the list of feasible
    pairs (s_ij > 0), so an iteration costs O(feasible pairs + W + T), plus O(shot pairs²) for
    exchanges.
    """
    x = shots.copy()
    t = p.shape[1]
    wi, tj = np.nonzero(s)  # feasible pairs, row-major: grouped by weapon
    if wi.size == 0:
        return x
    q = 1.0 - p
    qp, pp, sp, vp = q[wi, tj], p[wi, tj], s[wi, tj], v[tj]
    zero_q = qp == 0.0
    weapons, starts, counts = np.unique(wi, return_index=True, return_counts=True)
    segment = np.repeat(np.arange(weapons.size), counts)  # pair → its weapon's segment
    index = np.arange(wi.size)
    tol = 1e-12 * float(np.sum(v))

    def first_max(values: Array) -> tuple[Array, IntArray]:
        """Per weapon segment: the largest value and the first pair holding it."""
        top = np.maximum.reduceat(values, starts)
        where = np.minimum.reduceat(np.where(values == np.repeat(top, counts), index, wi.size), starts)
        return top, where

    for _ in range(max_moves):
        xp = x[wi, tj]
        fired = np.flatnonzero(xp > 0)
        zeros = np.bincount(tj[fired], weights=xp[fired] * zero_q[fired], minlength=t)
        nonzero_prod = np.ones(t)
        np.multiply.at(nonzero_prod, tj[fired], np.where(zero_q[fired], 1.0, qp[fired]) ** xp[fired])
        surv = np.where(zeros > 0, 0.0, nonzero_prod)
        # survival of a fired pair's threat without one of its shots
        fj, fq = tj[fired], qp[fired]
        without = np.where(zero_q[fired], np.where(zeros[fj] == 1, nonzero_prod[fj], 0.0),
                           np.where(zeros[fj] > 0, 0.0, nonzero_prod[fj] / np.where(fq > 0, fq, 1.0)))
        loss = v[fj] * (without - surv[fj])
        add = np.where(xp < sp, vp * surv[tj] * pp, -np.inf)
        remaining = c - x.sum(axis=1)
        best = tol
        move: tuple[str, int, int, int, int] | None = None
        # 1. a spare shot
        spare = np.where(remaining[wi] > 0, add, -np.inf)
        k = int(np.argmax(spare))
        if spare[k] > best:
            best, move = float(spare[k]), ("add", int(wi[k]), int(tj[k]), 0, 0)
        # 2. one shot of a fired pair's weapon to another of its threats
        if fired.size:
            top1, at1 = first_max(add)
            masked = add.copy()
            masked[at1] = -np.inf
            top2, at2 = first_max(masked)
            seg = segment[fired]
            own = at1[seg] == fired
            to = np.where(own, at2[seg], at1[seg])
            delta = np.where(own, top2[seg], top1[seg]) - loss
            k = int(np.argmax(delta))
            if delta[k] > best:
                e = fired[k]
                best, move = float(delta[k]), ("move", int(wi[e]), int(tj[e]), int(tj[to[k]]), 0)
        # 3. exchange: weapon of shot a leaves its threat for b's, and b's weapon the other way
        if 1 < fired.size <= swap_limit:
            fa, ft = wi[fired], tj[fired]
            open_ = (x < s)[np.ix_(fa, ft)]  # [a, b]: a's weapon may fire once more at b's threat
            ok = open_ & open_.T & (fa[:, None] != fa[None, :]) & (ft[:, None] != ft[None, :])
            cross = q[np.ix_(fa, ft)]  # [a, b]: q of a's weapon at b's threat
            kept = v[ft] * surv[ft]
            left = v[ft] * without
            delta = (kept[:, None] - left[:, None] * cross.T) + (kept[None, :] - left[None, :] * cross)
            delta = np.where(ok, delta, -np.inf)
            k = int(np.argmax(delta))
            if delta.flat[k] > best:
                a, b = divmod(k, fired.size)
                best, move = float(delta.flat[k]), ("swap", int(fa[a]), int(ft[a]), int(fa[b]), int(ft[b]))
        if move is None:
            break
        kind, i, j, a, b = move
        if kind == "add":
            x[i, j] += 1
        elif kind == "move":
            x[i, j] -= 1
            x[i, a] += 1
        else:  # swap: weapon i from j to b's threat, weapon a from b to j
            x[i, j] -= 1
            x[i, b] += 1
            x[a, b] -= 1
            x[a, j] += 1
    return x


def assign_weapons_greedy(values: ArrayLike, pk: ArrayLike, capacity: ArrayLike,
                          pair_cap: ArrayLike | None = None, *, improve: bool = True,
                          max_moves: int = 1000, swap_limit: int = 400) -> WeaponAssignment:
    """A weapon–target assignment by maximum marginal return, for large raids.

    Fires, one missile at a time, the shot with the largest gain V_j · S_j · p_ij (S_j the threat's
    current survival probability) among weapons with shots left and pairs below their cap, until no
    shot gains anything; ties to the lowest weapon, then threat index. With ``improve`` it then applies
    the best improving local move — a spare shot, one shot moved to another threat, or two shots of
    different weapons exchanging threats — until none improves (at most ``max_moves`` moves). Never
    worse than the greedy alone; not optimal in general (docs/models/assignment.md gives the gap).

    Args:
        values: ``(T,)`` threat values V_j ≥ 0.
        pk: ``(W, T)`` single-shot kill probability p_ij in [0, 1]; 0 where infeasible.
        capacity: ``(W,)`` int, shots c_i weapon i can fire this cycle.
        pair_cap: ``(W, T)`` int, most shots s_ij from weapon i at threat j; default 1.
        improve: run the local improvement after the greedy.
        max_moves: most improving moves.
        swap_limit: exchanges are tried only when at most this many (weapon, threat) pairs have
            shots (their number of candidates grows with its square).
    """
    v, p, c, s = _inputs(values, pk, capacity, pair_cap)
    shots = _greedy(v, p, c, s)
    if improve:
        shots = _improve(v, p, c, s, shots, max_moves, swap_limit)
    return _result(v, p, shots, "greedy")


def assign_weapons(values: ArrayLike, pk: ArrayLike, capacity: ArrayLike,
                   pair_cap: ArrayLike | None = None, *,
                   method: Literal["auto", "exact", "greedy"] = "auto",
                   auto_max_nodes: float = AUTO_MAX_NODES) -> WeaponAssignment:
    """A weapon–target assignment by the exact method for small problems, else the greedy one.

    Args:
        values: ``(T,)`` threat values V_j ≥ 0.
        pk: ``(W, T)`` single-shot kill probability p_ij in [0, 1]; 0 where infeasible.
        capacity: ``(W,)`` int, shots c_i weapon i can fire this cycle.
        pair_cap: ``(W, T)`` int, most shots s_ij from weapon i at threat j; default 1.
        method: ``"exact"`` (``assign_weapons_exact`` with its default limit), ``"greedy"``
            (``assign_weapons_greedy`` with local improvement) or ``"auto"``: exact when the
            programme has at most ``auto_max_nodes`` nodes (``exact_nodes``), otherwise greedy.
        auto_max_nodes: the ``"auto"`` threshold.
    """
    if method == "exact":
        return assign_weapons_exact(values, pk, capacity, pair_cap)
    if method == "greedy":
        return assign_weapons_greedy(values, pk, capacity, pair_cap)
    if method != "auto":
        raise ValueError(f"method must be 'auto', 'exact' or 'greedy', got {method!r}")
    v, p, c, s = _inputs(values, pk, capacity, pair_cap)
    if _nodes(c, s) <= auto_max_nodes:
        return assign_weapons_exact(v, p, c, pair_cap)
    return assign_weapons_greedy(v, p, c, pair_cap)
