"""What every benchmark records about the machine it ran on (shared by the bench scripts)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import numpy as np

import iadsim


def cpu_model() -> str:
    """The CPU model name from ``lscpu``, or the platform's processor string."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info(**extra: Any) -> dict[str, Any]:
    """CPU, core count, Python, numpy, iadsim and platform, plus the script's own ``extra`` fields."""
    return {"cpu": cpu_model(), "nproc": os.cpu_count(), "python": sys.version.split()[0],
            "numpy": np.__version__, "iadsim": iadsim.__version__, "platform": platform.platform(),
            **extra}
