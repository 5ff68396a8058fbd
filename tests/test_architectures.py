"""The networks: dense, convolutional and recurrent ones, the user's own
modules, and the sparsity and contractive penalties, across the
estimators."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import takes
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    SupervisedAutoencoder,
)
from skae._torch_modules import ConvEncoder, RecurrentEncoder

# What make_estimator (conftest.py) gives this module's estimators.
ESTIMATOR_DEFAULTS = {"hidden_layer_sizes": (128, 64), "max_epochs": 2}


def rows(n_samples, n_features, seed=0):
    return np.random.default_rng(seed).random((n_samples, n_features), np.float32)


# ----------------------------------------------------------------------
# Dense


@pytest.mark.parametrize(
    "activation", ["relu", "tanh", "sigmoid", "elu", "gelu", "leaky_relu", "identity"]
)
def test_every_activation_trains(activation, make_estimator):
    X = rows(60, 6)
    ae = make_estimator(AutoencoderTransformer, activation=activation).fit(X)
    assert np.all(np.isfinite(ae.transform(X)))


def test_deep_network_mirrors_encoder(make_estimator):
    X = rows(60, 6)
    ae = make_estimator(
        AutoencoderTransformer, n_components=3, hidden_layer_sizes=(32, 16, 8)
    ).fit(X)
    encoder, decoder = ae.net_.module_.encoder, ae.net_.module_.decoder
    enc = [m.out_features for m in encoder.modules() if isinstance(m, nn.Linear)]
    dec = [m.out_features for m in decoder.modules() if isinstance(m, nn.Linear)]
    assert enc == [32, 16, 8, 3]
    assert dec == [8, 16, 32, 6]


def test_no_hidden_layers(make_estimator):
    X = rows(60, 6)
    ae = make_estimator(AutoencoderTransformer, hidden_layer_sizes=()).fit(X)
    assert ae.transform(X).shape == (60, 2)
    linear = [m for m in ae.net_.module_.modules() if isinstance(m, nn.Linear)]
    assert len(linear) == 2


def test_dropout_and_batch_norm_deterministic_at_inference(make_estimator):
    X = rows(60, 6)
    ae = make_estimator(AutoencoderTransformer, dropout=0.3, batch_norm=True).fit(X)
    modules = list(ae.net_.module_.modules())
    assert any(isinstance(m, nn.Dropout) for m in modules)
    assert any(isinstance(m, nn.BatchNorm1d) for m in modules)
    assert_array_equal(ae.transform(X), ae.transform(X))


# ----------------------------------------------------------------------
# Convolutional


@pytest.mark.parametrize(
    "image_shape", [(1, 28, 28), (1, 30, 30), (3, 32, 32), (3, 64, 64), (3, 17, 23)]
)
def test_conv_round_trips_any_image_size(image_shape, make_estimator):
    X = rows(10, int(np.prod(image_shape)))
    ae = make_estimator(
        AutoencoderTransformer, n_components=4, image_shape=image_shape, loss="bce"
    ).fit(X)
    codes = ae.transform(X)
    assert codes.shape == (10, 4)
    assert ae.predict(X).shape == X.shape
    assert ae.inverse_transform(codes).shape == X.shape
    assert isinstance(ae.net_.module_.encoder, ConvEncoder)
    # bce: the cropped output is still a sigmoid
    assert 0 <= ae.predict(X).min() and ae.predict(X).max() <= 1


def test_conv_image_shape_forms_agree(make_estimator):
    X = rows(12, 36)
    by_hw = make_estimator(AutoencoderTransformer, image_shape=(6, 6)).fit(X)
    by_chw = make_estimator(AutoencoderTransformer, image_shape=(1, 6, 6)).fit(X)
    inferred = make_estimator(AutoencoderTransformer, image_shape=(1, -1, 6)).fit(X)
    assert by_hw.net_.architecture["image_shape"] == (1, 6, 6)
    assert inferred.net_.architecture["image_shape"] == (1, 6, 6)
    assert_array_equal(by_hw.transform(X), by_chw.transform(X))
    assert_array_equal(by_hw.transform(X), inferred.transform(X))


def test_conv_channels_set_the_network(make_estimator):
    X = rows(8, 64)
    ae = make_estimator(
        AutoencoderTransformer, image_shape=(8, 8), conv_channels=(4, 8, 16)
    ).fit(X)
    convs = [m for m in ae.net_.module_.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16]
    # every stride-2 convolution has a transposed twin in the decoder
    deconvs = [
        m
        for m in ae.net_.module_.decoder.modules()
        if isinstance(m, nn.ConvTranspose2d)
    ]
    assert [d.out_channels for d in deconvs] == [8, 4, 1]


def test_conv_reads_rows_as_images():
    # Two images that differ only by a shift of their content are mapped by
    # the first convolution to shifted feature maps: the network sees the
    # pixels in their 2-D arrangement.
    encoder = ConvEncoder((1, 8, 8), 2, channels=(3,))
    image = torch.zeros(1, 8, 8)
    image[0, 2, 2] = 1.0
    shifted = torch.roll(image, shifts=(2, 2), dims=(1, 2))
    with torch.no_grad():
        a = encoder.features(image.view(1, 1, 8, 8))
        b = encoder.features(shifted.view(1, 1, 8, 8))
    assert_allclose(a[..., 1, 1].numpy(), b[..., 2, 2].numpy(), rtol=1e-6)


def test_conv_accepts_sparse_input(make_estimator):
    X = sp.random(20, 49, density=0.3, format="csr", dtype=np.float32, random_state=0)
    ae = make_estimator(AutoencoderTransformer, image_shape=(7, 7)).fit(X)
    # the same float32 values in the same inference blocks: the same bits
    assert_array_equal(ae.transform(X), ae.transform(X.toarray()))


def test_channels_last_rows_give_the_same_model(
    estimator_class, make_estimator, fit_estimator, assert_float32_close
):
    rng = np.random.default_rng(0)
    images = rng.random((30, 3, 6, 5)).astype(np.float32)  # (C, H, W)
    chw = images.reshape(30, -1)
    hwc = images.transpose(0, 2, 3, 1).reshape(30, -1)

    def channels_first(rows):
        return rows.reshape(-1, 6, 5, 3).transpose(0, 3, 1, 2).reshape(len(rows), -1)

    params = {
        "n_components": 4,
        "conv_channels": (4,),
        "hidden_layer_sizes": (8,),
        "max_epochs": 3,
    }
    first = make_estimator(estimator_class, image_shape=(3, 6, 5), **params)
    last = make_estimator(
        estimator_class, image_shape=(6, 5, 3), channels_last=True, **params
    )
    first, last = fit_estimator(first, chw), fit_estimator(last, hwc)
    codes, decoded = first.transform(chw), first.inverse_transform(first.transform(chw))
    codes_last = last.transform(hwc)
    decoded_last = channels_first(last.inverse_transform(codes_last))
    if estimator_class is ReconstructionOutlierDetector:
        # vmap's convolutions sum the channels-last rows' gradients in
        # another order: the same training up to float32 rounding
        assert_float32_close(codes_last, codes, n_layers=20, width=64)
        assert_float32_close(decoded_last, decoded, n_layers=20, width=64)
    else:
        # the same pixels in the same (C, H, W) tensors, a denoiser's noise
        # included: the same computation
        assert_array_equal(codes_last, codes)
        assert_array_equal(decoded_last, decoded)


def test_channels_last_reads_the_shape_in_its_order(make_estimator):
    X = np.zeros((10, 6 * 5 * 3), dtype=np.float32)
    est = make_estimator(
        AutoencoderTransformer, image_shape=(6, 5, 3), channels_last=True
    )
    assert est.fit(X).net_.architecture["image_shape"] == (3, 6, 5)
    est.set_params(image_shape=(6, 5, 4))
    with pytest.raises(ValueError, match="does not fit the 90 features"):
        est.fit(X)


# ----------------------------------------------------------------------
# Recurrent


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_round_trip(cell, make_estimator):
    X = rows(16, 30)
    ae = make_estimator(
        AutoencoderTransformer,
        n_components=3,
        sequence_shape=(10, 3),
        recurrent_cell=cell,
    ).fit(X)
    assert isinstance(ae.net_.module_.encoder, RecurrentEncoder)
    assert isinstance(
        ae.net_.module_.encoder.recurrent, nn.LSTM if cell == "lstm" else nn.GRU
    )
    assert ae.transform(X).shape == (16, 3)
    assert ae.predict(X).shape == X.shape


def test_recurrent_reads_rows_time_major():
    # The last time step of a sequence changes the code; in a time-major row
    # that is the last n_channels columns.
    encoder = RecurrentEncoder((5, 2), 3, units=4)
    X = torch.zeros(1, 10)
    X_last = X.clone()
    X_last[0, -2:] = 1.0
    with torch.no_grad():
        outputs, _ = encoder.recurrent(X_last.view(1, 5, 2))
        before, _ = encoder.recurrent(X.view(1, 5, 2))
    # earlier steps are untouched by a change at the last step
    assert_array_equal(outputs[0, :4].numpy(), before[0, :4].numpy())
    assert not torch.equal(outputs[0, 4], before[0, 4])


def test_recurrent_units_set_the_width(make_estimator):
    ae = make_estimator(
        AutoencoderTransformer, sequence_shape=(4, 2), recurrent_units=7
    ).fit(rows(8, 8))
    assert ae.net_.module_.encoder.recurrent.hidden_size == 7
    assert ae.net_.module_.decoder.recurrent.hidden_size == 7


# ----------------------------------------------------------------------
# Every estimator with every architecture


ARCHITECTURES = [
    {"image_shape": (2, 4, 3)},
    {"sequence_shape": (6, 4)},
    {"sequence_shape": (6, 4), "recurrent_cell": "gru"},
]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_architectures_in_every_estimator(
    estimator_class, architecture, make_estimator, fit_estimator
):
    X = rows(40, 24)
    est = make_estimator(estimator_class, **architecture)
    fit_estimator(est, X, np.repeat(["a", "b"], 20) if is_classifier(est) else None)
    Z = est.transform(X)
    assert Z.shape == (40, len(est.get_feature_names_out()))
    assert est.inverse_transform(Z).shape == X.shape
    assert np.all(np.isfinite(est.score_samples(X)))
    if hasattr(est, "predict_proba"):
        assert est.predict_proba(X).shape == (40, 2)
    elif hasattr(est, "decision_function"):
        assert set(est.predict(X)) <= {-1, 1}
    elif hasattr(est, "predict"):
        assert est.predict(X).shape == X.shape


@pytest.mark.parametrize(
    "architecture",
    [
        {"image_shape": (2, 4, 3)},
        {"sequence_shape": (6, 4)},
        {"encoder": "module", "decoder": "module"},
        {"sparsity_weight": 1e-3, "contractive_weight": 1e-2},
    ],
)
def test_clone_and_pickle_every_architecture(architecture, make_estimator):
    if architecture.get("encoder") == "module":
        architecture = {
            "encoder": MLPEncoder,
            "decoder": MLPDecoder,
            "encoder__width": 5,
        }
    X = rows(30, 24)
    ae = make_estimator(AutoencoderTransformer, **architecture).fit(X)
    assert clone(ae).get_params() == ae.get_params()
    restored = pickle.loads(pickle.dumps(ae))
    assert_array_equal(restored.transform(X), ae.transform(X))
    assert_array_equal(restored.predict(X), ae.predict(X))
    # and it trains on from where it was
    restored.partial_fit(X)
    assert restored.n_iter_ == ae.n_iter_ + 1


def test_warm_start_refuses_a_new_shape(make_estimator):
    X = rows(20, 24)
    ae = make_estimator(
        AutoencoderTransformer, image_shape=(1, 4, 6), warm_start=True
    ).fit(X)
    with pytest.raises(ValueError, match=r"architecture changed \(image_shape\)"):
        ae.set_params(image_shape=(1, 6, 4)).fit(X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"image_shape": (5, 5)}, r"image_shape=\(5, 5\) does not fit the 24 features"),
        ({"image_shape": (5, -1)}, r"a row must hold a multiple of 5 values"),
        ({"image_shape": (1, 2, 3, 4)}, "must be a tuple of 2 or 3 positive integers"),
        ({"image_shape": (0, 24)}, "must be a tuple of 2 or 3 positive integers"),
        ({"image_shape": (-1, -1, 6)}, "must be a tuple of 2 or 3 positive integers"),
        ({"sequence_shape": (7, 3)}, r"sequence_shape=\(7, 3\) does not fit"),
        ({"sequence_shape": (24,)}, "must be a tuple of 2 positive integers"),
        (
            {"image_shape": (4, 6), "sequence_shape": (6, 4)},
            "image_shape and sequence_shape are exclusive",
        ),
        ({"image_shape": (4, 6), "conv_channels": ()}, "at least one width"),
        ({"conv_channels": (8, 0), "image_shape": (4, 6)}, "conv_channels must be"),
    ],
)
def test_bad_shapes_are_clear_errors(params, message, make_estimator):
    with pytest.raises(ValueError, match=message):
        make_estimator(AutoencoderTransformer, **params).fit(rows(10, 24))


@pytest.mark.parametrize(
    "params",
    [
        {"recurrent_cell": "rnn"},
        {"recurrent_units": 0},
        {"sparsity_weight": -1.0},
        {"sparsity_target": 1.0},
        {"contractive_weight": -0.1},
        {"encoder": "dense"},
    ],
)
def test_bad_architecture_parameters(params, make_estimator):
    with pytest.raises(InvalidParameterError):
        make_estimator(AutoencoderTransformer, **params).fit(rows(10, 24))


# ----------------------------------------------------------------------
# The user's own modules


class MLPEncoder(nn.Module):
    def __init__(self, n_features, n_components, width=16):
        super().__init__()
        self.width = width
        self.net = nn.Sequential(
            nn.Linear(n_features, width), nn.Tanh(), nn.Linear(width, n_components)
        )

    def forward(self, X):
        return self.net(X)


class MLPDecoder(nn.Module):
    def __init__(self, n_components, n_features, width=16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_components, width), nn.Tanh(), nn.Linear(width, n_features)
        )

    def forward(self, Z):
        return self.net(Z)


class FixedEncoder(nn.Module):
    """Takes no size arguments: its sizes are its own business."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(24, 3)

    def forward(self, X):
        return self.layer(X)


def test_user_module_classes_get_sizes_and_parameters(make_estimator):
    X = rows(30, 24)
    ae = make_estimator(
        AutoencoderTransformer,
        n_components=3,
        encoder=MLPEncoder,
        decoder=MLPDecoder,
        encoder__width=7,
    ).fit(X)
    encoder = ae.net_.module_.encoder
    assert isinstance(encoder, MLPEncoder) and encoder.width == 7
    assert encoder.net[0].in_features == 24 and encoder.net[2].out_features == 3
    assert ae.net_.module_.decoder.net[0].out_features == 16
    assert ae.transform(X).shape == (30, 3)
    assert ae.get_params()["encoder__width"] == 7


def test_user_module_with_builtin_other_half(make_estimator):
    X = rows(30, 24)
    ae = make_estimator(
        AutoencoderTransformer, n_components=3, encoder=FixedEncoder
    ).fit(X)
    assert isinstance(ae.net_.module_.encoder, FixedEncoder)
    assert ae.predict(X).shape == X.shape


def test_user_module_instance_is_copied_not_trained(make_estimator):
    encoder = MLPEncoder(24, 2)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    ae = make_estimator(AutoencoderTransformer, encoder=encoder, max_epochs=3).fit(
        rows(30, 24)
    )
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, before[key])
    assert ae.net_.module_.encoder is not encoder
    assert ae.get_params()["encoder"] is encoder


def test_grid_search_over_the_module_arguments(make_estimator):
    X = rows(60, 24)
    pipe = make_pipeline(
        MinMaxScaler(),
        make_estimator(
            AutoencoderTransformer,
            encoder=MLPEncoder,
            decoder=MLPDecoder,
            encoder__width=4,
        ),
    )
    search = GridSearchCV(
        pipe, {"autoencodertransformer__encoder__width": [4, 32]}, cv=2
    ).fit(X)
    assert search.best_params_["autoencodertransformer__encoder__width"] in (4, 32)
    best = search.best_estimator_[-1]
    assert best.net_.module_.encoder.width == best.get_params()["encoder__width"]


def test_set_params_reaches_module_arguments(make_estimator):
    ae = make_estimator(AutoencoderTransformer, encoder=MLPEncoder)
    ae.set_params(encoder__width=9)
    assert ae.get_params()["encoder__width"] == 9
    assert clone(ae).get_params()["encoder__width"] == 9
    assert "encoder__width=9" in repr(ae)
    ae.fit(rows(20, 24))
    assert ae.net_.module_.encoder.width == 9


def test_user_modules_of_other_estimators(make_estimator):
    X = rows(40, 24)
    y = np.repeat([0, 1], 20)
    modules = {"encoder": MLPEncoder, "decoder": MLPDecoder}
    assert make_estimator(SupervisedAutoencoder, **modules).fit(X, y).score(X, y) >= 0
    detector = make_estimator(
        ReconstructionOutlierDetector, n_components=2, n_estimators=3, **modules
    ).fit(X)
    # every member of the ensemble is built from the user's modules
    assert isinstance(detector.net_.module_.template.encoder, MLPEncoder)
    assert np.all(np.isfinite(detector.score_samples(X)))
    assert (
        make_estimator(DenoisingAutoencoder, **modules).fit(X).predict(X).shape
        == X.shape
    )


class WrongWidthEncoder(MLPEncoder):
    def forward(self, X):
        return super().forward(X)[:, :1]


class TupleEncoder(MLPEncoder):
    def forward(self, X):
        return super().forward(X), None


@pytest.mark.parametrize(
    "params, error, message",
    [
        (
            {"encoder": WrongWidthEncoder},
            ValueError,
            r"map \(n_samples, 24\) inputs to \(n_samples, 2\) codes, but it "
            r"returned shape \(2, 1\)",
        ),
        ({"encoder": TupleEncoder}, ValueError, "returned a tuple"),
        (
            {"decoder": FixedEncoder},
            ValueError,
            r"decoder FixedEncoder failed on \(n_samples, 2\) codes: mat1 and mat2",
        ),
        (
            {"encoder": MLPEncoder, "encoder__depth": 3},
            TypeError,
            "Could not build encoder MLPEncoder",
        ),
        (
            {"encoder__width": 3},
            ValueError,
            r"configure the encoder class, but encoder is None",
        ),
        (
            {"encoder": MLPEncoder(24, 2), "encoder__width": 3},
            ValueError,
            "pass the class instead",
        ),
        ({"encoder": int}, TypeError, "must be a torch.nn.Module subclass or instance"),
        ({"widht": 3}, TypeError, r"unexpected parameters \['widht'\]"),
    ],
)
def test_bad_user_modules_are_clear_errors(params, error, message, make_estimator):
    with pytest.raises(error, match=message):
        make_estimator(AutoencoderTransformer, **params).fit(rows(10, 24))


def test_init_and_set_params_never_raise_on_unknown_arguments():
    # scikit-learn checks parameters at fit, not before.
    ae = AutoencoderTransformer(widht=3)
    ae.set_params(widht=4)
    assert ae.get_params()["widht"] == 4


# ----------------------------------------------------------------------
# Penalties


@pytest.fixture(scope="module")
def digit_images(digits):
    return digits[0].astype(np.float32)


def test_sparsity_penalty_shrinks_the_codes(digit_images, make_estimator):
    params = {"n_components": 16, "max_epochs": 15, "loss": "bce"}
    plain = make_estimator(AutoencoderTransformer, **params).fit(digit_images)
    sparse = make_estimator(AutoencoderTransformer, **params, sparsity_weight=1e-2).fit(
        digit_images
    )
    plain_activation = np.abs(plain.transform(digit_images)).mean()
    sparse_activation = np.abs(sparse.transform(digit_images)).mean()
    assert sparse_activation < 0.5 * plain_activation
    # while it still reconstructs
    assert sparse.score(digit_images) > 1.5 * plain.score(
        digit_images
    )  # scores are < 0


def test_kl_sparsity_target(digit_images, make_estimator):
    params = {"n_components": 16, "max_epochs": 15, "loss": "bce"}
    plain = make_estimator(AutoencoderTransformer, **params).fit(digit_images)
    target = make_estimator(
        AutoencoderTransformer, **params, sparsity_weight=1.0, sparsity_target=0.05
    ).fit(digit_images)

    def mean_activation(ae):
        return torch.sigmoid(torch.from_numpy(ae.transform(digit_images))).mean().item()

    assert abs(mean_activation(target) - 0.05) < 0.05
    assert abs(mean_activation(target) - 0.05) < abs(mean_activation(plain) - 0.05)


def jacobian_norm(ae, X):
    encoder = ae.net_.module_.encoder.eval()
    total = 0.0
    for row in torch.from_numpy(X):
        jacobian = torch.autograd.functional.jacobian(encoder, row.view(1, -1))
        total += jacobian.pow(2).sum().item()
    return total / len(X)


def test_contractive_penalty_flattens_the_encoder(digit_images, make_estimator):
    params = {"n_components": 4, "max_epochs": 10}
    plain = make_estimator(AutoencoderTransformer, **params).fit(digit_images)
    contractive = make_estimator(
        AutoencoderTransformer, **params, contractive_weight=0.1
    ).fit(digit_images)
    assert jacobian_norm(contractive, digit_images[:50]) < 0.5 * jacobian_norm(
        plain, digit_images[:50]
    )


def test_penalties_add_to_the_training_loss(
    estimator_class, make_estimator, fit_estimator
):
    if not takes(estimator_class, "sparsity_weight"):
        pytest.skip(f"{estimator_class.__name__} takes no penalties")
    X = rows(40, 12)
    penalties = {"sparsity_weight": 1e-2, "contractive_weight": 1e-2}
    plain = fit_estimator(make_estimator(estimator_class, max_epochs=1), X)
    penalised = make_estimator(estimator_class, max_epochs=1, **penalties)
    fit_estimator(penalised, X)
    # same seed, same batch: the penalised loss is the larger one
    assert penalised.net_.penalty is not None and plain.net_.penalty is None
    assert penalised.history_[0, "train_loss"] > plain.history_[0, "train_loss"]
