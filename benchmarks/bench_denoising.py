"""Denoising MNIST digits: PSNR of the noisy input, of a plain autoencoder
trained on clean digits, and of a denoising autoencoder of the same
architecture.

Train on 10000 clean training images (pixels / 255); corrupt 2000 test images
with gaussian noise of standard deviation 0.4 clipped to [0, 1], the setting of
the Keras denoising tutorial; compare each output with the clean images.
Denoising autoencoders train with gaussian noise at the default
``noise_level=0.2`` and at the test noise's level (``--noise-level``).
PSNR = 10 log10(1 / MSE) over all test pixels (the pixel range is 1). The
networks train once per seed (``--seeds``, 0 1 2 by default) on one torch
thread (``--threads``); the table gives the median over seeds and the range,
for the PSNR and the fit time. The noisy test images are the same for every
seed.

    python benchmarks/bench_denoising.py            # full
    python benchmarks/bench_denoising.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import (
    load_mnist_images,
    mean_squared_error,
    parse_args,
    summarise,
    write_seed_results,
)

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae.noise import gaussian_noise


def psnr(X_hat, X):
    return 10 * np.log10(1 / mean_squared_error(X_hat, X))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-level", type=float, default=0.4)
    args = parse_args(parser)

    n_train, n_test, epochs = (1000, 200, 2) if args.quick else (10000, 2000, 100)
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)
    X_noisy = gaussian_noise(X_test, args.noise_level, clip=(0, 1), random_state=0)

    runs = []
    for seed in args.seeds:
        common = dict(
            n_components=32,
            hidden_layer_sizes=(256, 128),
            loss="bce",
            max_epochs=epochs,
            batch_size=128,
            random_state=seed,
        )
        for name, model in [
            (
                "AutoencoderTransformer (trained clean)",
                AutoencoderTransformer(**common),
            ),
            (
                "DenoisingAutoencoder (gaussian, default noise_level=0.2)",
                DenoisingAutoencoder(**common),
            ),
            (
                f"DenoisingAutoencoder (gaussian {args.noise_level})",
                DenoisingAutoencoder(noise_level=args.noise_level, **common),
            ),
        ]:
            start = time.perf_counter()
            model.fit(X_train)
            seconds = time.perf_counter() - start
            runs.append(
                {
                    "seed": seed,
                    "output": name,
                    "PSNR (dB)": psnr(model.predict(X_noisy), X_test),
                    "epochs": model.n_iter_,
                    "fit (s)": seconds,
                }
            )
            print(runs[-1], flush=True)
    noisy = {"output": "noisy input", "PSNR (dB)": f"{psnr(X_noisy, X_test):.2f}"}
    rows = [noisy | {"epochs": "", "fit (s)": ""}] + summarise(
        runs, ["output"], {"PSNR (dB)": ".2f", "epochs": ".0f", "fit (s)": ".0f"}
    )
    meta = {
        "train": n_train,
        "test": n_test,
        "network": "784-256-128-32 mirrored, bce, batch 128",
    }
    write_seed_results("denoising", args, rows, runs, meta)


if __name__ == "__main__":
    main()
