"""Anomalous windows of a multichannel time series: the recurrent
ReconstructionOutlierDetector (sequence_shape) against the dense one on the
flattened windows, and IsolationForest.

Each window holds 64 steps of 3 channels: sines of one random frequency (1 to
3 cycles per window) with a random phase, channel offsets of a third of a
cycle, amplitude 1 and gaussian noise 0.1. 5% of the windows, in training and
test data alike (the detectors get no labels), carry one anomaly in one
channel: a spike (3 to 5 steps of +-4), a level shift (+2 from a random step
on), or a frequency change (3 times the frequency from a random step on).
ROC-AUC of the anomaly scores on the test windows, mean over 3 seeds, per
anomaly kind and overall. Rows are time major: window.reshape(64, 3).

    python benchmarks/bench_sequences.py            # full
    python benchmarks/bench_sequences.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import machine, write_results
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
        "IsolationForest": IsolationForest(random_state=seed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    args = parser.parse_args()
    n_train, n_test, seeds, epochs = (
        (300, 200, [0], 2) if args.quick else (3000, 2000, [0, 1, 2], 30)
    )

    auc, fit_time = {}, {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X_train, _ = windows(n_train, 0.05, rng)
        X_test, labels = windows(n_test, 0.05, rng)
        for name, detector in detectors(seed, epochs).items():
            start = time.perf_counter()
            detector.fit(X_train)
            fit_time[name] = fit_time.get(name, 0.0) + time.perf_counter() - start
            scores = -detector.score_samples(X_test)
            results = auc.setdefault(name, {})
            results.setdefault("all", []).append(roc_auc_score(labels > 0, scores))
            for k, kind in enumerate(KINDS, start=1):
                keep = (labels == 0) | (labels == k)
                results.setdefault(kind, []).append(
                    roc_auc_score(labels[keep] == k, scores[keep])
                    if np.any(labels == k)
                    else np.nan  # a small --quick draw may hold none
                )

    rows = [
        {"detector": name}
        | {kind: f"{np.mean(values[kind]):.3f}" for kind in ("all", *KINDS)}
        | {"fit (s)": f"{fit_time[name]:.0f}"}
        for name, values in auc.items()
    ]
    meta = machine() | {
        "train windows": n_train,
        "test windows": n_test,
        "anomalies": "5%",
        "seeds": len(seeds),
        "epochs": epochs,
    }
    write_results(
        "sequences" + ("_quick" if args.quick else ""), rows, list(rows[0]), meta
    )


if __name__ == "__main__":
    main()
