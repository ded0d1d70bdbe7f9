"""Python's cyclic garbage collector paused while a large scenario is read, merged and checked,
during the C2 pass, and during a sensitivity study's evaluations.

Reading a scenario builds millions of small dicts, lists and tuples that hold no reference cycles
(plain data, then pydantic models). The collector, which runs every few hundred allocations and
rescans the older objects every so often, would scan that growing structure again and again:
measured on a scenario of 100,000 records (bench/bench_hostile.py), reading took 3.8 s of CPU with
the collector and 1.9 s without, and the run's checks 2.4 s and 0.4 s. The C2 pass
(``iadsim.c2.run_c2``) allocates small arrays and records every cycle and leaves no cyclic garbage
(none found after the mixed raid's pass), while the collector rescanned the caller's heap: 0.3–0.5 s
of that 3.4 s pass. A sensitivity study's evaluations build a scenario per point, also without
cycles: with the collector, a coverage evaluation took 14 % longer. Reference counting still frees
everything that is dropped; only cycles wait until the collector resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block (nested blocks leave it to the
    outermost), and resume it afterwards, also on an exception."""
    if not gc.isenabled():  # paused by an outer block, or by the program: not ours to resume
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
