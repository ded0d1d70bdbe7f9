"""Writing figures (maps and the report's charts) as PNG files, atomically.

In ``io``, not beside the maps in ``coverage``: the file handling is the outputs' (``io.paths``), and
``coverage`` stays below ``io`` (``io.coverage`` draws its maps with ``coverage.maps``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from iadsim.io.paths import replace_atomically, temp_path

__all__ = ["save_map"]


def save_map(figure: Figure, path: Path) -> Path:
    """Write a figure (a map, or any of the report's) as PNG and close it. Written beside ``path``
    and renamed onto it: a reader never sees half a file, and a link at ``path`` is replaced, not
    written through (it would overwrite the file it points to)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        figure.savefig(tmp, format="png", bbox_inches="tight", pad_inches=0.1)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        plt.close(figure)
    return replace_atomically(tmp, path)
