"""A track's horizontal error ellipse from its covariance (c2.pictures.horizontal_error_ellipse)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iadsim.c2.pictures import horizontal_error_ellipse


def _covariance(major: float, minor: float, bearing_deg: float) -> np.ndarray:
    """A 4×4 covariance whose east–north block has these 1σ axes, the major one at this bearing."""
    theta = math.radians(bearing_deg)
    axis = np.array([math.sin(theta), math.cos(theta)])  # east, north of the major axis
    across = np.array([math.cos(theta), -math.sin(theta)])
    block = major ** 2 * np.outer(axis, axis) + minor ** 2 * np.outer(across, across)
    out = np.eye(4) * 25.0
    out[:2, :2] = block
    return out


def test_axis_aligned_errors():
    cov = np.stack([_covariance(100.0, 25.0, 90.0), _covariance(100.0, 25.0, 0.0)])
    major, minor, bearing = horizontal_error_ellipse(cov)
    assert major == pytest.approx([100.0, 100.0]) and minor == pytest.approx([25.0, 25.0])
    assert bearing == pytest.approx([90.0, 0.0], abs=1e-9)


@given(st.floats(1.0, 5000.0), st.floats(0.0, 1.0), st.floats(0.0, 179.9))
def test_the_ellipse_rebuilds_the_covariance(major, ratio, bearing):
    minor = major * ratio
    cov = _covariance(major, minor, bearing)[None]
    got_major, got_minor, got_bearing = (float(v[0]) for v in horizontal_error_ellipse(cov))
    # the minor axis is a square root of a difference: near zero it is good to √ε · major
    assert got_major == pytest.approx(major, rel=1e-6) and got_minor == pytest.approx(minor, rel=1e-6, abs=1e-5 * major)
    if major - minor > 1e-3 * major:  # a circle has no bearing
        assert np.allclose(_covariance(got_major, got_minor, got_bearing)[:2, :2], cov[0, :2, :2],
                           rtol=1e-6, atol=1e-6 * major ** 2)
