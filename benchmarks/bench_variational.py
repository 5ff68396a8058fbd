"""Variational autoencoder on MNIST: held-out ELBO, the spread of the codes,
the ELBO of digits against noise and shuffled-pixel digits, and generated
samples.

Train a VariationalAutoencoder (pixels / 255, loss "bce": a Bernoulli
likelihood) with a 2-D and a 16-D code on the MNIST training images; on the
test images report the mean ELBO (nats per image, higher is better), the
largest absolute mean of a code dimension and the smallest and largest
standard deviation of one (a standard normal when the KL term works), and the
mean ELBO
of three kinds of rows: test digits, uniform noise images, and test digits
with their pixels shuffled (same pixel values, no strokes), with the ROC-AUC
of the ELBO at telling the digits from each kind of outlier. A grid of images
decoded from standard normal codes by the first seed's models is saved as
results/vae_samples.png. Every model is fitted once per seed (``--seeds``, 0
1 2 by default; the outlier images are the same for every seed) on one torch
thread (``--threads``); the table gives medians over the seeds and ranges.

    python benchmarks/bench_variational.py            # full
    python benchmarks/bench_variational.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import (
    RESULTS,
    load_mnist_images,
    parse_args,
    summarise,
    write_seed_results,
)
from sklearn.metrics import roc_auc_score

from skae import VariationalAutoencoder


def outliers(X, seed=0):
    """Uniform noise images, and the rows of ``X`` with shuffled pixels."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, X.shape).astype(np.float32)
    shuffled = rng.permuted(X, axis=1)
    return noise, shuffled


def auc(inlier_scores, model, X_out):
    """ROC-AUC of the ELBO at telling the test digits from ``X_out``."""
    out_scores = model.score_samples(X_out)
    labels = np.r_[np.ones(len(inlier_scores)), np.zeros(len(out_scores))]
    return roc_auc_score(labels, np.r_[inlier_scores, out_scores])


def save_samples(models, path, n_side=8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4.3))
    for ax, (name, model) in zip(np.atleast_1d(axes), models, strict=True):
        images = model.sample(n_side * n_side, random_state=0).reshape(
            n_side, n_side, 28, 28
        )
        ax.imshow(
            images.transpose(0, 2, 1, 3).reshape(n_side * 28, n_side * 28),
            cmap="gray_r",
            vmin=0,
            vmax=1,
        )
        ax.set_title(name)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    args = parse_args(parser)

    n_train, n_test = (1000, 200) if args.quick else (60000, 10000)
    epochs = 2 if args.quick else args.epochs
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)
    noise, shuffled = outliers(X_test)

    runs, sample_models = [], []
    for seed in args.seeds:
        for n_components in (2, 16):
            model = VariationalAutoencoder(
                n_components,
                hidden_layer_sizes=(256, 128),
                loss="bce",
                max_epochs=epochs,
                batch_size=128,
                random_state=seed,
            )
            start = time.perf_counter()
            model.fit(X_train)
            seconds = time.perf_counter() - start
            codes = model.transform(X_test)
            test_scores = model.score_samples(X_test)
            runs.append(
                {
                    "seed": seed,
                    "n_components": n_components,
                    "test ELBO": float(test_scores.mean()),
                    "largest abs code mean": float(np.abs(codes.mean(axis=0)).max()),
                    "smallest code std": float(codes.std(axis=0).min()),
                    "largest code std": float(codes.std(axis=0).max()),
                    "noise ELBO": float(model.score(noise)),
                    "shuffled ELBO": float(model.score(shuffled)),
                    "ROC-AUC vs noise": auc(test_scores, model, noise),
                    "ROC-AUC vs shuffled": auc(test_scores, model, shuffled),
                    "epochs": model.n_iter_,
                    "fit (s)": seconds,
                }
            )
            print(runs[-1], flush=True)
            if seed == args.seeds[0]:
                sample_models.append((f"{n_components}-D code", model))

    suffix = "_quick" if args.quick else ""
    save_samples(sample_models, RESULTS / f"vae_samples{suffix}.png")
    specs = {
        "test ELBO": ".1f",
        "largest abs code mean": ".2f",
        "smallest code std": ".2f",
        "largest code std": ".2f",
        "noise ELBO": ".1f",
        "shuffled ELBO": ".1f",
        "ROC-AUC vs noise": ".3f",
        "ROC-AUC vs shuffled": ".3f",
        "epochs": ".0f",
        "fit (s)": ".0f",
    }
    rows = summarise(runs, ["n_components"], specs)
    meta = {
        "train": n_train,
        "test": n_test,
        "network": "784-256-128-(2 x n_components) encoder, mirrored decoder, "
        "bce, batch 128",
    }
    notes = (
        "ELBO in nats per image (Bernoulli likelihood of the pixel intensities, "
        "16 codes per image, KL exact). Codes: posterior means of the test "
        f"images. Samples (first seed): results/vae_samples{suffix}.png."
    )
    write_seed_results("variational", args, rows, runs, meta, notes=notes)


if __name__ == "__main__":
    main()
