"""Convolutional against dense autoencoders on MNIST, at n_components=32.

Every network is trained on the 60000 training images (pixels / 255, loss
"bce", batch 128) and scored on the 10000 test images: mean squared error per
pixel of the reconstructions. The convolutional network with
``conv_channels=(32, 64)`` trains first, 15 epochs; then the same network at
the default ``conv_channels=(16, 32)``, 15 epochs; each dense network then
gets as many epochs as fit in the time of the first, so those rows compare
at an equal training budget. The dense networks: one of about the same
parameter count as the first, and the deeper 784-256-128-32 one. Every
network is trained once per seed (``--seeds``, 0 1 2 by default) on one
torch thread (``--threads``); the table gives the median over seeds and the
range of the error and of the fit time.

A second table trains the tutorials' RGB setting, 64x64x3 images into a
512-unit code, on colourised MNIST digits (each digit upscaled to 56x56,
padded to 64x64 and tinted with a random colour per image), and reports the
test error against that of predicting the mean training image. It trains
once, with the first seed; the medians over seeds are those of the first
table.

    python benchmarks/bench_conv.py            # full
    python benchmarks/bench_conv.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import (
    load_mnist_images,
    machine,
    mean_squared_error,
    parse_args,
    seeds_note,
    summarise,
    write_results,
    write_seed_results,
)

from skae import AutoencoderTransformer


def n_parameters(model):
    return sum(p.numel() for p in model.net_.module_.parameters())


def mse(model, X):
    return mean_squared_error(model.predict(X), X)


def fit_timed(model, X):
    start = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - start


def colourise(X, seed):
    """MNIST rows as 64x64x3 images: upscaled 2x, padded, tinted."""
    rng = np.random.default_rng(seed)
    images = X.reshape(-1, 28, 28)
    images = np.kron(images, np.ones((2, 2), np.float32))  # 56x56
    images = np.pad(images, ((0, 0), (4, 4), (4, 4)))  # 64x64
    tint = rng.uniform(0.3, 1.0, size=(len(X), 3, 1, 1)).astype(np.float32)
    return (images[:, None] * tint).reshape(len(X), -1)


def conv_runs(X_train, X_test, seed, conv_epochs):
    """Yield one seed's runs: the two convolutional networks, then the dense
    ones at the training time of the first."""
    common = dict(n_components=32, loss="bce", batch_size=128, random_state=seed)

    def run(name, model):
        seconds = fit_timed(model, X_train)
        return {
            "seed": seed,
            "network": name,
            "parameters": n_parameters(model),
            "epochs": model.n_iter_,
            "fit (s)": seconds,
            "test MSE per pixel": mse(model, X_test),
        }

    budget = None
    for channels, name in [
        ((32, 64), "conv 1x28x28 -> 32 -> 64 channels -> 32"),
        ((16, 32), "conv 1x28x28 -> 16 -> 32 channels -> 32 (default channels)"),
    ]:
        conv = AutoencoderTransformer(
            image_shape=(1, 28, 28),
            conv_channels=channels,
            hidden_layer_sizes=(),
            max_epochs=conv_epochs,
            **common,
        )
        result = run(name, conv)
        budget = budget or result["fit (s)"]
        yield result
    for name, hidden in [
        ("dense 784-150-32 (about the conv's parameters)", (150,)),
        ("dense 784-256-128-32", (256, 128)),
    ]:
        # one epoch to time an epoch, then as many as fit the budget
        probe = AutoencoderTransformer(
            hidden_layer_sizes=hidden, max_epochs=1, **common
        )
        epochs = max(1, int(budget / fit_timed(probe, X_train)))
        dense = AutoencoderTransformer(
            hidden_layer_sizes=hidden, max_epochs=epochs, **common
        )
        yield run(name, dense)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = parse_args(parser)

    n_train, n_test, conv_epochs = (2000, 500, 1) if args.quick else (None, None, 15)
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)
    runs = []
    for seed in args.seeds:
        for run in conv_runs(X_train, X_test, seed, conv_epochs):
            runs.append(run)
            print(run, flush=True)
    rows = summarise(
        runs,
        ["network", "parameters"],
        {"epochs": ".0f", "fit (s)": ".0f", "test MSE per pixel": ".5f"},
    )
    meta = {
        "train": len(X_train),
        "test": len(X_test),
        "settings": "n_components 32, bce, batch 128, adam lr 1e-3",
    }
    write_seed_results("conv", args, rows, runs, meta)

    # The RGB setting: 64x64x3 into 512 codes.
    n_rgb, rgb_epochs = (200, 1) if args.quick else (5000, 5)
    X_rgb = colourise(load_mnist_images("train", n_rgb), seed=0)
    X_rgb_test = colourise(load_mnist_images("test", n_rgb // 5), seed=1)
    rgb = AutoencoderTransformer(
        512,
        image_shape=(3, 64, 64),
        conv_channels=(32, 64, 128),
        hidden_layer_sizes=(),
        loss="bce",
        batch_size=64,
        max_epochs=rgb_epochs,
        random_state=args.seeds[0],
    )
    seconds = fit_timed(rgb, X_rgb)
    baseline = mean_squared_error(X_rgb.mean(axis=0), X_rgb_test)
    rgb_rows = [
        {
            "network": "conv 3x64x64 -> 32 -> 64 -> 128 channels -> 512",
            "parameters": n_parameters(rgb),
            "epochs": rgb.n_iter_,
            "train loss by epoch": " ".join(
                f"{loss:.4f}" for loss in rgb.history_[:, "train_loss"]
            ),
            "fit (s)": f"{seconds:.0f}",
            "test MSE per value": f"{mse(rgb, X_rgb_test):.5f}",
            "mean-image MSE": f"{baseline:.5f}",
        }
    ]
    meta = machine() | {
        "train": len(X_rgb),
        "test": len(X_rgb_test),
        "seeds": args.seeds[:1],
    }
    write_results(
        "conv_rgb" + ("_quick" if args.quick else ""),
        rgb_rows,
        list(rgb_rows[0]),
        meta,
        seeds_note(args.seeds[:1]),
    )


if __name__ == "__main__":
    main()
