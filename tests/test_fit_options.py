"""The fit options every estimator shares: sample weights, an explicit
validation set, optimizer arguments, image layout, and what a fitted
estimator tells about itself."""

import inspect

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Checkpoint, LRScheduler
from test_common import public_estimators

from skae import (
    AutoencoderTransformer,
    ReconstructionOutlierDetector,
    SupervisedAutoencoder,
)

ESTIMATORS = public_estimators()


def make(cls, **params):
    defaults = {
        "n_components": 2,
        "hidden_layer_sizes": (8,),
        "max_epochs": 3,
        "random_state": 0,
        "device": "cpu",
    }
    return cls(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((40, 6)).astype(np.float32), np.arange(40) % 3


def fit(est, X, y, **fit_params):
    if isinstance(est, SupervisedAutoencoder):
        return est.fit(X, y, **fit_params)
    return est.fit(X, **fit_params)


# ----------------------------------------------------------------------
# sample_weight


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_estimator_takes_sample_weight(cls, data):
    X, y = data
    weights = np.arange(len(X)) % 4
    est = fit(make(cls), X, y, sample_weight=weights)
    assert est.n_iter_ == 3
    args = (X, y) if cls is SupervisedAutoencoder else (X, None)
    est.partial_fit(*args, sample_weight=weights)
    assert est.n_iter_ == 4
    assert "sample_weight" in inspect.signature(cls.fit).parameters
    assert "sample_weight" in inspect.signature(cls.partial_fit).parameters


@pytest.mark.parametrize("cls", [AutoencoderTransformer, SupervisedAutoencoder])
def test_integer_weights_act_as_repeated_rows(cls, data, assert_float32_close):
    # One batch per epoch (batch_size above the row count): a weighted mean of
    # the rows' losses equals the plain mean over the repeated rows, up to
    # the order in which float32 sums them.
    X, y = data
    weights = np.arange(len(X)) % 3
    params = {"batch_size": 256, "max_epochs": 5, "loss": "mse"}
    weighted = fit(make(cls, **params), X, y, sample_weight=weights)
    repeated = fit(make(cls, **params), np.repeat(X, weights, 0), np.repeat(y, weights))
    assert_float32_close(
        weighted.transform(X), repeated.transform(X), n_layers=4, width=64
    )


def test_weights_of_ones_train_as_no_weights(data, assert_float32_close):
    # the weighted loss is another computation of the same mean
    X, y = data
    a = make(AutoencoderTransformer).fit(X)
    b = make(AutoencoderTransformer).fit(X, sample_weight=np.ones(len(X)))
    assert_float32_close(a.transform(X), b.transform(X), n_layers=4, width=64)


@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(40), "Negative values in data passed to `sample_weight`"),
        (np.zeros(40), "Sample weights must contain at least one non-zero"),
        (np.ones(39), r"sample_weight.shape == \(39,\), expected \(40,\)"),
    ],
)
def test_bad_sample_weight(data, weights, message):
    with pytest.raises(ValueError, match=message):
        make(AutoencoderTransformer).fit(data[0], sample_weight=weights)


# ----------------------------------------------------------------------
# X_val


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_validation_rows_are_scored_and_watched(cls, data):
    X, y = data
    est = fit(
        make(cls, early_stopping=True, max_epochs=4),
        X[:30],
        y[:30],
        X_val=X[30:],
        y_val=y[30:],
    )
    # no split: every training row trains, and the validation rows are X_val
    assert all(epoch["train_batch_count"] == 1 for epoch in est.history_)
    assert est.history_[-1]["batches"][-1]["valid_batch_size"] == 10
    assert np.all(np.isfinite(est.history_[:, "valid_loss"]))


def test_validation_rows_are_recorded_without_early_stopping(data):
    X, _ = data
    est = make(AutoencoderTransformer).fit(X[:30], X_val=X[30:])
    assert len(est.history_[:, "valid_loss"]) == est.n_iter_


def test_validation_weights_weigh_the_validation_loss(data):
    X, _ = data
    est = make(AutoencoderTransformer, max_epochs=1)
    plain = est.fit(X[:30], X_val=X[30:]).history_[-1, "valid_loss"]
    weights = np.r_[np.ones(5), np.zeros(5)]
    weighted = est.fit(X[:30], X_val=X[30:], sample_weight_val=weights)
    expected = -est.score_samples(X[30:35]).mean()
    assert weighted.history_[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    assert weighted.history_[-1, "valid_loss"] != plain


def test_supervised_validation_needs_its_labels(data):
    X, y = data
    with pytest.raises(ValueError, match="pass y_val with X_val"):
        make(SupervisedAutoencoder).fit(X, y, X_val=X)
    with pytest.raises(ValueError, match=r"y_val contains labels \[7\]"):
        make(SupervisedAutoencoder).fit(X, y, X_val=X[:2], y_val=[0, 7])


@pytest.mark.parametrize(
    "fit_params, message",
    [
        ({"y_val": np.zeros(10)}, "but X_val is None"),
        ({"sample_weight_val": np.ones(10)}, "but X_val is None"),
        ({"X_val": np.zeros((10, 5))}, "X has 5 features"),
        ({"X_val": np.zeros((10, 6)), "sample_weight_val": np.ones(3)}, r"\(3,\)"),
    ],
)
def test_bad_validation_data(data, fit_params, message):
    with pytest.raises(ValueError, match=message):
        make(AutoencoderTransformer).fit(data[0], **fit_params)


# ----------------------------------------------------------------------
# optimizer__*


def test_optimizer_arguments_reach_the_optimizer(data):
    est = make(AutoencoderTransformer, optimizer="rmsprop", optimizer__momentum=0.5)
    assert est.get_params()["optimizer__momentum"] == 0.5
    assert clone(est).get_params()["optimizer__momentum"] == 0.5
    est.fit(data[0])
    assert est.net_.optimizer_.param_groups[0]["momentum"] == 0.5
    # a warm start takes the values given now
    est.set_params(warm_start=True, optimizer__momentum=0.25).fit(data[0])
    assert est.net_.optimizer_.param_groups[0]["momentum"] == 0.25


def test_grid_search_over_weight_decay(data):
    search = GridSearchCV(
        make(AutoencoderTransformer, max_epochs=2),
        {"optimizer__weight_decay": [0.0, 0.5]},
        cv=2,
    ).fit(data[0])
    assert list(search.cv_results_["param_optimizer__weight_decay"]) == [0.0, 0.5]
    decay = search.best_estimator_.net_.optimizer_.param_groups[0]["weight_decay"]
    assert decay == search.best_params_["optimizer__weight_decay"]


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"optimizer": "sgd", "optimizer__momentum": -1},
            "SGD does not take lr=0.001 with optimizer__momentum=-1: Invalid momentum",
        ),
        (
            {"optimizer__betas": 3},
            "Adam does not take lr=0.001 with optimizer__betas=3",
        ),
        ({"optimizer__foo": 1}, "unexpected keyword argument 'foo'"),
    ],
)
def test_bad_optimizer_arguments(data, params, message):
    with pytest.raises(ValueError, match=message):
        make(AutoencoderTransformer, **params).fit(data[0])


def test_unknown_routed_prefix_is_named(data):
    with pytest.raises(TypeError, match="optimizer__<name> arguments"):
        make(AutoencoderTransformer, criterion__x=1).fit(data[0])


# ----------------------------------------------------------------------
# Image layout


def test_channels_last_rows_give_the_same_model():
    rng = np.random.default_rng(0)
    images = rng.random((30, 3, 6, 5)).astype(np.float32)  # (C, H, W)
    chw = images.reshape(30, -1)
    hwc = images.transpose(0, 2, 3, 1).reshape(30, -1)
    params = {"n_components": 4, "conv_channels": (4,), "max_epochs": 3}
    first = make(AutoencoderTransformer, image_shape=(3, 6, 5), **params).fit(chw)
    last = make(
        AutoencoderTransformer, image_shape=(6, 5, 3), channels_last=True, **params
    ).fit(hwc)
    # the same pixels in the same (C, H, W) tensors: the same computation
    assert_array_equal(first.transform(chw), last.transform(hwc))
    reconstructed = first.predict(chw).reshape(30, 3, 6, 5).transpose(0, 2, 3, 1)
    assert_array_equal(reconstructed.reshape(30, -1), last.predict(hwc))


def test_channels_last_reads_the_shape_in_its_order():
    X = np.zeros((10, 6 * 5 * 3), dtype=np.float32)
    est = make(AutoencoderTransformer, image_shape=(6, 5, 3), channels_last=True)
    assert est.fit(X).net_.architecture["image_shape"] == (3, 6, 5)
    est = make(AutoencoderTransformer, image_shape=(6, 5, 4), channels_last=True)
    with pytest.raises(ValueError, match="does not fit the 90 features"):
        est.fit(X)


# ----------------------------------------------------------------------
# The five methods, and what a fitted estimator tells


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_estimator_has_the_five_methods(cls):
    for method in ("fit", "transform", "inverse_transform", "predict", "score_samples"):
        if method == "predict" and cls.__name__ == "VariationalAutoencoder":
            continue  # a generative model: sample, not predict
        assert callable(getattr(cls, method, None)), (cls.__name__, method)


def test_detector_codes_decode_to_the_data_units():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(300, 1))
    # one latent factor on wildly different scales
    X = np.hstack([t, 100 * t, 1e4 * t + 5e4]) + 0.01 * rng.normal(size=(300, 3))
    detector = make(
        ReconstructionOutlierDetector,
        n_components=1,
        n_estimators=3,
        max_epochs=60,
    ).fit(X)
    codes = detector.transform(X)
    assert codes.shape == (300, 3)  # each member's code
    decoded = detector.inverse_transform(codes)
    # every feature reconstructed in its own units, each to a small part of
    # its spread (in standardized units the network errs alike on all three)
    error = np.abs(decoded - X).mean(axis=0) / X.std(axis=0)
    assert np.all(error < 0.3), error
    assert detector.get_feature_names_out().tolist() == [
        f"reconstructionoutlierdetector{i}" for i in range(3)
    ]


def test_supervised_scores_are_minus_the_reconstruction_error(data):
    X, y = data
    est = make(SupervisedAutoencoder, loss="mse").fit(X, y)
    decoded = est.inverse_transform(est.transform(X))
    expected = -np.mean((decoded - X) ** 2, axis=1)
    np.testing.assert_allclose(est.score_samples(X), expected, rtol=1e-5)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_parameter_count(cls, data):
    est = fit(make(cls), *data)
    expected = sum(p.numel() for p in est.net_.module_.parameters())
    assert est.n_parameters_ == expected > 0


def test_html_repr_links_to_skae_api_pages():
    html = make(AutoencoderTransformer)._repr_html_()
    assert "skae.readthedocs.io/en/latest/generated/skae.AutoencoderTransformer" in html
    assert "modules/generated" not in html  # scikit-learn's API pages


# ----------------------------------------------------------------------
# skorch callbacks a user brings


def test_skorch_checkpoint_and_scheduler(data, tmp_path):
    est = make(
        AutoencoderTransformer,
        max_epochs=4,
        early_stopping=True,
        callbacks=[
            Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best"),
            LRScheduler(policy="StepLR", step_size=1, gamma=0.5),
        ],
    ).fit(data[0])
    assert (tmp_path / "params.pt").exists()
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 / 16)
    # the checkpoint holds the module's weights, loadable into it
    state = torch.load(tmp_path / "params.pt", weights_only=True)
    assert set(state) == set(est.net_.module_.state_dict())


def test_sparse_weighted_fit(data):
    X, _ = data
    est = make(AutoencoderTransformer).fit(sp.csr_matrix(X), sample_weight=np.ones(40))
    assert est.transform(X).shape == (40, 2)
