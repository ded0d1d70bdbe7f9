"""Weapon–target assignment: the greedy's optimality gap against the exact method, and run times.

Generator (fixed seed 20261201, numpy default_rng): W fire units, T threats; threat values V_j ~
U[1, 10]; each (unit, threat) pair feasible with probability 0.6 (inside the envelope at the
predicted intercept point, allowed, ready), and then p_ij ~ U[0.3, 0.9], else p_ij = 0; shots this
cycle c_i uniform on {1, 2, 3}; salvo cap s_ij = 2. Sizes W × T = 4×4, 5×6, 6×8 and 8×10, 200
instances each. For every instance: the exact method (``assign_weapons_exact``, no size limit), the
plain maximum-marginal-return greedy (``improve=False``) and the greedy with local improvement (the
default). Relative gap = (exact − heuristic) / exact. Then the greedy on a large raid: 100 fire units
× 1 000 threats and 500 × 5 000, each pair feasible with probability 0.1, p ~ U[0.3, 0.9], c_i
uniform on {2, …, 8}, s_ij = 2 (median of 5 runs).

Run: `.venv/bin/python bench/bench_assignment.py [--instances 200]` (part of `make bench`). Prints a
markdown table; writes out/bench/assignment.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from _machine import machine_info  # bench/_machine.py: scripts run from bench/

from iadsim.engagement import EXACT_MAX_NODES, assign_weapons_exact, assign_weapons_greedy, exact_nodes

SEED = 20261201
SIZES = ((4, 4), (5, 6), (6, 8), (8, 10))
RAIDS = ((100, 1000), (500, 5000))


def instance(rng: np.random.Generator, w: int, t: int, feasible: float, c_lo: int, c_hi: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    v = rng.uniform(1.0, 10.0, t)
    p = rng.uniform(0.3, 0.9, (w, t)) * (rng.random((w, t)) < feasible)
    c = rng.integers(c_lo, c_hi + 1, w)
    s = np.full((w, t), 2, np.int64)
    return v, p, c, s


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def gap_stats(gaps: np.ndarray) -> dict[str, float]:
    return {"mean_pct": 100 * float(gaps.mean()), "p95_pct": 100 * float(np.percentile(gaps, 95)),
            "max_pct": 100 * float(gaps.max()), "optimal_pct": 100 * float(np.mean(gaps <= 1e-9))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    rows = []
    for w, t in SIZES:
        gaps_plain, gaps_imp, t_exact, t_plain, t_imp, nodes = [], [], [], [], [], []
        for _ in range(args.instances):
            v, p, c, s = instance(rng, w, t, 0.6, 1, 3)
            nodes.append(exact_nodes(v, p, c, s))
            exact, te = timed(assign_weapons_exact, v, p, c, s, max_nodes=np.inf)
            plain, tp = timed(assign_weapons_greedy, v, p, c, s, improve=False)
            imp, ti = timed(assign_weapons_greedy, v, p, c, s)
            assert plain.value <= imp.value + 1e-12 <= exact.value + 2e-12
            best = max(exact.value, 1e-300)
            gaps_plain.append((exact.value - plain.value) / best)
            gaps_imp.append((exact.value - imp.value) / best)
            t_exact.append(te)
            t_plain.append(tp)
            t_imp.append(ti)
        rows.append({"W": w, "T": t, "instances": args.instances,
                     "nodes_mean": float(np.mean(nodes)), "nodes_max": float(np.max(nodes)),
                     "within_default_limit_pct": 100 * float(np.mean(np.array(nodes) <= EXACT_MAX_NODES)),
                     "greedy": gap_stats(np.maximum(np.array(gaps_plain), 0.0)),
                     "greedy_improved": gap_stats(np.maximum(np.array(gaps_imp), 0.0)),
                     "exact_ms_mean": 1e3 * float(np.mean(t_exact)),
                     "exact_ms_max": 1e3 * float(np.max(t_exact)),
                     "greedy_ms_mean": 1e3 * float(np.mean(t_plain)),
                     "greedy_improved_ms_mean": 1e3 * float(np.mean(t_imp))})
        print(f"{w}×{t} done", flush=True)
    raids = []
    for w, t in RAIDS:
        v, p, c, s = instance(rng, w, t, 0.1, 2, 8)
        runs: dict[str, list[float]] = {"plain": [], "improved": []}
        values = {}
        for _ in range(5):
            plain, tp = timed(assign_weapons_greedy, v, p, c, s, improve=False)
            imp, ti = timed(assign_weapons_greedy, v, p, c, s)
            runs["plain"].append(tp)
            runs["improved"].append(ti)
            values = {"plain": plain.value, "improved": imp.value}
        raids.append({"W": w, "T": t, "shots": int(c.sum()), "pairs_feasible": int(np.count_nonzero(p)),
                      "greedy_ms_median": 1e3 * float(np.median(runs["plain"])),
                      "greedy_improved_ms_median": 1e3 * float(np.median(runs["improved"])),
                      "value_greedy": values["plain"], "value_improved": values["improved"],
                      "value_total": float(v.sum())})

    print("\n| W × T | nodes (mean / max) | ≤ default limit | greedy gap mean / p95 / max | greedy optimal "
          "| + improvement gap mean / p95 / max | + improvement optimal | exact ms (mean / max) "
          "| greedy ms | + improvement ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        g, i = r["greedy"], r["greedy_improved"]
        print(f"| {r['W']} × {r['T']} | {r['nodes_mean']:,.0f} / {r['nodes_max']:,.0f} "
              f"| {r['within_default_limit_pct']:.0f} % "
              f"| {g['mean_pct']:.2f} % / {g['p95_pct']:.2f} % / {g['max_pct']:.2f} % "
              f"| {g['optimal_pct']:.0f} % "
              f"| {i['mean_pct']:.3f} % / {i['p95_pct']:.3f} % / {i['max_pct']:.2f} % "
              f"| {i['optimal_pct']:.0f} % "
              f"| {r['exact_ms_mean']:.1f} / {r['exact_ms_max']:.0f} | {r['greedy_ms_mean']:.2f} "
              f"| {r['greedy_improved_ms_mean']:.2f} |")
    print("\n| raid W × T | shots | feasible pairs | greedy ms | + improvement ms "
          "| value greedy / + improvement / ΣV |")
    print("|---|---|---|---|---|---|")
    for r in raids:
        print(f"| {r['W']} × {r['T']:,} | {r['shots']:,} | {r['pairs_feasible']:,} "
              f"| {r['greedy_ms_median']:.0f} | {r['greedy_improved_ms_median']:.0f} "
              f"| {r['value_greedy']:,.2f} / {r['value_improved']:,.2f} "
              f"/ {r['value_total']:,.2f} |")
    machine = machine_info(seed=SEED)
    print(f"\nmachine: {json.dumps(machine)}")
    Path("out/bench").mkdir(parents=True, exist_ok=True)
    Path("out/bench/assignment.json").write_text(json.dumps({"machine": machine, "sizes": rows,
                                                             "raids": raids}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
