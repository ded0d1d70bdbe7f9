"""Malformed scenarios: each gets one clear message naming its file, line and field."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from iadsim.scenario import validate_file
from iadsim.scenario.yamlio import MAX_FILE_BYTES

from .conftest import MINIMAL


def test_minimal_scenario_is_valid(write):
    assert validate_file(write(MINIMAL)) == []


@dataclass
class Case:
    id: str
    old: str
    new: str
    message: str
    at: str | None = None  # a unique snippet of `new` on the line the error must point to
    path: str | None = None  # the rendered field path expected


CASES = [
    Case("malformed-yaml", "seed: 7", "seed: [7", "malformed YAML"),
    Case("unknown-top-field", "arrangement: joint", "arrangment: joint",
         "unknown field 'arrangment'; did you mean 'arrangement'?", at="arrangment", path="arrangment"),
    Case("unknown-unit-field", "    kind: sam_regiment\n", "    kind: sam_regiment\n    launchers: 12\n",
         "unknown field 'launchers'", at="launchers", path="units.regt.launchers"),
    Case("count-not-a-number", "count: 12}", "count: twelve}", "expected a whole number",
         at="count: twelve", path="units.bn1.equipment[0].count"),
    Case("range-with-unit-text", "max_range_km: 75", 'max_range_km: "75 nm"',
         "expected a number in kilometres", at="75 nm", path="catalog.missiles.m1.max_range_km"),
    Case("wrong-unit-suffix", "max_range_km: 75", "max_range_m: 75000",
         "did you mean 'max_range_km'?", at="max_range_m"),
    Case("dates-out-of-order", "{from: 2016-05-06, to: 2030-01-01}", "{from: 2016-05-06, to: 2010-01-01}",
         "dates out of order", at="to: 2010-01-01", path="units.bn2.in_service"),
    Case("impossible-date", "as_of: 2020-12-31", "as_of: 2020-02-30", "day is out of range",
         at="2020-02-30", path="as_of"),
    Case("not-a-date", "as_of: 2020-12-31", "as_of: yesterday", "expected a date written YYYY-MM-DD",
         at="yesterday", path="as_of"),
    Case("unknown-place", "    place: hrodna\n    parent: hq", "    place: grodno\n    parent: hq",
         "unknown place 'grodno'", at="place: grodno", path="units.regt.place"),
    Case("place-typo-suggestion", "- {place: minsk}", "- {place: minks}",
         "did you mean 'minsk'?", at="minks", path="traffic.flights.f1.route[1].place"),
    Case("unknown-equipment", "type: sam1, count: 12", "type: s300, count: 12",
         "unknown equipment type 's300'", at="type: s300"),
    Case("unknown-parent", "    parent: regt\n    in_service: {from: 2006", "    parent: regiment\n    in_service: {from: 2006",
         "unknown parent unit or command node 'regiment'", at="parent: regiment"),
    Case("unit-cycle", "    place: hrodna\n    parent: hq", "    place: hrodna\n    parent: bn1",
         "cycle in the unit hierarchy"),
    Case("latitude-out-of-range", "lat_deg: 53.9,", "lat_deg: 93.9,", "out of range (degrees)",
         at="93.9", path="places.minsk.lat_deg"),
    Case("longitude-out-of-range", "lon_deg: 23.8258", "lon_deg: 223.8258", "out of range (degrees)",
         at="223.8258", path="places.hrodna.lon_deg"),
    Case("unknown-nation", "    name: 1st Regiment\n    nation: BLR", "    name: 1st Regiment\n    nation: BY",
         "unknown nation 'BY'", at="nation: BY"),
    Case("missing-required", "    kind: sam_regiment\n", "", "required field is missing",
         path="units.regt.kind"),
    Case("bad-arrangement", "arrangement: joint", "arrangement: unified",
         "not one of the allowed values", at="unified", path="arrangement"),
    Case("duplicate-key", "seed: 7", "seed: 7\nseed: 8", "duplicate key 'seed'", at="seed: 8"),
    Case("number-without-source", "      min_range_km: 5\n", "      min_range_km: 5\n      max_speed_mps: 1700\n",
         "max_speed_mps = 1700.0 has no provenance"),
    Case("unknown-source", "{max_range_km: [SRC1]}", "{max_range_km: [SRC9]}",
         "unknown source 'SRC9'", at="SRC9"),
    Case("negative-count", "count: 8}", "count: -8}", "out of range", at="count: -8"),
    Case("unknown-missile", "missile: m1,", "missile: m2,", "unknown missile 'm2'", at="missile: m2"),
    Case("waypoint-without-location", "- {place: minsk}", "- {alt_m: 300}",
         "a waypoint needs a place, or both lat_deg and lon_deg"),
    Case("link-to-unknown-node", "links: {}", "links:\n  l1: {from: hq, to: rads, latency_s: 1, assumed: {latency_s: test}}",
         "unknown command node or unit 'rads'", at="to: rads"),
    Case("tick-longer-than-run", "tick_s: 1", "tick_s: 900", "longer than duration_s"),
    Case("unsafe-tag", "seed: 7", "seed: !!python/object/apply:os.system [echo]",
         "could not determine a constructor", at="python/object"),
    Case("min-range-above-max", "min_range_km: 5", "min_range_km: 90", "must be below max_range_km"),
    Case("negative-speed", "      min_range_km: 5\n", "      min_range_km: 5\n      max_speed_mps: -700\n",
         "out of range (m/s)", at="max_speed_mps: -700", path="catalog.missiles.m1.max_speed_mps"),
    # a record's check points at the first field it names, where that is written
    Case("min-range-above-max-line", "      min_range_km: 5\n", "      min_range_km: 90\n",
         "min_range_km (90.0) must be below max_range_km (75.0)", at="      min_range_km: 90"),
    Case("unknown-variant", "seed: 7", "seed: 7\nchoose: {s300_variant: ps}",
         "no variant 's300_variant'", at="s300_variant", path="choose"),
    Case("unknown-variant-option", "seed: 7", "seed: 7\nvariants:\n  v1:\n    name: A choice\n"
         "    default: a\n    options:\n      a: {name: A, source: [SRC1]}\n"
         "      b: {name: B, source: [SRC1], changes: {units: {bn1: {alert_duty: true}}}}\n"
         "choose: {v1: c}", "variant 'v1' has no option 'c' (options: a, b)", at="choose: {v1: c}"),
    Case("variant-default-with-changes", "seed: 7", "seed: 7\nvariants:\n  v1:\n    name: A choice\n"
         "    default: a\n    options:\n      a: {name: A, source: [SRC1], changes: {seed: 3}}\n"
         "      b: {name: B, source: [SRC1]}", "a variant cannot change seed", at="changes: {seed: 3}"),
    Case("command-system-unknown-radar", "  aircraft:\n", "  command_systems:\n"
         "    cp1: {name: Command post, radars: [r9]}\n  aircraft:\n", "unknown radar 'r9'", at="r9"),
    Case("include-missing", "name: minimal", "include: [no_such_file.yaml]\nname: minimal",
         "included file not found", at="no_such_file"),
    Case("remove-unknown", "name: minimal", "remove: [units.nope]\nname: minimal",
         "cannot remove", at="units.nope"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_scenario_message(write, case):
    assert case.old in MINIMAL, f"test setup: {case.old!r} not in the base scenario"
    text = MINIMAL.replace(case.old, case.new, 1)
    path = write(text)
    errors = validate_file(path)
    assert errors, "expected an error"
    matching = [e for e in errors if case.message in e.message]
    assert matching, f"no error contains {case.message!r}; got: {[e.render() for e in errors]}"
    error = matching[0]
    assert error.location is not None and error.location.file == str(path)
    if case.at is not None:
        expected_line = next(i for i, line in enumerate(text.splitlines(), 1) if case.at in line)
        assert error.location.line == expected_line, error.render()
    if case.path is not None:
        from iadsim.scenario.errors import format_path

        assert format_path(error.path) == case.path


def test_enum_error_lists_allowed_values(write):
    errors = validate_file(write(MINIMAL.replace("arrangement: joint", "arrangement: unified")))
    assert errors[0].allowed is not None
    for name in ("national", "exchange", "joint", "wartime"):
        assert name in errors[0].allowed


def test_three_errors_reported_at_once_with_lines(write):
    text = (MINIMAL.replace("seed: 7", "seed: seven")
            .replace("lat_deg: 53.9,", "lat_deg: 153.9,")
            .replace("- {place: minsk}", "- {place: minks}"))
    errors = validate_file(write(text))
    lines = text.splitlines()
    expected = sorted(next(i for i, ln in enumerate(lines, 1) if s in ln)
                      for s in ("seed: seven", "153.9", "minks"))
    assert [e.location.line for e in errors] == expected
    assert len(errors) == 3


def test_empty_file(write):
    [error] = validate_file(write("   \n# only a comment\n"))
    assert "empty" in error.message


def test_comment_only_file(write):
    [error] = validate_file(write("# nothing here\n---\n"))
    assert "empty" in error.message


def test_binary_file(write):
    [error] = validate_file(write(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR"))
    assert "binary file" in error.message


def test_non_utf8_file(write):
    [error] = validate_file(write("name: Pru\u017eany\n".encode("cp1250") + b"as_of: 2020-01-01\n"))
    assert "not UTF-8" in error.message and error.location.line == 1


def test_huge_file_refused_before_reading(write):
    path = write(b"")
    with path.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    [error] = validate_file(path)
    assert "at most 16 MiB" in error.message


def test_alias_bomb_refused(write):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    [error] = validate_file(write("\n".join(lines) + "\n"))
    assert "YAML nodes" in error.message


@pytest.mark.parametrize("text", [
    "a: &a [*a]\n",                      # an alias inside its own anchor nests for ever
    "a: &a {b: *a}\n",
    "[" * 500 + "\n",                    # deeper than PyYAML's parser can recurse
    "x: " + "[" * 70 + "]" * 70 + "\n",  # readable by PyYAML, deeper than any scenario
])
def test_nesting_too_deep_is_one_error(write, text):
    [error] = validate_file(write(text))
    assert "nest more than 64 levels" in error.message


def test_nesting_a_scenario_uses_is_fine(write):
    errors = validate_file(write("name: x\nas_of: 2020-01-01\nnote: " + "[" * 40 + "]" * 40 + "\n"))
    assert not any("nest" in e.message for e in errors)


def test_top_level_list(write):
    [error] = validate_file(write("- name: x\n- as_of: 2020-01-01\n"))
    assert "must be a mapping" in error.message


def test_missing_file(tmp_path):
    [error] = validate_file(tmp_path / "nope.yaml")
    assert error.message == "no such file"


def test_include_cycle(write):
    write("include: [b.yaml]\nname: a\nas_of: 2020-01-01\n", "a.yaml")
    write("include: [a.yaml]\n", "b.yaml")
    errors = validate_file(write("include: [b.yaml]\nname: a\nas_of: 2020-01-01\n", "a.yaml"))
    assert any("include cycle" in e.message for e in errors)


def test_chain_of_command_cycle(write):
    text = MINIMAL.replace(
        "  hq: {name: Headquarters, nation: BLR, kind: national_command, place: minsk, source: [SRC1]}",
        "  hq: {name: Headquarters, nation: BLR, kind: national_command, superior: hq2, source: [SRC1]}\n"
        "  hq2: {name: Other, nation: BLR, kind: joint_command, superior: hq, source: [SRC1]}")
    errors = validate_file(write(text))
    assert any("cycle in the chain of command" in e.message for e in errors)


def test_event_target_must_exist(write):
    text = MINIMAL + "events:\n  e1: {at_s: 60, kind: unit_down, target: bn9}\n"
    [error] = validate_file(write(text))
    assert "unknown unit 'bn9'" in error.message


VARIANT = """\
variants:
  v1:
    name: Which system the 2nd battalion has
    default: as_written
    options:
      as_written: {name: As written, source: [SRC1]}
      other:
        name: The other one
        source: [SRC1]
        changes:
          units:
            bn2: {equipment: [{type: sam1, count: 4}]}
"""


def test_variant_changes_apply_and_the_choosing_file_can_override(write):
    from iadsim.scenario import load_scenario

    base = write(MINIMAL + VARIANT, "base.yaml")
    assert load_scenario(base).units["bn2"].equipment[0].count == 8
    chosen = load_scenario(base, choose={"v1": "other"})
    assert chosen.units["bn2"].equipment[0].count == 4 and chosen.chosen("v1") == "other"
    user = write("include: [base.yaml]\nchoose: {v1: other}\nunits:\n  bn2: {alert_duty: true}\n", "user.yaml")
    scenario = load_scenario(user)
    assert scenario.units["bn2"].equipment[0].count == 4 and scenario.units["bn2"].alert_duty


def test_variant_chosen_twice_differently_is_an_error(write):
    base = write(MINIMAL + VARIANT + "choose: {v1: other}\n", "base.yaml")
    user = write("include: [base.yaml]\nchoose: {v1: as_written}\n", "user.yaml")
    errors = validate_file(user)
    assert any("already chosen as 'other'" in e.message for e in errors), [e.render() for e in errors]
    assert errors[0].location.file == str(user) and errors[0].location.line == 2
    assert base
