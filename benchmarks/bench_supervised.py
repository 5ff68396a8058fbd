"""2-D codes of MNIST digits: how well a 5-nearest-neighbour classifier
separates the test digits in the code space of a SupervisedAutoencoder, of the
same network trained without labels, of one trained with 10% of the labels,
and of PCA.

Train on the 60000 training images (pixels / 255), encode the 10000 test
images to 2-D, fit a 5-NN classifier on the training codes and score it on the
test codes. The network is the tutorial's 784-500-300-100-2 with tanh, a
64-128-10 head and binary cross-entropy, trained for 15 epochs
(``--max-epochs``) with the estimator's defaults otherwise. Every network is
trained once per seed (``--seeds``, 0 1 2 by default; the seed also draws
which tenth of the labels the 10% run keeps) on one torch thread
(``--threads``); the table gives the median over seeds and the range of the
accuracy and of the fit time. A SupervisedAutoencoder at its defaults
(784-128-64-2 with ReLU, mean squared error, a 64-unit head, batches of 64,
up to 200 epochs until the training loss stops improving) shows what the
tutorial's settings gain. The epochs were 30 with one seed: three seeds
of 15 epochs took 20 minutes on one thread of a 2-core machine, so 30 would
take about 40.

    python benchmarks/bench_supervised.py            # full
    python benchmarks/bench_supervised.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import load_mnist, parse_args, summarise, write_seed_results
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from skae import AutoencoderTransformer, SupervisedAutoencoder


def knn_accuracy(Z_train, y_train, Z_test, y_test):
    return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)


def models(network, weight, y_train, seed, defaults_epochs):
    """(name, unfitted model, training labels) for one seed."""
    network = network | {"random_state": seed}
    y_tenth = y_train.copy()
    y_tenth[np.random.default_rng(seed).random(len(y_train)) >= 0.1] = -1
    head = dict(classifier_layer_sizes=(64, 128))
    return [
        (
            "SupervisedAutoencoder, all labels",
            SupervisedAutoencoder(**head, **network, **weight),
            y_train,
        ),
        (
            "SupervisedAutoencoder, 10% of labels",
            SupervisedAutoencoder(**head, **network, **weight),
            y_tenth,
        ),
        ("AutoencoderTransformer (no labels)", AutoencoderTransformer(**network), None),
        (
            "SupervisedAutoencoder at its defaults, all labels",
            SupervisedAutoencoder(2, max_epochs=defaults_epochs, random_state=seed),
            y_train,
        ),
        ("PCA", PCA(2, random_state=seed), None),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--classification-weight", type=float, default=None)
    args = parse_args(parser)

    n_train, n_test, epochs = (
        (2000, 500, 2) if args.quick else (60000, 10000, args.max_epochs)
    )
    X_train, y_train = load_mnist("train", n_train)
    X_test, y_test = load_mnist("test", n_test)
    network = dict(
        n_components=2,
        hidden_layer_sizes=(500, 300, 100),
        activation="tanh",
        loss="bce",
        max_epochs=epochs,
    )
    weight = {}
    if args.classification_weight is not None:
        weight = {"classification_weight": args.classification_weight}

    runs = []
    for seed in args.seeds:
        for name, model, y in models(
            network, weight, y_train, seed, 2 if args.quick else 200
        ):
            start = time.perf_counter()
            model.fit(X_train, y)
            seconds = time.perf_counter() - start
            accuracy = knn_accuracy(
                model.transform(X_train), y_train, model.transform(X_test), y_test
            )
            runs.append(
                {
                    "seed": seed,
                    "codes": name,
                    "5-NN test accuracy": accuracy,
                    "epochs": getattr(model, "n_iter_", None),
                    "fit (s)": seconds,
                }
            )
            print(runs[-1], flush=True)
    rows = summarise(
        runs,
        ["codes"],
        {"5-NN test accuracy": ".3f", "epochs": ".0f", "fit (s)": ".0f"},
    )
    meta = {
        "train": n_train,
        "test": n_test,
        "network": "784-500-300-100-2 tanh, head 64-128-10, bce",
        "classification_weight": weight.get("classification_weight", "default"),
    }
    write_seed_results("supervised", args, rows, runs, meta)


if __name__ == "__main__":
    main()
