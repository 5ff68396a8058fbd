"""
Convolutional and variational autoencoders on MNIST
===================================================

Two architectures from the autoencoder tutorials, on MNIST digits. A
convolutional :class:`~skae.AutoencoderTransformer` reads each row of 784
pixels as a 28x28 image (``image_shape=(1, 28, 28)``) and encodes it with
convolutions, which share their weights across the image. A
:class:`~skae.VariationalAutoencoder` learns a code spread as a standard
normal distribution, so that decoding fresh standard normal codes
(:meth:`~skae.VariationalAutoencoder.sample`) generates new digits.

To run in under a minute on two CPU cores, both train on the first 20000
training images, the convolutional network for 8 epochs and the variational
one for 30. ``benchmarks/bench_conv.py`` and
``benchmarks/bench_variational.py`` train on all 60000 (see the Benchmarks
page).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, VariationalAutoencoder
from skae.datasets import fetch_mnist
from skae.plotting import LatentSpaceDisplay, ReconstructionDisplay

# sphinx_gallery_thumbnail_number = 3

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
X_train = X_train[:20_000]

# %%
# A convolutional autoencoder
# ---------------------------
# Two convolutional layers of 32 and 64 channels, each halving the image, then
# a code of 32 values; the decoder mirrors them with transposed convolutions.
# ``hidden_layer_sizes=()`` puts no dense layer between the convolutions and
# the code.
start = time.perf_counter()
conv = AutoencoderTransformer(
    32,
    image_shape=(1, side, side),
    conv_channels=(32, 64),
    hidden_layer_sizes=(),
    loss="bce",
    batch_size=128,
    max_epochs=8,
    random_state=0,
).fit(X_train)
print(f"fitted in {time.perf_counter() - start:.0f} s")
mse = np.mean((conv.predict(X_test) - X_test) ** 2)
print(f"test MSE per pixel: {mse:.5f}")

# %%
# :class:`~skae.plotting.ReconstructionDisplay` reads the image shape from the
# estimator and draws test digits above their reconstructions.
ReconstructionDisplay.from_estimator(
    conv,
    X_test,
    n_images=10,
    name=f"Convolutional autoencoder, 32 values: test MSE {mse:.4f} per pixel",
)
plt.show()

# %%
# The reconstructions are close to the originals: the shape and thickness of
# every stroke are kept, only their edges are softer. For comparison, the
# dense autoencoder of :ref:`sphx_glr_auto_examples_plot_dense_mnist.py`,
# with a code of 32 values and the same 20000 training images, reaches a test
# MSE of 0.0094 after 30 epochs. ``benchmarks/bench_conv.py`` compares the two
# at equal training time on all 60000 images.
#
# A variational autoencoder
# -------------------------
# The encoder (784-256-128) gives the mean and the variance of a Gaussian
# posterior over a 2-D code; ``loss="bce"`` makes each pixel a Bernoulli
# variable, as in the VAE literature. Its training loss is the negative
# evidence lower bound (ELBO), which ``score`` reports, in nats per image.
start = time.perf_counter()
vae = VariationalAutoencoder(
    2,
    hidden_layer_sizes=(256, 128),
    loss="bce",
    batch_size=128,
    max_epochs=30,
    random_state=0,
).fit(X_train)
print(f"fitted in {time.perf_counter() - start:.0f} s")
print(f"mean test ELBO: {vae.score(X_test):.1f} nats per image")

# %%
# The KL term of the ELBO pulls the codes of the data towards a standard
# normal distribution. :class:`~skae.plotting.LatentSpaceDisplay` shows the
# codes (posterior means) of test digits, coloured by their label.
codes = vae.transform(X_test)
print("code means:", codes.mean(axis=0).round(2), "std:", codes.std(axis=0).round(2))
LatentSpaceDisplay.from_estimator(
    vae, X_test[:3000], y_test[:3000], name="VAE codes of 3000 test digits"
)
plt.show()

# %%
# The codes centre near 0 with a standard deviation near 1 in each dimension,
# as the prior has it, and each digit class takes its own part of the plane;
# some, such as the 4s and the 9s, overlap.

# %%
# Generated digits
# ----------------
# :meth:`~skae.VariationalAutoencoder.sample` draws codes from the standard
# normal distribution and decodes them into new digits. Each image is the
# decoder's mean for its code, so it looks smooth rather than sampled pixel
# by pixel.
n_side = 8
samples = vae.sample(n_side * n_side, random_state=0).reshape(
    n_side, n_side, side, side
)
fig, ax = plt.subplots(figsize=(5.5, 5.8), layout="constrained")
ax.imshow(np.block([[image for image in row] for row in samples]), cmap="gray")
ax.set_xticks([])
ax.set_yticks([])
ax.set_title(f"{n_side * n_side} digits drawn with VariationalAutoencoder.sample")
plt.show()

# %%
# Most generated digits are recognisable; a few are ambiguous, halfway
# between two classes, like the codes where two classes meet in the plot
# above. The Benchmarks page shows samples of VAEs with 2-D and 16-D codes,
# trained on all 60000 images.
