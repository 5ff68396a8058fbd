"""2-D codes of MNIST digits: how well a 5-nearest-neighbour classifier
separates the test digits in the code space of a SupervisedAutoencoder, of the
same network trained without labels, of one trained with 10% of the labels,
and of PCA.

Train on the 60000 training images (pixels / 255), encode the 10000 test
images to 2-D, fit a 5-NN classifier on the training codes and score it on the
test codes. The network is the tutorial's 784-500-300-100-2 with tanh, a
64-128-10 head and binary cross-entropy, trained with the estimator's defaults
otherwise.

    python benchmarks/bench_supervised.py            # full
    python benchmarks/bench_supervised.py --quick    # smoke run, seconds
"""

import argparse
import time

import numpy as np
from _common import load_mnist, machine, write_results
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from skae import AutoencoderTransformer, SupervisedAutoencoder


def knn_accuracy(Z_train, y_train, Z_test, y_test):
    return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--classification-weight", type=float, default=None)
    args = parser.parse_args()

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
        random_state=0,
    )
    weight = {}
    if args.classification_weight is not None:
        weight = {"classification_weight": args.classification_weight}
    y_tenth = y_train.copy()
    y_tenth[np.random.default_rng(0).random(n_train) >= 0.1] = -1

    models = [
        (
            "SupervisedAutoencoder, all labels",
            SupervisedAutoencoder(
                classifier_layer_sizes=(64, 128), **network, **weight
            ),
            y_train,
        ),
        (
            "SupervisedAutoencoder, 10% of labels",
            SupervisedAutoencoder(
                classifier_layer_sizes=(64, 128), **network, **weight
            ),
            y_tenth,
        ),
        ("AutoencoderTransformer (no labels)", AutoencoderTransformer(**network), None),
        ("PCA", PCA(2, random_state=0), None),
    ]
    rows = []
    for name, model, y in models:
        start = time.perf_counter()
        model.fit(X_train, y)
        seconds = time.perf_counter() - start
        accuracy = knn_accuracy(
            model.transform(X_train), y_train, model.transform(X_test), y_test
        )
        rows.append(
            {
                "codes": name,
                "5-NN test accuracy": f"{accuracy:.3f}",
                "epochs": getattr(model, "n_iter_", ""),
                "fit (s)": f"{seconds:.0f}",
            }
        )
        print(rows[-1], flush=True)
    meta = machine() | {
        "train": n_train,
        "test": n_test,
        "network": "784-500-300-100-2 tanh, head 64-128-10, bce",
        "classification_weight": weight.get("classification_weight", "default"),
    }
    write_results(
        "supervised" + ("_quick" if args.quick else ""), rows, list(rows[0]), meta
    )


if __name__ == "__main__":
    main()
