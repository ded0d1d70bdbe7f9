"""Pipeline benchmark: the paths users wait on, the working tree's code side by side with release 0.1.0.

Measures, each sample in a fresh process, the code of the working tree this script runs from (the
``current`` environment: the interpreter running this script, with the tree installed editable) and
release 0.1.0 (commit ``1bd6ffd``, installed normally into ``.venv-release``, which this script makes
when it is missing), alternating current and 0.1.0 (A B A B ...) so that the shared machine's load
hits both:

- ``run``: ``iadsim run mixed-raid --out <tmp>`` (the whole command, saturation curve included);
- ``compare``: ``iadsim compare air-policing-violation --arrangements national,exchange,joint,wartime
  --replications 10 --out <tmp>`` (``--quick``: 2 replications, for development only);
- ``make-run``: the ``run`` recipe of each tree's Makefile (what ``make run`` runs after the install);
- ``c2``: the C2 pass of the mixed raid's hour under the wartime arrangement alone (``bench/_c2_pass.py``
  prepares the sensing pass untimed and times ``iadsim.c2.run_c2``).

Before measuring, each environment runs its ``make run`` recipe once untimed, so numba's on-disk
cache is filled in both (a fresh ``.venv-release`` would otherwise pay the compilation once).

Run: ``.venv/bin/python bench/bench_pipeline.py [--repeats N] [--only run,compare,make-run,c2]
[--quick]``. Prints a table and writes ``out/bench/pipeline.json`` (every sample, both environments,
the machine, the commit and the command line). Exits 1 if any sample failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _machine import machine_info, memory_bytes, proc_cpu_model  # bench/_machine.py: scripts run from bench/

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = ROOT / "out" / "bench"
RELEASE_COMMIT = "1bd6ffd"
RELEASE_VERSION = "0.1.0"
RELEASE_SRC = OUT / "release-src"
RELEASE_VENV = ROOT / ".venv-release"
OWNED = ".iadsim-bench"  # written into .venv-release when this script creates it
DONE = ".iadsim-release"  # written last: the full commit installed

COMPARE_ARRANGEMENTS = "national,exchange,joint,wartime"
COMPARE_REPLICATIONS = 10
QUICK_REPLICATIONS = 2
BENCHMARKS = ("run", "compare", "make-run", "c2")
TARGETS_S = {"run": 30.0, "compare": 60.0, "make-run": 15.0, "c2": 3.0}
"""The issue's targets for the current code on 2 cores, seconds (median of the samples)."""


@dataclass(frozen=True)
class Env:
    """One side of the comparison.

    Attributes:
        name: ``current`` or ``0.1.0``.
        bin_dir: the environment's ``bin`` folder (its ``python`` and ``iadsim``).
        tree: the source tree whose Makefile gives the ``make run`` recipe.
    """

    name: str
    bin_dir: Path
    tree: Path


def _git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def _child_env() -> dict[str, str]:
    """The environment of every child: ours without PYTHONPATH, so each imports its own iadsim."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def ensure_release(rebuild: bool) -> Env:
    """The 0.1.0 environment, made if missing: ``git archive`` of the release commit into
    ``out/bench/release-src``, a venv at ``.venv-release`` and a normal (non-editable) pip install of
    that folder, with the current environment's dependency versions as constraints so that the
    comparison is of iadsim's code, not of numpy's or pyarrow's.

    Args:
        rebuild: remake the environment even if it is complete.
    """
    commit = _git("rev-parse", f"{RELEASE_COMMIT}^{{commit}}").strip()
    env = Env(RELEASE_VERSION, RELEASE_VENV / "bin", RELEASE_SRC)
    done = RELEASE_VENV / DONE
    if not rebuild and done.exists() and done.read_text().strip() == commit \
            and (env.bin_dir / "iadsim").exists():
        return env
    if RELEASE_VENV.exists():
        if not (RELEASE_VENV / OWNED).exists():
            sys.exit(f"error: {RELEASE_VENV} exists but was not made by this script (no {OWNED} in it); "
                     "move it away or remove it, then run again")
        shutil.rmtree(RELEASE_VENV)
    print(f"making {RELEASE_VENV.name}: iadsim {RELEASE_VERSION} (commit {commit[:10]}) ...", flush=True)
    try:
        _make_release(commit, env)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"error: making {RELEASE_VENV.name} failed at {shlex.join(map(str, exc.cmd))} (exit "
                 f"{exc.returncode}); pip needs PyPI or its cache once. Run again to retry.")
    return env


def _make_release(commit: str, env: Env) -> None:
    """Archive ``commit`` into out/bench/release-src and install it into a new .venv-release."""
    if RELEASE_SRC.exists():
        shutil.rmtree(RELEASE_SRC)  # out/bench is this script's own output folder
    RELEASE_SRC.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], check=True,
                             stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(RELEASE_SRC, filter="data")
    subprocess.run([sys.executable, "-m", "venv", str(RELEASE_VENV)], check=True)
    (RELEASE_VENV / OWNED).write_text("made by bench/bench_pipeline.py; removed and remade by it\n")
    freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout
    constraints = OUT / "release-constraints.txt"
    constraints.write_text("".join(f"{line}\n" for line in freeze.splitlines()
                                   if "==" in line and not line.startswith("-")))
    pip = [str(env.bin_dir / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-c", str(constraints), str(RELEASE_SRC)], check=True)
    (RELEASE_VENV / DONE).write_text(f"{commit}\n")


def describe_env(env: Env) -> dict[str, Any]:
    """What an environment runs: its Python, iadsim (version, where it is imported from) and the
    versions of the libraries the timings depend on."""
    code = ("import json, sys, importlib.metadata as m, iadsim\n"
            "v = {}\n"
            "for p in ('numpy', 'numba', 'pyarrow', 'scipy', 'pyproj', 'rasterio'):\n"
            "    try:\n"
            "        v[p] = m.version(p)\n"
            "    except m.PackageNotFoundError:\n"
            "        v[p] = None\n"
            "print(json.dumps({'python': sys.version.split()[0], 'iadsim': iadsim.__version__,\n"
            "                  'iadsim_file': iadsim.__file__, 'packages': v}))\n")
    with tempfile.TemporaryDirectory(prefix="iadsim-bench-") as tmp:
        out = subprocess.run([str(env.bin_dir / "python"), "-c", code], cwd=tmp, env=_child_env(),
                             check=True, capture_output=True, text=True).stdout
    info: dict[str, Any] = json.loads(out)
    info["bin"] = str(env.bin_dir)
    return info


def make_run_recipe(env: Env) -> list[str]:
    """The command of the ``run`` target in the env's tree's Makefile, with ``$(BIN)`` and ``$(VENV)``
    replaced by the environment's own folders (it is run with a temporary working folder)."""
    lines = (env.tree / "Makefile").read_text().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("run:"))
    except StopIteration:
        sys.exit(f"error: {env.tree / 'Makefile'} has no 'run:' target")
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    if len(recipe) != 1:
        sys.exit(f"error: {env.tree / 'Makefile'}: the 'run' target has {len(recipe)} recipe lines; "
                 "this script times a one-line recipe")
    line = recipe[0].replace("$(BIN)", str(env.bin_dir)).replace("$(VENV)", str(env.bin_dir.parent))
    if "$(" in line:
        sys.exit(f"error: {env.tree / 'Makefile'}: the 'run' recipe uses a make variable this script "
                 f"does not know: {recipe[0]!r}")
    return shlex.split(line)


def command(bench: str, env: Env, quick: bool) -> list[str]:
    """The argv of one sample of ``bench`` in ``env``; outputs go under the working folder ("out")."""
    iadsim = str(env.bin_dir / "iadsim")
    if bench == "run":
        return [iadsim, "run", "mixed-raid", "--out", "out"]
    if bench == "compare":
        reps = QUICK_REPLICATIONS if quick else COMPARE_REPLICATIONS
        return [iadsim, "compare", "air-policing-violation", "--arrangements", COMPARE_ARRANGEMENTS,
                "--replications", str(reps), "--out", "out"]
    if bench == "make-run":
        return make_run_recipe(env)
    if bench == "c2":
        return [str(env.bin_dir / "python"), str(BENCH / "_c2_pass.py")]
    raise ValueError(bench)


def sample(argv: list[str], timeout_s: float) -> dict[str, Any]:
    """Run ``argv`` once in a fresh process in a fresh temporary folder; its wall-clock time.

    For the C2 script, ``measured_s`` is the C2 pass it timed; for the commands, the whole command.
    """
    with tempfile.TemporaryDirectory(prefix="iadsim-bench-") as tmp:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(argv, cwd=tmp, env=_child_env(), capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            wall = time.perf_counter() - t0
            return {"ok": False, "wall_s": wall, "measured_s": None,
                    "error": f"timed out after {timeout_s:g} s"}
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"ok": False, "wall_s": wall, "measured_s": None, "returncode": proc.returncode,
                "error": proc.stderr.strip()[-2000:]}
    result: dict[str, Any] = {"ok": True, "wall_s": wall, "measured_s": wall}
    if argv[-1].endswith("_c2_pass.py"):
        try:
            detail = json.loads(proc.stdout.strip().splitlines()[-1])
            result["measured_s"] = float(detail["c2_s"])
        except (IndexError, ValueError, KeyError, TypeError):
            return {"ok": False, "wall_s": wall, "measured_s": None,
                    "error": f"no C2 timing in the script's output: {proc.stdout.strip()[-500:]!r}"}
        result["detail"] = detail
    return result


def summarise(bench: str, samples: list[dict[str, Any]], envs: list[Env], quick: bool) -> dict[str, Any]:
    """Median and min per environment, the ratio 0.1.0 / current, and the target."""
    per: dict[str, dict[str, Any]] = {}
    for env in envs:
        times = [s["measured_s"] for s in samples if s["env"] == env.name and s["ok"]]
        per[env.name] = {"n": len(times), "median_s": statistics.median(times) if times else None,
                         "min_s": min(times) if times else None}
    cur, rel = per["current"], per.get(RELEASE_VERSION, {})
    ratio = (rel["median_s"] / cur["median_s"]
             if cur.get("median_s") and rel.get("median_s") else None)
    ratio_min = (rel["min_s"] / cur["min_s"] if cur.get("min_s") and rel.get("min_s") else None)
    target = TARGETS_S[bench]
    if bench == "compare" and quick:
        met: bool | str | None = "n/a (--quick)"
    else:
        met = None if cur["median_s"] is None else bool(cur["median_s"] <= target)
    return {"per_env": per, "ratio_median": ratio, "ratio_min": ratio_min, "target_s": target,
            "target_met": met}


LABELS = {
    "run": "iadsim run mixed-raid (whole command, saturation curve)",
    "compare": f"iadsim compare air-policing-violation, 4 arrangements × {COMPARE_REPLICATIONS} reps",
    "make-run": "make run (its Makefile recipe, after the install)",
    "c2": "C2 pass alone: mixed raid's hour, wartime (run_c2)",
}


def label(bench: str, quick: bool) -> str:
    """The row's name; a quick compare says so."""
    if bench == "compare" and quick:
        return (f"QUICK (development only, not the target's figure): compare, 4 arrangements × "
                f"{QUICK_REPLICATIONS} reps")
    return LABELS[bench]


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} s"


def table(results: list[dict[str, Any]]) -> str:
    """The results as a markdown table."""
    rows = ["| benchmark | target | current median | current min | 0.1.0 median | 0.1.0 min | "
            "0.1.0 / current (median) | (min) | target met |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        s = r["summary"]
        cur, rel = s["per_env"]["current"], s["per_env"].get(RELEASE_VERSION, {})
        ratio = "—" if s["ratio_median"] is None else f"{s['ratio_median']:.2f}×"
        ratio_min = "—" if s["ratio_min"] is None else f"{s['ratio_min']:.2f}×"
        met = s["target_met"]
        met_s = met if isinstance(met, str) else {True: "yes", False: "**no**", None: "—"}[met]
        target = (f"(≤ {s['target_s']:g} s at {COMPARE_REPLICATIONS} reps)" if isinstance(met, str)
                  else f"≤ {s['target_s']:g} s")
        rows.append(f"| {r['label']} | {target} | {_fmt(cur['median_s'])} | "
                    f"{_fmt(cur['min_s'])} | {_fmt(rel.get('median_s'))} | {_fmt(rel.get('min_s'))} | "
                    f"{ratio} | {ratio_min} | {met_s} |")
    return "\n".join(rows)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="samples per benchmark and environment")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated benchmarks among {','.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true",
                        help=f"compare with {QUICK_REPLICATIONS} replications (development only)")
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="per sample")
    parser.add_argument("--rebuild-release", action="store_true", help=f"remake {RELEASE_VENV.name}")
    args = parser.parse_args(argv)
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = [b for b in only if b not in BENCHMARKS]
    if unknown or not only:
        parser.error(f"--only {args.only!r}: unknown {', '.join(unknown) or '(empty)'}; "
                     f"allowed: {', '.join(BENCHMARKS)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    args.only = [b for b in BENCHMARKS if b in only]
    return args


def main(argv: list[str]) -> int:
    """Run the benchmark; 0 when every sample succeeded, 1 otherwise."""
    args = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    cmdline = shlex.join([sys.executable, *sys.argv])
    current = Env("current", Path(sys.executable).parent, ROOT)
    release = ensure_release(args.rebuild_release)
    envs = [current, release]
    described = {env.name: describe_env(env) for env in envs}
    if not Path(described["current"]["iadsim_file"]).resolve().is_relative_to(ROOT):
        sys.exit(f"error: {sys.executable} imports iadsim from {described['current']['iadsim_file']}, "
                 f"not from this working tree ({ROOT}); run it with the tree's .venv/bin/python")
    differ = [f"{p} {v} (current) / {described[RELEASE_VERSION]['packages'].get(p)} ({RELEASE_VERSION})"
              for p, v in described["current"]["packages"].items()
              if v != described[RELEASE_VERSION]["packages"].get(p)]
    if described["current"]["python"] != described[RELEASE_VERSION]["python"]:
        differ.insert(0, f"Python {described['current']['python']} / {described[RELEASE_VERSION]['python']}")
    if differ:
        print(f"note: the environments differ in {'; '.join(differ)}: the ratios then include that "
              "difference (--rebuild-release remakes the peer with the current versions)", file=sys.stderr)
    status = _git("status", "--short").splitlines()
    machine = machine_info(cpu_model_proc=proc_cpu_model(), memory_bytes=memory_bytes(),
                           commit=_git("rev-parse", "HEAD").strip(), git_status_short_count=len(status))
    print(f"current: {ROOT} at {machine['commit'][:10]} ({len(status)} changed/untracked paths); "
          f"peer: iadsim {RELEASE_VERSION} ({RELEASE_COMMIT}) in {RELEASE_VENV.name}", flush=True)

    warm_up = {}
    for env in envs:  # fill numba's on-disk cache in both before any timing
        print(f"warm-up ({env.name}): {shlex.join(make_run_recipe(env))}", flush=True)
        warm_up[env.name] = sample(make_run_recipe(env), args.timeout_s)
        if warm_up[env.name]["ok"]:
            print(f"  {warm_up[env.name]['wall_s']:.2f} s (untimed: not in the figures)", flush=True)
        else:
            print(f"  failed: {warm_up[env.name]['error']}", file=sys.stderr)

    results = []
    failed = any(not w["ok"] for w in warm_up.values())
    for bench in args.only:
        samples = []
        for rep in range(args.repeats):
            for env in envs:  # A B A B ...: the machine's noise hits both
                argv_ = command(bench, env, args.quick)
                got = sample(argv_, args.timeout_s)
                got.update(env=env.name, repeat=rep, argv=argv_)
                samples.append(got)
                shown = "FAILED" if not got["ok"] else f"{got['measured_s']:.2f} s"
                print(f"  {bench:8s} {env.name:7s} #{rep + 1}: {shown}", flush=True)
                if not got["ok"]:
                    failed = True
                    print(f"    {got['error']}", file=sys.stderr)
        results.append({"benchmark": bench, "label": label(bench, args.quick),
                        "quick": bench == "compare" and args.quick, "samples": samples,
                        "summary": summarise(bench, samples, envs, args.quick)})

    text = table(results)
    print(f"\nPipeline against {RELEASE_VERSION}, {args.repeats} sample(s) each, fresh processes "
          f"alternated current / {RELEASE_VERSION}\n")
    print(text)
    print(f"\ncommand: {cmdline}")
    print(f"machine: {machine['cpu_model_proc'] or machine['cpu']}, {machine['nproc']} CPUs, "
          f"{(machine['memory_bytes'] or 0) / 2**30:.1f} GiB, Python {machine['python']}, "
          f"numpy {machine['numpy']}; tree at {machine['commit'][:10]} + {len(status)} paths changed")
    record = {"started": started, "command": cmdline, "settings": {"repeats": args.repeats,
              "only": args.only, "quick": args.quick, "timeout_s": args.timeout_s},
              "release": {"version": RELEASE_VERSION, "commit": _git("rev-parse", RELEASE_COMMIT).strip()},
              "machine": machine, "git_status_short": status, "environments": described,
              "warm_up": warm_up, "results": results, "table": text}
    path = OUT / "pipeline.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written: {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
