"""skae on the engines users scale out with: joblib's process backends and
dask.distributed for searches, dask arrays and memory-mapped files for data
larger than memory (see docs/user_guide/scaling.md)."""

import os

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer

X = np.random.default_rng(0).random((240, 12)).astype(np.float32)


class ThreadProbe(AutoencoderTransformer):
    """Scores each fit by the torch threads it trained with."""

    def score(self, X, y=None):
        return float(torch.get_num_threads())


def search(estimator, **params):
    return GridSearchCV(estimator, {"n_components": [1, 2, 4]}, cv=3, **params)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_grid_search_on_dask_matches_a_serial_run(dask_client, one_torch_thread):
    est = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    # the serial run with the workers' single torch thread, so that every
    # floating-point operation is the same
    serial = search(est).fit(X)
    with joblib.parallel_config(backend="dask"):
        distributed = search(est, n_jobs=2).fit(X)
    for key, value in serial.cv_results_.items():
        if "time" in key:
            continue
        assert_array_equal(distributed.cv_results_[key], value, err_msg=key)
    assert distributed.best_params_ == serial.best_params_
    assert_array_equal(distributed.transform(X), serial.transform(X))


def expected_threads(n_jobs):
    return max(1, (os.cpu_count() or 1) // n_jobs)


def test_loky_workers_train_with_their_share_of_the_cores():
    # joblib sets OMP_NUM_THREADS to cpu_count // n_jobs in its worker
    # processes, and torch reads it: no oversubscription, nothing to set
    probe = search(ThreadProbe(max_epochs=1), n_jobs=2).fit(X)
    assert set(probe.cv_results_["mean_test_score"]) == {expected_threads(2)}


def test_dask_workers_train_with_one_torch_thread(dask_client):
    # dask's nanny starts each worker with OMP_NUM_THREADS=1
    with joblib.parallel_config(backend="dask"):
        probe = search(ThreadProbe(max_epochs=1), n_jobs=2).fit(X)
    assert set(probe.cv_results_["mean_test_score"]) == {1.0}


# --- data larger than memory ------------------------------------------------


def test_fit_on_a_memmap_does_not_copy_it(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    X_map = np.load(path, mmap_mode="r")
    est = AutoencoderTransformer(2, max_epochs=2, random_state=0)
    est.fit(X_map)
    assert_array_equal(est.transform(X_map), est.transform(X))
    # a float32, C-ordered memmap is what the network trains on, unchanged
    validated = est._validate_training_data(X_map, None, reset=False)[0]
    assert np.shares_memory(validated, X_map)


def chunks(path, rows):
    """Chunks of the .npy file at ``path``, each a copy, the file mapped only
    while a chunk is read (the recipe of the Scaling up page)."""
    n_samples = np.load(path, mmap_mode="r").shape[0]
    for start in range(0, n_samples, rows):
        yield np.array(np.load(path, mmap_mode="r")[start : start + rows])


def test_partial_fit_over_memmap_chunks(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    est = AutoencoderTransformer(2, random_state=0)
    for _epoch in range(3):
        for chunk in chunks(path, 64):
            est.partial_fit(chunk)
    assert est.n_iter_ == 3 * 4  # one pass per chunk
    assert np.all(np.isfinite(est.transform(X)))
    # the same passes over the in-memory array give the same model
    same = AutoencoderTransformer(2, random_state=0)
    for _epoch in range(3):
        for start in range(0, len(X), 64):
            same.partial_fit(X[start : start + 64])
    assert_array_equal(same.transform(X), est.transform(X))


def test_dask_ml_incremental_and_map_blocks_transform():
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    dX = da.from_array(X, chunks=(60, X.shape[1]))
    inc = wrappers.Incremental(
        AutoencoderTransformer(3, random_state=0), shuffle_blocks=False
    ).fit(dX)
    est = inc.estimator_
    assert est.n_iter_ == 4  # partial_fit once per block
    # the same blocks, in order, through partial_fit by hand: the same model
    same = AutoencoderTransformer(3, random_state=0)
    for start in range(0, len(X), 60):
        same.partial_fit(X[start : start + 60])
    assert_array_equal(same.transform(X), est.transform(X))
    # dask-ml's Incremental.transform announces the input's width, not the
    # codes': map_blocks with explicit chunks gives the right shape
    codes = dX.map_blocks(
        est.transform, chunks=(dX.chunks[0], (est.n_components,)), dtype=np.float32
    )
    assert codes.shape == (len(X), 3)
    assert_array_equal(codes.compute(), est.transform(X))
