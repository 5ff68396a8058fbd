"""Data sets for the examples and benchmarks (no torch).

:func:`fetch_mnist` loads the MNIST digits from their original IDX files,
downloading them into a local cache the first time, in the manner of
scikit-learn's ``fetch_*`` functions; :func:`get_data_home` says where that
cache is.
"""

import gzip
import hashlib
import logging
import os
import shutil
import time
import zlib
from collections import namedtuple
from numbers import Integral, Real
from pathlib import Path
from tempfile import NamedTemporaryFile
from urllib.error import URLError
from urllib.request import urlopen

import numpy as np
from sklearn.datasets import get_data_home as _sklearn_data_home
from sklearn.utils import Bunch

from ._sklearn_compat import Interval, StrOptions, validate_params

__all__ = ["fetch_mnist", "get_data_home"]

logger = logging.getLogger(__name__)

# The mirror PyTorch's torchvision downloads MNIST from. Tests point this at
# a local server.
_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

# One IDX file: its name, the SHA-256 of its *uncompressed* bytes and the
# shape its header must give. The checksum is of the content rather than of
# the .gz archive so that any faithful gzip of the official bytes passes:
# the mirror's archives and re-compressed copies differ as archives but not
# in content. These are the official files' checksums (their MD5 sums match
# those that yann.lecun.com published with them).
_IdxFile = namedtuple("_IdxFile", ["filename", "sha256", "shape"])

_FILES = {
    ("train", "images"): _IdxFile(
        "train-images-idx3-ubyte.gz",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        (60000, 28, 28),
    ),
    ("train", "labels"): _IdxFile(
        "train-labels-idx1-ubyte.gz",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        (60000,),
    ),
    ("test", "images"): _IdxFile(
        "t10k-images-idx3-ubyte.gz",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        (10000, 28, 28),
    ),
    ("test", "labels"): _IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        (10000,),
    ),
}

_KINDS = ("images", "labels")
_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}

# The IDX magic number's first three bytes for unsigned-byte data; the fourth
# is the number of dimensions.
_IDX_UBYTE = b"\x00\x00\x08"

# Pixel types that fetch_mnist returns: floats are scaled to [0, 1].
_DTYPES = ("float32", "float64", "uint8")

_DESCR = """\
MNIST handwritten digits
------------------------

**Data Set Characteristics:**

:Number of Instances: 70000 (60000 training, 10000 test)
:Number of Attributes: 784 (28x28 grey-level pixels)
:Attribute Information: pixel intensities, 0 = background, in row-major
    order (``data[i].reshape(28, 28)`` is the image); float32 ``pixels /
    255`` in [0, 1] by default, or the stored uint8 values 0-255
:Classes: 10 (the digits 0-9)
:Creators: Yann LeCun, Corinna Cortes and Christopher J.C. Burges

The MNIST database mixes digits written by Census Bureau employees and by
high-school students (NIST Special Databases 3 and 1), size-normalised to
20x20 pixels and centred by centre of mass in a 28x28 field. The 60000
training images and the 10000 test images were written by disjoint sets of
writers, so the usual protocol trains on the first and reports on the
second; ``subset="all"`` gives the training rows first, then the test rows.

The files are the original IDX files, read from (and downloaded to) the
``mnist`` folder of the data home; each file's content is checked against
its SHA-256 checksum.

.. rubric:: References

- Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
  applied to document recognition", Proceedings of the IEEE 86(11),
  2278-2324, 1998.
"""


@validate_params(
    {"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True
)
def get_data_home(data_home=None):
    """Return the folder where skae keeps its data sets.

    The folder is, in order of precedence:

    1. ``data_home``, when given;
    2. the ``SKAE_DATA`` environment variable, when set and not empty;
    3. a ``skae`` folder in scikit-learn's data home
       (:func:`sklearn.datasets.get_data_home`: the ``SCIKIT_LEARN_DATA``
       environment variable, or ``~/scikit_learn_data``).

    ``~`` is expanded to the user's home folder. Each data set lives in its
    own subfolder: MNIST in ``<data home>/mnist``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        A folder to use instead of the default.

    Returns
    -------
    data_home : str
        The path of skae's data folder. It is not created here:
        :func:`fetch_mnist` creates it when it downloads.

    Examples
    --------
    >>> from skae.datasets import get_data_home
    >>> get_data_home("/tmp/my_data")
    '/tmp/my_data'
    """
    if data_home is None:
        data_home = os.environ.get("SKAE_DATA") or os.path.join(
            _sklearn_data_home(), "skae"
        )
    return os.path.expanduser(os.fspath(data_home))


def _corrupt(path, reason):
    return OSError(
        f"The MNIST file {path} is corrupt: {reason}. Delete it and call "
        "fetch_mnist again to download a fresh copy."
    )


def _read_idx(path, expected, on_error=_corrupt):
    """The array in the gzipped IDX file ``path``, checked against the
    ``_IdxFile`` ``expected``; ``on_error(path, reason)`` makes the error
    raised when the file is not that file."""
    try:
        with gzip.open(path) as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise on_error(path, f"it is not a complete gzip file ({exc})") from exc
    # IDX header: two zero bytes, 0x08 (unsigned bytes), the number of
    # dimensions, then each dimension as a big-endian 32-bit integer.
    n_dims = len(expected.shape)
    header = 4 + 4 * n_dims
    magic = _IDX_UBYTE + bytes([n_dims])
    if raw[:4] != magic:
        raise on_error(
            path,
            f"its magic number is {raw[:4].hex() or 'missing'}, not "
            f"{magic.hex()} (unsigned bytes, {n_dims} dimensions)",
        )
    if len(raw) < header:
        raise on_error(path, f"its header is cut short, at {len(raw)} bytes")
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)
    )
    if len(raw) != header + int(np.prod(shape)):
        raise on_error(
            path,
            f"its header gives shape {shape}, which needs "
            f"{header + int(np.prod(shape))} bytes, but it holds {len(raw)}",
        )
    if shape != expected.shape:
        raise on_error(path, f"it holds shape {shape}, not {expected.shape}")
    checksum = hashlib.sha256(raw).hexdigest()
    if checksum != expected.sha256:
        raise on_error(
            path,
            f"the SHA-256 checksum of its content is {checksum}, not {expected.sha256}",
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _download(expected, folder, n_retries, delay):
    """Download ``expected`` into ``folder`` and return its array.

    The file is written to a temporary file in ``folder`` and renamed only
    once its content has passed every check, so that an interrupted or
    corrupt download never stays in the cache.
    """
    url = _BASE_URL + expected.filename
    folder.mkdir(parents=True, exist_ok=True)
    logger.info("Downloading %s to %s", url, folder)
    temp = NamedTemporaryFile(
        prefix=expected.filename + ".part_", dir=folder, delete=False
    )
    temp.close()
    temp_path = Path(temp.name)
    try:
        while True:
            try:
                with urlopen(url, timeout=60) as response, open(temp_path, "wb") as f:
                    shutil.copyfileobj(response, f)
                break
            except (URLError, TimeoutError, ConnectionError) as exc:
                if n_retries == 0:
                    raise OSError(
                        f"Could not download {url}: {exc}. Check the network "
                        f"connection, or copy {expected.filename} into {folder} "
                        "yourself."
                    ) from exc
                logger.warning("Retrying the download of %s (%s)", url, exc)
                n_retries -= 1
                time.sleep(delay)

        def bad_download(path, reason):
            return OSError(
                f"The file downloaded from {url} is not the MNIST file "
                f"{expected.filename}: {reason}. It was not saved in {folder}; "
                "try again later, or copy the official file there yourself."
            )

        array = _read_idx(temp_path, expected, on_error=bad_download)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    # Atomic within one folder: a reader sees the whole file or none.
    os.replace(temp_path, folder / expected.filename)
    return array


def _check_dtype(dtype):
    # np.dtype(None) is float64, so None is refused before the conversion.
    try:
        checked = None if dtype is None else np.dtype(dtype)
    except TypeError:
        checked = None
    if checked is None or checked.name not in _DTYPES:
        raise ValueError(
            f"dtype must be np.float32, np.float64 or np.uint8, got {dtype!r}."
        )
    return checked


def _pixels(parts, dtype):
    """The uint8 image arrays ``parts`` stacked into one new array of
    ``dtype``; floating types are divided by 255."""
    if dtype == np.uint8:
        return np.concatenate(parts)  # a copy: the file buffers are read-only
    out = np.empty((sum(len(p) for p in parts), *parts[0].shape[1:]), dtype=dtype)
    start = 0
    for part in parts:
        # Division rather than multiplication by 1/255, so that the values
        # are exactly ``part.astype(dtype) / 255``.
        np.divide(part, dtype.type(255), out=out[start : start + len(part)])
        start += len(part)
    return out


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "subset": [StrOptions(set(_SUBSETS))],
        "dtype": [str, type, np.dtype],
        "download_if_missing": ["boolean"],
        "return_X_y": ["boolean"],
        "n_retries": [Interval(Integral, 0, None, closed="left")],
        "delay": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def fetch_mnist(
    *,
    data_home=None,
    subset="train",
    dtype=np.float32,
    download_if_missing=True,
    return_X_y=False,
    n_retries=3,
    delay=1.0,
):
    """Load the MNIST handwritten digits (classification, images).

    ==============   ==============================================
    Classes          10
    Samples total    70000 (60000 training, 10000 test)
    Dimensionality   784 (28x28 grey pixels)
    Features         float32 in [0, 1] (default), or uint8 in 0-255
    ==============   ==============================================

    The four original IDX files are read from the ``mnist`` folder of the
    data home (see :func:`get_data_home`); missing ones are downloaded there
    first, from https://ossci-datasets.s3.amazonaws.com/mnist/ (the mirror
    that torchvision uses). Every file's content is checked against its
    SHA-256 checksum, when downloaded and whenever read.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data home: MNIST is read from ``<data_home>/mnist/``, which holds
        ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
        ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``.
        None takes the ``SKAE_DATA`` environment variable, and without it a
        ``skae`` folder in scikit-learn's data home; see
        :func:`get_data_home`.
    subset : {"train", "test", "all"}, default="train"
        The 60000 training images, the 10000 test images, or all 70000
        (training rows first).
    dtype : {np.float32, np.float64, np.uint8}, default=np.float32
        Type of the pixels in ``data`` and ``images``. Floating types hold
        ``pixels / 255``, in [0, 1], the scale that ``loss="bce"`` needs;
        ``np.uint8`` keeps the stored values 0-255 (a quarter of the memory
        of float32). Strings such as ``"uint8"`` are accepted.
    download_if_missing : bool, default=True
        If False, raise an ``OSError`` when a file is missing instead of
        downloading it.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    n_retries : int, default=3
        Number of retries when a download fails on a network error.
    delay : float, default=1.0
        Seconds between retries.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_samples, 784)
            One image per row, its 28 rows of 28 pixels one after another.
        target : ndarray of shape (n_samples,), dtype int64
            The digit in each image, 0-9.
        images : ndarray of shape (n_samples, 28, 28)
            The same pixels as ``data`` (a view of it), one image each.
        feature_names : list of str
            ``"pixel_<row>_<column>"`` for each of the 784 columns.
        target_names : ndarray of shape (10,)
            The digits 0-9.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays above.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download_if_missing`` is False.
    OSError
        If a download fails, or a file is not the MNIST file it should be
        (not a complete gzip file, a wrong IDX header or size, or a checksum
        that does not match); the message names the file.

    Examples
    --------
    >>> from skae.datasets import fetch_mnist
    >>> X, y = fetch_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((10000, 784), dtype('float32'), array([7, 2, 1, 0, 4]))
    """
    dtype = _check_dtype(dtype)
    folder = Path(get_data_home(data_home)) / "mnist"
    needed = [_FILES[part, kind] for part in _SUBSETS[subset] for kind in _KINDS]
    missing = [f for f in needed if not (folder / f.filename).is_file()]
    if missing and not download_if_missing:
        names = ", ".join(f.filename for f in missing)
        raise FileNotFoundError(
            f"MNIST files not found in {folder}: {names}, and "
            "download_if_missing is False. Set download_if_missing=True to "
            f"download them from {_BASE_URL}, or point data_home (or the "
            "SKAE_DATA environment variable) at a folder whose mnist/ "
            "subfolder holds them."
        )
    arrays = {
        f.filename: (
            _download(f, folder, n_retries, delay)
            if f in missing
            else _read_idx(folder / f.filename, f)
        )
        for f in needed
    }
    parts = _SUBSETS[subset]
    images = _pixels([arrays[_FILES[p, "images"].filename] for p in parts], dtype)
    target = np.concatenate(
        [arrays[_FILES[p, "labels"].filename] for p in parts]
    ).astype(np.int64)
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=images,
        feature_names=[f"pixel_{i}_{j}" for i in range(28) for j in range(28)],
        target_names=np.arange(10),
        DESCR=_DESCR,
    )
