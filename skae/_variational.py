"""Layer 4: VariationalAutoencoder, a generative model with a Gaussian code."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_scalar
from sklearn.utils.validation import check_is_fitted

from ._docstrings import fill_doc
from ._estimator_base import LOSS_CONSTRAINT, BaseAutoencoder, CodesMixin
from ._sklearn_compat import Interval, _fit_context
from ._training.losses import (
    ELBOLoss,
    evidence_lower_bound,
    max_likelihood_variance,
    posterior_errors,
)
from ._training.randomness import seed_from
from ._validation import check_loss_range

# score_samples estimates each row's expected log-likelihood at this many
# codes, from standard normal draws made once (seed 0) and shared by every
# row, model and call: the ELBO is then deterministic, and a row's value does
# not depend on the rows beside it. Half the draws are the negatives of the
# other half (antithetic pairs), which cancels the estimate's first-order
# noise.
_ELBO_DRAWS = 16


@fill_doc
class VariationalAutoencoder(CodesMixin, BaseAutoencoder):
    """Variational autoencoder: a generative model of the rows, with a
    Gaussian code.

    The encoder maps each row ``x`` to the mean and log-variance of a
    diagonal Gaussian posterior ``q(z | x)`` over a code of ``n_components``
    values; training draws a code from it by reparameterization, and the
    decoder maps the code to the means of the likelihood ``p(x | z)``. The
    network is trained to maximise the evidence lower bound (ELBO) of each
    row, ``E_q[log p(x | z)] - beta * KL(q(z | x) || N(0, I))``: the KL term
    keeps the codes of the training data spread as a standard normal, so
    that decoding fresh standard normal codes (:meth:`sample`) generates new
    rows.

    ``transform`` returns the posterior means (deterministic),
    ``inverse_transform`` decodes codes to the means of ``p(x | z)`` (so
    ``inverse_transform(transform(X))`` reconstructs ``X``), and
    ``score_samples`` gives each row's ELBO, a lower bound of its
    log-likelihood: low for rows unlike the training data. As a density
    model, like :class:`~sklearn.neighbors.KernelDensity`, it has no
    ``predict``.

    Parameters
    ----------
    {{n_components}}
    beta : float, default=1.0
        Weight of the KL term in the training loss. 1 maximises the ELBO;
        more than 1 (the beta-VAE) trades reconstruction for codes closer to
        the prior, with more independent units; less than 1 the reverse.
        0 trains a plain autoencoder with noisy codes. ``score_samples``
        always reports the ELBO proper, with weight 1.
    {{hidden_layer_sizes}}
    {{activation}}
    loss : {"auto", "mse", "bce"}, default="auto"
        The likelihood ``p(x | z)``, of which the decoder gives the means.
        "auto" chooses from the training data, as the other estimators do:
        "bce" when every value lies in [0, 1], "mse" otherwise; ``loss_``
        holds the choice.
        "mse": a Gaussian per feature, all with one variance, set to its
        maximum-likelihood value: each training batch's mean squared error
        while training, and after training the mean squared error over the
        training data, kept as ``noise_variance_`` (at least 1e-6) and used
        by ``score_samples``; a linear output layer. So the data's scale
        does not matter and the reconstruction and KL terms balance by
        themselves: with a fixed unit variance instead, on the digits scaled
        to [0, 1], the KL term pulled the 2-D code onto the prior (KL 0.0004
        nats, codes of standard deviation 0.02, unused), where this variance
        gave a KL of 5.4 nats and codes of standard deviation 1.1.
        "bce": a Bernoulli per feature (binary cross-entropy), a sigmoid
        output layer; for data in [0, 1], such as pixel intensities, and a
        ``ValueError`` for anything else. Values between 0 and 1 are scored
        as the usual relaxation of the Bernoulli, as for MNIST in the VAE
        literature.
    {{dropout}}
    {{batch_norm}}
    {{image_shape}}
    {{channels_last}}
    {{conv_channels}}
    {{sequence_shape}}
    {{recurrent_cell}}
    {{recurrent_units}}
    encoder : torch.nn.Module subclass or instance, default=None
        Your own encoder in place of the built-in one: a module mapping
        ``(n_samples, n_features)`` float32 rows to ``(n_samples, 2 *
        n_components)`` outputs, the posterior means followed by the
        posterior log-variances. A class is instantiated at ``fit`` with the
        ``encoder__*`` parameters, plus ``n_features``, and ``n_components``
        set to ``2 * n_components`` (the width it must output), when its
        ``__init__`` takes them; so an encoder class written for
        :class:`AutoencoderTransformer` works as it is. An instance is
        copied, never trained in place.
    {{decoder}}
    {{optimizer}}
    {{lr}}
    {{max_grad_norm}}
    {{batch_size}}
    {{max_epochs}}
    {{early_stopping}}
    {{validation_fraction}}
    {{n_iter_no_change}}
    tol : float, default=0.1
        Smallest decrease of the monitored loss, the negative ELBO in nats
        per sample, that counts as an improvement. Not the other estimators'
        1e-4: their losses are averaged over the features, this one is
        summed over them, and it fluctuates from epoch to epoch with the
        codes drawn. On the digits, any ``tol`` from 1e-4 to 0.1 stopped
        training at nearly the same epoch with the same held-out ELBO, as
        the fluctuations dominate; 0.3 and more stopped it too soon.
    {{warm_start}}
    {{callbacks}}
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split, dropout
        and the codes drawn in training. An int gives the same weights and
        outputs on the CPU, bit for bit, for a given number of threads.
        Fitting never changes numpy's or torch's global random state.
    {{verbose}}
    {{module_params}}

    Attributes
    ----------
    noise_variance_ : float
        The variance of the Gaussian likelihood (``loss="mse"`` only): the
        mean squared error, over the training rows, features and the codes
        of ``score_samples``, of the decoded codes; the variance that
        maximises the training data's ELBO.
    {{training}}

    See Also
    --------
    AutoencoderTransformer : The autoencoder without the probabilistic code.
    sklearn.decomposition.PCA : Probabilistic PCA is the linear-Gaussian
        special case of this model; its ``noise_variance_`` and
        ``score_samples`` are the same quantities.
    sklearn.neighbors.KernelDensity : Another density model with
        ``sample`` and ``score_samples``.

    Notes
    -----
    The training loss in ``history_`` (``train_loss``, and ``valid_loss``
    with early stopping) is the negative ELBO of ``beta``, in nats per
    sample (summed over features, averaged over rows), at one drawn code per
    row; the other estimators report a loss per entry, averaged over
    features too, so it is not on their scale. With ``loss="mse"`` each
    batch is scored with its own maximum-likelihood variance.

    ``score_samples`` computes the KL term exactly and the expected
    log-likelihood at 16 codes per row, the same standard normal draws
    (antithetic pairs, seed 0) for every row and call: it is deterministic,
    and ``score``, the mean ELBO, selects models by held-out ELBO in
    ``GridSearchCV``. The ELBO is a lower bound of the log-likelihood in nats,
    of densities for "mse" (in the units of ``X``) and of probabilities for
    "bce"; the two are not comparable with each other.

    The KL term can pull unused code units to the prior ("posterior
    collapse"): their codes are then near 0 for every row. ``transform(X)``'s
    per-column standard deviation shows which units are in use.

    References
    ----------
    Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes.
    ICLR.

    Rybkin, O., Daniilidis, K. and Levine, S. (2021). Simple and effective
    VAE training with calibrated decoders. ICML.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> X = load_digits().data / 16
    >>> vae = VariationalAutoencoder(n_components=4, max_epochs=5,
    ...                              random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 4)
    >>> vae.sample(5, random_state=0).shape
    (5, 64)
    >>> vae.score_samples(X[:3]).shape
    (3,)
    """

    # Units that carry no information are what the KL term favours
    # (posterior collapse), not a training failure.
    _check_codes_vary = False

    _network = "variational"

    # No penalties on the code (CodePenaltyMixin): they would fight the KL
    # term, which already shapes it.
    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        **LOSS_CONSTRAINT,
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        beta=1.0,
        hidden_layer_sizes="auto",
        activation="relu",
        loss="auto",
        dropout=0.0,
        batch_norm=False,
        image_shape=None,
        channels_last=False,
        conv_channels=(16, 32),
        sequence_shape=None,
        recurrent_cell="lstm",
        recurrent_units=64,
        encoder=None,
        decoder=None,
        optimizer="adam",
        lr=1e-3,
        max_grad_norm=None,
        batch_size=64,
        max_epochs="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=0.1,
        warm_start=False,
        callbacks=None,
        device="auto",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            loss=loss,
            dropout=dropout,
            batch_norm=batch_norm,
            image_shape=image_shape,
            channels_last=channels_last,
            conv_channels=conv_channels,
            sequence_shape=sequence_shape,
            recurrent_cell=recurrent_cell,
            recurrent_units=recurrent_units,
            encoder=encoder,
            decoder=decoder,
            optimizer=optimizer,
            lr=lr,
            max_grad_norm=max_grad_norm,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            warm_start=warm_start,
            callbacks=callbacks,
            device=device,
            random_state=random_state,
            verbose=verbose,
            **kwargs,
        )
        self.beta = beta

    def _criterion(self):
        return ELBOLoss, {"loss": self.loss_, "beta": self.beta}

    # ------------------------------------------------------------------
    # The ELBO

    def _elbo_noise(self):
        """The standard normal draws of the codes that ``score_samples``
        averages over (see ``_ELBO_DRAWS``)."""
        half = torch.randn(
            (_ELBO_DRAWS // 2, self.n_components_),
            generator=torch.Generator().manual_seed(0),
        )
        return torch.cat([half, -half]).to(self.net_.device)

    def _posterior_errors(self, X):
        """Each row's reconstruction loss summed over features and averaged
        over the codes of ``_elbo_noise``, and its KL term, as float64."""
        noise = self._elbo_noise()
        terms = self._map(
            X,
            lambda Xb: torch.stack(
                posterior_errors(self.net_.module_, Xb, noise, self.loss_), dim=1
            ),
            2,
        ).astype(np.float64)
        return terms[:, 0], terms[:, 1]

    def _set_noise_variance(self, X, sample_weight=None):
        if self.loss_ == "mse":
            errors, _ = self._posterior_errors(X)
            weights = None if sample_weight is None else torch.from_numpy(sample_weight)
            variance = max_likelihood_variance(
                torch.from_numpy(errors), X.shape[1], weights
            )
            self.noise_variance_ = float(variance)
        else:
            self.__dict__.pop("noise_variance_", None)
        return self

    # ------------------------------------------------------------------
    # Public methods

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y=None,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Train the variational autoencoder on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse input is densified one batch at a time.
        y : None
            Ignored.
        {{sample_weight}}
        {{X_val}}
        {{y_val_ignored}}
        {{sample_weight_val}}

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._set_noise_variance(
            *self._fit(
                X,
                y,
                sample_weight,
                X_val=X_val,
                y_val=y_val,
                sample_weight_val=sample_weight_val,
            )
        )

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train one more epoch on ``X``, continuing from the current weights,
        and set ``noise_variance_`` from ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.
        {{sample_weight}}

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._set_noise_variance(
            *self._fit(X, y, sample_weight, incremental=True)
        )

    def sample(self, n_samples=1, random_state=None):
        """Generate new rows: decode codes drawn from the prior ``N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the codes: the same int gives the same rows. None draws
            fresh ones. numpy's and torch's global random state are left
            untouched either way.

        Returns
        -------
        X : ndarray of shape (n_samples, ``n_features_in_``), dtype float32
            The means of ``p(x | z)`` at the drawn codes (the Bernoulli
            means for "bce", the Gaussian means for "mse"), without the
            likelihood's own noise.
        """
        check_is_fitted(self)
        check_scalar(n_samples, "n_samples", Integral, min_val=1)
        rng = np.random.default_rng(seed_from(random_state))
        codes = rng.standard_normal((n_samples, self.n_components_), np.float32)
        return self._inverse_transform(codes)

    def score_samples(self, X):
        """Evidence lower bound (ELBO) of each sample: higher is more likely.

        ``E_q[log p(x | z)] - KL(q(z | x) || N(0, I))`` in nats, a lower
        bound of the sample's log-likelihood under the model, with the KL
        term exact and the expectation estimated at 16 codes per sample,
        the same draws for every sample and call (see Notes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            The ELBO of each sample.
        """
        X = self._validate_inference_data(X)
        check_loss_range(self.loss_, X, None, self.loss)
        errors, kl = self._posterior_errors(X)
        noise_variance = self.noise_variance_ if self.loss_ == "mse" else None
        elbo = evidence_lower_bound(
            torch.from_numpy(errors),
            torch.from_numpy(kl),
            X.shape[1],
            self.loss_,
            noise_variance,
        )
        return elbo.numpy()

    def score(self, X, y=None):
        """Mean ELBO of ``X`` (higher is better), in nats per sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean of :meth:`score_samples`.
        """
        return float(self.score_samples(X).mean(dtype="float64"))
