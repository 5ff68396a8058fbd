"""Variational autoencoder on MNIST: held-out ELBO, the spread of the codes,
the ELBO of digits against noise and shuffled-pixel digits, and generated
samples.

Train a VariationalAutoencoder (pixels / 255, loss "bce": a Bernoulli
likelihood) with a 2-D and a 16-D code on the MNIST training images; on the
test images report the mean ELBO (nats per image, higher is better), the mean
and standard deviation of each code dimension (a standard normal when the KL
term works; for the 16-D code, the range over dimensions), and the mean ELBO
of three kinds of rows: test digits, uniform noise images, and test digits
with their pixels shuffled (same pixel values, no strokes), with the ROC-AUC
of the ELBO at telling the digits from each kind of outlier. A grid of images
decoded from standard normal codes is saved as results/vae_samples.png.

    python benchmarks/bench_variational.py            # full
    python benchmarks/bench_variational.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import RESULTS, load_mnist_images, machine, write_results
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


def spread(values, sign="+"):
    """Each dimension's value, or their range when there are many."""
    if len(values) <= 2:
        return " ".join(f"{v:{sign}.2f}" for v in values)
    return f"{values.min():{sign}.2f} to {values.max():{sign}.2f}"


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
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()

    n_train, n_test, epochs = (1000, 200, 2) if args.quick else (60000, 10000, 50)
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)
    noise, shuffled = outliers(X_test)
    if not args.quick:
        epochs = args.epochs

    rows, models = [], []
    for n_components in (2, 16):
        model = VariationalAutoencoder(
            n_components,
            hidden_layer_sizes=(256, 128),
            loss="bce",
            max_epochs=epochs,
            batch_size=128,
            random_state=0,
        )
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        codes = model.transform(X_test)
        test_scores = model.score_samples(X_test)
        rows.append(
            {
                "n_components": n_components,
                "test ELBO": f"{test_scores.mean():.1f}",
                "code mean": spread(codes.mean(axis=0)),
                "code std": spread(codes.std(axis=0), sign=""),
                "noise ELBO": f"{model.score(noise):.1f}",
                "shuffled ELBO": f"{model.score(shuffled):.1f}",
                "ROC-AUC vs noise": f"{auc(test_scores, model, noise):.3f}",
                "ROC-AUC vs shuffled": f"{auc(test_scores, model, shuffled):.3f}",
                "epochs": model.n_iter_,
                "fit (s)": f"{seconds:.0f}",
            }
        )
        models.append((f"{n_components}-D code", model))

    suffix = "_quick" if args.quick else ""
    save_samples(models, RESULTS / f"vae_samples{suffix}.png")
    meta = machine() | {
        "train": n_train,
        "test": n_test,
        "network": "784-256-128-(2 x n_components) encoder, mirrored decoder, "
        "bce, batch 128",
    }
    notes = (
        "ELBO in nats per image (Bernoulli likelihood of the pixel intensities, "
        "16 codes per image, KL exact). Codes: posterior means of the test "
        f"images. Samples: results/vae_samples{suffix}.png."
    )
    write_results("variational" + suffix, rows, list(rows[0]), meta, notes)


if __name__ == "__main__":
    main()
