"""Hostile inputs, measured (issue 20): ``iadsim validate`` of large scenarios, and the viewer's
``/api/info`` latency while 45 slow uploads are in flight, this version against the previous one
(``--previous``: another installation's ``iadsim``, default /work/main/.venv/bin/iadsim, the
main branch's checkout on the development machine; left out where it does not exist) side by
side in the same run. Writes out/bench/hostile.json and prints the table of docs/benchmarks.md.

    .venv/bin/python bench/bench_hostile.py [--previous PATH] [--records 100000] [--cases validate ...]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info

HERE = Path(__file__).resolve().parent
NEW = Path(sys.executable).with_name("iadsim")
SLOW_UPLOAD = ("a: &a [" + ", ".join(["1"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 1900) + "]\n").encode()


def places_scenario(path: Path, n: int) -> Path:
    """A scenario with the bundled reference data and ``n`` more places, one per line."""
    lines = ["name: big", "as_of: 2020-12-31", "include: [reference]", "places:"]
    lines += [f"  p{i}: {{name: P{i}, lat_deg: {50 + (i % 1000) / 1000:.3f}, "
              f"lon_deg: {25 + (i // 1000) / 100:.2f}, country: BLR, source: [GeoNames]}}"
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timed(cmd: list[str], limit_s: float) -> dict[str, Any]:
    """Wall time, peak resident memory and exit code of a command (killed after ``limit_s``)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timer = threading.Timer(limit_s, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "exit": os.waitstatus_to_exitcode(status),
            "timed_out": wall >= limit_s, "traceback": "Traceback" in stderr}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes | None = None,
            timeout: float = 120) -> tuple[int, float]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1"})
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        conn.close()
    return status, time.perf_counter() - start


def serve_under_uploads(iadsim: Path, folder: Path, uploads: int = 45, probes: int = 30) -> dict[str, Any]:
    """Start ``iadsim serve``, send ``uploads`` slow uploads at once, time ``/api/info`` meanwhile,
    then stop the server with SIGTERM and time its exit."""
    port = free_port()
    server = subprocess.Popen([str(iadsim), "serve", str(folder), "--port", str(port), "--no-jobs"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while request(port, "GET", "/api/info", timeout=2)[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        request(port, "POST", "/api/scenarios/validate", b"name: x\n")  # the workers are up
        answers: list[tuple[int, float]] = []
        threads = [threading.Thread(target=lambda: answers.append(
            request(port, "POST", "/api/scenarios/validate", SLOW_UPLOAD))) for _ in range(uploads)]
        for t in threads:
            t.start()
        latencies = [request(port, "GET", "/api/info", timeout=60)[1] for _ in range(probes)]
        for t in threads:
            t.join()
        start = time.perf_counter()
        server.terminate()
        try:
            server.wait(timeout=60)
            stop_s: float | None = time.perf_counter() - start
        except subprocess.TimeoutExpired:
            stop_s = None
        latencies.sort()
        return {"info_p50_ms": round(1000 * statistics.median(latencies)),
                "info_p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))]),
                "uploads_answered": sum(1 for s, _ in answers if s),
                "upload_slowest_s": round(max(d for _, d in answers), 1),
                "upload_codes": sorted({s for s, _ in answers}),
                "sigterm_exit_s": None if stop_s is None else round(stop_s, 1)}
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def heavy_run(root: Path, rows: int) -> str:
    """A finished run folder in ``root`` whose picture and truth have ``rows`` rows each (a long
    raid's size), sealed through the run-folder contract; returns its name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from iadsim.io.run_folder import write_manifest

    name = "heavy-2020-12-31"
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(
        {"scenario": "heavy", "as_of": "2020-12-31", "arrangement": "joint", "seed": 7}), encoding="utf-8")
    rng = np.random.default_rng(7)
    time_s = np.repeat(np.arange(rows // 100, dtype=float), 100)[:rows]
    ids = np.tile(np.arange(100), rows // 100 + 1)[:rows]
    lat, lon = 53 + rng.random(rows), 27 + rng.random(rows)
    pq.write_table(pa.table({"time_s": time_s, "object_id": [f"a{i}" for i in ids], "lat_deg": lat,
                             "lon_deg": lon, "alt_m": rng.random(rows) * 10_000}), folder / "truth.parquet")
    pq.write_table(pa.table({
        "time_s": time_s, "node": np.where(ids % 2 == 0, "cp1", "cp2"), "track_id": ids,
        "lat_deg": lat, "lon_deg": lon, "alt_m": rng.random(rows) * 10_000,
        "vel_east_mps": rng.random(rows) * 300, "vel_north_mps": rng.random(rows) * 300,
        "identity": np.where(ids % 3 == 0, "hostile", "unknown"), "sources": [["r1", "r2"]] * rows,
        "object_id": [f"a{i}" for i in ids]}), folder / "picture.parquet")
    for table, data in (("engagements", {"time_s": [1.5], "fire_unit": ["fu1"], "object_id": ["a1"]}),
                        ("c2_events", {"time_s": [0.5], "node": ["cp1"], "event": ["track_reported"]}),
                        ("outcomes", {"object_id": ["a1"], "outcome": ["killed"]})):
        pq.write_table(pa.table(data), folder / f"{table}.parquet")
    write_manifest(folder, {"scenario_hash": "0" * 64, "seed": 7, "replication": 0, "arrangement": "joint"})
    return name


def memory_mb(pid: int) -> tuple[float, float]:
    """The resident memory of a process (MB) and the proportional memory (PSS: shared pages split
    between their users) of it and all its descendants (the upload checker's worker processes),
    from /proc; 0 once it is gone."""
    own, total, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        try:
            if p == pid:
                status = Path(f"/proc/{p}/status").read_text()
                own = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return own / 1024, total / 1024


def fetch(port: int, path: str, timeout: float) -> tuple[int, int, float]:
    """GET ``path``, reading the whole body: status (0: no answer), bytes read, seconds."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    size, status = 0, 0
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        status = response.status
        while chunk := response.read(1 << 16):
            size += len(chunk)
    except (OSError, http.client.HTTPException):
        status = status or 0
    finally:
        conn.close()
    return status, size, time.perf_counter() - start


def serve_under_heavy_requests(iadsim: Path, folder: Path, run: str, clients: int = 200,
                               timeout_s: float = 300.0) -> dict[str, Any]:
    """Start ``iadsim serve``, ask for heavy responses ``clients`` at once (the picture and the
    truth as 200,000 rows, frames), sampling the server's resident memory (with its worker
    processes) every 0.1 s; then its memory 10 s after the last answer, against its level after
    one request of each kind (idle, caches warm). Every request has a timeout, and the server is
    killed at the end whatever happens."""
    port = free_port()
    paths = [f"/api/runs/{run}/layers/picture?limit=200000", f"/api/runs/{run}/layers/truth?limit=200000",
             f"/api/runs/{run}/frame?t=1000&node=cp1&node=cp2", f"/api/runs/{run}/timeline"]
    weights = [0.6, 0.2, 0.1, 0.1]
    server = subprocess.Popen([str(iadsim), "serve", str(folder), "--port", str(port), "--no-jobs"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(memory_mb(server.pid))
            stop.wait(0.1)

    try:
        deadline = time.monotonic() + 120
        while request(port, "GET", "/api/info", timeout=2)[0] != 200:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        for path in paths:
            fetch(port, path, timeout_s)
        time.sleep(2)
        idle = memory_mb(server.pid)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        answers: list[tuple[int, int, float]] = []
        cumulative = np.cumsum(weights)
        chosen = [paths[int(np.searchsorted(cumulative, (i + 0.5) / clients))] for i in range(clients)]
        threads = [threading.Thread(target=lambda p=p: answers.append(fetch(port, p, timeout_s)), daemon=True)
                   for p in chosen]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:  # every request has its own timeout; this bounds the whole
            t.join(timeout=max(0.0, timeout_s + 30 - (time.perf_counter() - start)))
        all_answered_s = time.perf_counter() - start
        time.sleep(10)
        after = memory_mb(server.pid)
        stop.set()
        sampler.join()
        codes: dict[str, int] = {}
        for status, _, _ in answers:
            codes[str(status)] = codes.get(str(status), 0) + 1
        return {"clients": clients, "answers": len(answers), "codes": codes,
                "server_rss_mb": {"idle": round(idle[0]), "peak": round(max(s[0] for s in samples)),
                                  "10 s after": round(after[0])},
                "with_workers_pss_mb": {"idle": round(idle[1]), "peak": round(max(s[1] for s in samples)),
                                        "10 s after": round(after[1])},
                "all_answered_s": round(all_answered_s, 1),
                "slowest_s": round(max((d for _, _, d in answers), default=0.0), 1),
                "mb_sent": round(sum(n for _, n, _ in answers) / 2**20)}
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
        server.wait()


def previous_commit(exe: Path) -> str | None:
    """The git commit of the checkout whose venv holds ``exe`` (``.../checkout/.venv/bin/iadsim``)."""
    out = subprocess.run(["git", "-C", str(exe.parent.parent.parent), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--previous", type=Path, default=Path("/work/main/.venv/bin/iadsim"))
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=8_000, help="records of the smaller case")
    parser.add_argument("--cases", nargs="+", choices=["validate", "uploads", "heavy"],
                        default=["validate", "uploads", "heavy"], help="which cases to run (default: all)")
    parser.add_argument("--heavy-rows", type=int, default=300_000,
                        help="rows of the heavy run's picture and truth")
    parser.add_argument("--clients", type=int, default=200, help="heavy requests at once")
    args = parser.parse_args()
    versions = {"this": NEW}
    if args.previous.is_file():
        versions["previous"] = args.previous
    else:
        print(f"note: no previous version at {args.previous}; this version alone", file=sys.stderr)
    results: dict[str, Any] = {"machine": machine_info(load_avg=os.getloadavg()), "cases": {},
                               "previous": {"path": str(args.previous),
                                            "commit": previous_commit(args.previous)}}
    with tempfile.TemporaryDirectory(prefix="iadsim-bench-hostile-") as tmp:
        if "validate" in args.cases:
            for n in (args.small, args.records):
                scenario = places_scenario(Path(tmp) / f"places-{n}.yaml", n)
                for label, exe in versions.items():
                    results["cases"][f"validate {n:,} records, {label}"] = timed(
                        [str(exe), "validate", str(scenario)], 600)
        if "uploads" in args.cases:
            served = Path(tmp) / "served"
            served.mkdir()
            for label, exe in versions.items():
                results["cases"][f"serve: 45 slow uploads in flight, {label}"] = serve_under_uploads(
                    exe, served)
        if "heavy" in args.cases:
            served = Path(tmp) / "heavy"
            run = heavy_run(served, args.heavy_rows)
            for label, exe in versions.items():
                results["cases"][f"serve: {args.clients} heavy requests at once, {label}"] = \
                    serve_under_heavy_requests(exe, served, run, args.clients)
    results["load_avg_after"] = [round(x, 1) for x in os.getloadavg()]
    out = HERE.parent / "out" / "bench" / "hostile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
