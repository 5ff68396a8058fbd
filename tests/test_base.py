"""What BaseAutoencoder gives every estimator, tested once over all of them:
the shapes and types of its outputs, the input it takes and refuses, its
parameters, and what a fitted estimator tells about itself. Training
(warm starts, partial_fit, early stopping, failures) is in
test_base_training.py; what one estimator adds is in its own file."""

import inspect
import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import (
    PUBLIC_ESTIMATORS,
    ROW_METHODS,
    assert_same_weights,
    code_width,
    labels,
    takes,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError

import skae._training.data as training_data
from skae import AutoencoderTransformer
from skae._estimator_base import BaseAutoencoder

# Every method that reads rows, on the estimators that have it.
INFERENCE_METHODS = (*ROW_METHODS, "score")


def call(est, method, X):
    """``est.method(X)``, with labels for a classifier's score."""
    if method == "score" and is_classifier(est):
        return est.score(X, labels(X.shape[0]))
    return getattr(est, method)(X)


def reconstructs_by_score_samples(cls):
    """Whether ``score_samples`` is the base's minus reconstruction error."""
    return cls.score_samples is BaseAutoencoder.score_samples


# --- outputs ---------------------------------------------------------------


def test_shapes_and_dtypes(estimator_class, make_estimator, fit_estimator, X):
    est = fit_estimator(make_estimator(estimator_class, n_components=3), X)
    Z = est.transform(X)
    assert Z.shape == (60, code_width(est)) and Z.dtype == np.float32
    assert est.inverse_transform(Z).shape == (60, 6)
    assert est.inverse_transform(Z).dtype == np.float32
    scores = est.score_samples(X)
    assert scores.shape == (60,) and scores.dtype == np.float64
    assert est.n_components_ == 3
    refit = make_estimator(estimator_class, n_components=3)
    y = labels(60) if is_classifier(est) else None
    assert_array_equal(refit.fit_transform(X, y), Z)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_score_samples_is_minus_the_reconstruction_error(
    estimator_class, make_estimator, fit_estimator, X, loss
):
    if not reconstructs_by_score_samples(estimator_class):
        pytest.skip(f"{estimator_class.__name__} scores rows its own way")
    est = fit_estimator(make_estimator(estimator_class, loss=loss), X)
    X_hat = est.inverse_transform(est.transform(X)).astype(np.float64)
    if loss == "mse":
        error = np.mean((X_hat - X) ** 2, axis=1)
    else:
        assert np.all((X_hat > 0) & (X_hat < 1))
        error = -(X * np.log(X_hat) + (1 - X) * np.log(1 - X_hat)).mean(axis=1)
    assert_allclose(est.score_samples(X), -error, rtol=1e-4)


def test_every_estimator_has_the_five_methods(estimator_class):
    for method in ("fit", "transform", "inverse_transform", "predict", "score_samples"):
        if method == "predict" and estimator_class.__name__ == "VariationalAutoencoder":
            continue  # a generative model: sample, not predict
        assert callable(getattr(estimator_class, method, None)), method


def test_parameter_count(estimator_class, make_estimator, fit_estimator, X):
    est = fit_estimator(make_estimator(estimator_class), X)
    expected = sum(p.numel() for p in est.net_.module_.parameters())
    assert est.n_parameters_ == expected > 0


def test_html_repr_links_to_skae_api_pages(estimator_class, make_estimator):
    html = make_estimator(estimator_class)._repr_html_()
    name = estimator_class.__name__
    assert f"skae.readthedocs.io/en/latest/generated/skae.{name}" in html
    assert "modules/generated" not in html  # scikit-learn's API pages


def test_clone_gives_unfitted_copy_with_same_params(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class, hidden_layer_sizes=(8, 4)), X)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        copy.transform(X)


def test_changed_parameters_after_fit_leave_the_fitted_model_alone(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class), X)
    Z, names = est.transform(X), list(est.get_feature_names_out())
    est.set_params(n_components=5, hidden_layer_sizes=(4,))
    assert_array_equal(est.transform(X), Z)
    assert est.inverse_transform(Z).shape == X.shape
    assert list(est.get_feature_names_out()) == names
    # and a pickle holds the network as fitted
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.transform(X), Z)
    assert restored.get_params()["n_components"] == 5


def test_parameters_after_the_first_are_keyword_only(estimator_class):
    params = inspect.signature(estimator_class.__init__).parameters
    first, *rest = [p for name, p in params.items() if name != "self"]
    # **kwargs carries encoder__* and decoder__* arguments
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in rest)


# --- the input it takes -------------------------------------------------------


def test_sparse_input_trains_as_dense(
    estimator_class, make_estimator, fit_estimator, X
):
    X = np.where(X > 0.5, X, 0.0)
    # the detector's standardization statistics would be another computation
    params = {"standardize": False} if takes(estimator_class, "standardize") else {}
    dense = fit_estimator(make_estimator(estimator_class, **params), X)
    sparse = fit_estimator(make_estimator(estimator_class, **params), sp.csr_matrix(X))
    assert_same_weights(dense, sparse)
    assert_array_equal(sparse.transform(sp.csr_matrix(X)), dense.transform(X))
    assert_array_equal(sparse.score_samples(sp.csc_matrix(X)), dense.score_samples(X))


def test_sparse_weighted_fit(make_estimator, X):
    est = make_estimator(AutoencoderTransformer)
    est.fit(sp.csr_matrix(X), sample_weight=np.ones(60))
    assert est.transform(X).shape == (60, 2)


def test_float32_and_float64_give_the_same_model(
    estimator_class, make_estimator, fit_estimator, X
):
    a = fit_estimator(make_estimator(estimator_class), X)
    b = fit_estimator(make_estimator(estimator_class), X.astype(np.float32))
    assert_same_weights(a, b)


def test_integer_input(estimator_class, make_estimator, fit_estimator, X):
    est = fit_estimator(make_estimator(estimator_class), np.round(X * 10).astype(int))
    assert est.transform(np.round(X * 10).astype(np.int32)).dtype == np.float32


def test_pandas_input_keeps_feature_names(
    estimator_class, make_estimator, fit_estimator, X
):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    est = fit_estimator(make_estimator(estimator_class), df)
    assert_array_equal(est.feature_names_in_, df.columns)
    prefix = estimator_class.__name__.lower()
    assert_array_equal(
        est.get_feature_names_out(), [f"{prefix}{i}" for i in range(code_width(est))]
    )
    out = est.set_output(transform="pandas").transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(est.get_feature_names_out())
    assert_array_equal(out.index, df.index)
    with pytest.warns(UserWarning, match="feature names"):
        est.transform(X)


def test_inference_input_is_checked_as_scikit_learn_does(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class), X)
    # float arrays of any order or strides are read as they are
    for dtype in (np.float32, np.float64):
        Xf = X.astype(dtype)
        assert est._validate_inference_data(Xf) is Xf
    Xt = np.asfortranarray(X)[::2]  # neither contiguous nor C-ordered
    assert est._validate_inference_data(Xt) is Xt
    assert_array_equal(est.transform(Xt), est.transform(np.ascontiguousarray(Xt)))
    for other in (X.astype(np.float16), X.astype(np.int64), X.tolist()):
        assert est._validate_inference_data(other).dtype in (np.float32, np.float64)
    name = estimator_class.__name__
    for bad, message in [
        (X[:0], "0 sample"),
        (X[:, :0], "0 feature"),
        (X[0], "Expected 2D array"),
        (X[None], "dim 3"),
        (X[:, :4], f"X has 4 features, but {name}"),
    ]:
        with pytest.raises(ValueError, match=message):
            est.transform(bad)
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.score_samples(X[0])
    width = code_width(est)
    with pytest.raises(ValueError, match=f"expecting {width} features"):
        est.inverse_transform(np.zeros((2, width + 1)))


def test_inference_runs_in_blocks(make_estimator, X, monkeypatch):
    est = make_estimator(AutoencoderTransformer, batch_size=8).fit(X)
    monkeypatch.setattr(training_data, "BLOCK_MIN_ROWS", 8)
    monkeypatch.setattr(training_data, "BLOCK_MAX_ROWS", 8)
    est.__dict__.pop("_block_rows", None)  # worked out again under the patch
    assert est._inference_block_rows() == 8
    calls = []
    encode = est.net_.module_.encode
    monkeypatch.setattr(
        est.net_.module_, "encode", lambda Xb: calls.append(len(Xb)) or encode(Xb)
    )
    codes = est.transform(X)
    # 60 rows: 7 blocks of 8, and the last 4 rows padded to 8
    assert calls == [8] * 8
    assert codes.shape == (60, est.n_components)
    assert torch.is_grad_enabled()


# --- the input it refuses ------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "Input X contains NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0]]), "Input X contains infinity"),
        (np.array([1.0, 2.0, 3.0]), "Expected 2D array, got 1D array"),
        (np.empty((0, 3)), "0 sample"),
        (np.empty((3, 0)), "0 feature"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert"),
        (np.array([[1 + 1j, 2], [3, 4]]), "Complex data not supported"),
    ],
)
def test_bad_training_input(
    estimator_class, make_estimator, fit_estimator, bad, message
):
    with pytest.raises(ValueError, match=message):
        fit_estimator(make_estimator(estimator_class), bad)


def test_values_too_large_for_float32_are_a_clear_error(
    estimator_class, make_estimator, fit_estimator, X
):
    if takes(estimator_class, "standardize"):
        pytest.skip("standardizes its input (test_outlier.py)")
    X = X.copy()
    X[0, 0] = 1e20
    with pytest.raises(ValueError, match="magnitude up to 1e\\+20.*Scale X"):
        fit_estimator(make_estimator(estimator_class), X)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_non_finite_inference_input(
    estimator_class, make_estimator, fit_estimator, X, loss, monkeypatch
):
    if loss == "bce" and not takes(estimator_class, "loss"):
        pytest.skip("no loss parameter")
    params = {"loss": loss} if takes(estimator_class, "loss") else {}
    # inference blocks of 16 rows: the second bad row is in the fourth block
    monkeypatch.setattr(training_data, "BLOCK_MIN_ROWS", 16)
    monkeypatch.setattr(training_data, "BLOCK_MAX_ROWS", 16)
    est = fit_estimator(make_estimator(estimator_class, batch_size=16, **params), X)
    layouts = [
        np.asarray,
        np.asfortranarray,
        lambda A: A[::-1],  # negative strides
        sp.csr_matrix,
        lambda A: np.asarray(A, dtype=np.float32),
    ]
    for value, message in [
        (np.nan, "Input X contains NaN"),
        (np.inf, "Input X contains infinity"),
    ]:
        for row in (3, 50):
            bad = X.copy()
            bad[row, 2] = value
            for layout in layouts:
                for method in INFERENCE_METHODS:
                    if hasattr(est, method):
                        with pytest.raises(ValueError, match=message):
                            call(est, method, layout(bad))


def test_finite_inference_input_whose_sum_overflows(make_estimator):
    # The finiteness check's sum overflows; the element-wise test finds every
    # value finite, so the error is the network's, not "contains infinity".
    X = np.random.default_rng(0).standard_normal((60, 6))
    est = make_estimator(
        AutoencoderTransformer, n_components=3, hidden_layer_sizes=(16,), max_epochs=5
    ).fit(X)
    huge = np.full((4, 6), 3e38, dtype=np.float32)
    for method in ("transform", "score_samples"):
        with pytest.raises(ValueError, match="output is not finite"):
            getattr(est, method)(huge)


def test_read_only_inference_input_does_not_warn(tmp_path):
    # torch warns once per process on sharing a read-only array, hence the
    # fresh process; joblib hands parallel searches read-only memmaps.
    code = """
import warnings
import numpy as np
from skae import AutoencoderTransformer

X = np.random.default_rng(0).standard_normal((40, 5)).astype(np.float32)
ae = AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_epochs=2).fit(X)
np.save("X.npy", X)
np.save("Z.npy", ae.transform(X))
X_read_only = np.load("X.npy", mmap_mode="r")
Z_read_only = np.load("Z.npy", mmap_mode="r")
warnings.simplefilter("error")
ae.inverse_transform(Z_read_only)
ae.transform(X_read_only)
ae.score_samples(X_read_only)
"""
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)


def test_not_fitted(estimator_class, make_estimator, X):
    est = make_estimator(estimator_class)
    for method in (*INFERENCE_METHODS, "inverse_transform"):
        if hasattr(est, method):
            with pytest.raises(NotFittedError, match="not fitted yet"):
                call(est, method, X[:, :2] if method == "inverse_transform" else X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "'n_components' parameter .* range"),
        ({"activation": "swish"}, "'activation' parameter"),
        ({"loss": "l1"}, "'loss' parameter"),
        ({"optimizer": "lbfgs2"}, "'optimizer' parameter"),
        ({"lr": 0}, "'lr' parameter"),
        ({"max_grad_norm": 0}, "'max_grad_norm' parameter"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must be a sequence"),
        ({"hidden_layer_sizes": (8.5,)}, "hidden_layer_sizes must be a sequence"),
        ({"device": "tpu9"}, "is not a torch device"),
        ({"channels_last": "yes"}, "'channels_last' parameter .* 'bool'"),
        ({"channels_last": 1}, "'channels_last' parameter .* 'bool'"),
        ({"embedding_weight": -1.0}, "'embedding_weight' parameter .* range"),
        ({"n_neighbors": 0}, "'n_neighbors' parameter .* range"),
        ({"min_dist": 1.5}, "'min_dist' parameter .* range"),
        ({"reconstruction_weight": -0.5}, "'reconstruction_weight' parameter"),
    ],
)
def test_invalid_parameters(make_estimator, fit_estimator, X, params, message):
    # every estimator that takes the parameter
    classes = [cls for cls in PUBLIC_ESTIMATORS if all(takes(cls, p) for p in params)]
    assert classes
    for cls in classes:
        with pytest.raises(ValueError, match=message):
            fit_estimator(make_estimator(cls, **params), X)


def test_bce_rejects_rows_outside_the_unit_interval(
    estimator_class, make_estimator, fit_estimator, X
):
    if not takes(estimator_class, "loss"):
        pytest.skip("no loss parameter")
    est = make_estimator(estimator_class, loss="bce")
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        fit_estimator(est, X + 1.0)
    fit_estimator(est, X)
    # nor does it score them
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        est.score_samples(X - 1.0)


def test_batch_norm_needs_two_samples(estimator_class, make_estimator, fit_estimator):
    est = make_estimator(estimator_class, batch_norm=True)
    X1 = np.ones((1, 3))
    with pytest.raises(ValueError, match="n_samples=1"):
        if is_classifier(est):  # two classes, from one row
            fit_estimator(est, X1, method="partial_fit", classes=[0, 1])
        else:
            fit_estimator(est, X1)


def test_batch_norm_needs_two_rows_per_batch(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(estimator_class, batch_norm=True, batch_size=1)
    with pytest.raises(ValueError, match="batch_norm=True needs batch_size >= 2"):
        fit_estimator(est, X)


def test_batch_norm_needs_two_training_rows_after_the_split(
    estimator_class, make_estimator, fit_estimator, X
):
    est = make_estimator(
        estimator_class, batch_norm=True, early_stopping=True, validation_fraction=0.5
    )
    with pytest.raises(ValueError, match="after the validation split"):
        fit_estimator(est, X[:2])


# --- the device ------------------------------------------------------------------


def test_device_auto_picks_cuda_only_when_present(
    estimator_class, make_estimator, fit_estimator, X
):
    est = fit_estimator(make_estimator(estimator_class, device="auto"), X)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch.device(est.net_.device).type == expected


def test_cuda_requested_without_cuda(estimator_class, make_estimator, fit_estimator, X):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        fit_estimator(make_estimator(estimator_class, device="cuda"), X)
