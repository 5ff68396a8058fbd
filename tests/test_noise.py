"""The public corruption functions of skae.noise."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skae.noise import gaussian_noise, masking_noise, salt_and_pepper_noise


@pytest.fixture
def X():
    return np.random.default_rng(0).uniform(size=(400, 5))


def test_gaussian_noise_has_the_requested_spread(X):
    noisy = gaussian_noise(X, 0.3, random_state=0)
    assert noisy.shape == X.shape
    assert np.std(noisy - X) == pytest.approx(0.3, rel=0.05)


def test_gaussian_noise_clips(X):
    noisy = gaussian_noise(X, 1.0, clip=(0, 1), random_state=0)
    assert noisy.min() == 0 and noisy.max() == 1


def test_masking_zeroes_the_requested_share(X):
    noisy = masking_noise(X, 0.3, random_state=0)
    zeroed = noisy == 0
    assert zeroed.mean() == pytest.approx(0.3, abs=0.02)
    assert_array_equal(noisy[~zeroed], X[~zeroed])


def test_salt_and_pepper_uses_column_extremes(X):
    noisy = salt_and_pepper_noise(X, 0.4, random_state=0)
    changed = noisy != X
    assert changed.mean() == pytest.approx(0.4, abs=0.03)
    low, high = X.min(axis=0), X.max(axis=0)
    rows, cols = np.nonzero(changed)
    assert np.all((noisy[rows, cols] == low[cols]) | (noisy[rows, cols] == high[cols]))


@pytest.mark.parametrize(
    "corrupt", [gaussian_noise, masking_noise, salt_and_pepper_noise]
)
def test_seeded_and_input_untouched(X, corrupt):
    before = X.copy()
    a, b = corrupt(X, 0.2, random_state=1), corrupt(X, 0.2, random_state=1)
    assert_array_equal(a, b)
    assert not np.array_equal(a, corrupt(X, 0.2, random_state=2))
    assert_array_equal(X, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_float_dtype(X, dtype):
    assert gaussian_noise(X.astype(dtype), 0.1, random_state=0).dtype == dtype


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda X: gaussian_noise(X, -0.1), "'noise_level' parameter"),
        (lambda X: masking_noise(X, 1.5), "'noise_level' parameter"),
        (lambda X: salt_and_pepper_noise(X, 2.0), "'noise_level' parameter"),
        (lambda X: gaussian_noise(X[0]), "Expected 2D array"),
        (lambda X: masking_noise(np.full((2, 2), np.nan)), "Input contains NaN"),
    ],
)
def test_bad_input(X, call, message):
    with pytest.raises(ValueError, match=message):
        call(X)
