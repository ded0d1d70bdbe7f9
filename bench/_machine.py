"""What every benchmark records about the machine it ran on (shared by the bench scripts)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
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


def proc_cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (its first ``model name``), or "" where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def memory_bytes() -> int | None:
    """Total memory from ``/proc/meminfo`` in bytes, or None where there is none."""
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024  # the file says kB and means KiB
    return None


def machine_info(**extra: Any) -> dict[str, Any]:
    """CPU, core count, Python, numpy, iadsim and platform, plus the script's own ``extra`` fields."""
    return {"cpu": cpu_model(), "nproc": os.cpu_count(), "python": sys.version.split()[0],
            "numpy": np.__version__, "iadsim": iadsim.__version__, "platform": platform.platform(),
            **extra}
