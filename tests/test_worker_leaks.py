"""Worker processes die with their parent: kill -9 of ``iadsim sweep --jobs 2`` leaves no worker."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sweep_workers_die_with_a_killed_sweep(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("scenario: air-policing-violation\nreplications: 20\nparameters:\n"
                    "  grid: {arrangement: [national, exchange]}\n", encoding="utf-8")
    with subprocess.Popen([sys.executable, "-m", "iadsim", "sweep", str(spec), "--jobs", "2", "--out",
                           str(tmp_path / "out")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            # the pool's workers (and multiprocessing's resource tracker) are the sweep's children
            workers = [c for c in _children(proc.pid)
                       if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
                       and b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]
            assert proc.poll() is None, "the sweep ended before its workers were seen"
            time.sleep(0.1)
        assert len(workers) == 2
        helpers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30  # a worker in a long GIL-holding call checks after it
    while time.monotonic() < deadline and any(_alive(p) for p in helpers):
        time.sleep(0.1)
    assert not [(p, Path(f"/proc/{p}/cmdline").read_bytes()[:120]) for p in helpers if _alive(p)]
