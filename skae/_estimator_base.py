"""Layer 3: the estimator base shared by every skae estimator.

Parameter constraints, input validation, the ``fit`` template that builds and
trains a skorch net, batched inference, and persistence with weights stored
as arrays.
"""

import inspect
import json
import math
import warnings
from copy import deepcopy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import gen_batches
from sklearn.utils.validation import assert_all_finite, check_array, check_is_fitted
from skorch.callbacks import GradientNormClipping
from skorch.history import History
from skorch.utils import noop

from ._sklearn_compat import Interval, StrOptions, _fit_context, validate_data
from ._torch_modules import (
    ACTIVATIONS,
    RECURRENT_CELLS,
    AutoencoderModule,
    build_encoder_decoder,
    module_cost,
)
from ._training import (
    ELEMENTWISE_LOSSES,
    OPTIMIZERS,
    OUTPUT_ACTIVATIONS,
    AutoencoderNet,
    CodePenalty,
    EarlyStopping,
    EpochProgressBar,
    InMemoryBatchIterator,
    InMemoryDataset,
    ReconstructionLoss,
    isolated_rng,
    process_seed,
    reconstruction_loss,
    resolve_device,
    seed_from,
    shared_seed,
    train_validation_split,
)

# Inference runs the network on blocks of one fixed shape per model (see
# ``_inference_batches``): a power of two of rows, at most what takes this
# many multiply-adds (one per parameter and row, as in a dense layer) ...
_BLOCK_MACS = 2**27
# ... and this many bytes of activations (every layer's outputs together,
# which also bounds the work of convolutional and recurrent layers, whose
# parameters act at every position), within these bounds. MNIST's
# 784-256-64-32 autoencoder runs blocks of 256 rows, the 20-64-32-8 tabular
# one blocks of 2048. A single row costs a whole block, a millisecond or a
# few; larger blocks were no faster, their activations leaving the CPU's
# caches (one thread encoded MNIST's 10000 rows in 50 ms in blocks of 256 or
# 512 rows, 85 ms in blocks of 8192; 50000 tabular rows in 6.4 ms in blocks
# of 2048, 6.2 ms in blocks of 4096, 6.7 ms in blocks of 8192).
_BLOCK_ACTIVATION_BYTES = 2**22
_BLOCK_MIN_ROWS = 64
_BLOCK_MAX_ROWS = 2048
# Keep the training data on the GPU when it takes at most this share of the
# free device memory; otherwise batches are copied there one at a time.
_DEVICE_DATA_SHARE = 0.5


def _check_layer_sizes(sizes, name):
    """``sizes`` as a tuple of positive ints, or a ValueError naming ``name``."""
    array = np.atleast_1d(sizes)
    if array.ndim != 1 or (
        array.size
        and not (np.issubdtype(array.dtype, np.integer) and np.all(array > 0))
    ):
        raise ValueError(
            f"{name} must be a sequence of positive integers, got {sizes!r}."
        )
    return tuple(int(s) for s in array)


def _check_shape(shape, name, n_features, lengths):
    """``shape`` as a tuple of positive ints of one of ``lengths`` whose
    product is ``n_features``, or a ValueError naming ``name``. One entry may
    be -1, inferred from ``n_features`` as in ``numpy.reshape``."""
    array = np.asarray(shape)
    if (
        array.ndim != 1
        or array.size not in lengths
        or not np.issubdtype(array.dtype, np.integer)
        or np.any((array <= 0) & (array != -1))
        or np.sum(array == -1) > 1
    ):
        raise ValueError(
            f"{name} must be a tuple of {' or '.join(map(str, lengths))} positive "
            f"integers (one of them may be -1, inferred), got {shape!r}."
        )
    shape = [int(s) for s in array]
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape and n_features % known == 0:
        shape[shape.index(-1)] = n_features // known
    if int(np.prod(shape)) != n_features:
        need = f"a multiple of {known}" if -1 in array else f"exactly {known}"
        raise ValueError(
            f"{name}={tuple(int(s) for s in array)} does not fit the "
            f"{n_features} features of X: a row must hold {need} values."
        )
    return tuple(shape)


def _user_module(module, params, sizes, role):
    """The user's ``module`` as a fresh instance: a class is called with
    ``params`` and with those of ``sizes`` its ``__init__`` accepts; an
    instance is deep-copied (the estimator's parameter is never trained)."""
    if isinstance(module, torch.nn.Module):
        if params:
            raise ValueError(
                f"{role}__* parameters ({', '.join(sorted(params))}) configure a "
                f"{role} class, but {role} is an instance; pass the class instead."
            )
        return deepcopy(module)
    if not (isinstance(module, type) and issubclass(module, torch.nn.Module)):
        raise TypeError(
            f"{role} must be a torch.nn.Module subclass or instance, got {module!r}."
        )
    accepted = inspect.signature(module).parameters
    kwargs = {k: v for k, v in sizes.items() if k in accepted} | params
    try:
        return module(**kwargs)
    except TypeError as exc:
        raise TypeError(f"Could not build {role} {module.__name__}: {exc}") from exc


def _check_module_shapes(encoder, decoder, n_features, n_codes, n_decoder_inputs=None):
    """Run two zero rows through ``encoder`` and ``decoder`` and raise a
    ValueError unless they map (2, n_features) -> (2, n_codes) and (2,
    n_decoder_inputs) -> (2, n_features); ``n_decoder_inputs`` is
    ``n_codes`` by default (the decoder then reads the encoder's output)."""
    modes = encoder.training, decoder.training
    encoder.eval(), decoder.eval()
    try:
        with torch.no_grad():
            code = _run(encoder, torch.zeros(2, n_features), "encoder", "inputs")
            if not isinstance(code, torch.Tensor) or code.shape != (2, n_codes):
                hint = (
                    "set n_components to its code width"
                    if n_decoder_inputs in (None, n_codes)
                    else f"it must give {n_codes} for n_components="
                    f"{n_decoder_inputs}; change n_components"
                )
                raise ValueError(
                    f"The encoder must map (n_samples, {n_features}) inputs to "
                    f"(n_samples, {n_codes}) codes, but it returned "
                    f"{_describe(code)}; {hint} or change the module."
                )
            if n_decoder_inputs is not None:
                n_codes, code = n_decoder_inputs, torch.zeros(2, n_decoder_inputs)
            output = _run(decoder, code, "decoder", "codes")
            if not isinstance(output, torch.Tensor) or output.shape != (2, n_features):
                raise ValueError(
                    f"The decoder must map (n_samples, {n_codes}) codes to "
                    f"(n_samples, {n_features}) rows, but it returned "
                    f"{_describe(output)}."
                )
    finally:
        encoder.train(modes[0]), decoder.train(modes[1])


def _run(module, X, role, what):
    """``module(X)``, with the module's own error wrapped in one that says
    which of the user's modules failed, and on what."""
    try:
        return module(X)
    except Exception as exc:
        raise ValueError(
            f"The {role} {type(module).__name__} failed on (n_samples, "
            f"{X.shape[1]}) {what}: {exc}"
        ) from exc


def _describe(output):
    if isinstance(output, torch.Tensor):
        return f"shape {tuple(output.shape)} for 2 rows"
    return f"a {type(output).__name__}"


def _same(a, b):
    """Whether two architecture values are the same (module instances by
    identity, everything else by equality)."""
    if isinstance(a, torch.nn.Module) or isinstance(b, torch.nn.Module):
        return a is b
    return a == b


def _to_arrays(obj):
    """``obj`` with every tensor replaced by a numpy array (recursively)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: _to_arrays(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_arrays(v) for v in obj)
    return obj


def _to_tensors(obj):
    """Inverse of :func:`_to_arrays`."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, dict):
        return {k: _to_tensors(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_tensors(v) for v in obj)
    return obj


def _value_range(X):
    """``(min, max)`` of the values of ``X`` (the stored values of a sparse
    matrix) as floats, or None when it holds none."""
    values = X.data if sp.issparse(X) else X
    if not values.size:
        return None
    return float(values.min()), float(values.max())


def _as_tensor(X):
    """A tensor sharing memory with the float array ``X``."""
    if X.flags.writeable:
        return torch.from_numpy(X)
    # Read-only input (a memmap, say) is never written to, so sharing it is
    # safe; torch only warns because it cannot know that.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(X)


_WEIGHTS_FORMAT = "skae.weights"


def _safetensors():
    """safetensors' save_model, load_model and safe_open, or an ImportError
    that says what to install."""
    try:
        from safetensors import safe_open
        from safetensors.torch import load_model, save_model
    except ImportError as error:
        raise ImportError(
            "save_weights and load_weights need the safetensors package: "
            "pip install safetensors (or the skae[persist] extra)."
        ) from error
    return save_model, load_model, safe_open


def _architecture_json(architecture):
    """``architecture`` as JSON text; module classes and instances by name."""

    def name(value):
        cls = value if isinstance(value, type) else type(value)
        kind = "class" if isinstance(value, type) else "instance"
        return f"{kind} {cls.__module__}.{cls.__qualname__}"

    return json.dumps(architecture, default=name, sort_keys=True)


class BaseAutoencoder(BaseEstimator):
    """Base class of skae's estimators. Not for direct use.

    Subclasses declare their parameters and their public methods; this class
    holds the parameter constraints, input validation, the training template
    (``_fit``), batched inference (``_map_batches``) and persistence.
    """

    # What ``validate_data`` accepts as sparse input (densified batch by batch).
    _accept_sparse = "csr"

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "loss": [StrOptions(set(ELEMENTWISE_LOSSES))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like"],
        "sequence_shape": ["array-like", None],
        "recurrent_cell": [StrOptions(set(RECURRENT_CELLS))],
        "recurrent_units": [Interval(Integral, 1, None, closed="left")],
        "encoder": [type, torch.nn.Module, None],
        "decoder": [type, torch.nn.Module, None],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither"), None],
        "contractive_weight": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
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
        hidden_layer_sizes=(128, 64),
        activation="relu",
        loss="mse",
        dropout=0.0,
        batch_norm=False,
        image_shape=None,
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
        max_epochs=200,
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
        self.conv_channels = conv_channels
        self.sequence_shape = sequence_shape
        self.recurrent_cell = recurrent_cell
        self.recurrent_units = recurrent_units
        self.encoder = encoder
        self.decoder = decoder
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight
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
        self._set_module_params(kwargs)

    # ------------------------------------------------------------------
    # Parameters of the user's encoder and decoder classes: ``encoder__*``
    # and ``decoder__*`` keyword arguments, handled as skorch handles
    # ``module__*``, so that clone, set_params and GridSearchCV reach them.

    _MODULE_PARAM_PREFIXES = ("encoder__", "decoder__")

    def _set_module_params(self, params):
        # Kept in one private dict (scikit-learn allows no attribute but the
        # named parameters) and checked at fit, as scikit-learn checks every
        # parameter: __init__ and set_params never raise.
        if "_kwargs" not in vars(self):
            self._kwargs = {}
        self._kwargs.update(params)

    def _extra_params(self):
        """The keyword arguments beyond the named parameters."""
        return dict(vars(self).get("_kwargs", {}))

    def _module_params_for(self, role):
        prefix = f"{role}__"
        return {
            key[len(prefix) :]: value
            for key, value in self._extra_params().items()
            if key.startswith(prefix)
        }

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the parameters of parameter values that are
            estimators themselves, as ``<parameter>__<name>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values, the named parameters
            and any ``encoder__<name>`` and ``decoder__<name>`` arguments.
        """
        return {**super().get_params(deep=deep), **self._extra_params()}

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters: the named parameters, and
            ``encoder__<name>`` and ``decoder__<name>`` arguments for the
            ``encoder`` and ``decoder`` classes (new names included), which
            are checked and passed to those classes at ``fit``.

        Returns
        -------
        self : object
            The estimator.
        """
        extra = self._extra_params()
        self._set_module_params(
            {
                key: params.pop(key)
                for key in list(params)
                if key.startswith(self._MODULE_PARAM_PREFIXES) or key in extra
            }
        )
        return super().set_params(**params)

    # ------------------------------------------------------------------
    # Hooks that subclasses override to change the network or the loss.

    def _architecture(self, n_features):
        """Everything that shapes the network, as plain values (validated):
        a warm-started fit compares it with the fitted one."""
        unknown = sorted(
            key
            for key in self._extra_params()
            if not key.startswith(self._MODULE_PARAM_PREFIXES)
        )
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameters {unknown}; "
                "beyond its named parameters it takes only encoder__<name> and "
                "decoder__<name> arguments for the encoder and decoder classes."
            )
        image_shape = sequence_shape = None
        if self.image_shape is not None and self.sequence_shape is not None:
            raise ValueError(
                "image_shape and sequence_shape are exclusive: a row is either "
                "an image or a sequence."
            )
        if self.image_shape is not None:
            image_shape = _check_shape(
                self.image_shape, "image_shape", n_features, (2, 3)
            )
            image_shape = (1, *image_shape) if len(image_shape) == 2 else image_shape
        if self.sequence_shape is not None:
            sequence_shape = _check_shape(
                self.sequence_shape, "sequence_shape", n_features, (2,)
            )
        return {
            "n_features": n_features,
            "n_components": self.n_components,
            "hidden_layer_sizes": _check_layer_sizes(
                self.hidden_layer_sizes, "hidden_layer_sizes"
            ),
            "activation": self.activation,
            "output_activation": OUTPUT_ACTIVATIONS[self.loss],
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "image_shape": image_shape,
            "conv_channels": _check_layer_sizes(self.conv_channels, "conv_channels"),
            "sequence_shape": sequence_shape,
            "recurrent_cell": self.recurrent_cell,
            "recurrent_units": self.recurrent_units,
            "encoder": self.encoder,
            "encoder_params": self._module_params_for("encoder"),
            "decoder": self.decoder,
            "decoder_params": self._module_params_for("decoder"),
        }

    def _build_encoder_decoder(self, arch, n_codes, n_decoder_inputs=None):
        """The ``(encoder, decoder)`` pair for ``arch``, the encoder giving
        ``n_codes`` outputs and the decoder taking ``n_decoder_inputs``
        (``n_codes`` by default): the user's modules where given, the
        built-in ones (dense, convolutional or recurrent) otherwise. A user's
        class that takes ``n_components`` gets the width of its side."""
        n_features = arch["n_features"]
        if not arch["conv_channels"]:
            raise ValueError("conv_channels must hold at least one width.")
        encoder, decoder = build_encoder_decoder(
            n_features,
            n_codes,
            **{
                key: arch[key]
                for key in (
                    "hidden_layer_sizes",
                    "activation",
                    "output_activation",
                    "dropout",
                    "batch_norm",
                    "image_shape",
                    "conv_channels",
                    "sequence_shape",
                    "recurrent_cell",
                    "recurrent_units",
                )
            },
            n_decoder_inputs=n_decoder_inputs,
        )
        widths = {"encoder": n_codes, "decoder": n_decoder_inputs or n_codes}
        for role in ("encoder", "decoder"):
            if arch[role] is not None:
                sizes = {"n_features": n_features, "n_components": widths[role]}
                module = _user_module(arch[role], arch[f"{role}_params"], sizes, role)
                encoder, decoder = (
                    (module, decoder) if role == "encoder" else (encoder, module)
                )
            elif arch[f"{role}_params"]:
                raise ValueError(
                    f"{role}__* parameters "
                    f"({', '.join(sorted(arch[f'{role}_params']))}) configure "
                    f"the {role} class, but {role} is None."
                )
        if arch["encoder"] is not None or arch["decoder"] is not None:
            _check_module_shapes(
                encoder, decoder, n_features, n_codes, n_decoder_inputs
            )
        return encoder, decoder

    def _build_module(self, arch):
        """The torch module for ``arch``, with freshly initialised weights."""
        return AutoencoderModule(
            *self._build_encoder_decoder(arch, arch["n_components"])
        )

    def _penalty(self):
        """The penalty added to each training batch's loss, or None."""
        return CodePenalty.from_weights(
            self.sparsity_weight, self.sparsity_target, self.contractive_weight
        )

    def _criterion(self):
        return ReconstructionLoss, {"loss": self.loss}

    def _network_input(self, X):
        """The tensor the network sees for the float32 tensor ``X``; a
        subclass that rescales its input overrides this (it runs on the whole
        training tensor and on each inference batch)."""
        return X

    def _batch_corruption(self, seed):
        """A callable that corrupts each training batch tensor, or None."""
        return None

    # ------------------------------------------------------------------
    # Validation

    def _validate_training_data(self, X, y, reset, classes=None):
        """Validate the training data; return ``(X, targets)``, the float32
        array the network trains on and the target tensor (None when the
        estimator has no targets). Subclasses that use ``y`` (and the
        ``classes`` given to ``partial_fit``) or fit statistics of ``X``
        override this."""
        X = validate_data(
            self,
            X,
            accept_sparse=self._accept_sparse,
            dtype=np.float32,
            order="C",
            reset=reset,
        )
        self._check_trainable(X)
        return X, None

    def _check_loss_range(self, X, value_range=None):
        """A ValueError unless ``X`` suits the loss: binary cross-entropy
        needs values in [0, 1], to train on and to score alike.
        ``value_range`` is ``_value_range(X)`` when the caller has it."""
        if self.loss == "bce":
            value_range = value_range or _value_range(X)
            # NaN or infinity: the inference batches report it in
            # scikit-learn's words (fit has refused it already)
            if value_range is None or not np.isfinite(value_range).all():
                return
            # as the float32 network sees them: 1 + 1e-8 is 1
            low, high = np.float32(value_range[0]), np.float32(value_range[1])
            if low < 0 or high > 1:
                raise ValueError(
                    "loss='bce' needs X in [0, 1], but X ranges over "
                    f"[{low:.4g}, {high:.4g}]. Scale it first "
                    "(MinMaxScaler(clip=True) also clips new rows, or divide "
                    "pixels by 255) or use loss='mse'."
                )

    # The largest magnitude of input the float32 network trains on: squared
    # errors of larger values, summed over the features, can overflow. None
    # for an estimator that standardizes its input first.
    _input_limit = 1e15

    def _check_trainable(self, X):
        value_range = _value_range(X)
        self._check_loss_range(X, value_range)
        if self._input_limit is not None and value_range is not None:
            largest = max(value_range[1], -value_range[0])
            if largest > self._input_limit:
                raise ValueError(
                    f"X holds values of magnitude up to {largest:.3g}; the "
                    "network computes in float32, where the squared errors of "
                    f"values beyond {self._input_limit:.0e} can overflow. Scale X "
                    "first (StandardScaler or MinMaxScaler in a Pipeline)."
                )
        if self.batch_norm and X.shape[0] < 2:
            raise ValueError(
                "batch_norm=True needs at least 2 samples to train, got "
                f"n_samples={X.shape[0]}."
            )
        if self.batch_norm and self.batch_size < 2:
            raise ValueError(
                "batch_norm=True needs batch_size >= 2: batch normalisation "
                "takes its statistics over the rows of each batch."
            )

    def _validate_inference_data(self, X):
        """Validate rows to infer on. Their finiteness is checked batch by
        batch in ``_inference_batches``, while each batch is in the CPU's
        cache: scikit-learn's separate pass over the whole of X added about
        3% to a ``transform`` of 50000 rows of 20 features."""
        check_is_fitted(self)
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.size
            and X.dtype in (np.float32, np.float64)
        ):
            # check_array would hand back X itself: these four conditions are
            # what it checks of a float array when finiteness is not asked
            # for. Its general path took 0.1 to 0.3 ms a call, up to 4% of
            # a transform of 50000 rows of 20 features; the feature names
            # and count are still checked by scikit-learn.
            return validate_data(self, X, skip_check_array=True, reset=False)
        return validate_data(
            self,
            X,
            accept_sparse=self._accept_sparse,
            dtype=(np.float32, np.float64),
            reset=False,
            ensure_all_finite=False,
        )

    def _validate_codes(self, Z):
        check_is_fitted(self)
        Z = check_array(Z, dtype=(np.float32, np.float64))
        if Z.shape[1] != self._n_codes:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self._n_codes} features "
                "(n_components) as input."
            )
        return Z

    # ------------------------------------------------------------------
    # Training

    def _build_net(self, n_features, device, architecture=None):
        """A skorch net around a fresh module built from ``architecture``
        (by default the one the current parameters describe)."""
        criterion, criterion_params = self._criterion()
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        sink = print if self.verbose else noop
        if self.early_stopping:
            stopper = EarlyStopping(
                "valid_loss", self.n_iter_no_change, self.tol, True, sink
            )
        else:
            stopper = EarlyStopping(
                "train_loss", self.n_iter_no_change, self.tol, False, sink
            )
        callbacks = []
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar()))
        if self.max_grad_norm is not None:
            callbacks.append(
                ("gradient_clipping", GradientNormClipping(self.max_grad_norm))
            )
        callbacks.extend(self.callbacks or [])
        # Last, so that every other callback sees the epoch it stops after.
        callbacks.append(("early_stopping", stopper))
        if architecture is None:
            architecture = self._architecture(n_features)
        return AutoencoderNet(
            module=self._build_module(architecture),
            architecture=architecture,
            penalty=self._penalty(),
            criterion=criterion,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=InMemoryBatchIterator,
            iterator_valid=InMemoryBatchIterator,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator(),
            train_split=None,
            callbacks=callbacks,
            verbose=int(self.verbose >= 2),
            device=device,
            **{f"criterion__{k}": v for k, v in criterion_params.items()},
        )

    def _make_dataset(self, X, y, device):
        if not sp.issparse(X):
            X = self._network_input(_as_tensor(X))
            if device.type == "cuda":
                free, _ = torch.cuda.mem_get_info(device)
                if X.nbytes <= _DEVICE_DATA_SHARE * free:
                    X = X.to(device)
        if y is not None and not sp.issparse(X):
            y = y.to(X.device)  # batches index both with the same rows
        return InMemoryDataset(X, y, device=device)

    def _fit(self, X, y=None, *, incremental=False, classes=None):
        """Validate, build or continue the net, and train; return the
        validated training ``X`` (for subclasses that score it).

        A first fit builds a net. ``partial_fit`` continues the fitted net.
        A ``fit`` with ``warm_start=True`` builds a net from the current
        parameters, so that a changed ``lr``, optimizer, stopping rule or
        callbacks take effect, and carries the fitted weights, optimizer
        state and history over; a changed architecture is an error. If
        training fails, a first fit leaves the estimator unfitted and a later
        one leaves the fitted model as it was.
        """
        fitted = hasattr(self, "net_")
        first_pass = not fitted or not (self.warm_start or incremental)
        X, targets = self._validate_training_data(X, y, first_pass, classes)
        continuing = incremental and not first_pass
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
                saved = deepcopy(
                    (net.module_.state_dict(), net.optimizer_.state_dict())
                )
                n_epochs_before = len(net.history)
            else:
                net = self._build_net(X.shape[1], device)
                net.initialize()
                if not first_pass:
                    self._carry_over(self.net_, net)
            net.iterator_train__generator.manual_seed(seed)
            net.corruption = self._batch_corruption(process_seed(seed))
            dataset = self._make_dataset(X, targets, device)
            if incremental:
                train, valid, epochs = dataset, None, 1
            elif self.early_stopping:
                # Split from the first seed, so that a warm-started fit
                # validates on the same rows and never on rows it trained on.
                train, valid = train_validation_split(
                    dataset,
                    self.validation_fraction,
                    torch.Generator().manual_seed(self._seed),
                )
                epochs = self.max_epochs
            else:
                train, valid, epochs = dataset, None, self.max_epochs
            if self.batch_norm and len(train) < 2:
                raise ValueError(
                    "batch_norm=True needs at least 2 training samples, got "
                    f"{len(train)} after the validation split."
                )
            try:
                net.fit_epochs(train, valid, epochs=epochs)
            except BaseException:
                if continuing:
                    net.module_.load_state_dict(saved[0])
                    net.optimizer_.load_state_dict(saved[1])
                    del net.history[n_epochs_before:]
                elif first_pass:
                    for name in ("net_", "history_", "n_iter_"):
                        self.__dict__.pop(name, None)
                raise
        self.net_ = net
        self.__dict__.pop("_block_rows", None)  # worked out for the new net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        if not incremental and self._check_codes_vary:
            self._warn_if_codes_constant(X)
        return X

    # Whether ``fit`` warns when most code units are constant; the
    # variational autoencoder opts out (inactive units are what its KL term
    # asks for).
    _check_codes_vary = True

    def _warn_if_codes_constant(self, X, n_rows=1024):
        """Warn when most code units take one value on every training row (a
        sample of ``n_rows``): the encoder ignores its input, the failure of
        dead ReLU units that the tutorials warn about."""
        # a view of X; from larger X exactly n_rows rows
        sample = X[:: max(1, X.shape[0] // n_rows)][:n_rows]
        # identical rows (no column varies): constant codes say nothing. Per
        # column, not np.unique over rows, whose sorted copies of the sample
        # took more memory than the training itself (24 MB at 2000 features)
        if sp.issparse(sample):
            varies = (sample.max(axis=0) - sample.min(axis=0)).count_nonzero()
        else:
            varies = np.ptp(sample, axis=0).any()
        if not varies:
            return
        codes = self._transform(sample)
        constant = np.ptp(codes, axis=0) == 0
        if constant.sum() * 2 > constant.size:
            warnings.warn(
                f"{constant.sum()} of the {constant.size} code units take the "
                "same value on every training row: the encoder ignores its "
                "input. Usual causes: hidden ReLU units that died during "
                "training (try a lower lr, activation='leaky_relu' or 'elu', "
                "or batch_norm=True), or input that is not scaled.",
                UserWarning,
                stacklevel=3,
            )

    def _carry_over(self, old, new):
        """Copy the fitted state of net ``old`` into the freshly built
        ``new`` (a warm-started fit)."""
        changed = sorted(
            key
            for key, value in new.architecture.items()
            if not _same(old.architecture.get(key), value)
        )
        if changed:
            raise ValueError(
                "warm_start=True continues the fitted network, but its "
                f"architecture changed ({', '.join(changed)}); set "
                "warm_start=False to start afresh."
            )
        new.module_.load_state_dict(old.module_.state_dict())
        if type(old.optimizer_) is type(new.optimizer_):
            new.optimizer_.load_state_dict(old.optimizer_.state_dict())
            for group in new.optimizer_.param_groups:
                group["lr"] = self.lr
        new.history = old.history

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    @property
    def _n_codes(self):
        """The code width of the fitted network (``n_components`` may have
        been set to something else since)."""
        return self.net_.architecture["n_components"]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one pass over ``X``, continuing from the current weights.

        The first call builds the network. There is no validation split and
        no early stopping: this is for data that arrives in chunks.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        self._fit(X, y, incremental=True)
        return self

    # ------------------------------------------------------------------
    # Inference

    def _inference_block_rows(self):
        """The rows of every block that inference runs the fitted network
        on: a power of two fixed by the network (see ``_BLOCK_MACS``), the
        same for every method and call; worked out once, by encoding and
        decoding one row of zeros."""
        rows = vars(self).get("_block_rows")
        if rows is None:
            macs, activations = module_cost(self.net_.module_, self.n_features_in_)
            rows = min(
                _BLOCK_MACS // max(macs, 1),
                _BLOCK_ACTIVATION_BYTES // (4 * max(activations, 1)),
            )
            rows = 1 << max(int(rows).bit_length() - 1, 0)  # a power of two
            rows = min(max(rows, _BLOCK_MIN_ROWS), _BLOCK_MAX_ROWS)
            self._block_rows = rows
        return rows

    def _inference_batches(self, X, codes=False):
        """Yield ``(rows, block)``: the slice of ``X`` in each batch, and the
        batch as the network sees it (``_network_input`` is not applied to
        ``codes``) in a float32 block of ``_inference_block_rows()`` rows on
        the device, zero rows padding the last batch.

        Why a row's output does not depend on the rows beside it: matrix
        kernels (MKL's, oneDNN's, cuBLAS's) choose their algorithm, blocking
        and instruction paths by the shape of their operands and the
        alignment of their memory, and different choices round differently.
        On an AVX-512 Intel CPU MKL's sgemm gives a row's output bits that
        vary with the number of rows in the call, even for multiples of 8;
        on AMD's Zen 5 they vary between 2, 3 and more rows, and with where
        in memory the input starts. So every block the network runs on,
        for every method and call of a fitted model, has one shape (this
        many rows, the same columns) and lies in a buffer of torch's
        allocator, aligned to 64 bytes; the rows of a block are computed
        alike (a kernel's row tiles are independent accumulators running one
        sequence of operations), and the layers act row by row in
        evaluation mode (batch normalisation uses its running statistics,
        dropout is off). Within one process, that is, for a given CPU,
        thread count and library, a row gives the same bits alone, among a
        million rows or in any order; the tests check it under every
        thread count and MKL code path they can set.

        Rows (not codes, which ``_validate_codes`` checked) must be finite:
        a batch whose sum is not is checked element-wise, with
        scikit-learn's messages ("Input X contains NaN").
        """
        block_rows = self._inference_block_rows()
        block = torch.empty((block_rows, X.shape[1]), dtype=torch.float32)
        # numpy writes each batch into the block: any dtype, order or
        # strides, and sparse rows, without another copy
        block_array = block.numpy()
        device = torch.device(self.net_.device)
        sparse = sp.issparse(X)
        for rows in gen_batches(X.shape[0], block_rows):
            n_rows = rows.stop - rows.start
            if sparse and X.dtype == np.float32:
                X[rows].toarray(out=block_array[:n_rows])
            else:
                block_array[:n_rows] = X[rows].toarray() if sparse else X[rows]
            if n_rows < block_rows:
                block_array[n_rows:] = 0
            if not codes and not math.isfinite(block[:n_rows].sum().item()):
                # finite values may overflow the sum: decide element-wise
                assert_all_finite(
                    X[rows], estimator_name=type(self).__name__, input_name="X"
                )
            Xb = block.to(device)
            yield rows, Xb if codes else self._network_input(Xb)

    def _map_batches(self, X, fn, n_outputs=None, codes=False, dtype=np.float32):
        """``fn`` applied to ``X`` (input rows, or ``codes``) one batch at a
        time, in evaluation mode and without gradients, gathered into an
        array of ``dtype`` with ``n_outputs`` columns (1-D when None)."""
        shape = (X.shape[0],) if n_outputs is None else (X.shape[0], n_outputs)
        out = np.empty(shape, dtype=dtype)
        out_tensor = torch.from_numpy(out)  # copies from any device land here
        module = self.net_.module_
        # eval() walks the whole module tree; skip it when nothing trains
        if any(submodule.training for submodule in module.modules()):
            module.eval()
        with torch.no_grad():
            for rows, Xb in self._inference_batches(X, codes):
                # the output is copied out before the block is refilled
                result = fn(Xb)[: rows.stop - rows.start]
                # one reduction; the element-wise test only when it fails
                # (finite values whose sum overflows)
                if not math.isfinite(result.sum().item()) and not (
                    torch.isfinite(result).all()
                ):
                    raise ValueError(
                        "The network's output is not finite for some of these "
                        "rows: their values are too large for its float32 "
                        "arithmetic, or far outside the range it was trained "
                        "on. Scale the input as the training data was scaled."
                    )
                out_tensor[rows] = result
        return out

    def _transform(self, X):
        return self._map_batches(X, self.net_.module_.encode, self._n_codes)

    def _inverse_transform(self, Z):
        return self._map_batches(
            Z, self.net_.module_.decode, self.n_features_in_, codes=True
        )

    def _reconstruct(self, X):
        return self._map_batches(
            X, lambda Xb: self.net_.module_(Xb)[0], self.n_features_in_
        )

    def _reconstruction_error(self, X, reduction="sample"):
        """Per-sample (``reduction="sample"``, float64 like every score) or
        per-entry ("none", float32) reconstruction errors of ``X``, in the
        space the network sees."""
        self._check_loss_range(X)

        def error(Xb):
            return reconstruction_loss(
                self.net_.module_(Xb)[0], Xb, self.loss, reduction=reduction
            )

        if reduction == "sample":
            return self._map_batches(X, error).astype(np.float64)
        return self._map_batches(X, error, self.n_features_in_)

    # ------------------------------------------------------------------
    # Persistence: weights travel as numpy arrays, not as a torch pickle, so
    # a file can be audited and a model fitted on a GPU loads on a CPU.

    def __getstate__(self):
        # On Python >= 3.11 the parent may hand back ``self.__dict__`` itself.
        state = dict(super().__getstate__())
        net = state.pop("net_", None)
        if "history_" in state:
            # plain lists and dicts, which skops.io loads without trusting
            # skorch's History class
            state["history_"] = state["history_"].to_list()
        if net is not None:
            state["_net_state"] = {
                "device": str(net.device),
                # the network as fitted, whatever the parameters say now
                "architecture": net.architecture,
                "module": _to_arrays(net.module_.state_dict()),
                "optimizer": _to_arrays(net.optimizer_.state_dict()),
            }
        return state

    def __setstate__(self, state):
        net_state = state.pop("_net_state", None)
        if "history_" in state:
            state["history_"] = History(state["history_"])
        super().__setstate__(state)
        if net_state is None:
            return
        device = torch.device(net_state["device"])
        if device.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"This model was fitted on {device} but CUDA is not available; "
                "it is loaded on the CPU.",
                UserWarning,
                stacklevel=2,
            )
            device = torch.device("cpu")
        with isolated_rng(0, device):
            net = self._build_net(
                self.n_features_in_, device, net_state.get("architecture")
            )
            net.initialize()
        net.module_.load_state_dict(_to_tensors(net_state["module"]))
        net.optimizer_.load_state_dict(_to_tensors(net_state["optimizer"]))
        net.history = self.history_
        self.net_ = net

    # ------------------------------------------------------------------
    # Weights only, in the safetensors format, for exchange with PyTorch.

    def save_weights(self, path):
        """Save the fitted network's weights to a safetensors file.

        The file holds the tensors of ``net_.module_.state_dict()`` under
        their state-dict names (``encoder.…``, ``decoder.…``), so that
        ``safetensors.torch.load_file`` reads them into any torch module of
        the same structure, and text metadata: ``format`` ("skae.weights"),
        ``skae_version``, ``estimator`` (the class name), ``n_features_in``
        and ``architecture`` (JSON). Only the network: no optimizer state,
        no training history, no fitted statistics outside the network; use
        pickle or ``skops.io`` to keep a whole estimator. Needs the
        ``safetensors`` package.

        Parameters
        ----------
        path : str or path-like
            Where to write the file (conventionally ``*.safetensors``).

        Returns
        -------
        self : object
            The estimator, unchanged.
        """
        check_is_fitted(self)
        save_model, _, _ = _safetensors()
        from . import __version__

        metadata = {
            "format": _WEIGHTS_FORMAT,
            "skae_version": __version__,
            "estimator": type(self).__name__,
            "n_features_in": str(self.n_features_in_),
            "architecture": _architecture_json(self.net_.architecture),
        }
        save_model(self.net_.module_, str(path), metadata=metadata)
        return self

    def load_weights(self, path):
        """Load network weights saved by :meth:`save_weights` into this
        fitted estimator.

        The estimator must be fitted (a ``partial_fit`` on a few rows is
        enough) with the same architecture as the network that wrote the
        file; a file with skae's metadata is checked against it first. A file
        without it (one written by ``safetensors.torch.save_file`` from a
        module's ``state_dict()``) loads when its tensor names and shapes
        match ``net_.module_``. The optimizer's state is reset, as it
        belonged to the old weights; fitted statistics outside the network
        (``classes_``, ``offset_``, ...) are kept as they are.

        Parameters
        ----------
        path : str or path-like
            A safetensors file.

        Returns
        -------
        self : object
            The estimator, with the loaded weights.

        Raises
        ------
        ValueError
            If the file's architecture, tensor names or shapes differ from
            the fitted network's.
        """
        check_is_fitted(self)
        _, load_model, safe_open = _safetensors()
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        if metadata.get("format") == _WEIGHTS_FORMAT:
            saved = json.loads(metadata["architecture"])
            fitted = json.loads(_architecture_json(self.net_.architecture))
            changed = sorted(
                k for k in saved.keys() | fitted.keys() if saved.get(k) != fitted.get(k)
            )
            if changed:
                raise ValueError(
                    f"The weights in {str(path)!r} are of a network with another "
                    f"architecture ({', '.join(changed)} differ: file "
                    f"{ {k: saved.get(k) for k in changed} }, this estimator "
                    f"{ {k: fitted.get(k) for k in changed} })."
                )
        module = self.net_.module_
        try:
            load_model(module, str(path), strict=True, device=str(self.net_.device))
        except RuntimeError as error:
            raise ValueError(
                f"The tensors in {str(path)!r} do not fit this estimator's "
                f"network: {error}"
            ) from None
        self.net_.initialize_optimizer()
        return self


class CodesMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``transform`` to codes and ``inverse_transform`` from them, for the
    estimators that are transformers; output features are named
    ``<classname>0``, ``<classname>1``, ..."""

    @property
    def _n_features_out(self):
        return self._n_codes

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
