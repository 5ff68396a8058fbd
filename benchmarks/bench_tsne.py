"""Autoencoder codes then t-SNE, against t-SNE on raw pixels.

5000 MNIST test digits (pixels / 255) mapped to 2-D by scikit-learn's TSNE
(default settings, random_state 0): once from the raw 784 pixels, once from
the 20-dimensional codes of an AutoencoderTransformer (784-256-128-20,
binary cross-entropy, batches of 128, 30 epochs) fitted on the 60000
training images. Scored by ``sklearn.manifold.trustworthiness`` of each map
against the raw pixels (5 neighbours; 1 is perfect), and by the 5-NN
accuracy of the digit labels within each map (5-fold cross-validation), with
the time of every step.

    python benchmarks/bench_tsne.py            # full
    python benchmarks/bench_tsne.py --quick    # smoke run, seconds
"""

import argparse
import time

from _common import load_mnist, machine, write_results
from sklearn.manifold import TSNE, trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from skae import AutoencoderTransformer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    args = parser.parse_args()
    n_train, n_map, epochs = (2000, 300, 1) if args.quick else (None, 5000, 30)
    X_train, _ = load_mnist("train", n_train)
    X, y = load_mnist("test", n_map)

    start = time.perf_counter()
    autoencoder = AutoencoderTransformer(
        20,
        hidden_layer_sizes=(256, 128),
        loss="bce",
        batch_size=128,
        max_epochs=epochs,
        random_state=0,
    ).fit(X_train)
    fit_seconds = time.perf_counter() - start

    rows = []
    for name, encode in [
        ("t-SNE on raw pixels (784)", lambda: X),
        ("AutoencoderTransformer (20) then t-SNE", lambda: autoencoder.transform(X)),
    ]:
        start = time.perf_counter()
        features = encode()
        encode_seconds = time.perf_counter() - start
        start = time.perf_counter()
        embedding = TSNE(random_state=0).fit_transform(features)
        tsne_seconds = time.perf_counter() - start
        knn = cross_val_score(KNeighborsClassifier(5), embedding, y, cv=5).mean()
        trust = trustworthiness(X, embedding, n_neighbors=5)
        rows.append(
            {
                "map": name,
                "trustworthiness": f"{trust:.4f}",
                "5-NN accuracy in the map": f"{knn:.3f}",
                "encode (s)": f"{encode_seconds:.2f}",
                "t-SNE (s)": f"{tsne_seconds:.1f}",
            }
        )
        print(rows[-1], flush=True)
    meta = machine() | {
        "digits mapped": len(X),
        "autoencoder fit (s)": f"{fit_seconds:.0f} on {len(X_train)} images",
    }
    write_results("tsne" + ("_quick" if args.quick else ""), rows, list(rows[0]), meta)


if __name__ == "__main__":
    main()
