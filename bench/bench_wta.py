"""Weapon–target assignment against the public instances of Andersen, Pavlikov & Toffolo (2022).

Instances and published results: the repository tuliotoffolo/wta (A. C. Andersen, K. Pavlikov,
T. A. M. Toffolo, "Weapon-target assignment problem: exact and approximate solution algorithms",
Annals of Operations Research, 2022, doi:10.1007/s10479-022-04525-6): ``data/wta_<W>x<T>x<μ>.txt``
(W weapons, T targets, every weapon available μ times; target values, then ``i j p_ij`` lines) and
``logs/results.csv`` (per approach and instance: the lower bound LB and the best solution UB of the
minimal expected surviving value, the gap, the time; CPLEX 12.10, 2 h limit). The repository is
GPL-3.0, so its instances are not copied into iadsim (Apache-2.0): this script reads them from a
copy of it (``--instances DIR``, the repository's root or a folder holding the files; default
``$IADSIM_WTA_DIR`` or ``out/bench/wta``). Without them it says so and exits 0.

Their problem is iadsim's WTA with values V_j = w_j, capacity c_i = μ, pair cap s_ij = μ (a weapon
may fire all its shots at one target) and the objective turned round: they minimise the expected
surviving value Σ_j w_j Π_i (1 − p_ij)^x_ij, iadsim maximises the destroyed value Σ_j w_j − that.
Both iadsim methods run on each instance: the exact dynamic programme (``assign_weapons_exact``) is
tried only where its state space (``exact_nodes``) is within ``EXACT_MAX_NODES``; the greedy with
local improvement (``assign_weapons_greedy``) always. Reported: iadsim's surviving value, its gap to
the best published solution (the least UB over the approaches) and to the best published lower bound
(the largest LB), and times.

Run: ``.venv/bin/python bench/bench_wta.py [--instances DIR]``; writes out/bench/wta.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _machine import machine_info  # bench/_machine.py: scripts run from bench/

from iadsim.engagement.assignment import (
    EXACT_MAX_NODES,
    assign_weapons_exact,
    assign_weapons_greedy,
    exact_nodes,
)

NAME = re.compile(r"wta_(\d+)x(\d+)x(\d+)\.txt$")


def load_instance(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """(target values w (T,), kill probabilities p (W, T), μ) of one instance file."""
    lines = path.read_text().split("\n")
    m, n, mu = (int(v) for v in lines[0].split())
    w = np.array([float(v) for v in lines[1:n + 1]])
    p = np.zeros((m, n))
    for line in lines[n + 1:]:
        if line.strip():
            i, j, pij = line.split()
            p[int(i), int(j)] = float(pij)
    return w, p, mu


def published(path: Path) -> dict[tuple[int, int, int], dict[str, Any]]:
    """Per (W, T, μ): the best LB and UB over the approaches of results.csv, and whether any approach
    proved optimality (gap ``opt``), with the approach of the best UB."""
    best: dict[tuple[int, int, int], dict[str, Any]] = {}
    approach = ""
    for row in csv.reader(path.read_text().splitlines()):
        if row and row[0].startswith("Approach:"):
            approach = row[0].split(":", 1)[1].strip()
            continue
        if len(row) < 9 or not row[1].strip().isdigit():
            continue
        key = (int(row[1]), int(row[2]), int(row[3]))
        lb, ub, gap, seconds = float(row[5]), float(row[6]), row[7].strip(), float(row[8])
        b = best.setdefault(key, {"lb": -np.inf, "ub": np.inf, "optimal": False, "ub_approach": "",
                                  "ub_time_s": np.nan})
        b["lb"] = max(b["lb"], lb)
        if ub < b["ub"]:
            b.update(ub=ub, ub_approach=approach, ub_time_s=seconds)
        b["optimal"] |= gap == "opt"
    return best


def find_files(root: Path) -> tuple[list[Path], Path | None]:
    # an empty file is a failed copy (the repository's larger instances, 350 × 700 and up, are
    # several MB each and may be missing from a partial copy): skipped, and said so
    files = sorted((p for p in root.rglob("wta_*.txt") if NAME.search(p.name) and p.stat().st_size),
                   key=lambda p: tuple(int(v) for v in NAME.search(p.name).groups()))  # type: ignore[union-attr]
    results = next(iter(root.rglob("results.csv")), None)
    return files, results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--instances", type=Path,
                        default=Path(os.environ.get("IADSIM_WTA_DIR", "out/bench/wta")))
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    args = parser.parse_args()
    files, results = find_files(args.instances) if args.instances.is_dir() else ([], None)
    if not files or results is None:
        print(f"bench_wta: no instances under {args.instances}. They are GPL-3.0 and not shipped with "
              "iadsim: put a copy of the repository tuliotoffolo/wta (its data/ and logs/results.csv) "
              "there, or pass --instances DIR (or set IADSIM_WTA_DIR). Skipped.")
        return 0
    pub = published(results)
    rows = []
    print(f"{'instance':<18} {'best UB':>11} {'best LB':>11} {'proved':>6} | {'greedy+LS':>11} "
          f"{'gap UB':>8} {'gap LB':>8} {'time':>7} | {'greedy':>11} {'gap UB':>8} | exact")
    for path in files:
        w_count, t_count, mu = (int(v) for v in NAME.search(path.name).groups())  # type: ignore[union-attr]
        w, p, mu_file = load_instance(path)
        assert mu_file == mu and p.shape == (w_count, t_count)
        cap, pair = np.full(w_count, mu), np.full(p.shape, mu)
        total = float(w.sum())
        t0 = time.perf_counter()
        improved = assign_weapons_greedy(w, p, cap, pair)
        t_improved = time.perf_counter() - t0
        t0 = time.perf_counter()
        plain = assign_weapons_greedy(w, p, cap, pair, improve=False)
        t_plain = time.perf_counter() - t0
        nodes = exact_nodes(w, p, cap, pair)
        exact: dict[str, Any] = {"nodes": nodes, "limit": EXACT_MAX_NODES}
        if nodes <= EXACT_MAX_NODES:
            t0 = time.perf_counter()
            exact["survival"] = total - assign_weapons_exact(w, p, cap, pair).value
            exact["time_s"] = time.perf_counter() - t0
        b = pub.get((w_count, t_count, mu), {})
        ub, lb = b.get("ub", np.nan), b.get("lb", np.nan)
        ours, ours_plain = total - improved.value, total - plain.value
        row = {"instance": path.stem, "weapons": w_count, "targets": t_count, "mu": mu,
               "total_value": total,
               "best_ub": ub, "best_lb": lb, "proved_optimal": b.get("optimal", False),
               "best_ub_approach": b.get("ub_approach", ""), "best_ub_time_s": b.get("ub_time_s", np.nan),
               "greedy_improved": ours, "greedy_improved_time_s": t_improved,
               "gap_to_best_ub_pct": 100.0 * (ours / ub - 1.0),
               "gap_to_best_lb_pct": 100.0 * (ours / lb - 1.0) if lb > 0 else None,
               "destroyed_gap_pct": 100.0 * ((total - ours) / (total - ub) - 1.0),
               "greedy": ours_plain, "greedy_time_s": t_plain,
               "greedy_gap_to_best_ub_pct": 100.0 * (ours_plain / ub - 1.0), "exact": exact}
        rows.append(row)
        to_lb = row["gap_to_best_lb_pct"]
        gap_lb = f"{to_lb:+7.2f}%" if to_lb is not None else "     n/a"
        print(f"{path.stem:<18} {ub:>11.4f} {lb:>11.4f} {'yes' if row['proved_optimal'] else 'no':>6} | "
              f"{ours:>11.4f} {row['gap_to_best_ub_pct']:+7.2f}% {gap_lb} {t_improved:>6.2f}s | "
              f"{ours_plain:>11.4f} {row['greedy_gap_to_best_ub_pct']:+7.2f}% | "
              f"{'refused' if 'survival' not in exact else 'run'}: {nodes:.1e} nodes", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"date": dt.date.today().isoformat(), "machine": machine_info(),
              "instances": str(args.instances), "exact_max_nodes": EXACT_MAX_NODES, "cases": rows}
    (args.out / "wta.json").write_text(json.dumps(record, indent=2, default=float) + "\n")
    print(f"wrote {args.out / 'wta.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
