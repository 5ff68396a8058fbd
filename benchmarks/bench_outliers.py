"""Outlier detection on the twelve classical ODDS sets, by the ADBench protocol.

For each set in ../shared/data/odds and each seed (``--seeds``, 0 1 2 by
default): a stratified 70/30 train/test split, each detector fitted on the
training part without labels and at its defaults, its anomaly scores of the
test part scored by ROC-AUC and average precision. The tables give, per set,
the median over the seeds and its range; then the median and range of each
seed's mean over the sets, the number of sets where a detector's median
ROC-AUC is below IsolationForest's, and each seed's fit and score times
summed over the sets. Torch and the BLAS run on one thread (``--threads``).
Detectors: skae's ReconstructionOutlierDetector, scikit-learn's
IsolationForest and LocalOutlierFactor (novelty=True) and, when PyOD is
installed (``pip install -e .[bench]``), PyOD's AutoEncoder, VAE, ECOD, KNN
and PCA. A detector whose scores are not all finite on a set for some seed is
marked "non-finite" there and left out of its means.

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
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor

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
        "LOF (novelty)": (
            LocalOutlierFactor(novelty=True),
            lambda d, X: -d.score_samples(X),
        ),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD
        from pyod.models.knn import KNN
        from pyod.models.pca import PCA
        from pyod.models.vae import VAE
    except ImportError:
        return found
    pyod_scores = lambda d, X: d.decision_function(X)  # noqa: E731
    found |= {
        "PyOD AutoEncoder": (AutoEncoder(random_state=seed, verbose=0), pyod_scores),
        "PyOD VAE": (VAE(random_state=seed, verbose=0), pyod_scores),
        "PyOD ECOD": (ECOD(), pyod_scores),
        "PyOD KNN": (KNN(), pyod_scores),
        "PyOD PCA": (PCA(random_state=seed), pyod_scores),
    }
    return found


METRICS = {"ROC-AUC": roc_auc_score, "AP": average_precision_score}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument(
        "--rod", default="", help="extra ROD parameters, e.g. 'n_estimators=10'"
    )
    args = parse_args(parser)
    params = eval(f"dict({args.rod})")  # a benchmark option, not user input
    sets, seeds = (["breastw", "vowels"] if args.quick else args.sets), args.seeds

    # value[metric][detector][set] and seconds[kind][detector]: one per seed
    value = {metric: {} for metric in METRICS}
    seconds = {"fit": {}, "score": {}}
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
                middle = time.perf_counter()
                scores = scores_of(det, X_test)
                end = time.perf_counter()
                for kind, spent in (("fit", middle - start), ("score", end - middle)):
                    seconds[kind].setdefault(det_name, [0.0] * len(seeds))[i] += spent
                finite = np.all(np.isfinite(scores))
                for metric, score in METRICS.items():
                    value[metric].setdefault(det_name, {}).setdefault(name, []).append(
                        score(y_test, scores) if finite else np.nan
                    )
        print(
            name,
            {d: round(float(np.mean(v[name])), 3) for d, v in value["ROC-AUC"].items()},
            flush=True,
        )

    names = list(value["ROC-AUC"])
    auc = value["ROC-AUC"]
    finite = {d: [s for s in sets if np.all(np.isfinite(auc[d][s]))] for d in names}
    rows = []
    for metric, per in value.items():
        rows += [
            {"set": f"{name} ({metric})"}
            | {
                d: median_spread(per[d][name], ".3f")
                if name in finite[d]
                else "non-finite"
                for d in names
            }
            for name in sets
        ]
        rows.append(
            {"set": f"mean {metric} (finite sets)"}
            | {
                d: median_spread(np.mean([per[d][s] for s in finite[d]], axis=0), ".3f")
                for d in names
            }
        )
    reference = "IsolationForest"
    rows.append(
        {"set": f"sets with median ROC-AUC below {reference}'s"}
        | {
            d: sum(
                bool(np.median(auc[d][s]) < np.median(auc[reference][s]))
                for s in finite[d]
            )
            for d in names
        }
    )
    for kind in seconds:
        rows.append(
            {"set": f"{kind} time, all sets (s)"}
            | {d: median_spread(seconds[kind][d], ".1f") for d in names}
        )
    runs = [
        {"detector": d, "set": s, "seed": seed}
        | {
            metric: None if not np.isfinite(v := value[metric][d][s][i]) else float(v)
            for metric in METRICS
        }
        for d in names
        for s in sets
        for i, seed in enumerate(seeds)
    ] + [
        {"detector": d, "set": "all", "seed": seed}
        | {f"{kind} (s)": seconds[kind][d][i] for kind in seconds}
        for d in names
        for i, seed in enumerate(seeds)
    ]
    meta = {"rod params": params or "defaults"}
    write_seed_results("outliers", args, rows, runs, meta, ["set", *names])


if __name__ == "__main__":
    main()
