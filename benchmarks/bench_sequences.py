"""Anomalous windows of a multichannel time series: the recurrent
ReconstructionOutlierDetector (sequence_shape) against the dense one on the
flattened windows (at its defaults, and with every member trained on every
window and scoring by reconstruction alone), and IsolationForest.

Each window holds 64 steps of 3 channels: sines of one random frequency (1 to
3 cycles per window) with a random phase, channel offsets of a third of a
cycle, amplitude 1 and gaussian noise 0.1. 5% of the windows, in training and
test data alike (the detectors get no labels), carry one anomaly in one
channel: a spike (3 to 5 steps of +-4), a level shift (+2 from a random step
on), or a frequency change (3 times the frequency from a random step on).
ROC-AUC of the anomaly scores on the test windows, per anomaly kind and
overall. Every detector is fitted once per seed (``--seeds``, 0 1 2 by
default; the seed also draws the windows) on one torch thread
(``--threads``); the table gives medians over the seeds and ranges. Rows are
time major: window.reshape(64, 3).

    python benchmarks/bench_sequences.py            # full
    python benchmarks/bench_sequences.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import parse_args, summarise, write_seed_results
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from skae import ReconstructionOutlierDetector

N_STEPS, N_CHANNELS = 64, 3
KINDS = ("spike", "level shift", "frequency change")


def windows(n, share, rng):
    """``n`` windows, rows of N_STEPS * N_CHANNELS values, and their labels:
    0 normal, 1 + index into KINDS for an anomaly."""
    t = np.arange(N_STEPS) / N_STEPS
    cycles = rng.uniform(1, 3, size=(n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    offsets = np.arange(N_CHANNELS) * 2 * np.pi / 3
    angle = 2 * np.pi * cycles * t[None, :, None] + phase + offsets
    X = np.sin(angle) + rng.normal(0, 0.1, size=angle.shape)
    labels = np.zeros(n, dtype=int)
    anomalous = rng.choice(n, size=int(round(share * n)), replace=False)
    for i in anomalous:
        kind = rng.integers(len(KINDS))
        labels[i] = kind + 1
        channel = rng.integers(N_CHANNELS)
        start = rng.integers(8, N_STEPS - 8)
        if KINDS[kind] == "spike":
            width = rng.integers(3, 6)
            X[i, start : start + width, channel] += rng.choice([-4, 4])
        elif KINDS[kind] == "level shift":
            X[i, start:, channel] += 2
        else:
            X[i, start:, channel] = np.sin(
                3 * (angle[i, start:, channel] - angle[i, start, channel])
                + angle[i, start, channel]
            ) + rng.normal(0, 0.1, size=N_STEPS - start)
    return X.reshape(n, -1).astype(np.float32), labels


def detectors(seed, epochs):
    return {
        "skae ROD, sequence_shape (LSTM)": ReconstructionOutlierDetector(
            sequence_shape=(N_STEPS, N_CHANNELS),
            n_components=8,
            max_epochs=epochs,
            random_state=seed,
        ),
        "skae ROD, dense on flattened windows": ReconstructionOutlierDetector(
            n_components=8, max_epochs=epochs, random_state=seed
        ),
        # every member on every window, scored by reconstruction alone: the
        # single autoencoder's score, averaged over the ensemble
        "skae ROD, dense, all windows, reconstruction only": (
            ReconstructionOutlierDetector(
                n_components=8,
                max_samples=1.0,
                code_weight=0.0,
                max_epochs=epochs,
                random_state=seed,
            )
        ),
        "IsolationForest": IsolationForest(random_state=seed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = parse_args(parser)
    n_train, n_test, epochs = (300, 200, 2) if args.quick else (3000, 2000, 30)

    runs = []
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        X_train, _ = windows(n_train, 0.05, rng)
        X_test, labels = windows(n_test, 0.05, rng)
        for name, detector in detectors(seed, epochs).items():
            start = time.perf_counter()
            detector.fit(X_train)
            seconds = time.perf_counter() - start
            scores = -detector.score_samples(X_test)
            run = {"seed": seed, "detector": name}
            run["all"] = roc_auc_score(labels > 0, scores)
            for k, kind in enumerate(KINDS, start=1):
                keep = (labels == 0) | (labels == k)
                # a small --quick draw may hold none of a kind
                if np.any(labels == k):
                    run[kind] = roc_auc_score(labels[keep] == k, scores[keep])
                else:
                    run[kind] = None
            run["fit (s)"] = seconds
            runs.append(run)
            print(run, flush=True)

    specs = {kind: ".3f" for kind in ("all", *KINDS)} | {"fit (s)": ".1f"}
    rows = summarise(runs, ["detector"], specs)
    meta = {
        "train windows": n_train,
        "test windows": n_test,
        "anomalies": "5%",
        "epochs": epochs,
    }
    write_seed_results("sequences", args, rows, runs, meta)


if __name__ == "__main__":
    main()
