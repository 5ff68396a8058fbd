"""Outlier detection on the twelve classical ODDS sets, by the ADBench protocol.

For each set in ../shared/data/odds and each seed (``--seeds``, 0 1 2 by
default): a stratified 70/30 train/test split, each detector fitted on the
training part without labels and at its defaults, ROC-AUC of its anomaly
scores on the test part. The table gives the median ROC-AUC over the seeds per
set and its range, then the median and range of each seed's mean over the
sets and of each seed's fit time summed over the sets. Torch and the BLAS run
on one thread (``--threads``). Detectors: skae's
ReconstructionOutlierDetector, scikit-learn's IsolationForest and, when PyOD
is installed (``pip install -e .[bench]``), PyOD's AutoEncoder and PCA. A
detector whose scores are not all finite on a set for some seed is marked
"non-finite" there and left out of its means.

    python benchmarks/bench_outliers.py            # full
    python benchmarks/bench_outliers.py --quick    # smoke run, seconds
"""

import argparse
import contextlib
import io
import time

import numpy as np
from _common import DATA, median_spread, parse_args, write_seed_results
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import ReconstructionOutlierDetector

SETS = [
    "annthyroid", "breastw", "cardio", "letter", "mammography", "musk",
    "optdigits", "pendigits", "satellite", "shuttle", "thyroid", "vowels",
]  # fmt: skip


def detectors(seed, params):
    """name -> (unfitted detector, function giving anomaly scores, higher =
    more abnormal)."""
    found = {
        "skae ROD": (
            ReconstructionOutlierDetector(random_state=seed, **params),
            lambda d, X: -d.score_samples(X),
        ),
        "IsolationForest": (
            IsolationForest(random_state=seed),
            lambda d, X: -d.score_samples(X),
        ),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.pca import PCA
    except ImportError:
        return found
    found["PyOD AutoEncoder"] = (
        AutoEncoder(random_state=seed, verbose=0),
        lambda d, X: d.decision_function(X),
    )
    found["PyOD PCA"] = (PCA(random_state=seed), lambda d, X: d.decision_function(X))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument(
        "--rod", default="", help="extra ROD parameters, e.g. 'n_components=4'"
    )
    args = parse_args(parser)
    params = eval(f"dict({args.rod})")  # a benchmark option, not user input
    sets, seeds = (["breastw", "vowels"] if args.quick else args.sets), args.seeds

    # auc[detector][set] and fit_time[detector]: one value per seed
    auc, fit_time = {}, {}
    for name in sets:
        data = np.load(DATA / "odds" / f"{name}.npz")
        X, y = data["X"], data["y"]
        for i, seed in enumerate(seeds):
            X_train, X_test, _, y_test = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=seed
            )
            for det_name, (det, scores_of) in detectors(seed, params).items():
                start = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    det.fit(X_train)
                seconds = fit_time.setdefault(det_name, [0.0] * len(seeds))
                seconds[i] += time.perf_counter() - start
                scores = scores_of(det, X_test)
                value = (
                    roc_auc_score(y_test, scores)
                    if np.all(np.isfinite(scores))
                    else np.nan
                )
                auc.setdefault(det_name, {}).setdefault(name, []).append(value)
        print(
            name,
            {d: round(float(np.mean(v[name])), 3) for d, v in auc.items()},
            flush=True,
        )

    names = list(auc)
    finite = {d: [s for s in sets if np.all(np.isfinite(auc[d][s]))] for d in names}
    rows = [
        {"set": name}
        | {
            d: median_spread(auc[d][name], ".3f") if name in finite[d] else "non-finite"
            for d in names
        }
        for name in sets
    ]
    rows.append(
        {"set": "mean (finite sets)"}
        | {
            d: median_spread(np.mean([auc[d][s] for s in finite[d]], axis=0), ".3f")
            for d in names
        }
    )
    rows.append(
        {"set": "fit time, all sets (s)"}
        | {d: median_spread(fit_time[d], ".1f") for d in names}
    )
    runs = [
        {"detector": d, "set": s, "seed": seed}
        | {"ROC-AUC": value if np.isfinite(value) else None}
        for d in names
        for s in sets
        for seed, value in zip(seeds, auc[d][s], strict=True)
    ] + [
        {"detector": d, "set": "all (fit time)", "seed": seed, "fit (s)": value}
        for d in names
        for seed, value in zip(seeds, fit_time[d], strict=True)
    ]
    meta = {"rod params": params or "defaults"}
    write_seed_results("outliers", args, rows, runs, meta, ["set", *names])


if __name__ == "__main__":
    main()
