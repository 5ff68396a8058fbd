"""
Dense autoencoder against PCA on MNIST
======================================

Hinton and Salakhutdinov (Science, 2006) showed that a deep autoencoder
reconstructs MNIST digits far better than PCA with the same number of
components: at 30 dimensions, a squared error of 3.00 per image against
PCA's 13.87. This example fits a dense
:class:`~skae.AutoencoderTransformer` (784-256-128-``n_components``, mirrored)
and :class:`~sklearn.decomposition.PCA` with bottlenecks of 64, 32 and 9
values, and compares their reconstructions of test digits that neither saw.

To run in a minute or two on two CPU cores, the autoencoders train on the
first 20000 training images for 30 epochs; the test error is measured on all
10000 test images. ``benchmarks/bench_reconstruction.py`` runs the same
comparison on the full training set (see the Benchmarks page).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer
from skae.datasets import fetch_mnist

# %%
# Load MNIST
# ----------
# :func:`skae.datasets.fetch_mnist` reads MNIST from skae's data home: the
# folder in the ``SKAE_DATA`` environment variable, else
# ``~/scikit_learn_data/skae`` (call ``fetch_mnist()`` once to download it
# there). Without MNIST, scikit-learn's 8x8 digits stand in so that the example
# still runs; the numbers in the text are MNIST's. Pixels are in [0, 1].
try:
    X_train, y_train = fetch_mnist(download_if_missing=False, return_X_y=True)
    X_test, y_test = fetch_mnist(
        subset="test", download_if_missing=False, return_X_y=True
    )
    side = 28
except FileNotFoundError:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    side = 8
print(f"{len(X_train)} training, {len(X_test)} test images of {side}x{side}")

# %%
# Fit the models
# --------------
# The pixels lie in [0, 1], so the autoencoder is trained with binary
# cross-entropy (``loss="bce"``); its decoder ends in a sigmoid. PCA needs no
# training loop and fits in a fraction of a second.
X_train, y_train = X_train[:20_000], y_train[:20_000]
sizes = [64, 32, 9]
models = {}
for n in sizes:
    start = time.perf_counter()
    models["autoencoder", n] = AutoencoderTransformer(
        n,
        hidden_layer_sizes=(256, 128),
        loss="bce",
        batch_size=128,
        max_epochs=30,
        random_state=0,
    ).fit(X_train)
    print(f"autoencoder, n_components={n}: {time.perf_counter() - start:.0f} s")
    models["PCA", n] = PCA(n, random_state=0).fit(X_train)

# %%
# Test error
# ----------
# Both models map a digit to ``n_components`` values with ``transform`` and
# back with ``inverse_transform``. The error is the mean squared difference
# per pixel between a test digit and its reconstruction; times 784, it is the
# squared error per image that Hinton and Salakhutdinov report.
reconstructions = {
    key: model.inverse_transform(model.transform(X_test))
    for key, model in models.items()
}
errors = {
    key: float(np.mean((reconstruction - X_test) ** 2))
    for key, reconstruction in reconstructions.items()
}
print("n_components  autoencoder (per image)  PCA (per image)  PCA / autoencoder")
for n in sizes:
    ae, pca = errors["autoencoder", n], errors["PCA", n]
    print(
        f"{n:12d}  {ae:.5f} ({784 * ae:5.2f})      "
        f"{pca:.5f} ({784 * pca:5.2f})  {pca / ae:.1f}"
    )

# %%
# The digits and their reconstructions
# ------------------------------------
# The first ten test digits, then each model's reconstruction of them, at
# each bottleneck size.
n_images = 10
rows = {"original": X_test}
for n in sizes:
    rows[f"autoencoder {n}"] = reconstructions["autoencoder", n]
    rows[f"PCA {n}"] = reconstructions["PCA", n]
fig, axes = plt.subplots(len(rows), n_images, figsize=(9.2, 6.2))
fig.subplots_adjust(
    left=0.14, right=0.99, bottom=0.01, top=0.93, wspace=0.05, hspace=0.05
)
for axes_row, (label, images) in zip(axes, rows.items(), strict=True):
    for ax, image in zip(axes_row, images[:n_images], strict=True):
        ax.imshow(image.reshape(side, side), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes_row[0].set_ylabel(label, rotation=0, ha="right", va="center")
fig.suptitle("Test digits reconstructed from n_components values")
plt.show()

# %%
# With 64 values, both models keep the shape of every digit, but PCA leaves a
# grey haze around the strokes. As the bottleneck narrows, PCA's
# reconstructions blur into overlapping strokes, while the autoencoder's stay
# sharp; at 9 values it still draws most digits right, and loses a few, such
# as the 5 in the ninth column.
#
# The test error at each size tells the same story in numbers:
fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
for name, marker in [("autoencoder", "o"), ("PCA", "s")]:
    ax.plot(sizes, [errors[name, n] for n in sizes], marker=marker, label=name)
ax.set_xscale("log")
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.minorticks_off()
ax.set_xlabel("n_components (bottleneck size)")
ax.set_ylabel("test MSE per pixel")
ax.set_ylim(bottom=0)
ax.legend()
ax.set_title(f"Reconstruction of {len(X_test)} test digits")
plt.show()

# %%
# PCA's error is 1.1 times the autoencoder's at 64 values, 1.8 times at 32
# and 2.1 times at 9: the narrower the bottleneck, the more the nonlinear
# encoder and decoder gain over the best linear projection. Per image, PCA's
# error at 32 values, 13.2, is close to the 13.87 of the paper at 30. The
# autoencoder's 7.4 is far from the paper's 3.00, which took a deeper network
# (784-1000-500-250-30), layer-wise pretraining and all 60000 training images;
# with all of them, ``benchmarks/bench_reconstruction.py`` reaches lower errors
# than this short run.
