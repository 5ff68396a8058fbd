"""Data in memory, served to training a batch at a time, and to inference a
block at a time.

Training slices batches out of one float32 tensor instead of collating rows
from ``Dataset.__getitem__`` (a ``DataLoader`` over a map-style dataset
costs skorch 1.35x to 2.5x a bare loop, see docs/design.md).
"""

import math
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import gen_batches
from sklearn.utils.validation import assert_all_finite

from .._torch_network import module_cost


def as_tensor(X):
    """A tensor sharing memory with the float array ``X``."""
    if X.flags.writeable:
        return torch.from_numpy(X)
    # Read-only input (a memmap, say) is never written to, so sharing it is
    # safe; torch only warns because it cannot know that.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(X)


class InMemoryDataset(torch.utils.data.Dataset):
    """Rows of data held in memory, served a batch at a time.

    Parameters
    ----------
    X : torch.Tensor or scipy.sparse matrix of shape (n_samples, n_features)
        A float32 tensor (on the training device when it fits there), or a
        float32 CSR matrix that is densified one batch at a time.
    y : torch.Tensor of shape (n_samples,), default=None
        Targets, for estimators that have them.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        The rows' weights in the loss (None: all alike).
    indices : torch.Tensor of int64, default=None
        The rows of ``X`` that belong to this dataset (a train or validation
        part shares the full tensor instead of copying it). A 2-D tensor of
        shape (n_members, n_rows) gives each member of an ensemble rows of
        its own: a batch of ``b`` positions is then an ``(n_members, b,
        n_features)`` tensor, member ``e`` reading ``X[indices[e]]``.
    device : str or torch.device, default="cpu"
        Where batches are delivered.
    positions : bool, default=False
        Whether a batch also carries its rows' positions in ``X`` (for a
        penalty that looks rows up, see ``batch``).
    """

    def __init__(
        self,
        X,
        y=None,
        sample_weight=None,
        *,
        indices=None,
        device="cpu",
        positions=False,
    ):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        self.indices = indices
        self.device = torch.device(device)
        self.positions = positions

    # Training data stays on a GPU when it takes at most this share of the
    # free device memory; otherwise batches are copied there one at a time.
    DEVICE_DATA_SHARE = 0.5

    @classmethod
    def from_array(
        cls, X, y, device, sample_weight=None, indices=None, positions=False
    ):
        """A dataset of the validated float32 array (or CSR matrix) ``X``,
        shared, not copied, the target tensor ``y`` and the weights array
        ``sample_weight`` (or None), on ``device`` when it fits there;
        ``indices`` and ``positions`` as in the constructor (``indices`` an
        array, or None)."""
        if indices is not None:
            indices = torch.as_tensor(indices, dtype=torch.int64)
        if sample_weight is not None:
            sample_weight = torch.as_tensor(sample_weight, dtype=torch.float32)
        if not sp.issparse(X):
            X = as_tensor(X)
            if device.type == "cuda":
                free, _ = torch.cuda.mem_get_info(device)
                if X.nbytes <= cls.DEVICE_DATA_SHARE * free:
                    X = X.to(device)
            # batches index them all with the same rows
            if y is not None:
                y = y.to(X.device)
            if sample_weight is not None:
                sample_weight = sample_weight.to(X.device)
        return cls(
            X, y, sample_weight, indices=indices, device=device, positions=positions
        )

    def __len__(self):
        return self.X.shape[0] if self.indices is None else self.indices.shape[-1]

    def __getitem__(self, i):
        # Only for code that insists on per-row access; skae's iterator
        # calls `batch` instead.
        return self.batch(
            slice(i, i + 1) if self.indices is None else self.indices[..., i : i + 1]
        )

    def subset(self, indices):
        """The rows at positions ``indices`` of this dataset (of every
        member's rows, for an ensemble's), sharing its storage."""
        if self.indices is not None:
            indices = self.indices[..., indices]
        return InMemoryDataset(
            self.X,
            self.y,
            self.sample_weight,
            indices=indices,
            device=self.device,
            positions=self.positions,
        )

    def batch(self, rows):
        """``(X_batch, (y_batch, weight_batch))`` for ``rows`` (a slice or an
        index tensor); the targets and weights are None when absent. With
        ``positions`` the second item is ``(y_batch, weight_batch,
        rows_batch)``, the rows' positions in ``X`` as an int64 tensor."""
        if sp.issparse(self.X):
            if isinstance(rows, slice):
                Xb = torch.from_numpy(self.X[rows].toarray())
            else:  # scipy indexes rows by a 1-D array only
                dense = self.X[rows.numpy().ravel()].toarray()
                Xb = torch.from_numpy(dense.reshape(*rows.shape, -1))
        else:
            if not isinstance(rows, slice) and rows.device != self.X.device:
                rows = rows.to(self.X.device)
            Xb = self.X[rows]
        Xb = Xb.to(self.device, non_blocking=True)
        yb, wb = (
            None if values is None else values[rows].to(self.device, non_blocking=True)
            for values in (self.y, self.sample_weight)
        )
        if self.positions:
            if isinstance(rows, slice):
                rows = torch.arange(rows.start, rows.stop)
            return Xb, (yb, wb, rows.to(self.device))
        return Xb, (yb, wb)


def batch_bounds(n_samples, batch_size):
    """Start and stop of each batch; a trailing batch of a single row is merged
    into the one before it (batch normalisation cannot train on one row)."""
    starts = list(range(0, n_samples, batch_size))
    if len(starts) > 1 and n_samples - starts[-1] == 1:
        starts.pop()
    stops = starts[1:] + [n_samples]
    return list(zip(starts, stops, strict=True))


class InMemoryBatchIterator:
    """Mini-batches of an :class:`InMemoryDataset` as tensor slices.

    Unlike a ``DataLoader`` over a map-style dataset, nothing is fetched or
    collated row by row: a batch is one slice (or one gather, when shuffling)
    of the dataset's tensor.

    With ``num_replicas`` > 1 (data-parallel training) it serves process
    ``rank``'s share of the rows, as ``DistributedSampler`` does: every
    process draws the same order from the same ``generator``, rows from its
    start are repeated so that the number of rows divides evenly, and each
    process takes every ``num_replicas``-th row from ``rank`` on. Every
    process then runs the same number of batches of the same sizes, and the
    ``k``-th batches of all processes together are the ``k``-th batch of
    ``batch_size * num_replicas`` rows that a single process would take (but
    for the repeated rows and the end of the epoch).
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        generator=None,
        *,
        num_replicas=1,
        rank=0,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.num_replicas = num_replicas
        self.rank = rank

    def _n_rows(self):
        """The rows this process serves per epoch."""
        return -(-len(self.dataset) // self.num_replicas)

    def __len__(self):
        return len(batch_bounds(self._n_rows(), self.batch_size))

    def __iter__(self):
        dataset = self.dataset
        order = dataset.indices  # None: the rows in storage order
        if self.shuffle:
            order = torch.randperm(len(dataset), generator=self.generator)
            if dataset.indices is not None:
                order = dataset.indices[..., order]
        n_rows = len(dataset)
        if self.num_replicas > 1:
            share = torch.arange(
                self.rank, self._n_rows() * self.num_replicas, self.num_replicas
            )
            share %= n_rows
            order = share if order is None else order[..., share]
            n_rows = len(share)
        for start, stop in batch_bounds(n_rows, self.batch_size):
            yield dataset.batch(
                slice(start, stop) if order is None else order[..., start:stop]
            )


def train_validation_split(dataset, validation_fraction, generator):
    """Split ``dataset`` at random into a training and a validation part that
    share its storage."""
    n_samples = len(dataset)
    n_valid = math.ceil(validation_fraction * n_samples)
    n_train = n_samples - n_valid
    if n_valid < 1 or n_train < 1:
        raise ValueError(
            f"early_stopping=True with validation_fraction={validation_fraction} "
            f"leaves an empty training or validation set for n_samples={n_samples}; "
            "provide more samples or set early_stopping=False."
        )
    order = torch.randperm(n_samples, generator=generator)
    return dataset.subset(order[:n_train]), dataset.subset(order[n_train:])


# ----------------------------------------------------------------------
# Inference: blocks of one shape per network.

# A network's inference blocks hold 48 times a power of two of rows (see
# BLOCK_UNIT), at most what takes this many multiply-adds (one per parameter
# and row, as in a dense layer) ...
BLOCK_MACS = 2**28
# ... and this many bytes of activations (every layer's outputs together,
# which also bounds the work of convolutional and recurrent layers, whose
# parameters act at every position), within these bounds. MNIST's
# 784-256-64-32 autoencoder runs blocks of 384 rows, the 20-64-32-8 tabular
# one blocks of 1536. A single row costs a whole block, a millisecond or a
# few; larger blocks were no faster, their activations leaving the CPU's
# caches. On one thread of an AMD EPYC, MNIST's 10000 rows encoded in 50 ms
# in blocks of 256 or 512 rows, 85 ms in blocks of 8192; 50000 tabular rows
# in 6.4 ms in blocks of 2048, 6.2 ms in blocks of 4096, 6.7 ms in blocks of
# 8192. On one thread of an Intel Xeon (AMX), MNIST's 60000 rows encoded in
# 220, 208 and 205 ms in blocks of 192, 384 and 768 rows (a bare loop over
# slices of 8192 rows: 191 ms); 50000 tabular rows in 7.2, 6.6 and 7.1 ms in
# blocks of 768, 1536 and 3072 rows (bare loop: 6.7 ms).
BLOCK_ACTIVATION_BYTES = 2**23
# Every block holds a multiple of this many rows. Matrix kernels compute
# their output in tiles of a few rows, and the rows of a last, partial tile
# take another kernel that may round otherwise: MKL's AVX2 sgemm (the path
# of AVX2 CPUs) tiles by 6 rows and, on an Intel Xeon, gave the last rows of
# blocks of 64, 128, 256, ... 2048 rows other bits than the same rows
# elsewhere in the block, for layers of up to 64 outputs and for LSTM and GRU
# layers; blocks of 48, 96, ... 3072 rows gave every row the same bits on
# its AVX2, AVX-512 and generic paths. 48 is a multiple of every row tile
# of 1, 2, 3, 4, 6, 8, 12, 16, 24 and 48.
BLOCK_UNIT = 48
BLOCK_MIN_ROWS = BLOCK_UNIT
BLOCK_MAX_ROWS = 32 * BLOCK_UNIT


def inference_block_rows(module, n_features):
    """The rows of every inference block of ``module`` (an
    :class:`~skae._torch_modules.AutoencoderModule` reading ``n_features``
    columns): ``BLOCK_UNIT`` times a power of two, fixed by the network's
    size (see ``BLOCK_MACS``) within ``BLOCK_MIN_ROWS`` and
    ``BLOCK_MAX_ROWS``."""
    macs, activations = module_cost(module, n_features)
    rows = min(
        BLOCK_MACS // max(macs, 1),
        BLOCK_ACTIVATION_BYTES // (4 * max(activations, 1)),
    )
    units = max(int(rows) // BLOCK_UNIT, 1)
    rows = BLOCK_UNIT << (units.bit_length() - 1)  # 48 times a power of two
    return min(max(rows, BLOCK_MIN_ROWS), BLOCK_MAX_ROWS)


def inference_blocks(X, block_rows, device, *, check_finite=True, name="X"):
    """Yield ``(rows, block)``: the slice of ``X`` in each batch and the
    batch in a float32 tensor of ``block_rows`` rows on ``device``, zero
    rows padding the last batch.

    ``X`` is a float array of any order or strides, or a scipy sparse
    matrix. With ``check_finite`` a batch whose sum is not finite is
    checked element-wise, with scikit-learn's messages ("Input X contains
    NaN"); ``name`` is the estimator's, for those messages.

    Why a row's output does not depend on the rows beside it: matrix
    kernels (MKL's, oneDNN's, cuBLAS's) choose their algorithm, blocking and
    instruction paths by the shape of their operands and the alignment of
    their memory, and different choices round differently. On an AVX-512
    Intel CPU MKL's sgemm gives a row's output bits that vary with the
    number of rows in the call, even for multiples of 8; on AMD's Zen 5 they
    vary between 2, 3 and more rows, with ``MKL_CBWR=COMPATIBLE`` between 8
    and 16, and with where in memory the input starts. So every block that a
    network runs on, for every method and call, has one shape (``block_rows``
    rows, the same columns) and lies in one buffer of torch's allocator,
    aligned to 64 bytes. Within a block, a kernel computes its output in
    tiles of a few rows, each tile an independent accumulator running one
    sequence of operations; only a last, partial tile may take another
    kernel, so ``block_rows`` is a multiple of 48 (``BLOCK_UNIT``), which
    leaves no partial tile for tiles of up to 48 rows whose height divides
    48 (MKL's AVX2 sgemm, with tiles of 6 rows, gave the last rows of blocks
    of 128 rows other bits). skae's layers act row by row in evaluation
    mode (batch normalisation uses its running statistics, dropout is off).
    Within one process, that is for a given CPU, thread count and library,
    a row then gives the same bits alone, among a million rows or in any
    order; the tests check it, kernel by kernel for every block size and
    estimator by estimator, under every thread count and MKL code path they
    can set.
    """
    block = torch.empty((block_rows, X.shape[1]), dtype=torch.float32)
    block_array = block.numpy()
    # torch copies dense rows into the block (any float dtype, order or
    # positive strides; a third faster than numpy's assignment) and sums them
    # (twice as fast as numpy's pairwise sum); numpy writes sparse rows, and
    # arrays torch cannot view (read-only, reversed, or not in the machine's
    # byte order)
    sparse = sp.issparse(X)
    source = None
    if not sparse and X.flags.writeable and X.dtype.isnative and min(X.strides) >= 0:
        source = torch.from_numpy(X)
    on_cpu = torch.device(device).type == "cpu"
    for rows in gen_batches(X.shape[0], block_rows):
        n_rows = rows.stop - rows.start
        if source is not None:
            block[:n_rows].copy_(source[rows])
        elif not sparse:
            block_array[:n_rows] = X[rows]
        elif X.dtype == np.float32:
            X[rows].toarray(out=block_array[:n_rows])
        else:
            block_array[:n_rows] = X[rows].toarray()
        if n_rows < block_rows:
            block[n_rows:] = 0
        # one reduction; the element-wise test only when it fails (finite
        # values may overflow the sum)
        if check_finite and not math.isfinite(block[:n_rows].sum()):
            assert_all_finite(X[rows], estimator_name=name, input_name="X")
        yield rows, block if on_cpu else block.to(device)


def map_blocks(
    X, fn, block_rows, device, n_outputs=None, dtype=np.float32, **block_options
):
    """``fn`` applied to each of the :func:`inference_blocks` of ``X``
    (``block_options`` are theirs) without gradients, its rows gathered into
    an array of ``dtype`` with ``n_outputs`` columns (1-D when None; a tuple
    for more axes per row). The
    module that ``fn`` runs must be in evaluation mode."""
    shape = (X.shape[0], *(() if n_outputs is None else np.atleast_1d(n_outputs)))
    out = np.empty(shape, dtype=dtype)
    with torch.no_grad():
        for rows, block in inference_blocks(X, block_rows, device, **block_options):
            # copied out before the block is refilled
            out[rows] = fn(block)[: rows.stop - rows.start].cpu().numpy()
    # one reduction over all outputs; the element-wise test only when it
    # fails (finite values whose sum overflows)
    with np.errstate(over="ignore", invalid="ignore"):
        finite_sum = math.isfinite(out.sum())
    if not finite_sum and not np.isfinite(out).all():
        raise ValueError(
            "The network's output is not finite for some of these "
            "rows: their values are too large for its float32 "
            "arithmetic, or far outside the range it was trained "
            "on. Scale the input as the training data was scaled."
        )
    return out
