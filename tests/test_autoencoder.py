"""Behaviour of AutoencoderTransformer of its own: a reconstructing
transformer whose quality beats PCA's. What every estimator shares is in
test_base.py and test_base_training.py, its networks in
test_architectures.py."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

# --- quality -------------------------------------------------------------


def test_digits_beats_pca_at_default_settings(digits_split):
    X_train, X_test, y_train, y_test = digits_split
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


def test_pipeline_with_scaler_and_classifier(digits_split, make_estimator):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(
        StandardScaler(),
        make_estimator(
            AutoencoderTransformer,
            n_components=8,
            hidden_layer_sizes=(32,),
            max_epochs=30,
        ),
        LogisticRegression(max_iter=1000),
    )
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.8


def test_grid_search_over_n_components_in_parallel(digits_split, make_estimator):
    X_train = digits_split[0][:400]
    search = GridSearchCV(
        make_estimator(AutoencoderTransformer, hidden_layer_sizes=(32,), max_epochs=20),
        {"n_components": [2, 16]},
        cv=2,
        n_jobs=2,
    ).fit(X_train)
    # with the default score (minus reconstruction error), more is better
    assert search.best_params_ == {"n_components": 16}
    assert search.best_estimator_.transform(X_train).shape == (400, 16)


# --- predict and score ------------------------------------------------------


def test_predict_is_decode_of_encode_and_score_its_mean_error(make_estimator, X):
    ae = make_estimator(AutoencoderTransformer, n_components=3, loss="mse").fit(X)
    X_hat = ae.predict(X)
    assert X_hat.shape == (60, 6) and X_hat.dtype == np.float32
    assert_allclose(X_hat, ae.inverse_transform(ae.transform(X)), rtol=1e-6)
    expected = -np.mean((X_hat - X) ** 2, axis=1)
    assert ae.score(X) == pytest.approx(expected.mean(), rel=1e-5)


def test_skorch_net_api_works_for_pytorch_users(
    make_estimator, X, assert_float32_close
):
    ae = make_estimator(AutoencoderTransformer, hidden_layer_sizes=(16,)).fit(X)
    reconstruction = ae.net_.predict(X.astype(np.float32))
    # skorch's batches are not skae's inference blocks: other shapes
    assert_float32_close(reconstruction, ae.predict(X), n_layers=6, width=16)
    ae.net_.partial_fit(X.astype(np.float32))  # skorch's own continuation
