"""skae._training.data: the in-memory dataset, its batch iterator, the
validation split and the inference blocks, against rows worked out by
hand."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_array_equal

import skae._training.data as training_data
from skae._training.data import (
    InMemoryBatchIterator,
    InMemoryDataset,
    as_tensor,
    batch_bounds,
    inference_block_rows,
    inference_blocks,
    map_blocks,
    train_validation_split,
)

CPU = torch.device("cpu")


def rows_array(n_samples=6, n_features=2):
    """Row ``i`` holds ``10 * i, 10 * i + 1, ...``: a batch tells its rows."""
    return (10 * np.arange(n_samples)[:, None] + np.arange(n_features)).astype(
        np.float32
    )


def dataset(n_samples=6, **kwargs):
    X = rows_array(n_samples)
    y = torch.arange(n_samples) % 3
    sample_weight = np.arange(n_samples, dtype=np.float64) + 1
    return InMemoryDataset.from_array(X, y, CPU, sample_weight, **kwargs)


def served_rows(batch):
    """The row numbers of a batch of ``rows_array`` rows."""
    Xb = batch[0].numpy()
    return (Xb[..., 0] // 10).astype(int).tolist()


# --- the dataset --------------------------------------------------------------


def test_as_tensor_shares_memory_and_does_not_warn_on_read_only_input():
    X = rows_array()
    assert np.shares_memory(as_tensor(X).numpy(), X)
    X.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tensor = as_tensor(X)
    assert np.shares_memory(tensor.numpy(), X)


def test_from_array_shares_the_rows_and_converts_the_rest():
    X = rows_array()
    data = InMemoryDataset.from_array(X, None, CPU, np.ones(6), [[0, 2]])
    assert np.shares_memory(data.X.numpy(), X)
    assert data.sample_weight.dtype == torch.float32
    assert data.indices.dtype == torch.int64 and data.indices.shape == (1, 2)
    assert data.y is None


def test_batch_of_a_slice_and_of_indices():
    data = dataset()
    assert len(data) == 6
    Xb, (yb, wb) = data.batch(slice(1, 4))
    assert_array_equal(Xb, rows_array()[1:4])
    assert yb.tolist() == [1, 2, 0] and wb.tolist() == [2.0, 3.0, 4.0]
    Xb, (yb, wb) = data.batch(torch.tensor([5, 0]))
    assert served_rows((Xb,)) == [5, 0]
    assert yb.tolist() == [2, 0] and wb.tolist() == [6.0, 1.0]
    # absent targets and weights are None
    Xb, (yb, wb) = InMemoryDataset(torch.from_numpy(rows_array())).batch(slice(0, 2))
    assert yb is None and wb is None
    # a row at a time, for code that insists on it
    assert served_rows(data[4]) == [4]


def test_subset_shares_the_storage_and_reads_its_own_rows():
    data = dataset()
    part = data.subset(torch.tensor([4, 1, 3]))
    assert part.X is data.X and len(part) == 3
    assert served_rows(part[0]) == [4]
    # a subset of a subset reads positions of the first
    assert served_rows(part.subset(torch.tensor([2, 0]))[0]) == [3]


def test_an_ensemble_reads_each_members_rows():
    # two members, three rows each
    data = dataset(indices=[[0, 2, 4], [5, 3, 1]])
    assert len(data) == 3
    Xb, (yb, wb) = data.batch(data.indices[..., 0:2])
    assert Xb.shape == (2, 2, 2)
    assert served_rows((Xb,)) == [[0, 2], [5, 3]]
    assert yb.tolist() == [[0, 2], [2, 0]]
    assert wb.tolist() == [[1.0, 3.0], [6.0, 4.0]]
    assert served_rows(data[2]) == [[4], [1]]
    # a subset takes the same positions of every member's rows
    assert served_rows(data.subset(torch.tensor([1]))[0]) == [[2], [3]]


@pytest.mark.parametrize("indices", [None, [[0, 2, 4], [5, 3, 1]]])
def test_sparse_rows_are_served_dense(indices):
    X = rows_array()
    X[::2, 1] = 0
    dense = InMemoryDataset.from_array(X, None, CPU, None, indices)
    sparse = InMemoryDataset.from_array(sp.csr_matrix(X), None, CPU, None, indices)
    if indices is None:
        batches = [slice(1, 3), torch.tensor([3, 0])]
    else:  # one member's positions, and every member's
        batches = [torch.tensor([3, 0]), dense.indices]
    for rows in batches:
        got, expected = sparse.batch(rows)[0], dense.batch(rows)[0]
        assert got.dtype == torch.float32
        assert torch.equal(got, expected)


# --- batches ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_samples, batch_size, bounds",
    [
        (10, 4, [(0, 4), (4, 8), (8, 10)]),
        (8, 4, [(0, 4), (4, 8)]),
        # a trailing batch of one row joins the one before
        (9, 4, [(0, 4), (4, 9)]),
        (5, 4, [(0, 5)]),
        (1, 4, [(0, 1)]),
        # even with batches of one row
        (3, 1, [(0, 1), (1, 3)]),
    ],
)
def test_batch_bounds(n_samples, batch_size, bounds):
    assert batch_bounds(n_samples, batch_size) == bounds


def test_iterator_serves_slices_in_order():
    iterator = InMemoryBatchIterator(dataset(9), batch_size=4)
    assert len(iterator) == 2
    assert [served_rows(b) for b in iterator] == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]


def test_iterator_shuffles_with_its_generator():
    data = dataset(9)
    generator = torch.Generator().manual_seed(3)
    iterator = InMemoryBatchIterator(data, 4, shuffle=True, generator=generator)
    epochs = [sum((served_rows(b) for b in iterator), []) for _ in range(2)]
    expected = torch.randperm(9, generator=torch.Generator().manual_seed(3)).tolist()
    assert epochs[0] == expected
    assert sorted(epochs[1]) == list(range(9)) and epochs[1] != epochs[0]
    # with the targets and weights of the same rows
    for Xb, (yb, wb) in iterator:
        rows = np.array(served_rows((Xb,)))
        assert yb.tolist() == (rows % 3).tolist()
        assert wb.tolist() == (rows + 1).tolist()


def test_iterator_over_a_subset_and_an_ensemble():
    part = dataset(9).subset(torch.tensor([8, 6, 4, 2, 0]))
    batches = InMemoryBatchIterator(part, batch_size=2)
    assert [served_rows(b) for b in batches] == [[8, 6], [4, 2, 0]]
    ensemble = dataset(6, indices=[[0, 1, 2], [3, 4, 5]])
    batches = list(InMemoryBatchIterator(ensemble, batch_size=2))
    assert [served_rows(b) for b in batches] == [[[0, 1, 2], [3, 4, 5]]]
    generator = torch.Generator().manual_seed(0)
    shuffled = InMemoryBatchIterator(ensemble, 2, shuffle=True, generator=generator)
    order = torch.randperm(3, generator=torch.Generator().manual_seed(0)).tolist()
    (batch,) = list(shuffled)
    # every member's rows in the same order of positions
    assert served_rows(batch) == [order, [3 + p for p in order]]


def test_iterator_serves_each_process_its_share():
    # 5 rows over 2 processes: 3 each, row 0 repeated to even them out
    data = dataset(5)
    shares = [
        [served_rows(b) for b in InMemoryBatchIterator(data, 2, num_replicas=2, rank=r)]
        for r in (0, 1)
    ]
    # 3 rows in batches of 2: the trailing single row joins the batch before
    assert shares == [[[0, 2, 4]], [[1, 3, 0]]]
    assert len(InMemoryBatchIterator(data, 2, num_replicas=2)) == 1


# --- the validation split ---------------------------------------------------------


def test_train_validation_split():
    data = dataset(10)
    train, valid = train_validation_split(data, 0.25, torch.Generator().manual_seed(1))
    # ceil(0.25 * 10) = 3 validation rows, from the generator's permutation
    order = torch.randperm(10, generator=torch.Generator().manual_seed(1)).tolist()
    assert train.X is data.X and valid.X is data.X
    assert train.indices.tolist() == order[:7]
    assert valid.indices.tolist() == order[7:]


def test_train_validation_split_of_an_ensemble_splits_every_members_rows():
    data = dataset(6, indices=[[0, 1, 2, 3], [5, 4, 3, 2]])
    train, valid = train_validation_split(data, 0.5, torch.Generator().manual_seed(0))
    order = torch.randperm(4, generator=torch.Generator().manual_seed(0))
    assert_array_equal(train.indices, data.indices[:, order[:2]])
    assert_array_equal(valid.indices, data.indices[:, order[2:]])


@pytest.mark.parametrize("n_samples, fraction", [(1, 0.5), (2, 0.9), (10, 0.95)])
def test_train_validation_split_refuses_an_empty_part(n_samples, fraction):
    with pytest.raises(ValueError, match="empty training or validation set"):
        train_validation_split(dataset(n_samples), fraction, torch.Generator())


# --- inference blocks ---------------------------------------------------------------


@pytest.mark.parametrize(
    "macs, activations, rows",
    [
        # 2**28 / 2**20 = 256 rows by multiply-adds: 5 units of 48, down to 4
        (2**20, 1000, 192),
        # 2**23 bytes / (4 * 2**18) = 32 rows by activations: at least 48
        (2**10, 2**18, 48),
        # 2**23 / (4 * 2**8) = 8192 rows: at most 32 * 48
        (2**10, 2**8, 1536),
        # 2**28 / (3 * 2**17) = 682 rows: 14 units of 48, down to 8
        (3 * 2**17, 1, 384),
        (1, 1, 1536),
        (2**40, 1, 48),
    ],
)
def test_inference_block_rows(monkeypatch, macs, activations, rows):
    monkeypatch.setattr(training_data, "module_cost", lambda *args: (macs, activations))
    assert inference_block_rows(None, 3) == rows


def test_inference_blocks_pad_the_last_block_with_zeros():
    X = rows_array(5).astype(np.float64)
    blocks = [(rows, block.clone()) for rows, block in inference_blocks(X, 4, CPU)]
    assert [rows for rows, _ in blocks] == [slice(0, 4), slice(4, 5)]
    assert all(
        block.shape == (4, 2) and block.dtype == torch.float32 for _, block in blocks
    )
    assert_array_equal(blocks[0][1], rows_array(5)[:4])
    assert_array_equal(blocks[1][1], [[40, 41], [0, 0], [0, 0], [0, 0]])


def read_only(A):
    A = A.copy()
    A.flags.writeable = False
    return A


@pytest.mark.parametrize(
    "layout",
    [
        np.asfortranarray,
        lambda A: A[::-1],
        lambda A: A[:, ::2],
        lambda A: A.astype(np.float64),
        lambda A: A.astype(">f4"),
        read_only,
        sp.csr_matrix,
        lambda A: sp.csr_matrix(A.astype(np.float64)),
    ],
    ids=[
        "F",
        "reversed",
        "strided",
        "float64",
        "big-endian",
        "read-only",
        "csr32",
        "csr64",
    ],
)
def test_inference_blocks_read_any_layout(layout):
    X = rows_array(5)
    data = layout(X)
    expected = data.toarray() if sp.issparse(data) else data
    got = np.vstack(
        [
            block[: rows.stop - rows.start].numpy().copy()
            for rows, block in inference_blocks(data, 2, CPU)
        ]
    )
    assert_array_equal(got, expected)


def test_inference_blocks_check_finiteness():
    X = rows_array(5)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        list(inference_blocks(X, 2, CPU, name="Est"))
    assert len(list(inference_blocks(X, 2, CPU, check_finite=False))) == 3
    # finite values whose sum overflows are finite
    huge = np.full((2, 2), 3e38, dtype=np.float32)
    assert len(list(inference_blocks(huge, 2, CPU))) == 1


def test_map_blocks_gathers_the_rows_outputs():
    X = rows_array(5)
    sums = map_blocks(X, lambda block: block.sum(dim=1), 2, CPU)
    assert sums.shape == (5,) and sums.dtype == np.float32
    assert_array_equal(sums, [1, 21, 41, 61, 81])
    doubled = map_blocks(X, lambda block: 2 * block, 4, CPU, 2, np.float64)
    assert doubled.dtype == np.float64
    assert_array_equal(doubled, 2 * X)
    pairs = map_blocks(
        X, lambda block: block[:, None, :].expand(-1, 3, -1), 2, CPU, (3, 2)
    )
    assert pairs.shape == (5, 3, 2)
    assert_array_equal(pairs[:, 1], X)


def test_map_blocks_runs_without_gradients():
    seen = []
    map_blocks(
        rows_array(3), lambda b: seen.append(torch.is_grad_enabled()) or b[:, 0], 2, CPU
    )
    assert seen == [False, False]
    assert torch.is_grad_enabled()


def test_map_blocks_refuses_non_finite_outputs():
    with pytest.raises(ValueError, match="output is not finite"):
        map_blocks(rows_array(3), lambda b: b[:, 0] * np.inf, 2, CPU)
    # a finite output whose sum overflows is kept
    out = map_blocks(rows_array(2), lambda b: torch.full((len(b),), 3e38), 2, CPU)
    assert_array_equal(out, np.full(2, 3e38, dtype=np.float32))
