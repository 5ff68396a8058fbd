"""How BaseAutoencoder trains every estimator, tested once over all of them:
epochs and history, early stopping, partial_fit and warm starts, callbacks,
verbosity, randomness, sample weights, validation data, optimizers, and
failures during training (interrupts, a diverging loss, gradient clipping,
a bottleneck that ignores its input). The training pieces themselves
(losses, batches, the early stopping rule) have unit tests in
test_training_*.py."""

import inspect
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import assert_same_weights, labels, takes, weights
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, Checkpoint, LRScheduler

import skae._training.net as training_net
from skae import AutoencoderTransformer, NonFiniteLossError, SupervisedAutoencoder
from skae._validation import warn_if_codes_constant


def finite_outputs(est, X):
    for method in ("transform", "predict", "predict_proba", "score_samples"):
        if hasattr(est, method):
            assert np.all(np.isfinite(getattr(est, method)(X))), method


class WeightRecorder(Callback):
    """Keeps a copy of the weights after every epoch."""

    def on_train_begin(self, net, **kwargs):
        self.snapshots_ = []

    def on_epoch_end(self, net, **kwargs):
        self.snapshots_.append(
            {k: v.clone() for k, v in net.module_.state_dict().items()}
        )


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


class PoisonWhenArmed(Callback):
    """Once armed, turn a weight into NaN before a training batch, so that
    its loss is NaN."""

    armed = False

    def on_batch_begin(self, net, training=False, **kwargs):
        if self.armed and training:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


class GradNorms(Callback):
    """The global gradient norm of every step."""

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


# --- epochs, history and early stopping -------------------------------------


def test_history_and_n_iter(estimator_class, make_estimator, fit_estimator, X):
    est = fit_estimator(make_estimator(estimator_class, max_epochs=7, tol=0), X)
    assert est.n_iter_ == 7 == len(est.history_)
    assert all(np.isfinite(row["train_loss"]) for row in est.history_)


def test_stops_when_training_loss_plateaus(
    estimator_class, make_estimator, fit_estimator, X
):
    recorder = WeightRecorder()
    est = make_estimator(
        estimator_class,
        max_epochs=1000,
        tol=1e6,
        n_iter_no_change=2,
        callbacks=[recorder],
    )
    fit_estimator(est, X)
    # the first epoch sets the best loss; no later one improves on it by
    # tol, so training stops n_iter_no_change epochs after it
    assert est.n_iter_ == 3
    assert "valid_loss" not in est.history_[-1]
    # and the callbacks saw the epoch that ended it
    assert len(recorder.snapshots_) == 3


def test_early_stopping_restores_best_weights(
    estimator_class, make_estimator, fit_estimator, X
):
    recorder = WeightRecorder()
    est = make_estimator(
        estimator_class,
        early_stopping=True,
        n_iter_no_change=3,
        max_epochs=300,
        lr=0.05,
        tol=0.0,
        callbacks=[recorder],
    )
    fit_estimator(est, X)
    valid = [row["valid_loss"] for row in est.history_]
    assert est.n_iter_ < 300
    best = int(np.argmin(valid))
    assert best < len(valid) - 1
    assert_same_weights(est, recorder.snapshots_[best])


def test_early_stopping_needs_enough_samples(
    estimator_class, make_estimator, fit_estimator, X
):
    # two rows (the detector's least, two classes for a classifier), both
    # taken for validation
    est = make_estimator(estimator_class, early_stopping=True, validation_fraction=0.9)
    with pytest.raises(ValueError, match="empty training or validation set"):
        fit_estimator(est, X[:2])


def test_fewer_samples_than_batch_size(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class, batch_size=256), X[:3])
    assert est.transform(X[:3]).shape[0] == 3


def test_batch_norm_with_trailing_single_row_batch(
    estimator_class, make_estimator, fit_estimator
):
    # 65 rows in batches of 64 would leave a batch of one, which batch
    # normalisation cannot train on: it is merged into the one before.
    X = np.random.default_rng(0).uniform(size=(65, 4))
    est = make_estimator(estimator_class, batch_norm=True, batch_size=64, max_epochs=1)
    fit_estimator(est, X)
    assert all(epoch["train_batch_count"] == 1 for epoch in est.history_)


# --- partial_fit and warm starts ----------------------------------------------


def test_partial_fit_trains_one_epoch_per_call(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(estimator_class, lr=0.03)
    for call in range(1, 11):
        fit_estimator(est, X, method="partial_fit")
        assert est.n_iter_ == call
    assert est.history_[-1]["train_loss"] < est.history_[0]["train_loss"]


def test_partial_fit_rejects_other_feature_count(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class), X, method="partial_fit")
    with pytest.raises(ValueError, match="X has 5 features, but"):
        fit_estimator(est, X[:, :5], method="partial_fit")


def test_warm_start_continues_training(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(estimator_class, warm_start=True, max_epochs=4, tol=0)
    first = weights(fit_estimator(est, X))
    fit_estimator(est, X)
    assert est.n_iter_ == 8
    assert any(not torch.equal(first[k], v) for k, v in weights(est).items())


def test_fit_without_warm_start_starts_afresh(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class, max_epochs=4, tol=0), X)
    fit_estimator(est, X)
    assert est.n_iter_ == 4
    fresh = fit_estimator(make_estimator(estimator_class, max_epochs=4, tol=0), X)
    assert_same_weights(est, fresh)


def test_warm_start_takes_new_training_settings(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(estimator_class, warm_start=True, max_epochs=2, tol=0)
    fit_estimator(est, X)
    fit_estimator(est.set_params(lr=0.05, optimizer="sgd"), X)
    assert isinstance(est.net_.optimizer_, torch.optim.SGD)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.05
    assert est.n_iter_ == 4


def test_warm_start_refuses_a_new_architecture(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class, warm_start=True), X)
    Z = est.transform(X)
    with pytest.raises(ValueError, match=r"architecture changed \(n_components\)"):
        fit_estimator(est.set_params(n_components=5), X)
    # the fitted network is intact
    assert_array_equal(est.set_params(n_components=2).transform(X), Z)


# --- callbacks ----------------------------------------------------------------


def test_callbacks_reach_skorch(estimator_class, make_estimator, fit_estimator, X):
    class Counter(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    est = make_estimator(
        estimator_class, callbacks=[("counter", Counter())], max_epochs=6, tol=0
    )
    fit_estimator(est, X)
    assert dict(est.net_.callbacks_)["counter"].epochs_ == 6


def test_gradient_callbacks_see_gradients(
    estimator_class, make_estimator, fit_estimator, X
):
    norms = GradNorms()
    est = make_estimator(
        estimator_class, callbacks=[("norms", norms)], max_epochs=2, tol=0
    )
    fit_estimator(est, X)
    # one batch per epoch
    assert len(norms.norms_) == 2 and all(n > 0 for n in norms.norms_)


def test_batch_callbacks_see_every_batch(make_estimator, X):
    # only callbacks overriding a batch method are called per batch; those
    # must see every batch, with the step's loss, as under skorch's notify
    class BatchLog(Callback):
        def initialize(self):
            self.begun_, self.losses_ = [], []
            return self

        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            self.begun_.append((len(batch[0]), training))

        def on_batch_end(self, net, batch=None, training=False, loss=None, **kw):
            self.losses_.append((loss.item(), training))

    est = make_estimator(
        AutoencoderTransformer,
        callbacks=[("log", BatchLog())],
        max_epochs=2,
        tol=0,
        early_stopping=True,
        batch_size=32,
    ).fit(X)
    log = dict(est.net_.callbacks_)["log"]
    # (loss, rows, training) of every batch, in order, from history_
    recorded = [
        (batch[f"{prefix}_loss"], batch[f"{prefix}_batch_size"], prefix == "train")
        for epoch in est.history_
        for prefix in ("train", "valid")
        for batch in epoch["batches"]
        if f"{prefix}_loss" in batch
    ]
    assert len(recorded) > 4 and any(not training for *_, training in recorded)
    np.testing.assert_allclose(
        [loss for loss, _ in log.losses_], [loss for loss, *_ in recorded], rtol=1e-6
    )
    assert [t for _, t in log.losses_] == [t for *_, t in recorded]
    assert log.begun_ == [(rows, t) for _, rows, t in recorded]


def test_skorch_checkpoint_and_scheduler(make_estimator, X, tmp_path):
    est = make_estimator(
        AutoencoderTransformer,
        max_epochs=4,
        early_stopping=True,
        callbacks=[
            Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best"),
            LRScheduler(policy="StepLR", step_size=1, gamma=0.5),
        ],
    ).fit(X)
    assert (tmp_path / "params.pt").exists()
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 / 16)
    # the checkpoint holds the module's weights, loadable into it
    state = torch.load(tmp_path / "params.pt", weights_only=True)
    assert set(state) == set(est.net_.module_.state_dict())


# --- verbosity ------------------------------------------------------------------


def test_verbose_0_is_silent(estimator_class, make_estimator, fit_estimator, X, capsys):
    fit_estimator(make_estimator(estimator_class, early_stopping=True), X)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_1_shows_epoch_progress_bar(
    estimator_class, make_estimator, fit_estimator, X, capsys
):
    fit_estimator(make_estimator(estimator_class, verbose=1, tol=0), X)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err and "train_loss" in err


def test_verbose_2_prints_a_row_per_epoch(
    estimator_class, make_estimator, fit_estimator, X, capsys
):
    fit_estimator(make_estimator(estimator_class, verbose=2, tol=0), X)
    out = capsys.readouterr().out
    assert "train_loss" in out and len(out.strip().splitlines()) >= 5


# --- randomness -------------------------------------------------------------------


def test_same_seed_same_weights_bit_for_bit(
    estimator_class, make_estimator, fit_estimator, X
):
    params = dict(dropout=0.2, early_stopping=True, max_epochs=5)
    a = fit_estimator(make_estimator(estimator_class, **params), X)
    b = fit_estimator(make_estimator(estimator_class, **params), X)
    assert_same_weights(a, b)
    assert_array_equal(a.transform(X), b.transform(X))
    c = fit_estimator(make_estimator(estimator_class, random_state=1, **params), X)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_fit_leaves_global_rng_untouched(
    estimator_class, make_estimator, fit_estimator, X
):
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    for random_state in (None, 0, np.random.RandomState(0)):
        est = make_estimator(
            estimator_class,
            random_state=random_state,
            dropout=0.2,
            early_stopping=True,
            max_epochs=1,
        )
        fit_estimator(est, X)
        assert_array_equal(np.random.get_state()[1], numpy_state[1])
        assert torch.equal(torch.get_rng_state(), torch_state)


def test_unseeded_fits_differ(estimator_class, make_estimator, fit_estimator, X):
    a = fit_estimator(make_estimator(estimator_class, random_state=None), X)
    b = fit_estimator(make_estimator(estimator_class, random_state=None), X)
    assert not np.array_equal(a.transform(X), b.transform(X))


# --- sample_weight ------------------------------------------------------------------


def test_every_estimator_takes_sample_weight(
    estimator_class, make_estimator, fit_estimator, X
):
    sample_weight = np.arange(len(X)) % 4
    est = fit_estimator(make_estimator(estimator_class), X, sample_weight=sample_weight)
    assert est.n_iter_ == 3
    fit_estimator(est, X, method="partial_fit", sample_weight=sample_weight)
    assert est.n_iter_ == 4
    assert "sample_weight" in inspect.signature(estimator_class.fit).parameters
    assert "sample_weight" in inspect.signature(estimator_class.partial_fit).parameters


@pytest.mark.parametrize("cls", [AutoencoderTransformer, SupervisedAutoencoder])
def test_integer_weights_act_as_repeated_rows(
    cls, make_estimator, fit_estimator, X, assert_float32_close
):
    # One batch per epoch (batch_size above the row count): a weighted mean of
    # the rows' losses equals the plain mean over the repeated rows, up to
    # the order in which float32 sums them.
    y = labels(len(X))
    sample_weight = np.arange(len(X)) % 3
    params = {"batch_size": 256, "max_epochs": 5, "loss": "mse"}
    weighted = fit_estimator(
        make_estimator(cls, **params), X, y, sample_weight=sample_weight
    )
    repeated = fit_estimator(
        make_estimator(cls, **params),
        np.repeat(X, sample_weight, 0),
        np.repeat(y, sample_weight),
    )
    assert_float32_close(
        weighted.transform(X), repeated.transform(X), n_layers=4, width=64
    )


def test_weights_of_ones_train_as_no_weights(make_estimator, X, assert_float32_close):
    # the weighted loss is another computation of the same mean
    a = make_estimator(AutoencoderTransformer).fit(X)
    b = make_estimator(AutoencoderTransformer).fit(X, sample_weight=np.ones(len(X)))
    assert_float32_close(a.transform(X), b.transform(X), n_layers=4, width=64)


@pytest.mark.parametrize(
    "sample_weight, message",
    [
        (-np.ones(60), "Negative values in data passed to `sample_weight`"),
        (np.zeros(60), "Sample weights must contain at least one non-zero"),
        (np.ones(59), r"sample_weight.shape == \(59,\), expected \(60,\)"),
    ],
)
def test_bad_sample_weight(
    estimator_class, make_estimator, fit_estimator, X, sample_weight, message
):
    with pytest.raises(ValueError, match=message):
        fit_estimator(make_estimator(estimator_class), X, sample_weight=sample_weight)


# --- validation data --------------------------------------------------------------


def test_validation_rows_are_scored_and_watched(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(estimator_class, early_stopping=True, max_epochs=4)
    fit_estimator(est, X[:40], X_val=X[40:])
    # no split: every training row trains, and the validation rows are X_val
    assert all(epoch["train_batch_count"] == 1 for epoch in est.history_)
    assert est.history_[-1]["batches"][-1]["valid_batch_size"] == 20
    assert np.all(np.isfinite(est.history_[:, "valid_loss"]))


def test_validation_rows_are_recorded_without_early_stopping(make_estimator, X):
    est = make_estimator(AutoencoderTransformer).fit(X[:40], X_val=X[40:])
    assert len(est.history_[:, "valid_loss"]) == est.n_iter_


def test_validation_weights_weigh_the_validation_loss(make_estimator, X):
    est = make_estimator(AutoencoderTransformer, max_epochs=1)
    plain = est.fit(X[:40], X_val=X[40:50]).history_[-1, "valid_loss"]
    sample_weight_val = np.r_[np.ones(5), np.zeros(5)]
    weighted = est.fit(X[:40], X_val=X[40:50], sample_weight_val=sample_weight_val)
    expected = -est.score_samples(X[40:45]).mean()
    assert weighted.history_[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    assert weighted.history_[-1, "valid_loss"] != plain


@pytest.mark.parametrize(
    "fit_params, message",
    [
        ({"y_val": np.zeros(10)}, "but X_val is None"),
        ({"sample_weight_val": np.ones(10)}, "but X_val is None"),
        ({"X_val": np.zeros((10, 5))}, "X has 5 features"),
        ({"X_val": np.zeros((10, 6)), "sample_weight_val": np.ones(3)}, r"\(3,\)"),
    ],
)
def test_bad_validation_data(make_estimator, X, fit_params, message):
    with pytest.raises(ValueError, match=message):
        make_estimator(AutoencoderTransformer).fit(X, **fit_params)


# --- optimizers ---------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop", "adagrad"])
def test_optimizer_by_name(make_estimator, X, optimizer):
    est = make_estimator(AutoencoderTransformer, optimizer=optimizer).fit(X)
    assert isinstance(est.net_.optimizer_, training_net.OPTIMIZERS[optimizer])


def test_optimizer_by_class(estimator_class, make_estimator, fit_estimator, X):
    est = make_estimator(estimator_class, optimizer=torch.optim.NAdam, lr=0.01)
    fit_estimator(est, X)
    assert isinstance(est.net_.optimizer_, torch.optim.NAdam)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.01


def test_optimizer_arguments_reach_the_optimizer(make_estimator, X):
    est = make_estimator(
        AutoencoderTransformer, optimizer="rmsprop", optimizer__momentum=0.5
    )
    assert est.get_params()["optimizer__momentum"] == 0.5
    assert clone(est).get_params()["optimizer__momentum"] == 0.5
    est.fit(X)
    assert est.net_.optimizer_.param_groups[0]["momentum"] == 0.5
    # a warm start takes the values given now
    est.set_params(warm_start=True, optimizer__momentum=0.25).fit(X)
    assert est.net_.optimizer_.param_groups[0]["momentum"] == 0.25


def test_grid_search_over_weight_decay(make_estimator, X):
    search = GridSearchCV(
        make_estimator(AutoencoderTransformer, max_epochs=2),
        {"optimizer__weight_decay": [0.0, 0.5]},
        cv=2,
    ).fit(X)
    assert list(search.cv_results_["param_optimizer__weight_decay"]) == [0.0, 0.5]
    decay = search.best_estimator_.net_.optimizer_.param_groups[0]["weight_decay"]
    assert decay == search.best_params_["optimizer__weight_decay"]


def test_optimizer_lr_takes_the_place_of_lr(make_estimator, X):
    # as skorch routes it
    est = make_estimator(AutoencoderTransformer, optimizer__lr=0.02).fit(X)
    assert [group["lr"] for group in est.net_.optimizer_.param_groups] == [0.02]


def test_param_groups_reach_the_optimizer(make_estimator, X):
    groups = [("decoder*", {"lr": 0.02, "weight_decay": 0.1})]
    est = make_estimator(AutoencoderTransformer, optimizer__param_groups=groups)
    assert clone(est).get_params()["optimizer__param_groups"] == groups
    est.fit(X)
    decoder, rest = est.net_.optimizer_.param_groups
    n_decoder = sum(
        1 for name, _ in est.net_.module_.named_parameters() if "decoder" in name
    )
    assert len(decoder["params"]) == n_decoder and len(rest["params"]) > 0
    assert (decoder["lr"], decoder["weight_decay"]) == (0.02, 0.1)
    assert (rest["lr"], rest["weight_decay"]) == (1e-3, 0)
    # a warm start keeps each group's options, with the lr given now
    est.set_params(warm_start=True, lr=0.005).fit(X)
    decoder, rest = est.net_.optimizer_.param_groups
    assert (decoder["lr"], rest["lr"]) == (0.02, 0.005)
    assert est.net_.optimizer_.state  # Adam's moments carried over
    # other groups: the weights carry over, the optimizer starts afresh
    est.set_params(optimizer__param_groups=[]).fit(X)
    assert len(est.net_.optimizer_.param_groups) == 1
    assert est.n_iter_ == 9


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
        (
            {"optimizer__lr": -1},
            "Adam does not take optimizer__lr=-1: Invalid learning rate",
        ),
        (
            {"optimizer__param_groups": [("decoder*", {"lr": -1})]},
            r"Adam does not take lr=0.001 with optimizer__param_groups=.*Invalid "
            "learning rate: -1",
        ),
        (
            {"optimizer__param_groups": [("decoder*", {"foo": 1})]},
            "unexpected keyword argument 'foo'",
        ),
        (
            {"optimizer__param_groups": "decoder*"},
            r"optimizer__param_groups must be a list of \(pattern, options\) pairs",
        ),
        (
            {"optimizer__param_groups": [("decoder*", 0.1)]},
            r"optimizer__param_groups must be a list of \(pattern, options\) pairs",
        ),
    ],
)
def test_bad_optimizer_arguments(make_estimator, X, params, message):
    with pytest.raises(ValueError, match=message):
        make_estimator(AutoencoderTransformer, **params).fit(X)


def test_unknown_routed_prefix_is_named(make_estimator, X):
    with pytest.raises(TypeError, match="optimizer__<name> arguments"):
        make_estimator(AutoencoderTransformer, criterion__x=1).fit(X)


# --- interrupts -------------------------------------------------------------------


def test_interrupt_keeps_a_usable_model(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(estimator_class, callbacks=[InterruptAt(3)], max_epochs=50)
    with pytest.warns(RuntimeWarning, match="interrupted during epoch 3") as record:
        fit_estimator(est, X)
    # the warning names the caller's file (conftest's fit_estimator here)
    assert record[0].filename.endswith("conftest.py")
    assert est.n_iter_ == len(est.history_) == 3
    finite_outputs(est, X)


def test_interrupt_within_an_epoch_drops_the_unfinished_epoch(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(
        estimator_class, callbacks=[InterruptAt(2, batch=1)], batch_size=16
    )
    with pytest.warns(RuntimeWarning, match="epoch 2.*the 1 epochs that finished"):
        fit_estimator(est, X)
    assert est.n_iter_ == len(est.history_) == 1
    assert "train_loss" in est.history_[-1]
    finite_outputs(est, X)


def test_interrupt_in_the_first_epoch_leaves_a_model_with_no_history(make_estimator, X):
    est = make_estimator(AutoencoderTransformer, callbacks=[InterruptAt(1, batch=1)])
    with pytest.warns(RuntimeWarning, match="the 0 epochs that finished"):
        est.fit(X)
    assert est.n_iter_ == 0
    finite_outputs(est, X)


def test_interrupt_with_early_stopping_restores_the_best_weights(make_estimator):
    X = np.random.default_rng(0).random((120, 6))
    keep = WeightRecorder()
    est = make_estimator(
        AutoencoderTransformer,
        loss="mse",
        early_stopping=True,
        n_iter_no_change=50,
        tol=1e-2,  # improvements soon fall below it: the best epoch is early
        callbacks=[("keep", keep), ("interrupt", InterruptAt(12))],
        max_epochs=100,
    )
    with pytest.warns(RuntimeWarning, match="interrupted"):
        est.fit(X)
    assert est.n_iter_ == 12
    best = dict(est.net_.callbacks_)["early_stopping"].best_epoch_
    assert best < 12, "the test needs a best epoch before the last"
    assert est.history_[best - 1, "valid_loss"] < est.history_[0, "valid_loss"]
    assert_same_weights(est, keep.snapshots_[best - 1])


# --- diverging training --------------------------------------------------------------


def test_a_diverging_fit_stops_with_a_clear_error(
    estimator_class, make_estimator, fit_estimator
):
    # unscaled input and a far too high learning rate really diverge
    X = np.random.default_rng(0).standard_normal((120, 6)) * 1e6
    est = make_estimator(estimator_class, lr=1e6, optimizer="sgd", max_epochs=50)
    with pytest.raises(NonFiniteLossError, match=r"at epoch \d+, batch \d+") as info:
        fit_estimator(est, X)
    message = str(info.value)
    for cause in ("not scaled", "learning rate", "max_grad_norm", "[0, 1]"):
        assert cause in message
    assert isinstance(info.value, ValueError)
    assert not hasattr(est, "net_")


def test_failed_refit_leaves_the_estimator_unfitted(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class), X)  # a good fit first
    X_wild = np.random.default_rng(0).standard_normal((120, 6)) * 1e6
    with pytest.raises(NonFiniteLossError):
        fit_estimator(est.set_params(lr=1e6, optimizer="sgd", max_epochs=50), X_wild)
    with pytest.raises(NotFittedError):
        est.transform(X)


def test_failed_partial_fit_keeps_the_fitted_model(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(
        estimator_class, tol=0, callbacks=[("poison", PoisonWhenArmed())]
    )
    fit_estimator(est, X)
    before, n_iter, Z = weights(est), est.n_iter_, est.transform(X)
    dict(est.net_.callbacks_)["poison"].armed = True
    with pytest.raises(NonFiniteLossError):
        fit_estimator(est, X, method="partial_fit")
    assert est.n_iter_ == n_iter == len(est.history_)
    assert_same_weights(est, before)
    assert_array_equal(est.transform(X), Z)


def test_max_grad_norm_keeps_a_diverging_fit_finite(make_estimator):
    X = np.random.default_rng(0).standard_normal((200, 10)) * 1e6
    params = {"lr": 1e-3, "optimizer": "sgd", "max_epochs": 20}
    with pytest.raises(NonFiniteLossError):
        make_estimator(AutoencoderTransformer, **params).fit(X)
    est = make_estimator(AutoencoderTransformer, max_grad_norm=1, **params).fit(X)
    assert np.all(np.isfinite(est.history_[:, "train_loss"]))
    assert np.all(np.isfinite(est.transform(X)))


def test_max_grad_norm_bounds_every_step(
    estimator_class, make_estimator, fit_estimator, X
):
    norms = GradNorms()
    X = X * 100  # large gradients
    params = {"max_grad_norm": 0.5, "max_epochs": 2, "callbacks": [("norms", norms)]}
    if takes(estimator_class, "loss"):
        params["loss"] = "mse"
    if takes(estimator_class, "standardize"):  # it would standardize X back
        params["standardize"] = False
    est = fit_estimator(make_estimator(estimator_class, **params), X)
    assert len(norms.norms_) > 0
    assert max(norms.norms_) <= 0.5 * (1 + 1e-5)
    unclipped = GradNorms()
    est.set_params(max_grad_norm=None, callbacks=[("norms", unclipped)])
    fit_estimator(est, X)
    assert max(unclipped.norms_) > 0.5


# --- a bottleneck that ignores its input --------------------------------------------


def dead_relu_autoencoder():
    # Adam at lr=1.0 kills every ReLU unit of the encoder: each code is then
    # its layer's bias, whatever the input
    return AutoencoderTransformer(
        4,
        hidden_layer_sizes=(32, 16),
        loss="mse",
        lr=1.0,
        max_epochs=30,
        random_state=0,
    )


def test_constant_codes_warn_after_fit_but_not_after_partial_fit():
    X = np.random.default_rng(0).standard_normal((500, 20))
    est = dead_relu_autoencoder()
    with pytest.warns(
        UserWarning, match="4 of the 4 code units take the same value"
    ) as record:
        est.fit(X)
    # the warning names the user's line, not skae's or scikit-learn's
    assert record[0].filename == __file__
    assert np.ptp(est.transform(X), axis=0).max() == 0
    with pytest.warns(UserWarning, match="code units") as record:
        make_pipeline(StandardScaler(), dead_relu_autoencoder()).fit(X)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.partial_fit(X)


@pytest.mark.parametrize("layout", [np.asarray, sp.csr_matrix])
def test_constant_codes_warn_on_sparse_and_dense_input(layout):
    # rows that vary in one column only
    X = np.zeros((500, 20))
    X[::2, 3] = 1.0
    with pytest.warns(UserWarning, match="code units take the same value"):
        dead_relu_autoencoder().fit(layout(X))


def test_a_healthy_fit_does_not_warn(estimator_class, make_estimator, fit_estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_estimator(make_estimator(estimator_class, max_epochs=5), X)


@pytest.mark.parametrize("layout", [np.asarray, sp.csr_matrix])
def test_identical_rows_do_not_warn(layout):
    X = np.ones((50, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoencoderTransformer(2, max_epochs=2, random_state=0).fit(layout(X))


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
