"""Changing a scenario by variants and dotted paths (iadsim.scenario.overrides.change_scenario):
the copy-on-write change gives the scenario that a full dump, the same changes and a full
validation give, leaves the base scenario as it was, and reports bad values as before."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iadsim.scenario import bundled_scenarios, load_scenario
from iadsim.scenario.factors import apply_factors, collect_factors
from iadsim.scenario.overrides import (
    OverrideError,
    apply_overrides,
    apply_variant,
    change_scenario,
    set_path,
)
from iadsim.scenario.schema import Scenario
from iadsim.world import scenario_json

BUNDLED = [b.id for b in bundled_scenarios()]


@functools.cache
def _scenario(name: str) -> tuple[Scenario, str]:
    sc = load_scenario(name)
    return sc, scenario_json(sc)


def _by_full_dump(scenario: Scenario, choices: dict[str, str], overrides: dict[str, object]) -> Scenario:
    """The plain way: the whole scenario as a mapping, the changes, the whole mapping validated."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    for name, option in choices.items():
        apply_variant(data, name, option)
    for path, value in overrides.items():
        set_path(data, path, value)
    return Scenario.model_validate(data)


def _unset_dump(sc: Scenario) -> dict[str, object]:
    return sc.model_dump(mode="json", by_alias=True, exclude_unset=True)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(BUNDLED), data=st.data())
def test_change_equals_the_full_dump_and_validation_and_leaves_the_base(name, data):
    """At random points of every bundled scenario's factors (ranges and variants together), the
    changed scenario is field for field, set fields included, the full dump's; the base scenario's
    JSON is unchanged afterwards."""
    base, base_json = _scenario(name)
    factors = collect_factors(base)
    chosen = data.draw(st.lists(st.sampled_from(factors), unique_by=lambda f: f.name, max_size=8))
    quantiles = {f.name: data.draw(st.floats(0.0, 1.0)) for f in chosen}
    choices = {f.name: f.option(u) for f in chosen for u in [quantiles[f.name]]
               if f.kind == "variant" and f.option(u) != f.chosen}
    overrides = {p: v for f in chosen if f.kind == "range" for p, v in f.overrides(quantiles[f.name]).items()}
    changed = apply_factors(base, factors, quantiles)
    expected = _by_full_dump(base, choices, overrides)
    assert scenario_json(changed) == scenario_json(expected)
    assert _unset_dump(changed) == _unset_dump(expected)
    assert scenario_json(base) == base_json


def test_change_reaches_lists_units_and_new_fields_without_touching_the_base():
    """Paths through a list, into a unit and to a field the record had not set: each changes the
    new scenario only."""
    base, base_json = _scenario("reference-2020")
    uid = next(u for u, unit in base.units.items() if unit.equipment)
    overrides = {f"units.{uid}.equipment.0.count": base.units[uid].equipment[0].count + 1,
                 "c2.identification_time_s": 42.0, "seed": 99}
    changed = apply_overrides(base, overrides)
    assert changed.units[uid].equipment[0].count == base.units[uid].equipment[0].count + 1
    assert changed.c2 is not None and changed.c2.identification_time_s == 42.0 and changed.seed == 99
    assert scenario_json(changed) == scenario_json(_by_full_dump(base, {}, overrides))
    assert scenario_json(base) == base_json
    # records off the changed paths are shared with the base, not copied
    other = next(u for u in base.units if u != uid)
    assert changed.units[other] is base.units[other]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"catalog.missiles.s400_48n6dm.max_range_km": -5}, "parameter 'catalog.missiles.s400_48n6dm.max_range_km' = -5"),
    ({"catalog.missiles.s400_48n6dm.max_rnage_km": 5}, "did you mean 'max_range_km'"),
    ({"units.no_such_unit.place": "minsk"}, "'no_such_unit' is not a key of units"),
])
def test_bad_changes_are_one_message_each(overrides, message):
    base, base_json = _scenario("reference-2020")
    with pytest.raises(OverrideError) as err:
        apply_overrides(base, overrides)
    assert len(err.value.problems) == 1 and message in err.value.problems[0]
    assert scenario_json(base) == base_json


def test_unknown_variant_option_is_refused():
    base, _ = _scenario("reference-2020")
    variant = next(iter(base.variants))
    with pytest.raises(OverrideError, match="has no option 'nope'"):
        change_scenario(base, {variant: "nope"})
