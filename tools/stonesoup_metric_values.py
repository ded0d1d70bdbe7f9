"""Write tests/data/stonesoup_metric_values.json: Stone Soup's own metric test cases, run by Stone Soup.

The cases are the inputs of Stone Soup's unit tests of its OSPA, GOSPA and SIAP metric generators
(dstl/Stone-Soup, ``stonesoup/metricgenerator/tests/test_ospametric.py`` and
``test_tracktotruthmetrics.py``; the test of each case is named in the file). This script builds each
case with Stone Soup's types, runs Stone Soup's generator on it and records the value Stone Soup
computes, beside the value the Stone Soup test asserts where it asserts a number. The file is
committed, so ``tests/test_metrics_reference.py`` checks iadsim against it without Stone Soup.

States are one-dimensional positions (the SIAP cases: ``[x, vx, y, vy]`` with the distance on x and
y, as in the tests). The SIAP cases' associations are given by hand in Stone Soup's tests; here they
are those of the rule iadsim uses (each track with its nearest truth within the association
distance, at each time), which for these inputs are the tests' associations (stated per case).

Run: ``.venv/bin/python tools/stonesoup_metric_values.py`` (needs ``pip install stonesoup``, the
``bench`` extra).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

try:
    import stonesoup
    from stonesoup.measures import Euclidean
    from stonesoup.metricgenerator.manager import MultiManager
    from stonesoup.metricgenerator.ospametric import GOSPAMetric, OSPAMetric
    from stonesoup.metricgenerator.tracktotruthmetrics import SIAPMetrics
    from stonesoup.types.association import AssociationSet, TimeRangeAssociation
    from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
    from stonesoup.types.state import State
    from stonesoup.types.time import TimeRange
    from stonesoup.types.track import Track
except ImportError as exc:  # pragma: no cover - a message, not a code path
    sys.exit(f"needs Stone Soup: pip install stonesoup ({exc})")

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "stonesoup_metric_values.json"
REPO = "dstl/Stone-Soup"
OSPA_TESTS = ("stonesoup/metricgenerator/tests/test_ospametric.py",
              "06477cec4251b9c3706d32ef0143753ff3fda23e")
SIAP_TESTS = ("stonesoup/metricgenerator/tests/test_tracktotruthmetrics.py",
              "05073942edede9545f2762d4f81eea53366122dd")
T0 = dt.datetime(2020, 1, 1)


def _at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _set_case(name: str, test: str, metric: str, params: dict[str, float], tracks: list[list[float]],
              truths: list[list[float]], asserted: list[Any] | None) -> dict[str, Any]:
    """A two-set case over times: ``tracks[k]``/``truths[k]`` are the 1D positions at time k."""
    n_tr, n_gt = max(len(t) for t in tracks), max(len(t) for t in truths)
    ss_tracks = {Track([State([[x[i]]], timestamp=_at(k)) for k, x in enumerate(tracks) if i < len(x)])
                 for i in range(n_tr)}
    ss_truths = {GroundTruthPath([GroundTruthState([[x[i]]], timestamp=_at(k))
                                  for k, x in enumerate(truths) if i < len(x)]) for i in range(n_gt)}
    if metric == "ospa":
        generator: Any = OSPAMetric(c=params["c"], p=params["p"])
    else:
        generator = GOSPAMetric(c=params["c"], p=params["p"])
    manager = MultiManager([generator])
    manager.add_data({"groundtruth_paths": ss_truths, "tracks": ss_tracks})
    result = generator.compute_metric(manager)
    # one time: Stone Soup returns that time's metric itself, not a list of one
    values = sorted(result.value, key=lambda m: m.timestamp) if len(tracks) > 1 else [result]
    if metric == "ospa":
        computed: Any = [float(v.value) for v in values]
    else:
        computed = [{k: float(v.value[k]) for k in ("distance", "localisation", "missed", "false")}
                    for v in values]
    return {"name": name, "test": test, "source": {"repository": REPO, "path": OSPA_TESTS[0],
                                                   "commit": OSPA_TESTS[1]},
            "metric": metric, "params": params, "tracks": tracks, "truths": truths,
            "asserted_by_test": asserted, "stonesoup": computed}


def _siap_case(name: str, test: str, truth_x: list[tuple[float, int, int]],
               track_x: list[tuple[float, int, int]], association_distance: float,
               note: str) -> dict[str, Any]:
    """SIAP over a case of constant 1D positions: ``(x, first_s, last_s)`` per truth and per track,
    associated by the nearest-within-distance rule, each association over the pair's common times."""
    truths = [GroundTruthPath([GroundTruthState([[x], [0], [0], [0]], timestamp=_at(t))
                               for t in range(a, b + 1)]) for x, a, b in truth_x]
    tracks = [Track([State([[x], [0], [0], [0]], timestamp=_at(t)) for t in range(a, b + 1)])
              for x, a, b in track_x]
    associations = set()
    for track, (x, a, b) in zip(tracks, track_x, strict=True):
        times_by_truth: dict[int, list[int]] = {}
        for t in range(a, b + 1):
            live = [(abs(x - gx), j) for j, (gx, ga, gb) in enumerate(truth_x) if ga <= t <= gb]
            if live and min(live)[0] <= association_distance:
                times_by_truth.setdefault(min(live)[1], []).append(t)
        for j, times in times_by_truth.items():
            # one association per contiguous run of times
            runs = np.split(np.asarray(times), np.flatnonzero(np.diff(times) > 1) + 1)
            for run in runs:
                span = TimeRange(_at(int(run[0])), _at(int(run[-1])))
                associations.add(TimeRangeAssociation({truths[j], track}, time_range=span))
    generator = SIAPMetrics(position_measure=Euclidean((0, 2)), velocity_measure=Euclidean((1, 3)))
    manager = MultiManager([generator])
    manager.add_data({"groundtruth_paths": set(truths), "tracks": set(tracks)})
    manager.association_set = AssociationSet(associations)
    metrics = {m.title: m.value for m in generator.compute_metric(manager)}
    return {"name": name, "test": test, "source": {"repository": REPO, "path": SIAP_TESTS[0],
                                                   "commit": SIAP_TESTS[1]},
            "metric": "siap", "truths": [list(v) for v in truth_x], "tracks": [list(v) for v in track_x],
            "association_distance": association_distance, "note": note,
            "stonesoup": {"completeness": float(metrics["SIAP Completeness"]),
                          "ambiguity": float(metrics["SIAP Ambiguity"]),
                          "spuriousness": float(metrics["SIAP Spuriousness"]),
                          "position_accuracy": float(metrics["SIAP Position Accuracy"])}}


def cases() -> list[dict[str, Any]]:
    five = [float(i) for i in range(5)]
    out = [
        _set_case("ospa one time, 5 tracks 0.5 off", "test_ospametric_computeospadistance", "ospa",
                  {"c": 10.0, "p": 1.0}, [[i + 0.5 for i in five]], [five], [0.5]),
    ]
    for p, asserted in ((1.0, [0.5, 0.2]), (2.0, [0.5, 0.2])):
        out.append(_set_case(f"ospa two times p={p:g}", "test_ospametric_computemetric", "ospa",
                             {"c": 10.0, "p": p}, [[i + 0.5 for i in five], [i + 1.2 for i in five]],
                             [five, [i + 1 for i in five]], asserted))
    for p, asserted in ((1.0, [2.4, 2.16]), (2.0, [4.49444, 4.47571])):
        out.append(_set_case(f"ospa cardinality error p={p:g}", "test_ospa_computemetric_cardinality_error",
                             "ospa", {"c": 10.0, "p": p},
                             [[i + 0.5 for i in five[:4]], [i + 1.2 for i in five[:4]]],
                             [five, [i + 1 for i in five]], asserted))
    out.append(_set_case("gospa two times", "test_gospametric_computemetric", "gospa",
                         {"c": 10.0, "p": 1.0}, [[i + 0.5 for i in five], [i + 1 for i in five]],
                         [five, five], [{"distance": 2.5}, {"distance": 5.0}]))
    out.append(_set_case("gospa identical sets", "test_gospametric_compute_gospa_metric", "gospa",
                         {"c": 10.0, "p": 1.0}, [five], [five],
                         [{"distance": 0.0, "localisation": 0.0, "missed": 0.0, "false": 0.0}]))
    # the switching test's inputs without the switching penalty (iadsim has no switching term):
    # at the second time, 100 is farther than c from every truth: one missed and one false
    out.append(_set_case("gospa p=2 c=2, a track farther than c", "test_switching_gospametric_computemetric",
                         "gospa", {"c": 2.0, "p": 2.0}, [[1, 2, 3], [2, 1, 100], [2, 1, 3]],
                         [[1, 2, 3], [1, 2, 3], [1, 2, 3]],
                         [None, {"localisation": 0.0, "missed": 2.0, "false": 2.0}, None]))
    out.append(_siap_case("siap: two tracks on one truth, one ends early", "test__na",
                          [(1.0, 0, 4)], [(1.0, 0, 4), (2.0, 0, 2)], 1.5,
                          "the test's associations: both tracks with the truth over their lifetimes"))
    out.append(_siap_case("siap: nine tracks on one truth over 40 s", "test_compute_metric",
                          [(1.0, 0, 39)],
                          [(1.0, 0, 2), (2.0, 5, 9), (3.0, 7, 14), (4.0, 13, 19), (5.0, 18, 27),
                           (6.0, 22, 25), (7.0, 30, 39), (8.0, 30, 34), (9.0, 35, 39)], 10.0,
                          "the test's associations: every track with the truth over its lifetime"))
    out.append(_siap_case("siap: two truths, a track between them and a spurious one", "test_jt",
                          [(0.0, 0, 19), (10.0, 0, 19)], [(1.0, 0, 19), (10.5, 10, 19), (30.0, 5, 9)],
                          2.0, "the test's truths and tracks in one dimension, plus a spurious track "
                               "(no truth within 2) at 5–9 s; associations by the rule"))
    return out


def main() -> int:
    data = {"generated_by": "tools/stonesoup_metric_values.py", "stonesoup_version": stonesoup.__version__,
            "cases": cases()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} ({len(data['cases'])} cases, Stone Soup {stonesoup.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
