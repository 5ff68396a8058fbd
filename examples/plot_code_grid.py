"""
The code space of a variational autoencoder
===========================================

A :class:`~skae.VariationalAutoencoder` generates images from codes, so its
code space can be looked at directly: decode a grid of codes and see what
each region means. This example draws the two figures of the variational
autoencoder tutorials (Kingma and Welling's, Keras', PyTorch's) with
:mod:`skae.plotting`: the decoded manifold of a 2-D code
(:class:`~skae.plotting.CodeGridDisplay`), and traversals of a wider code,
one dimension at a time (:class:`~skae.plotting.TraversalDisplay`).

To run in about a minute on two CPU cores, both models train on the first
10000 MNIST training images for 15 epochs.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import VariationalAutoencoder
from skae.datasets import fetch_mnist
from skae.plotting import CodeGridDisplay, LatentSpaceDisplay, TraversalDisplay

# sphinx_gallery_thumbnail_number = 2

# %%
# Load MNIST
# ----------
# :func:`skae.datasets.fetch_mnist` reads MNIST from skae's data home (see
# :ref:`sphx_glr_auto_examples_plot_conv_and_vae.py`). Without MNIST,
# scikit-learn's 8x8 digits stand in so that the example still runs. Pixels
# are in [0, 1].
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
X_train = X_train[:10_000]


def fit_vae(n_components):
    return VariationalAutoencoder(
        n_components,
        hidden_layer_sizes=(256, 128),
        loss="bce",
        batch_size=128,
        max_epochs=15,
        random_state=0,
    ).fit(X_train)


# %%
# A two-dimensional code
# ----------------------
# With a 2-D code, :class:`~skae.plotting.LatentSpaceDisplay` shows where the
# test digits of each class land.
vae2 = fit_vae(2)
LatentSpaceDisplay.from_estimator(
    vae2, X_test[:3000], y_test[:3000], name="Codes of 3000 test digits"
)
plt.show()

# %%
# :class:`~skae.plotting.CodeGridDisplay` decodes a 15 x 15 grid of codes.
# Without data, the grid is placed on the model's standard normal prior: its
# values are the prior's quantiles at evenly spaced probabilities, from the
# 5th to the 95th percentile (``scipy.stats.norm.ppf``, as in the tutorials),
# so that each image stands for an equal share of the prior.
CodeGridDisplay.from_estimator(
    vae2, image_shape=(side, side), name="Decoded grid over the prior"
)
plt.show()

# %%
# Each class of the scatter plot above has its region of the grid, and the
# images change smoothly from one class to the next: between two regions lie
# images halfway between two digits, which is what
# :meth:`~skae.VariationalAutoencoder.sample` draws when its code falls
# there. Passing data, ``CodeGridDisplay.from_estimator(vae2, X_test)``, spans
# the grid over the 5th to 95th percentiles of the data's codes instead
# (``percentiles=``), and ``code_range=(low, high)`` sets it outright.
#
# A wider code, one dimension at a time
# -------------------------------------
# A grid shows two dimensions only. :class:`~skae.plotting.TraversalDisplay`
# varies each dimension of an 8-D code in turn, from -3 to 3, while the others
# stay at 0, the prior's mean, and draws one row of decoded images per
# dimension.
vae8 = fit_vae(8)
TraversalDisplay.from_estimator(
    vae8, image_shape=(side, side), code_range=(-3, 3), name="Traversals from 0"
)
plt.show()

# %%
# Each dimension turns the average digit in the middle column into other
# digits, or changes its slant or stroke, at either end. A row whose images do
# not change would be a collapsed dimension, unused by the model (see the
# user guide's variational page).
#
# Traversals of one digit
# -----------------------
# With data, the traversal starts from the code of one of its rows
# (``base_row``), and each dimension spans the 5th to 95th percentiles of the
# data's codes in it; as those ranges differ, each image has its value under
# it.
TraversalDisplay.from_estimator(
    vae8,
    X_test,
    dims=[0, 1, 2],
    base_row=0,
    image_shape=(side, side),
    name=f"Traversals from the first test digit (a {y_test[0]})",
)
plt.show()

# %%
# Around a real digit, moving one dimension first changes the style of the same
# digit (its width, its slant, its stroke) and only further out turns it into
# another digit: the prior's middle is where the classes meet, while a digit's
# own code lies inside its class's region.
