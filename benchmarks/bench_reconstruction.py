"""Reconstruction of MNIST test digits against PCA, by bottleneck size.

At n_components 2, 9, 32 and 64: PCA, a dense AutoencoderTransformer
(784-256-128-n, mirrored, binary cross-entropy, batches of 128, 30 epochs)
and a convolutional one (image_shape (1, 28, 28), the default conv_channels
(16, 32), no dense hidden layer, binary cross-entropy, batches of 128, 15
epochs: about the dense network's training time), each fitted on the 60000
training images (pixels / 255) and scored on the 10000 test images: mean
squared error per pixel, and per image (x 784) to compare with Hinton and
Salakhutdinov (2006), who report 3.00 for a deep autoencoder and 13.87 for
PCA at 30 dimensions. Every model is fitted once per seed (``--seeds``, 0 1 2
by default) on one torch thread (``--threads``); the table gives the median
over seeds and the range of the error, of its ratio to PCA's (seed by seed)
and of the fit time. At n_components=32 an AutoencoderTransformer at its
defaults (784-128-64-32, mean squared error, batches of 64, up to 200 epochs
until the training loss stops improving) shows what the settings above gain.

bench_conv.py compares convolutional and dense networks further, at
n_components=32 (conv_channels (32, 64) against the default included).

    python benchmarks/bench_reconstruction.py            # full
    python benchmarks/bench_reconstruction.py --quick    # smoke run, seconds
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 9, 32, 64])
    args = parse_args(parser)
    n_train, n_test = (2000, 500) if args.quick else (None, None)
    epochs, conv_epochs = (1, 1) if args.quick else (30, 15)
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)

    runs = []
    for seed in args.seeds:
        for n in args.sizes:
            models = {
                "PCA": PCA(n, random_state=seed),
                "dense AutoencoderTransformer": AutoencoderTransformer(
                    n,
                    hidden_layer_sizes=(256, 128),
                    loss="bce",
                    batch_size=128,
                    max_epochs=epochs,
                    random_state=seed,
                ),
                "convolutional AutoencoderTransformer": AutoencoderTransformer(
                    n,
                    image_shape=(1, 28, 28),
                    hidden_layer_sizes=(),
                    loss="bce",
                    batch_size=128,
                    max_epochs=conv_epochs,
                    random_state=seed,
                ),
            }
            if n == 32:
                models["AutoencoderTransformer at its defaults"] = (
                    AutoencoderTransformer(
                        n, max_epochs=1 if args.quick else 200, random_state=seed
                    )
                )
            pca_mse = None
            for name, model in models.items():
                start = time.perf_counter()
                model.fit(X_train)
                seconds = time.perf_counter() - start
                reconstruction = model.inverse_transform(model.transform(X_test))
                mse = mean_squared_error(reconstruction, X_test)
                pca_mse = mse if name == "PCA" else pca_mse
                runs.append(
                    {
                        "seed": seed,
                        "n_components": n,
                        "model": name,
                        "test MSE per pixel": mse,
                        "per image": 784 * mse,
                        "/ PCA": mse / pca_mse,
                        "epochs": getattr(model, "n_iter_", None),
                        "fit (s)": seconds,
                    }
                )
                print(runs[-1], flush=True)
    specs = {
        "test MSE per pixel": ".5f",
        "per image": ".2f",
        "/ PCA": ".2f",
        "epochs": ".0f",
        "fit (s)": ".1f",
    }
    rows = summarise(runs, ["n_components", "model"], specs)
    meta = {"train": len(X_train), "test": len(X_test)}
    write_seed_results("reconstruction", args, rows, runs, meta)


if __name__ == "__main__":
    main()
