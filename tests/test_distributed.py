"""Data-parallel training: two CPU processes on the gloo backend, started
with ``torchrun --standalone --nproc_per_node 2`` on tests/distributed_fit.py,
end with identical weights and losses, and train as one process would on
batches twice the size."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

from skae import AutoencoderTransformer
from skae._training.data import InMemoryBatchIterator, InMemoryDataset

SCRIPT = Path(__file__).with_name("distributed_fit.py")
WORLD_SIZE = 2

# Where each process trains on its half of the single-process batches with
# nothing random but the shared batch order, the data-parallel loss curve is
# the single-process one up to float rounding: measured at most 1.3e-7
# relative, on every epoch.
EXACT = {"autoencoder", "supervised", "penalized", "early_stopping"}
EXACT_RTOL = 1e-5
# Where each process draws its own noise or normalises its own batches, the
# computation differs from the single-process one; the final losses were
# measured 1.5% (denoising), 9.5% (variational) and 13.6% (outlier: batch
# normalisation and dropout) apart, about as far as single-process fits with
# other seeds.
NOISY = {"denoising", "variational", "outlier"}
NOISY_RTOL = 0.5

needs_gloo = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="torch.distributed with the gloo backend is not available",
)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What each of the two processes saved."""
    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip("torch.distributed with the gloo backend is not available")
    out = tmp_path_factory.mktemp("distributed")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(WORLD_SIZE),
        str(SCRIPT),
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        run = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=300
        )
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"The processes hung:\n{timeout.stderr}")
    tail = (run.stdout + run.stderr)[-3000:]
    if not all((out / f"started{rank}").exists() for rank in range(WORLD_SIZE)):
        pytest.skip(f"torchrun could not start {WORLD_SIZE} gloo processes:\n{tail}")
    assert run.returncode == 0, tail
    return [torch.load(out / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]


@pytest.mark.parametrize("name", sorted(EXACT | NOISY | {"seedless"}))
def test_processes_end_with_identical_weights(ranks, name):
    states = [r["fits"][name]["state"] for r in ranks]
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


@pytest.mark.parametrize("name", sorted(EXACT | NOISY))
def test_processes_record_identical_losses(ranks, name):
    first, second = (r["fits"][name] for r in ranks)
    assert first["train_loss"] == second["train_loss"]
    assert first["valid_loss"] == second["valid_loss"]
    assert first["n_iter"] == second["n_iter"]


@pytest.mark.parametrize("name", sorted(EXACT))
def test_loss_is_the_single_process_loss_on_batches_twice_the_size(ranks, name):
    fitted, reference = ranks[0]["fits"][name], ranks[0]["reference"][name]
    assert fitted["n_iter"] == reference["n_iter"]
    np.testing.assert_allclose(
        fitted["train_loss"], reference["train_loss"], rtol=EXACT_RTOL
    )
    np.testing.assert_allclose(
        fitted["valid_loss"], reference["valid_loss"], rtol=EXACT_RTOL
    )


@pytest.mark.parametrize("name", sorted(NOISY))
def test_noisy_training_reaches_the_single_process_loss(ranks, name):
    fitted, reference = ranks[0]["fits"][name], ranks[0]["reference"][name]
    np.testing.assert_allclose(
        fitted["train_loss"][-1], reference["train_loss"][-1], rtol=NOISY_RTOL
    )


def test_early_stopping_stops_every_process_at_the_same_epoch(ranks):
    n_iters = [r["fits"]["early_stopping"]["n_iter"] for r in ranks]
    assert n_iters[0] == n_iters[1] < 50
    assert len(ranks[0]["fits"]["early_stopping"]["valid_loss"]) == n_iters[0]


def test_non_finite_loss_on_one_process_stops_every_process(ranks):
    for r in ranks:
        assert r["non_finite"].startswith(
            "The train loss became nan at epoch 1, batch 5"
        )


def test_processes_given_different_data_stop_with_the_same_error(ranks):
    assert ranks[0]["mismatch"] == ranks[1]["mismatch"]
    assert "same data and parameters on every process" in ranks[0]["mismatch"]
    assert "training rows [200, 220]" in ranks[0]["mismatch"]


def test_fitted_model_is_the_bare_module(ranks):
    for r in ranks:
        assert r["module_type"] == "AutoencoderModule"
        assert r["pickle_same"]
        # a later fit without a process group trains in one process
        assert r["partial_fit_after"] == 16


@pytest.mark.parametrize("n_samples", [64, 67, 5])
@pytest.mark.parametrize("shuffle", [False, True])
def test_iterator_shares_are_the_single_process_batches(n_samples, shuffle):
    X = torch.arange(n_samples, dtype=torch.float32)[:, None]
    dataset = InMemoryDataset(X)

    def batches(**params):
        iterator = InMemoryBatchIterator(
            dataset,
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(0),
            **params,
        )
        rows = [Xb[:, 0].long().tolist() for Xb, _ in iterator]
        assert len(rows) == len(iterator)
        return rows

    single = batches(batch_size=8 * WORLD_SIZE)
    shares = [
        batches(batch_size=8, num_replicas=WORLD_SIZE, rank=rank)
        for rank in range(WORLD_SIZE)
    ]
    # every process runs as many batches of the same sizes
    assert [len(b) for b in shares[0]] == [len(b) for b in shares[1]]
    together = [sorted(a + b) for a, b in zip(*shares, strict=True)]
    if n_samples % WORLD_SIZE == 0:
        assert together == [sorted(b) for b in single]
    else:  # rows from the start repeat to fill the last batch
        assert sorted(sum(together, [])) == sorted(
            sum(single, []) + sum(single, [])[: -n_samples % WORLD_SIZE]
        )


@needs_gloo
def test_a_process_group_of_one_trains_as_usual(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    params = {"hidden_layer_sizes": (4,), "max_epochs": 3, "random_state": 0}
    alone = AutoencoderTransformer(2, device="cpu", **params).fit(X)
    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        grouped = AutoencoderTransformer(2, device="cpu", **params).fit(X)
    finally:
        dist.destroy_process_group()
    np.testing.assert_array_equal(grouped.transform(X), alone.transform(X))
    assert grouped.history_[:, "train_loss"] == alone.history_[:, "train_loss"]
