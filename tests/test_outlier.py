"""Behaviour of ReconstructionOutlierDetector: scikit-learn's outlier contract,
and the ensemble's score."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import spearmanr
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from skae import ReconstructionOutlierDetector

# What make_estimator (conftest.py) gives this module's estimators.
ESTIMATOR_DEFAULTS = {"n_estimators": 5, "hidden_layer_sizes": (16,), "max_epochs": 30}


@pytest.fixture(scope="module")
def planted():
    """Rows on a 2-D plane inside 8-D space, in mixed units, and 20 rows off
    the plane."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(520, 2))
    X = latent @ rng.normal(size=(2, 8)) + 0.05 * rng.normal(size=(520, 8))
    X[500:] += rng.normal(scale=3.0, size=(20, 8))
    X *= np.array([1e-3, 1, 10, 100, 1e3, 1e4, 1, 1])  # raw, mixed units
    is_outlier = np.zeros(520, dtype=bool)
    is_outlier[500:] = True
    return X, is_outlier


def test_sign_conventions_agree_with_isolation_forest(planted, make_estimator):
    X, is_outlier = planted
    ours = make_estimator(ReconstructionOutlierDetector, contamination=20 / 520).fit(X)
    forest = IsolationForest(contamination=20 / 520, random_state=0).fit(X)
    for detector in (ours, forest):
        scores = detector.score_samples(X)
        # lower score_samples = more abnormal
        assert roc_auc_score(is_outlier, -scores) > 0.9
        assert_allclose(detector.decision_function(X), scores - detector.offset_)
        labels = detector.predict(X)
        assert set(np.unique(labels)) == {-1, 1}
        assert_array_equal(labels == -1, detector.decision_function(X) < 0)


def test_reconstruction_recovers_planted_outliers_on_raw_units(planted, make_estimator):
    # rows off the plane, in features of units 1e-3 to 1e4: each member's
    # standardization lets every feature count
    X, is_outlier = planted
    detector = make_estimator(ReconstructionOutlierDetector, code_weight=0.0).fit(X)
    assert roc_auc_score(is_outlier, -detector.score_samples(X)) > 0.95


@pytest.mark.parametrize("contamination", [0.01, 0.05, 0.1, 0.25, 0.5])
def test_flagged_share_matches_contamination(planted, contamination, make_estimator):
    X, _ = planted
    labels = (
        make_estimator(
            ReconstructionOutlierDetector, contamination=contamination, max_epochs=5
        )
        .fit(X)
        .predict(X)
    )
    assert np.mean(labels == -1) == pytest.approx(contamination, abs=1 / len(X))


def test_auto_contamination_is_tukeys_fence(planted, make_estimator):
    X, _ = planted
    detector = make_estimator(ReconstructionOutlierDetector).fit(X)
    scores = detector.score_samples(X)
    q1, q3 = np.percentile(scores, [25, 75])
    assert detector.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    flagged = np.mean(detector.predict(X) == -1)
    assert 0 < flagged < 0.2


def test_fit_predict_equals_fit_then_predict(planted, make_estimator):
    X, _ = planted
    assert_array_equal(
        make_estimator(ReconstructionOutlierDetector).fit_predict(X),
        make_estimator(ReconstructionOutlierDetector).fit(X).predict(X),
    )


def test_feature_errors_explain_the_reconstruction_term(planted, make_estimator):
    X, _ = planted
    # one member and no code term: the score is minus an increasing function
    # (the robust z-score of the log) of the row's mean relative error
    detector = make_estimator(
        ReconstructionOutlierDetector, n_estimators=1, code_weight=0.0
    ).fit(X)
    errors = detector.feature_errors(X)
    assert errors.shape == X.shape
    assert np.all(errors >= 0)
    rank = spearmanr(errors.mean(axis=1), -detector.score_samples(X)).statistic
    assert rank == pytest.approx(1.0)


def test_feature_errors_point_at_the_broken_feature(make_estimator):
    rng = np.random.default_rng(1)
    t = rng.normal(size=(600, 1))
    X = np.hstack([t, 2 * t, -t, 3 * t]) + 0.01 * rng.normal(size=(600, 4))
    detector = make_estimator(
        ReconstructionOutlierDetector, n_components=1, max_epochs=100
    )
    detector.fit(X)
    broken = X[:5].copy()
    broken[:, 2] += 5  # break the relation in feature 2 only
    assert np.all(detector.feature_errors(broken).argmax(axis=1) == 2)


def test_constant_and_huge_columns_give_finite_scores(make_estimator):
    rng = np.random.default_rng(0)
    X = np.hstack(
        [
            rng.normal(size=(200, 3)),
            np.full((200, 1), 7.0),  # constant
            np.full((200, 1), 1e6) + rng.normal(size=(200, 1)) * 1e-3,  # ~constant
            rng.normal(size=(200, 1)) * 1e8,  # huge
            rng.normal(size=(200, 1)) * 1e-8,  # tiny
        ]
    )
    detector = make_estimator(ReconstructionOutlierDetector).fit(X)
    X_test = X.copy()
    X_test[:5, 3] = 8.0  # a constant column takes a new value
    for scores in (detector.score_samples(X_test), detector.decision_function(X)):
        assert np.all(np.isfinite(scores))
    assert detector.scale_[3] == 1.0 and detector.scale_[4] == 1.0


def test_standardization_can_be_turned_off(planted, make_estimator):
    X, _ = planted
    detector = make_estimator(
        ReconstructionOutlierDetector, standardize=False, max_epochs=2
    ).fit(X / 1e4)
    assert not hasattr(detector, "mean_")
    assert np.all(np.isfinite(detector.score_samples(X / 1e4)))


def test_scores_are_float64(planted, make_estimator):
    X, _ = planted
    detector = make_estimator(ReconstructionOutlierDetector, max_epochs=2).fit(
        X.astype(np.float32)
    )
    assert detector.score_samples(X).dtype == np.float64
    assert detector.decision_function(X).dtype == np.float64


def test_partial_fit_resets_offset(planted, make_estimator):
    X, _ = planted
    detector = make_estimator(ReconstructionOutlierDetector, contamination=0.1)
    detector.partial_fit(X[:260])
    first = detector.offset_
    detector.partial_fit(X[260:])
    assert detector.n_iter_ == 2
    assert detector.offset_ == pytest.approx(
        np.percentile(detector.score_samples(X[260:]), 10)
    )
    assert detector.offset_ != first


@pytest.mark.parametrize(
    "params, message",
    [
        ({"contamination": 0.6}, "'contamination' parameter"),
        ({"contamination": 0.0}, "'contamination' parameter"),
        ({"contamination": "high"}, "'contamination' parameter"),
        ({"standardize": "yes"}, "'standardize' parameter"),
        ({"n_estimators": 0}, "'n_estimators' parameter"),
        ({"max_samples": 1}, "'max_samples' parameter"),
        ({"max_samples": 1.5}, "'max_samples' parameter"),
        ({"max_samples": 0.0}, "'max_samples' parameter"),
        ({"n_neighbors": 0}, "'n_neighbors' parameter"),
        ({"code_weight": -1.0}, "'code_weight' parameter"),
    ],
)
def test_bad_parameters(planted, params, message, make_estimator):
    with pytest.raises(ValueError, match=message):
        make_estimator(ReconstructionOutlierDetector, **params).fit(planted[0])


def test_loss_is_not_a_parameter():
    assert "loss" not in ReconstructionOutlierDetector().get_params()


def test_sparse_input_is_standardized_like_dense(
    planted, assert_float32_close, make_estimator
):
    import scipy.sparse as sp

    X = planted[0]
    dense = make_estimator(ReconstructionOutlierDetector, max_epochs=2).fit(X)
    sparse = make_estimator(ReconstructionOutlierDetector, max_epochs=2).fit(
        sp.csr_matrix(X)
    )
    # the statistics come from other sums (E[x^2] - E[x]^2 for sparse input)
    assert_float32_close(sparse.mean_, dense.mean_, n_layers=1, width=len(X))
    assert_float32_close(sparse.scale_, dense.scale_, n_layers=1, width=len(X))
    scores = sparse.score_samples(sp.csr_matrix(X))
    assert scores.shape == (len(X),) and np.all(np.isfinite(scores))


def test_default_bottleneck_is_a_quarter_of_the_features(planted, make_estimator):
    X, _ = planted
    params = dict(max_epochs=1, device="cpu", random_state=0)
    assert ReconstructionOutlierDetector(**params).fit(X).n_components_ == 2
    assert ReconstructionOutlierDetector(**params).fit(X[:, :3]).n_components_ == 1
    assert (
        make_estimator(ReconstructionOutlierDetector, n_components=5)
        .fit(X)
        .n_components_
        == 5
    )


def test_relative_errors_average_one_on_the_training_rows(planted, make_estimator):
    X, _ = planted
    detector = make_estimator(ReconstructionOutlierDetector).fit(X)
    assert_allclose(detector.feature_errors(X).mean(axis=0), 1, rtol=1e-3)


def test_members_train_on_subsamples_of_their_own(
    planted, assert_float32_close, make_estimator
):
    X, _ = planted
    detector = make_estimator(ReconstructionOutlierDetector, max_samples=100).fit(X)
    samples = detector.estimators_samples_
    assert samples.shape == (5, 100)
    for rows in samples:  # distinct rows, sorted
        assert np.all(np.diff(rows) > 0) and rows.max() < len(X)
    assert len({tuple(rows) for rows in samples}) == 5
    assert detector.reference_codes_.shape == (5, 100, 2)
    # member 1's codes of its rows (found while scoring the training rows)
    assert_float32_close(
        detector.reference_codes_[1],
        detector.transform(X[samples[1]])[:, 2:4],
        n_layers=2,
        width=16,
    )
    # a share of the rows, and never more rows than there are
    assert make_estimator(ReconstructionOutlierDetector, max_samples=0.5).fit(
        X
    ).estimators_samples_.shape == (5, 260)
    assert make_estimator(ReconstructionOutlierDetector, max_samples=10_000).fit(
        X
    ).estimators_samples_.shape == (5, 520)


def test_codes_of_every_member_side_by_side(planted, make_estimator):
    X, _ = planted
    detector = make_estimator(ReconstructionOutlierDetector).fit(X)
    codes = detector.transform(X)
    assert codes.shape == (len(X), 5 * 2)
    assert list(detector.get_feature_names_out()[:3]) == [
        "reconstructionoutlierdetector0",
        "reconstructionoutlierdetector1",
        "reconstructionoutlierdetector2",
    ]
    # the members' mean decoding, back in the data's units
    X_back = detector.inverse_transform(codes)
    assert X_back.shape == X.shape
    scale = X.std(axis=0)
    assert np.median(np.abs(X_back - X) / scale) < 0.5


def test_the_code_term_finds_rows_that_reconstruct_well(make_estimator):
    # two clusters on a line, and rows in the gap between them: on the line,
    # so an autoencoder reconstructs them as well as the training rows, but
    # with codes far from every training code
    rng = np.random.default_rng(2)
    t = np.r_[rng.uniform(-1, -0.6, 200), rng.uniform(0.6, 1, 200)][:, None]
    direction = np.array([[1.0, -1.0, 2.0, 0.5]])
    X = t @ direction + 0.01 * rng.normal(size=(400, 4))
    gap = np.linspace(-0.2, 0.2, 10)[:, None] @ direction
    X_test = np.vstack([X[::4], gap])
    is_outlier = np.r_[np.zeros(100), np.ones(10)]
    params = dict(n_components=1, hidden_layer_sizes=(), standardize=False)
    with_codes = make_estimator(ReconstructionOutlierDetector, **params).fit(X)
    reconstruction_only = make_estimator(
        ReconstructionOutlierDetector, **params, code_weight=0.0
    ).fit(X)
    assert roc_auc_score(is_outlier, -with_codes.score_samples(X_test)) == 1.0
    assert roc_auc_score(is_outlier, -reconstruction_only.score_samples(X_test)) < 0.8


@pytest.mark.parametrize("standardize", ["mixed", "robust", "standard", True])
def test_each_standardization(planted, standardize, make_estimator):
    X, is_outlier = planted
    detector = make_estimator(
        ReconstructionOutlierDetector, standardize=standardize, max_epochs=10
    ).fit(X)
    centre = np.median(X, axis=0) if standardize in ("mixed", "robust") else X.mean(0)
    assert_allclose(detector.mean_, centre, rtol=1e-5, atol=1e-6 * np.abs(X).max())
    assert roc_auc_score(is_outlier, -detector.score_samples(X)) > 0.9


def test_members_run_alike_batched_or_one_by_one(
    planted, assert_float32_close, make_estimator
):
    X, _ = planted
    detector = make_estimator(ReconstructionOutlierDetector, max_epochs=2).fit(X)
    batched = detector.score_samples(X)
    ensemble = detector.net_.module_
    assert ensemble._batched is True
    vars(ensemble)["_batched"] = False  # the fallback for modules vmap cannot run
    one_by_one = detector.score_samples(X)
    # the same weights in other kernels: float32 rounding through 3 layers,
    # then the log and the z-scores (float64)
    assert_float32_close(one_by_one, batched, n_layers=4, width=16)


def test_one_training_row_is_refused(make_estimator):
    with pytest.raises(ValueError, match="at least 2 training rows.*n_samples = 1"):
        make_estimator(ReconstructionOutlierDetector).fit(np.ones((1, 3)))


def test_codes_decode_to_the_data_units(make_estimator):
    rng = np.random.default_rng(0)
    t = rng.normal(size=(300, 1))
    # one latent factor on wildly different scales
    X = np.hstack([t, 100 * t, 1e4 * t + 5e4]) + 0.01 * rng.normal(size=(300, 3))
    detector = make_estimator(
        ReconstructionOutlierDetector,
        n_components=1,
        n_estimators=3,
        hidden_layer_sizes=(8,),
        max_epochs=60,
    ).fit(X)
    codes = detector.transform(X)
    assert codes.shape == (300, 3)  # each member's code
    decoded = detector.inverse_transform(codes)
    # every feature reconstructed in its own units, each to a small part of
    # its spread (in standardized units the network errs alike on all three)
    error = np.abs(decoded - X).mean(axis=0) / X.std(axis=0)
    assert np.all(error < 0.3), error
    assert detector.get_feature_names_out().tolist() == [
        f"reconstructionoutlierdetector{i}" for i in range(3)
    ]


def test_standardizes_values_too_large_for_float32(make_estimator):
    X = np.random.default_rng(0).random((120, 6)) * 1e20
    detector = make_estimator(
        ReconstructionOutlierDetector, n_estimators=3, max_epochs=2
    ).fit(X)
    assert np.all(np.isfinite(detector.score_samples(X)))
