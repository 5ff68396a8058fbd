"""The "auto" defaults: the rules of the data behind ``loss``,
``hidden_layer_sizes`` and ``max_epochs``, the fitted attributes that tell
what they chose, and explicit values kept as they are."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import skae._defaults
from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    SupervisedAutoencoder,
    VariationalAutoencoder,
)
from skae._defaults import resolve_hidden_layer_sizes, resolve_loss, resolve_max_epochs

RNG = np.random.RandomState(0)
X01 = RNG.uniform(size=(60, 8))  # in [0, 1]: pixels / 255, MinMaxScaler
X_STD = RNG.normal(size=(60, 8))  # standardized
Y = np.arange(60) % 2

TRANSFORMERS = [
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SupervisedAutoencoder,
    VariationalAutoencoder,
]


def small(cls, **params):
    return cls(**{"n_components": 2, "max_epochs": 2, "random_state": 0, **params})


def fit(model, X):
    return model.fit(X, Y) if isinstance(model, SupervisedAutoencoder) else model.fit(X)


# ----------------------------------------------------------------------
# The rules


@pytest.mark.parametrize(
    "X_range, loss",
    [
        ((0.0, 1.0), "bce"),
        ((0.0, 0.5), "bce"),
        ((0.2, 1.0 + 1e-9), "bce"),  # 1 in float32, as the network sees it
        ((-0.01, 1.0), "mse"),
        ((0.0, 1.01), "mse"),
        ((-3.2, 2.9), "mse"),
        ((0.0, 255.0), "mse"),
        (None, "mse"),
        ((np.nan, 1.0), "mse"),
    ],
)
def test_auto_loss_follows_the_range(X_range, loss):
    assert resolve_loss("auto", X_range) == loss


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_explicit_loss_is_kept(loss):
    assert resolve_loss(loss, (0.0, 1.0)) == loss
    assert resolve_loss(loss, (-5.0, 5.0)) == loss


@pytest.mark.parametrize(
    "n_samples, n_components, sizes",
    [
        (100, 2, (256,)),
        (1999, 2, (256,)),
        (2000, 2, (256, 128)),
        (60000, 8, (256, 128)),
        (60000, 9, (256,)),
        (60000, 32, (256,)),
        (500, 200, (400,)),  # never narrower than the code
        (10, None, (256,)),
    ],
)
def test_auto_widths_follow_the_rows_and_the_code(n_samples, n_components, sizes):
    assert resolve_hidden_layer_sizes("auto", n_samples, n_components) == sizes


@pytest.mark.parametrize("sizes", [(), (7,), (300, 5, 9)])
def test_explicit_widths_are_kept(sizes):
    assert resolve_hidden_layer_sizes(sizes, 60000, 2) == sizes


# ----------------------------------------------------------------------
# The estimators


@pytest.mark.parametrize("cls", TRANSFORMERS)
def test_defaults_are_auto(cls):
    params = cls().get_params()
    assert params["loss"] == "auto"
    assert params["hidden_layer_sizes"] == "auto"
    assert params["max_epochs"] == "auto"


@pytest.mark.parametrize("cls", TRANSFORMERS)
@pytest.mark.parametrize("X, loss", [(X01, "bce"), (X_STD, "mse")])
def test_fitted_attributes_tell_what_auto_chose(cls, X, loss):
    model = fit(small(cls), X)
    assert model.loss_ == loss
    assert model.hidden_layer_sizes_ == (256,)
    # fitting does not change the parameters
    assert model.get_params()["loss"] == "auto"
    assert model.get_params()["hidden_layer_sizes"] == "auto"
    # the network is the one described
    encoder = model.net_.module_.encoder
    widths = [m.out_features for m in encoder.modules() if hasattr(m, "out_features")]
    assert widths[0] == 256


@pytest.mark.parametrize("cls", TRANSFORMERS)
def test_explicit_values_work_as_before(cls):
    model = fit(small(cls, loss="mse", hidden_layer_sizes=(128, 64)), X01)
    assert model.loss_ == "mse"
    assert model.hidden_layer_sizes_ == (128, 64)
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        fit(small(cls, loss="bce"), X_STD)


def test_bce_from_auto_scores_with_the_same_loss():
    ae = small(AutoencoderTransformer).fit(X01)
    explicit = small(AutoencoderTransformer, loss="bce").fit(X01)
    np.testing.assert_array_equal(ae.score_samples(X01), explicit.score_samples(X01))


def test_auto_bce_refuses_new_rows_out_of_range_and_says_why():
    ae = small(AutoencoderTransformer).fit(X01)
    with pytest.raises(ValueError, match="loss='auto' chose 'bce'"):
        ae.score_samples(X01 * 2)
    # the reconstruction needs no range
    assert ae.predict(X01 * 2).shape == X01.shape


def test_partial_fit_resolves_on_the_first_chunk():
    ae = small(AutoencoderTransformer)
    ae.partial_fit(X01)
    assert ae.loss_ == "bce"
    with pytest.raises(ValueError, match="loss='auto' chose 'bce'"):
        ae.partial_fit(X_STD)
    assert ae.loss_ == "bce"


def test_warm_start_keeps_what_auto_chose():
    ae = small(AutoencoderTransformer, warm_start=True).fit(X01)
    with pytest.raises(ValueError, match="loss='auto' chose 'bce'"):
        ae.fit(X_STD)
    assert ae.loss_ == "bce"
    # more rows than the first fit's would resolve to two layers
    X_more = np.tile(X01, (40, 1))
    assert ae.fit(X_more).hidden_layer_sizes_ == (256,)
    assert ae.n_iter_ == 4
    # an explicit change is still an architecture change
    with pytest.raises(ValueError, match="architecture changed"):
        ae.set_params(hidden_layer_sizes=(16,)).fit(X01)
    assert ae.hidden_layer_sizes_ == (256,)
    # a failed first fit leaves nothing behind
    failing = small(AutoencoderTransformer, batch_norm=True)
    with pytest.raises(ValueError):
        failing.fit(X01[:1])
    assert not hasattr(failing, "loss_")


def test_refit_resolves_afresh_and_clone_keeps_auto():
    ae = small(AutoencoderTransformer).fit(X01)
    assert ae.fit(X_STD).loss_ == "mse"
    assert clone(ae).get_params()["loss"] == "auto"


def test_pickles_keep_and_restore_the_resolved_values():
    ae = small(AutoencoderTransformer).fit(X01)
    loaded = pickle.loads(pickle.dumps(ae))
    assert (loaded.loss_, loaded.hidden_layer_sizes_) == ("bce", (256,))
    # a pickle written before the "auto" defaults, of an explicit loss
    old = small(AutoencoderTransformer, loss="mse", hidden_layer_sizes=(16,)).fit(X01)
    state = old.__getstate__()
    del state["loss_"], state["hidden_layer_sizes_"], state["max_epochs_"]
    restored = AutoencoderTransformer.__new__(AutoencoderTransformer)
    restored.__setstate__(state)
    assert (restored.loss_, restored.hidden_layer_sizes_) == ("mse", (16,))
    assert restored.max_epochs_ == 2  # the fitted estimator's explicit count
    np.testing.assert_array_equal(restored.transform(X01), old.transform(X01))


@pytest.mark.parametrize(
    "n_samples, batch_size, expected",
    [
        (1, 64, 200),
        (9600, 64, 200),  # 150 batches an epoch: 200 epochs are 30000
        (9601, 64, 199),  # 151 batches an epoch
        (60000, 64, 32),  # MNIST: 938 batches an epoch
        (60000, 256, 128),
        (10**7, 64, 1),  # more batches than the budget: one epoch
    ],
)
def test_auto_epochs_train_at_most_30000_batches(n_samples, batch_size, expected):
    assert resolve_max_epochs("auto", n_samples, batch_size) == expected
    assert resolve_max_epochs(7, n_samples, batch_size) == 7


def test_auto_epochs_bind_on_large_data(monkeypatch):
    # the budget scaled down, so that small data is "large": 40 rows in
    # batches of 8 are 5 batches an epoch, and a budget of 12 batches
    # rounds up to 3 epochs
    monkeypatch.setattr(skae._defaults, "STEP_BUDGET", 12)
    ae = small(AutoencoderTransformer, max_epochs="auto", batch_size=8, tol=0.0)
    ae.fit(X_STD[:40])
    assert ae.get_params()["max_epochs"] == "auto"
    assert ae.max_epochs_ == 3 == ae.n_iter_
    # an explicit count is kept; a warm start resolves afresh from its data
    assert ae.set_params(max_epochs=4).fit(X_STD[:40]).n_iter_ == 4
    ae.set_params(max_epochs="auto", warm_start=True).fit(X_STD[:16])
    assert ae.max_epochs_ == 6 and ae.n_iter_ == 4 + 6


def test_the_detector_keeps_its_fixed_loss_and_explicit_widths():
    detector = ReconstructionOutlierDetector(
        n_estimators=2, max_epochs=1, random_state=0
    ).fit(X01)
    assert detector.loss_ == "mse"
    assert detector.hidden_layer_sizes_ == (64,)
    with pytest.raises(InvalidParameterError):
        ReconstructionOutlierDetector(hidden_layer_sizes="auto").fit(X01)


@pytest.mark.parametrize("value", ["wide", "MSE"])
def test_other_strings_are_refused(value):
    with pytest.raises(InvalidParameterError):
        small(AutoencoderTransformer, hidden_layer_sizes=value).fit(X01)
    with pytest.raises(InvalidParameterError):
        small(AutoencoderTransformer, loss=value).fit(X01)


def test_a_code_wider_than_the_auto_layer_widens_it():
    ae = AutoencoderTransformer(300, max_epochs=1, random_state=0).fit(X_STD)
    assert ae.hidden_layer_sizes_ == (600,)


def test_auto_widths_take_a_second_layer_for_narrow_codes_of_2000_rows():
    X = np.random.RandomState(0).normal(size=(2000, 4))
    ae = AutoencoderTransformer(2, max_epochs=1, random_state=0).fit(X)
    assert ae.hidden_layer_sizes_ == (256, 128)
    assert small(AutoencoderTransformer).fit(X[:1999]).hidden_layer_sizes_ == (256,)
    # a code of more than 8 values keeps one layer
    wide = AutoencoderTransformer(9, max_epochs=1, random_state=0).fit(X)
    assert wide.hidden_layer_sizes_ == (256,)
    # partial_fit: the first chunk decides
    ae = small(AutoencoderTransformer).partial_fit(X[:100])
    assert ae.partial_fit(X).hidden_layer_sizes_ == (256,)


def test_auto_loss_is_mse_with_the_users_decoder():
    # skae cannot end a user's decoder with a sigmoid
    assert resolve_loss("auto", (0.0, 1.0), decoder=object()) == "mse"
