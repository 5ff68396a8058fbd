"""The training loop's speed paths: the fused optimizer step taken by
default, the batch losses read a few dozen at a time, and the epoch table
built only when printed. Each keeps what the slower path gave."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from skorch.callbacks import PrintLog
from torch import nn

from skae import (
    AutoencoderTransformer,
    NonFiniteLossError,
    ReconstructionOutlierDetector,
)
from skae._training.net import AutoencoderNet, fast_step_option


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((300, 6)).astype(np.float32)


def quick(**params):
    params = {
        "n_components": 2,
        "hidden_layer_sizes": (8,),
        "max_epochs": 2,
        "tol": 0,
        "device": "cpu",
        "random_state": 0,
    } | params
    return AutoencoderTransformer(**params)


def group(est):
    return est.net_.optimizer_.param_groups[0]


def weights(est):
    return {k: v.clone() for k, v in est.net_.module_.state_dict().items()}


# --- the fused optimizer step ------------------------------------------------


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "adagrad"])
def test_torch_optimizers_step_fused_by_default(X, name):
    est = quick(optimizer=name).fit(X)
    assert group(est)["fused"] is True
    assert np.isfinite(est.history_[-1]["train_loss"])


def test_an_optimizer_without_a_fused_step_takes_the_multi_tensor_one(X):
    est = quick(optimizer="rmsprop").fit(X)
    assert group(est)["foreach"] is True


def test_the_ensemble_detector_steps_fused(X):
    det = ReconstructionOutlierDetector(
        n_estimators=3, max_samples=64, max_epochs=2, device="cpu", random_state=0
    ).fit(X)
    assert group(det)["fused"] is True
    assert np.all(np.isfinite(det.score_samples(X)))


class MyAdam(torch.optim.Adam):
    """A user's optimizer: its step may not honour ``fused``."""

    steps = 0

    def step(self, closure=None):
        MyAdam.steps += 1
        return super().step(closure)


def test_a_users_optimizer_class_is_left_as_given(X):
    MyAdam.steps = 0
    est = quick(optimizer=MyAdam).fit(X)
    assert group(est)["fused"] is None and group(est)["foreach"] is None
    assert MyAdam.steps == est.history_[-1]["train_batch_count"] * 2


def test_a_users_optimizer_function_is_left_as_given(X):
    def sgd(params, lr):
        return torch.optim.SGD(params, lr=lr, momentum=0.9)

    est = quick(optimizer=sgd).fit(X)
    assert not group(est)["fused"]


@pytest.mark.parametrize(
    "given, fused, foreach",
    [
        ({"optimizer__fused": False}, False, None),
        ({"optimizer__foreach": True}, None, True),
        ({"optimizer__foreach": False}, None, False),
    ],
)
def test_a_users_fused_or_foreach_is_kept(X, given, fused, foreach):
    est = quick(**given).fit(X)
    assert group(est)["fused"] is fused
    assert group(est)["foreach"] is foreach


def test_an_optimizer_that_refuses_the_fused_step_trains_without_it(X, monkeypatch):
    # as if RMSprop (which takes no ``fused``) were thought to take it
    monkeypatch.setattr(
        "skae._training.net.fast_step_option", lambda *args: {"fused": True}
    )
    est = quick(optimizer="rmsprop").fit(X)
    assert "fused" not in group(est)
    assert np.isfinite(est.history_[-1]["train_loss"])


def test_the_fast_step_option():
    dense = [torch.zeros(2, requires_grad=True)]
    assert fast_step_option(torch.optim.Adam, dense, {}) == {"fused": True}
    assert fast_step_option(torch.optim.RMSprop, dense, {}) == {"foreach": True}
    assert fast_step_option(torch.optim.Adam, dense, {"fused": False}) == {}
    assert fast_step_option(torch.optim.Adam, dense, {"foreach": True}) == {}
    integers = [torch.zeros(2, dtype=torch.int64)]
    assert fast_step_option(torch.optim.Adam, integers, {}) == {}
    assert fast_step_option(torch.optim.Adam, [], {}) == {}
    assert fast_step_option(MyAdam, dense, {}) == {}
    assert fast_step_option(torch.optim.LBFGS, dense, {}) == {}


class SparseEncoder(nn.Module):
    """An encoder with a sparse-gradient embedding of its input's sign."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.linear = nn.Linear(n_features, n_components)
        self.sign = nn.Embedding(2, n_components, sparse=True)

    def forward(self, X):
        return self.linear(X) + self.sign((X[:, 0] > 0).long())


def test_a_module_with_sparse_gradients_steps_unfused(X):
    est = quick(encoder=SparseEncoder, optimizer="sgd").fit(X)
    assert not group(est)["fused"]


def test_fused_and_unfused_steps_train_alike(X):
    fused = quick(max_epochs=3).fit(X)
    plain = quick(max_epochs=3, optimizer__fused=False).fit(X)
    for name, tensor in weights(fused).items():
        assert_allclose(tensor, weights(plain)[name], rtol=1e-4, atol=1e-5)


def test_fused_fits_are_reproducible_and_leave_the_global_rngs_alone(X):
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first, second = quick(dropout=0.2).fit(X), quick(dropout=0.2).fit(X)
    assert group(first)["fused"] is True
    for name, tensor in weights(first).items():
        assert torch.equal(tensor, weights(second)[name]), name
    assert_array_equal(first.transform(X), second.transform(X))
    assert first.history_[:, "train_loss"] == second.history_[:, "train_loss"]
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert_array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]


def test_a_warm_start_and_a_pickle_keep_the_fused_step(X):
    import pickle

    est = quick(warm_start=True).fit(X)
    est.set_params(lr=1e-2).fit(X)
    assert group(est)["fused"] is True and group(est)["lr"] == 1e-2
    loaded = pickle.loads(pickle.dumps(est))
    assert group(loaded)["fused"] is True
    loaded.partial_fit(X)
    assert np.isfinite(loaded.history_[-1]["train_loss"])


# --- batch losses read a few dozen at a time ---------------------------------


def read_every_batch(monkeypatch):
    monkeypatch.setattr(AutoencoderNet, "LOSS_READ_INTERVAL", 1)


@pytest.mark.parametrize("params", [{}, {"early_stopping": True}])
def test_history_is_that_of_reading_every_batch(X, monkeypatch, params):
    X = np.concatenate([X] * 10)  # 47 batches of 64: more than one read
    batched = quick(max_epochs=3, **params).fit(X)
    read_every_batch(monkeypatch)
    single = quick(max_epochs=3, **params).fit(X)
    keys = ["train_loss", "train_batch_count"] + (
        ["valid_loss", "valid_batch_count"] if params else []
    )
    for key in keys:
        assert batched.history_[:, key] == single.history_[:, key], key
    assert batched.history_[:, "batches"] == single.history_[:, "batches"]


def test_epoch_losses_are_the_weighted_means_of_the_batches(X):
    X = np.concatenate([X] * 10)[:2950]  # batches of 64 and a last of 6
    X_val = X[:500] + 0.1
    est = quick(max_epochs=2).fit(X, X_val=X_val)
    for epoch in est.history_:
        batches = epoch["batches"]
        for prefix in ("train", "valid"):
            rows = [b for b in batches if f"{prefix}_loss" in b]
            losses = [b[f"{prefix}_loss"] for b in rows]
            sizes = [b[f"{prefix}_batch_size"] for b in rows]
            assert all(isinstance(loss, float) for loss in losses)
            assert_allclose(
                epoch[f"{prefix}_loss"], np.average(losses, weights=sizes), rtol=1e-6
            )
    # the last validation loss is the fitted model's on X_val
    module = est.net_.module_.eval()
    with torch.no_grad():
        Xv = torch.from_numpy(X_val)
        expected = torch.mean((module(Xv)[0] - Xv) ** 2).item()
    assert_allclose(est.history_[-1]["valid_loss"], expected, rtol=1e-5)


class NaNAfter(nn.Module):
    """A dense encoder whose output turns NaN at its ``at``-th training
    batch: that batch's loss is the first that is not finite."""

    at = 5

    def __init__(self, n_features, n_components):
        super().__init__()
        self.linear = nn.Linear(n_features, n_components)
        self.calls = 0

    def forward(self, X):
        out = self.linear(X)
        if self.training:
            self.calls += 1
            if self.calls >= self.at:
                out = out * float("nan")
        return out


@pytest.mark.parametrize(
    "at, epoch, batch",
    [(5, 1, 5), (40, 1, 40), (47, 1, 47), (52, 2, 5)],
)
def test_a_non_finite_loss_names_its_epoch_and_batch(X, monkeypatch, at, epoch, batch):
    # 47 training batches an epoch, read 32 at a time
    monkeypatch.setattr(NaNAfter, "at", at)
    est = quick(encoder=NaNAfter, max_epochs=3)
    with pytest.raises(NonFiniteLossError) as info:
        est.fit(np.concatenate([X] * 10))
    assert f"at epoch {epoch}, batch {batch}," in str(info.value)
    assert not hasattr(est, "net_")


class CheckedDecoder(nn.Module):
    """A user's decoder that refuses NaN codes, and whose output turns NaN
    at its 5th training batch (so the 6th batch's codes are NaN)."""

    def __init__(self, n_components, n_features):
        super().__init__()
        self.linear = nn.Linear(n_components, n_features)
        self.calls = 0

    def forward(self, Z):
        if torch.isnan(Z).any():
            raise ValueError("NaN codes")
        out = self.linear(Z)
        if self.training:
            self.calls += 1
            if self.calls == 5:
                out = out * float("nan")
        return out


def test_a_non_finite_loss_is_reported_when_the_next_step_fails(X):
    # The NaN loss of batch 5 is read later, but the NaN weights it left
    # make batch 6 fail: the NaN loss is still the error reported.
    est = quick(decoder=CheckedDecoder)
    with pytest.raises(NonFiniteLossError, match="at epoch 1, batch 5,") as info:
        est.fit(np.concatenate([X] * 10))
    assert isinstance(info.value.__cause__, ValueError)
    assert "NaN codes" in str(info.value.__cause__)


def test_a_partial_fit_with_a_non_finite_loss_keeps_the_model(X, monkeypatch):
    monkeypatch.setattr(NaNAfter, "at", 10**9)
    est = quick(encoder=NaNAfter).fit(X)
    before, n_iter = weights(est), est.n_iter_
    monkeypatch.setattr(NaNAfter, "at", 0)
    with pytest.raises(NonFiniteLossError, match="batch 1,"):
        est.partial_fit(np.concatenate([X] * 10))
    assert est.n_iter_ == n_iter == len(est.history_)
    for name, tensor in weights(est).items():
        assert torch.equal(tensor, before[name])


# --- the epoch table ---------------------------------------------------------


def test_a_silent_fit_builds_no_epoch_table(X, monkeypatch):
    def table(self, row):
        raise AssertionError("the epoch table was built")

    monkeypatch.setattr(PrintLog, "table", table)
    est = quick().fit(X)
    assert "print_log" in dict(est.net_.callbacks_)


def test_a_verbose_fit_prints_the_epoch_table(X, capsys):
    quick(verbose=2).fit(X)
    out = capsys.readouterr().out
    assert "train_loss" in out and len(out.strip().splitlines()) == 4
