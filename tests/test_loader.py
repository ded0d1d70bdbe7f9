"""Includes, overrides and removals."""

from __future__ import annotations

import pytest

from iadsim.scenario import ScenarioErrors, load_scenario, validate_file

from .conftest import MINIMAL


def test_load_minimal(write):
    sc = load_scenario(write(MINIMAL))
    assert sc.name == "minimal test scenario"
    assert sc.units["bn1"].equipment[0].count == 12
    assert sc.catalog.missiles["m1"].provenance("max_range_km") == "source: SRC1"
    assert sc.catalog.missiles["m1"].provenance("min_range_km") == "assumed: test value"


def test_scenario_is_immutable(write):
    sc = load_scenario(write(MINIMAL))
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        sc.name = "changed"  # type: ignore[misc]


def test_override_merges_mappings_and_replaces_values(write):
    write(MINIMAL, "base.yaml")
    child = write(
        "include: [base.yaml]\n"
        "name: child\n"
        "units:\n"
        "  bn1:\n"
        "    equipment: [{type: sam1, count: 6}]\n"
        "    alert_duty: true\n",
        "child.yaml",
    )
    sc = load_scenario(child)
    assert sc.name == "child"
    bn1 = sc.units["bn1"]
    assert bn1.equipment[0].count == 6  # a list is replaced whole
    assert bn1.alert_duty is True
    assert bn1.place == "hrodna"  # untouched fields come from the included file
    assert "bn2" in sc.units


def test_error_in_override_points_to_the_overriding_file(write):
    write(MINIMAL, "base.yaml")
    child = write("include: [base.yaml]\nunits:\n  bn1:\n    place: nowhere\n", "child.yaml")
    [error] = validate_file(child)
    assert error.location.file == str(child) and error.location.line == 4


def test_error_in_included_file_points_to_it(write):
    base = write(MINIMAL.replace("count: 12}", "count: many}"), "base.yaml")
    child = write("include: [base.yaml]\nname: child\n", "child.yaml")
    [error] = validate_file(child)
    assert error.location.file == str(base)


def test_remove_cascades_to_subordinate_units(write):
    write(MINIMAL, "base.yaml")
    sc = load_scenario(write("include: [base.yaml]\nremove: [units.regt]\n", "child.yaml"))
    assert set(sc.units) == set()


def test_remove_then_redefine_replaces_whole_record(write):
    write(MINIMAL, "base.yaml")
    child = write(
        "include: [base.yaml]\n"
        "remove: [units.bn2]\n"
        "units:\n"
        "  bn2: {name: New, nation: BLR, kind: sam_battery, source: [SRC1]}\n",
        "child.yaml",
    )
    bn2 = load_scenario(child).units["bn2"]
    assert bn2.name == "New" and bn2.place is None and bn2.equipment == []


def test_include_bundled_reference_by_name(write):
    sc = load_scenario(write("include: [reference]\nname: mine\nas_of: 2012-06-01\n"))
    assert sc.as_of.year == 2012
    assert "s300ps" in sc.catalog.sam_systems


def test_unknown_bundled_scenario_lists_the_available():
    with pytest.raises(ScenarioErrors) as info:
        load_scenario("reference-2002")
    [error] = info.value.errors
    assert "reference-2020" in (error.allowed or "")


def test_reference_data_validates():
    from iadsim.data import reference_path

    sc_path = reference_path()
    errors = validate_file(sc_path)
    # the reference data set is a fragment: only the scenario's own fields may be missing
    assert {e.message for e in errors} == {"required field is missing"}
    assert {e.path for e in errors} == {("name",), ("as_of",)}


def test_a_broken_included_file_is_reported_alone(write):
    write("catalog: {radars: {r: {name: [unclosed}}}\n", "broken.yaml")
    errors = validate_file(write("include: [broken.yaml]\nname: x\nas_of: 2020-01-01\n"
                                 "units: {u: {name: U, nation: BLR, kind: radar_site, source: [S],"
                                 " equipment: [{type: r, count: 1}]}}\n", "main.yaml"))
    assert len(errors) == 1 and "malformed YAML" in errors[0].message
    assert errors[0].location.file.endswith("broken.yaml")


def test_every_bad_removal_is_its_own_message_at_its_line(write):
    from iadsim.scenario import validate_file

    path = write("include: [reference]\nname: x\nas_of: 2020-12-31\nremove:\n  - units.nosuch_unit\n"
                 "  - nosuchsection.x\n  - ''\n  - places.nowhere\n", "rm.yaml")
    errors = validate_file(path)
    assert [(e.path, e.location.line) for e in errors] == [
        (("remove", 0), 5), (("remove", 1), 6), (("remove", 2), 7), (("remove", 3), 8)]


def test_a_removal_that_leaves_references_is_one_message_at_the_removal(write):
    from iadsim.scenario import validate_file

    path = write("include: [reference]\nname: x\nas_of: 2020-12-31\nremove: [places.baranavichy]\n", "rm.yaml")
    [error] = validate_file(path)
    assert error.location.file == str(path) and error.location.line == 4 and error.path == ("remove", 0)
    assert error.message.startswith("removing places.baranavichy leaves 8 references to 'baranavichy' "
                                    "(units.blr_120_aamb.place")
    assert "did you mean" not in error.message


def test_a_record_check_on_a_field_the_file_overrides_points_at_the_files_line(write):
    from iadsim.scenario import validate_file

    path = write("include: [reference]\nname: x\nas_of: 2020-12-31\ncatalog:\n  missiles:\n"
                 "    s300ps_5v55r: {min_range_km: 500}\n", "mm.yaml")
    [error] = validate_file(path)
    assert (error.location.file, error.location.line) == (str(path), 6)
    assert "min_range_km (500.0) must be below max_range_km" in error.message


def test_a_bad_merge_key_is_one_message_not_one_per_missing_field(write):
    from iadsim.scenario import validate_file

    path = write("include: [reference]\nname: x\nas_of: 2020-12-31\nplaces:\n  p3: {<<: 5}\n", "merge.yaml")
    errors = validate_file(path)
    assert [(e.path, e.location.line) for e in errors] == [(("places", "p3"), 5)]
    assert "the merge key '<<' takes a mapping" in errors[0].message
