"""Behaviour of AutoencoderTransformer and of the training engine under it."""

import io
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from skorch.callbacks import Callback

import skae._training.data as training_data
import skae._training.net as training_net
from skae import AutoencoderTransformer, NonFiniteLossError, VariationalAutoencoder


def quick(**params):
    """A small, fast, seeded autoencoder for tests that check behaviour, not
    quality."""
    defaults = dict(
        n_components=3,
        hidden_layer_sizes=(16,),
        max_epochs=5,
        device="cpu",
        random_state=0,
    )
    return AutoencoderTransformer(**{**defaults, **params})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((60, 6))


def weights(est):
    return {k: v.clone() for k, v in est.net_.module_.state_dict().items()}


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


# --- quality -------------------------------------------------------------


def test_digits_beats_pca_at_default_settings(digits):
    X_train, X_test, y_train, y_test = digits
    ae = AutoencoderTransformer(n_components=8, device="cpu", random_state=0)
    ae.fit(X_train)
    pca = PCA(n_components=8).fit(X_train)

    ae_mse = np.mean((ae.predict(X_test) - X_test) ** 2)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert ae_mse < pca_mse

    clf = LogisticRegression(max_iter=2000)
    ae_acc = clf.fit(ae.transform(X_train), y_train).score(ae.transform(X_test), y_test)
    pca_acc = clf.fit(pca.transform(X_train), y_train).score(
        pca.transform(X_test), y_test
    )
    assert ae_acc >= pca_acc


def test_pipeline_with_scaler_and_classifier(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(
        StandardScaler(),
        quick(n_components=8, hidden_layer_sizes=(32,), max_epochs=30),
        LogisticRegression(max_iter=1000),
    )
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.8


# --- the transformer API -------------------------------------------------


def test_shapes_and_dtypes(X):
    ae = quick().fit(X)
    Z = ae.transform(X)
    assert Z.shape == (60, 3) and Z.dtype == np.float32
    assert ae.inverse_transform(Z).shape == (60, 6)
    assert ae.predict(X).shape == (60, 6) and ae.predict(X).dtype == np.float32
    assert ae.score_samples(X).shape == (60,)
    assert_allclose(ae.fit_transform(X), Z)


def test_predict_is_decode_of_encode(X):
    ae = quick().fit(X)
    assert_allclose(ae.predict(X), ae.inverse_transform(ae.transform(X)), rtol=1e-6)


def test_score_samples_is_minus_mean_squared_error(X):
    ae = quick().fit(X)
    expected = -np.mean((ae.predict(X) - X) ** 2, axis=1)
    assert_allclose(ae.score_samples(X), expected, rtol=1e-5)
    assert ae.score(X) == pytest.approx(expected.mean(), rel=1e-5)


def test_bce_loss_scores_with_cross_entropy():
    X = np.random.default_rng(0).uniform(size=(40, 5))
    ae = quick(loss="bce").fit(X)
    X_hat = ae.predict(X).astype(np.float64)
    assert np.all((X_hat > 0) & (X_hat < 1))
    bce = -(X * np.log(X_hat) + (1 - X) * np.log(1 - X_hat)).mean(axis=1)
    assert_allclose(ae.score_samples(X), -bce, rtol=1e-4)


def test_history_and_n_iter(X):
    ae = quick(max_epochs=7, tol=0).fit(X)
    assert ae.n_iter_ == 7 == len(ae.history_)
    assert all(np.isfinite(row["train_loss"]) for row in ae.history_)


@pytest.mark.parametrize(
    "activation", ["relu", "tanh", "sigmoid", "elu", "gelu", "leaky_relu", "identity"]
)
def test_every_activation_trains(X, activation):
    ae = quick(activation=activation).fit(X)
    assert np.all(np.isfinite(ae.transform(X)))


def test_deep_network_mirrors_encoder(X):
    ae = quick(hidden_layer_sizes=(32, 16, 8)).fit(X)
    encoder, decoder = ae.net_.module_.encoder, ae.net_.module_.decoder
    enc = [m.out_features for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
    dec = [m.out_features for m in decoder.modules() if isinstance(m, torch.nn.Linear)]
    assert enc == [32, 16, 8, 3]
    assert dec == [8, 16, 32, 6]


def test_no_hidden_layers(X):
    ae = quick(hidden_layer_sizes=()).fit(X)
    assert ae.transform(X).shape == (60, 3)


def test_dropout_and_batch_norm_deterministic_at_inference(X):
    ae = quick(dropout=0.3, batch_norm=True).fit(X)
    modules = list(ae.net_.module_.modules())
    assert any(isinstance(m, torch.nn.Dropout) for m in modules)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in modules)
    assert_array_equal(ae.transform(X), ae.transform(X))


def test_batch_norm_with_trailing_single_row_batch():
    # 65 rows in batches of 64 would leave a batch of one, which batch
    # normalisation cannot train on: it is merged into the one before.
    X = np.random.default_rng(0).standard_normal((65, 4))
    quick(batch_norm=True, batch_size=64).fit(X)


def test_fewer_samples_than_batch_size():
    X = np.random.default_rng(0).standard_normal((2, 4))
    ae = quick(batch_size=256).fit(X)
    assert ae.transform(X).shape == (2, 3)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop", "adagrad"])
def test_optimizer_by_name(X, optimizer):
    ae = quick(optimizer=optimizer).fit(X)
    assert isinstance(ae.net_.optimizer_, training_net.OPTIMIZERS[optimizer])


def test_optimizer_by_class(X):
    ae = quick(optimizer=torch.optim.NAdam, lr=0.01).fit(X)
    assert isinstance(ae.net_.optimizer_, torch.optim.NAdam)
    assert ae.net_.optimizer_.param_groups[0]["lr"] == 0.01


# --- training control ----------------------------------------------------


class WeightRecorder(Callback):
    """Keeps a copy of the weights after every epoch."""

    def on_train_begin(self, net, **kwargs):
        self.snapshots_ = []

    def on_epoch_end(self, net, **kwargs):
        self.snapshots_.append(
            {k: v.clone() for k, v in net.module_.state_dict().items()}
        )


def test_early_stopping_restores_best_weights(X):
    recorder = WeightRecorder()
    ae = quick(
        early_stopping=True,
        n_iter_no_change=3,
        max_epochs=300,
        lr=0.05,
        tol=0.0,
        callbacks=[recorder],
    ).fit(X)
    valid = [row["valid_loss"] for row in ae.history_]
    assert ae.n_iter_ < 300
    best = int(np.argmin(valid))
    assert best < len(valid) - 1
    snapshot = dict(ae.net_.callbacks_)["WeightRecorder"].snapshots_[best]
    for key, value in ae.net_.module_.state_dict().items():
        assert torch.equal(value, snapshot[key]), key


def test_stops_when_training_loss_plateaus(X):
    ae = quick(max_epochs=1000, tol=1.0, n_iter_no_change=2).fit(X)
    # the first epoch sets the best loss; no later one improves on it by
    # tol=1.0, so training stops n_iter_no_change epochs after it
    assert ae.n_iter_ == 3
    assert "valid_loss" not in ae.history_[-1]


def test_early_stopping_needs_enough_samples():
    X = np.random.default_rng(0).standard_normal((1, 4))
    with pytest.raises(ValueError, match="empty training or validation set"):
        quick(early_stopping=True).fit(X)


def test_partial_fit_trains_one_epoch_per_call(X):
    ae = quick()
    for call in range(1, 4):
        ae.partial_fit(X)
        assert ae.n_iter_ == call
    losses = [row["train_loss"] for row in ae.history_]
    ae2 = quick()
    for _ in range(20):
        ae2.partial_fit(X)
    assert ae2.history_[-1]["train_loss"] < losses[0]


def test_partial_fit_rejects_other_feature_count(X):
    ae = quick().partial_fit(X)
    with pytest.raises(ValueError, match="X has 5 features, but"):
        ae.partial_fit(X[:, :5])


def test_warm_start_continues_training(X):
    ae = quick(warm_start=True, max_epochs=4, tol=0).fit(X)
    first = weights(ae)
    ae.fit(X)
    assert ae.n_iter_ == 8
    assert any(not torch.equal(first[k], v) for k, v in weights(ae).items())


def test_fit_without_warm_start_starts_afresh(X):
    ae = quick(max_epochs=4, tol=0).fit(X)
    ae.fit(X)
    assert ae.n_iter_ == 4
    assert_same_weights(ae, quick(max_epochs=4, tol=0).fit(X))


def test_callbacks_reach_skorch(X):
    class Counter(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    ae = quick(callbacks=[("counter", Counter())], max_epochs=6, tol=0).fit(X)
    assert dict(ae.net_.callbacks_)["counter"].epochs_ == 6


def test_gradient_callbacks_see_gradients(X):
    class GradNorm(Callback):
        def initialize(self):
            self.norms_ = []
            return self

        def on_grad_computed(self, net, named_parameters, **kwargs):
            self.norms_.append(sum(float(p.grad.norm()) for _, p in named_parameters))

    ae = quick(callbacks=[("grad", GradNorm())], max_epochs=2, tol=0).fit(X)
    norms = dict(ae.net_.callbacks_)["grad"].norms_
    assert len(norms) == 2 and all(n > 0 for n in norms)


def test_batch_callbacks_see_every_batch(X):
    # only callbacks overriding a batch method are called per batch; those
    # must see every batch, with the step's loss, as under skorch's notify
    class BatchLog(Callback):
        def initialize(self):
            self.begun_, self.losses_ = [], []
            return self

        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            self.begun_.append((len(batch[0]), training))

        def on_batch_end(self, net, batch=None, training=False, loss=None, **kw):
            self.losses_.append((loss.item(), training))

    ae = quick(
        callbacks=[("log", BatchLog())],
        max_epochs=2,
        tol=0,
        early_stopping=True,
        batch_size=32,
    ).fit(X)
    log = dict(ae.net_.callbacks_)["log"]
    # (loss, rows, training) of every batch, in order, from history_
    recorded = [
        (batch[f"{prefix}_loss"], batch[f"{prefix}_batch_size"], prefix == "train")
        for epoch in ae.history_
        for prefix in ("train", "valid")
        for batch in epoch["batches"]
        if f"{prefix}_loss" in batch
    ]
    assert len(recorded) > 4 and any(not training for *_, training in recorded)
    np.testing.assert_allclose(
        [loss for loss, _ in log.losses_], [loss for loss, *_ in recorded], rtol=1e-6
    )
    assert [t for _, t in log.losses_] == [t for *_, t in recorded]
    assert log.begun_ == [(rows, t) for _, rows, t in recorded]


def test_non_finite_loss_stops_with_clear_error():
    # unscaled input and a huge learning rate really diverge
    X = np.random.default_rng(0).standard_normal((200, 10)) * 1e6
    ae = quick(lr=1e6, optimizer="sgd", max_epochs=50)
    with pytest.raises(NonFiniteLossError, match=r"at epoch \d+, batch \d+") as info:
        ae.fit(X)
    message = str(info.value)
    for cause in ("not scaled", "learning rate", "[0, 1]"):
        assert cause in message
    assert isinstance(info.value, ValueError)


# --- verbosity -----------------------------------------------------------


def test_verbose_0_is_silent(X, capsys):
    quick(early_stopping=True).fit(X)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_1_shows_epoch_progress_bar(X, capsys):
    quick(verbose=1, max_epochs=3, tol=0).fit(X)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err and "train_loss" in err


def test_verbose_2_prints_a_row_per_epoch(X, capsys):
    quick(verbose=2, max_epochs=3, tol=0).fit(X)
    out = capsys.readouterr().out
    assert "train_loss" in out and len(out.strip().splitlines()) >= 5


# --- randomness ----------------------------------------------------------


def test_same_seed_same_weights_bit_for_bit(X):
    params = dict(dropout=0.2, early_stopping=True, max_epochs=10)
    a, b = quick(**params).fit(X), quick(**params).fit(X)
    assert_same_weights(a, b)
    assert_array_equal(a.transform(X), b.transform(X))
    c = quick(random_state=1, **params).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


@pytest.mark.parametrize("random_state", [None, 0, np.random.RandomState(0)])
def test_fit_leaves_global_rng_untouched(X, random_state):
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    quick(random_state=random_state, dropout=0.2, early_stopping=True).fit(X)
    assert_array_equal(np.random.get_state()[1], numpy_state[1])
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_unseeded_fits_differ(X):
    a = quick(random_state=None).fit(X).transform(X)
    b = quick(random_state=None).fit(X).transform(X)
    assert not np.array_equal(a, b)


# --- model selection, cloning, persistence -------------------------------


def test_grid_search_over_n_components_in_parallel(digits):
    X_train = digits[0][:400]
    search = GridSearchCV(
        quick(hidden_layer_sizes=(32,), max_epochs=20),
        {"n_components": [2, 16]},
        cv=2,
        n_jobs=2,
    ).fit(X_train)
    # with the default score (minus reconstruction error), more is better
    assert search.best_params_ == {"n_components": 16}
    assert search.best_estimator_.transform(X_train).shape == (400, 16)


def test_clone_gives_unfitted_copy_with_same_params(X):
    ae = quick(hidden_layer_sizes=(8, 4)).fit(X)
    copy = clone(ae)
    assert copy.get_params() == ae.get_params()
    assert not hasattr(copy, "net_")
    with pytest.raises(NotFittedError):
        copy.transform(X)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trip_gives_identical_outputs(X, dump):
    ae = quick(batch_norm=True, dropout=0.1).fit(X)
    buffer = io.BytesIO()
    if dump == "pickle":
        pickle.dump(ae, buffer)
        buffer.seek(0)
        loaded = pickle.load(buffer)
    else:
        joblib.dump(ae, buffer)
        buffer.seek(0)
        loaded = joblib.load(buffer)
    assert hasattr(ae, "net_")
    Z = ae.transform(X)
    for method in ("transform", "predict", "score_samples"):
        assert_array_equal(getattr(loaded, method)(X), getattr(ae, method)(X))
    assert_array_equal(loaded.inverse_transform(Z), ae.inverse_transform(Z))
    assert loaded.n_iter_ == ae.n_iter_
    # the loaded model can keep training
    loaded.partial_fit(X)
    assert loaded.n_iter_ == ae.n_iter_ + 1


def test_pickle_holds_weights_as_arrays(X):
    state = quick().fit(X).__getstate__()
    assert "net_" not in state
    weights_ = state["_net_state"]["module"]
    assert all(isinstance(v, np.ndarray) for v in weights_.values())


def test_device_auto_picks_cuda_only_when_present(X):
    ae = quick(device="auto").fit(X)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch.device(ae.net_.device).type == expected


# --- input types ---------------------------------------------------------


def test_sparse_input_matches_dense(X):
    X = np.where(np.abs(X) > 1, X, 0.0)
    dense = quick().fit(X)
    sparse = quick().fit(sp.csr_matrix(X))
    assert_same_weights(dense, sparse)
    assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X))
    assert_allclose(sparse.score_samples(sp.csc_matrix(X)), dense.score_samples(X))


def test_float32_and_float64_give_the_same_model(X):
    a = quick().fit(X)
    b = quick().fit(X.astype(np.float32))
    assert_same_weights(a, b)
    assert a.transform(X.astype(np.float32)).dtype == np.float32


def test_integer_input(X):
    ae = quick().fit(np.round(X * 10).astype(np.int64))
    assert ae.transform(np.round(X * 10).astype(np.int32)).dtype == np.float32


def test_pandas_input_keeps_feature_names(X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    ae = quick().fit(df)
    assert_array_equal(ae.feature_names_in_, df.columns)
    assert_array_equal(
        ae.get_feature_names_out(),
        [
            "autoencodertransformer0",
            "autoencodertransformer1",
            "autoencodertransformer2",
        ],
    )
    out = ae.set_output(transform="pandas").transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(ae.get_feature_names_out())
    assert_array_equal(out.index, df.index)
    with pytest.warns(UserWarning, match="feature names"):
        ae.transform(X)


def test_inference_input_is_checked_as_scikit_learn_does(X):
    ae = quick().fit(X)
    # float arrays of any order or strides are read as they are
    for dtype in (np.float32, np.float64):
        Xf = X.astype(dtype)
        assert ae._validate_inference_data(Xf) is Xf
    Xt = np.asfortranarray(X)[::2]  # neither contiguous nor C-ordered
    assert ae._validate_inference_data(Xt) is Xt
    assert_array_equal(ae.transform(Xt), ae.transform(np.ascontiguousarray(Xt)))
    for other in (X.astype(np.float16), X.astype(np.int64), X.tolist()):
        assert ae._validate_inference_data(other).dtype in (np.float32, np.float64)
    with pytest.raises(ValueError, match="0 sample"):
        ae.transform(X[:0])
    with pytest.raises(ValueError, match="0 feature"):
        ae.transform(X[:, :0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        ae.transform(X[0])
    with pytest.raises(ValueError, match="dim 3"):
        ae.transform(X[None])
    with pytest.raises(ValueError, match="X has 5 features"):
        ae.transform(X[:, :5])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ae.transform(np.where(X > 1, np.nan, X))


def test_inference_runs_in_blocks(X, monkeypatch):
    ae = quick(batch_size=8).fit(X)
    monkeypatch.setattr(training_data, "BLOCK_MIN_ROWS", 8)
    monkeypatch.setattr(training_data, "BLOCK_MAX_ROWS", 8)
    ae.__dict__.pop("_block_rows", None)  # worked out again under the patch
    assert ae._inference_block_rows() == 8
    calls = []
    encode = ae.net_.module_.encode
    monkeypatch.setattr(
        ae.net_.module_, "encode", lambda Xb: calls.append(len(Xb)) or encode(Xb)
    )
    codes = ae.transform(X)
    # 60 rows: 7 blocks of 8, and the last 4 rows padded to 8
    assert calls == [8] * 8
    assert codes.shape == (60, ae.n_components)
    assert torch.is_grad_enabled()


# --- bad input -------------------------------------------------------------


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
def test_bad_training_input(bad, message):
    with pytest.raises(ValueError, match=message):
        quick().fit(bad)


def test_bad_inference_input(X):
    ae = quick().fit(X)
    with pytest.raises(
        ValueError, match="X has 4 features, but AutoencoderTransformer"
    ):
        ae.transform(X[:, :4])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ae.transform(np.full((2, 6), np.nan))
    with pytest.raises(ValueError, match="expecting 3 features"):
        ae.inverse_transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        ae.score_samples(X[0])


@pytest.mark.parametrize(
    "layout",
    [
        np.asarray,
        np.asfortranarray,
        lambda A: A[::-1],  # negative strides
        sp.csr_matrix,
        lambda A: np.asarray(A, dtype=np.float32),
    ],
    ids=["C", "F", "reversed", "csr", "float32"],
)
@pytest.mark.parametrize(
    "value, message",
    [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")],
)
@pytest.mark.parametrize("method", ["transform", "predict", "score_samples"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_non_finite_inference_input(X, layout, value, message, method, loss):
    X = (X - X.min()) / (X.max() - X.min())  # in [0, 1], for bce
    ae = quick(loss=loss).fit(X)
    bad = X[:5].copy()
    bad[3, 2] = value
    with pytest.raises(ValueError, match=message):
        getattr(ae, method)(layout(bad))


def test_finite_inference_input_whose_sum_overflows(X):
    # The finiteness check's sum overflows; the element-wise test finds every
    # value finite, so the error is the network's, not "contains infinity".
    ae = quick().fit(X)
    huge = np.full((4, 6), 3e38, dtype=np.float32)
    with pytest.raises(ValueError, match="output is not finite"):
        ae.transform(huge)


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


@pytest.mark.parametrize("method", ["transform", "predict", "score_samples", "score"])
def test_not_fitted(X, method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(quick(), method)(X)


def test_inverse_transform_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        quick().inverse_transform(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "'n_components' parameter .* range"),
        ({"activation": "swish"}, "'activation' parameter"),
        ({"loss": "l1"}, "'loss' parameter"),
        ({"optimizer": "lbfgs2"}, "'optimizer' parameter"),
        ({"lr": 0}, "'lr' parameter"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must be a sequence"),
        ({"hidden_layer_sizes": (8.5,)}, "hidden_layer_sizes must be a sequence"),
        ({"device": "tpu9"}, "is not a torch device"),
    ],
)
def test_invalid_parameters(X, params, message):
    with pytest.raises(ValueError, match=message):
        quick(**params).fit(X)


def test_cuda_requested_without_cuda(X):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        quick(device="cuda").fit(X)


def test_bce_rejects_data_outside_unit_interval(X):
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        quick(loss="bce").fit(X)


def test_batch_norm_needs_two_samples():
    with pytest.raises(ValueError, match="n_samples=1"):
        quick(batch_norm=True).fit(np.ones((1, 3)))


# --- failures and continuation -------------------------------------------


def test_failed_first_fit_leaves_the_estimator_unfitted():
    X = np.random.default_rng(0).standard_normal((200, 10)) * 1e6
    ae = quick(max_epochs=3).fit(X / 1e6)  # a good fit first
    with pytest.raises(NonFiniteLossError):
        ae.set_params(lr=1e6, optimizer="sgd").fit(X)
    with pytest.raises(NotFittedError):
        ae.transform(X)


class PoisonWhenArmed(Callback):
    """Once armed, turn a weight into NaN before a training batch, so that
    its loss is NaN."""

    armed = False

    def on_batch_begin(self, net, training=False, **kwargs):
        if self.armed and training:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def test_failed_partial_fit_keeps_the_fitted_model(X):
    ae = quick(max_epochs=3, tol=0, callbacks=[("poison", PoisonWhenArmed())])
    ae.fit(X)
    before, n_iter, Z = weights(ae), ae.n_iter_, ae.transform(X)
    dict(ae.net_.callbacks_)["poison"].armed = True
    with pytest.raises(NonFiniteLossError):
        ae.partial_fit(X)
    assert ae.n_iter_ == n_iter == len(ae.history_)
    assert_same_weights_as(ae, before)
    assert_array_equal(ae.transform(X), Z)


def assert_same_weights_as(est, expected):
    for key, value in weights(est).items():
        assert torch.equal(value, expected[key]), key


def test_warm_start_takes_new_training_settings(X):
    ae = quick(warm_start=True, max_epochs=2, tol=0).fit(X)
    ae.set_params(lr=0.05, optimizer="sgd").fit(X)
    assert isinstance(ae.net_.optimizer_, torch.optim.SGD)
    assert ae.net_.optimizer_.param_groups[0]["lr"] == 0.05
    assert ae.n_iter_ == 4


def test_warm_start_refuses_a_new_architecture(X):
    ae = quick(warm_start=True, max_epochs=2).fit(X)
    Z = ae.transform(X)
    with pytest.raises(ValueError, match=r"architecture changed \(n_components\)"):
        ae.set_params(n_components=5).fit(X)
    # the fitted network is intact
    assert_array_equal(ae.set_params(n_components=3).transform(X), Z)


def test_callbacks_see_the_epoch_that_early_stopping_ends(X):
    recorder = WeightRecorder()
    ae = quick(max_epochs=1000, tol=1.0, n_iter_no_change=2, callbacks=[recorder])
    ae.fit(X)
    assert len(recorder.snapshots_) == ae.n_iter_ == 3


def test_skorch_net_api_works_for_pytorch_users(X, assert_float32_close):
    ae = quick().fit(X)
    reconstruction = ae.net_.predict(X.astype(np.float32))
    # skorch's batches are not skae's inference blocks: other shapes
    assert_float32_close(reconstruction, ae.predict(X), n_layers=6, width=16)
    ae.net_.partial_fit(X.astype(np.float32))  # skorch's own continuation


def test_batch_norm_needs_two_training_rows_after_the_split():
    X = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.raises(ValueError, match="after the validation split"):
        quick(batch_norm=True, early_stopping=True, validation_fraction=0.5).fit(X)


def test_scoring_out_of_range_rows_with_bce_is_a_clear_error(X):
    X01 = (X - X.min()) / (X.max() - X.min())
    ae = quick(loss="bce").fit(X01)
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        ae.score_samples(X01 + 1.0)
    vae = VariationalAutoencoder(loss="bce", max_epochs=2, random_state=0).fit(X01)
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        vae.score_samples(X01 - 1.0)


def test_changed_parameters_after_fit_leave_the_fitted_model_alone(X):
    ae = quick(n_components=3).fit(X)
    Z = ae.transform(X)
    ae.set_params(n_components=5, hidden_layer_sizes=(4,))
    assert_array_equal(ae.transform(X), Z)
    assert ae.inverse_transform(Z).shape == X.shape
    assert list(ae.get_feature_names_out()) == [
        f"autoencodertransformer{i}" for i in range(3)
    ]
    # and a pickle holds the network as fitted
    restored = pickle.loads(pickle.dumps(ae))
    assert_array_equal(restored.transform(X), Z)
    assert restored.get_params()["n_components"] == 5
