"""Sparse and contractive autoencoders on MNIST: how the penalties change the
codes, and what they cost in reconstruction.

The setting of the Keras tutorial's sparse autoencoder: 784 -> 32 -> 784 in
one layer each way, sigmoid output with binary cross-entropy, batch 256, up
to 100 epochs (skae's default stops sooner when the training loss
plateaus) on the 60000 training images, and an L1 activity penalty of 1e-4 on
the codes (the tutorial reports a mean code activation of 7.30 without it and
3.33 with it; its codes pass a ReLU, skae's are linear, so the table gives
the mean absolute code). Scored on the 10000 test images: mean absolute code,
share of codes within 0.1 of zero, mean sigmoid of the codes (what the KL
target constrains), test MSE per pixel, and the mean squared Frobenius norm
of the encoder's Jacobian on 500 test images (what the contractive penalty
shrinks). Every model is fitted once per seed (``--seeds``, 0 1 2 by default)
on one torch thread (``--threads``); the table gives medians over the seeds
and ranges.

    python benchmarks/bench_sparse.py            # full
    python benchmarks/bench_sparse.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
import torch
from _common import load_mnist_images, parse_args, summarise, write_seed_results

from skae import AutoencoderTransformer


def jacobian_norm(model, X):
    encoder = model.net_.module_.encoder.eval()
    X = torch.from_numpy(X)
    # one backward pass per code unit gives every row's Jacobian row
    X.requires_grad_(True)
    codes = encoder(X)
    total = 0.0
    for unit in range(codes.shape[1]):
        (gradient,) = torch.autograd.grad(codes[:, unit].sum(), X, retain_graph=True)
        total += gradient.pow(2).sum().item()
    return total / len(X)


PENALTIES = [
    ("no penalty", {}),
    ("sparsity_weight=1e-4 (L1)", {"sparsity_weight": 1e-4}),
    (
        "sparsity_weight=0.1, sparsity_target=0.05 (KL)",
        {"sparsity_weight": 0.1, "sparsity_target": 0.05},
    ),
    ("contractive_weight=0.1", {"contractive_weight": 0.1}),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = parse_args(parser)
    n_train, n_test, epochs = (2000, 500, 2) if args.quick else (None, None, 100)
    X_train = load_mnist_images("train", n_train)
    X_test = load_mnist_images("test", n_test)
    common = dict(
        n_components=32,
        hidden_layer_sizes=(),
        loss="bce",
        batch_size=256,
        max_epochs=epochs,
    )
    runs = []
    for seed in args.seeds:
        for name, penalty in PENALTIES:
            model = AutoencoderTransformer(**common, **penalty, random_state=seed)
            start = time.perf_counter()
            model.fit(X_train)
            seconds = time.perf_counter() - start
            codes = model.transform(X_test)
            reconstruction = model.predict(X_test).astype(np.float64)
            runs.append(
                {
                    "seed": seed,
                    "penalty": name,
                    "mean abs code": float(np.abs(codes).mean()),
                    "codes within 0.1 of 0 (%)": 100 * np.mean(np.abs(codes) < 0.1),
                    # what the KL target constrains
                    "mean sigmoid(code)": float(np.mean(1 / (1 + np.exp(-codes)))),
                    "test MSE per pixel": np.mean((reconstruction - X_test) ** 2),
                    "Jacobian norm": jacobian_norm(model, X_test[:500]),
                    "epochs": model.n_iter_,
                    "fit (s)": seconds,
                }
            )
            print(runs[-1], flush=True)
    specs = {
        "mean abs code": ".3f",
        "codes within 0.1 of 0 (%)": ".1f",
        "mean sigmoid(code)": ".3f",
        "test MSE per pixel": ".5f",
        "Jacobian norm": ".2f",
        "epochs": ".0f",
        "fit (s)": ".0f",
    }
    rows = summarise(runs, ["penalty"], specs)
    meta = {
        "train": len(X_train),
        "test": len(X_test),
        "network": "784-32-784, bce, batch 256",
    }
    write_seed_results("sparse", args, rows, runs, meta)


if __name__ == "__main__":
    main()
