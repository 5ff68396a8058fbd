"""The neighbour-embedding term (embedding_weight, n_neighbors, min_dist) and
reconstruction_weight: the graph, the layout, the term's training, and the
estimator's behaviour with it."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae._torch_modules import scale_gradient
from skae._training import embedding
from skae._training.data import InMemoryBatchIterator, InMemoryDataset
from skae._training.embedding import (
    GraphSampler,
    LayoutProjection,
    curve_parameters,
    fuzzy_neighbor_graph,
    initial_layout,
    nearest_neighbors,
    neighbor_graph,
    optimize_layout,
)


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)


def knn_accuracy(Z_train, y_train, Z_test, y_test):
    return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)


# --- the graph and the layout ---------------------------------------------------


def test_fuzzy_graph_is_symmetric_memberships():
    X = np.random.default_rng(0).standard_normal((80, 5))
    graph = neighbor_graph(X, 10)
    assert sp.issparse(graph) and graph.shape == (80, 80)
    assert abs(graph - graph.T).max() == 0
    assert graph.data.min() > 0 and graph.data.max() <= 1
    assert graph.diagonal().max() == 0  # no row is its own neighbour
    # each row's nearest neighbour is a full member
    assert_allclose(graph.max(axis=1).toarray().ravel(), 1.0)


def test_directed_memberships_sum_to_log2_k():
    # Before the union, each row's memberships sum to log2(k) (UMAP's
    # smooth_knn_dist). Row i's neighbours are i+1 ... i+4 (around a ring of
    # 20), so rows 1-4 do not point back to row 0: its entries are its own.
    n, k = 20, 4
    indices = (np.arange(n)[:, None] + np.arange(1, k + 1)) % n
    distances = np.tile([1.0, 1.5, 2.5, 4.0], (n, 1))
    graph = fuzzy_neighbor_graph(distances, indices).toarray()
    assert_allclose(graph[0, 1 : k + 1].sum(), np.log2(k), rtol=1e-6)
    assert graph[0, 1] == 1.0  # the nearest neighbour, at distance rho


def test_nearest_neighbours_are_scikit_learns(monkeypatch):
    # continuous random rows: no two neighbours nearly tie, so the float32
    # ranking finds scikit-learn's (float64) neighbours in its order; the
    # distances agree to float32 precision over 20 features
    X = np.random.default_rng(0).standard_normal((300, 20))
    expected_distances, expected_indices = (
        NearestNeighbors(n_neighbors=7).fit(X).kneighbors()
    )
    distances, indices = nearest_neighbors(X, 7)
    assert_array_equal(indices, expected_indices)
    assert_allclose(distances, expected_distances, rtol=1e-5)
    # blocks of 3 rows find the same neighbours (a row's scores are its own
    # matrix-product row, so the block size may move its last bits only)
    monkeypatch.setattr(embedding, "SEARCH_BLOCK_VALUES", 3 * 300)
    blocked_distances, blocked_indices = nearest_neighbors(X, 7)
    assert_array_equal(blocked_indices, indices)
    assert_allclose(blocked_distances, distances, rtol=1e-5)


def test_a_duplicate_row_is_a_neighbour_the_row_itself_is_not():
    X = np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32)
    X[7] = X[3]
    distances, indices = nearest_neighbors(X, 3)
    assert indices[3, 0] == 7 and indices[7, 0] == 3
    assert distances[3, 0] == 0 and distances[7, 0] == 0
    assert not np.any(indices == np.arange(50)[:, None])


def test_sparse_rows_give_the_dense_rows_graph():
    # the sparse search (scikit-learn's) and the dense one (torch's) find
    # the same neighbours here; memberships agree to float32 precision
    X = np.random.default_rng(2).standard_normal((120, 8))
    dense, sparse = neighbor_graph(X, 10), neighbor_graph(sp.csr_matrix(X), 10)
    assert_array_equal(dense.indptr, sparse.indptr)
    assert_array_equal(dense.indices, sparse.indices)
    assert_allclose(dense.data, sparse.data, rtol=1e-4)


def test_fewer_rows_than_neighbours():
    X = np.random.default_rng(0).standard_normal((6, 3))
    graph = neighbor_graph(X, 15)  # each row: its 5 other rows
    assert graph.nnz == 30


def test_curve_parameters_are_umaps():
    # umap-learn's find_ab_params(1.0, 0.1) gives a=1.577, b=0.895
    a, b = curve_parameters(0.1)
    assert_allclose((a, b), (1.577, 0.895), atol=2e-3)
    a0, b0 = curve_parameters(0.0)
    assert a0 > a  # tighter packing: a steeper similarity near 0


def test_sampler_draws_neighbours_by_membership():
    graph = sp.csr_matrix(np.array([[0, 0.9, 0.1], [0.9, 0, 0], [0.1, 0, 0]]))
    sampler = GraphSampler(graph)
    generator = torch.Generator().manual_seed(0)
    drawn = sampler.neighbors(torch.tensor([0, 1, 2]), 4000, generator)
    assert set(drawn[1].tolist()) == {0} and set(drawn[2].tolist()) == {0}
    assert set(drawn[0].tolist()) == {1, 2}
    assert 0.87 < (drawn[0] == 1).float().mean() < 0.93


def test_layout_separates_what_the_graph_separates(digits_split):
    X_train, _, y_train, _ = digits_split
    graph = neighbor_graph(X_train, 15)
    start = initial_layout(graph, X_train, 2, seed=0)
    assert start.shape == (len(X_train), 2)
    assert_allclose(np.abs(start).max(), 10.0)
    a, b = curve_parameters(0.1)
    layout = optimize_layout(graph, start, a, b, seed=0).numpy()
    # in-sample 5-NN accuracy of the layout (two halves), UMAP's level
    half = len(layout) // 2
    accuracy = knn_accuracy(
        layout[:half], y_train[:half], layout[half:], y_train[half:]
    )
    assert accuracy > 0.95


def test_initial_layout_without_a_spectral_embedding():
    # four rows: too few for the graph's spectral embedding; PCA instead
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    layout = initial_layout(neighbor_graph(X, 3), X, 2, seed=0)
    assert layout.shape == (4, 2) and np.all(np.isfinite(layout))
    assert_allclose(np.abs(layout).max(), 10.0)


# --- the pieces of training ---------------------------------------------------------


def test_scale_gradient_changes_the_gradient_not_the_value():
    x = torch.tensor([1.5, -2.0, 0.25], requires_grad=True)
    for scale in (0.0, 0.3, 1.0):
        y = scale_gradient(x, scale)
        assert torch.equal(y, x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        assert_allclose(grad.numpy(), scale)


def test_batches_carry_their_rows_positions():
    X = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    dataset = InMemoryDataset(X, positions=True).subset(torch.tensor([7, 2, 5]))
    batches = list(InMemoryBatchIterator(dataset, batch_size=2))
    positions = torch.cat([targets[2] for _, targets in batches])
    assert positions.tolist() == [7, 2, 5]
    for Xb, targets in batches:
        assert torch.equal(Xb, X[targets[2]])
    # a plain dataset's batches are unchanged
    _, targets = next(iter(InMemoryBatchIterator(InMemoryDataset(X), batch_size=4)))
    assert len(targets) == 2


# --- the estimator -------------------------------------------------------------------


def test_codes_separate_the_classes_better_than_a_plain_autoencoder(digits_split):
    # The digits in 2-D, 5-NN accuracy on the test rows (over random_state
    # 0, 1 and 2): a plain autoencoder's codes mix the classes (0.84 at
    # random_state=0); the term's encoder separates them better (0.88-0.90),
    # and transform's refinement against the layout better still
    # (0.970-0.976), UMAP's own level on these rows (0.974 at
    # random_state=0, bench_embedding.py).
    X_train, X_test, y_train, y_test = digits_split
    scores = {}
    for weight in (0.0, 1.0):
        ae = AutoencoderTransformer(
            2,
            embedding_weight=weight,
            hidden_layer_sizes=(256, 128),
            lr=3e-3,
            max_epochs=60,
            random_state=0,
        ).fit(X_train)
        for n_iter in (0, 100) if weight else (100,):
            ae.set_params(transform_n_iter=n_iter)
            Z_train, Z_test = ae.transform(X_train), ae.transform(X_test)
            scores[weight, n_iter] = knn_accuracy(Z_train, y_train, Z_test, y_test)
        assert ae.inverse_transform(Z_test).shape == X_test.shape
    assert scores[1.0, 0] > 0.85
    assert scores[1.0, 0] > scores[0.0, 100] + 0.03
    assert scores[1.0, 100] > 0.95
    assert scores[1.0, 100] > scores[1.0, 0] + 0.04


def test_transform_refines_codes_towards_the_layout(digits_split, monkeypatch):
    # embedding_ is the layout the encoder was trained towards; refining
    # moves the training rows' codes onto it: their mean distance to their
    # layout points fell from 0.28-0.30 to 0.08 (random_state 0, 1, 2),
    # on a layout about 20 wide
    X_train, X_test, *_ = digits_split
    ae = AutoencoderTransformer(
        2, embedding_weight=1.0, max_epochs=10, random_state=0
    ).fit(X_train)
    assert ae.embedding_.shape == (len(X_train), 2)
    refined = ae.transform(X_train)
    encoded = ae.set_params(transform_n_iter=0).transform(X_train)
    # the encoder's codes: the same computation as _encode, so equal bits;
    # against one pass over all rows (another matrix shape than the
    # inference blocks'), equal to float32 rounding
    assert_array_equal(encoded, ae._encode(X_train))
    with torch.no_grad():
        network = ae.net_.module_.encode(torch.as_tensor(X_train, dtype=torch.float32))
    assert_allclose(encoded, network.numpy(), rtol=1e-5, atol=1e-5)
    gap = {
        name: np.abs(Z - ae.embedding_).mean()
        for name, Z in (("refined", refined), ("encoded", encoded))
    }
    assert gap["refined"] < 0.5 * gap["encoded"]
    # A row's code is its own: the repelling points are drawn alike for
    # every block and each row's steps depend on its terms alone. Every
    # block has one shape (padded, as the inference blocks), so a row meets
    # the same float32 operations wherever it lies; they gave equal bits on
    # this machine, and a tolerance of float32 rounding (codes of magnitude
    # ~10) is allowed for kernels elsewhere. Once in one block of 1536 rows,
    # once in blocks of 48 (a search limit lowered to 48 rows' scores).
    ae.set_params(transform_n_iter=100)
    for limit in (embedding.SEARCH_BLOCK_VALUES, 48 * len(X_train)):
        monkeypatch.setattr(embedding, "SEARCH_BLOCK_VALUES", limit)
        full = ae.transform(X_test)
        parts = np.concatenate([ae.transform(X_test[:7]), ae.transform(X_test[7:])])
        assert_allclose(parts, full, rtol=0, atol=1e-4)
    # a refit without the term leaves no layout behind
    ae.set_params(embedding_weight=0.0).fit(X_train)
    assert not hasattr(ae, "embedding_")
    assert_array_equal(ae.transform(X_test), ae._encode(X_test))


def test_projection_of_sparse_rows_is_the_dense_rows(digits_split):
    # the new rows' neighbours found by scikit-learn in CSR training rows
    # are the torch search's in dense ones; their memberships differ by
    # float32 rounding, so a few steps' codes agree to well within it
    X_train, X_test, *_ = digits_split
    X_train = X_train[:200].astype(np.float32)
    layout = np.random.default_rng(0).uniform(-10, 10, (200, 2))
    a, b = curve_parameters(0.1)
    codes = torch.zeros((30, 2))
    queries = torch.as_tensor(X_test[:30], dtype=torch.float32)
    out = {}
    for name, rows in (("dense", X_train), ("sparse", sp.csr_matrix(X_train))):
        projection = LayoutProjection(
            rows, layout, a, b, n_neighbors=15, n_iter=5, seed=0, device="cpu"
        )
        out[name] = projection(codes, queries).numpy()
    assert_allclose(out["sparse"], out["dense"], rtol=0, atol=1e-3)
    assert np.abs(out["dense"]).max() > 0.1  # the steps moved the codes


def test_zero_reconstruction_weight_still_trains_the_decoder(digits_split):
    X_train, X_test, *_ = digits_split
    params = dict(embedding_weight=1.0, max_epochs=30, random_state=0)
    ae = AutoencoderTransformer(2, reconstruction_weight=0.0, **params).fit(X_train)
    untrained = AutoencoderTransformer(
        2, reconstruction_weight=0.0, **{**params, "max_epochs": 1}
    ).fit(X_train)
    # the decoder learned to decode the codes: far below the error of the
    # decoder after one epoch, and below predicting the mean row
    error = np.mean((ae.predict(X_test) - X_test) ** 2)
    mean_row = np.mean((X_train.mean(axis=0) - X_test) ** 2)
    assert error < 0.8 * mean_row
    assert error < np.mean((untrained.predict(X_test) - X_test) ** 2)


def test_reconstruction_weight_reaches_the_encoder_only(digits_split):
    # With the term off, reconstruction_weight=0.5 halves the encoder's
    # gradient from the reconstruction and leaves the decoder's as it is.
    X_train, *_ = digits_split
    X = torch.as_tensor(X_train[:64], dtype=torch.float32)
    grads = {}
    for scale in (1.0, 0.5):
        ae = AutoencoderTransformer(
            2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0
        ).fit(X_train[:64])
        module = ae.net_.module_
        module.zero_grad(set_to_none=True)  # the last training step's
        reconstruction, _ = module(X, reconstruction_gradient=scale)
        ((reconstruction - X) ** 2).mean().backward()
        grads[scale] = {n: p.grad.clone() for n, p in module.named_parameters()}
    for name, grad in grads[1.0].items():
        # float32: the scaled gradient is the same computation times 0.5
        expected = grad * (0.5 if name.startswith("encoder") else 1.0)
        assert_allclose(grads[0.5][name], expected, rtol=1e-5, atol=1e-7)


def test_both_weights_zero_is_an_error(X):
    ae = AutoencoderTransformer(2, embedding_weight=0.0, reconstruction_weight=0.0)
    with pytest.raises(ValueError, match="nothing to learn"):
        ae.fit(X)


def test_the_term_is_reproducible_and_leaves_no_graph_behind(X):
    params = dict(embedding_weight=1.0, n_neighbors=5, max_epochs=3, random_state=0)
    a = AutoencoderTransformer(2, **params).fit(X)
    b = AutoencoderTransformer(2, **params).fit(X)
    assert_array_equal(a.transform(X), b.transform(X))
    # the graph lives for the fit only: the pickle is a plain autoencoder's
    # with the layout and the rows (float32) that transform searches
    plain = AutoencoderTransformer(2, max_epochs=3, random_state=0).fit(X)
    kept = a.embedding_.nbytes + X.astype(np.float32).nbytes
    assert len(pickle.dumps(a)) < 1.1 * len(pickle.dumps(plain)) + kept
    assert_array_equal(pickle.loads(pickle.dumps(a)).transform(X), a.transform(X))


def test_warm_start_lays_out_from_the_current_codes(X, monkeypatch):
    starts = []
    fit = embedding.NeighborEmbedding.fit.__func__

    def spy(cls, X, **kwargs):
        starts.append(kwargs["start"])
        return fit(cls, X, **kwargs)

    monkeypatch.setattr(embedding.NeighborEmbedding, "fit", classmethod(spy))
    ae = AutoencoderTransformer(
        2, embedding_weight=1.0, n_neighbors=5, max_epochs=2, random_state=0
    ).fit(X)
    codes = ae.transform(X)
    ae.set_params(warm_start=True).fit(X)
    ae.partial_fit(X)
    assert starts[0] is None
    assert_array_equal(starts[1], codes)
    assert starts[2].shape == codes.shape


def test_sparse_input_and_the_denoiser(X):
    ae = AutoencoderTransformer(
        2, embedding_weight=1.0, n_neighbors=5, max_epochs=2, random_state=0
    ).fit(sp.csr_matrix(X))
    assert ae.transform(X).shape == (len(X), 2)
    dae = DenoisingAutoencoder(
        2, embedding_weight=1.0, n_neighbors=5, max_epochs=2, random_state=0
    ).fit(X)
    assert np.all(np.isfinite(dae.transform(X)))


def test_early_stopping_validates_on_reconstruction(X):
    # the term is a training penalty: the validation loss is the
    # reconstruction error of the held-out rows, as with the code penalties
    ae = AutoencoderTransformer(
        2,
        embedding_weight=1.0,
        n_neighbors=5,
        max_epochs=3,
        early_stopping=True,
        random_state=0,
    ).fit(X)
    history = ae.history_
    assert all(np.isfinite(h["valid_loss"]) for h in history)
    assert history[-1]["train_loss"] > history[-1]["valid_loss"]


def test_pair_gradients_are_autograds():
    # the hand-worked gradient of each term equals autograd's of
    # fuzzy_cross_entropy, in float64 to compare them beyond float32
    # rounding; the points include near and far ones, where clamps hold
    rng = np.random.default_rng(0)
    codes = torch.as_tensor(rng.normal(size=(50, 2)) * 3).requires_grad_()
    attracting = torch.as_tensor(rng.normal(size=(50, 4, 2)) * 3)
    repelling = torch.as_tensor(rng.normal(size=(50, 6, 2)) * 3)
    repelling[0, 0] = codes[0].detach() + 1e-9  # 1 - similarity below EPSILON
    attracting[1, 0] = codes[1].detach() + 1e3  # similarity below EPSILON
    weights = torch.as_tensor(rng.uniform(size=(50, 4)))
    a, b = curve_parameters(0.1)
    embedding.fuzzy_cross_entropy(
        codes, attracting, repelling, a, b, weights=weights
    ).sum().backward()
    by_hand = (
        embedding.pair_gradients(codes, attracting, a, b, True) * weights[..., None]
    ).sum(1) + embedding.pair_gradients(codes, repelling, a, b, False).sum(1)
    assert_allclose(by_hand.detach() / 4, codes.grad, rtol=1e-10, atol=1e-12)


def test_the_layout_is_the_same_in_another_process(tmp_path):
    # The layout's gradient is summed with index_add_, whose order is
    # fixed; autograd's indexing backward summed repeated rows in an order
    # that varied between processes on 2 threads (three processes gave
    # three layouts of 1500 rows; of 300 rows, one). The graph and the
    # start are given, so that each process computes the layout alone:
    # element-wise operations, per-row sums and index_add_, which give the
    # same bits for the same inputs by construction.
    rng = np.random.default_rng(0)
    n, k = 1500, 10
    distances = np.sort(rng.uniform(1, 2, (n, k)), axis=1)
    indices = (np.arange(n)[:, None] + rng.integers(1, n, (n, k))) % n
    sp.save_npz(tmp_path / "graph.npz", fuzzy_neighbor_graph(distances, indices))
    np.save(tmp_path / "start.npy", rng.uniform(-10, 10, (n, 2)))
    script = (
        "import sys, numpy as np, scipy.sparse as sp, torch\n"
        "torch.set_num_threads(2)\n"
        "from skae._training import embedding as E\n"
        "graph = sp.load_npz(sys.argv[1] + '/graph.npz')\n"
        "start = np.load(sys.argv[1] + '/start.npy')\n"
        "L = E.optimize_layout(graph, start, *E.curve_parameters(0.1), 0)\n"
        "print(L.numpy().tobytes().hex())\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
