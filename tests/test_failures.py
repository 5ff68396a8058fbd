"""Failures during training, for every estimator: an interrupt keeps a usable
model, a diverging loss stops with a clear error, gradients can be clipped,
and a bottleneck that ignores its input is reported."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from skorch.callbacks import Callback

import skae._training.data as training_data
from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    NonFiniteLossError,
    ReconstructionOutlierDetector,
    SupervisedAutoencoder,
    VariationalAutoencoder,
)
from skae._validation import warn_if_codes_constant

ESTIMATORS = [
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SupervisedAutoencoder,
    ReconstructionOutlierDetector,
    VariationalAutoencoder,
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((120, 6)).astype(np.float32), np.arange(120) % 3


def fit(est, data, X=None):
    X = data[0] if X is None else X
    return est.fit(X, data[1]) if isinstance(est, SupervisedAutoencoder) else est.fit(X)


def make(cls, **params):
    params = {"hidden_layer_sizes": (8,), "random_state": 0, **params}
    return cls(2, device="cpu", **params)


def finite_outputs(est, X):
    for method in ("transform", "predict", "predict_proba", "score_samples"):
        if hasattr(est, method):
            assert np.all(np.isfinite(getattr(est, method)(X))), method


class InterruptAt(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C does) at the end of ``epoch``, or
    after batch ``batch`` of it."""

    def __init__(self, epoch, batch=None):
        self.epoch = epoch
        self.batch = batch

    def on_train_begin(self, net, **kwargs):
        self.batches_ = 0

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch and self.batch is not None:
            self.batches_ += 1
            if self.batches_ == self.batch:
                raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch and self.batch is None:
            raise KeyboardInterrupt


class KeepWeights(Callback):
    """Record the module's weights at the end of every epoch."""

    def on_train_begin(self, net, **kwargs):
        self.weights_ = []

    def on_epoch_end(self, net, **kwargs):
        self.weights_.append(
            {k: v.clone() for k, v in net.module_.state_dict().items()}
        )


# --- interrupts -------------------------------------------------------------


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_interrupt_keeps_a_usable_model(cls, data):
    est = make(cls, callbacks=[InterruptAt(3)], max_epochs=50)
    with pytest.warns(RuntimeWarning, match="interrupted during epoch 3"):
        fit(est, data)
    assert est.n_iter_ == len(est.history_) == 3
    finite_outputs(est, data[0])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_interrupt_within_an_epoch_drops_the_unfinished_epoch(cls, data):
    est = make(cls, callbacks=[InterruptAt(2, batch=1)], max_epochs=50)
    with pytest.warns(RuntimeWarning, match="epoch 2.*the 1 epochs that finished"):
        fit(est, data)
    assert est.n_iter_ == len(est.history_) == 1
    assert "train_loss" in est.history_[-1]
    finite_outputs(est, data[0])


def test_interrupt_in_the_first_epoch_leaves_a_model_with_no_history(data):
    est = make(AutoencoderTransformer, callbacks=[InterruptAt(1, batch=1)])
    with pytest.warns(RuntimeWarning, match="the 0 epochs that finished"):
        fit(est, data)
    assert est.n_iter_ == 0
    finite_outputs(est, data[0])


def test_interrupt_with_early_stopping_restores_the_best_weights(data):
    keep = KeepWeights()
    est = make(
        AutoencoderTransformer,
        loss="mse",
        early_stopping=True,
        n_iter_no_change=50,
        tol=1e-2,  # improvements soon fall below it: the best epoch is early
        callbacks=[("keep", keep), ("interrupt", InterruptAt(12))],
        max_epochs=100,
    )
    with pytest.warns(RuntimeWarning, match="interrupted"):
        fit(est, data)
    assert est.n_iter_ == 12
    best = dict(est.net_.callbacks_)["early_stopping"].best_epoch_
    assert best < 12, "the test needs a best epoch before the last"
    assert est.history_[best - 1, "valid_loss"] < est.history_[0, "valid_loss"]
    for name, tensor in est.net_.module_.state_dict().items():
        assert torch.equal(tensor, keep.weights_[best - 1][name]), name


# --- diverging training -------------------------------------------------------


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_diverging_fit_stops_with_a_clear_error(cls, data):
    # unscaled input and a far too high learning rate really diverge
    X = np.random.default_rng(0).standard_normal((120, 6)) * 1e6
    est = make(cls, lr=1e6, optimizer="sgd", max_epochs=50)
    if cls is VariationalAutoencoder:
        est.set_params(loss="mse")
    with pytest.raises(NonFiniteLossError, match=r"at epoch \d+, batch \d+") as info:
        fit(est, data, X)
    assert "max_grad_norm" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not hasattr(est, "net_")


def test_max_grad_norm_keeps_a_diverging_fit_finite(data):
    X = np.random.default_rng(0).standard_normal((200, 10)) * 1e6
    with pytest.raises(NonFiniteLossError):
        make(AutoencoderTransformer, lr=1e-3, optimizer="sgd", max_epochs=20).fit(X)
    est = make(
        AutoencoderTransformer, lr=1e-3, optimizer="sgd", max_epochs=20, max_grad_norm=1
    ).fit(X)
    assert np.all(np.isfinite(est.history_[:, "train_loss"]))
    assert np.all(np.isfinite(est.transform(X)))


class GradNorms(Callback):
    def on_train_begin(self, net, **kwargs):
        self.norms_ = []

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms_.append(
            float(
                torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(g) for g in grads])
                )
            )
        )


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_max_grad_norm_bounds_every_step(cls, data):
    norms = GradNorms()
    X = data[0] * 100  # large gradients
    est = make(cls, max_grad_norm=0.5, max_epochs=2, callbacks=[("norms", norms)])
    if cls is VariationalAutoencoder:
        est.set_params(loss="mse")
    if cls is ReconstructionOutlierDetector:  # it would standardize X back
        est.set_params(standardize=False)
    fit(est, data, X)
    assert len(norms.norms_) > 0
    assert max(norms.norms_) <= 0.5 * (1 + 1e-5)
    unclipped = GradNorms()
    fit(est.set_params(max_grad_norm=None, callbacks=[("norms", unclipped)]), data, X)
    assert max(unclipped.norms_) > 0.5


def test_max_grad_norm_is_validated(data):
    with pytest.raises(ValueError, match="max_grad_norm"):
        make(AutoencoderTransformer, max_grad_norm=0).fit(data[0])


# --- a bottleneck that ignores its input --------------------------------------


def test_constant_codes_warn_after_fit():
    # Adam at lr=1.0 kills every ReLU unit of the encoder: each code is then
    # its layer's bias, whatever the input
    X = np.random.default_rng(0).standard_normal((500, 20))
    est = AutoencoderTransformer(
        4, hidden_layer_sizes=(32, 16), lr=1.0, max_epochs=30, random_state=0
    )
    with pytest.warns(UserWarning, match="4 of the 4 code units take the same value"):
        est.fit(X)
    assert np.ptp(est.transform(X), axis=0).max() == 0


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_healthy_fit_does_not_warn(cls, data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(make(cls, max_epochs=5), data)


@pytest.mark.parametrize("layout", [np.asarray, sp.csr_matrix])
def test_identical_rows_do_not_warn(layout):
    X = np.ones((50, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoencoderTransformer(2, max_epochs=2, random_state=0).fit(layout(X))


@pytest.mark.parametrize("layout", [np.asarray, sp.csr_matrix])
def test_constant_codes_warn_on_sparse_and_dense_input(layout):
    # as test_constant_codes_warn_after_fit, with rows that vary in one
    # column only
    X = np.zeros((500, 20))
    X[::2, 3] = 1.0
    est = AutoencoderTransformer(
        4,
        hidden_layer_sizes=(32, 16),
        loss="mse",
        lr=1.0,
        max_epochs=30,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="code units take the same value"):
        est.fit(layout(X))


def test_partial_fit_does_not_check_the_codes():
    X = np.random.default_rng(0).standard_normal((500, 20))
    est = AutoencoderTransformer(
        4, hidden_layer_sizes=(32, 16), lr=1.0, max_epochs=30, random_state=0
    )
    with pytest.warns(UserWarning):
        est.fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.partial_fit(X)


# --- input the float32 network cannot handle ------------------------------------


@pytest.mark.parametrize(
    "cls",
    [AutoencoderTransformer, SupervisedAutoencoder, VariationalAutoencoder],
)
def test_values_too_large_for_float32_are_a_clear_error(cls, data):
    X = data[0].astype(np.float64)
    X[0, 0] = 1e20
    with pytest.raises(ValueError, match="magnitude up to 1e\\+20.*Scale X"):
        fit(make(cls), data, X)


def test_the_outlier_detector_standardizes_large_values(data):
    X = data[0].astype(np.float64) * 1e20
    est = fit(make(ReconstructionOutlierDetector, max_epochs=2), data, X)
    assert np.all(np.isfinite(est.score_samples(X)))


def test_non_finite_outputs_are_a_clear_error(data):
    est = fit(make(AutoencoderTransformer, loss="mse", max_epochs=2), data)
    X = np.full((3, data[0].shape[1]), 3e38)
    with pytest.raises(ValueError, match="output is not finite"):
        est.score_samples(X)


def test_batch_norm_needs_two_rows_per_batch(data):
    with pytest.raises(ValueError, match="batch_norm=True needs batch_size >= 2"):
        fit(make(AutoencoderTransformer, batch_norm=True, batch_size=1), data)


def test_variational_autoencoder_trains_on_unscaled_input(data):
    # exp(log_var) overflowed on input in the thousands before the
    # log-variance was clamped
    X = data[0] * 1000
    est = make(VariationalAutoencoder, loss="mse", max_epochs=3).fit(X)
    assert np.all(np.isfinite(est.score_samples(X)))


# --- non-finite input at inference -------------------------------------------

INFERENCE_METHODS = (
    "transform",
    "predict",
    "predict_proba",
    "score_samples",
    "decision_function",
    "feature_errors",
    "score",
)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize(
    "value, message",
    [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")],
)
def test_non_finite_input_at_inference(cls, data, value, message, monkeypatch):
    # inference blocks of 16 rows: the bad row is in the seventh
    monkeypatch.setattr(training_data, "BLOCK_MIN_ROWS", 16)
    monkeypatch.setattr(training_data, "BLOCK_MAX_ROWS", 16)
    est = fit(make(cls, max_epochs=2, batch_size=16), data)
    X = data[0].copy()
    X[100, 1] = value
    for method in INFERENCE_METHODS:
        if hasattr(est, method):
            args = (X, data[1]) if method == "score" else (X,)
            with pytest.raises(ValueError, match=message):
                getattr(est, method)(*args)


def test_the_codes_check_copies_no_rows():
    # it once sorted copies of its 1024-row sample (np.unique), 24 MB of the
    # scaling benchmark's 25 MB of growth above 152 MB of data
    X = np.random.default_rng(0).standard_normal((4096, 500), dtype=np.float32)
    est = AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_epochs=1).fit(X)
    seen = []
    transform = est._transform
    est._transform = lambda sample: seen.append(sample) or transform(sample)
    tracemalloc.start()
    try:
        warn_if_codes_constant(est._transform, X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (sample,) = seen
    assert len(sample) == 1024 and np.shares_memory(sample, X)
    assert peak < 0.05 * 1024 * X.shape[1] * 4  # a small share of the sample
