"""The C2 pass alone: the mixed raid's hour under the wartime arrangement, timed in one process.

Run by ``bench/bench_pipeline.py`` with the Python of each environment it compares (the working tree
and release 0.1.0), so it imports only ``iadsim`` and the standard library and works on both APIs.
The sensing pass (engine with the bundled ETOPO5 terrain, as ``iadsim run`` uses) is prepared
outside the timing; only ``iadsim.c2.run_c2`` is timed. Prints one JSON line on stdout:
``c2_s`` (the timed call, s), ``prepare_s`` (imports, loading and the sensing pass, s), ``sensing``
(which API prepared the pass), the iadsim version and the sizes of the C2 tables as a check that
both environments did the same work.
"""

from __future__ import annotations

import json
import time
from typing import Any

SCENARIO = "mixed-raid"
ARRANGEMENT = "wartime"


def _sensing(scenario: Any) -> tuple[Any, Any, dict[str, Any], str]:
    """The sensing pass's tables, the radars argument of ``run_c2``, its keyword arguments (world,
    terrain), and which API made them.

    The current code has ``iadsim.pipeline.sensing_pass`` (tables in ``result``, the engine's
    ``radars``, its ``terrain``); 0.1.0 has only the engine, whose ``run()`` returns the tables and
    whose radars the C2 pass took as a ``SensorTable`` (with the terrain in it).
    """
    try:
        from iadsim import pipeline
    except ImportError:
        pipeline = None
    if pipeline is not None and hasattr(pipeline, "sensing_pass"):
        sp = pipeline.sensing_pass(scenario)  # default terrain: the bundled ETOPO5
        options = {"world": sp.world, "terrain": sp.terrain}
        return sp.result, sp.radars, options, "iadsim.pipeline.sensing_pass"
    from iadsim.c2 import SensorTable  # type: ignore[attr-defined]  # 0.1.0
    from iadsim.geo.terrain import default_terrain
    from iadsim.sim.engine import Engine

    engine = Engine(scenario, terrain=default_terrain())
    result = engine.run()
    return result, SensorTable.from_engine(engine), {"world": engine.world}, "iadsim.sim.engine.Engine"


def main() -> None:
    """Prepare the sensing pass, time the C2 pass and print the JSON line."""
    t0 = time.perf_counter()
    import iadsim
    from iadsim.c2 import run_c2
    from iadsim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    tables, radars, options, how = _sensing(scenario)
    t1 = time.perf_counter()
    c2 = run_c2(scenario, tables.detections, tables.truth, tables.objects, radars, ARRANGEMENT, **options)
    t2 = time.perf_counter()
    # 0.1.0's C2 pass also built the outcomes table; the current one leaves it to the analysis
    names = ("picture", "events", "interceptors", "outcomes", "engagements")
    sizes = {name: getattr(c2, name).num_rows for name in names if hasattr(c2, name)}
    print(json.dumps({"c2_s": t2 - t1, "prepare_s": t1 - t0, "sensing": how,
                      "iadsim": iadsim.__version__, "scenario": SCENARIO, "arrangement": ARRANGEMENT,
                      "detections": tables.detections.num_rows, "rows": sizes}))


if __name__ == "__main__":
    main()
