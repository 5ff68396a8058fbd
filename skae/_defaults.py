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


# "auto" epochs train at most this many batches (and at most MAX_EPOCHS
# passes over the data).
STEP_BUDGET = 30_000
MAX_EPOCHS = 200


def resolve_max_epochs(max_epochs, n_samples, batch_size):
    """The most epochs that ``max_epochs`` gives for ``n_samples`` training
    rows in batches of ``batch_size``: an explicit count as it is; "auto" is
    ``MAX_EPOCHS`` (200), or fewer when that many would take more than
    ``STEP_BUDGET`` (30000) batches: as many epochs as make 30000 batches.

    The stopping rule ends most fits on small data before 200 epochs; on
    large data it came late for little: on MNIST's 60000 images (2 cores)
    it stopped after 109 epochs and 314 s at 0.261 of PCA's test error,
    where the 32 epochs of 30000 batches took 77 s for 0.285. Data of up to
    9600 rows (at ``batch_size=64``) keep their 200 epochs."""
    if not (isinstance(max_epochs, str) and max_epochs == "auto"):
        return max_epochs
    batches = -(-max(n_samples, 1) // batch_size)  # per epoch
    return int(min(MAX_EPOCHS, max(1, -(-STEP_BUDGET // batches))))


# "auto" widths have a second hidden layer from this many training rows,
# for codes of at most DEEP_UP_TO_COMPONENTS values.
DEEP_FROM_ROWS = 2000
DEEP_UP_TO_COMPONENTS = 8


def resolve_hidden_layer_sizes(sizes, n_samples, n_components):
    """The hidden widths that ``sizes`` gives for ``n_samples`` training
    rows and codes of ``n_components`` values: explicit widths as they are;
    "auto" is one hidden layer of ``width = max(256, 2 * n_components)``
    units each way (never narrower than the code), and a second one of
    ``width // 2`` for a narrow code (at most ``DEEP_UP_TO_COMPONENTS``
    values) learned from many rows (at least ``DEEP_FROM_ROWS``).

    In bench_defaults a second layer overfitted the sets of a few hundred
    rows, helped the larger sets coded in 2 to 4 values (the swiss roll,
    pendigits, annthyroid, shuttle), and hurt or did not help the wider
    codes (musk's 42, MNIST's 32, optdigits' 16, satellite's 9), where on
    MNIST it also doubled the fit time."""
    if not (isinstance(sizes, str) and sizes == "auto"):
        return sizes
    n_components = n_components or 1
    width = max(256, 2 * n_components)
    if n_samples >= DEEP_FROM_ROWS and n_components <= DEEP_UP_TO_COMPONENTS:
        return (width, width // 2)
    return (width,)
