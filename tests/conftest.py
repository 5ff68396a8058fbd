"""Fixtures and helpers shared by the test modules.

The public estimators are found from ``skae.__all__``, so that a new one is
tested by every test that loops over estimators without anyone listing it.
A test loops over them by taking the ``estimator_class`` fixture; modules
that need the list at import time (scikit-learn's ``parametrize_with_checks``,
the batch invariance script) import ``PUBLIC_ESTIMATORS`` from here.
"""

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, is_classifier
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import skae

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def public_estimators():
    """The estimator classes that ``skae`` exports."""
    return [
        obj
        for name in skae.__all__
        if inspect.isclass(obj := getattr(skae, name))
        and issubclass(obj, BaseEstimator)
    ]


PUBLIC_ESTIMATORS = public_estimators()

# What shared tests give an estimator on top of SMALL, to keep them fast: the
# detector's 25 members take every path of the ensemble with 3.
SHARED_TEST_PARAMS = {"ReconstructionOutlierDetector": {"n_estimators": 3}}
# Small, short and seeded: for tests of behaviour, not quality.
SMALL = {
    "n_components": 2,
    "hidden_layer_sizes": (8,),
    "max_epochs": 3,
    "device": "cpu",
    "random_state": 0,
}


# The methods that give one output per row, on the estimators that have them.
ROW_METHODS = (
    "transform",
    "predict",
    "predict_proba",
    "decision_function",
    "score_samples",
    "feature_errors",
)


def row_outputs(est, X, Z=None):
    """Every per-row output of the fitted ``est`` for rows ``X``, by method
    name; ``inverse_transform`` decodes ``Z`` (by default the codes of
    ``X``)."""
    out = {
        method: getattr(est, method)(X)
        for method in ROW_METHODS
        if hasattr(est, method)
    }
    if hasattr(est, "inverse_transform"):
        out["inverse_transform"] = est.inverse_transform(
            out["transform"] if Z is None else Z
        )
    return out


# Estimators fitted for a figure, whose quality the figure does not need.
FAST = {
    "hidden_layer_sizes": (16,),
    "max_epochs": 2,
    "device": "cpu",
    "random_state": 0,
}


def labels(n_samples):
    """Labels of three classes, for estimators that need ``y``."""
    return np.arange(n_samples) % 3


def code_width(est):
    """The columns of ``est.transform``: ``n_components_`` for most
    estimators, every member's code side by side for an ensemble."""
    return len(est.get_feature_names_out())


def takes(cls_or_est, param):
    """Whether the estimator (class or instance) has the parameter ``param``
    (the detector has no ``loss``, the variational autoencoder no
    penalties)."""
    cls = cls_or_est if inspect.isclass(cls_or_est) else type(cls_or_est)
    return param in inspect.signature(cls.__init__).parameters


@pytest.fixture(params=PUBLIC_ESTIMATORS, ids=lambda cls: cls.__name__, scope="session")
def estimator_class(request):
    """Every public estimator class, one test per class."""
    return request.param


@pytest.fixture
def make_estimator(request):
    """``make(cls, **params)``: a small, fast, seeded estimator of ``cls``.

    Its parameters are ``SMALL``, then the class's ``SHARED_TEST_PARAMS``,
    then the test module's ``ESTIMATOR_DEFAULTS`` (a dict, when the module
    defines one: what its tests of one estimator need), then ``params``.
    """
    module_defaults = getattr(request.module, "ESTIMATOR_DEFAULTS", {})

    def make(cls, **params):
        defaults = {
            **SMALL,
            **SHARED_TEST_PARAMS.get(cls.__name__, {}),
            **module_defaults,
        }
        return cls(**{**defaults, **params})

    return make


@pytest.fixture(scope="session")
def fit_estimator():
    """``fit(est, X, y=None, method="fit", **fit_params)``: ``est.fit`` (or
    ``partial_fit``) on ``X``, with labels made up for a classifier when
    ``y`` (or ``y_val``, beside ``X_val``) is not given, and its ``classes``
    for a first ``partial_fit``."""

    def fit(est, X, y=None, method="fit", **fit_params):
        if is_classifier(est):
            y = labels(X.shape[0]) if y is None else y
            if method == "partial_fit" and not hasattr(est, "classes_"):
                fit_params.setdefault("classes", np.unique(y))
            if fit_params.get("X_val") is not None and "y_val" not in fit_params:
                fit_params["y_val"] = labels(fit_params["X_val"].shape[0])
        return getattr(est, method)(X, y, **fit_params)

    return fit


@pytest.fixture(scope="session")
def digits():
    """The digits images scaled to [0, 1] (float64) and their labels."""
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="session")
def digits_split(digits):
    """``X_train, X_test, y_train, y_test``: a stratified quarter of the
    digits held out."""
    return train_test_split(*digits, test_size=0.25, random_state=0, stratify=digits[1])


@pytest.fixture
def X():
    """60 rows of 6 features in [0, 1] (for loss="bce" too)."""
    return np.random.default_rng(0).uniform(size=(60, 6))


def weights(est):
    """A copy of the fitted module's weights, by name."""
    return {k: v.clone() for k, v in est.net_.module_.state_dict().items()}


def assert_same_weights(est, expected):
    """That ``est``'s weights are, bit for bit, those of the fitted estimator
    ``expected``, or the ``weights`` dict ``expected``."""
    if not isinstance(expected, dict):
        expected = weights(expected)
    got = weights(est)
    assert got.keys() == expected.keys()
    for key, value in got.items():
        assert torch.equal(value, expected[key]), key


class UserEncoder(nn.Module):
    """A user's module, built from ``n_features``, ``n_components`` and its
    own argument."""

    def __init__(self, n_features, n_components, bias=True):
        super().__init__()
        self.layer = nn.Linear(n_features, n_components, bias=bias)

    def forward(self, X):
        return self.layer(X)


class UserDecoder(UserEncoder):
    def __init__(self, n_components, n_features, bias=True):
        super().__init__(n_components, n_features, bias)


@pytest.fixture
def close_figures():
    """Close every matplotlib figure a test drew."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def run_without_torch(code):
    """Run ``code`` in a fresh interpreter where torch and skorch cannot be
    imported and ``skae`` is its bare package (its ``__init__`` needs torch);
    assert that it succeeds."""
    prelude = f"""
import importlib.abc, sys, types


class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "skorch"):
            raise ModuleNotFoundError(f"{{name}} is blocked")


sys.meta_path.insert(0, NoTorch())
package = types.ModuleType("skae")
package.__path__ = [{str(Path(skae.__file__).parent)!r}]
sys.modules["skae"] = package
"""
    result = subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


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
