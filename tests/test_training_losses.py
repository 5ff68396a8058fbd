"""skae._training.losses against values computed by hand with numpy."""

import math

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skae._training.losses import (
    MIN_NOISE_VARIANCE,
    CodePenalty,
    ELBOLoss,
    ReconstructionLoss,
    SupervisedLoss,
    evidence_lower_bound,
    gaussian_kl,
    log_likelihood,
    max_likelihood_variance,
    reconstruction_loss,
    weighted_mean,
)

X_HAT = np.array([[0.2, 0.5, 0.9], [0.6, 0.1, 0.3]])
X = np.array([[0.0, 1.0, 1.0], [0.5, 0.0, 0.25]])
SAMPLE_WEIGHT = np.array([1.0, 3.0])


def t(array):
    return torch.tensor(array, dtype=torch.float64)


def elementwise(loss):
    """The per-entry losses of X_HAT against X."""
    if loss == "mse":
        return (X_HAT - X) ** 2
    return -(X * np.log(X_HAT) + (1 - X) * np.log(1 - X_HAT))


def test_weighted_mean():
    values = t([2.0, 4.0])
    assert weighted_mean(values).item() == 3.0
    assert weighted_mean(values, t([1.0, 3.0])).item() == (2 + 12) / 4
    # integer weights act as repeated values
    assert weighted_mean(values, t([0.0, 5.0])).item() == 4.0


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_reconstruction_loss_reductions(loss):
    errors = elementwise(loss)
    got = {
        reduction: reconstruction_loss(t(X_HAT), t(X), loss, reduction=reduction)
        for reduction in ("none", "sample", "mean")
    }
    assert_allclose(got["none"], errors, rtol=1e-12)
    assert_allclose(got["sample"], errors.mean(axis=1), rtol=1e-12)
    assert got["sample"].shape == (2,)
    assert got["mean"].item() == pytest.approx(errors.mean(), rel=1e-12)
    weighted = reconstruction_loss(t(X_HAT), t(X), loss, sample_weight=t(SAMPLE_WEIGHT))
    expected = np.average(errors.mean(axis=1), weights=SAMPLE_WEIGHT)
    assert weighted.item() == pytest.approx(expected, rel=1e-12)


def test_the_mse_of_two_rows_by_hand():
    # (0.2^2 + 0.5^2 + 0.1^2) / 3 and (0.1^2 + 0.1^2 + 0.05^2) / 3
    rows = reconstruction_loss(t(X_HAT), t(X), "mse", reduction="sample")
    assert_allclose(rows, [0.3 / 3, 0.0225 / 3], rtol=1e-12)


def test_reconstruction_loss_module_reads_the_first_output():
    criterion = ReconstructionLoss("mse")
    expected = elementwise("mse").mean()
    assert criterion(t(X_HAT), t(X)).item() == pytest.approx(expected)
    codes = t(np.zeros((2, 1)))
    assert criterion((t(X_HAT), codes), t(X)).item() == pytest.approx(expected)
    weighted = criterion((t(X_HAT), codes), t(X), None, t(SAMPLE_WEIGHT))
    rows = elementwise("mse").mean(axis=1)
    assert weighted.item() == pytest.approx(np.average(rows, weights=SAMPLE_WEIGHT))


def cross_entropies(logits, y):
    logits = np.asarray(logits)
    log_norm = np.log(np.exp(logits).sum(axis=1))
    return log_norm - logits[np.arange(len(y)), y]


def test_supervised_loss_adds_the_labeled_rows_cross_entropy():
    X_hat, X3 = np.vstack([X_HAT, X_HAT[:1]]), np.vstack([X, X[:1]])
    logits = np.array([[2.0, 0.0], [0.5, 1.5], [1.0, 1.0]])
    y = np.array([0, 1, -1])  # the third row is unlabeled
    criterion = SupervisedLoss(
        "mse", reconstruction_weight=2.0, classification_weight=0.5
    )
    output = (t(X_hat), None, t(logits))
    got = criterion(output, t(X3), torch.tensor(y)).item()
    reconstruction = ((X_hat - X3) ** 2).mean()
    ce = cross_entropies(logits[:2], y[:2])
    assert got == pytest.approx(2.0 * reconstruction + 0.5 * ce.mean(), rel=1e-12)
    # weighted: both terms are weighted means over their rows
    w = np.array([1.0, 3.0, 2.0])
    got = criterion(output, t(X3), torch.tensor(y), t(w)).item()
    rows = ((X_hat - X3) ** 2).mean(axis=1)
    expected = 2.0 * np.average(rows, weights=w) + 0.5 * np.average(ce, weights=w[:2])
    assert got == pytest.approx(expected, rel=1e-12)


def test_supervised_loss_without_labeled_rows_is_the_reconstruction_loss():
    criterion = SupervisedLoss("mse", reconstruction_weight=2.0)
    output = (t(X_HAT), None, t([[1.0, -1.0], [0.0, 3.0]]))
    got = criterion(output, t(X), torch.tensor([-1, -1])).item()
    assert got == pytest.approx(2.0 * elementwise("mse").mean(), rel=1e-12)


def test_gaussian_kl_by_hand():
    mean = t([[0.0, 0.0], [1.0, 2.0]])
    log_var = t([[0.0, 0.0], [0.0, math.log(2.0)]])
    # 0 for the prior itself; 0.5 * (1 + 1 - 1 - 0 + 4 + 2 - 1 - log 2)
    expected = [0.0, 0.5 * (6.0 - math.log(2.0))]
    assert_allclose(gaussian_kl(mean, log_var), expected, atol=1e-12)


def test_max_likelihood_variance():
    errors = t([3.0, 9.0])  # squared errors summed over 3 features
    assert max_likelihood_variance(errors, 3).item() == pytest.approx(2.0)
    weighted = max_likelihood_variance(errors, 3, t([3.0, 1.0])).item()
    assert weighted == pytest.approx((9.0 + 9.0) / 4 / 3)
    # never below the floor
    floor = max_likelihood_variance(t([0.0, 0.0]), 3).item()
    assert floor == pytest.approx(MIN_NOISE_VARIANCE)


def test_log_likelihood_by_hand():
    errors = t([3.0, 9.0])
    # Bernoulli: minus the summed cross-entropy
    assert_allclose(log_likelihood(errors, 3, "bce"), [-3.0, -9.0])
    # Gaussian with a given variance
    v = 0.5
    expected = -0.5 * (np.array([3.0, 9.0]) / v + 3 * np.log(2 * np.pi * v))
    assert_allclose(log_likelihood(errors, 3, "mse", noise_variance=v), expected)
    # and with the variance that maximises the likelihood, 2.0 here
    expected = -0.5 * (np.array([3.0, 9.0]) / 2.0 + 3 * np.log(2 * np.pi * 2.0))
    assert_allclose(log_likelihood(errors, 3, "mse"), expected)
    # a variance under the floor is raised to it
    floor = log_likelihood(t([0.0]), 3, "mse", noise_variance=0.0).item()
    assert floor == pytest.approx(-1.5 * math.log(2 * math.pi * MIN_NOISE_VARIANCE))


def test_evidence_lower_bound_is_the_likelihood_minus_the_kl():
    errors, kl = t([3.0, 9.0]), t([0.5, 1.5])
    expected = log_likelihood(errors, 3, "mse", 0.5) - kl
    got = evidence_lower_bound(errors, kl, 3, "mse", noise_variance=0.5)
    assert_allclose(got, expected, rtol=1e-12)
    assert_allclose(evidence_lower_bound(errors, kl, 3, "bce"), [-3.5, -10.5])


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_elbo_loss_by_hand(loss):
    mean = np.array([[0.0, 0.0], [1.0, 2.0]])
    log_var = np.array([[0.0, 0.0], [0.0, math.log(2.0)]])
    kl = np.array([0.0, 0.5 * (6.0 - math.log(2.0))])
    errors = elementwise(loss).sum(axis=1)
    if loss == "bce":
        log_lik = -errors
    else:
        variance = errors.mean() / 3
        log_lik = -0.5 * (errors / variance + 3 * np.log(2 * np.pi * variance))
    output = (t(X_HAT), None, t(mean), t(log_var))
    got = ELBOLoss(loss, beta=2.0)(output, t(X)).item()
    assert got == pytest.approx(np.mean(2.0 * kl - log_lik), rel=1e-10)
    # weighted rows: a weighted mean, and (for mse) a weighted variance
    w = np.array([1.0, 3.0])
    if loss == "mse":
        variance = np.average(errors, weights=w) / 3
        log_lik = -0.5 * (errors / variance + 3 * np.log(2 * np.pi * variance))
    got = ELBOLoss(loss, beta=2.0)(output, t(X), None, t(w)).item()
    assert got == pytest.approx(np.average(2.0 * kl - log_lik, weights=w), rel=1e-10)


# --- the penalty on the codes ---------------------------------------------------


CODES = np.array([[1.0, -2.0], [0.5, 0.0], [-3.0, 1.0]])


def test_no_penalty_without_weights():
    assert CodePenalty.from_weights(0.0, None, 0.0) is None
    assert CodePenalty.from_weights(0.0, 0.1, 0.0) is None
    penalty = CodePenalty.from_weights(0.5, None, 0.0)
    assert penalty.sparsity_weight == 0.5 and not penalty.needs_input_grad
    assert CodePenalty.from_weights(0.0, None, 0.1).needs_input_grad


def test_l1_sparsity_is_the_mean_of_the_rows_l1_norms():
    penalty = CodePenalty(sparsity_weight=0.5)
    output = (None, t(CODES))
    # rows' L1 norms: 3, 0.5, 4
    assert penalty(None, output).item() == pytest.approx(0.5 * 7.5 / 3)
    w = np.array([2.0, 1.0, 1.0])
    got = penalty(None, output, t(w)).item()
    assert got == pytest.approx(0.5 * (6 + 0.5 + 4) / 4)


def kl_sparsity(codes, rho, weights=None):
    rho_hat = np.average(1 / (1 + np.exp(-codes)), axis=-2, weights=weights)
    return (
        rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    ).sum()


def test_kl_sparsity_against_the_units_mean_activations():
    penalty = CodePenalty(sparsity_weight=2.0, sparsity_target=0.1)
    output = (None, t(CODES))
    expected = 2.0 * kl_sparsity(CODES, 0.1)
    assert penalty(None, output).item() == pytest.approx(expected, rel=1e-12)
    w = np.array([2.0, 1.0, 1.0])
    got = penalty(None, output, t(w)).item()
    assert got == pytest.approx(2.0 * kl_sparsity(CODES, 0.1, w), rel=1e-12)


def test_kl_sparsity_of_an_ensemble_is_summed_over_its_members():
    # codes of two members: (members, rows, units)
    codes = np.stack([CODES, -2 * CODES])
    penalty = CodePenalty(sparsity_weight=1.0, sparsity_target=0.2)
    expected = kl_sparsity(codes[0], 0.2) + kl_sparsity(codes[1], 0.2)
    got = penalty(None, (None, t(codes))).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_contractive_penalty_of_a_linear_encoder_is_its_squared_norm():
    # code = X @ W.T: the Jacobian of every row is W
    W = t([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    X_batch = t(np.random.default_rng(0).random((4, 3))).requires_grad_()
    code = X_batch @ W.T
    penalty = CodePenalty(contractive_weight=0.1)
    got = penalty(X_batch, (None, code)).item()
    assert got == pytest.approx(0.1 * float((W**2).sum()), rel=1e-12)
    # a tanh encoder: each row's Jacobian is diag(1 - tanh^2) @ W
    code = torch.tanh(X_batch @ W.T)
    got = penalty(X_batch, (None, code), t([1.0, 0.0, 0.0, 0.0])).item()
    x0 = X_batch.detach().numpy()[0]
    slope = 1 - np.tanh(W.numpy() @ x0) ** 2
    expected = 0.1 * ((slope[:, None] * W.numpy()) ** 2).sum()
    assert got == pytest.approx(expected, rel=1e-12)


def test_both_penalties_add_up():
    W = t([[1.0, 2.0], [0.0, -1.0]])
    X_batch = t([[0.5, 1.0], [2.0, -1.0]]).requires_grad_()
    code = X_batch @ W.T
    l1 = np.abs(code.detach().numpy()).sum(axis=1).mean()
    penalty = CodePenalty(sparsity_weight=0.5, contractive_weight=0.25)
    got = penalty(X_batch, (None, code)).item()
    assert got == pytest.approx(0.5 * l1 + 0.25 * 6.0, rel=1e-12)


def test_bce_of_nan_outputs_is_a_nan_loss_with_a_graph():
    # torch's kernel raises on NaN outputs; the loss must be NaN instead, so
    # that training stops with NonFiniteLossError, and backward() must run
    X = torch.tensor([[0.0, 1.0], [0.5, 0.25]])
    X_hat = torch.tensor([[0.2, float("nan")], [0.5, 0.5]], requires_grad=True)
    loss = reconstruction_loss(X_hat, X, "bce")
    assert torch.isnan(loss)
    loss.backward()
    assert X_hat.grad.shape == X.shape
    assert torch.isnan(reconstruction_loss(X_hat, X, "bce", reduction="none")).all()
    # outputs outside [0, 1] without NaN are still torch's error
    with pytest.raises(RuntimeError):
        reconstruction_loss(
            torch.tensor([[1.5, 0.5]]), torch.tensor([[1.0, 0.0]]), "bce"
        )
