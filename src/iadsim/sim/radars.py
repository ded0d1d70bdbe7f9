"""Which radars scan in a run: the one rule, used by the engine (``Engine.radars``) and by the checks
a run makes before simulating (``iadsim.pipeline.checks``).

Identical radars at one site (one type, one town, one antenna height: e.g. the search radars of
the three Tor-M2 batteries at Baranavichy, which the data place at one town) are one look: they see
the same target fluctuation from the same geometry, so their detections are not independent.
The first of them (in the World's order) scans for the group; static coverage counts the group
once in the same way (docs/models/detection.md, "Several radars at one place")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iadsim.scenario.schema import Scenario, Side
from iadsim.sensors.radar import AIR_SURVEILLANCE_ROLES
from iadsim.world import World

__all__ = ["RadarRoster", "radar_roster"]


@dataclass(frozen=True)
class RadarRoster:
    """The scanning radars of a run, as arrays of S: the defending nations' ground air-surveillance
    radars with a published range (one row per look: identical radars at one site are one, see
    the module; in the World's order), then their aircraft's radars that radiate (in the
    traffic's order).

    Attributes:
        sensor_id: ``unit/type/n`` for ground radars, ``object/type`` for airborne ones.
        nation, radar_type: per radar. unit: the unit of a ground radar ("" airborne).
        aircraft: the aircraft type of an airborne radar ("" ground). platform: the air object that
            carries an airborne radar (−1 ground).
        lat_deg, lon_deg, height_m: a ground radar's site and antenna height above ground (NaN, NaN,
            0 airborne).
    """

    sensor_id: NDArray[np.str_]
    nation: NDArray[np.str_]
    radar_type: NDArray[np.str_]
    unit: NDArray[np.str_]
    aircraft: NDArray[np.str_]
    platform: NDArray[np.int64]
    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    height_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.sensor_id)


def radar_roster(scenario: Scenario, world: World, object_id: NDArray[np.str_], object_type: NDArray[np.str_],
                 object_nation: NDArray[np.str_], radar_on: NDArray[np.bool_]) -> RadarRoster:
    """The scanning radars of a run (see ``RadarRoster``).

    Args:
        scenario, world: the scenario and its World at the run's date.
        object_id, object_type, object_nation, radar_on: ``(N,)`` the air objects of the traffic
            (empty arrays for none): id, aircraft type, nation and whether its radar radiates.
    """
    defenders = {n for n, nation in scenario.nations.items() if nation.side == Side.defender}
    sens = world.sensors
    ids, nations, types, units, aircraft, platform, lat, lon, height = ([] for _ in range(9))
    counters: dict[tuple[str, str], int] = {}
    looks: set[tuple[object, ...]] = set()
    for i in range(len(sens)):
        unit = str(world.unit_id[sens.unit_index[i]])
        nation = str(world.unit_nation[sens.unit_index[i]])
        if str(sens.role[i]) not in AIR_SURVEILLANCE_ROLES or nation not in defenders:
            continue
        if not np.isfinite(sens.detection_range_m[i]):
            continue
        look = (nation, str(sens.radar_type[i]), float(sens.lat_deg[i]), float(sens.lon_deg[i]),
                float(np.nan_to_num(sens.antenna_height_m[i])))
        if look in looks:
            continue  # an identical radar at the same site: the same look
        looks.add(look)
        key = (unit, str(sens.radar_type[i]))
        counters[key] = counters.get(key, 0) + 1
        ids.append(f"{unit}/{sens.radar_type[i]}/{counters[key]}")
        nations.append(nation)
        types.append(str(sens.radar_type[i]))
        units.append(unit)
        aircraft.append("")
        platform.append(-1)
        lat.append(float(sens.lat_deg[i]))
        lon.append(float(sens.lon_deg[i]))
        height.append(float(np.nan_to_num(sens.antenna_height_m[i])))
    cat = scenario.catalog.aircraft
    for j in range(len(object_id)):
        type_id = str(object_type[j])
        radar = cat[type_id].radar if type_id in cat else None
        if radar and bool(radar_on[j]) and str(object_nation[j]) in defenders:
            ids.append(f"{object_id[j]}/{radar}")
            nations.append(str(object_nation[j]))
            types.append(radar)
            units.append("")
            aircraft.append(type_id)
            platform.append(j)
            lat.append(np.nan)
            lon.append(np.nan)
            height.append(0.0)
    return RadarRoster(np.asarray(ids, dtype=np.str_), np.asarray(nations, dtype=np.str_),
                       np.asarray(types, dtype=np.str_), np.asarray(units, dtype=np.str_),
                       np.asarray(aircraft, dtype=np.str_), np.asarray(platform, dtype=np.int64),
                       np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64),
                       np.asarray(height, dtype=np.float64))
