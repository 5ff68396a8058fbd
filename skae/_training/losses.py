"""The training criteria of skae's networks and the penalty on their codes.

Every criterion is called as ``criterion(output, X, y, sample_weight)``: the
module's output tuple, the clean input batch in the network's units, the
targets (None without them) and the rows' weights (None: all alike). A
weighted loss is the weighted mean of the rows' losses, so that integer
weights act as repeated rows would in one batch.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def binary_cross_entropy(X_hat, X, reduction="mean"):
    """torch's binary cross-entropy, except that outputs with NaN (weights
    that diverged) give a NaN loss, which stops training with
    ``NonFiniteLossError`` and its advice, where torch's CPU kernel raises
    "all elements of input should be between 0 and 1" (on a GPU it asserts,
    which no code can catch)."""
    try:
        return F.binary_cross_entropy(X_hat, X, reduction=reduction)
    except RuntimeError:
        if not torch.isnan(X_hat).any():
            raise
        errors = X_hat * math.nan  # keeps the graph: backward() still runs
        return errors.mean() if reduction == "mean" else errors


ELEMENTWISE_LOSSES = {
    "mse": F.mse_loss,
    "bce": binary_cross_entropy,
}
# The decoder's last activation that fits each loss: BCE needs outputs in (0, 1).
OUTPUT_ACTIVATIONS = {"mse": "identity", "bce": "sigmoid"}


def weighted_mean(values, sample_weight=None):
    """The mean of the rows' ``values``, weighted by ``sample_weight``
    (None: the plain mean)."""
    if sample_weight is None:
        return values.mean()
    return (values * sample_weight).sum() / sample_weight.sum()


def reconstruction_loss(X_hat, X, loss="mse", *, reduction="mean", sample_weight=None):
    """The reconstruction loss of ``X_hat`` against ``X``.

    ``reduction`` is "mean" for one scalar over all entries (what training
    minimises; weighted by row with ``sample_weight``), "sample" for one
    value per row, the loss averaged over the row's features (what
    ``score_samples`` negates), or "none" for one value per entry (the
    per-feature errors). The first is the mean of the second, and the second
    the row mean of the third.
    """
    loss_fn = ELEMENTWISE_LOSSES[loss]
    if reduction == "mean" and sample_weight is None:
        return loss_fn(X_hat, X)
    errors = loss_fn(X_hat, X, reduction="none")
    if reduction == "none":
        return errors
    errors = errors.mean(dim=-1)
    return errors if reduction == "sample" else weighted_mean(errors, sample_weight)


class ReconstructionLoss(nn.Module):
    """Criterion of a plain autoencoder: the reconstruction loss of the
    module's first output against the clean input."""

    def __init__(self, loss="mse"):
        super().__init__()
        self.loss = loss

    def forward(self, output, X, y=None, sample_weight=None):
        reconstruction = output[0] if isinstance(output, tuple) else output
        return reconstruction_loss(
            reconstruction, X, self.loss, sample_weight=sample_weight
        )


class SupervisedLoss(nn.Module):
    """Joint criterion of a supervised autoencoder:
    ``reconstruction_weight`` x reconstruction loss +
    ``classification_weight`` x cross-entropy of the logits (the module's
    third output) over the labeled rows. Rows labeled -1 are unlabeled and add
    reconstruction loss only; a batch without labeled rows adds no
    classification loss."""

    def __init__(
        self, loss="mse", reconstruction_weight=1.0, classification_weight=1.0
    ):
        super().__init__()
        self.loss = loss
        self.reconstruction_weight = reconstruction_weight
        self.classification_weight = classification_weight

    def forward(self, output, X, y, sample_weight=None):
        reconstruction, _, logits = output
        total = self.reconstruction_weight * reconstruction_loss(
            reconstruction, X, self.loss, sample_weight=sample_weight
        )
        labeled = (y >= 0).to(logits.dtype)
        if sample_weight is not None:
            labeled = labeled * sample_weight
        # 0 for unlabeled rows; the mean over the labeled rows' weights, 0 in
        # a batch without any
        cross_entropy = F.cross_entropy(logits, y, ignore_index=-1, reduction="none")
        mean = (cross_entropy * labeled).sum() / labeled.sum().clamp(min=1e-12)
        return total + self.classification_weight * mean


# The Gaussian likelihood's variance never falls below this (as
# GaussianMixture's reg_covar), so that a reconstruction exact to float
# precision keeps a finite log-likelihood.
MIN_NOISE_VARIANCE = 1e-6


def gaussian_kl(mean, log_var):
    """Each row's ``KL(N(mean, diag(exp(log_var))) || N(0, I))``, in nats."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)


def max_likelihood_variance(errors, n_features, sample_weight=None):
    """The variance of a Gaussian likelihood with one variance for every
    feature that maximises the likelihood of rows with squared
    ``errors`` summed over their ``n_features`` features: their (weighted)
    mean squared error (the "optimal sigma-VAE" of Rybkin et al., 2021), at
    least ``MIN_NOISE_VARIANCE``."""
    mean = weighted_mean(errors, sample_weight)
    return (mean / n_features).clamp(min=MIN_NOISE_VARIANCE)


def log_likelihood(
    errors, n_features, loss="mse", noise_variance=None, sample_weight=None
):
    """Each row's ``log p(x | z)`` in nats, from ``errors``: its
    reconstruction loss summed over its ``n_features`` features (or that sum
    averaged over several codes), the decoder's outputs being the means of
    the likelihood.

    For "bce" the likelihood is a Bernoulli per feature, and the
    log-likelihood is minus the summed cross-entropy. For "mse" it is a
    Gaussian per feature with one variance, ``noise_variance``, shared by all
    features; None takes the variance that maximises the likelihood of these
    rows (:func:`max_likelihood_variance`, weighted by ``sample_weight``),
    which is what training uses.
    """
    if loss == "bce":
        return -errors
    if noise_variance is None:
        variance = max_likelihood_variance(errors, n_features, sample_weight)
    else:
        variance = torch.as_tensor(
            noise_variance, dtype=errors.dtype, device=errors.device
        ).clamp(min=MIN_NOISE_VARIANCE)
    return -0.5 * (errors / variance + n_features * torch.log(2 * math.pi * variance))


def posterior_errors(module, X, noise, loss="mse"):
    """``(errors, kl)`` of each row of ``X`` under a
    :class:`~skae._torch_modules.VariationalAutoencoderModule`: the
    reconstruction loss summed over features, averaged over the codes drawn
    at each row of ``noise`` (the same standard normal draws for every row,
    so that a row's value does not depend on the rows beside it), and the KL
    divergence of the posterior from the prior."""
    mean, log_var = module.posterior(X)
    target = module.scale_input(X)
    errors = X.new_zeros(X.shape[0])
    for draw in noise:
        reconstruction = module.decoder(module.reparameterize(mean, log_var, draw))
        errors += reconstruction_loss(
            reconstruction, target, loss, reduction="none"
        ).sum(dim=1)
    return errors / len(noise), gaussian_kl(mean, log_var)


def evidence_lower_bound(errors, kl, n_features, loss="mse", noise_variance=None):
    """Each row's ELBO, ``log p(x | z) - KL(q(z | x) || p(z))`` in nats, from
    its :func:`posterior_errors`; see :func:`log_likelihood` for the
    likelihoods."""
    return log_likelihood(errors, n_features, loss, noise_variance) - kl


class ELBOLoss(nn.Module):
    """Criterion of a variational autoencoder: the batch mean of
    ``-(log p(x | z) - beta * KL(q(z | x) || p(z)))``, in nats per sample,
    with ``z`` the code the module drew for each row (its second output),
    the reconstruction its first output and the posterior's mean and
    log-variance its third and fourth. With ``beta=1`` this is the negative
    evidence lower bound; see :func:`log_likelihood` for the likelihoods."""

    def __init__(self, loss="mse", beta=1.0):
        super().__init__()
        self.loss = loss
        self.beta = beta

    def forward(self, output, X, y=None, sample_weight=None):
        reconstruction, _, mean, log_var = output
        errors = reconstruction_loss(
            reconstruction, X, self.loss, reduction="none"
        ).sum(dim=1)
        log_lik = log_likelihood(
            errors, X.shape[1], self.loss, sample_weight=sample_weight
        )
        return weighted_mean(
            self.beta * gaussian_kl(mean, log_var) - log_lik, sample_weight
        )


class CodePenalty:
    """Penalty on the codes added to each training batch's loss.

    ``sparsity_weight`` x the batch mean of the codes' L1 norms (or, with a
    ``sparsity_target``, of ``sum_j KL(target || mean(sigmoid(code_j)))``,
    the sparse autoencoder's KL penalty) plus ``contractive_weight`` x the
    batch mean of the squared Frobenius norm of the encoder's Jacobian
    d code / d input (the contractive autoencoder), plus the ``embedding``
    term (a weighted :class:`~skae._training.embedding.NeighborEmbedding`,
    or None), which needs the positions of the batch's rows in the training
    data. The codes are the module's second output.
    """

    def __init__(
        self,
        sparsity_weight=0.0,
        sparsity_target=None,
        contractive_weight=0.0,
        embedding=None,
    ):
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight
        self.embedding = embedding

    @classmethod
    def from_weights(cls, sparsity_weight, sparsity_target, contractive_weight):
        """A penalty, or None when both weights are 0."""
        if sparsity_weight == 0 and contractive_weight == 0:
            return None
        return cls(sparsity_weight, sparsity_target, contractive_weight)

    @property
    def needs_input_grad(self):
        """Whether the input must require gradients (for the Jacobian)."""
        return self.contractive_weight > 0

    @property
    def needs_positions(self):
        """Whether each batch must carry its rows' positions (for the
        embedding term)."""
        return self.embedding is not None

    def __call__(self, X, output, sample_weight=None, positions=None):
        code = output[1]
        total = code.new_zeros(())
        # codes are (rows, units), or (members, rows, units) for an ensemble
        weights = None if sample_weight is None else sample_weight[..., None]
        if self.sparsity_weight > 0:
            if self.sparsity_target is None:
                sparsity = weighted_mean(code.abs().sum(dim=-1), sample_weight)
            else:
                rho = self.sparsity_target
                # each unit's (weighted) mean activation over the batch
                active = torch.sigmoid(code)
                rho_hat = (
                    active.mean(dim=-2)
                    if weights is None
                    else (active * weights).sum(dim=-2) / weights.sum(dim=-2)
                ).clamp(1e-6, 1 - 1e-6)
                sparsity = (
                    rho * torch.log(rho / rho_hat)
                    + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
                ).sum()
            total = total + self.sparsity_weight * sparsity
        if self.contractive_weight > 0:
            # Row i's code depends only on row i's input (no batch
            # statistics in training mode aside), so the gradient of a code
            # unit summed over the batch is, row by row, that unit's
            # Jacobian row: one backward pass per unit.
            squared_norms = code.new_zeros(code.shape[:-1])
            for unit in range(code.shape[-1]):
                (gradient,) = torch.autograd.grad(
                    code[..., unit].sum(), X, create_graph=True
                )
                squared_norms = squared_norms + gradient.pow(2).sum(dim=-1)
            total = total + self.contractive_weight * weighted_mean(
                squared_norms, sample_weight
            )
        if self.embedding is not None:
            total = total + self.embedding(code, positions, sample_weight)
        return total
