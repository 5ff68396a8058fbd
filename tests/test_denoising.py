"""Behaviour of DenoisingAutoencoder."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_array_equal

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae._denoising import _network_order
from skae._training.corruption import BatchCorruption
from skae.noise import gaussian_noise

# What make_estimator (conftest.py) gives this module's estimators.
ESTIMATOR_DEFAULTS = {"n_components": 3, "hidden_layer_sizes": (16,), "max_epochs": 5}


@pytest.fixture
def X():
    return np.random.default_rng(0).uniform(size=(40, 6))


class Recorder:
    """A noise callable that adds gaussian noise and keeps every batch it
    corrupted."""

    def __init__(self):
        self.batches = []

    def __call__(self, X, rng):
        noisy = X + rng.normal(scale=0.1, size=X.shape)
        self.batches.append(noisy.copy())
        return noisy


def test_noise_is_fresh_every_epoch_and_repeats_under_a_seed(X, make_estimator):
    # one batch per epoch: the same rows, corrupted anew each time
    first, second = Recorder(), Recorder()
    for noise in (first, second):
        params = {"batch_size": 64, "max_epochs": 3, "tol": 0, "clip": False}
        make_estimator(DenoisingAutoencoder, noise=noise, **params).fit(X)
    assert len(first.batches) == 3
    assert not np.array_equal(first.batches[0], first.batches[1])
    for a, b in zip(first.batches, second.batches, strict=True):
        assert_array_equal(a, b)
    other = Recorder()
    make_estimator(
        DenoisingAutoencoder, noise=other, batch_size=64, max_epochs=1, random_state=1
    ).fit(X)
    assert not np.array_equal(other.batches[0], first.batches[0])


def test_training_batches_are_corrupted_and_targets_clean(
    X, monkeypatch, make_estimator
):
    dae = make_estimator(
        DenoisingAutoencoder,
        noise="masking",
        noise_level=0.5,
        max_epochs=1,
        batch_size=64,
    )
    seen = {}
    original = DenoisingAutoencoder._training_options

    def spy(self, X, seed, device, architecture, continued):
        options = original(self, X, seed, device, architecture, continued)
        corrupt = options["corruption"]

        def recording(batch):
            seen["clean"], seen["noisy"] = batch.numpy().copy(), corrupt(batch)
            return seen["noisy"]

        return {**options, "corruption": recording}

    monkeypatch.setattr(DenoisingAutoencoder, "_training_options", spy)
    dae.fit(X)
    # X lies in (0, 1): masking's zeros fall outside the training range and
    # are kept, not clipped
    zeroed = seen["noisy"].numpy() == 0
    assert 0.35 < zeroed.mean() < 0.65
    assert np.all(seen["clean"] > 0)  # the batch itself was not modified


def test_clipping_to_training_range(X, make_estimator):
    dae = make_estimator(
        DenoisingAutoencoder, noise=lambda X, rng: X * 10, max_epochs=1
    ).fit(X)
    assert_array_equal(dae.data_min_, X.min(axis=0).astype(np.float32))
    assert_array_equal(dae.data_max_, X.max(axis=0).astype(np.float32))
    batch = torch.from_numpy(X.astype(np.float32))
    cpu, architecture = torch.device("cpu"), dae.net_.architecture

    def corrupt(batch):
        options = dae._training_options(X, 0, cpu, architecture, None)
        return options["corruption"](batch).numpy()

    clipped = corrupt(batch)
    assert np.all(clipped <= dae.data_max_) and np.all(clipped >= dae.data_min_)
    assert np.any(clipped == dae.data_max_)
    dae.set_params(clip=False)
    unclipped = corrupt(batch)
    assert unclipped.max() > 5


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_and_pepper"])
def test_named_noise_is_drawn_in_the_networks_order(noise):
    # channels-last rows of 2x2 RGB images and their (C, H, W) twins: each
    # pixel's noise, and its clipping range, are the same in either layout
    order = _network_order({"image_shape": (3, 2, 2), "channels_last": True})
    assert_array_equal(order, np.arange(12).reshape(2, 2, 3).transpose(2, 0, 1).ravel())
    chw = torch.rand(5, 12, generator=torch.Generator().manual_seed(0))
    low, high = np.linspace(0.0, 0.3, 12), np.linspace(0.6, 1.0, 12)
    last = np.argsort(order)  # hwc[:, order] is chw
    cpu = torch.device("cpu")
    first = BatchCorruption(noise, 0.5, low, high, True, 0, cpu)(chw)
    corrupt = BatchCorruption(noise, 0.5, low[last], high[last], True, 0, cpu, order)
    assert_array_equal(corrupt(chw[:, last])[:, order], first)
    assert not torch.equal(first, chw)
    assert _network_order({"image_shape": (3, 2, 2), "channels_last": False}) is None
    assert _network_order({"image_shape": None, "channels_last": True}) is None


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_and_pepper"])
def test_every_noise_trains(X, noise, make_estimator):
    dae = make_estimator(DenoisingAutoencoder, noise=noise, noise_level=0.3).fit(X)
    assert np.all(np.isfinite(dae.predict(X)))


def test_no_noise_at_inference(X, make_estimator):
    dae = make_estimator(DenoisingAutoencoder, noise_level=0.5).fit(X)
    # predict is the plain reconstruction of X: decode(encode(X))
    assert_array_equal(dae.predict(X), dae.inverse_transform(dae.transform(X)))


def test_loss_compares_with_the_clean_batch(X, make_estimator):
    # Every input entry is masked, so the network sees only zeros. Against
    # the (all-zero) corrupted batch the loss would fall to 0; against the
    # clean batch it cannot fall below the variance of the data.
    dae = make_estimator(
        DenoisingAutoencoder, noise="masking", noise_level=1.0, max_epochs=30, tol=0
    ).fit(X)
    assert dae.history_[-1]["train_loss"] > 0.5 * X.var(axis=0).mean()


def test_partial_fit_widens_the_range(X, make_estimator):
    dae = make_estimator(DenoisingAutoencoder, loss="mse").partial_fit(X[:20])
    dae.partial_fit(X[20:] + 1)
    expected_min = np.minimum(X[:20].min(axis=0), (X[20:] + 1).min(axis=0))
    assert_array_equal(dae.data_max_, (X[20:] + 1).max(axis=0).astype(np.float32))
    assert_array_equal(dae.data_min_, expected_min.astype(np.float32))


def test_sparse_input(X, make_estimator):
    X = sp.random(40, 6, density=0.3, random_state=0, format="csr")
    dae = make_estimator(DenoisingAutoencoder, noise="masking").fit(X)
    assert dae.transform(X).shape == (40, 3)
    assert_array_equal(dae.data_min_, np.minimum(X.toarray().min(axis=0), 0))


def test_denoises_digits_better_than_a_plain_autoencoder(digits):
    X = digits[0]
    X_train, X_test = X[:1400], X[1400:]
    X_noisy = gaussian_noise(X_test, 0.3, clip=(0, 1), random_state=0)
    params = dict(
        n_components=16, hidden_layer_sizes=(64,), max_epochs=60, device="cpu"
    )
    plain = AutoencoderTransformer(random_state=0, **params).fit(X_train)
    dae = DenoisingAutoencoder(noise_level=0.3, random_state=0, **params).fit(X_train)

    def mse(X_hat):
        return np.mean((X_hat - X_test) ** 2)

    assert mse(dae.predict(X_noisy)) < mse(X_noisy)
    assert mse(dae.predict(X_noisy)) < mse(plain.predict(X_noisy))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"noise": "speckle"}, "'noise' parameter"),
        ({"noise_level": -1.0}, "'noise_level' parameter"),
        ({"noise": "masking", "noise_level": 1.5}, "must be in \\[0, 1\\]"),
        ({"clip": "yes"}, "'clip' parameter"),
    ],
)
def test_bad_parameters(X, params, message, make_estimator):
    with pytest.raises(ValueError, match=message):
        make_estimator(DenoisingAutoencoder, **params).fit(X)


def test_noise_callable_must_keep_shape(X, make_estimator):
    with pytest.raises(ValueError, match="must return the batch's shape"):
        make_estimator(DenoisingAutoencoder, noise=lambda X, rng: X[:, :2]).fit(X)
