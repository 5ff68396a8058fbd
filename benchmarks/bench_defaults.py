"""The AutoencoderTransformer's defaults against the settings the MNIST
benchmarks use, one setting changed at a time.

The reconstruction, denoising, t-SNE and variational benchmarks train MNIST
networks with ``hidden_layer_sizes=(256, 128), loss="bce", batch_size=128``;
the defaults are ``(128, 64)``, ``"mse"`` and 64. At ``n_components=32`` and a
fixed 30 epochs (the stopping rule off, so that every row trains as long),
each model is fitted on the 60000 training images (pixels / 255) and scores
the 10000 test images: mean squared error per pixel and its ratio to PCA's
with 32 components. Rows: the defaults; the defaults with one of the three
settings changed; all three changed (the benchmarks' network). Every model
is fitted once per seed (``--seeds``, 0 1 2 by default) on one torch thread
(``--threads``); the table gives the median over seeds and the range.

    python benchmarks/bench_defaults.py            # full
    python benchmarks/bench_defaults.py --quick    # smoke run, seconds
"""

import argparse
import time

from _common import (
    load_mnist_images,
    mean_squared_error,
    parse_args,
    summarise,
    write_seed_results,
)
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer

N_COMPONENTS = 32
TUNED = {"hidden_layer_sizes": (256, 128), "loss": "bce", "batch_size": 128}


def settings():
    """Row name -> the parameters that differ from the defaults."""
    rows = {"defaults": {}}
    for name, value in TUNED.items():
        rows[f"defaults, {name}={value!r}"] = {name: value}
    rows["all three (the MNIST benchmarks' network)"] = TUNED
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = parse_args(parser)
    n_train, n_test, epochs = (2000, 500, 1) if args.quick else (None, None, 30)
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)

    pca = PCA(N_COMPONENTS, random_state=0).fit(X_train)
    pca_mse = mean_squared_error(pca.inverse_transform(pca.transform(X_test)), X_test)
    runs = []
    for seed in args.seeds:
        for name, params in settings().items():
            model = AutoencoderTransformer(
                N_COMPONENTS,
                max_epochs=epochs,
                n_iter_no_change=epochs + 1,
                random_state=seed,
                **params,
            )
            start = time.perf_counter()
            model.fit(X_train)
            seconds = time.perf_counter() - start
            mse = mean_squared_error(model.predict(X_test), X_test)
            runs.append(
                {
                    "seed": seed,
                    "setting": name,
                    "test MSE per pixel": mse,
                    "/ PCA": mse / pca_mse,
                    "epochs": model.n_iter_,
                    "fit (s)": seconds,
                }
            )
            print(runs[-1], flush=True)
    specs = {
        "test MSE per pixel": ".5f",
        "/ PCA": ".2f",
        "epochs": ".0f",
        "fit (s)": ".0f",
    }
    rows = summarise(runs, ["setting"], specs)
    meta = {
        "train": len(X_train),
        "test": len(X_test),
        "n_components": N_COMPONENTS,
        "PCA test MSE per pixel": round(pca_mse, 5),
    }
    write_seed_results("defaults", args, rows, runs, meta)


if __name__ == "__main__":
    main()
