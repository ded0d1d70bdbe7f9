"""The statistics of a sensitivity study (docs/sensitivity.md): designs and indices with SALib, the
one-at-a-time effects, and a metric's interval under all ranges together. Pure functions of arrays;
running the cases is ``iadsim.runs.sensitivity``.

Every factor is a quantile ``u`` in [0, 1] here (``iadsim.scenario.factors`` maps it to values), so
designs sample the unit hypercube and the stated distributions by inverse transform.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["INTERVAL_LEVEL", "Interval", "MorrisIndices", "SALibMissing", "SobolIndices", "interval_design",
           "metric_interval", "morris_design", "morris_indices", "require_salib", "sobol_design",
           "sobol_indices"]

INTERVAL_LEVEL = 0.90
"""The share of the sampled outcomes the interval under all ranges holds (5th to 95th percentile)."""


class SALibMissing(ImportError):
    """SALib (the ``sensitivity`` extra) is not installed."""


def require_salib() -> Any:
    """The SALib package, or SALibMissing with the command that installs it."""
    try:
        import SALib
    except ImportError:
        raise SALibMissing("sensitivity analysis needs SALib: pip install 'iadsim[sensitivity]'") from None
    return SALib


def _problem(k: int) -> dict[str, Any]:
    return {"num_vars": k, "names": [f"x{i}" for i in range(k)], "bounds": [[0.0, 1.0]] * k}


def morris_design(k: int, trajectories: int, levels: int, seed: int) -> NDArray[np.float64]:
    """Morris's elementary-effects design (SALib): ``trajectories × (k + 1)`` points in [0, 1]^k on a
    grid of ``levels`` levels."""
    require_salib()
    from SALib.sample import morris

    return np.asarray(morris.sample(_problem(k), trajectories, num_levels=levels, seed=seed),
                      dtype=np.float64)


@dataclass(frozen=True)
class MorrisIndices:
    """Per factor: μ* (mean absolute elementary effect, in the metric's unit over the factor's whole
    range), its bootstrap confidence half-width, μ (signed) and σ (spread: interaction, non-linearity)."""

    mu_star: NDArray[np.float64]
    mu_star_conf: NDArray[np.float64]
    mu: NDArray[np.float64]
    sigma: NDArray[np.float64]


def morris_indices(x: NDArray[np.float64], y: NDArray[np.float64], levels: int, seed: int) -> MorrisIndices:
    """Morris's indices (SALib) from the design ``x`` (n, k) and the metric ``y`` (n,).

    Elementary effects are per unit of quantile, i.e. the change over a factor's whole range."""
    require_salib()
    from SALib.analyze import morris

    k = x.shape[1]
    res = morris.analyze(_problem(k), x, y, num_levels=levels, seed=seed, print_to_console=False)
    return MorrisIndices(*(np.nan_to_num(np.asarray(res[key], dtype=np.float64))
                           for key in ("mu_star", "mu_star_conf", "mu", "sigma")))


def sobol_design(k: int, base_samples: int, seed: int) -> NDArray[np.float64]:
    """Saltelli's design for first-order and total Sobol indices (SALib, ``calc_second_order``
    off): ``base_samples × (k + 2)`` points in [0, 1]^k; ``base_samples`` a power of two."""
    require_salib()
    from SALib.sample import sobol

    return np.asarray(sobol.sample(_problem(k), base_samples, calc_second_order=False, seed=seed),
                      dtype=np.float64)


@dataclass(frozen=True)
class SobolIndices:
    """Per factor: first-order S1 and total ST indices with their bootstrap confidence half-widths."""

    s1: NDArray[np.float64]
    s1_conf: NDArray[np.float64]
    st: NDArray[np.float64]
    st_conf: NDArray[np.float64]


def sobol_indices(y: NDArray[np.float64], k: int, seed: int) -> SobolIndices:
    """Sobol indices (SALib, Jansen/Saltelli estimators) of the metric over ``sobol_design(k, …)``."""
    require_salib()
    from SALib.analyze import sobol

    if float(np.var(y)) == 0.0:  # a metric no factor moves: every index is 0, not 0/0
        zero = np.zeros(k)
        return SobolIndices(zero, zero, zero.copy(), zero.copy())
    # SALib's sobol.analyze tests `if seed:`, so seed 0 would leave its bootstrap unseeded
    res = sobol.analyze(_problem(k), y, calc_second_order=False, seed=seed + 1, print_to_console=False)
    keys = ("S1", "S1_conf", "ST", "ST_conf")
    return SobolIndices(*(np.asarray(res[key], dtype=np.float64) for key in keys))


def interval_design(k: int, samples: int, seed: int) -> NDArray[np.float64]:
    """A scrambled Sobol' sequence of ``samples`` points in [0, 1]^k (scipy.stats.qmc): every factor
    drawn from its whole range at once, for the metric's interval."""
    from scipy.stats import qmc

    m = max(1, math.ceil(math.log2(max(2, samples))))
    return np.asarray(qmc.Sobol(d=k, scramble=True, seed=seed).random_base2(m), dtype=np.float64)[:samples]


@dataclass(frozen=True)
class Interval:
    """The metric under all ranges together.

    Attributes:
        low, high: the ``level`` interval (5th and 95th percentiles for 0.9) of the sampled values.
        low_error, high_error: half-widths of 95 % bootstrap intervals of those percentiles (the
            sampling error of the ends from ``samples`` draws).
        median: the median. samples: draws. level: the share between low and high.
    """

    low: float
    high: float
    low_error: float
    high_error: float
    median: float
    samples: int
    level: float = INTERVAL_LEVEL

    @property
    def beyond_draws(self) -> float:
        """The chance that the upper end's percentile lies above every draw (and, alike, the lower
        end's below every draw): ((1 + level) / 2) ** samples. A bootstrap of the draws cannot reach
        beyond them, so the stated errors do not show this."""
        return float(((1 + self.level) / 2) ** self.samples)

    def text(self, fmt: str = "{:.3g}") -> str:
        """'52 – 98 (±3, ±1; 90 % of 64 draws)'."""
        f = fmt.format
        return (f"{f(self.low)} – {f(self.high)} (ends ±{f(self.low_error)}, ±{f(self.high_error)}; "
                f"{self.level:.0%} of {self.samples} draws)")


def metric_interval(values: Sequence[float] | NDArray[np.float64], level: float = INTERVAL_LEVEL,
                    seed: int = 0, resamples: int = 2000) -> Interval:
    """The central ``level`` interval of ``values`` and the bootstrap error of its ends.

    Args:
        values: the metric at each draw of ``interval_design`` (NaN draws are left out).
        level: share of the values between the ends. seed: the bootstrap's generator.
        resamples: bootstrap resamples.
    """
    y = np.asarray(values, dtype=np.float64)
    y = y[np.isfinite(y)]
    if len(y) == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, math.nan, 0, level)
    q = [(1 - level) / 2, (1 + level) / 2]
    low, high = np.quantile(y, q)
    rng = np.random.default_rng(seed)
    boot = np.quantile(y[rng.integers(0, len(y), size=(resamples, len(y)))], q, axis=1)
    err = (np.quantile(boot, 0.975, axis=1) - np.quantile(boot, 0.025, axis=1)) / 2
    return Interval(float(low), float(high), float(err[0]), float(err[1]), float(np.median(y)), len(y), level)
