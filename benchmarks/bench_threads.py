"""Torch threads per worker in a parallel search.

A GridSearchCV over n_components (2, 4, 8, 16; 2 folds, 8 fits) of a small
AutoencoderTransformer (20-64-32-k, 5 epochs) on 20000 x 20 rows, with
joblib's default backend (loky) and n_jobs equal to the number of cores:
once with the thread count the workers start with (joblib sets
OMP_NUM_THREADS to cores // n_jobs, so one thread each here), and once with
each worker forced to as many torch threads as there are cores, as it would
have without joblib's limit. Also the serial search (n_jobs=1, all cores to
torch) for reference. Median of 3 repeats each, side by side, after one
unrecorded parallel search that starts the workers (loky keeps them for the
next searches, so worker start-up, torch's import included, is left out).
A forced fit restores the worker's thread count afterwards, so that a reused
worker starts every search as joblib set it up.

    python benchmarks/bench_threads.py            # full
    python benchmarks/bench_threads.py --quick    # smoke run
"""

import argparse
import os
import statistics
import time

import numpy as np
import torch
from _common import machine, write_results
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer


class AllCoresAutoencoder(AutoencoderTransformer):
    """Trains with as many torch threads as the machine has cores."""

    def fit(self, X, y=None):
        threads = torch.get_num_threads()
        torch.set_num_threads(os.cpu_count())
        try:
            return super().fit(X, y)
        finally:
            # loky reuses its workers across searches
            torch.set_num_threads(threads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    args = parser.parse_args()
    n_rows, epochs, repeats = (2000, 1, 1) if args.quick else (20000, 5, 3)
    cores = os.cpu_count()
    X = np.random.default_rng(0).standard_normal((n_rows, 20)).astype(np.float32)
    params = {"hidden_layer_sizes": (64, 32), "max_epochs": epochs, "random_state": 0}
    setups = {
        f"n_jobs={cores}, workers' default threads": (AutoencoderTransformer, cores),
        f"n_jobs={cores}, {cores} torch threads per worker": (
            AllCoresAutoencoder,
            cores,
        ),
        f"n_jobs=1, {torch.get_num_threads()} torch threads": (
            AutoencoderTransformer,
            1,
        ),
    }
    grid = {"n_components": [2, 4, 8, 16]}
    # start the workers (and import torch in them) before timing anything
    GridSearchCV(AutoencoderTransformer(**params), grid, cv=2, n_jobs=cores).fit(X)
    times = {name: [] for name in setups}
    for _ in range(repeats):
        for name, (cls, n_jobs) in setups.items():
            search = GridSearchCV(cls(**params), grid, cv=2, n_jobs=n_jobs)
            start = time.perf_counter()
            search.fit(X)
            times[name].append(time.perf_counter() - start)
            print(name, f"{times[name][-1]:.1f} s", flush=True)
    base = statistics.median(times[next(iter(setups))])
    rows = [
        {
            "search": name,
            "median s": f"{statistics.median(t):.1f}",
            "min-max s": f"{min(t):.1f}-{max(t):.1f}",
            "/ default": f"{statistics.median(t) / base:.2f}",
        }
        for name, t in times.items()
    ]
    meta = machine() | {"rows": n_rows, "epochs": epochs, "repeats": repeats}
    write_results(
        "threads" + ("_quick" if args.quick else ""), rows, list(rows[0]), meta
    )


if __name__ == "__main__":
    main()
