"""Behaviour of VariationalAutoencoder: the posterior, the ELBO, sampling."""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from torch import nn

from skae import VariationalAutoencoder
from skae._torch_modules import ConvDecoder, ConvEncoder
from skae._training.losses import ELBOLoss, gaussian_kl

# What make_estimator (conftest.py) gives this module's estimators.
ESTIMATOR_DEFAULTS = {"hidden_layer_sizes": (16,), "max_epochs": 5}


@pytest.fixture(scope="module", params=["mse", "bce"])
def fitted(request, digits_split):
    """A VAE with a 2-D code trained on the digit images, per likelihood."""
    X_train = digits_split[0]
    return VariationalAutoencoder(
        2,
        loss=request.param,
        hidden_layer_sizes=(64,),
        max_epochs=30,
        device="cpu",
        random_state=0,
    ).fit(X_train)


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((60, 6))


def posterior(vae, X):
    with torch.no_grad():
        mean, log_var = vae.net_.module_.posterior(
            torch.as_tensor(X, dtype=torch.float32)
        )
    return mean.numpy(), log_var.numpy()


def outliers(X, seed=0):
    """Uniform noise images, and the digits with their pixels shuffled."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, X.shape)
    shuffled = np.array([rng.permutation(row) for row in X])
    return noise, shuffled


# --- the model -----------------------------------------------------------


def test_kl_term_trains_and_codes_spread_as_the_prior(fitted, digits_split):
    X_train = digits_split[0]
    mean, log_var = posterior(fitted, X_train)
    kl = gaussian_kl(torch.from_numpy(mean), torch.from_numpy(log_var))
    # The codes carry information (PyOD's VAE clamps this term to 0) ...
    assert kl.mean() > 1.0
    # ... and the aggregate posterior is close to N(0, I).
    codes = fitted.transform(X_train)
    assert_allclose(codes.mean(axis=0), 0, atol=0.5)
    assert np.all((codes.std(axis=0) > 0.7) & (codes.std(axis=0) < 1.4))
    aggregate_variance = codes.var(axis=0) + np.exp(log_var).mean(axis=0)
    assert np.all((aggregate_variance > 0.7) & (aggregate_variance < 1.5))


def test_outliers_get_a_lower_elbo(fitted, digits_split):
    X_test = digits_split[1]
    noise, shuffled = outliers(X_test)
    test_scores = fitted.score_samples(X_test)
    for X_out in (noise, shuffled):
        assert fitted.score(X_out) < fitted.score(X_test) - 10
        assert np.mean(fitted.score_samples(X_out) < np.median(test_scores)) > 0.95


def test_score_samples_is_the_elbo_in_nats(fitted, digits_split):
    # An independent Monte-Carlo estimate with many draws of
    # E_q[log p(x|z)] - KL, written out with the textbook densities.
    X = digits_split[1][:20]
    module = fitted.net_.module_
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        Xt = torch.as_tensor(X, dtype=torch.float32)
        mean, log_var = module.posterior(Xt)
        log_lik = torch.zeros(len(X), dtype=torch.float64)
        n_draws = 2000
        for _ in range(n_draws):
            eps = torch.randn(mean.shape, generator=generator)
            means = module.decode(mean + torch.exp(0.5 * log_var) * eps).double()
            x = Xt.double()
            if fitted.loss == "bce":
                means = means.clamp(1e-12, 1 - 1e-12)
                log_p = x * means.log() + (1 - x) * (1 - means).log()
            else:
                var = fitted.noise_variance_
                log_p = -0.5 * ((x - means) ** 2 / var + math.log(2 * math.pi * var))
            log_lik += log_p.sum(dim=1) / n_draws
        kl = 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum(dim=1).double()
    expected = (log_lik - kl).numpy()
    assert_allclose(fitted.score_samples(X), expected, rtol=0.02, atol=0.5)


def test_noise_variance_is_the_training_mean_squared_error(
    digits_split, make_estimator
):
    X_train = digits_split[0]
    vae = make_estimator(VariationalAutoencoder, loss="mse", max_epochs=10).fit(X_train)
    reconstructed = vae.inverse_transform(vae.transform(X_train))
    mse = np.mean((reconstructed - X_train) ** 2)
    # the ELBO's codes are drawn around the posterior mean, so their
    # decodings miss by a bit more than the mean's
    assert mse < vae.noise_variance_ < 1.5 * mse
    assert not hasattr(
        make_estimator(VariationalAutoencoder, loss="bce").fit(X_train),
        "noise_variance_",
    )


def test_training_loss_is_the_negative_elbo_per_sample(digits_split, make_estimator):
    X_train = digits_split[0]
    vae = make_estimator(VariationalAutoencoder, loss="bce", max_epochs=20).fit(X_train)
    last = vae.history_[-1, "train_loss"]
    assert last > 10  # nats per sample, not a per-entry loss
    assert last == pytest.approx(-vae.score(X_train), rel=0.05)


def test_elbo_loss_weights_the_kl_term_by_beta():
    generator = torch.Generator().manual_seed(0)
    X = torch.rand(5, 4, generator=generator)
    output = (
        torch.rand(5, 4, generator=generator),
        None,
        torch.randn(5, 2, generator=generator),
        torch.randn(5, 2, generator=generator),
    )
    bce = nn.functional.binary_cross_entropy(output[0], X, reduction="sum") / 5
    kl = gaussian_kl(output[2], output[3]).mean()
    assert kl > 0
    for beta in (0.0, 1.0, 3.0):
        loss = ELBOLoss("bce", beta)(output, X)
        assert loss.item() == pytest.approx((bce + beta * kl).item(), rel=1e-5)


def test_larger_beta_gives_codes_closer_to_the_prior(digits_split, make_estimator):
    X_train = digits_split[0]
    kls = []
    for beta in (0.2, 5.0):
        vae = make_estimator(
            VariationalAutoencoder, beta=beta, loss="bce", max_epochs=10
        ).fit(X_train)
        mean, log_var = posterior(vae, X_train)
        kls.append(gaussian_kl(torch.from_numpy(mean), torch.from_numpy(log_var)))
    assert kls[1].mean() < 0.5 * kls[0].mean()


# --- the methods ---------------------------------------------------------


def test_shapes_and_dtypes(X, make_estimator):
    vae = make_estimator(VariationalAutoencoder, n_components=3).fit(X)
    Z = vae.transform(X)
    assert Z.shape == (60, 3) and Z.dtype == np.float32
    assert vae.inverse_transform(Z).shape == (60, 6)
    assert not hasattr(vae, "predict")  # a density model, as DESIGN.md has it
    scores = vae.score_samples(X)
    assert scores.shape == (60,) and scores.dtype == np.float64
    assert np.all(np.isfinite(scores))
    assert vae.score(X) == pytest.approx(scores.mean())
    samples = vae.sample(7, random_state=0)
    assert samples.shape == (7, 6) and samples.dtype == np.float32
    assert list(vae.get_feature_names_out()) == [
        f"variationalautoencoder{i}" for i in range(3)
    ]


def test_transform_is_the_posterior_mean_and_deterministic(
    X, assert_float32_close, make_estimator
):
    vae = make_estimator(VariationalAutoencoder, dropout=0.2).fit(X)
    Z = vae.transform(X)
    assert_array_equal(vae.transform(X), Z)
    # all rows in one batch, not in inference blocks: other shapes
    assert_float32_close(Z, posterior(vae, X)[0], n_layers=3, width=16)


def test_score_samples_is_deterministic_and_row_by_row(X, make_estimator):
    vae = make_estimator(VariationalAutoencoder).fit(X)
    scores = vae.score_samples(X)
    assert_array_equal(vae.score_samples(X), scores)
    # a row's ELBO does not depend on the rows scored with it
    assert_array_equal(vae.score_samples(X[7:8]), scores[7:8])
    assert_array_equal(vae.score_samples(X[::-1]), scores[::-1])


def test_sample_is_reproducible_under_random_state(X, make_estimator):
    vae = make_estimator(VariationalAutoencoder).fit(X)
    a = vae.sample(10, random_state=0)
    assert_array_equal(vae.sample(10, random_state=0), a)
    assert not np.array_equal(vae.sample(10, random_state=1), a)
    assert not np.array_equal(vae.sample(10), vae.sample(10))
    rs = np.random.RandomState(0)
    assert not np.array_equal(
        vae.sample(3, random_state=rs), vae.sample(3, random_state=rs)
    )
    # the samples are decodings of standard normal codes
    codes = np.random.default_rng(0).standard_normal((10, 2), dtype=np.float32)
    assert_array_equal(a, vae.inverse_transform(codes))


def test_generated_digits_look_like_digits(fitted, digits_split):
    # Samples from the prior land where the model puts its mass: their ELBO
    # is close to that of real digits, far above that of noise.
    X_test = digits_split[1]
    samples = fitted.sample(200, random_state=0)
    if fitted.loss == "bce":
        assert samples.min() >= 0 and samples.max() <= 1
    noise, _ = outliers(X_test)
    assert fitted.score(samples) > fitted.score(noise) + 10
    assert samples.std(axis=0).mean() > 0.05  # not one image 200 times


@pytest.mark.parametrize("random_state", [None, 0, np.random.RandomState(0)])
def test_global_rng_untouched(X, random_state, make_estimator):
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    vae = make_estimator(
        VariationalAutoencoder, random_state=random_state, early_stopping=True
    ).fit(X)
    vae.sample(5, random_state=random_state)
    vae.sample(5)
    vae.score_samples(X)
    assert_array_equal(np.random.get_state()[1], numpy_state[1])
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_same_seed_same_model(X, make_estimator):
    a, b = (
        make_estimator(VariationalAutoencoder).fit(X),
        make_estimator(VariationalAutoencoder).fit(X),
    )
    assert_array_equal(a.score_samples(X), b.score_samples(X))
    c = make_estimator(VariationalAutoencoder, random_state=1).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


@pytest.mark.parametrize(
    "n_samples, error, message",
    [(0, ValueError, "n_samples == 0, must be >= 1"), (2.5, TypeError, "n_samples")],
)
def test_sample_rejects_bad_n_samples(X, n_samples, error, message, make_estimator):
    vae = make_estimator(VariationalAutoencoder).fit(X)
    with pytest.raises(error, match=message):
        vae.sample(n_samples)


@pytest.mark.parametrize("method", ["transform", "score_samples", "score"])
def test_not_fitted(X, method, make_estimator):
    with pytest.raises(NotFittedError):
        getattr(make_estimator(VariationalAutoencoder), method)(X)


def test_sample_not_fitted(make_estimator):
    with pytest.raises(NotFittedError):
        make_estimator(VariationalAutoencoder).sample(3)


# --- training ------------------------------------------------------------


def test_default_stopping_rule_ends_a_plateau(digits_split, make_estimator):
    # tol is in nats per sample: training stops once the ELBO stops
    # improving, well before max_epochs.
    X_train = digits_split[0]
    vae = make_estimator(
        VariationalAutoencoder, loss="bce", hidden_layer_sizes=(32,), max_epochs=300
    ).fit(X_train)
    assert vae.n_iter_ < 300


def test_early_stopping_monitors_the_validation_elbo(digits_split, make_estimator):
    X_train = digits_split[0]
    vae = make_estimator(
        VariationalAutoencoder, early_stopping=True, max_epochs=20, n_iter_no_change=3
    ).fit(X_train)
    valid = vae.history_[:, "valid_loss"]
    assert len(valid) == vae.n_iter_ and np.all(np.isfinite(valid))


def test_partial_fit_trains_and_resets_noise_variance(digits_split, make_estimator):
    X_train = digits_split[0]
    vae = make_estimator(VariationalAutoencoder, loss="mse").partial_fit(X_train)
    assert vae.n_iter_ == 1
    first = vae.noise_variance_
    vae.partial_fit(X_train)
    assert vae.n_iter_ == 2 and vae.noise_variance_ != first


def test_sparse_input_matches_dense(X, make_estimator):
    X = np.where(np.abs(X) > 1, X, 0.0)
    dense = make_estimator(VariationalAutoencoder).fit(X)
    sparse = make_estimator(VariationalAutoencoder).fit(sp.csr_matrix(X))
    assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X))
    assert_allclose(sparse.score_samples(sp.csr_matrix(X)), dense.score_samples(X))


def test_penalty_parameters_are_not_parameters(X, make_estimator):
    params = make_estimator(VariationalAutoencoder).get_params()
    assert "beta" in params
    assert not {"sparsity_weight", "sparsity_target", "contractive_weight"} & set(
        params
    )
    with pytest.raises(TypeError, match=r"unexpected parameters \['sparsity_weight'\]"):
        make_estimator(VariationalAutoencoder, sparsity_weight=0.1).fit(X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"beta": -1.0}, "'beta' parameter"),
        ({"loss": "hinge"}, "'loss' parameter"),
    ],
)
def test_invalid_parameters(X, params, message, make_estimator):
    with pytest.raises(ValueError, match=message):
        make_estimator(VariationalAutoencoder, **params).fit(X)


# --- architectures -------------------------------------------------------


def test_convolutional_vae_on_images(digits_split, make_estimator):
    X_train = digits_split[0]
    vae = make_estimator(
        VariationalAutoencoder, image_shape=(1, 8, 8), conv_channels=(8,), loss="bce"
    ).fit(X_train)
    module = vae.net_.module_
    assert isinstance(module.encoder, ConvEncoder) and module.encoder.n_components == 4
    assert isinstance(module.decoder, ConvDecoder) and module.decoder.n_components == 2
    assert vae.transform(X_train).shape == (len(X_train), 2)
    assert vae.sample(3, random_state=0).shape == (3, 64)
    assert np.all(np.isfinite(vae.score_samples(X_train)))


def test_recurrent_vae_on_sequences(make_estimator):
    t = np.linspace(0, 2 * np.pi, 12)
    phase = np.random.default_rng(0).uniform(0, 2 * np.pi, (80, 1))
    X = np.sin(t + phase)
    vae = make_estimator(
        VariationalAutoencoder, sequence_shape=(12, 1), recurrent_units=8
    ).fit(X)
    assert vae.transform(X).shape == (80, 2)
    assert vae.sample(2, random_state=0).shape == (2, 12)


class LinearEncoder(nn.Module):
    """A user's encoder: ``n_components`` outputs, which for the VAE is
    twice its code size (means, then log-variances)."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.n_components = n_components
        self.layer = nn.Linear(n_features, n_components)

    def forward(self, X):
        return self.layer(X)


class LinearDecoder(nn.Module):
    def __init__(self, n_components, n_features, bias=True):
        super().__init__()
        self.n_components = n_components
        self.layer = nn.Linear(n_components, n_features, bias=bias)

    def forward(self, Z):
        return self.layer(Z)


def test_user_encoder_and_decoder_classes(X, make_estimator):
    vae = make_estimator(
        VariationalAutoencoder,
        n_components=3,
        encoder=LinearEncoder,
        decoder=LinearDecoder,
        decoder__bias=False,
    ).fit(X)
    module = vae.net_.module_
    assert module.encoder.n_components == 6  # 2 * n_components outputs
    assert module.decoder.n_components == 3
    assert module.decoder.layer.bias is None
    assert vae.transform(X).shape == (60, 3)
    assert np.all(np.isfinite(vae.score_samples(X)))


def test_user_encoder_instance_of_the_wrong_width(X, make_estimator):
    vae = make_estimator(
        VariationalAutoencoder, n_components=3, encoder=nn.Linear(6, 3)
    )
    with pytest.raises(ValueError, match=r"\(n_samples, 6\) codes.*it must give 6"):
        vae.fit(X)


def test_user_decoder_instance_of_the_wrong_width(X, make_estimator):
    vae = make_estimator(
        VariationalAutoencoder, n_components=3, decoder=nn.Linear(6, 6)
    )
    with pytest.raises(ValueError, match=r"decoder Linear failed on \(n_samples, 3\)"):
        vae.fit(X)


# --- model selection, persistence ----------------------------------------


def test_grid_search_selects_by_held_out_elbo(digits_split, make_estimator):
    X_train = digits_split[0][:600]
    cv = KFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(
        make_estimator(VariationalAutoencoder, loss="bce", max_epochs=10),
        {"beta": [1.0, 4.0]},
        cv=cv,
    ).fit(X_train)
    # the default score is the ELBO (KL weight 1) of the held-out rows
    train, test = next(cv.split(X_train))
    held_out = make_estimator(
        VariationalAutoencoder, loss="bce", max_epochs=10, beta=4.0
    ).fit(X_train[train])
    assert search.cv_results_["split0_test_score"][1] == pytest.approx(
        held_out.score(X_train[test])
    )
    best = search.cv_results_["mean_test_score"].argmax()
    assert search.best_params_ == search.cv_results_["params"][best]
    assert search.best_estimator_.beta == search.best_params_["beta"]


def test_pickle_round_trip_gives_identical_outputs(X, make_estimator):
    vae = make_estimator(VariationalAutoencoder, batch_norm=True).fit(X)
    loaded = pickle.loads(pickle.dumps(vae))
    assert_array_equal(loaded.score_samples(X), vae.score_samples(X))
    assert_array_equal(loaded.transform(X), vae.transform(X))
    assert_array_equal(loaded.sample(4, random_state=0), vae.sample(4, random_state=0))
    assert loaded.noise_variance_ == vae.noise_variance_
    loaded.partial_fit(X)  # the loaded model keeps training
    assert loaded.n_iter_ == vae.n_iter_ + 1


def test_trains_on_unscaled_input(make_estimator):
    # exp(log_var) overflowed on input in the thousands before the
    # log-variance was clamped
    X = np.random.default_rng(0).random((120, 6)) * 1000
    vae = make_estimator(VariationalAutoencoder, loss="mse", max_epochs=3).fit(X)
    assert np.all(np.isfinite(vae.score_samples(X)))
