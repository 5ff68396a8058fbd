"""Outlier detection on the twelve classical ODDS sets, by the ADBench protocol.

For each set in ../shared/data/odds and each of 3 seeds: a stratified 70/30
train/test split, each detector fitted on the training part without labels and
at its defaults, ROC-AUC of its anomaly scores on the test part. The table gives
the mean ROC-AUC over the seeds per set, the mean over sets, and the total fit
time. Detectors: skae's ReconstructionOutlierDetector, scikit-learn's
IsolationForest and, when PyOD is installed (``pip install -e .[bench]``),
PyOD's AutoEncoder and PCA. A detector whose scores are not all finite on a set
is marked "non-finite" there and left out of its mean.

    python benchmarks/bench_outliers.py            # full
    python benchmarks/bench_outliers.py --quick    # smoke run, seconds
"""

import argparse
import contextlib
import io
import time

import numpy as np
from _common import DATA, machine, write_results
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
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument(
        "--rod", default="", help="extra ROD parameters, e.g. 'n_components=4'"
    )
    args = parser.parse_args()
    params = eval(f"dict({args.rod})")  # a benchmark option, not user input
    sets, seeds = (["breastw", "vowels"], [0]) if args.quick else (args.sets, [0, 1, 2])

    auc, fit_time = {}, {}
    for name in sets:
        data = np.load(DATA / "odds" / f"{name}.npz")
        X, y = data["X"], data["y"]
        for seed in seeds:
            X_train, X_test, _, y_test = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=seed
            )
            for det_name, (det, scores_of) in detectors(seed, params).items():
                start = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    det.fit(X_train)
                fit_time[det_name] = fit_time.get(det_name, 0.0) + (
                    time.perf_counter() - start
                )
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
    rows = []
    for name in sets:
        row = {"set": name}
        for det_name in names:
            value = np.mean(auc[det_name][name])
            row[det_name] = "non-finite" if np.isnan(value) else f"{value:.3f}"
        rows.append(row)
    rows.append(
        {"set": "mean (finite sets)"}
        | {d: f"{np.nanmean([np.mean(auc[d][s]) for s in sets]):.3f}" for d in names}
    )
    rows.append(
        {"set": "total fit time (s)"} | {d: f"{fit_time[d]:.1f}" for d in names}
    )
    meta = machine() | {"seeds": len(seeds), "rod params": params or "defaults"}
    write_results(
        "outliers" + ("_quick" if args.quick else ""), rows, ["set", *names], meta
    )


if __name__ == "__main__":
    main()
