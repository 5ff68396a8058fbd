"""Layer 4: DenoisingAutoencoder, trained on corrupted inputs to reconstruct
clean ones."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import min_max_axis

from ._autoencoder import AutoencoderTransformer
from ._docstrings import fill_doc
from ._sklearn_compat import Interval, StrOptions
from ._training.corruption import NOISES, BatchCorruption
from ._training.distributed import process_seed


@fill_doc
class DenoisingAutoencoder(AutoencoderTransformer):
    """An autoencoder trained to reconstruct clean rows from corrupted ones.

    Every training batch is corrupted afresh (new noise each batch and each
    epoch, drawn from ``random_state``) and the network learns to reconstruct
    the clean batch. At inference there is no noise: ``predict(X)`` returns
    the denoised reconstruction of ``X`` and ``transform(X)`` its codes, which
    are more robust than a plain autoencoder's.

    Parameters
    ----------
    {{n_components}}
    noise : {"gaussian", "masking", "salt_and_pepper"} or callable, \
default="gaussian"
        How training batches are corrupted:

        - "gaussian": add ``noise_level`` x standard normal noise;
        - "masking": zero each entry with probability ``noise_level``;
        - "salt_and_pepper": set each entry, with probability
          ``noise_level``, to its feature's training minimum or maximum;
        - a callable ``noise(X_batch, rng) -> X_noisy`` on a float32 numpy
          batch and a :class:`numpy.random.Generator`, returning an array of
          the same shape.

        The same corruptions are public in :mod:`skae.noise`.
    noise_level : float, default=0.2
        Standard deviation of the gaussian noise, or probability of an entry
        being corrupted for "masking" and "salt_and_pepper" (at most 1).
        Ignored by a callable ``noise``.
    clip : bool, default=True
        Clip batches corrupted by "gaussian" or a callable to each feature's
        training range, so that, for example, pixels stay in [0, 1].
        "salt_and_pepper" stays in that range by construction, and the zeros
        of "masking" are kept even where zero lies outside it: they are the
        corruption.
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
    data_min_ : ndarray of shape (``n_features_in_``,)
        Per-feature minimum of the training data (the clipping range and the
        "pepper" value).
    data_max_ : ndarray of shape (``n_features_in_``,)
        Per-feature maximum of the training data.
    {{training}}

    See Also
    --------
    AutoencoderTransformer : The same network trained on clean inputs.
    skae.noise.gaussian_noise : Corrupt data the way training does.

    Notes
    -----
    The training loss (``history_``'s ``train_loss``) is measured on
    corrupted inputs; the validation loss, with ``early_stopping=True``, on
    clean ones.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> from skae.noise import gaussian_noise
    >>> X = load_digits().data / 16
    >>> dae = DenoisingAutoencoder(n_components=16, noise_level=0.3,
    ...                            max_epochs=5, random_state=0).fit(X)
    >>> X_noisy = gaussian_noise(X, 0.3, clip=(0, 1), random_state=0)
    >>> dae.predict(X_noisy).shape
    (1797, 64)
    """

    _parameter_constraints = {
        **AutoencoderTransformer._parameter_constraints,
        "noise": [StrOptions(set(NOISES)), callable],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "clip": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        noise="gaussian",
        noise_level=0.2,
        clip=True,
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
            sparsity_weight=sparsity_weight,
            sparsity_target=sparsity_target,
            contractive_weight=contractive_weight,
            embedding_weight=embedding_weight,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            transform_n_iter=transform_n_iter,
            reconstruction_weight=reconstruction_weight,
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
        self.noise = noise
        self.noise_level = noise_level
        self.clip = clip

    def _validate_training_data(self, X, y, reset, classes=None):
        if self.noise in ("masking", "salt_and_pepper") and self.noise_level > 1:
            raise ValueError(
                f"noise_level is a probability for noise={self.noise!r} and must "
                f"be in [0, 1], got {self.noise_level}."
            )
        X, targets, shape = super()._validate_training_data(X, y, reset, classes)
        if sp.issparse(X):
            data_min, data_max = min_max_axis(X, axis=0)
        else:
            data_min, data_max = X.min(axis=0), X.max(axis=0)
        if not reset:  # partial_fit and warm_start widen the range seen so far
            data_min = np.minimum(data_min, self.data_min_)
            data_max = np.maximum(data_max, self.data_max_)
        self.data_min_, self.data_max_ = data_min, data_max
        return X, targets, shape

    def _training_options(self, X, seed, device, architecture, continued):
        corruption = BatchCorruption(
            self.noise,
            self.noise_level,
            self.data_min_,
            self.data_max_,
            self.clip,
            process_seed(seed),
            device,
            order=_network_order(architecture),
        )
        return {
            **super()._training_options(X, seed, device, architecture, continued),
            "corruption": corruption,
        }


def _network_order(architecture):
    """The order in which the network reads a row's features, where it
    differs from the row's own: a channels-last image row's columns in
    (C, H, W) order; None elsewhere."""
    image_shape = architecture.get("image_shape")
    if image_shape is None or not architecture.get("channels_last"):
        return None
    n_channels, height, width = image_shape
    columns = np.arange(height * width * n_channels).reshape(height, width, n_channels)
    return columns.transpose(2, 0, 1).ravel()
