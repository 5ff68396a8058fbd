"""skae.plotting: the Display objects, drawn with the Agg backend."""

import inspect
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import FAST, run_without_torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import skae
from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    VariationalAutoencoder,
)
from skae.noise import masking_noise
from skae.plotting import LatentSpaceDisplay, LossCurveDisplay, ReconstructionDisplay

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def few_digits(digits):
    X, y = digits
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def ae(few_digits):
    return AutoencoderTransformer(n_components=2, **FAST).fit(few_digits[0])


@pytest.fixture(scope="module")
def vae(few_digits):
    return VariationalAutoencoder(n_components=3, **FAST).fit(few_digits[0])


def yticklabels(ax):
    return [label.get_text() for label in ax.get_yticklabels()]


# ----------------------------------------------------------------------------
# ReconstructionDisplay


def test_reconstruction_display(ae, few_digits):
    X = few_digits[0]
    display = ReconstructionDisplay.from_estimator(
        ae, X, image_shape=(8, 8), n_images=5
    )
    assert_array_equal(display.originals, X[:5])
    assert_allclose(display.reconstructions, ae.predict(X[:5]), rtol=1e-6)
    assert display.inputs is None and display.image_shape == (8, 8)
    assert isinstance(display.image_, mpl.image.AxesImage)
    assert isinstance(display.ax_, mpl.axes.Axes)
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_title() == "AutoencoderTransformer"
    assert yticklabels(display.ax_) == ["original", "reconstruction"]
    assert list(display.ax_.get_xticks()) == []
    # 2 rows and 5 columns of 8x8 images, 1 pixel apart
    mosaic = display.image_.get_array()
    assert mosaic.shape == (2 * 8 + 1, 5 * 8 + 4)
    assert_allclose(mosaic[:8, 9:17], X[1].reshape(8, 8))
    assert_allclose(mosaic[9:, :8], display.reconstructions[0].reshape(8, 8))
    assert mosaic.mask[8].all() and mosaic.mask[:, 8].all()  # the gaps
    # every row on the originals' grey scale
    assert display.image_.get_clim() == (X[:5].min(), X[:5].max())


@pytest.mark.parametrize(
    "make",
    [
        lambda: VariationalAutoencoder(n_components=2, **FAST),  # no predict
        lambda: PCA(n_components=5),
        lambda: make_pipeline(MinMaxScaler(), AutoencoderTransformer(**FAST)),
    ],
    ids=["vae", "pca", "pipeline"],
)
def test_reconstruction_is_inverse_transform_of_transform(make, few_digits):
    X = few_digits[0] * 16  # raw 0-16 values: the pipeline scales them itself
    estimator = make().fit(X)
    display = ReconstructionDisplay.from_estimator(estimator, X, image_shape=(8, 8))
    expected = estimator.inverse_transform(estimator.transform(X[:10]))
    assert_allclose(display.reconstructions, expected, rtol=1e-6)
    assert display.originals.shape == (10, 64)


def test_denoising_rows(few_digits):
    X = few_digits[0]
    X_noisy = masking_noise(X, 0.4, random_state=0)
    dae = DenoisingAutoencoder(noise="masking", noise_level=0.4, **FAST).fit(X)
    display = ReconstructionDisplay.from_estimator(
        dae, X, image_shape=(8, 8), n_images=4, X_input=X_noisy, name="denoising"
    )
    assert yticklabels(display.ax_) == ["input", "original", "reconstruction"]
    assert_array_equal(display.inputs, X_noisy[:4])
    assert_array_equal(display.originals, X[:4])
    assert_allclose(display.reconstructions, dae.predict(X_noisy[:4]), rtol=1e-6)
    assert display.ax_.get_title() == "denoising"
    assert display.image_.get_array().shape == (3 * 8 + 2, 4 * 8 + 3)


def test_image_shape_from_the_estimator(few_digits):
    X = few_digits[0]
    conv = AutoencoderTransformer(image_shape=(1, 8, -1), conv_channels=(4,), **FAST)
    display = ReconstructionDisplay.from_estimator(conv.fit(X), X, n_images=3)
    assert display.image_shape == (1, 8, -1)
    assert display.image_.get_array().shape == (17, 26)


def test_rgb_images_and_given_axes():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 3 * 4 * 5))
    figure, ax = plt.subplots()
    display = ReconstructionDisplay(
        originals=images, reconstructions=images + 2, image_shape=(3, 4, 5)
    ).plot(ax=ax)
    assert display.ax_ is ax and display.figure_ is figure
    assert ax.get_title() == ""  # no estimator_name, no title
    mosaic = display.image_.get_array()
    assert mosaic.shape == (2 * 4 + 1, 3 * 5 + 2, 4)  # RGBA
    # channel-first rows are shown channel-last, scaled to the originals' range
    low, high = images.min(), images.max()
    tile = images[1].reshape(3, 4, 5).transpose(1, 2, 0)
    assert_allclose(mosaic[:4, 6:11, :3], (tile - low) / (high - low))
    assert_array_equal(mosaic[5:, :5, :3], 1.0)  # beyond the range: clipped
    assert_array_equal(mosaic[4, :, 3], 0.0)  # transparent gaps
    assert_array_equal(mosaic[:4, :5, 3], 1.0)


def test_vmin_vmax_and_cmap(ae, few_digits):
    display = ReconstructionDisplay.from_estimator(
        ae, few_digits[0], image_shape=(8, 8), vmin=-1, vmax=2, cmap="gray_r"
    )
    assert display.image_.get_clim() == (-1, 2)
    assert display.image_.get_cmap().name == "gray_r"


def test_n_images_beyond_n_samples(ae, few_digits):
    display = ReconstructionDisplay.from_estimator(
        ae, few_digits[0][:3], image_shape=(8, 8), n_images=10
    )
    assert display.originals.shape == (3, 64)


@pytest.mark.parametrize(
    "image_shape, match",
    [
        (
            (7, 7),
            r"image_shape=\(7, 7\) does not fit the 64 features of X: a row "
            "must hold exactly 49 values",
        ),
        ((5, -1), "must hold a multiple of 5 values"),
        ((2, 4, 8), "has 2 channels; only images with 1 .grey. or 3 .RGB."),
        ((8, 8, 1, 1), "must be a tuple of 2 or 3 positive integers"),
        ((8.0, 8), "must be a tuple of 2"),
        ((0, 8), "must be a tuple of 2"),
        (None, "image_shape is required"),
    ],
)
def test_bad_image_shape(ae, few_digits, image_shape, match):
    with pytest.raises(ValueError, match=match):
        ReconstructionDisplay.from_estimator(ae, few_digits[0], image_shape=image_shape)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_images": 0}, "n_images must be a positive integer, got 0"),
        ({"n_images": 2.5}, "n_images must be a positive integer, got 2.5"),
        ({"X_input": np.zeros((5, 64))}, r"X_input must have the shape of X"),
    ],
)
def test_bad_reconstruction_parameters(ae, few_digits, params, match):
    with pytest.raises(ValueError, match=match):
        ReconstructionDisplay.from_estimator(
            ae, few_digits[0], image_shape=(8, 8), **params
        )


def test_constructor_arrays_must_match():
    display = ReconstructionDisplay(
        originals=np.zeros((2, 4)), reconstructions=np.zeros((3, 4)), image_shape=(2, 2)
    )
    with pytest.raises(ValueError, match=r"same shape .*\(2, 4\), \(3, 4\)"):
        display.plot()


@pytest.mark.parametrize(
    "estimator",
    [IsolationForest(n_estimators=5, random_state=0), LogisticRegression()],
    ids=["outlier detector", "classifier"],
)
def test_predict_that_gives_labels_is_not_a_reconstruction(estimator, few_digits):
    X, y = few_digits
    estimator.fit(X, y)
    with pytest.raises(TypeError, match=f"{type(estimator).__name__} cannot recon"):
        ReconstructionDisplay.from_estimator(estimator, X, image_shape=(8, 8))


# ----------------------------------------------------------------------------
# LatentSpaceDisplay


def test_latent_space_display_with_classes(ae, few_digits):
    X, y = few_digits
    display = LatentSpaceDisplay.from_estimator(ae, X, y)
    assert_allclose(display.codes, ae.transform(X))
    assert_array_equal(display.labels, y)
    assert display.dims == (0, 1)
    assert isinstance(display.scatter_, mpl.collections.PathCollection)
    assert_allclose(display.scatter_.get_offsets(), display.codes)
    # one colour per class, from tab10, and a legend of the classes
    tab10 = mpl.colormaps["tab10"]
    assert_allclose(display.scatter_.get_facecolors()[:, :3], tab10(y)[:, :3])
    assert [t.get_text() for t in display.legend_.get_texts()] == list("0123456789")
    assert display.legend_.get_title().get_text() == "label"
    assert display.colorbar_ is None
    assert display.ax_.get_xlabel() == "code dimension 0"
    assert display.ax_.get_ylabel() == "code dimension 1"
    assert display.ax_.get_title() == "AutoencoderTransformer"
    assert display.figure_ is display.ax_.figure


@pytest.mark.parametrize(
    "labels",
    [np.linspace(0, 1, 300), np.arange(300) % 25],
    ids=["continuous", "25 classes"],
)
def test_continuous_labels_or_many_classes_get_a_colorbar(ae, few_digits, labels):
    display = LatentSpaceDisplay.from_estimator(
        ae, few_digits[0], labels, cmap="plasma"
    )
    assert display.legend_ is None
    assert display.colorbar_.ax.get_ylabel() == "label"
    assert display.scatter_.get_cmap().name == "plasma"
    assert_allclose(display.scatter_.get_array(), labels)


def test_string_labels_and_no_labels(ae, few_digits):
    X = few_digits[0]
    labels = np.where(np.arange(300) % 2, "odd", "even")
    display = LatentSpaceDisplay.from_estimator(ae, X, labels)
    assert [t.get_text() for t in display.legend_.get_texts()] == ["even", "odd"]
    display = LatentSpaceDisplay.from_estimator(ae, X, scatter_kwargs={"s": 5})
    assert display.legend_ is None and display.colorbar_ is None
    assert_array_equal(display.scatter_.get_sizes(), [5])


def test_dims_choose_two_of_more_codes(vae, few_digits):
    X, y = few_digits
    with pytest.raises(ValueError, match="The codes have 3 dimensions.*dims=.i, j."):
        LatentSpaceDisplay.from_estimator(vae, X, y)
    display = LatentSpaceDisplay.from_estimator(vae, X, y, dims=(2, 0))
    assert_allclose(display.codes, vae.transform(X)[:, [2, 0]])
    assert display.ax_.get_xlabel() == "code dimension 2"
    assert display.ax_.get_ylabel() == "code dimension 0"


@pytest.mark.parametrize("dims", [(0, 0), (0, 3), (0,), (0, 1, 2), (-1, 0), 1])
def test_bad_dims(vae, few_digits, dims):
    with pytest.raises(ValueError, match=r"dims must be two different code dim"):
        LatentSpaceDisplay.from_estimator(vae, few_digits[0], dims=dims)


def test_latent_space_bad_inputs(ae, few_digits):
    with pytest.raises(ValueError, match=r"labels must have shape \(300,\)"):
        LatentSpaceDisplay.from_estimator(ae, few_digits[0], few_digits[1][:10])
    with pytest.raises(ValueError, match=r"codes must have shape \(n_samples, 2\)"):
        LatentSpaceDisplay(codes=np.zeros((4, 3))).plot()
    forest = IsolationForest(n_estimators=5, random_state=0).fit(few_digits[0])
    with pytest.raises(TypeError, match="IsolationForest has no transform"):
        LatentSpaceDisplay.from_estimator(forest, few_digits[0])


# ----------------------------------------------------------------------------
# LossCurveDisplay


def test_loss_curve_display(ae):
    display = LossCurveDisplay.from_estimator(ae)
    train = [row["train_loss"] for row in ae.history_]
    assert_allclose(display.train_loss, train)
    assert display.valid_loss is None
    assert_array_equal(display.train_line_.get_xdata(), [1, 2])
    assert_allclose(display.train_line_.get_ydata(), train)
    assert display.valid_line_ is None
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "training loss"
    assert display.ax_.get_legend() is None
    assert display.ax_.get_yscale() == "linear"
    assert display.ax_.get_title() == "AutoencoderTransformer"


def test_loss_curve_with_validation_and_log_scale(few_digits):
    ae = AutoencoderTransformer(early_stopping=True, **{**FAST, "max_epochs": 3})
    ae.fit(few_digits[0])
    display = LossCurveDisplay.from_estimator(ae, log_scale=True, name="run 1")
    valid = [row["valid_loss"] for row in ae.history_]
    assert_allclose(display.valid_line_.get_ydata(), valid)
    assert_array_equal(display.valid_line_.get_xdata(), [1, 2, 3])
    assert display.ax_.get_ylabel() == "loss"
    legend = display.ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["training", "validation"]
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_title() == "run 1"


def test_loss_curve_from_lists_and_errors():
    display = LossCurveDisplay(train_loss=[3.0, 2.0, 1.0], epochs=[5, 6, 7]).plot()
    assert_array_equal(display.train_line_.get_xdata(), [5, 6, 7])
    with pytest.raises(ValueError, match="log_scale=True needs positive losses.*-1"):
        LossCurveDisplay(train_loss=[1.0, -1.0]).plot(log_scale=True)
    with pytest.raises(ValueError, match="one value per epoch"):
        LossCurveDisplay(train_loss=[1.0, 0.5], valid_loss=[1.0]).plot()
    with pytest.raises(ValueError, match="non-empty 1-D array"):
        LossCurveDisplay(train_loss=[]).plot()


def test_loss_curve_needs_a_history(few_digits):
    pca = PCA(n_components=2).fit(few_digits[0])
    with pytest.raises(TypeError, match="PCA has no history_ of per-epoch losses"):
        LossCurveDisplay.from_estimator(pca)


# ----------------------------------------------------------------------------
# Shared behaviour


def _call(display, estimator, X):
    if display is LossCurveDisplay:
        return display.from_estimator(estimator)
    if display is ReconstructionDisplay:
        return display.from_estimator(estimator, X, image_shape=(8, 8))
    return display.from_estimator(estimator, X)


DISPLAYS = [ReconstructionDisplay, LatentSpaceDisplay, LossCurveDisplay]


@pytest.mark.parametrize("display", DISPLAYS)
@pytest.mark.parametrize(
    "estimator",
    [
        AutoencoderTransformer(),
        VariationalAutoencoder(),
        ReconstructionOutlierDetector(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_unfitted_estimator(display, estimator, few_digits):
    with pytest.raises(NotFittedError):
        _call(display, estimator, few_digits[0])


@pytest.mark.parametrize("display", DISPLAYS)
def test_missing_matplotlib(display, ae, few_digits, monkeypatch):
    drawn = _call(display, ae, few_digits[0])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    message = f"{display.__name__}.(from_estimator|plot) requires matplotlib"
    with pytest.raises(ImportError, match=message + ".*pip install matplotlib"):
        _call(display, ae, few_digits[0])
    with pytest.raises(ImportError, match=message):
        drawn.plot()


def test_submodule_of_skae():
    assert skae.plotting.ReconstructionDisplay is ReconstructionDisplay
    assert "plotting" in skae.__all__


def test_import_needs_neither_torch_nor_matplotlib():
    """skae.plotting imports with torch and skorch unimportable, and loads
    matplotlib only when drawing; ``import skae`` does not load it."""
    run_without_torch("""
import skae.plotting
roots = {name.split(".")[0] for name in sys.modules}
assert not {"torch", "skorch", "matplotlib"} & roots, roots
""")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, skae; assert 'matplotlib' not in sys.modules",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_sparse_and_dataframe_input(ae, few_digits):
    pd = pytest.importorskip("pandas")
    X = few_digits[0]
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    ae_frame = AutoencoderTransformer(n_components=2, **FAST).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        display = ReconstructionDisplay.from_estimator(
            ae_frame, frame, image_shape=(8, 8), n_images=3, X_input=frame
        )
        LatentSpaceDisplay.from_estimator(ae_frame, frame, pd.Series(few_digits[1]))
    assert_array_equal(display.originals, X[:3])
    display = ReconstructionDisplay.from_estimator(
        ae, sp.csr_matrix(X), image_shape=(8, 8), X_input=sp.csr_matrix(X)
    )
    assert_array_equal(display.originals, X[:10])
    assert_array_equal(display.inputs, X[:10])


def public_callables(module):
    """(name, callable, docstring) of each public function, class
    constructor (documented in the class docstring) and public method."""
    for name in module.__all__:
        obj = getattr(module, name)
        if not inspect.isclass(obj):
            yield name, obj, inspect.getdoc(obj)
            continue
        yield name, obj.__init__, inspect.getdoc(obj)
        for method in vars(obj):
            if not method.startswith("_"):
                function = getattr(obj, method)
                yield f"{name}.{method}", function, inspect.getdoc(function)


@pytest.mark.parametrize(
    "name, function, doc",
    [pytest.param(*entry, id=entry[0]) for entry in public_callables(skae.plotting)],
)
def test_docstrings_document_every_parameter(name, function, doc):
    documented = set()
    for line in doc.splitlines():
        if match := re.match(r"(\w+(?:, \w+)*) : ", line):
            documented.update(match.group(1).split(", "))
    parameters = set(inspect.signature(function).parameters) - {"self"}
    assert parameters, name
    assert parameters <= documented, f"{name}: {parameters - documented}"
    assert "Examples\n--------" in doc or "." in name, name
