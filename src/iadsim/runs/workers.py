"""The worker processes of sweeps, comparisons and the saturation curve: a clean interpreter each
(spawn), and each dies with the process that started it.

A ``ProcessPoolExecutor``'s workers outlive a parent killed with SIGKILL (kill -9 of
``iadsim sweep --jobs 2`` left two 400 MB workers running for minutes): each worker here watches
its parent and exits as soon as the parent is gone.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

__all__ = ["PARENT_CHECK_S", "PARENT_ENV", "WorkerStartError", "hold_freed_memory", "pool_failure_explained",
           "process_pool", "share_cores", "stop_workers", "watch_parent"]

PARENT_ENV = "IADSIM_PARENT_PID"
"""Set by a parent (the viewer's job manager) to make an ``iadsim`` child exit when it dies."""

PARENT_CHECK_S = 0.5
"""How often a worker checks that its parent is alive; it is gone within about this long."""


def _watch_parent(parent: int) -> None:
    while True:
        # re-parented (to init or a subreaper) once the parent has died
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(PARENT_CHECK_S)


def watch_parent(parent: int) -> None:
    """Exit this process as soon as process ``parent`` is no longer its parent (it died)."""
    threading.Thread(target=_watch_parent, args=(parent,), name="iadsim-parent-watch",
                     daemon=True).start()


def share_cores(processes: int) -> int:
    """Give this process its share of the machine's cores for numba's parallel loops (the viewshed
    sweeps its four quadrants in parallel): with W worker processes on C cores, C // W threads each
    (at least one). Without it each of W workers starts C threads, and two workers on two cores ran
    a sensitivity study slower than one process. Numba's setting holds for the calling thread (and
    the threads it starts): call it where the work runs. Returns the thread count set.

    Args:
        processes: the worker processes sharing this machine (≥ 1).
    """
    import numba

    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # set at import
    threads = max(1, min((os.cpu_count() or 1) // max(1, processes), most))
    numba.set_num_threads(threads)
    return threads


_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_B = 32 * 2**20  # the largest glibc's own adaptive threshold reaches on 64-bit systems
_TRIM_THRESHOLD_B = 64 * 2**20


def hold_freed_memory() -> bool:
    """Keep freed memory in this process for its next allocations instead of handing it back to the
    system (glibc: blocks under 32 MiB come from the heap, and up to 64 MiB of free heap is kept).

    A worker allocates and frees the same large temporaries at every evaluation (launch-region
    tables, coverage grids). With glibc's adaptive defaults the worker processes handed that memory
    back to the system and faulted it in again page by page: 2 local processes running a
    sensitivity study spent 16.7 s in the kernel on 11 million page faults, against 0.4 s in one
    process, and 0.9 s with these fixed thresholds (docs/benchmarks.md). Returns whether the
    settings took (False on a system without glibc's ``mallopt``, where nothing changes).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_B)
    return bool(mmap_ok) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_B))


def _start_worker(parent: int, processes: int) -> None:
    watch_parent(parent)
    share_cores(processes)
    hold_freed_memory()


def process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (a clean interpreter each, whatever threads the
    parent runs: pyarrow, numba) that exit when this process dies, share the cores
    (``share_cores``) and keep the memory they free (``hold_freed_memory``)."""
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_start_worker, initargs=(os.getpid(), workers))


def stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool at once, its workers' running tasks too (after an interrupt or an error).

    ``shutdown(wait=False)`` alone leaves each worker to finish its task; the interpreter's exit then
    waits for them (a sweep's replication can take a minute), and a parent that exits before they do
    leaves their queues' semaphores to the resource tracker, which warns of them.
    """
    # concurrent.futures has no public way to stop running workers before Python 3.14
    # (terminate_workers); its process table is the attribute it uses itself, and shutdown clears it
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


class WorkerStartError(RuntimeError):
    """A worker process stopped before it finished its task (``pool_failure_explained``)."""


WORKER_STOPPED = (
    "a worker process stopped before it finished its task. From a script, call iadsim under "
    "`if __name__ == \"__main__\":` (workers are started with 'spawn' and import the script again, "
    "which ran the call a second time in each of them), or pass jobs=1 to work in this process. "
    "The system also stops a worker that runs out of memory.")
"""What ``WorkerStartError`` says: the usual cause first (a script without the main guard)."""


@contextmanager
def pool_failure_explained() -> Iterator[None]:
    """Turn ``BrokenProcessPool`` (a worker died: concurrent.futures says only that) into a
    ``WorkerStartError`` that says why that usually happens and what to do."""
    try:
        yield
    except BrokenProcessPool as exc:
        raise WorkerStartError(WORKER_STOPPED) from exc
