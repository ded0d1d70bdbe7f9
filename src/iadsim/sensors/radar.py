"""Radar scans in the engine: which air objects each radar detects at a scan, with noisy measurements.

For every radar whose scan falls in the tick and every air object: geometry in the radar's local
east-north-up frame; line of sight (smooth effective earth, or the radar's terrain viewshed);
instrumented range, altitude ceiling, minimum elevation; signal-to-noise ratio from the radar's
published detection range (docs/models/detection.md), reduced by low-altitude clutter and by
noise jamming (docs/models/ew.md); a Swerling 1 draw against Pd; Gaussian noise on range, azimuth
and (3D radars) elevation; Poisson false alarms over the radar's resolution cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iadsim.constants import EARTH_RADIUS_M, SPEED_OF_LIGHT_MPS
from iadsim.geo.frames import enu_rotations
from iadsim.geo.radar_geometry import STANDARD_K, horizon_distance_m
from iadsim.scenario.schema import SensingSettings
from iadsim.sensors.detection import clutter_snr_factor, reference_snr

__all__ = ["AIR_SURVEILLANCE_ROLES", "DetectionBlock", "RadarSet", "scan"]

AIR_SURVEILLANCE_ROLES = ("surveillance", "low_altitude", "acquisition", "airborne")
"""Radar roles that scan for aircraft in the engine. Fire-control radars track what they are
cued on (engagement), and ballistic early-warning radars do not see aircraft."""

_MAX_FALSE_ALARMS_PER_SCAN = 1000


@dataclass(frozen=True)
class RadarSet:
    """All scanning radars of a run, ground and airborne, as arrays of S.

    Ground radars have ``platform = -1`` and a fixed site; airborne radars name the air object
    (``platform``) that carries them and take its position at each scan. ``unit`` is a ground
    radar's unit ("" airborne), ``aircraft`` an airborne radar's aircraft type ("" ground): what the
    C2 pass needs to know whom a radar reports to. Which radars scan: ``iadsim.sim.radars``.
    """

    sensor_id: NDArray[np.str_]
    nation: NDArray[np.str_]
    radar_type: NDArray[np.str_]
    platform: NDArray[np.int64]
    unit: NDArray[np.str_]
    aircraft: NDArray[np.str_]
    site_ecef_m: NDArray[np.float64]
    site_lat_deg: NDArray[np.float64]
    site_lon_deg: NDArray[np.float64]
    site_alt_m: NDArray[np.float64]
    period_s: NDArray[np.float64]
    phase_s: NDArray[np.float64]
    reference_range_m: NDArray[np.float64]
    reference_rcs_m2: NDArray[np.float64]
    reference_snr: NDArray[np.float64]
    pfa: NDArray[np.float64]
    instrumented_range_m: NDArray[np.float64]
    max_altitude_m: NDArray[np.float64]
    min_elevation_rad: NDArray[np.float64]
    dimensions: NDArray[np.int64]
    sigma_range_m: NDArray[np.float64]
    sigma_azimuth_rad: NDArray[np.float64]
    sigma_elevation_rad: NDArray[np.float64]
    frequency_hz: NDArray[np.float64]
    bandwidth_hz: NDArray[np.float64]
    gain_dbi: NDArray[np.float64]
    sidelobe_db: NDArray[np.float64]
    beamwidth_rad: NDArray[np.float64]
    noise_figure_db: NDArray[np.float64]
    losses_db: NDArray[np.float64]
    clutter_loss_db: NDArray[np.float64]
    clutter_height_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.sensor_id)

    def cells_per_scan(self, settings: SensingSettings) -> NDArray[np.float64]:
        """Resolution cells per scan (range cells × beam positions), for false alarms; NaN for a
        radar without an instrumented range (it draws none).

        Args:
            settings: the bandwidth and beamwidth of a radar type that gives none.
        """
        range_cell = SPEED_OF_LIGHT_MPS / (2.0 * np.where(np.isfinite(self.bandwidth_hz),
                                                          self.bandwidth_hz,
                                                          settings.default_bandwidth_mhz * 1e6))
        beams = 2 * np.pi / np.where(np.isfinite(self.beamwidth_rad), self.beamwidth_rad,
                                     np.radians(settings.default_beamwidth_deg))
        return np.asarray(self.instrumented_range_m / range_cell * beams)


@dataclass
class DetectionBlock:
    """Detections of one tick: arrays of one length."""

    sensor: NDArray[np.int64]
    target: NDArray[np.int64]  # -1 for a false alarm
    range_m: NDArray[np.float64]
    azimuth_rad: NDArray[np.float64]
    elevation_rad: NDArray[np.float64]  # NaN for 2D radars
    snr_db: NDArray[np.float64]
    jammed: NDArray[np.bool_]


def scan(radars: RadarSet, due: NDArray[np.int64], sensor_ecef: NDArray[np.float64],
         sensor_lat: NDArray[np.float64], sensor_lon: NDArray[np.float64],
         sensor_alt: NDArray[np.float64], target_ecef: NDArray[np.float64],
         target_alt: NDArray[np.float64], target_agl: NDArray[np.float64],
         target_unit: NDArray[np.float64], target_rcs: NDArray[np.float64],
         terrain_visible: NDArray[np.bool_] | None, jnr: JammingField | None,
         rng_detect: np.random.Generator, rng_false: np.random.Generator,
         k: float = STANDARD_K, *, settings: SensingSettings) -> DetectionBlock:
    """Detections by the radars ``due`` (D) of the air objects given (M).

    Args:
        radars: all radars of the run.
        due: indices of the radars scanning now, (D,).
        sensor_ecef, sensor_lat, sensor_lon, sensor_alt: their positions now, (D, 3) and (D,);
            altitudes above sea level.
        target_ecef: (M, 3) air object positions; target_alt, target_agl: heights above sea and
            above ground (M,); target_unit: unit vectors from the earth's centre (M, 3);
            target_rcs: (M,) m².
        terrain_visible: (D, M) terrain line of sight, or None for a smooth earth.
        jnr: the jamming field, or None when no jammer radiates.
        rng_detect: draws one uniform number per (radar, object) pair in range, in a fixed order.
        rng_false: draws the false alarms.
        k: effective-earth-radius factor.
        settings: the sensing model's numbers (instrumented range and clutter height of a radar
            type that gives none; false alarms).
    """
    d_count, m_count = len(due), len(target_ecef)
    empty = DetectionBlock(*(np.zeros(0, dtype=t) for t in
                             (np.int64, np.int64, float, float, float, float, bool)))
    blocks = [empty]
    if d_count and m_count:
        rel = target_ecef[None, :, :] - sensor_ecef[:, None, :]
        rng = np.sqrt(np.einsum("dmi,dmi->dm", rel, rel))
        reach = radars.instrumented_range_m[due]
        reach = np.where(np.isfinite(reach), reach,
                         radars.reference_range_m[due] * settings.default_instrumented_range_factor)
        di, mi = np.nonzero(rng <= reach[:, None])
        r = rng[di, mi]
        s = due[di]
        enu = np.einsum("pij,pj->pi", enu_rotations(sensor_lat, sensor_lon)[di], rel[di, mi])
        az = np.mod(np.arctan2(enu[:, 0], enu[:, 1]), 2 * np.pi)
        el = np.arcsin(np.clip(enu[:, 2] / np.maximum(r, 1.0), -1.0, 1.0))
        # smooth-earth horizon over the effective sphere: ground distance from the unit vectors
        site_unit = sensor_ecef / np.linalg.norm(sensor_ecef, axis=1, keepdims=True)
        chord = np.linalg.norm(target_unit[mi] - site_unit[di], axis=1)
        ground = 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
        ok = ground <= horizon_distance_m(sensor_alt[di], target_alt[mi], k)
        if terrain_visible is not None:
            ok &= terrain_visible[di, mi]
        ceiling = radars.max_altitude_m[s]
        ok &= ~(np.isfinite(ceiling) & (target_alt[mi] > ceiling))
        min_el = radars.min_elevation_rad[s]
        ok &= ~(np.isfinite(min_el) & (el < min_el))
        rcs = target_rcs[mi]
        snr = (radars.reference_snr[s] * (rcs / radars.reference_rcs_m2[s])
               * (radars.reference_range_m[s] / np.maximum(r, 1.0)) ** 4)
        snr = snr * clutter_snr_factor(
            target_agl[mi], radars.clutter_loss_db[s],
            np.where(np.isfinite(radars.clutter_height_m[s]), radars.clutter_height_m[s],
                     settings.default_clutter_height_m))
        jammed = np.zeros(len(s), dtype=bool)
        if jnr is not None:
            interference = jnr.at(s, az, el)
            jammed = interference > 1.0
            snr = snr / (1.0 + interference)
        pd = np.exp(np.log(radars.pfa[s]) / (1.0 + snr))
        # one draw per pair in range, in (radar, object) order: the same draws whatever the outcome
        draw = rng_detect.random(len(s))
        hit = ok & (draw < pd)
        noise = rng_detect.standard_normal((len(s), 3))
        h = np.flatnonzero(hit)
        sh = s[h]
        el_meas = el[h] + noise[h, 2] * radars.sigma_elevation_rad[sh]
        az_meas = az[h] + noise[h, 1] * radars.sigma_azimuth_rad[sh]
        # a target near the zenith: noise can carry the elevation past ±90°, which is the direction
        # at 180° − el on the opposite azimuth (the measured direction folded back over the pole);
        # a 2D radar measures no elevation, so its azimuth is never folded
        over = (np.abs(el_meas) > np.pi / 2) & (radars.dimensions[sh] == 3)
        el_meas = np.where(over, np.sign(el_meas) * np.pi - el_meas, el_meas)
        az_meas = np.where(over, az_meas + np.pi, az_meas)
        el_meas = np.where(radars.dimensions[sh] == 3, el_meas, np.nan)
        blocks.append(DetectionBlock(
            sensor=sh, target=mi[h].astype(np.int64),
            # a range measurement is positive: noise cannot take it below the first range cell
            range_m=np.maximum(r[h] + noise[h, 0] * radars.sigma_range_m[sh], 1.0),
            azimuth_rad=np.mod(az_meas, 2 * np.pi),
            elevation_rad=el_meas, snr_db=10.0 * np.log10(snr[h]), jammed=jammed[h]))
    if d_count:
        blocks.append(_false_alarms(radars, due, rng_false, settings))
    return DetectionBlock(*(np.concatenate([getattr(b, f) for b in blocks])
                            for f in DetectionBlock.__dataclass_fields__))


def _false_alarms(radars: RadarSet, due: NDArray[np.int64], rng: np.random.Generator,
                  settings: SensingSettings) -> DetectionBlock:
    """Poisson(Pfa × cells) false alarms per radar, uniform over range and azimuth, and in
    elevation up to ``settings.false_alarm_max_elevation_deg`` for 3D radars."""
    expected = radars.pfa[due] * radars.cells_per_scan(settings)[due]
    counts = np.minimum(rng.poisson(np.nan_to_num(expected)), _MAX_FALSE_ALARMS_PER_SCAN)
    s = np.repeat(due, counts)
    n = len(s)
    # only radars with an instrumented range have cells (NaN counts as none), so rmax is finite
    rmax = radars.instrumented_range_m[s]
    r = rmax * np.sqrt(rng.random(n))  # uniform over the disc's area
    az = 2 * np.pi * rng.random(n)
    el = np.where(radars.dimensions[s] == 3,
                  np.radians(settings.false_alarm_max_elevation_deg) * rng.random(n), np.nan)
    # the SNR a false alarm reports: the default reference target's at its detection range
    snr0 = reference_snr(settings.default_reference_pd, settings.default_false_alarm_probability)
    return DetectionBlock(sensor=s, target=np.full(n, -1, dtype=np.int64), range_m=r,
                          azimuth_rad=az, elevation_rad=el,
                          snr_db=np.full(n, 10.0 * np.log10(float(snr0))), jammed=np.zeros(n, bool))


class JammingField:
    """Interference at radars from the jammers radiating now, as a function of look direction.

    Built once per tick from the jammers' positions; ``at(sensor, az, el)`` sums, over jammers in
    the radar's band, the jammer-to-noise ratio received through the main lobe when the radar
    looks toward the jammer and through the side lobes otherwise (docs/models/ew.md).
    """

    def __init__(self, jnr_mainlobe: NDArray[np.float64], jammer_az: NDArray[np.float64],
                 jammer_el: NDArray[np.float64], beamwidth_rad: NDArray[np.float64],
                 sidelobe_db: NDArray[np.float64], rows: NDArray[np.int64], n_radars: int) -> None:
        # jnr_mainlobe, jammer_az, jammer_el: (len(rows), J) for the radars in ``rows``;
        # beamwidth_rad, sidelobe_db: (len(rows),)
        self.jnr = jnr_mainlobe
        self.az = jammer_az
        self.el = jammer_el
        self.beam = beamwidth_rad
        self.sidelobe = sidelobe_db
        self.row_lookup = np.full(n_radars, -1, dtype=np.int64)
        self.row_lookup[rows] = np.arange(len(rows))

    def at(self, sensor: NDArray[np.int64], az: NDArray[np.float64],
           el: NDArray[np.float64]) -> NDArray[np.float64]:
        """Total JNR (linear) for each (radar, look direction) pair."""
        from iadsim.sensors.jamming import radar_gain_toward

        out = np.zeros(len(sensor))
        if self.jnr.size == 0:
            return out
        rows = self.row_lookup[sensor]
        has = rows >= 0
        if not has.any():
            return out
        r = rows[has]
        # surveillance radars have fan beams in elevation: only the azimuth separation decides
        # whether the jammer is in the main lobe when the radar looks at the target
        dang = np.abs(np.angle(np.exp(1j * (self.az[r] - az[has][:, None]))))
        gain_db = radar_gain_toward(dang, 0.0, self.beam[r][:, None], self.sidelobe[r][:, None])
        out[has] = np.sum(self.jnr[r] * 10.0 ** (np.asarray(gain_db) / 10.0), axis=1)
        return out
