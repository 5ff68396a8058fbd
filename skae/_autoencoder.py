"""Layer 4: AutoencoderTransformer, nonlinear dimensionality reduction."""

from ._docstrings import fill_doc
from ._estimator_base import (
    LOSS_CONSTRAINT,
    BaseAutoencoder,
    CodePenaltyMixin,
    CodesMixin,
    NeighborEmbeddingMixin,
)
from ._sklearn_compat import _fit_context


@fill_doc
class AutoencoderTransformer(
    CodesMixin, NeighborEmbeddingMixin, CodePenaltyMixin, BaseAutoencoder
):
    """Nonlinear dimensionality reduction with an autoencoder.

    An encoder network maps each row to a code of ``n_components`` values and
    a mirrored decoder maps the code back; both are trained together to
    reconstruct the input. The networks are dense by default, convolutional
    with ``image_shape``, recurrent with ``sequence_shape``, or your own
    modules (``encoder``, ``decoder``). ``transform`` returns the codes, as PCA's
    ``transform`` does, and ``inverse_transform`` decodes them.

    Scale the input first (:class:`~sklearn.preprocessing.StandardScaler`, or
    :class:`~sklearn.preprocessing.MinMaxScaler` for ``loss="bce"``): like
    every neural network, the autoencoder trains poorly on raw units.

    Parameters
    ----------
    {{n_components}}
    {{hidden_layer_sizes}}
    {{activation}}
    {{loss}}
    {{dropout}}
    {{batch_norm}}
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
    {{embedding_weight}}
    {{n_neighbors}}
    {{min_dist}}
    {{transform_n_iter}}
    {{reconstruction_weight_encoder}}
    {{optimizer}}
    {{lr}}
    {{max_grad_norm}}
    {{batch_size}}
    {{max_epochs}}
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
    {{training}}
    {{embedding_}}

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    sklearn.neural_network.MLPRegressor : A dense network fitted on (X, y).

    Notes
    -----
    Codes and reconstructions are float32, the precision the network
    computes in, whether the input is float32 or float64; scores are
    float64.

    ``score`` is the negative mean reconstruction error, so ``GridSearchCV``
    works without a scorer. But that error keeps falling as ``n_components``
    grows: a search over ``n_components`` scored this way always picks the
    largest bottleneck. To choose the size the codes are for, search inside a
    Pipeline scored by the downstream model instead::

        pipe = make_pipeline(MinMaxScaler(), AutoencoderTransformer(),
                             LogisticRegression())
        GridSearchCV(pipe, {"autoencodertransformer__n_components": [2, 8, 16]})

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import AutoencoderTransformer
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> ae = AutoencoderTransformer(n_components=8, max_epochs=5, random_state=0)
    >>> codes = ae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> ae.inverse_transform(codes).shape
    (1797, 64)
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        **CodePenaltyMixin._parameter_constraints,
        **NeighborEmbeddingMixin._parameter_constraints,
        **LOSS_CONSTRAINT,
    }

    def __init__(
        self,
        n_components=2,
        *,
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
        sparsity_weight=0.0,
        sparsity_target=None,
        contractive_weight=0.0,
        embedding_weight=0.0,
        n_neighbors=15,
        min_dist=0.1,
        transform_n_iter=100,
        reconstruction_weight=1.0,
        optimizer="adam",
        lr=1e-3,
        max_grad_norm=None,
        batch_size=64,
        max_epochs="auto",
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
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight
        self.embedding_weight = embedding_weight
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.transform_n_iter = transform_n_iter
        self.reconstruction_weight = reconstruction_weight

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
        """Train the autoencoder to reconstruct ``X``.

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
        self._fit(
            X,
            y,
            sample_weight,
            X_val=X_val,
            y_val=y_val,
            sample_weight_val=sample_weight_val,
        )
        return self

    def predict(self, X):
        """Reconstruct ``X``: encode, then decode.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, ``n_features_in_``), \
dtype float32
            The reconstructions.
        """
        return self._reconstruct(self._validate_inference_data(X))

    def score(self, X, y=None):
        """Negative mean reconstruction error of ``X`` (higher is better).

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
