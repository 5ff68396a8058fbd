"""Fixtures shared by the test modules."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

FLOAT32_EPS = float(np.finfo(np.float32).eps)


@pytest.fixture
def assert_float32_close():
    """``check(actual, desired, n_layers, width)``: that two float32 network
    outputs computed in different ways (other batch shapes, another code
    path) agree as far as float32 arithmetic lets them.

    A dot product of ``width`` float32 terms summed in another order (which
    matrix kernels do for other shapes) may differ by up to about
    ``width * eps`` times the sum of the terms' magnitudes; over
    ``n_layers`` layers such differences add up. Both are bounded by the
    output's largest magnitude, so the tolerance is absolute at that scale:
    near-zero outputs carry the rounding of their larger neighbours.
    """

    def check(actual, desired, n_layers, width):
        desired = np.asarray(desired, dtype=np.float64)
        tolerance = n_layers * width * FLOAT32_EPS
        scale = max(float(np.abs(desired).max()), 1.0)
        assert_allclose(actual, desired, rtol=tolerance, atol=tolerance * scale)

    return check
