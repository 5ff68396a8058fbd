"""Plots of fitted autoencoders, as scikit-learn Display objects (no torch).

Each display holds the values it draws and builds from a fitted estimator
with ``from_estimator`` (the estimator, or a
:class:`~sklearn.pipeline.Pipeline` ending in it) or, where the display draws
what a model outputs for data, from those outputs with ``from_predictions``;
``plot`` draws the values and keeps the matplotlib objects in attributes
ending with ``_`` (``ax_``, ``figure_`` and the artists), as
:class:`sklearn.metrics.RocCurveDisplay` does. matplotlib is imported only
when something is drawn, so ``import skae`` does not need it.
"""

import math
import sys
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier, is_outlier_detector
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from ._validation import check_image_shape

__all__ = [
    "CodeGridDisplay",
    "LatentSpaceDisplay",
    "LossCurveDisplay",
    "ReconstructionDisplay",
    "TraversalDisplay",
]

# Above this many classes, labels are coloured on a colour bar, not listed in
# a legend.
_MAX_LEGEND_CLASSES = 20


def _check_matplotlib(caller):
    """Raise an ImportError that says how to install matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib. Install it with `pip install "
            'matplotlib` (or `pip install "skae[plot]"`).'
        ) from exc


def _axes(ax, figsize):
    """``ax`` and its figure, or a new figure of ``figsize`` inches."""
    import matplotlib.pyplot as plt

    if ax is None:
        figure, ax = plt.subplots(figsize=figsize, layout="constrained")
        return ax, figure
    return ax, ax.figure


def _final_step(estimator):
    """The model at the end of ``estimator``: its last step when it is a
    :class:`~sklearn.pipeline.Pipeline` (however nested), else itself."""
    while isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    return estimator


def _name(estimator, name):
    """``name``, or the class name of the model (a Pipeline's last step)."""
    return type(_final_step(estimator)).__name__ if name is None else name


def _rows(X, n=None):
    """The first ``n`` rows of ``X`` (all when None), in X's own type, so
    that an estimator fitted on a DataFrame keeps its feature names."""
    if hasattr(X, "iloc"):
        return X.iloc[:n]
    if sp.issparse(X) or isinstance(X, np.ndarray):
        return X[:n]
    return np.asarray(X)[:n]


def _shape(X):
    return X.shape if hasattr(X, "shape") else np.shape(X)


def _dense(X):
    """``X`` as a float64 ndarray, for drawing."""
    if sp.issparse(X):
        X = X.toarray()
    elif hasattr(X, "to_numpy"):
        X = X.to_numpy()
    return np.asarray(X, dtype=np.float64)


def _check_int(value, name, minimum):
    """``value`` as an int of at least ``minimum``, or a ValueError."""
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    return int(value)


def _check_bool(value, name):
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _value_labels(values):
    """``values`` written with the fewest decimals, alike for all, that keep
    each within a twentieth of the smallest step between them: steps of 1
    over integers give "-1", "0", "1"; -1.6449 among steps of 0.16 is
    "-1.64"; a rounding error of 1e-17 is "0.00"."""
    values = np.asarray(values, dtype=np.float64)
    steps = np.diff(np.unique(values))
    if not steps.size:  # one value (maybe repeated): no step to go by
        return [f"{v + 0.0:.3g}" for v in values]
    step = steps.min()
    decimals = max(0, 1 - math.floor(math.log10(step)))
    for fewer in range(decimals):
        if np.all(np.abs(np.round(values, fewer) - values) <= step / 20):
            decimals = fewer
            break
    # + 0.0 turns -0.0 into 0.0
    return [f"{v:.{decimals}f}" for v in np.round(values, decimals) + 0.0]


def _label_every(labels, tile_inches, axis):
    """Every how many images a label of ``labels`` fits along ``axis``
    ("x": side by side, "y": one above the other), ``tile_inches`` apart."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=mpl.rcParams[f"{axis}tick.labelsize"])
    inches = points.get_size_in_points() / 72
    # about 0.6 em a character, and 0.1 inch of air between labels
    needed = (0.6 * inches * max(map(len, labels)) if axis == "x" else inches) + 0.1
    return max(1, math.ceil(needed / tile_inches))


# ----------------------------------------------------------------------------
# Image mosaics, shared by the displays of images


def _check_image_shape(image_shape, n_features, channels_last=False):
    """``image_shape`` as ``(C, H, W)``, C being 1 (grey) or 3 (RGB), or a
    ValueError. ``(H, W)`` means one channel, ``(H, W, C)`` with
    ``channels_last``; one entry may be -1, inferred from ``n_features`` as
    in ``numpy.reshape``."""
    if image_shape is None:
        raise ValueError(
            "image_shape is required: the (H, W) or (C, H, W) shape of an "
            "image row, such as (28, 28) for MNIST."
        )
    shape = check_image_shape(image_shape, n_features, channels_last)
    if shape[0] not in (1, 3):
        order = "(H, W, C)" if channels_last else "(C, H, W)"
        raise ValueError(
            f"image_shape={tuple(image_shape)} has {shape[0]} channels; only "
            f"images with 1 (grey) or 3 (RGB) channels, in {order} order "
            f"(channels_last={channels_last}), can be shown."
        )
    return shape


_Mosaic = namedtuple(
    "_Mosaic", "image ax figure row_centres col_centres tile_bottoms inches"
)


def _draw_mosaic(
    grid,
    image_shape,
    *,
    channels_last,
    ax,
    cmap,
    vmin,
    vmax,
    scale_from=None,
    margins=(1.0, 0.5),
    label_room=False,
):
    """Draw ``grid``, an array of shape (n_rows, n_cols, n_features) of image
    rows, as one mosaic of images on one Axes, without ticks or spines.

    Every image is drawn on one grey-level scale, from ``vmin`` to ``vmax``,
    by default the minimum and maximum of ``scale_from`` (``grid`` when
    None); RGB images are scaled to it. The images are ``gap`` pixels apart,
    a tenth of their size; with ``label_room`` each row is followed by room
    for a line of small text. A new figure (when ``ax`` is None) gets about
    0.9 inch per image, less for large mosaics, plus ``margins``, the inches
    (left, bottom) for the labels and the title.

    Returns the AxesImage, the Axes, its figure, the mosaic coordinates of
    the centres of the rows and columns of images and those of the bottom
    edges of the rows, and the inches between the centres of neighbouring
    images (rows, columns), roughly, for spacing labels.
    """
    n_rows, n_cols, n_features = grid.shape
    channels, height, width = _check_image_shape(image_shape, n_features, channels_last)
    scale_from = grid if scale_from is None else scale_from
    low = np.nanmin(scale_from) if vmin is None else vmin
    high = np.nanmax(scale_from) if vmax is None else vmax
    if high <= low:  # a constant image: show it mid-grey, not failing
        low, high = low - 0.5, high + 0.5
    inches = min(0.9, 12 / n_cols, 10 / n_rows)  # per image
    pixel = inches / max(height, width)  # inches per pixel
    gap = max(1, round(0.1 * max(height, width)))
    # a line of x-small text (7 points) and some air: 0.18 inch
    row_gap = max(gap, math.ceil(0.18 / pixel)) if label_room else gap
    row_step, col_step = height + row_gap, width + gap
    mosaic = np.full(
        (
            n_rows * row_step - (0 if label_room else row_gap),
            n_cols * col_step - gap,
            4 if channels == 3 else 1,
        ),
        np.nan,
    )
    if channels_last:
        tiles = grid.reshape(n_rows, n_cols, height, width, channels)
    else:
        # (C, H, W) -> (H, W, C), the layout imshow reads
        tiles = grid.reshape(n_rows, n_cols, channels, height, width)
        tiles = tiles.transpose(0, 1, 3, 4, 2)
    if channels == 3:
        tiles = np.clip((tiles - low) / (high - low), 0, 1)
        tiles = np.concatenate([tiles, np.ones_like(tiles[..., :1])], axis=-1)
    for i in range(n_rows):
        for j in range(n_cols):
            top, left = i * row_step, j * col_step
            mosaic[top : top + height, left : left + width] = tiles[i, j]
    if ax is not None:
        # imshow keeps the pixels square, so the mosaic fills the Axes' box
        # in one direction
        box = ax.get_position().size * ax.figure.get_size_inches()
        pixel = min(box[0] / mosaic.shape[1], box[1] / mosaic.shape[0])
    else:
        # The mosaic sits against its labels on the left: centred in a box
        # wider than itself, constrained layout may push them off the figure.
        figsize = (
            pixel * mosaic.shape[1] + margins[0],
            pixel * mosaic.shape[0] + margins[1],
        )
        ax, _ = _axes(None, figsize)
        ax.set_anchor("W")
    if channels == 3:
        # The gaps are transparent: alpha 0.
        image = ax.imshow(np.nan_to_num(mosaic, nan=0.0), interpolation="nearest")
    else:
        # The gaps are NaN, drawn in the colour map's (transparent) "bad"
        # colour.
        image = ax.imshow(
            np.ma.masked_invalid(mosaic[..., 0]),
            cmap=cmap,
            vmin=low,
            vmax=high,
            interpolation="nearest",
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _Mosaic(
        image,
        ax,
        ax.figure,
        row_centres=np.arange(n_rows) * row_step + (height - 1) / 2,
        col_centres=np.arange(n_cols) * col_step + (width - 1) / 2,
        tile_bottoms=np.arange(n_rows) * row_step + height - 0.5,
        inches=(pixel * row_step, pixel * col_step),
    )


def _image_defaults(estimator, image_shape, channels_last):
    """``image_shape`` and ``channels_last``, each taken from the model at
    the end of ``estimator`` when None; ``channels_last`` checked."""
    model = _final_step(estimator)
    if image_shape is None:
        image_shape = getattr(model, "image_shape", None)
    if channels_last is None:
        channels_last = getattr(model, "channels_last", False)
    return image_shape, _check_bool(channels_last, "channels_last")


def _check_image_grid(images):
    """``images`` as a float64 array of shape (n_rows, n_columns,
    n_features) holding at least one image, or a ValueError."""
    images = _dense(images)
    if images.ndim != 3 or 0 in images.shape[:2]:
        raise ValueError(
            "images must be a non-empty array of shape (n_rows, n_columns, "
            f"n_features), got shape {images.shape}."
        )
    return images


# ----------------------------------------------------------------------------
# Reconstructions


def _autoencoder_and_head(estimator):
    """The estimator that reconstructs, and the fitted steps to apply to X
    before it (None when none).

    A Pipeline whose every step inverts reconstructs in its own input space
    (``inverse_transform(transform(X))``); one with a step that does not
    gives its last step, which reconstructs its own input, and the steps
    before it."""
    if (
        isinstance(estimator, Pipeline)
        and len(estimator) > 1
        and not hasattr(estimator, "inverse_transform")
    ):
        return estimator[-1], estimator[:-1]
    return estimator, None


def _reconstruct(estimator, X, name):
    """``estimator``'s reconstruction of ``X``: ``inverse_transform(
    transform(X))`` when it has both, else ``predict(X)`` unless that gives
    labels (a classifier or an outlier detector)."""
    if hasattr(estimator, "transform") and hasattr(estimator, "inverse_transform"):
        return estimator.inverse_transform(estimator.transform(X))
    if hasattr(estimator, "predict") and not (
        is_classifier(estimator) or is_outlier_detector(estimator)
    ):
        return estimator.predict(X)
    raise TypeError(
        f"{name} cannot reconstruct its input: it needs transform and "
        "inverse_transform, or a predict that returns reconstructions. "
        "Compute the reconstructions yourself and pass them to "
        "ReconstructionDisplay.from_predictions(originals, reconstructions, ...)."
    )


class ReconstructionDisplay:
    """Image rows next to their reconstructions by an autoencoder.

    The images are drawn as one mosaic on a single Axes: a row of originals
    above the row of their reconstructions (and, for a denoising
    autoencoder, a row of the corrupted inputs on top), one column per
    image, all on the originals' grey-level scale.

    Build it with :meth:`from_estimator`, or with :meth:`from_predictions`
    from reconstructions you computed yourself; the constructor takes the
    arrays as they are drawn. All parameters are stored as attributes.

    Parameters
    ----------
    originals : array-like of shape (n_images, n_features)
        The images, one per row.
    reconstructions : array-like of shape (n_images, n_features)
        Their reconstructions.
    image_shape : tuple of int
        How to read a row as an image: ``(H, W)`` for grey images, or
        ``(C, H, W)`` with C = 1 (grey) or 3 (RGB), in the order of
        ``X.reshape(-1, C, H, W)``, as the estimators' ``image_shape``
        parameter (``(H, W, C)`` with ``channels_last``). One entry may be
        -1 (inferred).
    channels_last : bool, default=False
        Whether a row holds its image as ``X.reshape(-1, H, W, C)`` (each
        pixel's channels side by side), ``image_shape`` then being
        ``(H, W, C)``, as the estimators' ``channels_last`` parameter.
    inputs : array-like of shape (n_images, n_features), default=None
        What the network was given, when it differs from ``originals``: the
        corrupted images of a denoising autoencoder. Drawn as a first row.
    estimator_name : str, default=None
        Title of the plot; None gives no title.

    Attributes
    ----------
    image_ : matplotlib AxesImage
        The mosaic of all images.
    ax_ : matplotlib Axes
        The Axes holding the mosaic; its y tick labels name the rows.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    LatentSpaceDisplay : The codes of a two-dimensional bottleneck.
    CodeGridDisplay : The images decoded from a grid over two code dimensions.
    LossCurveDisplay : The training loss per epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import ReconstructionDisplay
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(n_components=8, max_epochs=5, random_state=0)
    >>> ae = ae.fit(X)
    >>> display = ReconstructionDisplay.from_estimator(ae, X, image_shape=(8, 8))
    >>> display.reconstructions.shape
    (10, 64)
    >>> [label.get_text() for label in display.ax_.get_yticklabels()]
    ['original', 'reconstruction']
    """

    def __init__(
        self,
        *,
        originals,
        reconstructions,
        image_shape,
        channels_last=False,
        inputs=None,
        estimator_name=None,
    ):
        self.originals = originals
        self.reconstructions = reconstructions
        self.image_shape = image_shape
        self.channels_last = channels_last
        self.inputs = inputs
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap="gray", vmin=None, vmax=None):
        """Draw the images.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure sized to the images.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey images (ignored for RGB): "gray" draws 0 as
            black, "gray_r" as white.
        vmin, vmax : float, default=None
            The pixel values drawn as the darkest and the brightest; None
            takes the originals' minimum and maximum, so that every row is
            drawn on the originals' scale (values beyond it are clipped).

        Returns
        -------
        display : ReconstructionDisplay
            This display, with ``image_``, ``ax_`` and ``figure_`` set.
        """
        _check_matplotlib("ReconstructionDisplay.plot")
        channels_last = _check_bool(self.channels_last, "channels_last")
        originals = _dense(self.originals)
        rows = [("original", originals), ("reconstruction", self.reconstructions)]
        if self.inputs is not None:
            rows.insert(0, ("input", self.inputs))
        labels = [label for label, _ in rows]
        rows = [_dense(images) for _, images in rows]
        if originals.ndim != 2 or any(r.shape != originals.shape for r in rows):
            raise ValueError(
                "originals, reconstructions and inputs must be 2-D arrays of the "
                "same shape (n_images, n_features), got shapes "
                f"{', '.join(str(r.shape) for r in rows)}."
            )
        if originals.shape[0] == 0:
            raise ValueError("There are no images to show: originals has 0 rows.")
        mosaic = _draw_mosaic(
            np.stack(rows),
            self.image_shape,
            channels_last=channels_last,
            ax=ax,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            scale_from=originals,
            margins=(1.5, 0.45),
        )
        mosaic.ax.set_yticks(mosaic.row_centres, labels)
        if self.estimator_name is not None:
            mosaic.ax.set_title(self.estimator_name)
        self.image_, self.ax_, self.figure_ = mosaic.image, mosaic.ax, mosaic.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        image_shape=None,
        channels_last=None,
        n_images=10,
        X_input=None,
        name=None,
        ax=None,
        cmap="gray",
        vmin=None,
        vmax=None,
    ):
        """Reconstruct the first ``n_images`` rows of ``X`` and draw them.

        The reconstruction is ``inverse_transform(transform(X))`` when the
        estimator has both (every skae estimator, or
        :class:`~sklearn.decomposition.PCA`); otherwise ``predict(X)``,
        unless the estimator is a classifier or an outlier detector, whose
        ``predict`` gives labels. For :class:`~skae.AutoencoderTransformer`
        and :class:`~skae.DenoisingAutoencoder` both are the same
        reconstruction; :class:`~skae.VariationalAutoencoder` decodes the
        posterior means.

        A :class:`~sklearn.pipeline.Pipeline` ending in an autoencoder
        reconstructs in its own input space when every step has an
        ``inverse_transform`` (a scaler before the autoencoder, say). When a
        step has none (a :class:`~sklearn.preprocessing.Normalizer`, say),
        the display draws the rows as the autoencoder receives them (the
        steps before it applied to ``X``) and the autoencoder's
        reconstruction of them.

        Parameters
        ----------
        estimator : estimator instance
            A fitted autoencoder, a Pipeline ending in one, or any fitted
            estimator that reconstructs its input as above.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The clean images, one per row; the first ``n_images`` are drawn.
        image_shape : tuple of int, default=None
            ``(H, W)`` or ``(C, H, W)`` as in the constructor; None takes the
            estimator's own ``image_shape`` parameter (a Pipeline's last
            step's), when it has one set.
        channels_last : bool, default=None
            Whether rows hold their images channels last, as in the
            constructor; None takes the estimator's own ``channels_last``
            (a Pipeline's last step's), or False when it has none.
        n_images : int, default=10
            How many images (columns) to draw, at most ``n_samples``.
        X_input : {array-like, sparse matrix} of shape (n_samples, \
n_features), default=None
            What to give the estimator in place of ``X``, such as ``X``
            corrupted with :mod:`skae.noise`, to show a denoising
            autoencoder at work: its first rows are drawn above the
            originals, and their reconstructions below.
        name : str, default=None
            Title of the plot; None uses the estimator's class name (a
            Pipeline's last step's).
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey images.
        vmin, vmax : float, default=None
            Pixel values drawn as the darkest and the brightest; None takes
            the originals' range.

        Returns
        -------
        display : ReconstructionDisplay
            The display, drawn.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If ``estimator`` is not fitted.
        TypeError
            If ``estimator`` cannot reconstruct its input.
        ValueError
            If ``image_shape`` does not fit the rows of ``X``, or ``X_input``
            has another shape than ``X``.

        See Also
        --------
        ReconstructionDisplay.from_predictions : Draw reconstructions you
            computed yourself.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import DenoisingAutoencoder
        >>> from skae.noise import masking_noise
        >>> from skae.plotting import ReconstructionDisplay
        >>> X = load_digits().data / 16
        >>> dae = DenoisingAutoencoder(
        ...     n_components=8, noise="masking", noise_level=0.3, max_epochs=5,
        ...     random_state=0,
        ... ).fit(X)
        >>> display = ReconstructionDisplay.from_estimator(
        ...     dae, X, image_shape=(8, 8), n_images=6,
        ...     X_input=masking_noise(X, 0.3, random_state=0),
        ... )
        >>> [label.get_text() for label in display.ax_.get_yticklabels()]
        ['input', 'original', 'reconstruction']
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        name = _name(estimator, name)
        n_images = _check_int(n_images, "n_images", 1)
        image_shape, channels_last = _image_defaults(
            estimator, image_shape, channels_last
        )
        originals = _rows(X, n_images)
        inputs = None
        if X_input is not None:
            if _shape(X_input) != _shape(X):
                raise ValueError(
                    f"X_input must have the shape of X, {_shape(X)}, got "
                    f"{_shape(X_input)}."
                )
            inputs = _rows(X_input, n_images)
        autoencoder, head = _autoencoder_and_head(estimator)
        if head is not None:
            originals = head.transform(originals)
            inputs = None if inputs is None else head.transform(inputs)
        # Checked before the estimator runs, for a clear message.
        _check_image_shape(image_shape, _shape(originals)[1], channels_last)
        reconstructions = _reconstruct(
            autoencoder, originals if inputs is None else inputs, name
        )
        return cls.from_predictions(
            originals,
            reconstructions,
            image_shape=image_shape,
            channels_last=channels_last,
            inputs=inputs,
            n_images=n_images,
            name=name,
            ax=ax,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
        )

    @classmethod
    def from_predictions(
        cls,
        originals,
        reconstructions,
        *,
        image_shape,
        channels_last=False,
        inputs=None,
        n_images=10,
        name=None,
        ax=None,
        cmap="gray",
        vmin=None,
        vmax=None,
    ):
        """Draw the first ``n_images`` rows and their reconstructions.

        For reconstructions computed outside skae's displays: by a model
        that is not a scikit-learn estimator, on another machine, or stored.

        Parameters
        ----------
        originals : {array-like, sparse matrix} of shape (n_samples, \
n_features)
            The images, one per row.
        reconstructions : {array-like, sparse matrix} of shape (n_samples, \
n_features)
            Their reconstructions, row for row.
        image_shape : tuple of int
            ``(H, W)`` or ``(C, H, W)`` (``(H, W, C)`` with
            ``channels_last``), as in the constructor.
        channels_last : bool, default=False
            Whether rows hold their images channels last.
        inputs : {array-like, sparse matrix} of shape (n_samples, \
n_features), default=None
            What the model was given, when it differs from ``originals``
            (corrupted images), drawn as a first row.
        n_images : int, default=10
            How many images (columns) to draw, at most ``n_samples``.
        name : str, default=None
            Title of the plot; None gives no title.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey images.
        vmin, vmax : float, default=None
            Pixel values drawn as the darkest and the brightest; None takes
            the originals' range.

        Returns
        -------
        display : ReconstructionDisplay
            The display, drawn.

        Raises
        ------
        ValueError
            If the arrays differ in shape, or ``image_shape`` does not fit
            their rows.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.decomposition import PCA
        >>> from skae.plotting import ReconstructionDisplay
        >>> X = load_digits().data
        >>> pca = PCA(n_components=8).fit(X)
        >>> display = ReconstructionDisplay.from_predictions(
        ...     X, pca.inverse_transform(pca.transform(X)), image_shape=(8, 8),
        ...     n_images=5, name="PCA, 8 components",
        ... )
        >>> display.originals.shape, display.ax_.get_title()
        ((5, 64), 'PCA, 8 components')
        """
        _check_matplotlib(f"{cls.__name__}.from_predictions")
        n_images = _check_int(n_images, "n_images", 1)
        channels_last = _check_bool(channels_last, "channels_last")
        # Checked on the whole arrays: their first rows could match.
        shapes = [
            _shape(a) for a in (originals, reconstructions, inputs) if a is not None
        ]
        if any(shape != shapes[0] for shape in shapes):
            raise ValueError(
                "originals, reconstructions and inputs must have the same shape "
                f"(n_samples, n_features), got shapes "
                f"{', '.join(str(tuple(shape)) for shape in shapes)}."
            )
        display = cls(
            originals=_dense(_rows(originals, n_images)),
            reconstructions=_dense(_rows(reconstructions, n_images)),
            image_shape=image_shape,
            channels_last=channels_last,
            inputs=None if inputs is None else _dense(_rows(inputs, n_images)),
            estimator_name=name,
        )
        return display.plot(ax, cmap=cmap, vmin=vmin, vmax=vmax)


# ----------------------------------------------------------------------------
# Codes


def _check_dims(dims, n_codes, caller, hint):
    """``dims`` as two different code dimensions, ``(0, 1)`` for a 2-D code
    when None, or a ValueError; ``hint`` says what else to do when the code
    has another width."""
    if dims is None:
        if n_codes != 2:
            raise ValueError(
                f"The codes have {n_codes} dimension{'s' * (n_codes != 1)}, and "
                f"{caller} needs 2: choose two with dims=(i, j){hint}."
            )
        return (0, 1)
    dims = tuple(dims) if np.ndim(dims) == 1 else None
    if (
        dims is None
        or len(dims) != 2
        or not all(
            isinstance(d, Integral) and not isinstance(d, bool) and 0 <= d < n_codes
            for d in dims
        )
        or dims[0] == dims[1]
    ):
        raise ValueError(
            "dims must be two different code dimensions, integers in "
            f"[0, {n_codes}), got {dims!r}."
        )
    return tuple(int(d) for d in dims)


class LatentSpaceDisplay:
    """Scatter plot of two code dimensions, coloured by label.

    Labels with few classes get one colour each and a legend; continuous
    labels (or many classes) a colour scale and a colour bar. Build it with
    :meth:`from_estimator`, or with :meth:`from_predictions` from codes you
    computed yourself (of any width, or a projection of them); the
    constructor takes the two columns as they are drawn. All parameters are
    stored as attributes.

    Parameters
    ----------
    codes : array-like of shape (n_samples, 2)
        The two code dimensions to plot, as x and y.
    labels : array-like of shape (n_samples,), default=None
        Colours the points: class labels or continuous values. None draws
        every point in one colour.
    dims : tuple of int, default=(0, 1)
        Which code dimensions ``codes`` holds, for the axis labels.
    estimator_name : str, default=None
        Title of the plot; None gives no title.

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
        The points, drawn in their order in ``codes`` (so that no class is
        hidden under all the others).
    legend_ : matplotlib Legend or None
        The legend of the classes; None without class labels.
    colorbar_ : matplotlib Colorbar or None
        The colour bar of continuous labels; None otherwise.
    ax_ : matplotlib Axes
        The Axes of the scatter plot.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    ReconstructionDisplay : Images next to their reconstructions.
    CodeGridDisplay : The images decoded from a grid over two code dimensions.
    LossCurveDisplay : The training loss per epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import LatentSpaceDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=2, max_epochs=5, random_state=0)
    >>> ae = ae.fit(X / 16)
    >>> display = LatentSpaceDisplay.from_estimator(ae, X / 16, y)
    >>> display.ax_.get_xlabel(), len(display.legend_.get_texts())
    ('code dimension 0', 10)
    """

    def __init__(self, *, codes, labels=None, dims=(0, 1), estimator_name=None):
        self.codes = codes
        self.labels = labels
        self.dims = dims
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap=None, scatter_kwargs=None):
        """Draw the codes.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str or matplotlib Colormap, default=None
            Colours of the labels. None takes "tab10" for up to 10 classes,
            "tab20" for up to 20, and "viridis" for continuous labels.
        scatter_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.scatter`, such
            as ``s`` (point size, by default smaller the more points) or
            ``alpha``.

        Returns
        -------
        display : LatentSpaceDisplay
            This display, with ``scatter_``, ``legend_``, ``colorbar_``,
            ``ax_`` and ``figure_`` set.
        """
        _check_matplotlib("LatentSpaceDisplay.plot")
        from matplotlib.lines import Line2D

        codes = np.asarray(self.codes, dtype=np.float64)
        if codes.ndim != 2 or codes.shape[1] != 2:
            raise ValueError(
                f"codes must have shape (n_samples, 2), got {codes.shape}."
            )
        n = codes.shape[0]
        style = {
            "s": float(np.clip(36 * math.sqrt(500 / max(n, 1)), 1, 36)),
            "alpha": 0.8,
            "linewidths": 0,
            **(scatter_kwargs or {}),
        }
        ax, figure = _axes(ax, (6.4, 4.8))
        self.legend_ = self.colorbar_ = None
        if self.labels is None:
            self.scatter_ = ax.scatter(codes[:, 0], codes[:, 1], **style)
        else:
            labels = np.asarray(self.labels)
            if labels.shape != (n,):
                raise ValueError(
                    f"labels must have shape ({n},), one per row of codes, got "
                    f"{labels.shape}."
                )
            classes, index = np.unique(labels, return_inverse=True)
            numeric = np.issubdtype(labels.dtype, np.number)
            categorical = type_of_target(labels) in ("binary", "multiclass")
            if categorical and (len(classes) <= _MAX_LEGEND_CLASSES or not numeric):
                colours = self._class_colours(cmap, len(classes))
                self.scatter_ = ax.scatter(
                    codes[:, 0], codes[:, 1], c=colours[index], **style
                )
                handles = [
                    Line2D([], [], marker="o", linestyle="", color=colour, label=str(c))
                    for c, colour in zip(classes, colours, strict=True)
                ]
                # Outside the Axes, so that it hides no point.
                self.legend_ = ax.legend(
                    handles=handles,
                    title="label",
                    loc="center left",
                    bbox_to_anchor=(1.02, 0.5),
                    ncols=math.ceil(len(classes) / _MAX_LEGEND_CLASSES),
                    frameon=False,
                )
            else:
                self.scatter_ = ax.scatter(
                    codes[:, 0],
                    codes[:, 1],
                    c=labels.astype(np.float64),
                    cmap="viridis" if cmap is None else cmap,
                    **style,
                )
                self.colorbar_ = figure.colorbar(self.scatter_, ax=ax, label="label")
        ax.set_xlabel(f"code dimension {self.dims[0]}")
        ax.set_ylabel(f"code dimension {self.dims[1]}")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        self.ax_, self.figure_ = ax, figure
        return self

    @staticmethod
    def _class_colours(cmap, n_classes):
        """``n_classes`` RGBA colours: the first ones of a qualitative colour
        map that has enough, else evenly spaced along ``cmap``."""
        import matplotlib as mpl

        if cmap is None:
            cmap = "tab10" if n_classes <= 10 else "tab20"
        cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
        if isinstance(cmap, mpl.colors.ListedColormap) and cmap.N >= n_classes:
            return cmap(np.arange(n_classes))
        return cmap(np.linspace(0, 1, n_classes))

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        dims=None,
        name=None,
        ax=None,
        cmap=None,
        scatter_kwargs=None,
    ):
        """Encode ``X`` and plot two dimensions of its codes.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``transform``: a skae transformer, or a
            :class:`~sklearn.pipeline.Pipeline` ending in one.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to encode.
        y : array-like of shape (n_samples,), default=None
            Labels that colour the points; None draws one colour.
        dims : tuple of int, default=None
            The two code dimensions to plot, ``(x, y)``. None plots both
            dimensions of a two-dimensional code, and raises a ``ValueError``
            for any other size.
        name : str, default=None
            Title of the plot; None uses the estimator's class name (a
            Pipeline's last step's).
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str or matplotlib Colormap, default=None
            Colours of the labels; see :meth:`plot`.
        scatter_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LatentSpaceDisplay
            The display, drawn.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If ``estimator`` is not fitted.
        TypeError
            If ``estimator`` has no ``transform``.
        ValueError
            If the code does not have two dimensions and ``dims`` is None,
            or ``dims`` does not name two of them.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import VariationalAutoencoder
        >>> from skae.plotting import LatentSpaceDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> vae = VariationalAutoencoder(n_components=4, max_epochs=5, random_state=0)
        >>> vae = vae.fit(X / 16)
        >>> display = LatentSpaceDisplay.from_estimator(vae, X / 16, y, dims=(0, 3))
        >>> display.ax_.get_ylabel()
        'code dimension 3'
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        name = _name(estimator, name)
        if not hasattr(estimator, "transform"):
            raise TypeError(f"{name} has no transform, so it gives no codes to plot.")
        return cls.from_predictions(
            estimator.transform(X),
            y,
            dims=dims,
            name=name,
            ax=ax,
            cmap=cmap,
            scatter_kwargs=scatter_kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        codes,
        y=None,
        *,
        dims=None,
        name=None,
        ax=None,
        cmap=None,
        scatter_kwargs=None,
    ):
        """Plot two dimensions of codes you computed yourself.

        For codes computed outside the display: stored, by a model that is
        not a scikit-learn estimator, or projected (with
        :class:`~sklearn.manifold.TSNE`, say).

        Parameters
        ----------
        codes : {array-like, sparse matrix} of shape (n_samples, n_components)
            The codes, one row per sample.
        y : array-like of shape (n_samples,), default=None
            Labels that colour the points; None draws one colour.
        dims : tuple of int, default=None
            The two code dimensions to plot, ``(x, y)``. None plots both
            dimensions of two-dimensional codes, and raises a ``ValueError``
            for any other width.
        name : str, default=None
            Title of the plot; None gives no title.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str or matplotlib Colormap, default=None
            Colours of the labels; see :meth:`plot`.
        scatter_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LatentSpaceDisplay
            The display, drawn.

        Raises
        ------
        ValueError
            If ``codes`` is not 2-D, does not have two dimensions and
            ``dims`` is None, or ``dims`` does not name two of them.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.decomposition import PCA
        >>> from skae.plotting import LatentSpaceDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> codes = PCA(n_components=5).fit_transform(X)
        >>> display = LatentSpaceDisplay.from_predictions(codes, y, dims=(1, 2))
        >>> display.ax_.get_xlabel(), display.ax_.get_ylabel()
        ('code dimension 1', 'code dimension 2')
        """
        _check_matplotlib(f"{cls.__name__}.from_predictions")
        codes = _dense(codes)
        if codes.ndim != 2:
            raise ValueError(
                f"codes must be a 2-D array (n_samples, n_components), got shape "
                f"{codes.shape}."
            )
        dims = _check_dims(
            dims,
            codes.shape[1],
            "LatentSpaceDisplay",
            ", fit with n_components=2, or project the codes first (with PCA, "
            "say) and pass the projection",
        )
        display = cls(
            codes=codes[:, list(dims)], labels=y, dims=dims, estimator_name=name
        )
        return display.plot(ax, cmap=cmap, scatter_kwargs=scatter_kwargs)


# ----------------------------------------------------------------------------
# Decoded codes


def _has_standard_normal_prior(model):
    """Whether ``model`` is a VariationalAutoencoder, whose prior is N(0, I).
    The class is looked up in ``sys.modules``, not imported: a fitted one has
    imported it already, and plotting must not import torch."""
    module = sys.modules.get("skae._variational")
    cls = getattr(module, "VariationalAutoencoder", None)
    return cls is not None and isinstance(model, cls)


def _check_percentiles(percentiles):
    array = np.asarray(percentiles) if np.ndim(percentiles) == 1 else None
    if (
        array is None
        or array.shape != (2,)
        or not all(isinstance(p, Real) and not isinstance(p, bool) for p in array)
        or not 0 <= array[0] < array[1] <= 100
    ):
        raise ValueError(
            "percentiles must be (low, high) with 0 <= low < high <= 100, got "
            f"{percentiles!r}."
        )
    return float(array[0]), float(array[1])


def _check_code_range(code_range, n_dims):
    """``code_range`` as an array of shape (n_dims, 2) of (low, high) pairs:
    one pair for every dimension, or one per dimension."""
    try:
        limits = np.asarray(code_range, dtype=np.float64)
    except (TypeError, ValueError):
        limits = np.empty(0)
    if limits.shape == (2,):
        limits = np.tile(limits, (n_dims, 1))
    if (
        limits.shape != (n_dims, 2)
        or not np.isfinite(limits).all()
        or np.any(limits[:, 0] >= limits[:, 1])
    ):
        raise ValueError(
            "code_range must be (low, high), finite with low < high, or one "
            f"such pair per code dimension drawn ({n_dims}), got {code_range!r}."
        )
    return limits


class _Codes:
    """The codes behind a display of decoded codes, from ``from_estimator``'s
    arguments: how to decode, the codes of ``X`` (None without it), the code
    width and where the values of each drawn dimension come from."""

    def __init__(self, estimator, X, name, *, percentiles, code_range):
        model = _final_step(estimator)
        if not (
            hasattr(estimator, "transform") and hasattr(model, "inverse_transform")
        ):
            raise TypeError(
                f"{name} cannot decode codes: it needs transform and "
                "inverse_transform (a Pipeline needs them in its last step)."
            )
        # Through the whole Pipeline when every step inverts, to draw images
        # in its input space; else in the last step's.
        self.decode = getattr(estimator, "inverse_transform", model.inverse_transform)
        self.percentiles = _check_percentiles(percentiles)
        self.code_range = code_range
        self.prior = code_range is None and X is None
        if X is not None:
            self.codes = _dense(estimator.transform(X))
            self.n_components = self.codes.shape[1]
            return
        self.codes = None
        if self.prior and not _has_standard_normal_prior(model):
            raise ValueError(
                f"X is required to place the codes of {name}: only a "
                "VariationalAutoencoder has a prior (the standard normal) to "
                "place them without data. Pass X, or code_range=(low, high)."
            )
        self.n_components = getattr(model, "n_components_", None)
        if self.n_components is None:
            raise ValueError(
                f"X is required: {name} has no n_components_ to give the width "
                "of its codes."
            )
        low, high = self.percentiles
        if self.prior and not 0 < low < high < 100:
            raise ValueError(
                "percentiles must lie strictly between 0 and 100 to place codes "
                "on the standard normal prior, whose 0th and 100th percentiles "
                f"are infinite, got {percentiles!r}."
            )

    def base(self, row=None):
        """The code that the undrawn dimensions keep: that of ``X``'s ``row``,
        the median code of X, or 0 without X."""
        if row is not None:
            if self.codes is None:
                raise ValueError("base_row needs X, to take the code of its row.")
            n = len(self.codes)
            if not (
                isinstance(row, Integral) and not isinstance(row, bool) and 0 <= row < n
            ):
                raise ValueError(
                    f"base_row must be the index of a row of X, an integer in "
                    f"[0, {n}), got {row!r}."
                )
            return self.codes[row].copy()
        if self.codes is None:
            return np.zeros(self.n_components)
        return np.median(self.codes, axis=0)

    def values(self, dims, n_values):
        """``n_values`` values of each dimension of ``dims``, an array of shape
        (len(dims), n_values): evenly spaced over ``code_range``, or between
        the percentiles of X's codes, or at evenly spaced percentiles of the
        standard normal prior."""
        low, high = self.percentiles
        if self.code_range is not None:
            limits = _check_code_range(self.code_range, len(dims))
        elif self.codes is not None:
            limits = np.percentile(self.codes[:, list(dims)], [low, high], axis=0).T
            for d, (start, stop) in zip(dims, limits, strict=True):
                if not start < stop:
                    raise ValueError(
                        f"The codes of X do not vary in code dimension {d} "
                        f"between their percentiles {low:g} and {high:g} (both "
                        f"{start:.4g}); pass code_range=(low, high) to choose "
                        "the values."
                    )
        else:
            from scipy.special import ndtri  # the standard normal's norm.ppf

            steps = ndtri(np.linspace(low / 100, high / 100, n_values))
            return np.tile(steps, (len(dims), 1))
        return np.linspace(limits[:, 0], limits[:, 1], n_values, axis=1)

    def decoded(self, codes):
        """The images decoded from ``codes`` of any leading shape."""
        flat = codes.reshape(-1, codes.shape[-1])
        images = _dense(self.decode(flat))
        return images.reshape(*codes.shape[:-1], images.shape[-1])


class CodeGridDisplay:
    """The images decoded from a grid of codes over two code dimensions.

    The decoded manifold of the variational autoencoder tutorials (Kingma
    and Welling's [1]_, Keras', PyTorch's): a square of images, each decoded
    from one point of an evenly spaced grid over two code dimensions, with
    the code values on the axes. It shows what each region of the code
    space means, and how the decoded images change across it.

    Build it with :meth:`from_estimator`; the constructor takes images you
    decoded yourself. All parameters are stored as attributes.

    Parameters
    ----------
    images : array-like of shape (n_y, n_x, n_features)
        ``images[i, j]`` is the image row decoded from the code whose
        dimension ``dims[0]`` is ``x_values[j]`` and ``dims[1]`` is
        ``y_values[i]``.
    x_values : array-like of shape (n_x,)
        The values of code dimension ``dims[0]``, along the horizontal axis.
    y_values : array-like of shape (n_y,)
        The values of code dimension ``dims[1]``, along the vertical axis;
        ``y_values[0]`` is drawn at the bottom.
    image_shape : tuple of int
        How to read a row as an image: ``(H, W)`` or ``(C, H, W)`` with C = 1
        or 3 (``(H, W, C)`` with ``channels_last``), as in
        :class:`ReconstructionDisplay`.
    channels_last : bool, default=False
        Whether rows hold their images as ``X.reshape(-1, H, W, C)``.
    dims : tuple of int, default=(0, 1)
        Which code dimensions the axes vary, for their labels.
    estimator_name : str, default=None
        Title of the plot; None gives no title.

    Attributes
    ----------
    image_ : matplotlib AxesImage
        The mosaic of all images.
    ax_ : matplotlib Axes
        The Axes holding the mosaic; its ticks give the code values at the
        centres of the images.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    TraversalDisplay : The images decoded as one code dimension varies.
    LatentSpaceDisplay : The codes of data in two code dimensions.

    References
    ----------
    .. [1] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes",
       ICLR 2014, figure 4.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> from skae.plotting import CodeGridDisplay
    >>> X = load_digits().data / 16
    >>> vae = VariationalAutoencoder(
    ...     n_components=2, hidden_layer_sizes=(32,), max_epochs=3, random_state=0
    ... ).fit(X)
    >>> display = CodeGridDisplay.from_estimator(vae, image_shape=(8, 8))
    >>> display.images.shape
    (15, 15, 64)
    >>> display.ax_.get_xlabel(), display.ax_.get_ylabel()
    ('code dimension 0', 'code dimension 1')
    """

    def __init__(
        self,
        *,
        images,
        x_values,
        y_values,
        image_shape,
        channels_last=False,
        dims=(0, 1),
        estimator_name=None,
    ):
        self.images = images
        self.x_values = x_values
        self.y_values = y_values
        self.image_shape = image_shape
        self.channels_last = channels_last
        self.dims = dims
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap="gray", vmin=None, vmax=None):
        """Draw the images.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure sized to the images.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey images (ignored for RGB).
        vmin, vmax : float, default=None
            The pixel values drawn as the darkest and the brightest; None
            takes the images' minimum and maximum.

        Returns
        -------
        display : CodeGridDisplay
            This display, with ``image_``, ``ax_`` and ``figure_`` set.
        """
        _check_matplotlib("CodeGridDisplay.plot")
        channels_last = _check_bool(self.channels_last, "channels_last")
        images = _check_image_grid(self.images)
        n_y, n_x = images.shape[:2]
        x_values = np.asarray(self.x_values, dtype=np.float64)
        y_values = np.asarray(self.y_values, dtype=np.float64)
        if x_values.shape != (n_x,) or y_values.shape != (n_y,):
            raise ValueError(
                f"x_values and y_values must have shapes ({n_x},) and ({n_y},), "
                f"one value per column and per row of images, got {x_values.shape} "
                f"and {y_values.shape}."
            )
        # The first row of images at the bottom, as on a plot's y axis.
        mosaic = _draw_mosaic(
            images[::-1],
            self.image_shape,
            channels_last=channels_last,
            ax=ax,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            margins=(1.1, 0.9),
        )
        ax = mosaic.ax
        labels = _value_labels(x_values)
        every = _label_every(labels, mosaic.inches[1], "x")
        ax.set_xticks(mosaic.col_centres[::every], labels[::every])
        labels = _value_labels(y_values)
        every = _label_every(labels, mosaic.inches[0], "y")
        # the first row of images is the mosaic's last
        ax.set_yticks(mosaic.row_centres[::-1][::every], labels[::every])
        ax.set_xlabel(f"code dimension {self.dims[0]}")
        ax.set_ylabel(f"code dimension {self.dims[1]}")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        self.image_, self.ax_, self.figure_ = mosaic.image, ax, mosaic.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X=None,
        *,
        dims=None,
        grid_resolution=15,
        percentiles=(5, 95),
        code_range=None,
        image_shape=None,
        channels_last=None,
        name=None,
        ax=None,
        cmap="gray",
        vmin=None,
        vmax=None,
    ):
        """Decode a grid over two code dimensions and draw the images.

        The grid has ``grid_resolution`` values in each of the two
        dimensions: evenly spaced over ``code_range`` when given; else
        evenly spaced between the ``percentiles`` of the codes of ``X``;
        else, for a :class:`~skae.VariationalAutoencoder`, the standard
        normal prior's quantiles at evenly spaced probabilities (its
        ``norm.ppf``, as the tutorials do), so that each image stands for
        an equal share of the prior. Every other code dimension keeps the
        median code of ``X``, or 0 (the prior's mean) without ``X``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``transform`` and ``inverse_transform``
            (every skae estimator), or a Pipeline ending in one: its
            ``inverse_transform`` decodes into the Pipeline's input space
            when every step has one, else the last step's decodes into that
            step's input space.
        X : {array-like, sparse matrix} of shape (n_samples, n_features), \
default=None
            Data whose codes place the grid and the other dimensions; None
            places them on a VariationalAutoencoder's prior (or over
            ``code_range``, the other dimensions at 0).
        dims : tuple of int, default=None
            The two code dimensions to vary, ``(x, y)``; None takes both
            dimensions of a two-dimensional code, and raises a
            ``ValueError`` for any other width.
        grid_resolution : int, default=15
            The number of values in each dimension, at least 2: the grid
            has ``grid_resolution ** 2`` images.
        percentiles : tuple of float, default=(5, 95)
            The range of the grid, in percentiles of the codes of ``X``, or
            of the standard normal prior without ``X`` (then strictly
            between 0 and 100).
        code_range : array-like of shape (2,) or (2, 2), default=None
            The range of the grid in code values: ``(low, high)`` for both
            dimensions, or one pair per dimension. None takes it from
            ``percentiles``.
        image_shape : tuple of int, default=None
            How to read a row as an image; None takes the estimator's own
            ``image_shape`` (a Pipeline's last step's).
        channels_last : bool, default=None
            Whether rows hold their images channels last; None takes the
            estimator's own (a Pipeline's last step's), or False.
        name : str, default=None
            Title of the plot; None uses the estimator's class name (a
            Pipeline's last step's).
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey images.
        vmin, vmax : float, default=None
            Pixel values drawn as the darkest and the brightest; None takes
            the decoded images' range.

        Returns
        -------
        display : CodeGridDisplay
            The display, drawn.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If ``estimator`` is not fitted.
        TypeError
            If ``estimator`` cannot encode and decode.
        ValueError
            If a parameter has a bad value, or ``X`` is None for an estimator
            without a prior and without ``code_range``.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import AutoencoderTransformer
        >>> from skae.plotting import CodeGridDisplay
        >>> X = load_digits().data / 16
        >>> ae = AutoencoderTransformer(
        ...     n_components=4, hidden_layer_sizes=(32,), max_epochs=3, random_state=0
        ... ).fit(X)
        >>> display = CodeGridDisplay.from_estimator(
        ...     ae, X, dims=(1, 3), grid_resolution=5, image_shape=(8, 8)
        ... )
        >>> display.images.shape, display.ax_.get_ylabel()
        ((5, 5, 64), 'code dimension 3')
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        name = _name(estimator, name)
        grid_resolution = _check_int(grid_resolution, "grid_resolution", 2)
        image_shape, channels_last = _image_defaults(
            estimator, image_shape, channels_last
        )
        source = _Codes(
            estimator, X, name, percentiles=percentiles, code_range=code_range
        )
        dims = _check_dims(
            dims,
            source.n_components,
            "CodeGridDisplay",
            " (the others keep the median code of X, or 0 without X)",
        )
        x_values, y_values = source.values(dims, grid_resolution)
        codes = np.tile(source.base(), (grid_resolution, grid_resolution, 1))
        codes[:, :, dims[0]] = x_values[np.newaxis, :]
        codes[:, :, dims[1]] = y_values[:, np.newaxis]
        display = cls(
            images=source.decoded(codes),
            x_values=x_values,
            y_values=y_values,
            image_shape=image_shape,
            channels_last=channels_last,
            dims=dims,
            estimator_name=name,
        )
        return display.plot(ax, cmap=cmap, vmin=vmin, vmax=vmax)


def _check_traversal_dims(dims, n_codes):
    if dims is None:
        return tuple(range(n_codes))
    array = np.atleast_1d(np.asarray(dims, dtype=object))
    if (
        array.ndim != 1
        or array.size == 0
        or not all(
            isinstance(d, Integral) and not isinstance(d, bool) and 0 <= d < n_codes
            for d in array
        )
        or len(set(array.tolist())) != array.size
    ):
        raise ValueError(
            "dims must be a code dimension or a sequence of different ones, "
            f"integers in [0, {n_codes}), got {dims!r}."
        )
    return tuple(int(d) for d in array)


class TraversalDisplay:
    """The images decoded as one code dimension varies, the others fixed.

    A traversal (or latent traversal, as in the beta-VAE papers [1]_): each row
    of the mosaic varies one code dimension over a range of values while
    every other dimension keeps a base code, and shows the decoded images
    left to right. It shows what each dimension of the code controls, and
    which dimensions control nothing (posterior collapse).

    Build it with :meth:`from_estimator`; the constructor takes images you
    decoded yourself. All parameters are stored as attributes.

    Parameters
    ----------
    images : array-like of shape (n_dims, n_steps, n_features)
        ``images[i, j]`` is the image row decoded with code dimension
        ``dims[i]`` at ``values[i, j]``.
    values : array-like of shape (n_dims, n_steps)
        The values of each varied dimension, one row per dimension.
    dims : sequence of int
        The code dimension each row varies, for its label.
    image_shape : tuple of int
        How to read a row as an image: ``(H, W)`` or ``(C, H, W)`` with C = 1
        or 3 (``(H, W, C)`` with ``channels_last``), as in
        :class:`ReconstructionDisplay`.
    channels_last : bool, default=False
        Whether rows hold their images as ``X.reshape(-1, H, W, C)``.
    estimator_name : str, default=None
        Title of the plot; None gives no title.

    Attributes
    ----------
    image_ : matplotlib AxesImage
        The mosaic of all images.
    value_labels_ : list of matplotlib Text or None
        The value under each image, row by row, when the rows vary over
        different values; None when they share theirs, which the x axis
        then gives.
    ax_ : matplotlib Axes
        The Axes holding the mosaic; its y tick labels name the dimensions
        ("dimension 3").
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    CodeGridDisplay : The images decoded from a grid over two code dimensions.

    References
    ----------
    .. [1] I. Higgins et al., "beta-VAE: Learning Basic Visual Concepts with
       a Constrained Variational Framework", ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> from skae.plotting import TraversalDisplay
    >>> X = load_digits().data / 16
    >>> vae = VariationalAutoencoder(
    ...     n_components=4, hidden_layer_sizes=(32,), max_epochs=3, random_state=0
    ... ).fit(X)
    >>> display = TraversalDisplay.from_estimator(vae, image_shape=(8, 8), n_steps=7)
    >>> display.images.shape
    (4, 7, 64)
    >>> [label.get_text() for label in display.ax_.get_xticklabels()]
    ['-1.64', '-0.84', '-0.39', '0.00', '0.39', '0.84', '1.64']
    """

    def __init__(
        self,
        *,
        images,
        values,
        dims,
        image_shape,
        channels_last=False,
        estimator_name=None,
    ):
        self.images = images
        self.values = values
        self.dims = dims
        self.image_shape = image_shape
        self.channels_last = channels_last
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap="gray", vmin=None, vmax=None):
        """Draw the images.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure sized to the images.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey images (ignored for RGB).
        vmin, vmax : float, default=None
            The pixel values drawn as the darkest and the brightest; None
            takes the images' minimum and maximum.

        Returns
        -------
        display : TraversalDisplay
            This display, with ``image_``, ``value_labels_``, ``ax_`` and
            ``figure_`` set.
        """
        _check_matplotlib("TraversalDisplay.plot")
        channels_last = _check_bool(self.channels_last, "channels_last")
        images = _check_image_grid(self.images)
        n_dims, n_steps = images.shape[:2]
        values = np.asarray(self.values, dtype=np.float64)
        dims = list(np.atleast_1d(self.dims))
        if values.shape != (n_dims, n_steps) or len(dims) != n_dims:
            raise ValueError(
                f"values must have shape ({n_dims}, {n_steps}) and dims length "
                f"{n_dims}, one per row of images, got {values.shape} and "
                f"{len(dims)}."
            )
        shared = bool(np.all(values == values[0]))
        mosaic = _draw_mosaic(
            images,
            self.image_shape,
            channels_last=channels_last,
            ax=ax,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            margins=(1.2, 0.9 if shared else 0.45),
            label_room=not shared,
        )
        ax = mosaic.ax
        ax.set_yticks(mosaic.row_centres, [f"dimension {d}" for d in dims])
        self.value_labels_ = None
        if shared:
            labels = _value_labels(values[0])
            every = _label_every(labels, mosaic.inches[1], "x")
            ax.set_xticks(mosaic.col_centres[::every], labels[::every])
            ax.set_xlabel("code value")
        else:
            self.value_labels_ = [
                ax.text(x, bottom + 0.5, label, ha="center", va="top", fontsize=7)
                for row, bottom in zip(values, mosaic.tile_bottoms, strict=True)
                for x, label in zip(mosaic.col_centres, _value_labels(row), strict=True)
            ]
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        self.image_, self.ax_, self.figure_ = mosaic.image, ax, mosaic.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X=None,
        *,
        dims=None,
        base_row=None,
        n_steps=9,
        percentiles=(5, 95),
        code_range=None,
        image_shape=None,
        channels_last=None,
        name=None,
        ax=None,
        cmap="gray",
        vmin=None,
        vmax=None,
    ):
        """Vary each of ``dims`` in turn from a base code, decode and draw.

        The base code is that of row ``base_row`` of ``X``, or the median
        code of ``X``, or 0 (the prior's mean) without ``X``. Each varied
        dimension takes ``n_steps`` values: evenly spaced over
        ``code_range`` when given; else evenly spaced between the
        ``percentiles`` of that dimension's codes of ``X``; else, for a
        :class:`~skae.VariationalAutoencoder`, the standard normal prior's
        quantiles at evenly spaced probabilities.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``transform`` and ``inverse_transform``
            (every skae estimator), or a Pipeline ending in one: its
            ``inverse_transform`` decodes into the Pipeline's input space
            when every step has one, else the last step's decodes into that
            step's input space.
        X : {array-like, sparse matrix} of shape (n_samples, n_features), \
default=None
            Data whose codes give the base code and the ranges; None takes
            a VariationalAutoencoder's prior (or ``code_range``, the base
            code 0).
        dims : int or sequence of int, default=None
            The code dimensions to vary, one row of images each; None varies
            every dimension.
        base_row : int, default=None
            The index of the row of ``X`` whose code is the base; None takes
            the median code of ``X``.
        n_steps : int, default=9
            The number of values of each dimension, at least 2.
        percentiles : tuple of float, default=(5, 95)
            The range of each dimension, in percentiles of its codes of
            ``X``, or of the standard normal prior without ``X`` (then
            strictly between 0 and 100).
        code_range : array-like of shape (2,) or (n_dims, 2), default=None
            The range in code values: ``(low, high)`` for every dimension,
            or one pair per dimension of ``dims``. None takes it from
            ``percentiles``.
        image_shape : tuple of int, default=None
            How to read a row as an image; None takes the estimator's own
            ``image_shape`` (a Pipeline's last step's).
        channels_last : bool, default=None
            Whether rows hold their images channels last; None takes the
            estimator's own (a Pipeline's last step's), or False.
        name : str, default=None
            Title of the plot; None uses the estimator's class name (a
            Pipeline's last step's).
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str or matplotlib Colormap, default="gray"
            Colour map of grey images.
        vmin, vmax : float, default=None
            Pixel values drawn as the darkest and the brightest; None takes
            the decoded images' range.

        Returns
        -------
        display : TraversalDisplay
            The display, drawn.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If ``estimator`` is not fitted.
        TypeError
            If ``estimator`` cannot encode and decode.
        ValueError
            If a parameter has a bad value, or ``X`` is None for an estimator
            without a prior and without ``code_range``.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import AutoencoderTransformer
        >>> from skae.plotting import TraversalDisplay
        >>> X = load_digits().data / 16
        >>> ae = AutoencoderTransformer(
        ...     n_components=4, hidden_layer_sizes=(32,), max_epochs=3, random_state=0
        ... ).fit(X)
        >>> display = TraversalDisplay.from_estimator(
        ...     ae, X, dims=[0, 2], base_row=0, image_shape=(8, 8)
        ... )
        >>> [label.get_text() for label in display.ax_.get_yticklabels()]
        ['dimension 0', 'dimension 2']
        >>> len(display.value_labels_)  # the ranges differ: one label per image
        18
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        name = _name(estimator, name)
        n_steps = _check_int(n_steps, "n_steps", 2)
        image_shape, channels_last = _image_defaults(
            estimator, image_shape, channels_last
        )
        source = _Codes(
            estimator, X, name, percentiles=percentiles, code_range=code_range
        )
        dims = _check_traversal_dims(dims, source.n_components)
        base = source.base(base_row)
        values = source.values(dims, n_steps)
        codes = np.tile(base, (len(dims), n_steps, 1))
        for i, d in enumerate(dims):
            codes[i, :, d] = values[i]
        display = cls(
            images=source.decoded(codes),
            values=values,
            dims=dims,
            image_shape=image_shape,
            channels_last=channels_last,
            estimator_name=name,
        )
        return display.plot(ax, cmap=cmap, vmin=vmin, vmax=vmax)


# ----------------------------------------------------------------------------
# Training curves


def _plain_log_formatter(**params):
    """matplotlib's choice of log-scale tick labels, written as plain numbers
    (0.05 rather than 5e-02 or 5x10^-2)."""
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def __call__(self, x, pos=None):
            return f"{x:g}" if super().__call__(x, pos) else ""

    return PlainLogFormatter(**params)


class LossCurveDisplay:
    """The training (and validation) loss per epoch.

    Build it with :meth:`from_estimator` from the ``history_`` that every
    skae estimator records (a skorch ``History``); the constructor takes
    losses you collected yourself. All parameters are stored as attributes.

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        The training loss of each epoch.
    valid_loss : array-like of shape (n_epochs,), default=None
        The validation loss of each epoch (NaN where an epoch had none), or
        None.
    epochs : array-like of shape (n_epochs,), default=None
        The epoch numbers; None numbers them from 1.
    estimator_name : str, default=None
        Title of the plot; None gives no title.

    Attributes
    ----------
    train_line_ : matplotlib Line2D
        The training loss.
    valid_line_ : matplotlib Line2D or None
        The validation loss; None without one.
    ax_ : matplotlib Axes
        The Axes of the curves.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    ReconstructionDisplay : Images next to their reconstructions.
    LatentSpaceDisplay : The codes of a two-dimensional bottleneck.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import LossCurveDisplay
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(
    ...     max_epochs=5, early_stopping=True, random_state=0
    ... ).fit(X)
    >>> display = LossCurveDisplay.from_estimator(ae, log_scale=True)
    >>> display.train_line_.get_xdata().tolist()
    [1, 2, 3, 4, 5]
    >>> display.ax_.get_yscale(), display.valid_line_.get_label()
    ('log', 'validation')
    """

    def __init__(
        self, *, train_loss, valid_loss=None, epochs=None, estimator_name=None
    ):
        self.train_loss = train_loss
        self.valid_loss = valid_loss
        self.epochs = epochs
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, log_scale=False):
        """Draw the loss curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        log_scale : bool, default=False
            Draw the loss on a logarithmic scale, which shows the slow
            progress of late epochs. The losses must then be positive (a
            variational autoencoder's Gaussian ELBO loss can be negative).

        Returns
        -------
        display : LossCurveDisplay
            This display, with ``train_line_``, ``valid_line_``, ``ax_`` and
            ``figure_`` set.
        """
        _check_matplotlib("LossCurveDisplay.plot")
        from matplotlib.ticker import MaxNLocator

        train = np.asarray(self.train_loss, dtype=np.float64)
        curves = [("training", train)]
        if self.valid_loss is not None:
            curves.append(("validation", np.asarray(self.valid_loss, np.float64)))
        epochs = (
            np.arange(1, len(train) + 1)
            if self.epochs is None
            else np.asarray(self.epochs)
        )
        if train.ndim != 1 or len(train) == 0:
            raise ValueError(
                f"train_loss must be a non-empty 1-D array, got shape {train.shape}."
            )
        if any(loss.shape != train.shape for _, loss in curves) or (
            epochs.shape != train.shape
        ):
            raise ValueError(
                "train_loss, valid_loss and epochs must have one value per epoch, "
                f"got shapes {train.shape}, "
                f"{None if self.valid_loss is None else curves[1][1].shape} and "
                f"{epochs.shape}."
            )
        if log_scale and any(np.nanmin(loss) <= 0 for _, loss in curves):
            raise ValueError(
                "log_scale=True needs positive losses, but the smallest is "
                f"{min(np.nanmin(loss) for _, loss in curves):.4g}."
            )
        ax, figure = _axes(ax, (6.4, 4.2))
        # Markers show each epoch of a short run.
        style = {"marker": "o", "markersize": 3} if len(train) <= 30 else {}
        lines = [
            ax.plot(epochs, loss, label=label, **style)[0] for label, loss in curves
        ]
        self.train_line_ = lines[0]
        self.valid_line_ = lines[1] if len(lines) > 1 else None
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log_scale:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(_plain_log_formatter())
            ax.yaxis.set_minor_formatter(_plain_log_formatter(labelOnlyBase=False))
        if self.valid_line_ is None:
            ax.set_ylabel("training loss")
        else:
            ax.set_ylabel("loss")
            ax.legend()
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        self.ax_, self.figure_ = ax, figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None, log_scale=False):
        """Plot the losses recorded in ``estimator.history_``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted skae estimator, a :class:`~sklearn.pipeline.Pipeline`
            ending in one (whose ``history_`` is read), or any estimator with
            a ``history_`` holding one dict per epoch with a "train_loss"
            and, with a validation split, a "valid_loss", as a skorch
            ``History``.
        name : str, default=None
            Title of the plot; None uses the estimator's class name (a
            Pipeline's last step's).
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        log_scale : bool, default=False
            Draw the loss on a logarithmic scale.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If ``estimator`` is not fitted.
        TypeError
            If ``estimator`` records no ``history_`` of losses.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import AutoencoderTransformer
        >>> from skae.plotting import LossCurveDisplay
        >>> X = load_digits().data / 16
        >>> ae = AutoencoderTransformer(max_epochs=3, random_state=0).fit(X)
        >>> display = LossCurveDisplay.from_estimator(ae)
        >>> display.ax_.get_xlabel(), display.ax_.get_ylabel()
        ('epoch', 'training loss')
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        name = _name(estimator, name)
        history = getattr(_final_step(estimator), "history_", None)
        if history is None or not all(
            isinstance(row, dict) and "train_loss" in row for row in history
        ):
            raise TypeError(
                f"{name} has no history_ of per-epoch losses (dicts with a "
                '"train_loss"), as skae estimators record.'
            )
        valid = [row.get("valid_loss", np.nan) for row in history]
        display = cls(
            train_loss=[row["train_loss"] for row in history],
            valid_loss=None if np.all(np.isnan(valid)) else valid,
            epochs=[row.get("epoch", i + 1) for i, row in enumerate(history)],
            estimator_name=name,
        )
        return display.plot(ax, log_scale=log_scale)
