"""WGS84 geodesy (pyproj): geodetic and ECEF coordinates, geodesic distances.

Array-shape rule: functions take scalars or arrays of N and broadcast; positions are ``(N, 3)``
ECEF metres.
"""

from iadsim.geo.geodesy import ecef_to_geodetic, geodesic_distance_m, geodetic_to_ecef, transformer

__all__ = ["ecef_to_geodetic", "geodesic_distance_m", "geodetic_to_ecef", "transformer"]
