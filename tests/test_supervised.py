"""Behaviour of SupervisedAutoencoder: a classifier and a transformer."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer, SupervisedAutoencoder
from skae._training.losses import SupervisedLoss

# What make_estimator (conftest.py) gives this module's estimators.
ESTIMATOR_DEFAULTS = {"hidden_layer_sizes": (32,), "max_epochs": 60}


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 0, 0], [4, 4, 0, 0], [0, 4, 4, 0]])
    y = rng.integers(0, 3, size=150)
    return centers[y] + rng.normal(size=(150, 4)), y


def knn_accuracy(Z_train, y_train, Z_test, y_test):
    knn = KNeighborsClassifier(5).fit(Z_train, y_train)
    return knn.score(Z_test, y_test)


def test_2d_codes_separate_digit_classes(digits_split, make_estimator):
    X_train, X_test, y_train, y_test = digits_split
    params = dict(n_components=2, hidden_layer_sizes=(128, 64), max_epochs=60)
    sae = make_estimator(SupervisedAutoencoder, **params).fit(X_train, y_train)
    ae = AutoencoderTransformer(device="cpu", random_state=0, **params).fit(X_train)
    pca = PCA(2).fit(X_train)
    supervised = knn_accuracy(
        sae.transform(X_train), y_train, sae.transform(X_test), y_test
    )
    unsupervised = knn_accuracy(
        ae.transform(X_train), y_train, ae.transform(X_test), y_test
    )
    linear = knn_accuracy(
        pca.transform(X_train), y_train, pca.transform(X_test), y_test
    )
    assert supervised > 0.85
    assert supervised > unsupervised + 0.1
    assert supervised > linear + 0.2
    assert sae.score(X_test, y_test) > 0.85


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([3, 7, 11]),
        np.array(["cat", "dog", "emu"], dtype=object),
    ],
)
def test_any_label_type(blobs, labels, make_estimator):
    X, y = blobs
    y_named = labels[y]
    sae = make_estimator(SupervisedAutoencoder).fit(X, y_named)
    assert_array_equal(sae.classes_, np.sort(labels))
    assert set(sae.predict(X)) <= set(labels)
    assert sae.predict(X).dtype == sae.classes_.dtype
    assert sae.score(X, y_named) > 0.9


def test_boolean_labels(blobs, make_estimator):
    X, y = blobs
    sae = make_estimator(SupervisedAutoencoder).fit(X, y == 0)
    assert_array_equal(sae.classes_, [False, True])
    assert sae.score(X, y == 0) > 0.9


def test_predict_proba_columns_follow_classes(blobs, make_estimator):
    X, y = blobs
    names = np.array(["zebra", "ant", "moth"])
    sae = make_estimator(SupervisedAutoencoder).fit(X, names[y])
    proba = sae.predict_proba(X)
    assert proba.shape == (150, 3) and proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1)
    assert_array_equal(sae.classes_[proba.argmax(axis=1)], sae.predict(X))
    # column j is the probability of classes_[j]: it is highest on that class
    for j, name in enumerate(sae.classes_):
        assert proba[names[y] == name, j].mean() > 0.8


def test_transformer_side(blobs, make_estimator):
    X, y = blobs
    sae = make_estimator(SupervisedAutoencoder, n_components=3).fit(X, y)
    Z = sae.transform(X)
    assert Z.shape == (150, 3)
    assert sae.inverse_transform(Z).shape == (150, 4)
    assert_array_equal(
        sae.get_feature_names_out(), [f"supervisedautoencoder{i}" for i in range(3)]
    )
    assert sae.fit_transform(X, y).shape == (150, 3)


def test_in_a_pipeline(digits_split, make_estimator):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(
        MinMaxScaler(),
        make_estimator(SupervisedAutoencoder, n_components=8, max_epochs=40),
    )
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.85


def test_unlabeled_rows_add_reconstruction_only():
    # the cross-entropy ignores rows labeled -1; a batch with none labeled
    # contributes reconstruction loss only
    criterion = SupervisedLoss(
        "mse", reconstruction_weight=1.0, classification_weight=1.0
    )
    X = torch.rand(4, 3)
    reconstruction = torch.rand(4, 3)
    logits = torch.randn(4, 2)
    output = (reconstruction, None, logits)
    recon = torch.nn.functional.mse_loss(reconstruction, X)
    unlabeled = torch.tensor([-1, -1, -1, -1])
    assert torch.allclose(criterion(output, X, unlabeled), recon)
    half = torch.tensor([0, -1, 1, -1])
    ce = torch.nn.functional.cross_entropy(logits[[0, 2]], torch.tensor([0, 1]))
    assert torch.allclose(criterion(output, X, half), recon + ce)


def test_few_labels_still_organise_the_code(digits_split, make_estimator):
    X_train, X_test, y_train, y_test = digits_split
    rng = np.random.default_rng(0)
    y_partial = y_train.copy()
    y_partial[rng.random(len(y_train)) > 0.2] = -1  # keep about 20%
    params = dict(n_components=2, hidden_layer_sizes=(128, 64), max_epochs=60)
    sae = make_estimator(SupervisedAutoencoder, **params).fit(X_train, y_partial)
    assert_array_equal(sae.classes_, np.arange(10))
    ae = AutoencoderTransformer(device="cpu", random_state=0, **params).fit(X_train)
    semi = knn_accuracy(sae.transform(X_train), y_train, sae.transform(X_test), y_test)
    unsupervised = knn_accuracy(
        ae.transform(X_train), y_train, ae.transform(X_test), y_test
    )
    assert semi > unsupervised and semi > 0.83


def test_unlabeled_marker_in_object_labels(blobs, make_estimator):
    X, y = blobs
    y_obj = np.array(["a", "b", "c"], dtype=object)[y]
    y_obj[::3] = -1
    sae = make_estimator(SupervisedAutoencoder).fit(X, y_obj)
    assert_array_equal(sae.classes_, ["a", "b", "c"])


def test_tutorial_configuration_builds():
    # the configuration of the supervised guide and of the class's Notes
    X = np.random.default_rng(0).uniform(size=(64, 784))
    y = np.arange(64) % 10
    sae = SupervisedAutoencoder(
        2,
        hidden_layer_sizes=(500, 300, 100),
        classifier_layer_sizes=(64, 128),
        activation="tanh",
        loss="bce",
        classification_weight=0.1,
        optimizer="rmsprop",
        lr=1e-3,
        optimizer__alpha=0.9,
        batch_size=128,
        max_epochs=1,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    module = sae.net_.module_
    widths = [
        m.out_features
        for m in module.encoder.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    head = [
        m.out_features
        for m in module.classifier.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    assert widths == [500, 300, 100, 2] and head == [64, 128, 10]
    assert isinstance(module.encoder.hidden[1], torch.nn.Tanh)
    assert isinstance(module.decoder.output[1], torch.nn.Sigmoid)
    assert isinstance(sae.net_.optimizer_, torch.optim.RMSprop)
    settings = sae.net_.optimizer_.param_groups[0]
    assert (settings["lr"], settings["alpha"]) == (1e-3, 0.9)
    assert sae.net_.criterion_.classification_weight == 0.1


def test_partial_fit_needs_classes_first(blobs, make_estimator):
    X, y = blobs
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        make_estimator(SupervisedAutoencoder).partial_fit(X, y)
    sae = make_estimator(SupervisedAutoencoder).partial_fit(
        X[:50], y[:50], classes=[0, 1, 2]
    )
    sae.partial_fit(X[50:], y[50:])
    assert sae.n_iter_ == 2
    assert_array_equal(sae.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        sae.partial_fit(X[:5], y[:5], classes=[0, 1])


@pytest.mark.parametrize(
    "y, message",
    [
        (None, "requires y to be passed"),
        (np.zeros(150, dtype=int), "at least 2 classes .* got 1 class"),
        (np.where(np.arange(150) % 2, 4, -1), "got 1 class: .* -1 count as unlabeled"),
        (np.full(150, -1), "every label is -1"),
        (np.linspace(0, 1, 150), "Unknown label type"),
        (np.zeros(10), "inconsistent numbers of samples"),
    ],
)
def test_bad_labels(blobs, y, message, make_estimator):
    X, _ = blobs
    with pytest.raises(ValueError, match=message):
        make_estimator(SupervisedAutoencoder).fit(X, y)


def test_unknown_label_in_partial_fit(blobs, make_estimator):
    X, y = blobs
    sae = make_estimator(SupervisedAutoencoder).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[5\] that are not in classes_"):
        sae.partial_fit(X[:3], np.array([0, 5, 1]))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"classification_weight": -1}, "'classification_weight' parameter"),
        ({"reconstruction_weight": -0.5}, "'reconstruction_weight' parameter"),
        ({"classifier_dropout": 1.0}, "'classifier_dropout' parameter"),
        ({"classifier_layer_sizes": (0,)}, "classifier_layer_sizes must be"),
    ],
)
def test_bad_parameters(blobs, params, message, make_estimator):
    with pytest.raises(ValueError, match=message):
        make_estimator(SupervisedAutoencoder, **params).fit(*blobs)


def test_validation_needs_its_labels(make_estimator):
    X = np.random.default_rng(0).random((40, 6))
    y = np.arange(40) % 3
    with pytest.raises(ValueError, match="pass y_val with X_val"):
        make_estimator(SupervisedAutoencoder).fit(X, y, X_val=X)
    with pytest.raises(ValueError, match=r"y_val contains labels \[7\]"):
        make_estimator(SupervisedAutoencoder).fit(X, y, X_val=X[:2], y_val=[0, 7])
