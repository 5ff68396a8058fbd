"""Autoencoder codes then t-SNE, against t-SNE on raw pixels.

5000 MNIST test digits (pixels / 255) mapped to 2-D by scikit-learn's TSNE
(default settings, random_state 0): once from the raw 784 pixels, once from
the 20-dimensional codes of an AutoencoderTransformer (784-256-128-20,
binary cross-entropy, batches of 128, 30 epochs) fitted on the 60000
training images. Scored by ``sklearn.manifold.trustworthiness`` of each map
against the raw pixels (5 neighbours; 1 is perfect), and by the 5-NN
accuracy of the digit labels within each map (5-fold cross-validation), with
the time of every step. The autoencoder and both maps are made once per seed
(``--seeds``, 0 1 2 by default; the seed is the random_state of the
autoencoder and of TSNE) on one torch thread (``--threads``); the table gives
the median over seeds and the range of every score and time.

    python benchmarks/bench_tsne.py            # full
    python benchmarks/bench_tsne.py --quick    # smoke run, seconds
"""

import argparse
import time

from _common import load_mnist, parse_args, summarise, write_seed_results
from sklearn.manifold import TSNE, trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from skae import AutoencoderTransformer


def seed_runs(X_train, X, y, epochs, seed):
    """Yield one seed's runs: t-SNE of the pixels, then of the codes."""
    start = time.perf_counter()
    autoencoder = AutoencoderTransformer(
        20,
        hidden_layer_sizes=(256, 128),
        loss="bce",
        batch_size=128,
        max_epochs=epochs,
        random_state=seed,
    ).fit(X_train)
    fit_seconds = time.perf_counter() - start
    for name, encode, fit in [
        ("t-SNE on raw pixels (784)", lambda: X, None),
        (
            "AutoencoderTransformer (20) then t-SNE",
            lambda: autoencoder.transform(X),
            fit_seconds,
        ),
    ]:
        start = time.perf_counter()
        features = encode()
        encode_seconds = time.perf_counter() - start
        start = time.perf_counter()
        embedding = TSNE(random_state=seed).fit_transform(features)
        tsne_seconds = time.perf_counter() - start
        yield {
            "seed": seed,
            "map": name,
            "trustworthiness": trustworthiness(X, embedding, n_neighbors=5),
            "5-NN accuracy in the map": cross_val_score(
                KNeighborsClassifier(5), embedding, y, cv=5
            ).mean(),
            "autoencoder fit (s)": fit,
            "encode (s)": encode_seconds,
            "t-SNE (s)": tsne_seconds,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = parse_args(parser)
    n_train, n_map, epochs = (2000, 300, 1) if args.quick else (None, 5000, 30)
    X_train, _ = load_mnist("train", n_train)
    X, y = load_mnist("test", n_map)

    runs = []
    for seed in args.seeds:
        for run in seed_runs(X_train, X, y, epochs, seed):
            runs.append(run)
            print(run, flush=True)
    specs = {
        "trustworthiness": ".4f",
        "5-NN accuracy in the map": ".3f",
        "autoencoder fit (s)": ".0f",
        "encode (s)": ".2f",
        "t-SNE (s)": ".1f",
    }
    rows = summarise(runs, ["map"], specs)
    meta = {"digits mapped": len(X), "autoencoder trained on": len(X_train)}
    write_seed_results("tsne", args, rows, runs, meta)


if __name__ == "__main__":
    main()
