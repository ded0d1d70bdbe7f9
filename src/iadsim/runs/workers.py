"""The worker processes of sweeps, comparisons and the saturation curve: a clean interpreter each
(spawn), and each dies with the process that started it.

A ``ProcessPoolExecutor``'s workers outlive a parent killed with SIGKILL (kill -9 of
``iadsim sweep --jobs 2`` left two 400 MB workers running for minutes): each worker here watches
its parent and exits as soon as the parent is gone.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time

__all__ = ["PARENT_CHECK_S", "PARENT_ENV", "process_pool", "watch_parent"]

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


def process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (a clean interpreter each, whatever threads the
    parent runs: pyarrow, numba) that exit when this process dies."""
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=watch_parent, initargs=(os.getpid(),))
