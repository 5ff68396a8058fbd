"""skae.plotting: displays through Pipelines, channels-last images and
``from_predictions``, drawn with the Agg backend."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer

from skae import AutoencoderTransformer, VariationalAutoencoder
from skae.plotting import (
    LatentSpaceDisplay,
    LossCurveDisplay,
    ReconstructionDisplay,
)

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FAST = dict(hidden_layer_sizes=(16,), max_epochs=2, device="cpu", random_state=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:300] / 16


@pytest.fixture(scope="module")
def ae(X):
    """A dense autoencoder with a 3-D code."""
    return AutoencoderTransformer(n_components=3, **FAST).fit(X)


@pytest.fixture(scope="module")
def vae(X):
    """A variational autoencoder with a 2-D code."""
    return VariationalAutoencoder(n_components=2, **FAST).fit(X)


@pytest.fixture(scope="module")
def scaled(X):
    """A Pipeline whose every step inverts, on raw 0-16 pixels; its
    autoencoder knows the image shape."""
    ae = AutoencoderTransformer(n_components=2, image_shape=(8, 8), **FAST)
    ae.set_params(conv_channels=(4,))
    return make_pipeline(MinMaxScaler(), ae).fit(X * 16)


@pytest.fixture(scope="module")
def normalized(X):
    """A Pipeline with a step that does not invert (Normalizer)."""
    ae = AutoencoderTransformer(n_components=2, image_shape=(8, 8), **FAST)
    ae.set_params(conv_channels=(4,))
    return make_pipeline(Normalizer(), ae).fit(X * 16)


def ticklabels(ax, axis):
    return [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")()]


def tile(display, row, column, height=8, width=8, gap=1):
    """The image at (row, column) of a grey display's mosaic, 8x8 images
    1 pixel apart by default."""
    top, left = row * (height + gap), column * (width + gap)
    return display.image_.get_array()[top : top + height, left : left + width]


# ----------------------------------------------------------------------------
# Pipelines


def test_loss_curve_of_a_pipeline_reads_its_last_step(scaled):
    display = LossCurveDisplay.from_estimator(scaled)
    history = scaled[-1].history_
    assert_allclose(display.train_loss, [row["train_loss"] for row in history])
    assert display.ax_.get_title() == "AutoencoderTransformer"


def test_loss_curve_of_a_pipeline_without_history(X):
    pipeline = make_pipeline(MinMaxScaler(), PCA(n_components=2)).fit(X)
    with pytest.raises(TypeError, match="PCA has no history_ of per-epoch losses"):
        LossCurveDisplay.from_estimator(pipeline)


def test_reconstruction_through_an_invertible_pipeline(scaled, X):
    """In the Pipeline's input space, with the last step's image_shape."""
    X_raw = X * 16
    display = ReconstructionDisplay.from_estimator(scaled, X_raw, n_images=4)
    assert display.image_shape == (8, 8) and display.channels_last is False
    assert_array_equal(display.originals, X_raw[:4])
    expected = scaled.inverse_transform(scaled.transform(X_raw[:4]))
    assert_allclose(display.reconstructions, expected, rtol=1e-6)
    assert display.ax_.get_title() == "AutoencoderTransformer"
    assert display.image_.get_clim() == (X_raw[:4].min(), X_raw[:4].max())


def test_reconstruction_through_a_step_without_inverse(normalized, X):
    """The autoencoder's own input and reconstruction, X_input included."""
    X_raw = X * 16
    X_input = X_raw[::-1].copy()
    display = ReconstructionDisplay.from_estimator(
        normalized, X_raw, n_images=3, X_input=X_input
    )
    scaler, ae = normalized[0], normalized[-1]
    assert_allclose(display.originals, scaler.transform(X_raw[:3]))
    assert_allclose(display.inputs, scaler.transform(X_input[:3]))
    expected = ae.inverse_transform(ae.transform(scaler.transform(X_input[:3])))
    assert_allclose(display.reconstructions, expected, rtol=1e-6)
    assert ticklabels(display.ax_, "y") == ["input", "original", "reconstruction"]
    assert display.originals.max() <= 1  # the normalized rows, not raw pixels


def test_pipeline_image_shape_can_be_overridden(scaled, X):
    display = ReconstructionDisplay.from_estimator(
        scaled, X * 16, image_shape=(4, 16), n_images=2
    )
    assert display.image_.get_array().shape == (2 * 4 + 2, 2 * 16 + 2)  # gap: 2


# ----------------------------------------------------------------------------
# Channels-last images


@pytest.fixture(scope="module")
def rgb_rows():
    """Two 4x6 RGB images as rows, channels last and channels first."""
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 4, 6, 3))
    return images.reshape(2, -1), images.transpose(0, 3, 1, 2).reshape(2, -1)


def test_channels_last_rows_draw_as_their_channels_first_twins(rgb_rows):
    last, first = rgb_rows
    display_last = ReconstructionDisplay.from_predictions(
        last, last, image_shape=(4, 6, 3), channels_last=True
    )
    display_first = ReconstructionDisplay.from_predictions(
        first, first, image_shape=(3, 4, 6)
    )
    mosaic = display_last.image_.get_array()
    assert mosaic.shape == (2 * 4 + 1, 2 * 6 + 1, 4)
    assert_array_equal(mosaic, display_first.image_.get_array())
    low, high = last.min(), last.max()
    assert_allclose(mosaic[:4, 7:, :3], (last[1].reshape(4, 6, 3) - low) / (high - low))


def test_channels_last_from_the_estimator(rgb_rows):
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(40, 4 * 6 * 3))
    ae = AutoencoderTransformer(
        n_components=2, image_shape=(4, 6, 3), channels_last=True, **FAST
    ).set_params(conv_channels=(4,))
    ae.fit(X)
    display = ReconstructionDisplay.from_estimator(ae, X, n_images=2)
    assert display.image_shape == (4, 6, 3) and display.channels_last is True
    low, high = X[:2].min(), X[:2].max()
    expected = (X[0].reshape(4, 6, 3) - low) / (high - low)
    assert_allclose(display.image_.get_array()[:4, :6, :3], expected)


@pytest.mark.parametrize("channels_last", ["yes", 1, None])
def test_bad_channels_last(channels_last, rgb_rows):
    last, _ = rgb_rows
    with pytest.raises(ValueError, match="channels_last must be True or False"):
        ReconstructionDisplay.from_predictions(
            last, last, image_shape=(4, 6, 3), channels_last=channels_last
        )
    with pytest.raises(ValueError, match="channels_last must be True or False"):
        ReconstructionDisplay(
            originals=last,
            reconstructions=last,
            image_shape=(4, 6, 3),
            channels_last=channels_last,
        ).plot()


def test_channels_last_image_shape_message(rgb_rows):
    last, _ = rgb_rows
    with pytest.raises(ValueError, match=r"has 6 channels.*\(H, W, C\) order"):
        ReconstructionDisplay.from_predictions(
            last, last, image_shape=(3, 4, 6), channels_last=True
        )


# ----------------------------------------------------------------------------
# from_predictions


def test_reconstruction_from_predictions_equals_from_estimator(ae, X):
    by_estimator = ReconstructionDisplay.from_estimator(
        ae, X, image_shape=(8, 8), n_images=4
    )
    display = ReconstructionDisplay.from_predictions(
        X, ae.predict(X), image_shape=(8, 8), n_images=4
    )
    assert_array_equal(display.originals, by_estimator.originals)
    assert_allclose(display.reconstructions, by_estimator.reconstructions)
    assert_array_equal(display.image_.get_array(), by_estimator.image_.get_array())
    assert display.ax_.get_title() == ""  # no name, no title
    assert display.inputs is None


def test_reconstruction_from_predictions_of_other_types(X):
    pd = pytest.importorskip("pandas")
    display = ReconstructionDisplay.from_predictions(
        pd.DataFrame(X),
        sp.csr_matrix(X),
        inputs=X.tolist(),
        image_shape=(8, -1),
        n_images=3,
        name="three",
    )
    for images in (display.originals, display.reconstructions, display.inputs):
        assert_array_equal(images, X[:3])
    assert display.ax_.get_title() == "three"


@pytest.mark.parametrize(
    "params, match",
    [
        (
            {"reconstructions": np.zeros((20, 64))},
            r"same shape \(n_samples, n_features\), got shapes \(300, 64\), "
            r"\(20, 64\)",
        ),
        ({"inputs": np.zeros((300, 65))}, r"\(300, 64\), \(300, 65\)"),
        ({"n_images": 0}, "n_images must be a positive integer, got 0"),
        ({"image_shape": (7, 7)}, r"image_shape=\(7, 7\) does not fit"),
    ],
)
def test_reconstruction_from_predictions_errors(X, params, match):
    kwargs = {"reconstructions": X, "image_shape": (8, 8), **params}
    with pytest.raises(ValueError, match=match):
        ReconstructionDisplay.from_predictions(X, **kwargs)


def test_latent_space_from_predictions(ae, X):
    y = load_digits().target[:300]
    codes = ae.transform(X)
    display = LatentSpaceDisplay.from_predictions(codes, y, dims=(2, 1))
    assert_allclose(display.codes, codes[:, [2, 1]])
    assert display.dims == (2, 1)
    assert display.ax_.get_xlabel() == "code dimension 2"
    assert display.ax_.get_title() == ""
    assert len(display.legend_.get_texts()) == 10
    by_estimator = LatentSpaceDisplay.from_estimator(ae, X, y, dims=(2, 1))
    assert_allclose(by_estimator.codes, display.codes)
    assert by_estimator.ax_.get_title() == "AutoencoderTransformer"


def test_latent_space_from_predictions_errors():
    with pytest.raises(ValueError, match=r"codes must be a 2-D array .* got shape"):
        LatentSpaceDisplay.from_predictions(np.zeros(5))
    with pytest.raises(ValueError, match="3 dimensions, and LatentSpaceDisplay needs"):
        LatentSpaceDisplay.from_predictions(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="dims must be two different code dim"):
        LatentSpaceDisplay.from_predictions(np.zeros((5, 3)), dims=(True, 2))


# ----------------------------------------------------------------------------
# Shared behaviour


@pytest.mark.parametrize(
    "call",
    [
        lambda vae, X: ReconstructionDisplay.from_predictions(X, X, image_shape=(8, 8)),
        lambda vae, X: LatentSpaceDisplay.from_predictions(vae.transform(X)),
    ],
    ids=["Reconstruction", "LatentSpace"],
)
def test_missing_matplotlib(call, vae, X, monkeypatch):
    drawn = call(vae, X)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    name = type(drawn).__name__
    message = f"{name}.(from_estimator|from_predictions) requires matplotlib"
    with pytest.raises(ImportError, match=message + ".*pip install matplotlib"):
        call(vae, X)
    with pytest.raises(ImportError, match=f"{name}.plot requires matplotlib"):
        drawn.plot()
