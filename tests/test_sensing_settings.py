"""The sensing model's numbers as scenario settings (`sensing:`): where they come from, that the
engine reads them, and that reports list their assumptions."""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.scenario.errors import ScenarioErrors
from iadsim.scenario.loader import load_scenario
from iadsim.scenario.provenance import collect_assumptions
from iadsim.scenario.schema import SensingSettings, default_sensing_settings
from iadsim.sensors.detection import DEFAULT_FALSE_ALARM_PROBABILITY
from iadsim.sim.engine import Engine, run_simulation

from .sim_scenarios import inbound, one_radar

# the test radar without its accuracy and scan period: the sensing defaults apply to it
BARE_RADAR = (one_radar(flights=inbound("t", 80.0, 5000.0), duration_s=120)
              .replace("      scan_period_s: 10.0\n", "")
              .replace("      sigma_range_m: 50\n", "")
              .replace("scan_period_s: test, sigma_range_m: test,", ""))


def test_reference_data_supply_every_setting_with_a_reason():
    settings = default_sensing_settings()
    numeric = SensingSettings._numeric_fields
    assert set(numeric) == set(settings.assumed), "every number is assumed, with its reason"
    assert all(len(reason) >= 20 for reason in settings.assumed.values())
    reference = load_scenario("reference-2020")
    assert reference.sensing == settings


def test_defaults_are_the_engines_numbers_of_before():
    # the values the engine used as literals before they became settings (docs/models/*.md)
    s = default_sensing_settings()
    assert (s.default_reference_pd, s.default_false_alarm_probability, s.default_scan_period_s,
            s.default_dimensions) == (0.5, 1e-6, 10.0, 3)
    assert (s.default_sigma_range_m, s.default_sigma_azimuth_deg,
            s.default_sigma_elevation_deg) == (100.0, 0.5, 0.5)
    assert (s.jammer_sidelobe_db, s.jammer_horizon_elevation_deg,
            s.fighter_radar_sector_half_width_deg, s.ew_effect_period_s) == (-20.0, -1.0, 60.0, 10.0)
    assert (s.default_instrumented_range_factor, s.default_clutter_height_m, s.default_bearing_sigma_deg,
            s.false_alarm_max_elevation_deg, s.terrain_grid_km) == (3.0, 1.0, 2.0, 30.0, 2.0)
    assert (s.default_antenna_gain_dbi, s.default_noise_figure_db, s.default_losses_db) == (0.0, 3.0, 0.0)
    assert (s.default_beamwidth_deg, s.default_sidelobe_db, s.default_bandwidth_mhz) == (2.0, -30.0, 1.0)
    # coverage and the detection functions' library default agree with the engine's setting
    assert s.default_false_alarm_probability == DEFAULT_FALSE_ALARM_PROBABILITY


def test_a_scenario_without_the_section_runs_on_the_defaults(write):
    scenario = load_scenario(write(BARE_RADAR))
    assert scenario.sensing is None
    engine = Engine(scenario)
    assert engine.sensing == default_sensing_settings()
    assert engine.radars.period_s.tolist() == [10.0]
    assert engine.radars.sigma_range_m.tolist() == [100.0]


def test_the_engine_reads_the_settings(write):
    scenario = load_scenario(write(BARE_RADAR))
    changed = default_sensing_settings().model_copy(
        update={"default_sigma_range_m": 250.0, "default_scan_period_s": 4.0})
    base = run_simulation(scenario)
    other = run_simulation(scenario.with_changes(sensing=changed))
    assert set(base.detections["sigma_range_m"].to_pylist()) == {100.0}
    assert set(other.detections["sigma_range_m"].to_pylist()) == {250.0}
    # a 4 s scan sees the target about 10/4 times as often
    assert other.detections.num_rows > 2 * base.detections.num_rows


def test_a_scenario_overrides_one_setting_of_the_reference_data(write):
    text = """\
name: sensing override
as_of: 2020-12-31
include: [reference]
sensing:
  default_sigma_range_m: 150
  assumed: {default_sigma_range_m: a sensitivity case}
"""
    scenario = load_scenario(write(text))
    assert scenario.sensing is not None
    assert scenario.sensing.default_sigma_range_m == 150.0
    assert scenario.sensing.default_scan_period_s == default_sensing_settings().default_scan_period_s
    assert scenario.sensing.provenance("default_sigma_range_m") == "assumed: a sensitivity case"


def _sensing_section(values: dict[str, object], assumed: list[str]) -> str:
    """A whole ``sensing:`` section with ``values`` over the defaults and reasons for ``assumed``."""
    defaults = default_sensing_settings()
    lines = [f"  {name}: {values.get(name, getattr(defaults, name))}\n"
             for name in SensingSettings._numeric_fields]
    return ("sensing:\n" + "".join(lines) + "  assumed: {"
            + ", ".join(f"{name}: test" for name in assumed) + "}\n")


def test_a_setting_without_provenance_is_one_clear_error(write):
    names = [n for n in SensingSettings._numeric_fields if n != "jammer_sidelobe_db"]
    with pytest.raises(ScenarioErrors) as info:
        load_scenario(write(BARE_RADAR + _sensing_section({}, names)))
    assert len(info.value.errors) == 1
    message = str(info.value)
    assert "scenario.yaml:" in message and "sensing: jammer_sidelobe_db = -20.0 has no provenance" in message


def test_a_setting_out_of_range_names_the_field(write):
    text = BARE_RADAR + _sensing_section({"default_reference_pd": 1.5},
                                         list(SensingSettings._numeric_fields))
    with pytest.raises(ScenarioErrors, match=r"sensing\.default_reference_pd"):
        load_scenario(write(text))
    # the whole section written out with the defaults is the same as no section
    same = load_scenario(write(BARE_RADAR + _sensing_section({}, list(SensingSettings._numeric_fields))))
    assert same.sensing is not None
    assert same.sensing.model_dump(exclude={"assumed"}) == default_sensing_settings().model_dump(
        exclude={"assumed"})


def test_reports_list_the_sensing_assumptions(write):
    reference = load_scenario("reference-2020")
    listed = {a.field for a in collect_assumptions(reference) if a.record == "sensing"}
    assert listed == set(SensingSettings._numeric_fields)
    # a scenario without the section lists the defaults it runs on
    bare = load_scenario(write(BARE_RADAR))
    defaults = {a.field for a in collect_assumptions(bare) if a.record == "sensing (default)"}
    assert defaults == set(SensingSettings._numeric_fields)


def test_detections_do_not_depend_on_where_the_settings_come_from(write):
    """Default settings and the same settings written in the scenario give identical runs."""
    scenario = load_scenario(write(BARE_RADAR))
    implicit = run_simulation(scenario).detections
    explicit = run_simulation(scenario.with_changes(sensing=default_sensing_settings())).detections
    assert implicit.equals(explicit)
    assert np.isfinite(implicit["range_m"].to_numpy()).all() and implicit.num_rows > 0
