"""Hostile inputs, measured (issue 20): ``iadsim validate`` of large scenarios, and the viewer's
``/api/info`` latency while 45 slow uploads are in flight, this version against the previous one
(``--previous``: another installation's ``iadsim``, default /work/main/.venv/bin/iadsim, the
main branch's checkout on the development machine; left out where it does not exist) side by
side in the same run. Writes out/bench/hostile.json and prints the table of docs/benchmarks.md.

    .venv/bin/python bench/bench_hostile.py [--previous PATH] [--records 100000]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--previous", type=Path, default=Path("/work/main/.venv/bin/iadsim"))
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=8_000, help="records of the side-by-side case")
    args = parser.parse_args()
    versions = {"this": NEW}
    if args.previous.is_file():
        versions["previous"] = args.previous
    else:
        print(f"note: no previous version at {args.previous}; this version alone", file=sys.stderr)
    results: dict[str, Any] = {"machine": machine_info(load_avg=os.getloadavg()), "cases": {}}
    with tempfile.TemporaryDirectory(prefix="iadsim-bench-hostile-") as tmp:
        small = places_scenario(Path(tmp) / "small.yaml", args.small)
        big = places_scenario(Path(tmp) / "big.yaml", args.records)
        for label, exe in versions.items():
            results["cases"][f"validate {args.small:,} records, {label}"] = timed(
                [str(exe), "validate", str(small)], 600)
        results["cases"][f"validate {args.records:,} records, this"] = timed(
            [str(NEW), "validate", str(big)], 600)
        served = Path(tmp) / "served"
        served.mkdir()
        for label, exe in versions.items():
            results["cases"][f"serve: 45 slow uploads in flight, {label}"] = serve_under_uploads(exe, served)
    out = HERE.parent / "out" / "bench" / "hostile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
