"""The trackers' model numbers are scenario settings (``tracking:``) with stated reasons, read by
the C2 pass's node trackers and fusion, and the defaults of ``iadsim track``."""

from __future__ import annotations

import numpy as np
import pytest

from iadsim.c2 import run_c2
from iadsim.scenario import load_scenario
from iadsim.scenario.provenance import collect_assumptions
from iadsim.scenario.schema import TrackingSettings, default_tracking_settings
from iadsim.sim.engine import Engine
from iadsim.tracking import TrackerConfig
from iadsim.tracking.fusion import FusionConfig


def test_the_tracker_and_fusion_defaults_are_the_reference_settings():
    settings = default_tracking_settings()
    assert TrackerConfig() == TrackerConfig.from_settings(settings)
    fusion = FusionConfig()
    assert (fusion.process_noise_horizontal, fusion.process_noise_vertical, fusion.gate_probability) == (
        settings.process_noise_horizontal_m2ps3, settings.process_noise_vertical_m2ps3,
        settings.fusion_gate_probability)
    assert set(settings.assumed) == set(TrackingSettings.model_fields) - {"sources", "assumed", "ranges", "overridden", "note"}


def test_every_tracking_setting_is_listed_among_the_assumptions():
    reference = collect_assumptions(load_scenario("reference-2020"))
    listed = {a.field for a in reference if a.record == "tracking"}
    assert listed == set(default_tracking_settings().assumed)


def test_a_setting_without_a_reason_is_refused():
    data = default_tracking_settings().model_dump()
    data["assumed"] = {k: v for k, v in data["assumed"].items() if k != "prior_altitude_m"}
    with pytest.raises(ValueError, match="prior_altitude_m"):
        TrackingSettings.model_validate(data)


def test_the_c2_pass_tracks_with_the_scenarios_settings():
    """Confirming a track on 3 more detections instead of 2 delays the node pictures' first
    confirmed tracks: the pass reads the scenario's tracking settings."""
    scenario = load_scenario("air-policing-violation").with_changes(duration_s=900.0)
    engine = Engine(scenario)
    result = engine.run()
    slower = scenario.with_changes(tracking=scenario.tracking.model_copy(update={"confirm_hits": 3,
                                                                                   "confirm_window": 4}))

    def first_track_s(sc):
        out = run_c2(sc, result.detections, result.truth, result.objects, engine.radars, "national")
        times = out.picture["time_s"].to_numpy()
        return float(times.min()) if len(times) else np.inf

    assert first_track_s(slower) > first_track_s(scenario)
