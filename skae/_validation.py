"""Checks of parameter values and data, with the messages users see (numpy
and scikit-learn only, no torch): the estimators and the plotting module
share them."""

import warnings

import numpy as np
import scipy.sparse as sp

from ._sklearn_compat import _check_sample_weight
from ._warnings import external_stacklevel

# The largest magnitude of input that a float32 network reconstructs in the
# data's own units: squared errors of larger values, summed over the
# features, can overflow.
INPUT_LIMIT = 1e15


def check_layer_sizes(sizes, name, *, allow_empty=True):
    """``sizes`` as a tuple of positive ints, or a ValueError naming
    ``name``."""
    array = np.atleast_1d(sizes)
    if array.ndim != 1 or (
        array.size
        and not (np.issubdtype(array.dtype, np.integer) and np.all(array > 0))
    ):
        raise ValueError(
            f"{name} must be a sequence of positive integers, got {sizes!r}."
        )
    if not (array.size or allow_empty):
        raise ValueError(f"{name} must hold at least one width.")
    return tuple(int(s) for s in array)


def check_shape(shape, name, n_features, lengths):
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


def check_image_shape(image_shape, n_features, channels_last=False):
    """``image_shape`` as ``(C, H, W)``: ``(H, W)`` is one channel, ``(H, W,
    C)`` with ``channels_last``, and one entry may be -1 (see
    :func:`check_shape`)."""
    shape = check_shape(image_shape, "image_shape", n_features, (2, 3))
    if len(shape) == 2:
        return (1, *shape)
    return (shape[2], shape[0], shape[1]) if channels_last else shape


def check_row_layout(image_shape, sequence_shape, channels_last, n_features):
    """``(image_shape, sequence_shape)`` checked against the ``n_features``
    of a row: the image as ``(C, H, W)`` (see :func:`check_image_shape`),
    the sequence as ``(steps, features)``, each None when not given; a row
    is one or the other."""
    if image_shape is not None and sequence_shape is not None:
        raise ValueError(
            "image_shape and sequence_shape are exclusive: a row is either "
            "an image or a sequence."
        )
    if image_shape is not None:
        image_shape = check_image_shape(image_shape, n_features, channels_last)
    if sequence_shape is not None:
        sequence_shape = check_shape(sequence_shape, "sequence_shape", n_features, (2,))
    return image_shape, sequence_shape


def value_range(X):
    """``(min, max)`` of the values of ``X`` (the stored values of a sparse
    matrix) as floats, or None when it holds none."""
    values = X.data if sp.issparse(X) else X
    if not values.size:
        return None
    return float(values.min()), float(values.max())


def check_loss_range(loss, X, X_range=None, given=None):
    """A ValueError unless ``X`` suits ``loss``: binary cross-entropy needs
    values in [0, 1], to train on and to score alike. ``X_range`` is
    ``value_range(X)`` when the caller has it; ``given`` is the ``loss``
    parameter that ``loss`` was resolved from ("auto"), for the message."""
    if loss != "bce":
        return
    X_range = X_range or value_range(X)
    # NaN or infinity: the inference blocks report it in scikit-learn's words
    # (fit has refused it already)
    if X_range is None or not np.isfinite(X_range).all():
        return
    # as the float32 network sees them: 1 + 1e-8 is 1
    low, high = np.float32(X_range[0]), np.float32(X_range[1])
    if low < 0 or high > 1:
        if given == "auto":
            raise ValueError(
                "loss='auto' chose 'bce' because the training data lay in "
                "[0, 1], and 'bce' needs X in [0, 1], but X ranges over "
                f"[{low:.4g}, {high:.4g}]. Scale new rows as the training rows "
                "(MinMaxScaler(clip=True) also clips them) or fit with "
                "loss='mse'."
            )
        raise ValueError(
            "loss='bce' needs X in [0, 1], but X ranges over "
            f"[{low:.4g}, {high:.4g}]. Scale it first "
            "(MinMaxScaler(clip=True) also clips new rows, or divide "
            "pixels by 255) or use loss='mse'."
        )


def check_magnitude(X_range):
    """A ValueError when values of ``X_range`` exceed ``INPUT_LIMIT``."""
    if X_range is None:
        return
    largest = max(X_range[1], -X_range[0])
    if largest > INPUT_LIMIT:
        raise ValueError(
            f"X holds values of magnitude up to {largest:.3g}; the network "
            "computes in float32, where the squared errors of values beyond "
            f"{INPUT_LIMIT:.0e} can overflow. Scale X first (StandardScaler or "
            "MinMaxScaler in a Pipeline)."
        )


def check_batch_norm(batch_norm, batch_size, n_samples):
    """A ValueError when batch normalisation cannot train: it takes its
    statistics over the rows of each batch."""
    if batch_norm and n_samples < 2:
        raise ValueError(
            "batch_norm=True needs at least 2 samples to train, got "
            f"n_samples={n_samples}."
        )
    if batch_norm and batch_size < 2:
        raise ValueError(
            "batch_norm=True needs batch_size >= 2: batch normalisation "
            "takes its statistics over the rows of each batch."
        )


def check_sample_weight(sample_weight, X):
    """``sample_weight`` as a float32 array of one non-negative weight per
    row of ``X``, not all zero (scikit-learn's check and messages); None
    stays None (every row alike)."""
    if sample_weight is None:
        return None
    return _check_sample_weight(
        sample_weight, X, dtype=np.float32, ensure_non_negative=True
    )


def warn_if_codes_constant(transform, X, n_rows=1024):
    """Warn when most code units take one value on every training row of
    ``X`` (a sample of ``n_rows``, coded by ``transform``): the encoder
    ignores its input, the failure of dead ReLU units that the tutorials warn
    about. Called by ``fit``, whose caller the warning points to."""
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
    codes = transform(sample)
    constant = np.ptp(codes, axis=0) == 0
    if constant.sum() * 2 > constant.size:
        warnings.warn(
            f"{constant.sum()} of the {constant.size} code units take the "
            "same value on every training row: the encoder ignores its "
            "input. Usual causes: hidden ReLU units that died during "
            "training (try a lower lr, activation='leaky_relu' or 'elu', "
            "or batch_norm=True), or input that is not scaled.",
            UserWarning,
            stacklevel=external_stacklevel(),
        )
