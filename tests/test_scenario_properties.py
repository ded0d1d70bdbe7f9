"""Property tests: no input, however broken, produces a traceback from the scenario reader."""

from __future__ import annotations

import datetime as dt
import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iadsim.scenario import ScenarioErrors, load_scenario, validate_file
from iadsim.scenario.errors import ScenarioError

from .conftest import MINIMAL

FIELD_NAMES = [
    "name", "as_of", "arrangement", "units", "places", "catalog", "nations", "sources", "radars",
    "missiles", "sam_systems", "equipment", "type", "count", "in_service", "from", "to", "parent",
    "place", "lat_deg", "lon_deg", "kind", "source", "assumed", "include", "remove", "traffic",
    "flights", "route", "links", "command_nodes", "superior", "max_range_km", "events", "target",
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.text(max_size=12), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    st.sampled_from(["BLR", "minsk", "sam1", "joint", "2020-12-31", "SRC1", "bn1"]),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(string.ascii_letters + "_-", min_size=1,
                                                       max_size=10))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)

_SETTINGS = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(errors: list[ScenarioError]) -> None:
    assert isinstance(errors, list)
    for e in errors:
        assert isinstance(e, ScenarioError)
        assert e.render()  # renders without raising


@_SETTINGS
@given(raw=st.binary(max_size=400))
def test_random_bytes_never_raise(write, raw):
    _check(validate_file(write(raw)))


@_SETTINGS
@given(text=st.text(max_size=300))
def test_random_text_never_raises(write, text):
    _check(validate_file(write(text)))


@_SETTINGS
@given(doc=documents)
def test_random_yaml_never_raises(write, doc):
    text = yaml.safe_dump(doc, allow_unicode=True)
    path = write(text)
    _check(validate_file(path))
    try:
        load_scenario(path)
    except ScenarioErrors as exc:
        assert exc.errors


@_SETTINGS
@given(doc=st.dictionaries(st.sampled_from(FIELD_NAMES), documents, max_size=6))
def test_random_overrides_of_a_valid_scenario_never_raise(write, doc):
    base = yaml.safe_load(MINIMAL)
    base.update(doc)
    _check(validate_file(write(yaml.safe_dump(base, allow_unicode=True))))


@_SETTINGS
@given(cut=st.integers(0, len(MINIMAL)), junk=st.text(max_size=5))
def test_truncated_or_spliced_scenario_never_raises(write, cut, junk):
    _check(validate_file(write(MINIMAL[:cut] + junk + MINIMAL[cut:][: len(MINIMAL) // 3])))
