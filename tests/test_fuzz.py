"""Fuzz tests (hypothesis) of the scenario check pass, the DETECTIONS reader and the command-line
option parsers: no input raises anything but the component's own user error. The YAML reader's
fuzz tests are in tests/test_yaml_reader.py; the crash corpus in tests/test_fuzz_corpus.py.
``make fuzz`` runs them all with the long profile (tests/fuzzing.py)."""

from __future__ import annotations

import math
import warnings

import pyarrow as pa
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from iadsim.options import OptionError, parse_altitudes, parse_area, parse_number
from iadsim.pipeline.checks import check_scenario
from iadsim.scenario import ScenarioErrors, load_scenario
from iadsim.scenario.errors import ScenarioError
from iadsim.tracking import TrackingInputError, track_detections
from iadsim.tracking.io import DETECTION_COLUMNS, validate_detections

from .fuzzing import FUZZ
from .test_hostile_inputs import WITH_RAID

# --- the scenario check pass ----------------------------------------------------------------

_BASE = yaml.safe_load(WITH_RAID)
_NUMERIC_PATHS = [
    ("duration_s",), ("tick_s",), ("seed",),
    ("places", "minsk", "lat_deg"), ("places", "minsk", "lon_deg"),
    ("catalog", "missiles", "m1", "max_range_km"), ("catalog", "missiles", "m1", "min_range_km"),
    ("catalog", "radars", "r1", "detection_range_km"), ("catalog", "radars", "r1", "reference_rcs_m2"),
    ("traffic", "raids", "strike", "count"), ("traffic", "raids", "strike", "start_s"),
    ("traffic", "raids", "strike", "spread_s"), ("traffic", "raids", "strike", "origin_radius_km"),
    ("traffic", "raids", "strike", "speed_kmh"), ("traffic", "raids", "strike", "alt_m"),
    ("units", "bn1", "equipment", 0, "count"),
]
_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20), st.booleans(),
    st.sampled_from([0, 1e-300, 5e-324, -0.0, 1e308, 2**63, 0.01, 0.05, 1, 2_592_000, 20_000]),
    st.text(max_size=6), st.none())


def _set(data: dict, path: tuple, value: object) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(_NUMERIC_PATHS), _values), min_size=1, max_size=4))
def test_fuzz_check_pass(write, changes):
    """Any numbers in the schema's numeric fields: refused with located errors, or loaded and then
    checked by the check pass without an exception (no ZeroDivision, Overflow or NaN reaches it)."""
    data = yaml.safe_load(WITH_RAID)
    for path, value in changes:
        _set(data, path, value)
    path = write(yaml.safe_dump(data, allow_unicode=True))
    try:
        scenario = load_scenario(path)
    except ScenarioErrors as exc:
        assert exc.errors and all(e.location is not None for e in exc.errors)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning is a bug too
        problems = check_scenario(scenario, terrain=False)
    assert all(isinstance(p, ScenarioError) and p.render() for p in problems)


# --- the DETECTIONS reader ------------------------------------------------------------------

_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                     st.floats(-1e6, 1e6), st.sampled_from([0.0, 1.0, -1e308, 1e308, 90.0, 360.0]))


@st.composite
def _detection_tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 6))
    columns: dict[str, list[object]] = {}
    for name in DETECTION_COLUMNS:
        if name == "sensor_id":
            columns[name] = draw(st.lists(st.sampled_from(["r1", "r2", ""]), min_size=n, max_size=n))
        elif draw(st.integers(0, 9)) == 0:
            columns[name] = draw(st.lists(st.none(), min_size=n, max_size=n))
        else:
            base = {"sigma_range_m": 50.0, "sigma_azimuth_deg": 0.5, "range_m": 40_000.0,
                    "sensor_lat_deg": 53.9, "sensor_lon_deg": 27.5}.get(name, 0.0)
            columns[name] = [base + draw(_numbers) if draw(st.booleans()) else base
                             for _ in range(n)]
    if draw(st.booleans()):
        del columns[draw(st.sampled_from(DETECTION_COLUMNS))]
    return pa.table({k: pa.array(v, type=pa.string() if k == "sensor_id" else pa.float64())
                     for k, v in columns.items()})


@FUZZ
@given(_detection_tables())
def test_fuzz_detections_reader(table):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            validate_detections(table)
        except TrackingInputError as exc:
            assert str(exc)
            return
        tracks = track_detections(table)
    assert tracks.num_rows >= 0


# --- command-line option parsers ------------------------------------------------------------

_option_text = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                       st.sampled_from(["nan", "inf", "-inf", "1e309", "", " ", "1_000", "0x10",
                                        "100m", "--", "1,2"])),
             max_size=6).map(",".join))


@FUZZ
@given(_option_text, st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.booleans())
def test_fuzz_parse_number(text, low, high, low_open):
    low, high = min(low, high), max(low, high)
    try:
        value = parse_number("--x", text, low, high, low_open=low_open)
    except OptionError as exc:
        assert str(exc).startswith("--x")
        return
    assert math.isfinite(value) and (value > low if low_open else value >= low) and value <= high


@FUZZ
@given(_option_text)
def test_fuzz_parse_area_and_altitudes(text):
    try:
        lon_min, lon_max, lat_min, lat_max = parse_area(text)
    except OptionError as exc:
        assert "--area" in str(exc)
    else:
        assert -180 <= lon_min < lon_max <= 180 and -90 <= lat_min < lat_max <= 90
    try:
        layers = parse_altitudes(text)
    except OptionError as exc:
        assert "--alt" in str(exc)
    else:
        assert layers and all(math.isfinite(a) and -500 <= a <= 100_000 for a in layers)


@pytest.mark.parametrize("text", ["40,14,62,45", "nan,40,45,62", "14,14,45,62", "-181,40,45,62"])
def test_issue_areas_are_refused(text):
    with pytest.raises(OptionError):
        parse_area(text)
