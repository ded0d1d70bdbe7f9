"""Small self-contained scenarios for engine tests: one radar at a known site, targets flying at it."""

from __future__ import annotations

RADAR_LAT, RADAR_LON = 53.9, 27.5


def one_radar(*, antenna_m: float = 30.0, detection_km: float = 100.0, scan_s: float = 10.0,
              flights: str = "", emitters: str = "", duration_s: float = 400.0, seed: int = 11,
              extra_catalog: str = "", jammer_power_w: float = 100.0,
              extra_units: str = "", orbits: str = "") -> str:
    """A scenario with one surveillance radar (1 m² at Pd 0.5 at ``detection_km``) at 53.9 N,
    27.5 E and the flights given (YAML under ``traffic: flights:``)."""
    return f"""\
name: engine test
as_of: 2020-12-31
duration_s: {duration_s}
tick_s: 1
seed: {seed}
truth_interval_s: 1
sources:
  T: {{title: test values}}
nations:
  BLR: {{name: Belarus, side: defender}}
  POL: {{name: Poland, side: opposing}}
places:
  site: {{name: Site, lat_deg: {RADAR_LAT}, lon_deg: {RADAR_LON}, source: [T]}}
catalog:
  radars:
    r:
      name: Test radar
      role: surveillance
      dimensions: 3
      detection_range_km: {detection_km}
      reference_rcs_m2: 1.0
      reference_pd: 0.5
      antenna_height_m: {antenna_m}
      scan_period_s: {scan_s}
      sigma_range_m: 50
      sigma_azimuth_deg: 0.2
      sigma_elevation_deg: 0.2
      frequency_mhz: 3000
      bandwidth_mhz: 1
      antenna_gain_dbi: 35
      sidelobe_level_db: -30
      beamwidth_azimuth_deg: 2
      noise_figure_db: 3
      losses_db: 5
      false_alarm_probability: 1.0e-9
      assumed: {{detection_range_km: test, reference_rcs_m2: test, reference_pd: test,
                 antenna_height_m: test, scan_period_s: test, sigma_range_m: test,
                 sigma_azimuth_deg: test, sigma_elevation_deg: test, dimensions: test,
                 frequency_mhz: test, bandwidth_mhz: test, antenna_gain_dbi: test,
                 sidelobe_level_db: test, beamwidth_azimuth_deg: test, noise_figure_db: test,
                 losses_db: test, false_alarm_probability: test}}
  aircraft:
    dart:
      name: Test target
      role: fighter
      generic: true
      rcs_m2: 1.0
      max_speed_kmh: 6000
      climb_rate_mps: 200
      assumed: {{rcs_m2: test, max_speed_kmh: test, climb_rate_mps: test}}
  jammers:
    noise:
      name: Test noise jammer
      platform: ground
      bands: [S]
      power_w: {jammer_power_w}
      antenna_gain_dbi: 10
      bandwidth_mhz: 100
      assumed: {{power_w: test, antenna_gain_dbi: test, bandwidth_mhz: test}}
{extra_catalog}
units:
  radar_unit:
    name: Radar unit
    nation: BLR
    kind: radar_site
    place: site
    equipment: [{{type: r, count: 1}}]
    source: [T]
{extra_units}
traffic:
  flights:
{flights}
{orbits}
{emitters}
"""


def inbound(name: str, start_km: float, alt_m: float, speed_kmh: float = 3600.0,
            bearing: str = "west") -> str:
    """A flight from ``start_km`` west (or north) of the radar straight over it."""
    dlon = start_km / (111.32 * 0.5882)  # cos(53.9°) = 0.588
    dlat = start_km / 111.2
    start = (f"{{lat_deg: {RADAR_LAT}, lon_deg: {RADAR_LON - dlon:.5f}}}" if bearing == "west"
             else f"{{lat_deg: {RADAR_LAT + dlat:.5f}, lon_deg: {RADAR_LON}}}")
    return f"""\
    {name}:
      type: dart
      nation: POL
      speed_kmh: {speed_kmh}
      alt_m: {alt_m}
      route:
        - {start}
        - {{lat_deg: {RADAR_LAT}, lon_deg: {RADAR_LON}}}
"""
