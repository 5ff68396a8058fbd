"""skae.plotting: displays through Pipelines, channels-last images,
``from_predictions``, and the displays of decoded codes (CodeGridDisplay and
TraversalDisplay), drawn with the Agg backend."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import FAST
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import norm
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer

from skae import AutoencoderTransformer, VariationalAutoencoder
from skae.plotting import (
    CodeGridDisplay,
    LatentSpaceDisplay,
    LossCurveDisplay,
    ReconstructionDisplay,
    TraversalDisplay,
)

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The standard normal's 5th to 95th percentiles, 15 of them.
PRIOR_15 = norm.ppf(np.linspace(0.05, 0.95, 15))


pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:300]


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


def test_latent_space_of_a_pipeline_encodes_through_its_steps(scaled, X, digits):
    display = LatentSpaceDisplay.from_estimator(scaled, X * 16, digits[1][:300])
    expected = scaled[-1].transform(scaled[0].transform(X * 16))
    assert_allclose(display.codes, expected, rtol=1e-6)
    assert display.ax_.get_title() == "AutoencoderTransformer"


def test_traversal_decodes_through_an_invertible_pipeline(scaled, X):
    display = TraversalDisplay.from_estimator(scaled, X * 16, base_row=0, n_steps=3)
    assert display.image_shape == (8, 8)
    code = scaled.transform(X[:1] * 16)[0]
    code[1] = display.values[1, 2]
    expected = scaled.inverse_transform([code])[0]
    assert_allclose(display.images[1, 2], expected, rtol=1e-5, atol=1e-5)
    # in the raw pixels' units, not the scaled ones of the autoencoder
    assert display.images.max() > 2
    assert display.ax_.get_title() == "AutoencoderTransformer"


def test_traversal_decodes_with_the_last_step_after_a_step_without_inverse(
    normalized, X
):
    display = TraversalDisplay.from_estimator(normalized, X * 16, dims=0, n_steps=3)
    code = np.median(normalized.transform(X * 16), axis=0)
    code[0] = display.values[0, 1]
    expected = normalized[-1].inverse_transform([code])[0]
    assert_allclose(display.images[0, 1], expected, rtol=1e-5, atol=1e-6)


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


def test_latent_space_from_predictions(ae, X, digits):
    y = digits[1][:300]
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
# CodeGridDisplay


def test_code_grid_on_the_prior(vae):
    display = CodeGridDisplay.from_estimator(vae, image_shape=(8, 8))
    assert_allclose(display.x_values, PRIOR_15)
    assert_allclose(display.y_values, PRIOR_15)
    assert display.images.shape == (15, 15, 64)
    assert display.dims == (0, 1)
    # images[i, j] decodes (x_values[j], y_values[i])
    codes = np.array([[PRIOR_15[4], PRIOR_15[11]]])
    assert_allclose(display.images[11, 4], vae.inverse_transform(codes)[0], rtol=1e-6)
    # y_values[0] at the bottom, x_values[0] on the left
    assert display.image_.get_array().shape == (15 * 9 - 1, 15 * 9 - 1)
    assert_allclose(tile(display, 14, 0), display.images[0, 0].reshape(8, 8))
    assert_allclose(tile(display, 0, 14), display.images[14, 14].reshape(8, 8))
    labels = ticklabels(display.ax_, "x")
    assert labels[0] == "-1.64" and labels[-1] == "1.64"
    assert ticklabels(display.ax_, "y") == labels
    assert display.ax_.get_xlabel() == "code dimension 0"
    assert display.ax_.get_ylabel() == "code dimension 1"
    assert display.ax_.get_title() == "VariationalAutoencoder"
    # every image on the decoded images' grey scale
    assert_allclose(
        display.image_.get_clim(), (display.images.min(), display.images.max())
    )


def test_code_grid_on_the_codes_of_X(ae, X):
    codes = ae.transform(X)
    display = CodeGridDisplay.from_estimator(
        ae,
        X,
        dims=(2, 0),
        grid_resolution=4,
        percentiles=(10, 90),
        image_shape=(8, 8),
        name="ae",
    )
    low, high = np.percentile(codes, [10, 90], axis=0)
    assert_allclose(display.x_values, np.linspace(low[2], high[2], 4))
    assert_allclose(display.y_values, np.linspace(low[0], high[0], 4))
    # dimension 1 keeps the median code of X
    code = [display.y_values[3], np.median(codes[:, 1]), display.x_values[1]]
    assert_allclose(display.images[3, 1], ae.inverse_transform([code])[0], rtol=1e-5)
    assert display.ax_.get_xlabel() == "code dimension 2"
    assert display.ax_.get_ylabel() == "code dimension 0"
    assert display.ax_.get_title() == "ae"
    assert len(ticklabels(display.ax_, "x")) == 4


@pytest.mark.parametrize(
    "code_range, x, y",
    [((-2, 3), (-2, 3), (-2, 3)), ([[0, 1], [5, 6]], (0, 1), (5, 6))],
    ids=["one pair", "a pair per dimension"],
)
def test_code_grid_code_range(vae, X, code_range, x, y):
    for data in (None, X):  # code_range wins over X's percentiles
        display = CodeGridDisplay.from_estimator(
            vae, data, code_range=code_range, grid_resolution=3, image_shape=(8, 8)
        )
        assert_allclose(display.x_values, np.linspace(*x, 3))
        assert_allclose(display.y_values, np.linspace(*y, 3))


def test_code_grid_of_an_autoencoder_without_X_needs_a_code_range(ae):
    with pytest.raises(ValueError, match="X is required to place the codes of Auto"):
        CodeGridDisplay.from_estimator(ae, dims=(0, 1))
    display = CodeGridDisplay.from_estimator(
        ae, dims=(0, 1), code_range=(0, 1), grid_resolution=2, image_shape=(8, 8)
    )
    # the other dimension at 0
    assert_allclose(
        display.images[1, 0], ae.inverse_transform([[0, 1, 0]])[0], rtol=1e-6
    )


def test_code_grid_decodes_through_an_invertible_pipeline(scaled, X):
    display = CodeGridDisplay.from_estimator(scaled, X * 16, grid_resolution=3)
    assert display.image_shape == (8, 8)
    code = [[display.x_values[2], display.y_values[1]]]
    assert_allclose(display.images[1, 2], scaled.inverse_transform(code)[0], rtol=1e-5)
    # in the raw pixels' units, not the scaled ones of the autoencoder
    assert not np.allclose(display.images[1, 2], scaled[-1].inverse_transform(code))


def test_code_grid_decodes_with_the_last_step_after_a_step_without_inverse(
    normalized, X
):
    display = CodeGridDisplay.from_estimator(normalized, X * 16, grid_resolution=3)
    codes = normalized.transform(X * 16)
    low, high = np.percentile(codes, [5, 95], axis=0)
    assert_allclose(display.x_values, np.linspace(low[0], high[0], 3))
    code = [[display.x_values[0], display.y_values[2]]]
    expected = normalized[-1].inverse_transform(code)[0]
    assert_allclose(display.images[2, 0], expected, rtol=1e-5)


def test_code_grid_on_given_axes(vae):
    figure, ax = plt.subplots()
    display = CodeGridDisplay.from_estimator(vae, image_shape=(8, 8), ax=ax)
    assert display.ax_ is ax and display.figure_ is figure


def test_code_grid_rgb_channels_last():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 3, 4 * 5 * 3))
    display = CodeGridDisplay(
        images=images,
        x_values=[0, 1, 2],
        y_values=[0, 1],
        image_shape=(4, 5, 3),
        channels_last=True,
    ).plot()
    mosaic = display.image_.get_array()
    assert mosaic.shape == (2 * 4 + 1, 3 * 5 + 2, 4)
    low, high = images.min(), images.max()
    expected = (images[1, 0].reshape(4, 5, 3) - low) / (high - low)
    assert_allclose(mosaic[:4, :5, :3], expected)  # the last row on top
    assert ticklabels(display.ax_, "y") == ["0", "1"]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"grid_resolution": 1}, "grid_resolution must be an integer >= 2, got 1"),
        ({"grid_resolution": 4.0}, "grid_resolution must be an integer >= 2"),
        ({"grid_resolution": True}, "grid_resolution must be an integer >= 2"),
        ({"percentiles": (95, 5)}, r"percentiles must be \(low, high\) with 0 <="),
        ({"percentiles": (5, 101)}, r"percentiles must be \(low, high\)"),
        ({"percentiles": (5,)}, r"percentiles must be \(low, high\)"),
        ({"percentiles": "5-95"}, r"percentiles must be \(low, high\)"),
        ({"percentiles": (0, 95)}, "strictly between 0 and 100 to place codes on"),
        ({"code_range": (1, 1)}, r"code_range must be \(low, high\), finite with"),
        ({"code_range": (0, np.inf)}, "code_range must be"),
        ({"code_range": [[0, 1]] * 3}, r"one such pair per code dimension drawn \(2\)"),
        ({"code_range": "wide"}, "code_range must be"),
        ({"dims": (0, 0)}, "dims must be two different code dimensions"),
        ({"dims": (0, 2)}, r"integers in \[0, 2\)"),
        ({"channels_last": "no"}, "channels_last must be True or False"),
        ({"image_shape": (7, 7)}, r"image_shape=\(7, 7\) does not fit"),
    ],
)
def test_bad_code_grid_parameters(vae, params, match):
    with pytest.raises(ValueError, match=match):
        CodeGridDisplay.from_estimator(vae, **{"image_shape": (8, 8), **params})


def test_code_grid_needs_two_dims_of_a_wider_code(ae, X):
    with pytest.raises(ValueError, match="3 dimensions, and CodeGridDisplay needs 2"):
        CodeGridDisplay.from_estimator(ae, X, image_shape=(8, 8))


def test_code_grid_of_codes_that_do_not_vary(ae, X):
    with pytest.raises(ValueError, match="do not vary in code dimension 0 between"):
        CodeGridDisplay.from_estimator(ae, X[[0] * 5], dims=(0, 1))


@pytest.mark.parametrize("display", [CodeGridDisplay, TraversalDisplay])
def test_estimator_that_cannot_decode(display, X):
    kmeans = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    with pytest.raises(TypeError, match="KMeans cannot decode codes: it needs"):
        display.from_estimator(kmeans, X)


def test_code_grid_constructor_errors():
    images = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"x_values and y_values must have shapes"):
        CodeGridDisplay(
            images=images, x_values=[0, 1], y_values=[0, 1], image_shape=(2, 2)
        ).plot()
    with pytest.raises(ValueError, match=r"images must be a non-empty array of shape"):
        CodeGridDisplay(
            images=np.zeros((3, 4)), x_values=[0], y_values=[0], image_shape=(2, 2)
        ).plot()


# ----------------------------------------------------------------------------
# TraversalDisplay


def test_traversal_on_the_prior(vae):
    display = TraversalDisplay.from_estimator(vae, image_shape=(8, 8))
    assert display.dims == (0, 1)
    assert_allclose(
        display.values, np.tile(norm.ppf(np.linspace(0.05, 0.95, 9)), (2, 1))
    )
    assert display.images.shape == (2, 9, 64)
    # row 1 varies dimension 1, dimension 0 at the prior's mean
    code = [[0, display.values[1, 6]]]
    assert_allclose(display.images[1, 6], vae.inverse_transform(code)[0], rtol=1e-6)
    assert_allclose(tile(display, 1, 6), display.images[1, 6].reshape(8, 8))
    # shared values: on the x axis, not under each image
    assert display.value_labels_ is None
    assert ticklabels(display.ax_, "x")[4] == "0.00"
    assert display.ax_.get_xlabel() == "code value"
    assert ticklabels(display.ax_, "y") == ["dimension 0", "dimension 1"]
    assert display.ax_.get_title() == "VariationalAutoencoder"


def test_traversal_from_a_row_of_X(ae, X):
    codes = ae.transform(X)
    display = TraversalDisplay.from_estimator(
        ae, X, dims=[2, 0], base_row=5, n_steps=4, image_shape=(8, 8)
    )
    low, high = np.percentile(codes, [5, 95], axis=0)
    assert_allclose(display.values[0], np.linspace(low[2], high[2], 4))
    assert_allclose(display.values[1], np.linspace(low[0], high[0], 4))
    code = codes[5].copy()
    code[0] = display.values[1, 3]
    assert_allclose(display.images[1, 3], ae.inverse_transform([code])[0], rtol=1e-5)
    assert ticklabels(display.ax_, "y") == ["dimension 2", "dimension 0"]
    # the ranges differ: each image has its value under it
    texts = [text.get_text() for text in display.value_labels_]
    assert len(texts) == 8
    step = (high[0] - low[0]) / 3
    assert float(texts[4]) == pytest.approx(low[0], abs=step / 20)
    assert list(display.ax_.get_xticks()) == []


def test_traversal_of_one_dim_around_the_median(ae, X):
    display = TraversalDisplay.from_estimator(
        ae, X, dims=1, code_range=(-1, 1), n_steps=3, image_shape=(8, 8)
    )
    assert display.dims == (1,)
    assert_array_equal(display.values, [[-1, 0, 1]])
    code = np.median(ae.transform(X), axis=0)
    code[1] = 1
    assert_allclose(display.images[0, 2], ae.inverse_transform([code])[0], rtol=1e-5)
    assert ticklabels(display.ax_, "x") == ["-1", "0", "1"]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"dims": [0, 0]}, "dims must be a code dimension or a sequence of diff"),
        ({"dims": 3}, r"integers in \[0, 3\), got 3"),
        ({"dims": []}, "dims must be a code dimension"),
        ({"dims": [1.0]}, "dims must be a code dimension"),
        ({"dims": [[0, 1]]}, "dims must be a code dimension"),
        ({"base_row": 300}, r"base_row must be the index of a row of X, .*\[0, 300\)"),
        ({"base_row": -1}, "base_row must be the index of a row of X"),
        ({"base_row": 1.0}, "base_row must be the index of a row of X"),
        ({"n_steps": 1}, "n_steps must be an integer >= 2, got 1"),
        ({"code_range": [(0, 1), (0, 1)]}, "one such pair per code dimension drawn"),
        ({"percentiles": (50, 50)}, r"percentiles must be \(low, high\)"),
    ],
)
def test_bad_traversal_parameters(ae, X, params, match):
    with pytest.raises(ValueError, match=match):
        TraversalDisplay.from_estimator(ae, X, **{"image_shape": (8, 8), **params})


def test_traversal_base_row_needs_X(vae):
    with pytest.raises(ValueError, match="base_row needs X"):
        TraversalDisplay.from_estimator(vae, base_row=0, image_shape=(8, 8))


def test_traversal_constructor_errors():
    with pytest.raises(ValueError, match=r"values must have shape \(2, 3\) and dims"):
        TraversalDisplay(
            images=np.zeros((2, 3, 4)),
            values=np.zeros((2, 2)),
            dims=[0, 1],
            image_shape=(2, 2),
        ).plot()
    with pytest.raises(ValueError, match="dims length 2, one per row"):
        TraversalDisplay(
            images=np.zeros((2, 3, 4)),
            values=np.zeros((2, 3)),
            dims=[0],
            image_shape=(2, 2),
        ).plot()


# ----------------------------------------------------------------------------
# Shared behaviour


@pytest.mark.parametrize("display", [CodeGridDisplay, TraversalDisplay])
def test_unfitted_estimator(display):
    with pytest.raises(NotFittedError):
        display.from_estimator(VariationalAutoencoder(), image_shape=(8, 8))


@pytest.mark.parametrize(
    "call",
    [
        lambda vae, X: CodeGridDisplay.from_estimator(vae, image_shape=(8, 8)),
        lambda vae, X: TraversalDisplay.from_estimator(vae, image_shape=(8, 8)),
        lambda vae, X: ReconstructionDisplay.from_predictions(X, X, image_shape=(8, 8)),
        lambda vae, X: LatentSpaceDisplay.from_predictions(vae.transform(X)),
    ],
    ids=["CodeGridDisplay", "TraversalDisplay", "Reconstruction", "LatentSpace"],
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
