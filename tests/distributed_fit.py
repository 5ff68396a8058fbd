"""Data-parallel fits of skae estimators, run by tests/test_distributed.py as

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        tests/distributed_fit.py OUT_DIR

Every process fits the same estimators on the same data (``BATCH_SIZE`` rows
per process and batch) and saves what the test compares to
``OUT_DIR/rank<r>.pt``: the fitted weights, the loss history, the errors of
a fit whose loss turns NaN on rank 1 only and of one given different data on
each rank, and checks on the fitted models.
After the process group is destroyed, rank 0 also fits every estimator in one
process with ``BATCH_SIZE * world_size`` rows per batch, the reference that
the data-parallel losses are compared with.
"""

import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    NonFiniteLossError,
    ReconstructionOutlierDetector,
    SupervisedAutoencoder,
    VariationalAutoencoder,
)

BATCH_SIZE = 16
COMMON = {"hidden_layer_sizes": (16,), "device": "cpu", "tol": 0.0, "lr": 1e-2}

# name -> (class, parameters); each trains max_epochs epochs (tol=0 and
# n_iter_no_change=10 stop none of them early) unless it stops early itself.
CASES = {
    "autoencoder": (AutoencoderTransformer, {}),
    "supervised": (SupervisedAutoencoder, {}),
    # the input gradients of the contractive penalty
    "penalized": (
        AutoencoderTransformer,
        {"contractive_weight": 0.01, "sparsity_weight": 0.01},
    ),
    "early_stopping": (
        AutoencoderTransformer,
        {"early_stopping": True, "n_iter_no_change": 3, "tol": 1e-2, "max_epochs": 50},
    ),
    # Each process draws its own noise (corruption, sampled codes, dropout)
    # and normalises its own batches: these fits are not the single-process
    # computation, only statistically alike.
    "denoising": (DenoisingAutoencoder, {"noise_level": 0.2}),
    "variational": (VariationalAutoencoder, {}),
    "outlier": (ReconstructionOutlierDetector, {}),  # batch_norm and dropout
}


def make_data():
    """256 rows (16 batches of 16, 8 of 32) of 8 standardized features on a
    2-D plane, and 3 classes."""
    rng = np.random.default_rng(0)
    y = np.arange(256) % 3
    codes = rng.normal(size=(256, 2)) + y[:, None]
    X = codes @ rng.normal(size=(2, 8)) + 0.1 * rng.normal(size=(256, 8))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), y


def make(name, batch_size, **params):
    cls, case_params = CASES[name]
    params = {
        "max_epochs": 15,
        "random_state": 0,
        "batch_size": batch_size,
        **COMMON,
        **case_params,
        **params,
    }
    return cls(2, **params)


def fit(est, X, y):
    return est.fit(X, y) if isinstance(est, SupervisedAutoencoder) else est.fit(X)


def summary(est, seconds):
    history = est.history_
    return {
        "state": {k: v.clone() for k, v in est.net_.module_.state_dict().items()},
        "train_loss": [float(v) for v in history[:, "train_loss"]],
        "valid_loss": [
            float(row["valid_loss"]) for row in history if "valid_loss" in row
        ],
        "n_iter": est.n_iter_,
        "seconds": seconds,
    }


class NaNOnRank1(nn.Module):
    """A linear encoder whose codes turn NaN in rank 1's fifth training
    step."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.linear = nn.Linear(n_features, n_components)
        self.steps = 0

    def forward(self, X):
        code = self.linear(X)
        if self.training:
            self.steps += 1
            if dist.get_rank() == 1 and self.steps == 5:
                code = code * float("nan")
        return code


def main(out_dir):
    out_dir = Path(out_dir)
    dist.init_process_group("gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    # tells the test that the process group started
    (out_dir / f"started{rank}").touch()
    torch.set_num_threads(1)
    X, y = make_data()
    results = {"world_size": world_size, "fits": {}}

    for name in CASES:
        start = time.perf_counter()
        est = fit(make(name, BATCH_SIZE), X, y)
        results["fits"][name] = summary(est, time.perf_counter() - start)
        if name == "autoencoder":
            kept = est

    # A NaN loss on one process stops every process, and the group is still
    # usable afterwards.
    try:
        AutoencoderTransformer(
            2, encoder=NaNOnRank1, batch_size=BATCH_SIZE, random_state=0, **COMMON
        ).fit(X)
        results["non_finite"] = "no error"
    except NonFiniteLossError as error:
        results["non_finite"] = str(error)
    # Processes given different data stop with the same error.
    try:
        make("autoencoder", BATCH_SIZE).fit(X[: 200 + 20 * rank])
        results["mismatch"] = "no error"
    except ValueError as error:
        results["mismatch"] = str(error)
    # random_state=None: every process takes process 0's seed
    est = fit(make("autoencoder", BATCH_SIZE, random_state=None, max_epochs=3), X, y)
    results["fits"]["seedless"] = summary(est, 0.0)

    # After fit the model holds the bare module, and pickles as usual.
    results["module_type"] = type(kept.net_.module_).__name__
    results["pickle_same"] = bool(
        np.array_equal(pickle.loads(pickle.dumps(kept)).transform(X), kept.transform(X))
    )
    dist.destroy_process_group()

    # Without a process group, training is single-process again, on the same
    # fitted module.
    kept.partial_fit(X)
    results["partial_fit_after"] = kept.n_iter_
    if rank == 0:
        results["reference"] = {}
        for name in CASES:
            start = time.perf_counter()
            est = fit(make(name, BATCH_SIZE * world_size), X, y)
            results["reference"][name] = summary(est, time.perf_counter() - start)
    torch.save(results, out_dir / f"rank{rank}.pt")


if __name__ == "__main__":
    main(sys.argv[1])
