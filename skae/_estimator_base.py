"""Layer 3: the estimator base shared by every skae estimator.

:class:`BaseAutoencoder` holds the parameters every estimator takes and
their constraints, the hooks its subclasses override and the ``fit``
template (validate, build or continue a skorch net, train);
:class:`CodesMixin`, :class:`CodePenaltyMixin` and
:class:`NeighborEmbeddingMixin` add what only some estimators have.
Inference in blocks comes from :mod:`skae._inference`, persistence from
:mod:`skae._persistence`, the checks of values from
:mod:`skae._validation`, the network from
:func:`skae._torch_network.build_network`, training from
:mod:`skae._training`.
"""

import functools
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)

from ._defaults import resolve_hidden_layer_sizes, resolve_loss, resolve_max_epochs
from ._docstrings import DOCUMENTATION_URL, fill_doc
from ._inference import InferenceMixin
from ._persistence import PersistenceMixin
from ._routed_params import RoutedParamsMixin
from ._sklearn_compat import Interval, StrOptions, _fit_context, validate_data
from ._torch_modules import ACTIVATIONS, RECURRENT_CELLS
from ._torch_network import build_network
from ._training.distributed import process_seed, shared_seed
from ._training.embedding import LayoutProjection, NeighborEmbedding
from ._training.fitting import (
    carry_over,
    check_optimizer,
    make_net,
    restored_on_failure,
    training_sets,
)
from ._training.losses import (
    ELEMENTWISE_LOSSES,
    OUTPUT_ACTIVATIONS,
    CodePenalty,
    ReconstructionLoss,
)
from ._training.net import OPTIMIZERS, resolve_device
from ._training.randomness import isolated_rng, seed_from
from ._validation import (
    check_batch_norm,
    check_layer_sizes,
    check_loss_range,
    check_magnitude,
    check_row_layout,
    check_sample_weight,
    value_range,
    warn_if_codes_constant,
)

# What a failed first fit removes, leaving the estimator unfitted.
FITTED_ATTRIBUTES = ("net_", "history_", "n_iter_", "n_components_", "n_parameters_")
# What a fit resolves from "auto" values, and a failed fit leaves as it was.
RESOLVED_ATTRIBUTES = ("loss_", "hidden_layer_sizes_", "max_epochs_")

# The estimator's parameters that make_net takes as they are.
NET_PARAMETERS = (
    *("optimizer", "lr", "batch_size", "max_grad_norm"),
    *("early_stopping", "n_iter_no_change", "tol", "callbacks", "verbose"),
)


def _unchanged_on_failure(names):
    """Decorate a method so that, when it raises, the instance attributes
    ``names`` are as they were before the call (absent if they were)."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            before = {name: vars(self)[name] for name in names if name in vars(self)}
            try:
                return method(self, *args, **kwargs)
            except BaseException:
                for name in names:
                    self.__dict__.pop(name, None)
                self.__dict__.update(before)
                raise

        return wrapper

    return decorate


# The constraint of ``loss``, for the estimators that take it as a parameter
# (the outlier detector's is fixed); "auto" chooses from the data's range.
LOSS_CONSTRAINT = {"loss": [StrOptions({*ELEMENTWISE_LOSSES, "auto"})]}


class BaseAutoencoder(
    InferenceMixin, PersistenceMixin, RoutedParamsMixin, BaseEstimator
):
    """Base class of skae's estimators. Not for direct use.

    Subclasses write out their full signature, pass the shared parameters to
    this ``__init__`` (and fixed values for any they do not take, as
    ``MLPClassifier`` passes its loss) and declare their own. They say what
    their network is (``_network``, ``_architecture``), what it is trained
    on (``_criterion``, ``_training_options``) and add their public methods.
    """

    # The kind of network (a key of skae._torch_network.NETWORKS).
    _network = "autoencoder"

    # The HTML repr links to skae's API pages, not scikit-learn's.
    _doc_link_module = "skae"
    _doc_link_template = (
        DOCUMENTATION_URL + "generated/{estimator_module}.{estimator_name}.html"
    )

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", StrOptions({"auto"})],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "image_shape": ["array-like", None],
        "channels_last": ["boolean"],
        "conv_channels": ["array-like"],
        "sequence_shape": ["array-like", None],
        "recurrent_cell": [StrOptions(set(RECURRENT_CELLS))],
        "recurrent_units": [Interval(Integral, 1, None, closed="left")],
        "encoder": [type, torch.nn.Module, None],
        "decoder": [type, torch.nn.Module, None],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
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
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.image_shape = image_shape
        self.channels_last = channels_last
        self.conv_channels = conv_channels
        self.sequence_shape = sequence_shape
        self.recurrent_cell = recurrent_cell
        self.recurrent_units = recurrent_units
        self.encoder = encoder
        self.decoder = decoder
        self.optimizer = optimizer
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_routed_params(kwargs)

    # ------------------------------------------------------------------
    # What the network is, and what it trains on: what subclasses extend.

    def _architecture(self, n_features):
        """Everything that shapes the network, as plain validated values
        (see :func:`~skae._torch_network.build_network`); a warm-started fit
        compares it with the fitted one. Subclasses add their own entries;
        ``n_features`` and the other keyword arguments are the training
        data's shape, from ``_validate_training_data``."""
        self._check_routed_params()
        image_shape, sequence_shape = check_row_layout(
            self.image_shape, self.sequence_shape, self.channels_last, n_features
        )
        return {
            "network": self._network,
            "n_features": n_features,
            "n_components": self.n_components,
            "hidden_layer_sizes": check_layer_sizes(
                self.hidden_layer_sizes_, "hidden_layer_sizes"
            ),
            "activation": self.activation,
            "output_activation": OUTPUT_ACTIVATIONS[self.loss_],
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "image_shape": image_shape,
            "channels_last": self.channels_last,
            "conv_channels": check_layer_sizes(
                self.conv_channels, "conv_channels", allow_empty=False
            ),
            "sequence_shape": sequence_shape,
            "recurrent_cell": self.recurrent_cell,
            "recurrent_units": self.recurrent_units,
            "encoder": self.encoder,
            "encoder_params": self._routed_params("encoder"),
            "decoder": self.decoder,
            "decoder_params": self._routed_params("decoder"),
            "standardize": False,
        }

    def _criterion(self):
        """``(criterion class, its parameters)``, called as ``criterion(
        output, X, y)`` on each batch."""
        return ReconstructionLoss, {"loss": self.loss_}

    def _training_options(self, X, seed, device, architecture, continued):
        """The net's attributes for one training call on ``X``: ``penalty``
        (a :class:`~skae._training.losses.CodePenalty`), ``corruption`` (a
        callable on the batch), each None when absent, and
        ``reconstruction_gradient`` (see
        :class:`~skae._training.net.AutoencoderNet`). ``seed`` is shared by
        the processes of data-parallel training (``process_seed(seed)`` is
        this one's); ``continued`` is the net a warm start or later
        ``partial_fit`` continues, or None."""
        return {"penalty": None, "corruption": None, "reconstruction_gradient": 1.0}

    def _training_rows(self, n_samples, seed):
        """The rows each network trains on: None for all of them, or an
        ``(n_members, n_rows)`` array of row indices, one row per member of
        an ensemble network. ``seed`` seeds any draw."""
        return None

    # ------------------------------------------------------------------
    # Validation

    def _validate_training_data(self, X, y, reset, classes=None):
        """Validate the training data; return ``(X, targets, shape)``: the
        float32 array (or CSR matrix) the network trains on, the target
        tensor (None without targets) and the keyword arguments of
        ``_architecture``, the data's shape. Subclasses that use ``y`` (and
        the ``classes`` given to ``partial_fit``) or keep statistics of ``X``
        extend this."""
        X = validate_data(
            self, X, accept_sparse="csr", dtype=np.float32, order="C", reset=reset
        )
        return X, None, {"n_features": X.shape[1]}

    def _validate_validation_data(self, X, y):
        """Validate the validation data given to ``fit`` as ``X_val`` and
        ``y_val``; return ``(X, targets)`` as ``_validate_training_data``
        does. Subclasses with targets extend this."""
        X = validate_data(
            self, X, accept_sparse="csr", dtype=np.float32, order="C", reset=False
        )
        return X, None

    # ------------------------------------------------------------------
    # Training

    def _build_net(self, device, architecture, X=None):
        """A skorch net around a fresh network of ``architecture``, whose
        standardization (if any) takes its statistics from ``X``."""
        criterion, criterion_params = self._criterion()
        return make_net(
            build_network(architecture, X),
            architecture,
            criterion=criterion,
            criterion_params=criterion_params,
            optimizer_params=self._routed_params("optimizer"),
            max_epochs=self.max_epochs_,
            device=device,
            **{name: getattr(self, name) for name in NET_PARAMETERS},
        )

    @_unchanged_on_failure(RESOLVED_ATTRIBUTES)
    def _fit(
        self,
        X,
        y=None,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
        incremental=False,
        classes=None,
    ):
        """Validate, build or continue the net, and train; return the
        validated training ``X`` and its weights (for subclasses that score
        it). If training fails, a first fit leaves the estimator unfitted
        and a later one leaves the fitted model as it was.

        ``X_val`` (with ``y_val`` and ``sample_weight_val``) is the
        validation set that early stopping watches and ``history_`` records,
        instead of a split of ``X``.

        A first fit builds a net. ``partial_fit`` continues the fitted net.
        A ``fit`` with ``warm_start=True`` builds a net from the current
        parameters, so that a changed ``lr``, optimizer, stopping rule or
        callbacks take effect, and carries the fitted weights, optimizer
        state and history over; a changed architecture is an error.
        """
        fitted = hasattr(self, "net_")
        first_pass = not fitted or not (self.warm_start or incremental)
        X, targets, shape = self._validate_training_data(X, y, first_pass, classes)
        sample_weight = check_sample_weight(sample_weight, X)
        continuing = incremental and not first_pass
        X_range = value_range(X)  # one pass over X, for both uses below
        if not continuing:
            # What "auto" means on this data; every later use reads loss_,
            # hidden_layer_sizes_ and max_epochs_. A warm start keeps the
            # network's (loss_, hidden_layer_sizes_) and resolves max_epochs_
            # afresh for its data.
            if first_pass or self.loss != "auto":
                self.loss_ = resolve_loss(self.loss, X_range, self.decoder)
            if first_pass or not isinstance(self.hidden_layer_sizes, str):
                self.hidden_layer_sizes_ = resolve_hidden_layer_sizes(
                    self.hidden_layer_sizes, X.shape[0], self.n_components
                )
            self.max_epochs_ = resolve_max_epochs(
                self.max_epochs, X.shape[0], self.batch_size
            )
        architecture = (
            self.net_.architecture if continuing else self._architecture(**shape)
        )
        check_loss_range(self.loss_, X, X_range, self.loss)
        if not architecture["standardize"]:  # the loss sees the data's units
            check_magnitude(X_range)
        check_batch_norm(self.batch_norm, self.batch_size, X.shape[0])
        check_optimizer(self.optimizer, self.lr, self._routed_params("optimizer"))
        if X_val is not None:
            X_val, targets_val = self._validate_validation_data(X_val, y_val)
            check_loss_range(self.loss_, X_val, None, self.loss)
            sample_weight_val = check_sample_weight(sample_weight_val, X_val)
        elif y_val is not None or sample_weight_val is not None:
            raise ValueError(
                "y_val and sample_weight_val describe the validation rows X_val, "
                "but X_val is None."
            )
        device = (
            torch.device(self.net_.device)
            if continuing
            else resolve_device(self.device)
        )
        if first_pass:
            # (process 0's, when training is data-parallel)
            self._seed = shared_seed(seed_from(self.random_state), device)
        # A fresh stream for every training call, reproducible from the seed.
        seed = self._seed + (0 if first_pass else len(self.net_.history))
        with isolated_rng(seed, device):
            if continuing:
                net = self.net_
            else:
                net = self._build_net(device, architecture, X)
                net.initialize()
                if not first_pass:
                    carry_over(self.net_, net)
            net.iterator_train__generator.manual_seed(seed)
            options = self._training_options(
                X, seed, device, architecture, None if first_pass else net
            )
            for name, value in options.items():
                setattr(net, name, value)
            penalty = options["penalty"]
            train, valid, epochs = training_sets(
                X,
                targets,
                sample_weight,
                device,
                rows=self._training_rows(X.shape[0], seed),
                positions=getattr(penalty, "needs_positions", False),
                validation=None
                if X_val is None
                else (X_val, targets_val, sample_weight_val),
                incremental=incremental,
                early_stopping=self.early_stopping,
                validation_fraction=self.validation_fraction,
                split_seed=self._seed,
                max_epochs=self.max_epochs_,
            )
            if self.batch_norm and len(train) < 2:
                raise ValueError(
                    "batch_norm=True needs at least 2 training samples, got "
                    f"{len(train)} after the validation split."
                )
            try:
                with restored_on_failure(net) if continuing else nullcontext():
                    net.fit_epochs(train, valid, epochs=epochs)
            except BaseException:
                if first_pass:
                    for name in FITTED_ATTRIBUTES:
                        self.__dict__.pop(name, None)
                raise
        self.net_ = net
        self.__dict__.pop("_block_rows", None)  # worked out for the new net
        self.n_components_ = architecture["n_components"]
        self.hidden_layer_sizes_ = architecture["hidden_layer_sizes"]  # as a tuple
        self.n_parameters_ = sum(
            p.numel() for p in net.module_.parameters() if p.requires_grad
        )
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        if not incremental:
            warn_if_codes_constant(self._encode, X)
        return X, sample_weight

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def score_samples(self, X):
        """Negative reconstruction error of each sample (higher is better).

        The error is the training ``loss`` averaged over the sample's features:
        the mean squared error for "mse", the binary cross-entropy for "bce".

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Minus each sample's reconstruction error.
        """
        return -self._reconstruction_error(self._validate_inference_data(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR rows, densified block by block
        return tags

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one pass over ``X``, continuing from the current weights.

        The first call builds the network. There is no validation split and
        no early stopping: this is for data that arrives in chunks.

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
        self._fit(X, y, sample_weight, incremental=True)
        return self


class CodePenaltyMixin:
    """The sparsity and contractive penalties on the codes, for the
    estimators that take them (``sparsity_weight``, ``sparsity_target``,
    ``contractive_weight``; the subclass's ``__init__`` stores them)."""

    _parameter_constraints = {
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither"), None],
        "contractive_weight": [Interval(Real, 0, None, closed="left")],
    }

    def _training_options(self, X, seed, device, architecture, continued):
        return {
            **super()._training_options(X, seed, device, architecture, continued),
            "penalty": CodePenalty.from_weights(
                self.sparsity_weight, self.sparsity_target, self.contractive_weight
            ),
        }


class NeighborEmbeddingMixin:
    """The neighbour-embedding term (``embedding_weight``, ``n_neighbors``,
    ``min_dist``), ``reconstruction_weight``, and the codes of new rows
    refined against the term's layout (``transform_n_iter``), for the
    estimators that take them (the subclass's ``__init__`` stores them); it
    goes before :class:`CodePenaltyMixin`, whose penalty carries the term.

    A fit with the term keeps its layout in ``embedding_`` and the training
    rows it was built on, which ``transform`` searches for each new row's
    neighbours."""

    _parameter_constraints = {
        "embedding_weight": [Interval(Real, 0, None, closed="left")],
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "min_dist": [Interval(Real, 0, 1, closed="both")],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "transform_n_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def _fit(self, *args, **kwargs):
        X, sample_weight = super()._fit(*args, **kwargs)
        penalty = self.net_.penalty
        term = None if penalty is None else penalty.embedding
        if term is None:
            self.__dict__.pop("embedding_", None)
            self.__dict__.pop("_embedding_fit", None)
        else:
            self.embedding_ = term.layout.cpu().numpy()
            self._embedding_fit = {
                # float32, the precision of the search (a view when X is)
                "rows": X if sp.issparse(X) else np.asarray(X, dtype=np.float32),
                "a": term.a,
                "b": term.b,
                "n_neighbors": self.n_neighbors,
            }
        return X, sample_weight

    def _transform(self, X):
        """The encoder's codes of ``X``, refined against the fitted layout
        (see :class:`~skae._training.embedding.LayoutProjection`)."""
        codes = super()._transform(X)
        fitted = vars(self).get("_embedding_fit")
        # read here, as scikit-learn's transform_* parameters are: a fitted
        # model's codes can be refined more, less or not at all
        if fitted is None or self.transform_n_iter == 0:
            return codes
        projection = LayoutProjection(
            fitted["rows"],
            self.embedding_,
            fitted["a"],
            fitted["b"],
            fitted["n_neighbors"],
            self.transform_n_iter,
            seed=self._seed,
            device=torch.device(self.net_.device),
        )
        return projection.refine(codes, X)

    def _training_options(self, X, seed, device, architecture, continued):
        options = super()._training_options(X, seed, device, architecture, continued)
        if self.reconstruction_weight == 0 and self.embedding_weight == 0:
            raise ValueError(
                "reconstruction_weight=0 and embedding_weight=0 leave the "
                "encoder nothing to learn; set one of them above 0."
            )
        options["reconstruction_gradient"] = self.reconstruction_weight
        term = None
        if self.embedding_weight > 0:
            term = NeighborEmbedding.fit(
                X,
                n_neighbors=self.n_neighbors,
                min_dist=self.min_dist,
                weight=self.embedding_weight,
                # a continued network starts the layout from its own codes
                start=None if continued is None else self._transform(X),
                n_components=self.n_components,
                seed=seed,
                sample_seed=process_seed(seed),
                device=device,
            )
        if term is not None:
            options["penalty"] = options["penalty"] or CodePenalty()
            options["penalty"].embedding = term
        return options


class CodesMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``transform`` to codes and ``inverse_transform`` from them, for the
    estimators that are transformers; output features are named
    ``<classname>0``, ``<classname>1``, ..."""

    @property
    def _n_features_out(self):
        return self.n_components_

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), dtype float32
            The codes.
        """
        return self._transform(self._validate_inference_data(X))

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, ``n_features_in_``), dtype float32
            The decoded rows.
        """
        return self._inverse_transform(self._validate_codes(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
