"""
The code of a digit, shown as an image
======================================

An autoencoder with a bottleneck of 64 values describes each 784-pixel MNIST
digit by 64 numbers, its code. Reshaped to 8x8, a code can be drawn as a
small image, as the Keras autoencoder tutorial does with its encoded digits.
This example draws the codes of test digits next to the digits and to their
reconstructions from the codes, and checks what the codes keep: how well a
nearest-neighbour classifier recognises the digits from the 64 values alone.

To run in about half a minute on two CPU cores, the
:class:`~skae.AutoencoderTransformer` (784-256-128-64, mirrored) trains on
the first 20000 training images for 30 epochs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

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
# Fit the autoencoder
# -------------------
X_train, y_train = X_train[:20_000], y_train[:20_000]
autoencoder = AutoencoderTransformer(
    64,
    hidden_layer_sizes=(256, 128),
    loss="bce",
    batch_size=128,
    max_epochs=30,
    random_state=0,
).fit(X_train)

# %%
# What the codes keep
# -------------------
# Before drawing codes, a check of what they hold: a 5-nearest-neighbour
# classifier fitted on the training images recognises the 10000 test digits
# from their 64-value codes, and, for comparison, from their 784 pixels. The
# codes do a little better than the pixels (0.965 against 0.955): the
# autoencoder has kept what tells the digits apart.
codes_train = autoencoder.transform(X_train)
codes_test = autoencoder.transform(X_test)
for name, train, test in [
    ("784 pixels", X_train, X_test),
    ("64-value codes", codes_train, codes_test),
]:
    knn = KNeighborsClassifier(5).fit(train, y_train)
    print(f"5-NN test accuracy on the {name}: {knn.score(test, y_test):.3f}")

# %%
# Codes as images
# ---------------
# ``transform`` gives the 64-value code of each digit; ``inverse_transform``
# decodes it back to 784 pixels. The codes are the outputs of a linear layer,
# so they take both signs: they are drawn in red (positive) and blue
# (negative), all on one scale, which ends at the 99th percentile of the
# absolute values of all test codes (the few larger values are drawn in the
# darkest colours).
first_of_each = [np.flatnonzero(y_test == digit)[0] for digit in range(10)]
digits = X_test[first_of_each]
codes = autoencoder.transform(digits)
reconstructions = autoencoder.inverse_transform(codes)
code_side = int(np.sqrt(codes.shape[1]))
limit = np.percentile(np.abs(codes_test), 99)

fig, axes = plt.subplots(3, 10, figsize=(9.2, 3.0))
fig.subplots_adjust(left=0.11, right=0.9, bottom=0.02, top=0.88, wspace=0.1, hspace=0.1)
for column in range(10):
    axes[0, column].imshow(
        digits[column].reshape(side, side), cmap="gray", vmin=0, vmax=1
    )
    code_image = axes[1, column].imshow(
        codes[column].reshape(code_side, code_side),
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
    )
    axes[2, column].imshow(
        reconstructions[column].reshape(side, side), cmap="gray", vmin=0, vmax=1
    )
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
for ax, label in zip(
    axes[:, 0], ["digit", "its code\n(8x8)", "decoded\ncode"], strict=True
):
    ax.set_ylabel(label, rotation=0, ha="right", va="center")
# The colour bar of the codes, beside their row.
row = axes[1, -1].get_position()
colorbar_ax = fig.add_axes([row.x1 + 0.015, row.y0, 0.012, row.height])
fig.colorbar(code_image, cax=colorbar_ax, label="code value", extend="both")
fig.suptitle("Test digits, their 64-value codes, and the digits decoded from them")
plt.show()

# %%
# The 8x8 layout is only a way to draw 64 numbers: neighbouring cells are
# not related the way neighbouring pixels are, and no code looks like its
# digit. Yet the decoder turns each code back into a recognisable digit,
# blurred here and there (the 3 and the 8).
