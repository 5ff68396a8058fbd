"""Corruption functions for denoising autoencoders (numpy only, no torch).

:class:`skae.DenoisingAutoencoder` corrupts each training batch with one of
these; they are public so that test data can be corrupted the same way.

Each public function validates its input and returns a new float array; the
private ``_gaussian``, ``_masking`` and ``_salt_and_pepper`` do the work on an
already validated array with a numpy random generator, once per batch.
"""

from numbers import Real

import numpy as np
from sklearn.utils import check_array, check_random_state

from ._sklearn_compat import Interval, validate_params

__all__ = ["gaussian_noise", "masking_noise", "salt_and_pepper_noise"]


def _gaussian(X, noise_level, rng):
    if isinstance(rng, np.random.Generator):  # draws float32 directly
        noise = rng.standard_normal(X.shape, dtype=X.dtype)
    else:
        noise = rng.standard_normal(X.shape).astype(X.dtype, copy=False)
    noise *= noise_level
    noise += X
    return noise


def _masking(X, noise_level, rng):
    keep = rng.random(X.shape) >= noise_level
    return X * keep


def _salt_and_pepper(X, noise_level, rng, low, high):
    hit = rng.random(X.shape) < noise_level
    salt = rng.random(X.shape) < 0.5
    out = X.copy()
    out[hit & ~salt] = np.broadcast_to(low, X.shape)[hit & ~salt]
    out[hit & salt] = np.broadcast_to(high, X.shape)[hit & salt]
    return out


# name -> function(X, noise_level, rng, low, high), the form the estimator
# calls once per batch; ``low`` and ``high`` are the features' training range.
NOISES = {
    "gaussian": lambda X, level, rng, low, high: _gaussian(X, level, rng),
    "masking": lambda X, level, rng, low, high: _masking(X, level, rng),
    "salt_and_pepper": _salt_and_pepper,
}


def _check(X):
    return check_array(X, dtype=(np.float64, np.float32), copy=False)


@validate_params(
    {
        "X": ["array-like"],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "clip": [tuple, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def gaussian_noise(X, noise_level=0.1, *, clip=None, random_state=None):
    """Add ``noise_level`` times standard normal noise to every entry.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data to corrupt.
    noise_level : float, default=0.1
        Standard deviation of the noise.
    clip : tuple (low, high) or None, default=None
        Clip the result to this range; ``low`` and ``high`` are scalars or
        arrays of shape (n_features,). ``(0, 1)`` keeps pixels valid.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Returns
    -------
    X_noisy : ndarray of shape (n_samples, n_features)
        The corrupted copy, float32 or float64 as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.noise import gaussian_noise
    >>> X = np.full((2, 3), 0.5)
    >>> X_noisy = gaussian_noise(X, 0.4, clip=(0, 1), random_state=0)
    >>> bool(X_noisy.min() >= 0 and X_noisy.max() <= 1)
    True
    """
    X = _check(X)
    out = _gaussian(X, noise_level, check_random_state(random_state))
    if clip is not None:
        np.clip(out, *clip, out=out)
    return out


@validate_params(
    {
        "X": ["array-like"],
        "noise_level": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def masking_noise(X, noise_level=0.1, *, random_state=None):
    """Set each entry to zero with probability ``noise_level``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data to corrupt.
    noise_level : float in [0, 1], default=0.1
        Probability that an entry is zeroed.
    random_state : int, RandomState instance or None, default=None
        Seeds the mask.

    Returns
    -------
    X_noisy : ndarray of shape (n_samples, n_features)
        The corrupted copy.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.noise import masking_noise
    >>> X_noisy = masking_noise(np.ones((1000, 10)), 0.25, random_state=0)
    >>> bool(abs((X_noisy == 0).mean() - 0.25) < 0.02)
    True
    """
    X = _check(X)
    return _masking(X, noise_level, check_random_state(random_state))


@validate_params(
    {
        "X": ["array-like"],
        "noise_level": [Interval(Real, 0, 1, closed="both")],
        "low": ["array-like", Real, None],
        "high": ["array-like", Real, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def salt_and_pepper_noise(
    X, noise_level=0.1, *, low=None, high=None, random_state=None
):
    """Set each entry, with probability ``noise_level``, to its feature's
    minimum or maximum (each with probability one half).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data to corrupt.
    noise_level : float in [0, 1], default=0.1
        Probability that an entry is replaced.
    low, high : float, array-like of shape (n_features,) or None, default=None
        The "pepper" and "salt" values; None takes each column's minimum and
        maximum in ``X``.
    random_state : int, RandomState instance or None, default=None
        Seeds which entries are replaced and by what.

    Returns
    -------
    X_noisy : ndarray of shape (n_samples, n_features)
        The corrupted copy.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.noise import salt_and_pepper_noise
    >>> X = np.full((1000, 4), 0.5)
    >>> X_noisy = salt_and_pepper_noise(X, 0.5, low=0, high=1, random_state=0)
    >>> sorted(np.unique(X_noisy).tolist())
    [0.0, 0.5, 1.0]
    """
    X = _check(X)
    low = X.min(axis=0) if low is None else np.asarray(low, dtype=X.dtype)
    high = X.max(axis=0) if high is None else np.asarray(high, dtype=X.dtype)
    return _salt_and_pepper(X, noise_level, check_random_state(random_state), low, high)
