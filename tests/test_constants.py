"""Physical constants live in one module; no other source file keeps its own copy."""

from __future__ import annotations

import re
from pathlib import Path

import iadsim
from iadsim import constants
from iadsim.geo import radar_geometry

SRC = Path(iadsim.__file__).parent

# literals of the constants as they were written in private copies (with or without separators)
COPIES = re.compile(r"6_?371_?0(00|08)|299_?792_?458|1\.380_?649e-23|\b290\.0\b")


def test_values_and_units():
    assert constants.EARTH_RADIUS_M == 6_371_008.8  # IUGG mean radius R1
    assert constants.SPEED_OF_LIGHT_MPS == 299_792_458.0
    assert constants.BOLTZMANN_J_PER_K == 1.380649e-23
    assert constants.STANDARD_TEMPERATURE_K == 290.0
    # the name other modules have imported from the geometry module stays, as the same number
    assert radar_geometry.EARTH_RADIUS_M is constants.EARTH_RADIUS_M


def test_no_private_copies_in_the_package():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "constants.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if COPIES.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not offenders, "use iadsim.constants:\n" + "\n".join(offenders)
