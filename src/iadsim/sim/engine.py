"""The engine: a fixed tick and a pipeline of stages over arrays.

Per tick: motion (air objects' positions from their trajectories), EW (which jammers radiate
and what they do to each radar), sensing (radars whose scan falls in the tick; passive sensors),
then the log. Later stages (tracking, command, engagement) plug in after sensing and meet the
others only in the World and the log. One seed gives one run: every random draw comes from
``iadsim.sim.random.stream`` (seed, replication, stage).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iadsim.constants import EARTH_RADIUS_M
from iadsim.coverage.grid import CoverageGrid
from iadsim.coverage.viewsheds import SiteViewsheds
from iadsim.geo import ecef_to_geodetic, geodetic_to_ecef, transformer
from iadsim.geo.frames import enu_rotations as _rotations
from iadsim.geo.radar_geometry import STANDARD_K, horizon_distance_m
from iadsim.scenario.schema import Scenario, SensingSettings, Side, default_sensing_settings
from iadsim.sensors.radar import JammingField, RadarSet, scan
from iadsim.sim.log import ColumnLog
from iadsim.sim.radars import radar_roster
from iadsim.sim.random import Stage, stream
from iadsim.world import World, compile_world

__all__ = ["Engine", "SensingResult", "run_simulation"]

TRUTH_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("object_id", pa.string()), ("lat_deg", pa.float64()),
    ("lon_deg", pa.float64()),
    ("alt_m", pa.float64()), ("vel_east_mps", pa.float64()), ("vel_north_mps", pa.float64()),
    ("vel_up_mps", pa.float64()),
])
DETECTION_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("sensor_id", pa.string()), ("sensor_lat_deg", pa.float64()),
    ("sensor_lon_deg", pa.float64()), ("sensor_alt_m", pa.float64()), ("range_m", pa.float64()),
    ("azimuth_deg", pa.float64()), ("elevation_deg", pa.float64()), ("snr_db", pa.float32()),
    ("jammed", pa.bool_()), ("object_id", pa.string()), ("false_alarm", pa.bool_()),
])
"""Logged per detection; the per-radar constants (type, nation, sigmas) are added at the end."""
BEARING_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("sensor_id", pa.string()), ("sensor_lat_deg", pa.float64()),
    ("sensor_lon_deg", pa.float64()), ("emitter_id", pa.string()), ("bearing_deg", pa.float64()),
    ("sigma_bearing_deg", pa.float64()),
])
EW_EFFECT_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("jammer_id", pa.string()), ("object_id", pa.string()),
    ("radar_type", pa.string()), ("jnr_db", pa.float64()), ("detection_range_km", pa.float64()),
    ("burn_through_km", pa.float64()),
])
"""The defender's own jammers against hostile aircraft radars: the radar's burn-through range."""

EVENT_SCHEMA = pa.schema([
    ("time_s", pa.float64()), ("kind", pa.string()), ("subject", pa.string()),
    ("detail", pa.string()),
])


@dataclass
class SensingResult:
    """What a run produced: columnar tables and run statistics."""

    truth: pa.Table
    detections: pa.Table
    bearings: pa.Table
    events: pa.Table
    ew_effects: pa.Table
    objects: pa.Table
    """One row per air object: object_id, type, nation, source, start_s, end_s, flight_plan, iff."""
    stats: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[int, int], None]


def _nan(value: float | int | None) -> float:
    return float("nan") if value is None else float(value)


def _given(value: float | int | None, default: float | int) -> float | int:
    """A catalog figure, or the sensing settings' default where the catalog gives none."""
    return default if value is None else value


class Engine:
    """A scenario prepared for simulation: World, trajectories, radars, jammers, events."""

    def __init__(self, scenario: Scenario, *, replication: int = 0, as_of: dt.date | None = None,
                 terrain: Any = None, k: float = STANDARD_K) -> None:
        from iadsim.sim.traffic import build_trajectories

        self.scenario = scenario
        self.replication = replication
        self.k = k
        self.world: World = compile_world(scenario, as_of)
        self.terrain = terrain
        self.traffic = build_trajectories(scenario, stream(scenario.seed, replication, Stage.traffic),
                                          terrain)
        self.defenders = {n for n, nation in scenario.nations.items() if nation.side == Side.defender}
        # the model numbers of sensing: the scenario's, else the reference data's (same values)
        self.sensing: SensingSettings = scenario.sensing or default_sensing_settings()
        self.radars = self._radar_set()
        self.viewsheds = self._ground_viewsheds()
        self._jammers()
        self._passive()
        self.unit_down_at = self._unit_events()

    # ---- set-up ----------------------------------------------------------------------------

    def _radar_set(self) -> RadarSet:
        cat = self.scenario.catalog
        tr = self.traffic
        roster = radar_roster(self.scenario, self.world, tr.object_id, tr.type_id, tr.nation, tr.radar_on)
        rows = roster.radar_type.tolist()
        types = [cat.radars[r] for r in rows]
        lat, lon = roster.lat_deg, roster.lon_deg
        ground = np.zeros(len(rows))
        if self.terrain is not None and len(rows):
            ground = np.nan_to_num(self.terrain.height_at(lat, lon))
        alt = ground + roster.height_m
        ecef = geodetic_to_ecef(np.nan_to_num(lat), np.nan_to_num(lon), alt) if rows else np.zeros((0, 3))
        period = np.asarray([_nan(t.scan_period_s) for t in types])
        st = self.sensing
        period = np.where(np.isfinite(period), period, st.default_scan_period_s)
        phase = stream(self.scenario.seed, self.replication, Stage.scan_phase).random(len(rows)) * period
        ref_pd = np.asarray([_nan(t.reference_pd) for t in types])
        pfa = np.asarray([_nan(t.false_alarm_probability) for t in types])
        pfa = np.where(np.isfinite(pfa), pfa, st.default_false_alarm_probability)
        ref_pd = np.where(np.isfinite(ref_pd), ref_pd, st.default_reference_pd)
        deg = np.radians
        return RadarSet(
            sensor_id=roster.sensor_id, nation=roster.nation, radar_type=roster.radar_type,
            platform=roster.platform, unit=roster.unit, aircraft=roster.aircraft,
            site_ecef_m=ecef, site_lat_deg=lat, site_lon_deg=lon, site_alt_m=alt,
            period_s=period, phase_s=phase,
            reference_range_m=np.asarray([_nan(t.detection_range_km) * 1000 for t in types]),
            reference_rcs_m2=np.asarray([_nan(t.reference_rcs_m2) for t in types]),
            reference_snr=np.asarray(np.log(pfa) / np.log(ref_pd) - 1.0),
            pfa=pfa,
            instrumented_range_m=np.asarray([_nan(t.instrumented_range_km) * 1000 for t in types]),
            max_altitude_m=np.asarray([_nan(t.max_altitude_km) * 1000 for t in types]),
            min_elevation_rad=deg([_nan(t.min_elevation_deg) for t in types]),
            dimensions=np.asarray([_given(t.dimensions, st.default_dimensions) for t in types],
                                  dtype=np.int64),
            sigma_range_m=np.nan_to_num([_nan(t.sigma_range_m) for t in types],
                                        nan=st.default_sigma_range_m),
            sigma_azimuth_rad=deg(np.nan_to_num([_nan(t.sigma_azimuth_deg) for t in types],
                                                nan=st.default_sigma_azimuth_deg)),
            sigma_elevation_rad=deg(np.nan_to_num([_nan(t.sigma_elevation_deg) for t in types],
                                                  nan=st.default_sigma_elevation_deg)),
            frequency_hz=np.asarray([_nan(t.frequency_mhz) * 1e6 for t in types]),
            bandwidth_hz=np.asarray([_nan(t.bandwidth_mhz) * 1e6 for t in types]),
            gain_dbi=np.asarray([_nan(t.antenna_gain_dbi) for t in types]),
            sidelobe_db=np.asarray([_nan(t.sidelobe_level_db) for t in types]),
            beamwidth_rad=deg([_nan(t.beamwidth_azimuth_deg) for t in types]),
            noise_figure_db=np.asarray([_nan(t.noise_figure_db) for t in types]),
            losses_db=np.asarray([_nan(t.losses_db) for t in types]),
            clutter_loss_db=np.asarray([_nan(t.clutter_loss_db) for t in types]),
            clutter_height_m=np.asarray([_nan(t.clutter_height_m) for t in types]),
        )

    def _ground_viewsheds(self) -> tuple[CoverageGrid, list[Any]] | None:
        """Per ground radar: (window, minimum visible height) on a grid of
        ``sensing.terrain_grid_km`` over the terrain."""
        if self.terrain is None:
            return None
        r = self.radars
        ground_rows = np.flatnonzero(r.platform < 0)
        if not len(ground_rows):
            return None
        lon0, lat0, lon1, lat1 = self.terrain.bounds_lonlat
        grid = CoverageGrid.over(lon0, lon1, lat0, lat1, resolution_km=self.sensing.terrain_grid_km)
        heights = self.terrain.resample(grid.crs, grid.transform, grid.shape)
        sheds = SiteViewsheds(np.nan_to_num(heights).astype(np.float32), grid, self.k)
        reach = np.where(np.isfinite(r.instrumented_range_m), r.instrumented_range_m,
                         self.sensing.default_instrumented_range_factor * r.reference_range_m)
        per_radar: list[Any] = [None] * len(r)
        rows, cols = grid.shape
        for i in ground_rows:
            row, col = grid.index_of(float(r.site_lon_deg[i]), float(r.site_lat_deg[i]))
            if 0 <= row < rows and 0 <= col < cols:
                height = float(r.site_alt_m[i] - sheds.ground[row, col])
                per_radar[i] = sheds.min_visible(row, col, max(height, 0.0), float(reach[i]))
        self._grid_to_xy = transformer("EPSG:4326", grid.crs)
        return grid, per_radar

    def _jammers(self) -> None:
        cat = self.scenario.catalog
        ids = list(self.scenario.emitters)
        self.jammer_id = np.asarray(ids, dtype=np.str_)
        objects = {str(o): i for i, o in enumerate(self.traffic.object_id)}
        carrier: list[int] = []
        fixed: list[np.ndarray] = []
        power, gain, bandwidth, start, end, azimuth, beam = ([] for _ in range(7))
        hostile: list[bool] = []
        bands: list[set[str]] = []
        for eid in ids:
            em = self.scenario.emitters[eid]
            jt = cat.jammers[em.jammer]
            carrier.append(objects.get(em.flight, -1) if em.flight else -1)
            if em.location is not None:
                place = self.scenario.places.get(em.location.place) if em.location.place else None
                lat = place.lat_deg if place else float(em.location.lat_deg or 0.0)
                lon = place.lon_deg if place else float(em.location.lon_deg or 0.0)
                fixed.append(geodetic_to_ecef(lat, lon, em.location.alt_m or 0.0)[0])
            else:
                fixed.append(np.full(3, np.nan))
            power.append(_nan(jt.power_w))
            gain.append(_nan(jt.antenna_gain_dbi))
            bandwidth.append(_nan(jt.bandwidth_mhz) * 1e6)
            start.append(em.start_s)
            end.append(em.end_s if em.end_s is not None else math.inf)
            hostile.append(em.nation not in self.defenders)
            bands.append(set(jt.bands))
            azimuth.append(math.radians(em.azimuth_deg) if em.azimuth_deg is not None else math.nan)
            beam.append(math.radians(jt.beamwidth_deg) if jt.beamwidth_deg else 2 * math.pi)
        self.jammer_carrier = np.asarray(carrier, dtype=np.int64)
        self.jammer_fixed = np.asarray(fixed, dtype=np.float64).reshape(-1, 3)
        self.jammer_power = np.asarray(power)
        self.jammer_gain = np.nan_to_num(np.asarray(gain))
        self.jammer_bandwidth = np.asarray(bandwidth)
        self.jammer_start = np.asarray(start, dtype=np.float64)
        self.jammer_end = np.asarray(end, dtype=np.float64)
        self.jammer_hostile = np.asarray(hostile, dtype=bool)
        self.jammer_azimuth = np.asarray(azimuth, dtype=np.float64)
        self.jammer_beam = np.asarray(beam, dtype=np.float64)
        self.jammer_bands = bands
        # which jammer covers which radar's band: (S, J)
        from iadsim.sensors.jamming import band_of

        radar_band = [band_of(f / 1e6) if np.isfinite(f) else "" for f in self.radars.frequency_hz]
        self.band_match = np.array([[b != "" and b in jb for jb in bands] for b in radar_band],
                                   dtype=bool).reshape(len(self.radars), len(ids))

    def _passive(self) -> None:
        cat = self.scenario.catalog
        w = self.world
        rows = []
        for uid, unit in self.scenario.units.items():
            if not unit.in_service.contains(w.as_of) or unit.place is None:
                continue
            if unit.nation not in self.defenders:
                continue
            for item in unit.equipment:
                if item.type in cat.passive_sensors and item.in_service.contains(w.as_of):
                    place = self.scenario.places[unit.place]
                    for n in range(item.count):
                        rows.append((f"{uid}/{item.type}/{n + 1}", place.lat_deg, place.lon_deg,
                                     cat.passive_sensors[item.type]))
        self.esm_id = np.asarray([r[0] for r in rows], dtype=np.str_)
        self.esm_lat = np.asarray([r[1] for r in rows], dtype=np.float64)
        self.esm_lon = np.asarray([r[2] for r in rows], dtype=np.float64)
        height = np.asarray([_nan(r[3].antenna_height_m) for r in rows], dtype=np.float64)
        self.esm_ecef = (geodetic_to_ecef(self.esm_lat, self.esm_lon, np.nan_to_num(height))
                         if rows else np.zeros((0, 3)))
        self.esm_range = np.asarray([_nan(r[3].max_range_km) * 1000 for r in rows])
        self.esm_height = np.nan_to_num(height)
        esm_bands = [set(r[3].bands) for r in rows]
        self.esm_band_match = np.array([[bool(eb & jb) for jb in self.jammer_bands]
                                        for eb in esm_bands], dtype=bool
                                       ).reshape(len(rows), len(self.jammer_bands))
        # hostile aircraft whose radar radiates are emitters too
        from iadsim.sensors.jamming import band_of

        tr = self.traffic
        hostile_radars = []
        for j in range(len(tr)):
            type_id = str(tr.type_id[j])
            radar = cat.aircraft[type_id].radar if type_id in cat.aircraft else None
            if radar and bool(tr.radar_on[j]) and str(tr.nation[j]) not in self.defenders:
                freq = cat.radars[radar].frequency_mhz
                hostile_radars.append((j, f"{tr.object_id[j]}/{radar}",
                                       str(band_of(freq)) if freq else ""))
        self.hostile_radar_object = np.asarray([h[0] for h in hostile_radars], dtype=np.int64)
        self.hostile_radar_type = np.asarray(
            [cat.aircraft[str(tr.type_id[h[0]])].radar for h in hostile_radars], dtype=np.str_)
        types = [cat.radars[str(r)] for r in self.hostile_radar_type]
        st = self.sensing
        pfa = np.asarray([_given(t.false_alarm_probability, st.default_false_alarm_probability)
                          for t in types])
        p0 = np.asarray([_given(t.reference_pd, st.default_reference_pd) for t in types])
        self.hostile_radar_params = {
            "gain_dbi": np.asarray([_given(t.antenna_gain_dbi, st.default_antenna_gain_dbi)
                                    for t in types], dtype=np.float64),
            "sidelobe_db": np.asarray([_given(t.sidelobe_level_db, st.default_sidelobe_db)
                                       for t in types], dtype=np.float64),
            "frequency_hz": np.asarray([_nan(t.frequency_mhz) * 1e6 for t in types]),
            "bandwidth_hz": np.asarray([_given(t.bandwidth_mhz, st.default_bandwidth_mhz) * 1e6
                                        for t in types]),
            "noise_figure_db": np.asarray([_given(t.noise_figure_db, st.default_noise_figure_db)
                                           for t in types], dtype=np.float64),
            "losses_db": np.asarray([_given(t.losses_db, st.default_losses_db) for t in types],
                                    dtype=np.float64),
            # a radar without a detection range has no reference target either (the schema pairs
            # them); its burn-through is not computed
            "range_m": np.asarray([_nan(t.detection_range_km) * 1000.0 for t in types]),
            "rcs_m2": np.asarray([_nan(t.reference_rcs_m2) for t in types], dtype=np.float64),
            "snr0": np.log(pfa) / np.log(p0) - 1.0,
        }
        self.hostile_band_match = np.array([[h[2] in jb for jb in self.jammer_bands]
                                            for h in hostile_radars], dtype=bool
                                           ).reshape(len(hostile_radars), len(self.jammer_bands))
        self.hostile_radar_id = np.asarray([h[1] for h in hostile_radars], dtype=np.str_)
        self.esm_radar_band_match = np.array([[h[2] in eb for h in hostile_radars]
                                              for eb in esm_bands], dtype=bool
                                             ).reshape(len(rows), len(hostile_radars))
        self.esm_sigma = np.radians(np.nan_to_num([_nan(r[3].bearing_sigma_deg) for r in rows],
                                                  nan=st.default_bearing_sigma_deg))
        period = np.asarray([_nan(r[3].scan_period_s) for r in rows])
        self.esm_period = np.where(np.isfinite(period), period, st.default_scan_period_s)

    def _unit_events(self) -> list[tuple[float, str, str]]:
        out = []
        for _eid, ev in sorted(self.scenario.events.items(), key=lambda kv: kv[1].at_s):
            out.append((ev.at_s, str(ev.kind), ev.target))
        return out

    # ---- the run ---------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> SensingResult:
        """Run from 0 to the scenario's duration at its tick; returns the logged tables."""
        sc = self.scenario
        tick = sc.tick_s
        n_ticks = math.floor(sc.duration_s / tick + 1e-9)
        objects = self.traffic.object_id.tolist()
        truth = ColumnLog(TRUTH_SCHEMA, codes={"object_id": objects})
        dets = ColumnLog(DETECTION_SCHEMA, codes={"sensor_id": self.radars.sensor_id.tolist(),
                                                  "object_id": objects})
        bears, events = ColumnLog(BEARING_SCHEMA), ColumnLog(EVENT_SCHEMA)
        effects = ColumnLog(EW_EFFECT_SCHEMA)
        next_effect = 0.0
        rng_detect = stream(sc.seed, self.replication, Stage.sensing)
        rng_false = stream(sc.seed, self.replication, Stage.false_alarms)
        rng_passive = stream(sc.seed, self.replication, Stage.passive)
        radars = self.radars
        last_scan = np.floor((-1e-9 - radars.phase_s) / radars.period_s)
        last_esm = np.full(len(self.esm_id), -1.0)
        radar_up = np.ones(len(radars), dtype=bool)
        was_active = np.zeros(len(self.traffic), dtype=bool)
        jammer_on_prev = np.zeros(len(self.jammer_id), dtype=bool)
        next_truth = 0.0
        pending = list(self.unit_down_at)
        stats = {"ticks": n_ticks, "scans": 0}
        for step in range(n_ticks):
            t = step * tick
            while pending and pending[0][0] <= t + 1e-9:
                _, kind, target = pending.pop(0)
                if kind in ("unit_down", "unit_up"):
                    radar_up[self.radars.unit == target] = kind == "unit_up"
                events.append({"time_s": t, "kind": kind, "subject": target, "detail": "scenario event"})
            active, pos, vel = self.traffic.state_at(t)
            appeared = active & ~was_active
            gone = was_active & ~active
            if appeared.any() or gone.any():
                ids = self.traffic.object_id
                events.append({"time_s": t, "kind": np.where(appeared[appeared | gone], "appears",
                                                             "disappears"),
                               "subject": ids[appeared | gone], "detail": ""})
            was_active = active
            act = np.flatnonzero(active)
            lat = lon = alt = np.zeros(0)
            if act.size:
                lat, lon, alt = ecef_to_geodetic(pos[act])
            if t + 1e-9 >= next_truth:
                self._log_truth(truth, t, act, lat, lon, alt, vel)
                next_truth += sc.truth_interval_s
            # radars due: the scan index advanced since the last tick
            index = np.floor((t - radars.phase_s) / radars.period_s)
            due_mask = (index > last_scan) & radar_up
            last_scan = np.maximum(last_scan, index)
            platform_ok = np.where(radars.platform >= 0,
                                   active[np.maximum(radars.platform, 0)] if len(active) else False, True)
            due = np.flatnonzero(due_mask & platform_ok)
            jam_on = self._jammers_on(t, active)
            if (jam_on != jammer_on_prev).any():
                changed = np.flatnonzero(jam_on != jammer_on_prev)
                events.append({"time_s": t, "kind": np.where(jam_on[changed], "jammer_on", "jammer_off"),
                               "subject": self.jammer_id[changed], "detail": ""})
                jammer_on_prev = jam_on
            if due.size:
                self._scan(dets, t, due, act, pos, lat, lon, alt, jam_on, rng_detect, rng_false,
                           stats)
            radar_on = active[self.hostile_radar_object] if len(active) else np.zeros(0, bool)
            if t + 1e-9 >= next_effect:
                next_effect += self.sensing.ew_effect_period_s
                own_on = self._own_jammers_on(t, active)
                if own_on.any() and radar_on.any():
                    self._ew_effects(effects, t, own_on, radar_on, pos, vel)
            if len(self.esm_id) and (jam_on.any() or radar_on.any()):
                esm_due = np.flatnonzero(np.floor(t / self.esm_period) > last_esm)
                last_esm[esm_due] = np.floor(t / self.esm_period[esm_due])
                if esm_due.size:
                    self._bearings(bears, t, esm_due, pos, jam_on, radar_on, rng_passive)
            if progress:
                progress(step + 1, n_ticks)
        stats["detections"] = dets.rows
        stats["objects"] = len(self.traffic)
        stats["radars"] = len(self.radars)
        return SensingResult(self._truth_table(truth), self._detection_table(dets), bears.to_table(),
                         events.to_table(), effects.to_table(), self.objects_table(), stats)

    def _own_jammers_on(self, t: float, active: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """The defending nations' jammers radiating now."""
        if not len(self.jammer_id):
            return np.zeros(0, dtype=bool)
        on = (self.jammer_start <= t) & (t < self.jammer_end) & ~self.jammer_hostile
        carried = self.jammer_carrier >= 0
        on[carried] &= active[self.jammer_carrier[carried]]
        return np.asarray(on)

    def _ew_effects(self, log: ColumnLog, t: float, own_on: NDArray[np.bool_],
                    radar_on: NDArray[np.bool_], pos: NDArray[np.float64],
                    vel: NDArray[np.float64]) -> None:
        """Burn-through range of each radiating hostile aircraft radar under the defender's
        jammers: the range within which it still sees its reference target (docs/models/ew.md)."""
        from iadsim.sensors.jamming import (
            burn_through_range_m,
            jammer_to_noise_ratio,
        )

        jam = np.flatnonzero(own_on)
        hostile = np.flatnonzero(radar_on)
        obj = self.hostile_radar_object[hostile]
        jpos = self._jammer_positions(pos)[jam]
        rel = jpos[None, :, :] - pos[obj][:, None, :]  # (H, J) from the aircraft to the jammer
        dist = np.linalg.norm(rel, axis=2)
        heading = vel[obj] / np.maximum(np.linalg.norm(vel[obj], axis=1, keepdims=True), 1e-9)
        off_axis = np.arccos(np.clip(np.einsum("hi,hji->hj", heading, rel) / np.maximum(dist, 1.0),
                                     -1.0, 1.0))
        _, _, h_alt = ecef_to_geodetic(pos[obj])
        _, _, j_alt = ecef_to_geodetic(jpos)
        unit_h = pos[obj] / np.linalg.norm(pos[obj], axis=1, keepdims=True)
        unit_j = jpos / np.linalg.norm(jpos, axis=1, keepdims=True)
        ground = 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(
            np.linalg.norm(unit_h[:, None] - unit_j[None], axis=2) / 2.0, 0.0, 1.0))
        visible = ground <= horizon_distance_m(h_alt[:, None], j_alt[None], self.k)
        p = self.hostile_radar_params
        sector = math.radians(self.sensing.fighter_radar_sector_half_width_deg)
        gain = p["gain_dbi"][hostile][:, None] + np.where(off_axis <= sector, 0.0,
                                                          p["sidelobe_db"][hostile][:, None])
        jnr = jammer_to_noise_ratio(self.jammer_power[jam][None], self.jammer_gain[jam][None],
                                    self.jammer_bandwidth[jam][None], p["frequency_hz"][hostile][:, None],
                                    p["bandwidth_hz"][hostile][:, None], gain,
                                    p["noise_figure_db"][hostile][:, None],
                                    p["losses_db"][hostile][:, None], dist)
        jnr = np.where(self.hostile_band_match[np.ix_(hostile, jam)] & visible, np.nan_to_num(jnr), 0.0)
        total = jnr.sum(axis=1)
        hit = np.flatnonzero((total > 0.0) & np.isfinite(p["range_m"][hostile]))
        if not hit.size:
            return
        h = hostile[hit]
        burn = burn_through_range_m(p["snr0"][h], p["snr0"][h], p["range_m"][h], p["rcs_m2"][h],
                                    p["rcs_m2"][h], total[hit])
        log.append({"time_s": t, "jammer_id": self.jammer_id[jam][np.argmax(jnr[hit], axis=1)],
                    "object_id": self.traffic.object_id[self.hostile_radar_object[h]],
                    "radar_type": self.hostile_radar_type[h], "jnr_db": 10.0 * np.log10(total[hit]),
                    "detection_range_km": p["range_m"][h] / 1000.0,
                    "burn_through_km": np.asarray(burn) / 1000.0})

    def objects_table(self) -> pa.Table:
        """The air objects of the run with where they come from and when they fly."""
        tr = self.traffic
        return pa.table({
            "object_id": pa.array(tr.object_id.astype(object), pa.string()),
            "type": pa.array(tr.type_id.astype(object), pa.string()),
            "nation": pa.array(tr.nation.astype(object), pa.string()),
            "source": pa.array(tr.source.astype(object), pa.string()),
            "start_s": pa.array(tr.start_s), "end_s": pa.array(tr.end_s),
            "flight_plan": pa.array(tr.flight_plan), "iff": pa.array(tr.iff),
        })

    def _truth_table(self, log: ColumnLog) -> pa.Table:
        """The logged truth with each object's type and nation added after its id."""
        codes = log.column("object_id").astype(np.int64)
        table = log.to_table()
        tr = self.traffic
        table = table.add_column(2, "type", pa.array(tr.type_id[codes].astype(object), pa.string()))
        return table.add_column(3, "nation", pa.array(tr.nation[codes].astype(object), pa.string()))

    def _detection_table(self, log: ColumnLog) -> pa.Table:
        """The logged detections with each radar's constants (type, nation, fixed, sigmas) added.

        ``sensor_fixed`` is true for ground radars (one site all run) and false for airborne ones
        (``platform ≥ 0``), so the tracker's input check can tell a fixed radar that moves.
        """
        r = self.radars
        codes = log.column("sensor_id").astype(np.int64)
        table = log.to_table()
        sig_el = np.where(r.dimensions == 3, np.degrees(r.sigma_elevation_rad), np.nan)[codes]
        extra = [("radar_type", pa.array(r.radar_type[codes].astype(object), pa.string())),
                 ("sensor_nation", pa.array(r.nation[codes].astype(object), pa.string())),
                 ("sensor_fixed", pa.array(r.platform[codes] < 0, pa.bool_())),
                 ("sigma_range_m", pa.array(r.sigma_range_m[codes])),
                 ("sigma_azimuth_deg", pa.array(np.degrees(r.sigma_azimuth_rad)[codes])),
                 ("sigma_elevation_deg", pa.array(sig_el, from_pandas=True))]
        for i, (name, column) in enumerate(extra[:3]):
            table = table.add_column(2 + i, name, column)
        at = table.schema.get_field_index("elevation_deg") + 1
        for i, (name, column) in enumerate(extra[3:]):
            table = table.add_column(at + i, name, column)
        return table

    def _jammer_positions(self, pos: NDArray[np.float64]) -> NDArray[np.float64]:
        carried = self.jammer_carrier >= 0
        out = self.jammer_fixed.copy()
        if carried.any():
            out[carried] = pos[self.jammer_carrier[carried]]
        return out

    def _jammers_on(self, t: float, active: NDArray[np.bool_]) -> NDArray[np.bool_]:
        if not len(self.jammer_id):
            return np.zeros(0, dtype=bool)
        on = (self.jammer_start <= t) & (t < self.jammer_end) & self.jammer_hostile
        carried = self.jammer_carrier >= 0
        on[carried] &= active[self.jammer_carrier[carried]]
        return np.asarray(on)

    def _log_truth(self, log: ColumnLog, t: float, act: NDArray[np.int64], lat: NDArray[np.float64],
                   lon: NDArray[np.float64], alt: NDArray[np.float64], vel: NDArray[np.float64]) -> None:
        if not act.size:
            return
        enu = np.einsum("pij,pj->pi", _rotations(lat, lon), vel[act])
        log.append({"time_s": t, "object_id": act, "lat_deg": lat, "lon_deg": lon, "alt_m": alt,
                    "vel_east_mps": enu[:, 0], "vel_north_mps": enu[:, 1], "vel_up_mps": enu[:, 2]})

    def _scan(self, log: ColumnLog, t: float, due: NDArray[np.int64], act: NDArray[np.int64],
              pos: NDArray[np.float64], lat: NDArray[np.float64], lon: NDArray[np.float64],
              alt: NDArray[np.float64], jam_on: NDArray[np.bool_], rng_detect: np.random.Generator,
              rng_false: np.random.Generator, stats: dict[str, Any]) -> None:
        r = self.radars
        sensor_ecef = r.site_ecef_m[due].copy()
        s_lat, s_lon, s_alt = r.site_lat_deg[due].copy(), r.site_lon_deg[due].copy(), r.site_alt_m[due].copy()
        airborne = r.platform[due] >= 0
        if airborne.any():
            carried = pos[r.platform[due][airborne]]
            sensor_ecef[airborne] = carried
            a_lat, a_lon, a_alt = ecef_to_geodetic(carried)
            s_lat[airborne], s_lon[airborne], s_alt[airborne] = a_lat, a_lon, a_alt
        target_ecef = pos[act]
        ground = np.zeros(act.size)
        if self.terrain is not None and act.size:
            ground = np.nan_to_num(self.terrain.height_at(lat, lon))
        unit = target_ecef / np.maximum(np.linalg.norm(target_ecef, axis=1, keepdims=True), 1.0)
        visible = self._terrain_visible(due, lat, lon, alt - ground) if act.size else None
        field_ = self._jamming_field(due, sensor_ecef, s_lat, s_lon, pos, jam_on)
        block = scan(r, due, sensor_ecef, s_lat, s_lon, s_alt, target_ecef, alt, alt - ground,
                     unit, self.traffic.rcs_m2[act], visible, field_, rng_detect, rng_false, self.k,
                     settings=self.sensing)
        stats["scans"] += int(due.size)
        if not len(block.sensor):
            return
        pos_in_due = np.searchsorted(due, block.sensor)
        real = block.target >= 0
        object_code = np.full(len(block.target), -1, dtype=np.int64)
        object_code[real] = act[block.target[real]]
        log.append({
            "time_s": t, "sensor_id": block.sensor, "sensor_lat_deg": s_lat[pos_in_due],
            "sensor_lon_deg": s_lon[pos_in_due], "sensor_alt_m": s_alt[pos_in_due],
            "range_m": block.range_m, "azimuth_deg": np.degrees(block.azimuth_rad),
            "elevation_deg": np.degrees(block.elevation_rad),
            "snr_db": block.snr_db.astype(np.float32), "jammed": block.jammed,
            "object_id": object_code, "false_alarm": ~real,
        })

    def _terrain_visible(self, due: NDArray[np.int64], lat: NDArray[np.float64],
                         lon: NDArray[np.float64], agl: NDArray[np.float64]) -> NDArray[np.bool_] | None:
        if self.viewsheds is None:
            return None
        grid, per_radar = self.viewsheds
        x, y = self._grid_to_xy.transform(lon, lat)
        col_f, row_f = ~grid.transform @ (np.asarray(x), np.asarray(y))
        rows, cols = np.floor(row_f).astype(np.int64), np.floor(col_f).astype(np.int64)
        out = np.ones((len(due), len(lat)), dtype=bool)
        for d, i in enumerate(due):
            entry = per_radar[i]
            if entry is None:
                continue  # airborne, or a site off the terrain grid: smooth earth only
            window, minvis = entry
            rr, cc = rows - window[0].start, cols - window[1].start
            inside = (rr >= 0) & (rr < minvis.shape[0]) & (cc >= 0) & (cc < minvis.shape[1])
            need = np.full(len(lat), np.inf)
            need[inside] = minvis[rr[inside], cc[inside]]
            out[d] = agl >= np.nan_to_num(need, nan=np.inf)
        return out

    def _jamming_field(self, due: NDArray[np.int64], sensor_ecef: NDArray[np.float64],
                       s_lat: NDArray[np.float64], s_lon: NDArray[np.float64],
                       pos: NDArray[np.float64], jam_on: NDArray[np.bool_]) -> JammingField | None:
        if not jam_on.any():
            return None
        from iadsim.sensors.jamming import jammer_to_noise_ratio, radar_gain_toward

        r = self.radars
        st = self.sensing
        on = np.flatnonzero(jam_on)
        jpos = self._jammer_positions(pos)[on]
        rel = jpos[None, :, :] - sensor_ecef[:, None, :]
        dist = np.linalg.norm(rel, axis=2)
        enu = np.einsum("dij,dmj->dmi", _rotations(s_lat, s_lon), rel)
        az = np.mod(np.arctan2(enu[..., 0], enu[..., 1]), 2 * np.pi)
        el = np.arcsin(np.clip(enu[..., 2] / np.maximum(dist, 1.0), -1, 1))
        # the jammer's antenna: steered at each radar unless the scenario fixes its azimuth
        # (then main lobe within ±beamwidth/2 of it, side lobes sensing.jammer_sidelobe_db below)
        toward_radar = np.mod(np.arctan2(-enu[..., 0], -enu[..., 1]), 2 * np.pi)
        fixed = np.isfinite(self.jammer_azimuth[on])
        jammer_gain = np.broadcast_to(self.jammer_gain[on][None, :], dist.shape).copy()
        if fixed.any():
            off = np.abs(np.angle(np.exp(1j * (toward_radar[:, fixed]
                                               - self.jammer_azimuth[on][fixed][None, :]))))
            jammer_gain[:, fixed] = radar_gain_toward(
                off, self.jammer_gain[on][fixed][None, :],
                self.jammer_beam[on][fixed][None, :], st.jammer_sidelobe_db)
        jnr = jammer_to_noise_ratio(
            self.jammer_power[on][None, :], jammer_gain,
            self.jammer_bandwidth[on][None, :], r.frequency_hz[due][:, None],
            r.bandwidth_hz[due][:, None], r.gain_dbi[due][:, None],
            r.noise_figure_db[due][:, None], r.losses_db[due][:, None], dist)
        jnr = np.where(self.band_match[np.ix_(due, on)] & np.isfinite(jnr), jnr, 0.0)
        # a jammer below the radar's horizon does not reach it
        jnr = np.where(el > np.radians(st.jammer_horizon_elevation_deg), jnr, 0.0)
        beam = np.where(np.isfinite(r.beamwidth_rad[due]), r.beamwidth_rad[due],
                        np.radians(st.default_beamwidth_deg))
        side = np.where(np.isfinite(r.sidelobe_db[due]), r.sidelobe_db[due], st.default_sidelobe_db)
        return JammingField(jnr, az, el, beam, side, due, len(r))

    def _bearings(self, log: ColumnLog, t: float, esm: NDArray[np.int64], pos: NDArray[np.float64],
                  jam_on: NDArray[np.bool_], radar_on: NDArray[np.bool_],
                  rng: np.random.Generator) -> None:
        """Bearings on the emitters radiating now: jammers and hostile aircraft radars."""
        from iadsim.sensors.passive import passive_bearings

        on = np.flatnonzero(jam_on)
        radiating = np.flatnonzero(radar_on)
        jpos = np.concatenate([self._jammer_positions(pos)[on],
                               pos[self.hostile_radar_object[radiating]]])
        emitter_id = np.concatenate([self.jammer_id[on], self.hostile_radar_id[radiating]])
        # heard if a band overlaps and the emitter is above the station's smooth-earth horizon
        band = np.concatenate([self.esm_band_match[np.ix_(esm, on)],
                               self.esm_radar_band_match[np.ix_(esm, radiating)]], axis=1)
        _, _, j_alt = ecef_to_geodetic(jpos)
        unit = jpos / np.linalg.norm(jpos, axis=1, keepdims=True)
        site = self.esm_ecef[esm] / np.linalg.norm(self.esm_ecef[esm], axis=1, keepdims=True)
        ground = 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(
            np.linalg.norm(unit[None] - site[:, None], axis=2) / 2.0, 0.0, 1.0))
        los = band & (ground <= horizon_distance_m(self.esm_height[esm][:, None], j_alt[None], self.k))
        out = passive_bearings(self.esm_ecef[esm], self.esm_lat[esm], self.esm_lon[esm],
                               np.nan_to_num(self.esm_range[esm], nan=np.inf), self.esm_sigma[esm],
                               jpos, np.ones(len(jpos), dtype=bool), los, rng)
        s = np.asarray(out["sensor"], dtype=np.int64)
        if not len(s):
            return
        log.append({"time_s": t, "sensor_id": self.esm_id[esm][s],
                    "sensor_lat_deg": self.esm_lat[esm][s], "sensor_lon_deg": self.esm_lon[esm][s],
                    "emitter_id": emitter_id[np.asarray(out["emitter"], dtype=np.int64)],
                    "bearing_deg": np.degrees(out["bearing"]),
                    "sigma_bearing_deg": np.degrees(self.esm_sigma[esm][s])})


def run_simulation(scenario: Scenario, *, replication: int = 0, as_of: dt.date | None = None,
                   terrain: Any = None, progress: Progress | None = None) -> SensingResult:
    """Prepare and run a scenario; see Engine."""
    return Engine(scenario, replication=replication, as_of=as_of, terrain=terrain).run(progress)
