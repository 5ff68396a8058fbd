"""Maps in two dimensions: the neighbour-embedding autoencoder against a plain
autoencoder, PCA, t-SNE and UMAP.

Each method fits a 2-D map of the training rows and maps the test rows:
scikit-learn's digits (1797 8x8 images / 16, a stratified 70/30 split per
seed) and MNIST (the 60000 training and 10000 test images / 255). Scores on
the test rows: the accuracy of a 5-nearest-neighbour classifier fitted on the
training rows' map (``5-NN accuracy``), ``sklearn.manifold.trustworthiness``
of the test rows' map against their pixels (5 neighbours; 1 is perfect), and
the adjusted Rand index of KMeans (10 clusters) on the test rows' map against
the labels (``KMeans ARI``); the fit time, and the time to map 10000 new rows
(the test rows, repeated as needed). Also the trustworthiness of the map of
up to 10000 training rows (``train trustworthiness``: MNIST's first 10000,
t-SNE's training rows of its joint map), the measure of the parametric UMAP
paper's table, which scores the first 10000 of its 50000 training rows, not
held-out ones.

- ``skae NE``: ``AutoencoderTransformer(2, embedding_weight=1.0,
  image_shape=(side, side), hidden_layer_sizes=(256, 128), lr=3e-3)``: a
  convolutional encoder (the default ``conv_channels=(16, 32)``), with 150
  epochs on the digits, and batches of 256 for 15 epochs on MNIST (the
  settings of the user guide; 30 before ``transform`` refined the codes,
  which made the longer training needless); its ``transform`` refines the
  encoder's codes against the fitted layout (``transform_n_iter=100``, the
  default), so its fit time includes that of the training rows' map;
- ``skae plain``: the same network without the term;
- ``PCA``: ``PCA(2)``;
- ``t-SNE``: scikit-learn's ``TSNE`` at its defaults. It cannot map new
  rows, so it lays out the training and test rows together (MNIST: the test
  rows and 10000 training rows, for time) and is scored on that joint map,
  which gives it an advantage the others do not have;
- ``UMAP``: umap-learn's ``UMAP`` at its defaults (in the ``bench`` extra;
  left out when missing), its ``transform`` mapping the test rows.

Medians over the seeds (``--seeds``, 0 1 2) with their range; torch and the
BLAS on ``--threads`` threads (2 by default: the issue's budget is 2 cores).

    python benchmarks/bench_embedding.py                  # both sets
    python benchmarks/bench_embedding.py --sets digits    # one
    python benchmarks/bench_embedding.py --quick          # smoke run
"""

import argparse
import time

import numpy as np
from _common import load_mnist, parse_args, summarise, write_seed_results
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skae import AutoencoderTransformer

try:
    import umap
except ImportError:  # pragma: no cover - the bench extra installs it
    umap = None

N_MAPPED = 10000


def data(name, seed, quick):
    """``(X_train, X_test, y_train, y_test)`` of one set."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)
        if quick:
            X, y = X[:400], y[:400]
        return train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    n_train, n_test = (2000, 500) if quick else (None, None)
    X_train, y_train = load_mnist("train", n_train)
    X_test, y_test = load_mnist("test", n_test)
    return X_train, X_test, y_train, y_test


def skae(name, embedding_weight, seed, quick):
    if name == "digits":
        settings = {"image_shape": (8, 8), "max_epochs": 2 if quick else 150}
    else:
        settings = {
            "image_shape": (28, 28),
            "batch_size": 256,
            "max_epochs": 2 if quick else 15,
        }
    return AutoencoderTransformer(
        2,
        embedding_weight=embedding_weight,
        hidden_layer_sizes=(256, 128),
        lr=3e-3,
        random_state=seed,
        **settings,
    )


def methods(name, seed, quick):
    """``(method, estimator)``; t-SNE's estimator has no ``transform``."""
    yield "skae NE", skae(name, 1.0, seed, quick)
    yield "skae plain", skae(name, 0.0, seed, quick)
    yield "PCA", PCA(2, random_state=seed)
    yield "t-SNE", TSNE(2, random_state=seed)
    if umap is not None:
        yield "UMAP", umap.UMAP(random_state=seed)


def map_rows(estimator, X_train, X_test, seed):
    """``(train map, test map, fit seconds, seconds to map N_MAPPED rows)``."""
    start = time.perf_counter()
    if not hasattr(estimator, "transform"):  # t-SNE: one joint map
        n_train = min(len(X_train), N_MAPPED)
        rows = np.random.default_rng(seed).permutation(len(X_train))[:n_train]
        joint = estimator.fit_transform(np.vstack([X_train[rows], X_test]))
        return joint[:n_train], joint[n_train:], rows, time.perf_counter() - start, None
    train_map = estimator.fit(X_train).transform(X_train)
    fit_seconds = time.perf_counter() - start
    test_map = estimator.transform(X_test)
    repeated = np.resize(X_test, (N_MAPPED, X_test.shape[1]))
    start = time.perf_counter()
    estimator.transform(repeated)
    map_seconds = time.perf_counter() - start
    return train_map, test_map, None, fit_seconds, map_seconds


def seed_runs(name, seed, quick):
    X_train, X_test, y_train, y_test = data(name, seed, quick)
    n_clusters = len(np.unique(y_test))
    for method, estimator in methods(name, seed, quick):
        train_map, test_map, rows, fit_seconds, map_seconds = map_rows(
            estimator, X_train, X_test, seed
        )
        labels = y_train if rows is None else y_train[rows]
        seen = X_train if rows is None else X_train[rows]
        clusters = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(
            test_map
        )
        yield {
            "set": name,
            "method": method,
            "seed": seed,
            "5-NN accuracy": KNeighborsClassifier(5)
            .fit(train_map, labels)
            .score(test_map, y_test),
            "trustworthiness": trustworthiness(X_test, test_map, n_neighbors=5),
            "train trustworthiness": trustworthiness(
                seen[:N_MAPPED], train_map[:N_MAPPED], n_neighbors=5
            ),
            "KMeans ARI": adjusted_rand_score(y_test, clusters),
            "fit (s)": fit_seconds,
            f"map {N_MAPPED} rows (s)": map_seconds,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", nargs="+", default=["digits", "mnist"], choices=["digits", "mnist"]
    )
    # 2 threads by default: the budget is 2 cores
    args = parse_args(parser, threads=2)
    runs = []
    for name in args.sets:
        for seed in args.seeds:
            for run in seed_runs(name, seed, args.quick):
                runs.append(run)
                print(run, flush=True)
    specs = {
        "5-NN accuracy": ".3f",
        "trustworthiness": ".3f",
        "train trustworthiness": ".3f",
        "KMeans ARI": ".3f",
        "fit (s)": ".1f",
        f"map {N_MAPPED} rows (s)": ".2f",
    }
    rows = summarise(runs, ["set", "method"], specs)
    notes = (
        "t-SNE cannot map new rows: it is scored on a joint map of the test "
        f"rows and up to {N_MAPPED} training rows, and has no mapping time."
    )
    name = "_".join(["embedding", *args.sets]) if len(args.sets) == 1 else "embedding"
    write_seed_results(
        name,
        args,
        rows,
        runs,
        {"umap-learn": getattr(umap, "__version__", "not installed")},
        notes=notes,
    )


if __name__ == "__main__":
    main()
