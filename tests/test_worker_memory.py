"""Worker processes keep the memory they free (``hold_freed_memory``) instead of faulting it in again
page by page at every evaluation."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from iadsim.runs.workers import process_pool

_PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "hold":
    from iadsim.runs.workers import hold_freed_memory
    assert hold_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # an evaluation's pattern: large temporaries made, used and dropped
    arrays = [np.ones(2_500_000) for _ in range(3)]
    del arrays
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str, env: dict[str, str] | None = None) -> int:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True,
                          env=env)
    return int(done.stdout.strip())


def _glibc() -> bool:
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _glibc(), reason="mallopt's thresholds are glibc's")
def test_a_process_that_holds_freed_memory_faults_far_fewer_pages():
    # 20 rounds of three 20 MB arrays: 60 MB × 20 = 293,000 pages if every round faulted them all;
    # also from a start with the tiny trim threshold Dask's nannies set
    plain, held = _faults("plain"), _faults("hold")
    nanny = {"MALLOC_TRIM_THRESHOLD_": "65536", "PATH": "/usr/bin:/bin"}
    assert held < 8_000 < plain
    assert _faults("hold", nanny) < 8_000 < _faults("plain", nanny)


def _pool_faults(_: int) -> int:
    import resource

    import numpy as np

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        arrays = [np.ones(2_500_000) for _ in range(3)]
        del arrays
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not _glibc(), reason="mallopt's thresholds are glibc's")
def test_pool_workers_hold_freed_memory():
    with process_pool(1) as pool:
        assert pool.submit(_pool_faults, 0).result(timeout=120) < 8_000
