"""Property-based tests (hypothesis): every estimator, fitted on odd data of
random shape, scale and dtype, ends either fitted, with finite outputs of the
right shapes, or in a clear ``ValueError``; never a crash, a NaN or a hang.

The default profile is derandomized and small enough for CI; set
``HYPOTHESIS_PROFILE=deep`` for a longer, random search.
"""

import os
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from conftest import SHARED_TEST_PARAMS, takes  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sklearn.base import is_classifier  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@st.composite
def odd_data(draw):
    """A training matrix: 2 to 40 rows (often fewer than a batch), 1 to 6
    columns, a scale from 1e-8 to 1e8 and an offset, float32, float64 or
    int, with constant columns, duplicated rows and extreme entries mixed
    in, sometimes squeezed into [0, 1]; and labels of 1 to 3 classes."""
    n_samples = draw(st.integers(2, 40))
    n_features = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-8, 8))
    offset = draw(st.sampled_from([0.0, 1.0, -1e3, 1e6]))
    X = rng.standard_normal((n_samples, n_features)) * scale + offset
    if draw(st.booleans()):  # constant columns
        columns = rng.random(n_features) < 0.5
        X[:, columns] = draw(st.sampled_from([0.0, 1.0, 7e5]))
    if draw(st.booleans()):  # duplicated rows
        X[rng.random(n_samples) < 0.5] = X[0]
    if draw(st.booleans()):  # a few extreme entries
        extreme = draw(st.sampled_from([1e12, -1e12, 1e30, 3e38]))
        X.flat[rng.choice(X.size, size=max(1, X.size // 20), replace=False)] = extreme
    if draw(st.booleans()):  # into [0, 1], as loss="bce" needs
        low, high = X.min(), X.max()
        X = (X - low) / (high - low) if np.isfinite(high - low) and high > low else X
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    if dtype is np.int64:
        X = np.clip(np.rint(X), -(2**62), 2**62)
    with np.errstate(over="ignore"):
        X = X.astype(dtype)
    y = rng.integers(0, draw(st.sampled_from([1, 2, 2, 3])), size=n_samples)
    return X, y


@st.composite
def parameters(draw):
    return {
        "n_components": draw(st.integers(1, 3)),
        "hidden_layer_sizes": draw(st.sampled_from([(), (4,), (8, 4)])),
        "batch_size": draw(st.sampled_from([1, 3, 64])),
        "batch_norm": draw(st.booleans()),
        "dropout": draw(st.sampled_from([0.0, 0.5])),
        "loss": draw(st.sampled_from(["mse", "bce"])),
        "early_stopping": draw(st.booleans()),
        # rows read as 1 x n_features images, or n_features time steps
        **draw(
            st.sampled_from(
                [
                    {},
                    {"image_shape": (1, 1, -1), "conv_channels": (4,)},
                    {"sequence_shape": (-1, 1), "recurrent_units": 4},
                ]
            )
        ),
    }


def check_outputs(est, X):
    n_samples = X.shape[0]
    if hasattr(est, "transform"):
        Z = est.transform(X)
        assert Z.shape == (n_samples, len(est.get_feature_names_out()))
        assert np.all(np.isfinite(Z))
        X_back = est.inverse_transform(Z)
        assert X_back.shape == X.shape and np.all(np.isfinite(X_back))
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert proba.shape == (n_samples, len(est.classes_))
        assert np.all(np.isfinite(proba))
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-4)
        assert est.predict(X).shape == (n_samples,)
    elif hasattr(est, "predict") and not hasattr(est, "decision_function"):
        reconstruction = est.predict(X)
        assert reconstruction.shape == X.shape
        assert np.all(np.isfinite(reconstruction))
    if hasattr(est, "decision_function"):
        labels = est.predict(X)
        assert labels.shape == (n_samples,) and set(labels) <= {-1, 1}
        assert np.all(np.isfinite(est.decision_function(X)))
    if hasattr(est, "score_samples"):
        scores = est.score_samples(X)
        assert scores.shape == (n_samples,) and np.all(np.isfinite(scores))
    if hasattr(est, "sample"):
        samples = est.sample(3, random_state=0)
        assert samples.shape == (3, X.shape[1]) and np.all(np.isfinite(samples))


# (estimator_class is a session fixture: one class for all of hypothesis's
# examples)
@given(data=odd_data(), params=parameters())
def test_odd_data_fits_or_fails_clearly(estimator_class, data, params):
    cls = estimator_class
    X, y = data
    if not takes(cls, "loss"):
        params.pop("loss")
    if takes(cls, "n_estimators"):
        # n_components=None: a quarter of the features; three members take
        # every path of the ensemble, in less time
        params.pop("n_components")
        params.update(SHARED_TEST_PARAMS[cls.__name__])
    est = cls(**params, max_epochs=3, random_state=0, device="cpu")
    with warnings.catch_warnings():
        # convergence and constant-code warnings are expected on such data
        warnings.simplefilter("ignore")
        try:
            est.fit(X, y if is_classifier(est) else None)
        except ValueError as error:
            assert str(error), "a ValueError must say what is wrong"
            event(f"ValueError: {str(error)[:40]}")
            return
        check_outputs(est, X)
        event("fitted")
