"""Layer 4: ReconstructionOutlierDetector, reconstruction error as the anomaly
score with scikit-learn's outlier conventions."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import OutlierMixin
from sklearn.utils import gen_batches

from ._docstrings import fill_doc
from ._estimator_base import BaseAutoencoder, CodePenaltyMixin, CodesMixin
from ._sklearn_compat import Interval, StrOptions, _fit_context, get_chunk_n_rows


@fill_doc
class ReconstructionOutlierDetector(
    OutlierMixin, CodesMixin, CodePenaltyMixin, BaseAutoencoder
):
    """Outlier detection by autoencoder reconstruction error.

    The autoencoder learns to reconstruct the (mostly normal) training rows;
    rows it reconstructs badly are anomalous. The conventions are
    :class:`~sklearn.ensemble.IsolationForest`'s: ``score_samples`` is higher
    for normal rows (minus the reconstruction error), ``decision_function`` is
    ``score_samples - offset_`` and negative for outliers, and ``predict``
    gives +1 for inliers and -1 for outliers.

    By default each feature is standardized with the training mean and
    standard deviation before the network sees it, so raw data in mixed units
    works as it is, constant columns included. Each feature's squared
    reconstruction error is then divided by its mean over the training rows
    (``error_scale_``), so that a feature counts by how unusually badly it is
    reconstructed, not by how hard it always is; the score of a row is minus
    the mean of these relative errors (:meth:`feature_errors`).

    The defaults (a bottleneck of a quarter of the features, dropout, batch
    normalisation, 15 epochs, relative errors) were chosen on the twelve
    classical ODDS outlier sets; see the benchmarks page.

    Parameters
    ----------
    n_components : int or None, default=None
        Size of the bottleneck. None takes a quarter of the features, at
        least 1 (``n_components_`` says how many): wide enough that the
        normal variation is reconstructed, narrow enough that it cannot copy
        its input.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``, the threshold of ``predict``. A float is the
        expected share of outliers in the training data: ``offset_`` is that
        percentile of the training scores, so that share of the training rows
        is flagged. "auto" applies Tukey's rule to the training scores:
        ``offset_ = Q1 - 1.5 * IQR``, the lower whisker of a box plot, so a
        row is an outlier when its reconstruction error lies more than 1.5
        interquartile ranges above the upper quartile of the training errors.
    standardize : bool, default=True
        Standardize each feature with its training mean and standard deviation
        (constant features are only centred) before the network sees it.
    {{hidden_layer_sizes}}
    {{activation}}
    dropout : float, default=0.2
        Dropout probability after each hidden layer, during training only.
    batch_norm : bool, default=True
        Whether to put batch normalisation after each hidden linear layer.
    {{image_shape}}
    {{channels_last}}
    {{conv_channels}}
    {{sequence_shape}}
    {{recurrent_cell}}
    {{recurrent_units}}
    {{encoder}}
    {{decoder}}
    {{sparsity_weight}}
    {{sparsity_target}}
    {{contractive_weight}}
    {{optimizer}}
    {{lr}}
    {{max_grad_norm}}
    {{batch_size}}
    max_epochs : int, default=15
        Most passes over the training data. Few epochs keep the network from
        learning to reconstruct the outliers among the training rows too.
    {{early_stopping}}
    {{validation_fraction}}
    {{n_iter_no_change}}
    {{tol}}
    {{warm_start}}
    {{callbacks}}
    {{device}}
    {{random_state}}
    {{verbose}}
    {{module_params}}

    Attributes
    ----------
    n_components_ : int
        The bottleneck size used.
    error_scale_ : ndarray of shape (``n_features_in_``,)
        Mean squared training reconstruction error of each feature: the unit
        of :meth:`feature_errors`.
    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` is
        ``score_samples - offset_``.
    mean_ : ndarray of shape (``n_features_in_``,)
        Per-feature training mean (when ``standardize=True``).
    scale_ : ndarray of shape (``n_features_in_``,)
        Per-feature training standard deviation, 1 for constant features
        (when ``standardize=True``).
    {{training}}

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outlier detection by random partitions.
    AutoencoderTransformer : The autoencoder as a transformer.

    Notes
    -----
    The reconstruction loss is the mean squared error. ``partial_fit`` trains
    one more epoch on a chunk and resets ``error_scale_`` and ``offset_``
    from that chunk.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import ReconstructionOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> t = rng.uniform(0, 2 * np.pi, size=(500, 1))
    >>> X = np.hstack([np.cos(t), np.sin(t)]) * 100 + rng.normal(size=(500, 2))
    >>> detector = ReconstructionOutlierDetector(
    ...     n_components=1, contamination=0.05, max_epochs=100,
    ...     random_state=0).fit(X)
    >>> detector.predict([[100.0, 0.0], [0.0, 0.0]])
    array([ 1, -1])
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        **CodePenaltyMixin._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "standardize": ["boolean"],
    }

    def __init__(
        self,
        n_components=None,
        *,
        contamination="auto",
        standardize=True,
        hidden_layer_sizes=(128, 64),
        activation="relu",
        dropout=0.2,
        batch_norm=True,
        image_shape=None,
        channels_last=False,
        conv_channels=(16, 32),
        sequence_shape=None,
        recurrent_cell="lstm",
        recurrent_units=64,
        encoder=None,
        decoder=None,
        sparsity_weight=0.0,
        sparsity_target=None,
        contractive_weight=0.0,
        optimizer="adam",
        lr=1e-3,
        max_grad_norm=None,
        batch_size=64,
        max_epochs=15,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
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
            loss="mse",  # not a parameter: its errors are squared errors
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
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight
        self.contamination = contamination
        self.standardize = standardize

    def _architecture(self, n_features):
        n_components = self.n_components
        if n_components is None:
            n_components = max(1, (n_features + 2) // 4)
        return {
            **super()._architecture(n_features),
            "n_components": n_components,
            "standardize": self.standardize,
        }

    def _standardization(self, name):
        """The statistic ``name`` of the network's standardization."""
        net = vars(self).get("net_")
        standardize = None if net is None else net.module_.standardize
        if standardize is None:
            raise AttributeError(f"{name}_ is set by fitting with standardize=True.")
        return getattr(standardize, name).cpu().numpy().astype(np.float64)

    @property
    def mean_(self):
        return self._standardization("mean")

    @property
    def scale_(self):
        return self._standardization("scale")

    def _scores(self, X):
        """Minus each row's mean relative squared error, computed one block
        at a time: memory grows with the rows' scores, not with an
        (n_samples, n_features) array of errors."""
        scale = torch.as_tensor(self.error_scale_, device=self.net_.device)

        def scores(Xb):
            errors = self._block_errors(Xb, "none")
            return -(errors / scale).mean(dim=1, dtype=torch.float64)

        return self._map(X, scores, dtype=np.float64)

    def _calibrate(self, X, sample_weight=None):
        """Set ``error_scale_`` and ``offset_`` from the training rows ``X``,
        each counted once whatever its ``sample_weight`` (as
        IsolationForest's ``offset_``); the errors are summed a chunk of
        rows at a time (scikit-learn's ``working_memory``), never held
        whole."""
        n_samples, n_features = X.shape
        total = np.zeros(n_features)
        chunk = get_chunk_n_rows(row_bytes=4 * n_features, max_n_rows=n_samples)
        for rows in gen_batches(n_samples, chunk):
            errors = self._reconstruction_error(X[rows], reduction="none")
            total += errors.sum(axis=0, dtype=np.float64)
        scale = total / n_samples
        # A feature reconstructed exactly on every training row (a constant
        # one) keeps absolute units rather than dividing by zero.
        scale[scale <= np.finfo(np.float32).tiny] = 1.0
        self.error_scale_ = scale.astype(np.float32)
        scores = self._scores(X)
        if self.contamination == "auto":
            q1, q3 = np.percentile(scores, [25, 75])
            self.offset_ = float(q1 - 1.5 * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100 * self.contamination))
        return self

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
        """Train the autoencoder on ``X`` and set ``offset_`` from its scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, mostly normal rows, in any units.
        y : None
            Ignored.
        {{sample_weight}}
        {{X_val}}
        {{y_val_ignored}}
        {{sample_weight_val}}

        Returns
        -------
        self : object
            The fitted detector.
        """
        return self._calibrate(
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
        """Train one more epoch on ``X`` and reset ``offset_`` from its scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.
        {{sample_weight}}

        Returns
        -------
        self : object
            The detector, trained one more epoch.
        """
        return self._calibrate(*self._fit(X, y, sample_weight, incremental=True))

    def score_samples(self, X):
        """Minus the reconstruction error of each row: lower is more abnormal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Minus the mean over features of :meth:`feature_errors`.
        """
        return self._scores(self._validate_inference_data(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Shifted scores; outliers are negative, inliers zero or positive.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each row: +1 for an inlier, -1 for an outlier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 where ``decision_function(X) >= 0``, -1 elsewhere.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def feature_errors(self, X):
        """Relative squared reconstruction error of each feature of each row.

        Each feature's squared error (in standardized units when
        ``standardize=True``) divided by its mean over the training rows,
        ``error_scale_``: 1 is a typical error, 10 ten times the typical one.
        The features with the largest values are those the autoencoder found
        hardest to explain in this row: a first look at why it is anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to explain.

        Returns
        -------
        errors : ndarray of shape (n_samples, n_features), dtype float32
            Relative per-feature errors; each row's mean is minus its
            ``score_samples``.
        """
        X = self._validate_inference_data(X)
        return self._reconstruction_error(X, reduction="none") / self.error_scale_
