"""Reconstruction of MNIST test digits against PCA, by bottleneck size.

At n_components 2, 9, 32 and 64: PCA, a dense AutoencoderTransformer
(784-256-128-n, mirrored, binary cross-entropy, batches of 128, 30 epochs)
and a convolutional one (``image_shape=(1, 28, 28)``, ``conv_channels=(32,
64)``, no dense hidden layers, 15 epochs), each fitted on the 60000 training
images (pixels / 255) and scored on the 10000 test images: mean squared
error per pixel, and per image (x 784) to compare with Hinton and
Salakhutdinov (2006), who report 3.00 for a deep autoencoder and 13.87 for
PCA at 30 dimensions. The table gives every row's training time.

    python benchmarks/bench_reconstruction.py            # full
    python benchmarks/bench_reconstruction.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import load_mnist_images, machine, write_results
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 9, 32, 64])
    args = parser.parse_args()
    n_train, n_test, dense_epochs, conv_epochs = (
        (2000, 500, 1, 1) if args.quick else (None, None, 30, 15)
    )
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)

    rows = []
    for n in args.sizes:
        models = {
            "PCA": PCA(n, random_state=0),
            "dense AutoencoderTransformer": AutoencoderTransformer(
                n,
                hidden_layer_sizes=(256, 128),
                loss="bce",
                batch_size=128,
                max_epochs=dense_epochs,
                random_state=0,
            ),
            "conv AutoencoderTransformer": AutoencoderTransformer(
                n,
                image_shape=(1, 28, 28),
                conv_channels=(32, 64),
                hidden_layer_sizes=(),
                loss="bce",
                batch_size=128,
                max_epochs=conv_epochs,
                random_state=0,
            ),
        }
        pca_mse = None
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(X_train)
            seconds = time.perf_counter() - start
            reconstruction = model.inverse_transform(model.transform(X_test))
            mse = float(np.mean((reconstruction.astype(np.float64) - X_test) ** 2))
            pca_mse = mse if name == "PCA" else pca_mse
            rows.append(
                {
                    "n_components": n,
                    "model": name,
                    "test MSE per pixel": f"{mse:.5f}",
                    "per image": f"{784 * mse:.2f}",
                    "/ PCA": f"{mse / pca_mse:.2f}",
                    "epochs": getattr(model, "n_iter_", ""),
                    "fit (s)": f"{seconds:.1f}",
                }
            )
            print(rows[-1], flush=True)
    meta = machine() | {"train": len(X_train), "test": len(X_test)}
    write_results(
        "reconstruction" + ("_quick" if args.quick else ""), rows, list(rows[0]), meta
    )


if __name__ == "__main__":
    main()
