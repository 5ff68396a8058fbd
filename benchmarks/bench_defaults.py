"""The AutoencoderTransformer's defaults against a small grid and PCA, on
several kinds of data.

For each data set, scaled as a user would (StandardScaler fitted on the
training rows for tabular data, pixels / 255 or / 16 for images) and split
70/30 into training and test rows by the seed (MNIST: a seeded subsample of
the training images, the first test images), the table gives the test
reconstruction error (mean squared error per entry, in the scaled units) of

- PCA at the same ``n_components``;
- the AutoencoderTransformer at its defaults (only ``n_components`` and
  ``random_state`` given);
- each setting of a small grid over the widths, the depth, the loss, the
  batch size and the stopping rule, every parameter given explicitly so
  that the grid does not move when the defaults do; "grid best" is the
  setting with the lowest median error over the seeds on that set.

``n_components`` is about a quarter of the features (at least 2), 2 for the
swiss roll and 32 for MNIST. The data sets: scikit-learn's digits (pixels /
16), breast_cancer and wine; the twelve ODDS sets of ../shared/data/odds
(raw units, standardized; sets of more than ``--max-rows`` rows are
subsampled first, by the seed); a swiss roll lifted into 50 dimensions by a
fixed random linear map and a tanh, with a little noise (its two
coordinates are the known structure); MNIST (``--mnist-train`` training
images, ``--mnist-test`` test images); and, only when named in ``--sets``,
``mnist_full`` (all 60000 training images against the 10000 test images,
for the defaults' fit time on large data; run it with ``--settings
defaults``). Every model is fitted once per seed
(``--seeds``, 0 1 2 by default) on one torch thread (``--threads``); the
tables give the median over seeds and the range, and the ratios seed by
seed. Fit times are wall-clock seconds on a shared machine: compare them
within a run.

Two tables: ``defaults`` (one row per set: PCA, the defaults, the grid's
best) and ``defaults_grid`` (every setting on every set). ``--sets`` and
``--settings`` run a part; ``--update`` keeps the stored runs of the other
sets, settings and seeds in the tables, so that a changed default reruns only the
defaults row.

    python benchmarks/bench_defaults.py            # full
    python benchmarks/bench_defaults.py --quick    # smoke run, seconds
    python benchmarks/bench_defaults.py --update --settings defaults
    python benchmarks/bench_defaults.py --update --sets mnist_full \
        --settings defaults --threads 2
"""

import argparse
import json
import time
import warnings

import numpy as np
from _common import (
    DATA,
    RESULTS,
    load_mnist_images,
    mean_squared_error,
    median_spread,
    parse_args,
    write_seed_results,
)
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

ODDS = [
    "annthyroid",
    "breastw",
    "cardio",
    "letter",
    "mammography",
    "musk",
    "optdigits",
    "pendigits",
    "satellite",
    "shuttle",
    "thyroid",
    "vowels",
]
SETS = ["digits", "breast_cancer", "wine", *ODDS, "swiss_roll_50d", "mnist"]
# run only when named: all of MNIST's 60000 training images against its
# 10000 test images, for the defaults' time on large data (the grid would
# take hours there)
EXTRA_SETS = ["mnist_full"]
QUICK_SETS = ["wine", "vowels", "swiss_roll_50d"]

# The grid: every parameter that a default could set, given explicitly.
BASE = {
    "hidden_layer_sizes": (128, 64),
    "loss": "mse",
    "batch_size": 64,
    "max_epochs": 200,
    "early_stopping": False,
}
GRID = {
    "(128, 64) mse b64": {},
    "(256, 128) mse b64": {"hidden_layer_sizes": (256, 128)},
    "(32, 16) mse b64": {"hidden_layer_sizes": (32, 16)},
    "(64,) mse b64": {"hidden_layer_sizes": (64,)},
    "(128,) mse b64": {"hidden_layer_sizes": (128,)},
    "(256,) mse b64": {"hidden_layer_sizes": (256,)},
    "(256, 128, 64) mse b64": {"hidden_layer_sizes": (256, 128, 64)},
    "(128, 64) mse b256": {"batch_size": 256},
    "(128, 64) mse b64 early stop": {"early_stopping": True},
    # data in [0, 1] only
    "(128, 64) bce b64": {"loss": "bce"},
    "(256,) bce b64": {"hidden_layer_sizes": (256,), "loss": "bce"},
    "(256, 128) bce b64": {"hidden_layer_sizes": (256, 128), "loss": "bce"},
    "(256, 128) bce b128": {
        "hidden_layer_sizes": (256, 128),
        "loss": "bce",
        "batch_size": 128,
    },
    "(256, 128) bce b256": {
        "hidden_layer_sizes": (256, 128),
        "loss": "bce",
        "batch_size": 256,
    },
    "(256, 128) bce b256 early stop": {
        "hidden_layer_sizes": (256, 128),
        "loss": "bce",
        "batch_size": 256,
        "early_stopping": True,
    },
}


def swiss_roll_50d(n_samples=3000):
    """A swiss roll (a 2-D sheet rolled up in 3-D, standardized) lifted into
    50 dimensions by a fixed random linear map and a tanh, plus noise of
    standard deviation 0.02: a 2-D structure PCA cannot unroll."""
    rng = np.random.RandomState(0)
    X3, _ = make_swiss_roll(n_samples, noise=0.05, random_state=0)
    X3 = StandardScaler().fit_transform(X3)
    lift = rng.normal(size=(3, 50)) / np.sqrt(3)
    X = np.tanh(X3 @ lift + 0.5 * rng.normal(size=50))
    return X + 0.02 * rng.normal(size=X.shape)


# scikit-learn's sets: loader and scaling
SKLEARN_SETS = {
    "digits": (load_digits, "images / 16"),
    "breast_cancer": (load_breast_cancer, "standardized"),
    "wine": (load_wine, "standardized"),
}


def in_unit_range(X):
    return X.min() >= 0 and X.max() <= 1


def sklearn_set(name):
    """``(X, y, kind)`` of one of scikit-learn's sets, the digits / 16."""
    loader, kind = SKLEARN_SETS[name]
    X, y = loader(return_X_y=True)
    return (X / 16.0 if name == "digits" else X), y, kind


def scaled(X_train, X_test, kind):
    """The split, standardized by the training rows' statistics when
    ``kind`` says so."""
    if kind == "standardized":
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, X_test


def code_size(name, n_features):
    """The sets' ``n_components``: a quarter of the features (at least 2),
    2 for the swiss roll."""
    return 2 if name == "swiss_roll_50d" else max(2, round(n_features / 4))


def load_set(name, seed, args):
    """``(X_train, X_test, n_components, kind)`` for one seed, scaled."""
    if name == "mnist_full":
        X_train, X_test = load_mnist_images("train"), load_mnist_images("test")
        return X_train, X_test, 32, "images / 255"
    if name == "mnist":
        n_train = 2000 if args.quick else args.mnist_train
        n_test = 500 if args.quick else args.mnist_test
        X_all = load_mnist_images("train")
        rows = np.random.RandomState(seed).choice(len(X_all), n_train, replace=False)
        X_train = X_all[np.sort(rows)].copy()
        return X_train, load_mnist_images("test", n_test), 32, "images / 255"
    if name in SKLEARN_SETS:
        X, _, kind = sklearn_set(name)
    elif name == "swiss_roll_50d":
        X, kind = swiss_roll_50d(), "standardized"
    else:
        X, kind = np.load(DATA / "odds" / f"{name}.npz")["X"], "standardized"
    max_rows = 1000 if args.quick else args.max_rows
    if len(X) > max_rows:
        rows = np.random.RandomState(seed).choice(len(X), max_rows, replace=False)
        X = X[np.sort(rows)]
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=seed)
    X_train, X_test = scaled(X_train, X_test, kind)
    return X_train, X_test, code_size(name, X.shape[1]), kind


def settings(X_train, names, quick):
    """Setting name -> AutoencoderTransformer parameters (None: the
    defaults); the bce rows only for data in [0, 1]."""
    unit_range = in_unit_range(X_train)
    rows = {"defaults": {}}
    for name, params in GRID.items():
        params = BASE | params
        if params["loss"] == "bce" and not unit_range:
            continue
        if quick:
            params = params | {"max_epochs": 2}
        rows[name] = params
    return {name: params for name, params in rows.items() if name in names}


def fit_score(model, X_train, X_test):
    start = time.perf_counter()
    with warnings.catch_warnings():
        # constant codes on a seed: the error says how it went
        warnings.simplefilter("ignore", UserWarning)
        model.fit(X_train)
    seconds = time.perf_counter() - start
    return mean_squared_error(model.predict(X_test), X_test), seconds


def describe_defaults(model):
    """What the defaults resolved to on this data (the fitted attributes
    that tell, where the estimator has them)."""
    parts = []
    for name in ("hidden_layer_sizes", "loss", "batch_size", "max_epochs"):
        value = getattr(model, name + "_", getattr(model, name))
        parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS + EXTRA_SETS)
    parser.add_argument(
        "--settings", nargs="+", default=["defaults", *GRID], help="grid rows to run"
    )
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--mnist-train", type=int, default=10000)
    parser.add_argument("--mnist-test", type=int, default=5000)
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the stored runs of the sets and settings not run now",
    )
    args = parse_args(parser)
    sets = QUICK_SETS if args.quick else args.sets

    stored = RESULTS / ("defaults_grid" + ("_quick" if args.quick else "") + ".json")
    kept = []
    if args.update and stored.exists():
        kept = [
            r
            for r in json.loads(stored.read_text())["runs"]
            if r["setting"] in {"defaults", *GRID}
        ]
    runs = []
    for name in sets:
        for seed in args.seeds:
            X_train, X_test, n_components, kind = load_set(name, seed, args)
            start = time.perf_counter()
            pca = PCA(n_components, random_state=seed).fit(X_train)
            pca_seconds = time.perf_counter() - start
            pca_mse = mean_squared_error(
                pca.inverse_transform(pca.transform(X_test)), X_test
            )
            common = {
                "set": name,
                "seed": seed,
                "scaling": kind,
                "shape": f"{len(X_train)}+{len(X_test)}x{X_train.shape[1]}",
                "n_components": n_components,
                "PCA": pca_mse,
                "PCA fit (s)": pca_seconds,
            }
            for setting, params in settings(X_train, args.settings, args.quick).items():
                if setting == "defaults" and args.quick:
                    params = {"max_epochs": 2}
                model = AutoencoderTransformer(
                    n_components, random_state=seed, **params
                )
                mse, seconds = fit_score(model, X_train, X_test)
                run = common | {
                    "threads": args.threads,
                    "setting": setting,
                    "resolved": describe_defaults(model),
                    "test MSE": mse,
                    "/ PCA": mse / pca_mse,
                    "epochs": model.n_iter_,
                    "fit (s)": seconds,
                }
                runs.append(run)
                print(
                    {k: run[k] for k in ("set", "seed", "setting", "/ PCA", "fit (s)")}
                    | {"epochs": run["epochs"]},
                    flush=True,
                )
        # after every set, so that an interrupted run keeps what it measured
        ran = {(r["set"], r["setting"], r["seed"]) for r in runs}
        write_tables(
            args,
            [r for r in kept if (r["set"], r["setting"], r["seed"]) not in ran] + runs,
        )


def write_tables(args, runs):
    by_set = {}
    for run in runs:
        by_set.setdefault(run["set"], {}).setdefault(run["setting"], []).append(run)
    order = [s for s in SETS + EXTRA_SETS if s in by_set]
    grid_rows, rows = [], []
    for name in order:
        per = by_set[name]
        per = {s: per[s] for s in ["defaults", *GRID] if s in per}
        for setting, group in per.items():
            grid_rows.append(
                {
                    "set": name,
                    "setting": setting,
                    "test MSE": median_spread([r["test MSE"] for r in group], ".4f"),
                    "/ PCA": median_spread([r["/ PCA"] for r in group], ".2f"),
                    "epochs": median_spread([r["epochs"] for r in group], ".0f"),
                    "fit (s)": median_spread([r["fit (s)"] for r in group], ".1f"),
                }
            )
        grid = {s: g for s, g in per.items() if s != "defaults"}
        best = min(
            grid,
            key=lambda s: np.median([r["test MSE"] for r in grid[s]]),
            default=None,
        )
        first = next(iter(per.values()))[0]
        row = {
            "set": name,
            "rows (train+test) x features": first["shape"],
            "scaling": first["scaling"],
            "n_components": first["n_components"],
        }
        defaults = per.get("defaults")
        if defaults:
            row["defaults / PCA"] = median_spread([r["/ PCA"] for r in defaults], ".2f")
        if best is not None:
            row["grid best"] = best
            row["best / PCA"] = median_spread([r["/ PCA"] for r in grid[best]], ".2f")
        if defaults and best is not None:
            seed_best = {r["seed"]: r["test MSE"] for r in grid[best]}
            row["defaults / best"] = median_spread(
                [
                    r["test MSE"] / seed_best[r["seed"]]
                    for r in defaults
                    if r["seed"] in seed_best
                ],
                ".2f",
            )
        if defaults:
            row["defaults fit (s)"] = median_spread(
                [r["fit (s)"] for r in defaults], ".1f"
            )
            row["defaults epochs"] = median_spread(
                [r["epochs"] for r in defaults], ".0f"
            )
            row["defaults resolve to"] = defaults[0]["resolved"]
            # the stored runs before this column were all on one thread
            row["threads"] = defaults[0].get("threads", 1)
        if best is not None:
            row["best fit (s)"] = median_spread(
                [r["fit (s)"] for r in grid[best]], ".1f"
            )
        row["PCA test MSE"] = median_spread(
            [r["PCA"] for r in next(iter(per.values()))], ".4f"
        )
        rows.append(row)
    threads = sorted({r.get("threads", 1) for r in runs})
    meta = {
        # stored runs and this one's may differ: each row says its own
        "torch_threads": "/".join(map(str, threads))
        + (" (the threads column)" if len(threads) > 1 else ""),
        "max_rows": args.max_rows,
        "mnist_train": args.mnist_train,
        "mnist_test": args.mnist_test,
    }
    columns = list(dict.fromkeys(k for row in rows for k in row))
    for row in rows:
        for column in columns:
            row.setdefault(column, "")
    # the seeds of every run in the tables, stored runs included
    args = argparse.Namespace(
        **{**vars(args), "seeds": sorted({r["seed"] for r in runs})}
    )
    write_seed_results("defaults_grid", args, grid_rows, runs, meta)
    write_seed_results("defaults", args, rows, runs, meta, columns=columns)


if __name__ == "__main__":
    main()
