"""skae.datasets: reading MNIST, the data home, downloads against a local
server (never the internet), and the errors on missing or corrupt files."""

import functools
import gzip
import inspect
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import run_without_torch
from numpy.testing import assert_array_equal

import skae
from skae import datasets
from skae.datasets import fetch_mnist, get_data_home

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
ALL_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
# Digits 0-9 in each subset (LeCun et al.'s published counts).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

pytestmark = pytest.mark.skipif(
    not SHARED_MNIST.is_dir(), reason="needs the MNIST files in ../shared/data"
)


def _home_with(folder, files):
    """``folder`` as a data home whose mnist/ holds ``files`` (a name ->
    bytes dict, or names linked to the shared copies)."""
    mnist = Path(folder) / "mnist"
    mnist.mkdir(parents=True)
    for name in files:
        if isinstance(files, dict):
            (mnist / name).write_bytes(files[name])
        else:
            (mnist / name).symlink_to(SHARED_MNIST / name)
    return Path(folder)


@pytest.fixture(scope="module")
def mnist_home(tmp_path_factory):
    return _home_with(tmp_path_factory.mktemp("home"), ALL_FILES)


@pytest.fixture(scope="module")
def train(mnist_home):
    return fetch_mnist(data_home=mnist_home, download_if_missing=False)


@pytest.fixture(scope="module")
def test(mnist_home):
    return fetch_mnist(data_home=mnist_home, subset="test", download_if_missing=False)


@functools.cache
def _shared_raw(name):
    """The uncompressed content of a shared MNIST file."""
    return gzip.decompress((SHARED_MNIST / name).read_bytes())


def _gz(raw):
    return gzip.compress(raw, compresslevel=1)


# ----------------------------------------------------------------------------
# Reading


@pytest.mark.parametrize(
    "subset, counts", [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)]
)
def test_fetch_mnist_reads_the_subset(mnist_home, train, test, subset, counts):
    bunch = train if subset == "train" else test
    n = sum(counts)
    assert bunch.data.shape == (n, 784) and bunch.data.dtype == np.float32
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert bunch.target.shape == (n,) and bunch.target.dtype == np.int64
    assert_array_equal(np.bincount(bunch.target), counts)
    assert bunch.images.shape == (n, 28, 28)
    assert np.shares_memory(bunch.images, bunch.data)
    assert_array_equal(bunch.images[3], bunch.data[3].reshape(28, 28))
    assert len(bunch.feature_names) == 784
    assert bunch.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
    assert bunch.feature_names[-1] == "pixel_27_27"
    assert_array_equal(bunch.target_names, np.arange(10))
    assert "MNIST" in bunch.DESCR


def test_pixels_are_the_stored_bytes_over_255(test):
    raw = np.frombuffer(_shared_raw(TEST_IMAGES), np.uint8, offset=16)
    assert_array_equal(test.data.ravel(), raw.astype(np.float32) / 255)
    labels = np.frombuffer(_shared_raw(TEST_LABELS), np.uint8, offset=8)
    assert_array_equal(test.target, labels)
    assert_array_equal(test.target[:5], [7, 2, 1, 0, 4])  # the known first digits


def test_subset_all_is_train_then_test(mnist_home, train, test):
    X, y = fetch_mnist(
        data_home=mnist_home, subset="all", return_X_y=True, download_if_missing=False
    )
    assert X.shape == (70000, 784)
    assert_array_equal(X[:60000], train.data)
    assert_array_equal(X[60000:], test.data)
    assert_array_equal(y, np.concatenate([train.target, test.target]))


def test_return_X_y(mnist_home, test):
    X, y = fetch_mnist(data_home=mnist_home, subset="test", return_X_y=True)
    assert_array_equal(X, test.data)
    assert_array_equal(y, test.target)


@pytest.mark.parametrize("dtype", [np.uint8, "uint8", np.dtype("uint8")])
def test_uint8_keeps_the_stored_values(mnist_home, test, dtype):
    X, _ = fetch_mnist(
        data_home=mnist_home, subset="test", dtype=dtype, return_X_y=True
    )
    assert X.dtype == np.uint8 and X.max() == 255
    assert_array_equal(
        X, np.frombuffer(_shared_raw(TEST_IMAGES), np.uint8, offset=16).reshape(-1, 784)
    )
    assert X.flags.writeable


def test_float64_pixels(mnist_home, test):
    X, _ = fetch_mnist(
        data_home=mnist_home, subset="test", dtype=np.float64, return_X_y=True
    )
    assert X.dtype == np.float64
    assert_array_equal(X.astype(np.float32), test.data)
    assert X.flags.writeable


@pytest.mark.parametrize("dtype", ["int32", np.float16, "not a dtype"])
def test_other_dtypes_are_refused(mnist_home, dtype):
    with pytest.raises(ValueError, match="dtype must be np.float32, np.float64 or"):
        fetch_mnist(data_home=mnist_home, dtype=dtype)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"subset": "validation"}, "'subset' parameter"),
        ({"dtype": None}, "'dtype' parameter"),
        ({"download_if_missing": "no"}, "'download_if_missing' parameter"),
        ({"n_retries": -1}, "'n_retries' parameter"),
    ],
)
def test_bad_parameters(mnist_home, params, match):
    with pytest.raises(ValueError, match=match):
        fetch_mnist(data_home=mnist_home, **params)


# ----------------------------------------------------------------------------
# Where the data lives


def test_data_home_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn"))
    monkeypatch.delenv("SKAE_DATA", raising=False)
    assert get_data_home() == str(tmp_path / "sklearn" / "skae")
    monkeypatch.setenv("SKAE_DATA", "")  # empty counts as unset
    assert get_data_home() == str(tmp_path / "sklearn" / "skae")
    monkeypatch.setenv("SKAE_DATA", str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert get_data_home("~/data") == str(tmp_path / "user" / "data")
    assert not (tmp_path / "env").exists()  # nothing is created


def test_fetch_mnist_reads_from_skae_data(mnist_home, tmp_path, monkeypatch, test):
    monkeypatch.setenv("SKAE_DATA", str(mnist_home))
    X, _ = fetch_mnist(subset="test", download_if_missing=False, return_X_y=True)
    assert_array_equal(X, test.data)
    # data_home wins over the environment variable
    monkeypatch.setenv("SKAE_DATA", str(tmp_path / "empty"))
    X, _ = fetch_mnist(
        data_home=mnist_home, subset="test", download_if_missing=False, return_X_y=True
    )
    assert_array_equal(X, test.data)


def test_missing_files_without_download(tmp_path):
    home = _home_with(tmp_path, [TEST_IMAGES])
    with pytest.raises(FileNotFoundError) as info:
        fetch_mnist(data_home=home, subset="test", download_if_missing=False)
    message = str(info.value)
    assert str(home / "mnist") in message and TEST_LABELS in message
    assert TEST_IMAGES not in message  # only the missing one is named
    assert "download_if_missing" in message
    # an empty home stays empty: nothing is created
    with pytest.raises(FileNotFoundError, match=TRAIN_IMAGES):
        fetch_mnist(data_home=tmp_path / "empty", download_if_missing=False)
    assert not (tmp_path / "empty").exists()


# ----------------------------------------------------------------------------
# Downloads, from a local server


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder served over HTTP on 127.0.0.1, set as the download URL."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    handler = functools.partial(_Handler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    monkeypatch.setattr(
        datasets, "_BASE_URL", f"http://127.0.0.1:{server.server_port}/"
    )
    yield folder, server.requests
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_fills_the_cache(mirror, tmp_path, test):
    folder, requests = mirror
    for name in (TEST_IMAGES, TEST_LABELS):
        shutil.copy(SHARED_MNIST / name, folder)
    home = tmp_path / "cache"
    bunch = fetch_mnist(data_home=home, subset="test", n_retries=0)
    assert_array_equal(bunch.data, test.data)
    assert_array_equal(bunch.target, test.target)
    assert sorted(requests) == sorted(["/" + TEST_IMAGES, "/" + TEST_LABELS])
    assert sorted(os.listdir(home / "mnist")) == sorted([TEST_IMAGES, TEST_LABELS])
    # the second call reads the cache
    X, _ = fetch_mnist(data_home=home, subset="test", return_X_y=True)
    assert_array_equal(X, test.data)
    assert len(requests) == 2


def test_download_only_the_missing_files(mirror, tmp_path, test):
    folder, requests = mirror
    shutil.copy(SHARED_MNIST / TEST_LABELS, folder)
    home = _home_with(tmp_path / "cache", [TEST_IMAGES])
    X, y = fetch_mnist(data_home=home, subset="test", return_X_y=True, n_retries=0)
    assert requests == ["/" + TEST_LABELS]
    assert_array_equal(y, test.target)


def _truncated(name):
    data = (SHARED_MNIST / name).read_bytes()
    return data[: len(data) // 2]


def _one_pixel_changed(name):
    raw = bytearray(_shared_raw(name))
    raw[1000] ^= 0xFF
    return _gz(bytes(raw))


def _short_body(name):
    raw = _shared_raw(name)
    return _gz(raw[:-784])  # the header still says 10000 images


# name -> (bytes served or cached as the test images, words in the message)
BAD_FILES = {
    "truncated gzip": (lambda: _truncated(TEST_IMAGES), "not a complete gzip file"),
    "not gzip": (lambda: b"<html>Not Found</html>", "not a complete gzip file"),
    "labels for images": (
        lambda: (SHARED_MNIST / TEST_LABELS).read_bytes(),
        "magic number is 00000801, not 00000803",
    ),
    "short header": (lambda: _gz(b"\x00\x00\x08\x03\x00\x00"), "header is cut short"),
    "short body": (lambda: _short_body(TEST_IMAGES), "but it holds 7839232"),
    "changed pixel": (
        lambda: _one_pixel_changed(TEST_IMAGES),
        "SHA-256 checksum of its content",
    ),
    "wrong shape": (
        lambda: _gz(
            b"\x00\x00\x08\x03"
            + b"".join(d.to_bytes(4, "big") for d in (20000, 14, 28))
            + bytes(20000 * 14 * 28)
        ),
        r"shape \(20000, 14, 28\), not \(10000, 28, 28\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_download_is_never_cached(mirror, tmp_path, case):
    make, words = BAD_FILES[case]
    folder, _ = mirror
    (folder / TEST_IMAGES).write_bytes(make())
    shutil.copy(SHARED_MNIST / TEST_LABELS, folder)
    home = tmp_path / "cache"
    url = datasets._BASE_URL + TEST_IMAGES
    with pytest.raises(OSError, match=words) as info:
        fetch_mnist(data_home=home, subset="test", n_retries=0)
    message = str(info.value)
    assert f"downloaded from {url} is not the MNIST file {TEST_IMAGES}" in message
    assert f"It was not saved in {home / 'mnist'}" in message
    assert os.listdir(home / "mnist") == []  # no partial or corrupt file


def test_network_errors_are_retried_then_reported(mirror, tmp_path, caplog):
    _, requests = mirror  # serves nothing: every request gets a 404
    home = tmp_path / "cache"
    with pytest.raises(OSError, match=f"Could not download .*{TEST_IMAGES}.*404"):
        fetch_mnist(data_home=home, subset="test", n_retries=2, delay=0)
    assert requests == ["/" + TEST_IMAGES] * 3
    assert caplog.text.count("Retrying the download") == 2
    assert os.listdir(home / "mnist") == []


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_corrupt_cached_file(tmp_path, case):
    make, words = BAD_FILES[case]
    home = _home_with(tmp_path, {TEST_IMAGES: make()})
    (home / "mnist" / TEST_LABELS).symlink_to(SHARED_MNIST / TEST_LABELS)
    path = home / "mnist" / TEST_IMAGES
    with pytest.raises(OSError, match=words) as info:
        fetch_mnist(data_home=home, subset="test")
    message = str(info.value)
    assert f"The MNIST file {path} is corrupt" in message
    assert "Delete it and call fetch_mnist again" in message
    assert path.exists()  # the user's file is left for them to inspect


# ----------------------------------------------------------------------------
# Packaging


def test_submodule_of_skae():
    assert skae.datasets is datasets
    assert "datasets" in skae.__all__


def test_imports_without_torch(mnist_home):
    """skae.datasets neither needs nor loads torch (nor skorch, nor
    matplotlib): it imports and reads MNIST with torch and skorch made
    unimportable."""
    run_without_torch(f"""
from skae.datasets import fetch_mnist
X, y = fetch_mnist(data_home={str(mnist_home)!r}, subset="test", return_X_y=True)
assert X.shape == (10000, 784), X.shape
roots = {{name.split(".")[0] for name in sys.modules}}
loaded = {{"torch", "skorch", "matplotlib"}} & roots
assert not loaded, loaded
""")


@pytest.mark.parametrize("name", datasets.__all__)
def test_docstrings_document_every_parameter(name):
    function = getattr(datasets, name)
    doc = inspect.getdoc(function)
    documented = set()
    for line in doc.splitlines():
        if match := re.match(r"(\w+(?:, \w+)*) : ", line):
            documented.update(match.group(1).split(", "))
    parameters = set(inspect.signature(function).parameters)
    assert parameters <= documented, parameters - documented
    assert "Examples\n--------" in doc
