"""The rules behind the "auto" defaults, as plain functions of the data's
shape and range (numpy only, no torch); ``benchmarks/bench_defaults.py``
measured them (the Benchmarks page, "The defaults on seventeen data sets")."""

import numpy as np


def resolve_loss(loss, X_range, decoder=None):
    """The reconstruction loss that ``loss`` gives on training data whose
    values span ``X_range`` (``(min, max)``, None for no values): an explicit
    loss as it is; "auto" is "bce" when every value lies in [0, 1] (pixels
    divided by 255, a MinMaxScaler's output, binary features) and "mse"
    otherwise (standardized or raw data), or whenever the user gives their
    own ``decoder``, whose output need not lie in [0, 1]."""
    if loss != "auto":
        return loss
    if decoder is not None:
        return "mse"
    if X_range is None or not np.isfinite(X_range).all():
        return "mse"
    # as the float32 network sees them, as check_loss_range does
    low, high = np.float32(X_range[0]), np.float32(X_range[1])
    return "bce" if 0 <= low and high <= 1 else "mse"


def resolve_hidden_layer_sizes(sizes, n_components):
    """The hidden widths that ``sizes`` gives for codes of ``n_components``
    values: explicit widths as they are; "auto" is one hidden layer of 256
    units each way, or of twice ``n_components`` when that is more, so
    that the layer is never narrower than the code."""
    if not (isinstance(sizes, str) and sizes == "auto"):
        return sizes
    return (max(256, 2 * (n_components or 1)),)
