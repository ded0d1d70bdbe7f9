"""Physical constants, each with its source: the one home of every such number in the package.

Model conventions (defaults of the radar model, side-lobe levels, ...) are not here: they are
scenario settings with a stated assumption (``sensing:``, ``c2:``, ``engagement:``).
"""

from __future__ import annotations

__all__ = ["BOLTZMANN_J_PER_K", "EARTH_RADIUS_M", "SPEED_OF_LIGHT_MPS", "STANDARD_TEMPERATURE_K"]

EARTH_RADIUS_M = 6_371_008.8
"""Mean radius of the earth R1 = (2a + b)/3 of the GRS80/WGS84 ellipsoid, m (IUGG; H. Moritz,
"Geodetic Reference System 1980", Bulletin Géodésique 54 (1980), and The Geodesist's Handbook 2000)."""

SPEED_OF_LIGHT_MPS = 299_792_458.0
"""Speed of light in vacuum, m/s (exact by definition of the metre; SI Brochure, 9th ed., 2019)."""

BOLTZMANN_J_PER_K = 1.380649e-23
"""Boltzmann constant, J/K (exact by definition of the kelvin; SI Brochure, 9th ed., 2019)."""

STANDARD_TEMPERATURE_K = 290.0
"""Standard reference temperature T₀ of a receiver's noise figure, K (IEEE Std 145; Skolnik,
Introduction to Radar Systems, 3rd ed., §2.3)."""
