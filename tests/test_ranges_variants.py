"""Assumptions with ranges, variants between published alternatives, overrides as provenance."""

from __future__ import annotations

import pytest

from iadsim.pipeline.checks import check_scenario
from iadsim.report.html import assumptions_section
from iadsim.scenario import load_scenario, validate_file
from iadsim.scenario.factors import check_factors, collect_factors, reachable_factors
from iadsim.scenario.overrides import OverrideError, choose_variants
from iadsim.scenario.provenance import collect_assumptions, collect_overrides

from .conftest import MINIMAL

RANGED = MINIMAL.replace(
    "      assumed: {min_range_km: test value}",
    "      assumed: {min_range_km: test value}\n"
    "      ranges:\n"
    "        min_range_km: {low: 3, high: 8, reason: test range}\n"
    "        max_range_km: {low_factor: 0.8, high_factor: 1.2, distribution: triangular, reason: r}",
)


def _errors(write, text: str) -> list[str]:
    return [e.render() for e in validate_file(write(text))]


def test_ranges_load_and_show_in_assumptions(write):
    sc = load_scenario(write(RANGED))
    m1 = sc.catalog.missiles["m1"]
    assert m1.ranges["min_range_km"].bounds(m1.min_range_km or 0) == (3, 8)
    assert m1.ranges["max_range_km"].bounds(m1.max_range_km) == pytest.approx((60, 90))
    [item] = [a for a in collect_assumptions(sc) if a.field == "min_range_km"]
    assert item.range == "3 – 8 (uniform): test range"
    assert "3 – 8 (uniform): test range" in assumptions_section(sc).body


@pytest.mark.parametrize(("old", "new", "message", "line_snippet"), [
    ("{low: 3, high: 8,", "{low: 8, high: 3,", "low (8) must be below high (3)", "low: 8"),
    ("{low: 3, high: 8,", "{low: 6, high: 8,", "min_range_km = 5 lies outside its own range 6 – 8",
     "low: 6"),
    ("distribution: triangular", "distribution: gaussian", "not one of the allowed values",
     "gaussian"),
    ("{low: 3, high: 8,", "{low: 3,", "a range needs both low and high", "low: 3,"),
])
def test_bad_range_is_one_message_at_its_line(write, old, new, message, line_snippet):
    text = RANGED.replace(old, new)
    errors = validate_file(write(text))
    assert len(errors) == 1, [e.render() for e in errors]
    [err] = errors
    assert message in err.render()
    line = next(i for i, t in enumerate(text.splitlines(), 1) if line_snippet in t)
    assert err.location is not None and err.location.line == line


def test_range_of_a_field_that_is_not_numeric(write):
    text = RANGED.replace("        min_range_km: {low: 3", "        name: {low: 3")
    [err] = validate_file(write(text))
    assert "not a numeric field" in err.message and "ranges.name" in err.render()


VARIANT = MINIMAL + """\
variants:
  radar_range:
    name: which published figure of the radar's range
    default: short
    options:
      short: {name: 120 km, source: [SRC1]}
      long:
        name: 180 km
        source: [SRC1]
        assumed: {figure: test}
        changes: {catalog: {radars: {r1: {detection_range_km: 180}}}}
"""


def _line(text: str, snippet: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if snippet in t)


@pytest.mark.parametrize(("old", "new", "message", "snippet"), [
    # an end the field refuses: a minimum range above the maximum (75 km)
    ("{low: 3, high: 8,", "{low: 3, high: 80,", "the high end of the range (80) is refused", "high: 80"),
    # an end the field's own limit refuses
    ("{low: 3, high: 8,", "{low: -3, high: 8,", "the low end of the range (-3) is refused", "low: -3"),
    # bounds given as factors of a value of 0
    ("      min_range_km: 5\n", "      min_range_km: 0\n", "leaves nothing to vary", "low_factor: 0.5"),
])
def test_a_range_end_the_scenario_refuses_is_one_message_at_the_range(write, old, new, message, snippet):
    """What a sensitivity study would set is checked by ``validate`` (and by every command before it
    runs), at the range's line: before, the study stopped with a traceback."""
    text = RANGED.replace(old, new)
    if "min_range_km: 0" in text:
        text = text.replace("min_range_km: {low: 3, high: 8,", "min_range_km: {low_factor: 0.5, high_factor: 2,")
    sc = load_scenario(write(text))
    errors = check_scenario(sc, terrain=False)
    assert len(errors) == 1, [e.render() for e in errors]
    assert message in errors[0].render() and errors[0].location.line == _line(text, snippet)


def test_a_variant_option_or_a_name_given_twice_is_refused_where_it_is_written(write):
    text = VARIANT.replace("changes: {catalog: {radars: {r1: {detection_range_km: 180}}}}",
                           "changes: {catalog: {radars: {r1: {detection_range_km: -180}}}}")
    errors = check_factors(load_scenario(write(text)))
    assert len(errors) == 1 and "option 'long' is refused" in errors[0].render()
    assert errors[0].location.line == _line(text, "      long:")
    # a record the schema takes but the loader's reference check would refuse
    dangling = VARIANT.replace("changes: {catalog: {radars: {r1: {detection_range_km: 180}}}}",
                               "changes: {units: {bn1: {equipment: [{type: no_such_sam, count: 1}]}}}")
    [error] = check_factors(load_scenario(write(dangling)))
    assert "option 'long' is refused: units.bn1.equipment[0].type: unknown equipment type 'no_such_sam'" \
        in error.message
    twice = RANGED.replace("{low: 3, high: 8, reason: test range}",
                           "{low: 3, high: 8, group: radar_range, reason: test range}")
    twice += VARIANT[len(MINIMAL):]
    [error] = check_factors(load_scenario(write(twice)))
    assert "the name 'radar_range' is given to two factors, a range and a variant" in error.message
    assert error.location.line == _line(twice, "group: radar_range")
    # a variant the scenario itself set to another option is not checked (nor studied: its other
    # options' data are not at hand)
    chosen = load_scenario(write(text.replace("detection_range_km: -180", "detection_range_km: 180")
                                 + "choose: {radar_range: long}\n"))
    assert check_factors(chosen) == []
    kept, [note] = reachable_factors(chosen, collect_factors(chosen))
    assert kept == [] and "variant 'radar_range' is not varied: the scenario chooses 'long'" in note


def test_a_variant_defined_again_by_an_including_file_is_refused(write):
    """Redefining an included variant merged the two definitions silently (its options mixed)."""
    write(VARIANT, "base.yaml")
    text = ("include: [base.yaml]\nname: again\nvariants:\n  radar_range:\n    name: mine\n"
            "    default: x\n    options:\n      x: {name: X, source: [SRC1]}\n      y: {name: Y, source: [SRC1]}\n")
    errors = validate_file(write(text))
    assert len(errors) == 1 and "variant 'radar_range' is already defined in" in errors[0].message
    assert errors[0].location.line == 4


def test_a_variant_of_one_option_says_what_a_variant_needs(write):
    text = VARIANT.replace("""      long:
        name: 180 km
        source: [SRC1]
        assumed: {figure: test}
        changes: {catalog: {radars: {r1: {detection_range_km: 180}}}}
""", "")
    [error] = validate_file(write(text))
    assert "a variant needs at least two options, its default (the data as written) and an " \
        "alternative; it has 1" in error.message


def test_confirmation_cannot_need_more_hits_than_its_window(write):
    text = "include: [reference]\nname: t\nas_of: 2020-12-31\ntracking: {confirm_hits: 5}\n"
    [error] = [e.render() for e in validate_file(write(text))]
    assert "confirm_hits (5) is more than confirm_window (3)" in error


def test_variant_choice_applies_and_is_listed_as_an_assumption(write):
    sc = load_scenario(write(VARIANT + "choose: {radar_range: long}\n"))
    assert sc.catalog.radars["r1"].detection_range_km == 180
    assert sc.chosen("radar_range") == "long"
    listed = [a for a in collect_assumptions(sc) if a.record.startswith("variants.radar_range")]
    assert any("'long' (180 km), chosen by the scenario" in a.reason for a in listed)


def test_choose_variants_switches_a_loaded_scenario(write):
    sc = load_scenario(write(VARIANT))
    assert sc.catalog.radars["r1"].detection_range_km == 120
    other = choose_variants(sc, {"radar_range": "long"})
    assert other.catalog.radars["r1"].detection_range_km == 180
    assert other.chosen("radar_range") == "long"
    assert choose_variants(sc, {"radar_range": "short"}).catalog.radars["r1"].detection_range_km == 120
    with pytest.raises(OverrideError, match="no record defines a variant 'radar_rang'; did you mean"):
        choose_variants(sc, {"radar_rang": "long"})
    with pytest.raises(OverrideError, match="has no option 'longer'"):
        choose_variants(sc, {"radar_range": "longer"})


def test_choose_variants_refuses_to_leave_an_option_the_file_chose(write):
    sc = load_scenario(write(VARIANT + "choose: {radar_range: long}\n"))
    with pytest.raises(OverrideError, match="the scenario chose 'long'"):
        choose_variants(sc, {"radar_range": "short"})


def test_reference_s400_missile_variant(write):
    ref = load_scenario("reference-2020")
    assert ref.catalog.sam_systems["s400"].missile == "s400_48n6dm"
    sc = load_scenario(write("include: [reference]\nname: t\nas_of: 2020-12-31\n"
                             "choose: {s400_missile: s400_40n6_cued}\n"))
    assert sc.catalog.sam_systems["s400"].missile == "s400_40n6"
    assert sc.catalog.sam_systems["s400"].fire_control_radar == "s400_91n6"


def test_reference_ranges_cover_the_assumptions_that_matter(reference):
    """Detection-range factors, antenna heights, Pk, reaction and reload times, link delays."""
    groups = {rng.group for rec in (*reference.catalog.radars.values(), *reference.catalog.missiles.values(),
                                    *reference.catalog.sam_systems.values(), *reference.links.values(),
                                    *reference.command_nodes.values())
              for rng in rec.ranges.values()}
    assert {"detection_range_convention", "surveillance_antenna_height", "vehicle_antenna_height",
            "sam_single_shot_pk", "sam_reaction_time", "link_latency",
            "command_post_processing_delay"} <= groups
    assert reference.engagement is not None and "reload_time_s" in reference.engagement.ranges
    assert reference.c2 is not None and "node_cycle_s" in reference.c2.ranges
    assert "s400_missile" in reference.variants


# -- overrides are provenance ----------------------------------------------------------------------


def test_user_override_replaces_inherited_assumption_with_file_and_line(write):
    path = write("include: [reference]\nname: t\nas_of: 2020-12-31\n"
                 "units:\n  blr_120_aamb_bty1: {alert_duty: false}\n"
                 "catalog:\n  radars:\n    p18:\n      detection_range_km: 151\n", "mine.yaml")
    sc = load_scenario(path)
    unit = sc.units["blr_120_aamb_bty1"]
    assert "alert_duty" not in unit.assumed
    assert unit.overridden["alert_duty"] == f"{path}:5"
    p18 = sc.catalog.radars["p18"]
    assert p18.provenance("detection_range_km") == f"set in {path}:9"
    assert "detection_range_km" not in p18.ranges and "detection_range_km" not in p18.assumed
    overrides = {(o.record, o.field): o.where for o in collect_overrides(sc)}
    assert overrides[("units.blr_120_aamb_bty1", "alert_duty")] == f"{path}:5"
    reasons = [a for a in collect_assumptions(sc)
               if a.record in ("units.blr_120_aamb_bty1", "catalog.radars.p18")
               and a.field in ("alert_duty", "detection_range_km")]
    assert reasons == []
    body = assumptions_section(sc).body
    assert "Values this scenario sets" in body and f"{path}:9" in body


def test_override_with_own_provenance_or_same_value_keeps_it(write):
    ref = load_scenario("reference-2020")
    same = ref.catalog.radars["p18"].detection_range_km
    sc = load_scenario(write("include: [reference]\nname: t\nas_of: 2020-12-31\ncatalog:\n  radars:\n"
                             f"    p18: {{detection_range_km: {same}}}\n"
                             "    sopka_2m: {detection_range_km: 200, assumed: {detection_range_km: mine}}\n"))
    assert sc.catalog.radars["p18"].provenance("detection_range_km") == \
        ref.catalog.radars["p18"].provenance("detection_range_km")
    sopka = sc.catalog.radars["sopka_2m"]
    assert sopka.provenance("detection_range_km") == "assumed: mine" and not sopka.overridden


def test_a_variant_leaves_out_records_the_scenario_removed(write):
    """The README's example removes the 825th regiment, which the reference variant blr_s300_variant
    also changes. Its option does not bring the regiment back as a fragment (validate, run and every
    study refused the README's own example before), whether the file, a study or a sweep chooses it;
    the regiment it still has (the 15th) gets the option's equipment."""
    removed = ("include: [reference]\nname: Without the Polatsk regiment\nas_of: 2020-12-31\n"
               "remove: [units.blr_825_aamr]\nunits:\n  blr_15_aamr_bn1: {alert_duty: false}\n")
    scenario = load_scenario(write(removed, "removed.yaml"))
    assert check_scenario(scenario) == []
    assert check_factors(scenario) == []
    chosen = choose_variants(scenario, {"blr_s300_variant": "ps"})
    in_file = load_scenario(write(removed + "choose: {blr_s300_variant: ps}\n", "chosen.yaml"))
    for sc in (chosen, in_file):
        assert not any(u.startswith("blr_825_aamr") for u in sc.units)
        assert [e.type for e in sc.units["blr_15_aamr_bn1"].equipment] == ["s300ps"]
    assert [e.type for e in scenario.units["blr_15_aamr_bn1"].equipment] == ["s300ps", "s300pmu1"]
    assert {u: x.equipment for u, x in chosen.units.items()} == {u: x.equipment for u, x in in_file.units.items()}


def test_a_variant_change_to_a_misspelt_record_is_still_refused(write):
    """Only records the scenario removed are left out of an option's changes: a record id no one
    defines (a typo) stays an error at the option."""
    path = write("include: [reference]\nname: x\nas_of: 2020-12-31\nvariants:\n  myv:\n    name: v\n"
                 "    default: a\n    options:\n      a: {name: A, source: [OSW2021]}\n      b:\n"
                 "        name: B\n        source: [OSW2021]\n        changes:\n          units:\n"
                 "            blr_15_aamr_bnX: {alert_duty: false}\n", "typo.yaml")
    problems = check_factors(load_scenario(path))
    assert len(problems) == 1 and problems[0].location.line == 10
    assert "blr_15_aamr_bnX" in problems[0].message
