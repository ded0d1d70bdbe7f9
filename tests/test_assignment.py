"""Weapon–target assignment: the exact method against brute force, the greedy's known optimal case,
constraints on random instances, a hand-computed example, infeasible pairs and empty inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iadsim.engagement import (
    AUTO_MAX_NODES,
    assign_weapons,
    assign_weapons_exact,
    assign_weapons_greedy,
    exact_nodes,
    expected_value,
)


def objective(v, p, x):
    """Σ_j V_j (1 − Π_i (1 − p_ij)^{x_ij}), written out with loops."""
    total = 0.0
    for j in range(len(v)):
        surv = 1.0
        for i in range(p.shape[0]):
            surv *= (1.0 - p[i, j]) ** int(x[i, j])
        total += v[j] * (1.0 - surv)
    return total


def brute_force(v, p, c, s):
    """The best value over every feasible X (x_ij ≤ s_ij, 0 where p_ij = 0, row sums ≤ c_i)."""
    w, t = p.shape
    hi = np.where(p > 0, s, 0).ravel()
    grid = np.array(list(itertools.product(*[range(int(h) + 1) for h in hi])), dtype=np.int64)
    grid = grid.reshape(len(grid), w, t)
    grid = grid[np.all(grid.sum(axis=2) <= c, axis=1)]
    vals = np.sum(v * (1.0 - np.prod((1.0 - p)[None] ** grid, axis=1)), axis=1)
    return float(vals.max())


def reference_greedy(v, p, c, s):
    """Maximum marginal return the slow way: the full gain matrix and its first row-major maximum."""
    w, t = p.shape
    x = np.zeros((w, t), np.int64)
    surv = np.ones(t)
    rem = np.array(c, np.int64)
    while w and t:
        gain = np.where((x < s) & (rem > 0)[:, None], (v * surv)[None, :] * p, -np.inf)
        k = int(np.argmax(gain))
        if not gain.flat[k] > 0:
            break
        i, j = divmod(k, t)
        x[i, j] += 1
        rem[i] -= 1
        surv[j] *= 1.0 - p[i, j]
    return x


def check_feasible(res, v, p, c, s):
    x = res.shots
    assert x.shape == p.shape and x.dtype == np.int64
    assert np.all(x >= 0)
    assert np.all(x.sum(axis=1) <= c)
    assert np.all(x <= s)
    assert np.all(x[p == 0] == 0), "an infeasible pair was assigned"
    assert res.value == pytest.approx(objective(v, p, x), rel=1e-12, abs=1e-12)
    surv = [np.prod((1.0 - p[:, j]) ** x[:, j]) for j in range(p.shape[1])]
    np.testing.assert_allclose(res.survival, surv, rtol=1e-12, atol=1e-300)


def random_instance(rng, w, t, max_c=2, max_s=2, feasible=0.7):
    v = rng.uniform(0.0, 10.0, t)
    v[rng.random(t) < 0.1] = 0.0
    p = rng.uniform(0.05, 1.0, (w, t)) * (rng.random((w, t)) < feasible)
    p[rng.random((w, t)) < 0.05] = 1.0
    c = rng.integers(0, max_c + 1, w)
    s = rng.integers(0, max_s + 1, (w, t))
    return v, p, c, s


# ------------------------------------------------------------------------------------- hand example


def test_hand_computed_example_greedy_trap():
    """Weapon 0 kills either threat, weapon 1 only threat A; one shot each.

    Greedy: w0→A (10·0.9 = 9), then w1→A (10·0.1·0.5 = 0.5): 9.5. Best: w0→B (10·0.8 = 8),
    w1→A (10·0.5 = 5): 13. Moving w0's shot from A to B loses 10·(0.5 − 0.05) = 4.5 and gains 8.
    """
    v = np.array([10.0, 10.0])
    p = np.array([[0.9, 0.8], [0.5, 0.0]])
    c = np.array([1, 1])
    greedy = assign_weapons_greedy(v, p, c, improve=False)
    np.testing.assert_array_equal(greedy.shots, [[1, 0], [1, 0]])
    assert greedy.value == pytest.approx(9.5)
    np.testing.assert_allclose(greedy.survival, [0.05, 1.0])
    exact = assign_weapons_exact(v, p, c)
    np.testing.assert_array_equal(exact.shots, [[0, 1], [1, 0]])
    assert exact.value == pytest.approx(13.0)
    assert exact.method == "exact"
    improved = assign_weapons_greedy(v, p, c)
    np.testing.assert_array_equal(improved.shots, [[0, 1], [1, 0]])
    assert improved.method == "greedy"


def test_exchange_fixes_what_single_moves_cannot():
    """One shot each. Greedy: w0→A (10·0.9 = 9), then w1→B (9·0.1 = 0.9 beats 10·0.1·0.85): 9.9.
    Moving w0 to B gives 9·(1 − 0.2·0.9) = 7.38, moving w1 to A gives 10·(1 − 0.1·0.15) = 9.85:
    both worse. Exchanging gives w0→B 9·0.8 = 7.2 plus w1→A 10·0.85 = 8.5: 15.7, the optimum."""
    v = np.array([10.0, 9.0])
    p = np.array([[0.9, 0.8], [0.85, 0.1]])
    c = np.array([1, 1])
    plain = assign_weapons_greedy(v, p, c, improve=False)
    np.testing.assert_array_equal(plain.shots, [[1, 0], [0, 1]])
    assert plain.value == pytest.approx(9.9)
    no_swaps = assign_weapons_greedy(v, p, c, swap_limit=0)
    np.testing.assert_array_equal(no_swaps.shots, plain.shots)
    improved = assign_weapons_greedy(v, p, c)
    np.testing.assert_array_equal(improved.shots, [[0, 1], [1, 0]])
    assert improved.value == pytest.approx(15.7) == assign_weapons_exact(v, p, c).value


def test_salvo_and_pair_cap():
    """One weapon with 2 shots at one threat (V = 1, p = 0.5): a salvo of 2 gives 0.75, a cap of 1 gives 0.5."""
    for fn in (assign_weapons_exact, assign_weapons_greedy):
        two = fn([1.0], [[0.5]], [2], [[2]])
        assert two.shots.tolist() == [[2]] and two.value == pytest.approx(0.75)
        one = fn([1.0], [[0.5]], [2])
        assert one.shots.tolist() == [[1]] and one.value == pytest.approx(0.5)


def test_expected_value_formula():
    v = [4.0, 2.0]
    p = [[0.5, 0.0], [0.5, 0.25]]
    x = [[1, 0], [2, 1]]
    assert expected_value(v, p, x) == pytest.approx(4.0 * (1 - 0.5**3) + 2.0 * 0.25)


def test_ties_go_to_lower_indices():
    v, p, c = [1.0, 1.0], np.full((2, 2), 0.5), [1, 1]
    for fn in (assign_weapons_exact, assign_weapons_greedy):
        assert fn(v, p, c).shots.tolist() == [[1, 0], [0, 1]]


def test_no_shot_is_wasted_on_a_certain_kill_or_a_worthless_threat():
    """Two weapons with p = 1 on threat 0: one shot kills it; threat 1 has value 0."""
    v, p, c = [5.0, 0.0], [[1.0, 0.9], [1.0, 0.9]], [1, 1]
    for fn in (assign_weapons_exact, assign_weapons_greedy):
        res = fn(v, p, c)
        assert res.shots.tolist() == [[1, 0], [0, 0]]
        assert res.value == 5.0


# ------------------------------------------------------------------------------------ exact method


def test_exact_is_optimal_against_brute_force_on_many_seeds():
    rng = np.random.default_rng(20261201)
    for seed in range(400):
        w, t = rng.integers(1, 4, 2)
        v, p, c, s = random_instance(rng, w, t)
        res = assign_weapons_exact(v, p, c, s)
        check_feasible(res, v, p, c, s)
        assert res.value == pytest.approx(brute_force(v, p, c, s), rel=1e-9, abs=1e-12), seed


@pytest.mark.parametrize("scale", [1e-12, 1e-6, 1e6])
def test_exact_does_not_depend_on_the_unit_of_value(scale):
    """Values in any unit: the optimum scales and stays optimal (the tie tolerance is relative)."""
    rng = np.random.default_rng(9)
    for _ in range(60):
        v, p, c, s = random_instance(rng, 3, 3)
        res = assign_weapons_exact(v * scale, p, c, s)
        assert res.value == pytest.approx(scale * brute_force(v, p, c, s), rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_exact_is_optimal_property(data):
    w = data.draw(st.integers(0, 3))
    t = data.draw(st.integers(0, 3))
    v = data.draw(arrays(np.float64, t, elements=st.floats(0, 100)))
    p = data.draw(arrays(np.float64, (w, t), elements=st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]) | st.floats(0, 1)))
    c = data.draw(arrays(np.int64, w, elements=st.integers(0, 2)))
    s = data.draw(arrays(np.int64, (w, t), elements=st.integers(0, 2)))
    res = assign_weapons_exact(v, p, c, s)
    check_feasible(res, v, p, c, s)
    # the solver's documented resolution: gains under 1e-12·ΣV per threat are not taken (hypothesis
    # found v = 5, p = 2e-13: a kill worth 1.0e-12 that the exact solver rightly leaves)
    resolution = 1e-12 * float(np.sum(v)) * max(t, 1) + 1e-12
    assert res.value == pytest.approx(brute_force(v, p, c, s), rel=1e-9, abs=resolution)
    greedy = assign_weapons_greedy(v, p, c, s)
    assert greedy.value <= res.value * (1 + 1e-9) + resolution


def test_exact_splits_independent_parts():
    """Two disjoint weapon–threat groups: nodes add up, and the answer is each group's optimum."""
    v = np.array([3.0, 1.0, 2.0])
    p = np.array([[0.6, 0.0, 0.0], [0.0, 0.7, 0.4], [0.0, 0.5, 0.0]])
    c = np.array([2, 2, 1])
    s = np.array([[2, 0, 0], [0, 1, 1], [0, 1, 0]])
    # part {w0, t0}: n = 1 + 2 + 3 = 6; part {w1, w2; t1, t2}: t1: (1+2+2)·(1+2) = 15, t2: 5·2 = 10
    assert exact_nodes(v, p, c, s) == 6 + 15 + 10
    # default pair cap 1, counted only where p > 0: {w0, t0}: c' = 1, n = 3; t1: 5·3, t2: 5·2
    assert exact_nodes(v, p, c) == 3 + 15 + 10
    assert exact_nodes([0.0], [[0.5]], [1]) == 0  # a threat of value 0 gets no shots
    res = assign_weapons_exact(v, p, c, s)
    np.testing.assert_array_equal(res.shots, [[2, 0, 0], [0, 1, 1], [0, 1, 0]])
    assert res.value == pytest.approx(brute_force(v, p, c, s))


def test_exact_refuses_large_problems_by_size():
    rng = np.random.default_rng(3)
    w, t = 12, 10
    v, p = rng.uniform(1, 10, t), rng.uniform(0.3, 0.9, (w, t))
    c, s = np.full(w, 4), np.full((w, t), 2)
    nodes = exact_nodes(v, p, c, s)
    assert nodes > 1e9
    with pytest.raises(ValueError, match=r"12 weapons × 10 threats needs [\d,]+ dynamic-programming nodes"):
        assign_weapons_exact(v, p, c, s)
    with pytest.raises(ValueError, match="max_nodes=100"):
        assign_weapons_exact([1.0, 1.0], np.full((3, 2), 0.5), [2, 2, 2], max_nodes=100)
    auto = assign_weapons(v, p, c, s)
    assert auto.method == "greedy"
    check_feasible(auto, v, p, c, s)


def test_auto_picks_exact_for_small_problems():
    rng = np.random.default_rng(4)
    v, p, c, s = random_instance(rng, 4, 5)
    assert exact_nodes(v, p, c, s) <= AUTO_MAX_NODES
    res = assign_weapons(v, p, c, s)
    assert res.method == "exact"
    assert res.value == pytest.approx(brute_force(v, p, c, s))
    assert assign_weapons(v, p, c, s, method="greedy").method == "greedy"
    assert assign_weapons(v, p, c, s, auto_max_nodes=0).method == "greedy"


# ----------------------------------------------------------------------------------------- greedy


@pytest.mark.parametrize("one_shot", [True, False])
def test_greedy_is_optimal_for_identical_weapons(one_shot):
    """p_ij = p_j for every weapon and no binding pair cap: choosing how many shots each threat gets
    is separable and concave, where maximum marginal return is optimal (den Broeder et al. 1959)."""
    rng = np.random.default_rng(5 + one_shot)
    for seed in range(150):
        w, t = rng.integers(1, 6, 2)
        v = rng.uniform(0, 10, t)
        p = np.tile(rng.uniform(0.05, 0.95, t) * (rng.random(t) < 0.8), (w, 1))
        c = np.ones(w, np.int64) if one_shot else rng.integers(0, 4, w)
        s = np.full((w, t), 3)
        greedy = assign_weapons_greedy(v, p, c, s, improve=False)
        check_feasible(greedy, v, p, c, s)
        exact = assign_weapons_exact(v, p, c, s)
        assert greedy.value == pytest.approx(exact.value, rel=1e-12), seed


def test_greedy_is_not_always_optimal_but_improvement_helps():
    """On random instances the plain greedy misses the optimum sometimes; improvement never hurts."""
    rng = np.random.default_rng(6)
    plain_misses, improved_misses = 0, 0
    for _ in range(200):
        v, p, c, s = random_instance(rng, 4, 4)
        exact = assign_weapons_exact(v, p, c, s).value
        plain = assign_weapons_greedy(v, p, c, s, improve=False).value
        improved = assign_weapons_greedy(v, p, c, s).value
        assert plain <= improved + 1e-12 <= exact + 2e-12
        plain_misses += plain < exact - 1e-9
        improved_misses += improved < exact - 1e-9
    assert plain_misses > 0
    assert improved_misses < plain_misses


def test_greedy_breaks_ties_like_the_first_row_major_maximum():
    """Instances full of equal gains (values 1 or 2, p 0 or 0.5) against the slow reference."""
    rng = np.random.default_rng(8)
    for _ in range(300):
        w, t = rng.integers(1, 6, 2)
        v = rng.choice([1.0, 2.0], t)
        p = rng.choice([0.0, 0.5], (w, t))
        c, s = rng.integers(0, 4, w), rng.integers(0, 3, (w, t))
        got = assign_weapons_greedy(v, p, c, s, improve=False).shots
        np.testing.assert_array_equal(got, reference_greedy(v, p, c, s))


@st.composite
def instances(draw, max_w=6, max_t=8):
    w = draw(st.integers(0, max_w))
    t = draw(st.integers(0, max_t))
    v = draw(arrays(np.float64, t, elements=st.sampled_from([0.0, 1.0, 5.0]) | st.floats(0, 1e3)))
    p = draw(arrays(np.float64, (w, t), elements=st.sampled_from([0.0, 0.0, 0.5, 1.0]) | st.floats(0, 1)))
    c = draw(arrays(np.int64, w, elements=st.integers(0, 4)))
    s = draw(arrays(np.int64, (w, t), elements=st.integers(0, 3)))
    return v, p, c, s


@settings(max_examples=300, deadline=None)
@given(instances())
def test_greedy_respects_constraints_and_the_formula(inst):
    v, p, c, s = inst
    plain = assign_weapons_greedy(v, p, c, s, improve=False)
    check_feasible(plain, v, p, c, s)
    np.testing.assert_array_equal(plain.shots, reference_greedy(v, p, c, s))
    improved = assign_weapons_greedy(v, p, c, s, swap_limit=10_000)
    check_feasible(improved, v, p, c, s)
    assert improved.value >= plain.value * (1 - 1e-12)
    again = assign_weapons_greedy(v, p, c, s, swap_limit=10_000)
    np.testing.assert_array_equal(again.shots, improved.shots)


def test_greedy_handles_a_large_raid_quickly():
    """100 fire units × 1 000 threats; the benchmark times it, here only a loose bound."""
    import time

    rng = np.random.default_rng(7)
    w, t = 100, 1000
    v = rng.uniform(1, 10, t)
    p = rng.uniform(0.3, 0.9, (w, t)) * (rng.random((w, t)) < 0.1)
    c, s = rng.integers(2, 9, w), np.full((w, t), 2)
    t0 = time.perf_counter()
    res = assign_weapons_greedy(v, p, c, s)
    assert time.perf_counter() - t0 < 5.0
    check_feasible(res, v, p, c, s)
    assert res.shots.sum() == c.sum()  # with this many open threats every shot gains


# ------------------------------------------------------------------------------ infeasible and empty


def test_infeasible_pairs_are_never_assigned():
    """Threat 0 is the most valuable but no weapon can reach it; weapon 1 can reach nothing.

    Weapon 2 fires its 3 shots at threat 1 (survival 0.8³ = 0.512). Weapon 0 splits 3 shots, a at
    threat 1 and 3 − a at threat 2: a = 0 gives 0.488 + 1.75 = 2.238, a = 1 gives 0.744 + 1.5 = 2.244,
    a = 2 gives 0.872 + 1.0 = 1.872, a = 3 gives 0.936.
    """
    v = np.array([100.0, 1.0, 2.0])
    p = np.array([[0.0, 0.5, 0.5], [0.0, 0.0, 0.0], [0.0, 0.2, 0.0]])
    c = np.array([3, 3, 3])
    s = np.full((3, 3), 3)
    for method in ("exact", "greedy", "auto"):
        res = assign_weapons(v, p, c, s, method=method)
        assert np.all(res.shots[p == 0] == 0)
        assert res.shots[:, 0].sum() == 0 and res.shots[1].sum() == 0
        assert res.survival[0] == 1.0
        check_feasible(res, v, p, c, s)
    exact = assign_weapons_exact(v, p, c, s)
    np.testing.assert_array_equal(exact.shots, [[0, 1, 2], [0, 0, 0], [0, 3, 0]])
    assert exact.value == pytest.approx(2.244)


@pytest.mark.parametrize("w,t", [(0, 0), (0, 3), (3, 0)])
@pytest.mark.parametrize("method", ["exact", "greedy", "auto"])
def test_empty_inputs(w, t, method):
    res = assign_weapons(np.zeros(t), np.zeros((w, t)), np.zeros(w, np.int64), method=method)
    assert res.shots.shape == (w, t) and res.value == 0.0 and res.survival.shape == (t,)


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_no_capacity_or_no_feasible_pair(method):
    v, p = [1.0, 2.0], np.full((2, 2), 0.5)
    assert assign_weapons(v, p, [0, 0], method=method).shots.sum() == 0
    assert assign_weapons(v, np.zeros((2, 2)), [2, 2], method=method).value == 0.0
    assert assign_weapons(v, p, [2, 2], np.zeros((2, 2), np.int64), method=method).shots.sum() == 0


@pytest.mark.parametrize("args, match", [
    (([1.0], [0.5], [1]), r"pk must have shape \(W, 1\)"),
    (([1.0], [[1.5]], [1]), r"pk must lie in \[0, 1\]"),
    (([-1.0], [[0.5]], [1]), "values must be finite"),
    (([1.0], [[0.5]], [-1]), "capacity must be ≥ 0"),
    (([1.0], [[0.5]], [1.5]), "capacity must hold whole numbers"),
    (([1.0], [[0.5]], [1, 1]), r"capacity must have shape \(1,\)"),
    (([1.0], [[0.5]], [1], [[1, 1]]), r"pair_cap must have shape \(1, 1\)"),
])
def test_malformed_inputs_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        assign_weapons_greedy(*args)
    with pytest.raises(ValueError, match=match):
        assign_weapons_exact(*args)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be"):
        assign_weapons([1.0], [[0.5]], [1], method="milp")  # type: ignore[arg-type]
