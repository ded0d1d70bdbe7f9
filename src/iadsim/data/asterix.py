"""The SAC/SIC numbering of iadsim's ASTERIX exports (``data/formats/asterix.yaml``, docs/asterix.md)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from iadsim.data import data_dir

__all__ = ["AsterixSettings", "asterix_settings"]


@dataclass(frozen=True)
class AsterixSettings:
    """SAC per nation (``sac_by_nation``), and ``default_sac`` for other sensors and command nodes."""

    sac_by_nation: dict[str, int]
    default_sac: int


@cache
def asterix_settings() -> AsterixSettings:
    """The bundled numbering; every code is a labelled assumption (the file says why)."""
    data = yaml.safe_load((data_dir() / "formats" / "asterix.yaml").read_text(encoding="utf-8"))
    sacs = {str(k): int(v) for k, v in data["sac_by_nation"].items()}
    default = int(data["default_sac"])
    if not all(0 <= v <= 255 for v in (*sacs.values(), default)):
        raise ValueError("asterix.yaml: a SAC is one byte (0–255)")
    if set(data.get("assumed", {})) != {"sac_by_nation", "default_sac"}:
        raise ValueError("asterix.yaml: every setting needs its reason under 'assumed'")
    return AsterixSettings(sacs, default)
