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
from collections import namedtuple
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier, is_outlier_detector
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from ._validation import check_image_shape

__all__ = ["LatentSpaceDisplay", "LossCurveDisplay", "ReconstructionDisplay"]

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
