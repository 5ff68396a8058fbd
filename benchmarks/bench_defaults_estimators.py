"""The DenoisingAutoencoder's, SupervisedAutoencoder's and
VariationalAutoencoder's defaults against a small grid and a classical peer.

The companion of ``bench_defaults.py`` (the AutoencoderTransformer's
defaults), on the same data, scaled and split the same way by its
``load_set``: does the same "auto" rule (widths from the data's rows and
code size, the loss from the data's range, the epochs from the data's size)
serve the other estimators as well? Each estimator is judged by what it is
for, at its defaults (only ``n_components`` and ``random_state`` given)
and at each setting of a small grid, every parameter given explicitly so
that the grid does not move when the defaults do:

- ``DenoisingAutoencoder``: the test rows corrupted by Gaussian noise of
  standard deviation 0.2 (clipped to each feature's training range, as the
  estimator clips its training batches), and the mean squared error of
  ``predict`` against the clean rows. Peers: PCA at the same
  ``n_components`` (fitted on the clean training rows, reconstructing the
  noisy test rows), an ``AutoencoderTransformer`` at its defaults (trained
  on clean rows), and the noisy rows as they are. The grid varies the
  widths at the defaults' noise level (0.2), and the training noise level
  (0.1, 0.4) at one width: the test noise stays 0.2, the level a user who
  does not know theirs gets.
- ``SupervisedAutoencoder`` (the sets with class labels: digits,
  breast_cancer, wine; split 70/30 stratified by the seed): test accuracy,
  and the test reconstruction error against PCA's. Peers: scikit-learn's
  ``MLPClassifier`` and ``LogisticRegression`` (``max_iter=1000``) at their
  defaults. The grid varies the widths and ``classification_weight``.
- ``VariationalAutoencoder``: the test rows' mean ELBO (``score``, nats
  per row, higher is better). Peer: PCA's own ``score``, the test
  log-likelihood of probabilistic PCA at the same ``n_components``, a
  Gaussian density like the VAE's "mse" likelihood (on data in [0, 1] the
  defaults choose a Bernoulli likelihood, whose values a density's cannot
  be compared with: that cell is left empty). The grid varies the widths
  and the batch size, at ``beta=1`` (the ELBO proper).

Every model is fitted once per seed (``--seeds``, 0 1 2 by default) on one
torch thread (``--threads``); the tables give the median over seeds and the
range, and the comparisons seed by seed.

    python benchmarks/bench_defaults_estimators.py
    python benchmarks/bench_defaults_estimators.py --quick
    python benchmarks/bench_defaults_estimators.py --estimators denoising
"""

import argparse
import time
import warnings

import numpy as np
from _common import mean_squared_error, median_spread, parse_args, write_seed_results
from bench_defaults import code_size, in_unit_range, load_set, scaled, sklearn_set
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SupervisedAutoencoder,
    VariationalAutoencoder,
)
from skae.noise import gaussian_noise

SETS = [
    "digits",
    "breast_cancer",
    "wine",
    "cardio",
    "letter",
    "pendigits",
    "satellite",
    "swiss_roll_50d",
]
LABELLED = ["digits", "breast_cancer", "wine"]
QUICK_SETS = ["digits", "wine"]
TEST_NOISE = 0.2
WIDTHS = [(256,), (256, 128), (128, 64), (256, 128, 64)]


def base(X_train):
    """The grid's fixed parameters: the loss a user would pick for the
    data's range (bce in [0, 1], as bench_defaults found best), batches of
    64, up to 200 epochs with the stopping rule."""
    return {
        "loss": "bce" if in_unit_range(X_train) else "mse",
        "batch_size": 64,
        "max_epochs": 200,
    }


def grid(estimator, X_train):
    """Setting name -> parameters of ``estimator`` ("defaults": none)."""
    b = base(X_train)
    loss = b["loss"]
    rows = {"defaults": {}}
    if estimator == "denoising":
        for w in WIDTHS:
            rows[f"{w} {loss} noise 0.2"] = b | {"hidden_layer_sizes": w}
        for level in (0.1, 0.4):
            rows[f"(256,) {loss} noise {level}"] = b | {
                "hidden_layer_sizes": (256,),
                "noise_level": level,
            }
    elif estimator == "supervised":
        for w in WIDTHS[:3]:
            for weight in (0.1, 1.0):
                rows[f"{w} {loss} weight {weight}"] = b | {
                    "hidden_layer_sizes": w,
                    "classification_weight": weight,
                }
    else:
        for w in WIDTHS:
            rows[f"{w} {loss} b64"] = b | {"hidden_layer_sizes": w}
        rows[f"(256,) {loss} b256"] = b | {
            "hidden_layer_sizes": (256,),
            "batch_size": 256,
        }
    return rows


def load_labelled(name, seed):
    """``(X_train, X_test, y_train, y_test, n_components)``: the labelled
    sets as bench_defaults scales them, split 70/30 stratified by ``seed``."""
    X, y, kind = sklearn_set(name)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y
    )
    X_train, X_test = scaled(X_train, X_test, kind)
    return X_train, X_test, y_train, y_test, code_size(name, X.shape[1])


def quick(params, args):
    """``params``, trained for 2 epochs in a smoke run."""
    return params | {"max_epochs": 2} if args.quick else params


def timed_fit(model, *fit_args):
    start = time.perf_counter()
    with warnings.catch_warnings():
        # constant codes on a seed: the scores say how it went
        warnings.simplefilter("ignore", UserWarning)
        model.fit(*fit_args)
    return time.perf_counter() - start


def resolved(model):
    return f"{model.hidden_layer_sizes_} {model.loss_}"


def run_denoising(name, seed, args):
    X_train, X_test, k, _ = load_set(name, seed, args)
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    X_noisy = gaussian_noise(X_test, TEST_NOISE, clip=(low, high), random_state=seed)
    pca = PCA(k, random_state=seed).fit(X_train)
    peers = {
        "PCA": mean_squared_error(
            pca.inverse_transform(pca.transform(X_noisy)), X_test
        ),
        "noisy input": mean_squared_error(X_noisy, X_test),
    }
    ae = AutoencoderTransformer(k, random_state=seed, **quick({}, args))
    timed_fit(ae, X_train)
    peers["AutoencoderTransformer"] = mean_squared_error(ae.predict(X_noisy), X_test)
    for setting, params in grid("denoising", X_train).items():
        model = DenoisingAutoencoder(k, random_state=seed, **quick(params, args))
        seconds = timed_fit(model, X_train)
        yield (
            setting,
            model,
            seconds,
            {"denoised MSE": mean_squared_error(model.predict(X_noisy), X_test)},
            peers,
        )


def run_supervised(name, seed, args):
    X_train, X_test, y_train, y_test, k = load_labelled(name, seed)
    pca = PCA(k, random_state=seed).fit(X_train)
    pca_mse = mean_squared_error(pca.inverse_transform(pca.transform(X_test)), X_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPClassifier's convergence warning
        peers = {
            "MLPClassifier": MLPClassifier(random_state=seed)
            .fit(X_train, y_train)
            .score(X_test, y_test),
            "LogisticRegression": LogisticRegression(max_iter=1000)
            .fit(X_train, y_train)
            .score(X_test, y_test),
        }
    for setting, params in grid("supervised", X_train).items():
        model = SupervisedAutoencoder(k, random_state=seed, **quick(params, args))
        seconds = timed_fit(model, X_train, y_train)
        recon = mean_squared_error(
            model.inverse_transform(model.transform(X_test)), X_test
        )
        yield (
            setting,
            model,
            seconds,
            {
                "accuracy": model.score(X_test, y_test),
                "reconstruction / PCA": recon / pca_mse,
            },
            peers,
        )


def run_variational(name, seed, args):
    X_train, X_test, k, _ = load_set(name, seed, args)
    pca = PCA(k, random_state=seed).fit(X_train)
    # a density's log-likelihood and a Bernoulli's cannot be compared
    peers = {"PCA": None if in_unit_range(X_train) else pca.score(X_test)}
    for setting, params in grid("variational", X_train).items():
        model = VariationalAutoencoder(k, random_state=seed, **quick(params, args))
        seconds = timed_fit(model, X_train)
        yield setting, model, seconds, {"ELBO": model.score(X_test)}, peers


# estimator -> (its runs, its measure, which value of it is better, the
# measure's format, and the defaults against the grid's best: column, format,
# comparison of two values)
ESTIMATORS = {
    "denoising": (
        run_denoising,
        "denoised MSE",
        min,
        ".4f",
        ("defaults / best", ".2f", lambda d, b: d / b),
    ),
    "supervised": (
        run_supervised,
        "accuracy",
        max,
        ".3f",
        ("defaults - best", "+.3f", lambda d, b: d - b),
    ),
    "variational": (
        run_variational,
        "ELBO",
        max,
        ".2f",
        ("defaults - best (nats)", "+.2f", lambda d, b: d - b),
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--estimators", nargs="+", default=list(ESTIMATORS), choices=list(ESTIMATORS)
    )
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS)
    parser.add_argument("--max-rows", type=int, default=3000)
    args = parse_args(parser)
    args.mnist_train = args.mnist_test = None  # load_set's, unused here
    sets = QUICK_SETS if args.quick else args.sets
    for estimator in args.estimators:
        run, measure, *_ = ESTIMATORS[estimator]
        runs = []
        for name in sets:
            if estimator == "supervised" and name not in LABELLED:
                continue
            for seed in args.seeds:
                for setting, model, seconds, scores, peers in run(name, seed, args):
                    runs.append(
                        {
                            "set": name,
                            "seed": seed,
                            "setting": setting,
                            "n_components": model.n_components,
                            "resolved": resolved(model),
                            "epochs": model.n_iter_,
                            "fit (s)": seconds,
                        }
                        | scores
                        | {f"peer {k}": v for k, v in peers.items()}
                    )
                    print({k: runs[-1][k] for k in ("set", "seed", "setting", measure)})
            write_tables(estimator, args, runs)


def write_tables(estimator, args, runs):
    """Two tables per estimator: every setting on every set, and one row per
    set with the defaults, the grid's best and the peers."""
    _, measure, better, spec, (against, against_spec, compare) = ESTIMATORS[estimator]
    grid_rows, rows = [], []
    by_set = {}
    for r in runs:
        by_set.setdefault(r["set"], {}).setdefault(r["setting"], []).append(r)
    for name, per in by_set.items():
        for setting, group in per.items():
            grid_rows.append(
                {"set": name, "setting": setting}
                | {
                    measure: median_spread([r[measure] for r in group], spec),
                    "epochs": median_spread([r["epochs"] for r in group], ".0f"),
                    "fit (s)": median_spread([r["fit (s)"] for r in group], ".1f"),
                }
            )
        defaults = per["defaults"]
        others = {s: g for s, g in per.items() if s != "defaults"}
        best = better(others, key=lambda s: np.median([r[measure] for r in others[s]]))
        seed_best = {r["seed"]: r[measure] for r in others[best]}
        row = {
            "set": name,
            "n_components": defaults[0]["n_components"],
            "defaults resolve to": defaults[0]["resolved"],
            f"defaults {measure}": median_spread([r[measure] for r in defaults], spec),
            "grid best": best,
            f"best {measure}": median_spread([r[measure] for r in others[best]], spec),
        }
        row[against] = median_spread(
            [compare(r[measure], seed_best[r["seed"]]) for r in defaults],
            against_spec,
        )
        for key in defaults[0]:
            if key.startswith("peer "):
                row[key[5:]] = median_spread([r[key] for r in defaults], spec)
        if "reconstruction / PCA" in defaults[0]:
            row["defaults reconstruction / PCA"] = median_spread(
                [r["reconstruction / PCA"] for r in defaults], ".2f"
            )
        row["defaults fit (s)"] = median_spread([r["fit (s)"] for r in defaults], ".1f")
        row["defaults epochs"] = median_spread([r["epochs"] for r in defaults], ".0f")
        rows.append(row)
    meta = {"estimator": estimator, "max_rows": args.max_rows, "test_noise": TEST_NOISE}
    name = f"defaults_{estimator}"
    write_seed_results(name + "_grid", args, grid_rows, runs, meta)
    write_seed_results(name, args, rows, runs, meta)


if __name__ == "__main__":
    main()
