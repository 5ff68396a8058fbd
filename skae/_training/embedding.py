"""The neighbour-embedding term: UMAP's fuzzy cross-entropy between a
k-nearest-neighbour graph of the training rows and their codes.

Training with the term runs in two steps. First a layout: one point per
training row, optimized on the graph alone, as UMAP does (McInnes, Healy and
Melville, 2018): a spectral start, then the fuzzy cross-entropy with
negative sampling. Then the network: each batch's codes are pulled towards
the layout's points of the rows' graph neighbours and pushed from the
layout's points of random rows, which is the loss UMAP's own ``transform``
minimizes for a new point against a fitted layout. The encoder so learns to
place any row, seen or new, near where UMAP would; :class:`LayoutProjection`
then takes each new row's code the rest of the way, by that loss's own
steps against the layout, as UMAP's ``transform`` does.

Both steps compare a code with fixed points (the layout's), never with other
rows of the batch; a parametric UMAP that compares the codes of a batch's
edge ends with each other (Sainburg, McInnes and Gentner, 2021) needs two
encoder passes per edge and on MNIST, in a measurement on this package's
networks, many more epochs than the CPU budget allowed (see docs/design.md).
"""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import curve_fit
from sklearn.decomposition import PCA
from sklearn.manifold import spectral_embedding
from sklearn.neighbors import NearestNeighbors

from .data import BLOCK_MAX_ROWS, BLOCK_UNIT, inference_blocks
from .losses import weighted_mean

# Each attracting sample comes with this many repelling ones (UMAP's
# negative_sample_rate).
NEGATIVE_SAMPLE_RATE = 5
# Memberships and probabilities are clamped away from 0 and 1 by this much
# before their logarithms (parametric UMAP's epsilon).
EPSILON = 1e-4
# The layout is scaled to this half-width before it is optimized (UMAP
# scales its spectral start to [0, 10]).
LAYOUT_SCALE = 10.0


def memberships(distances):
    """Each row's UMAP memberships of its neighbours, ``(n_samples, k)``
    from their ``distances`` (nearest first): ``exp(-(d_ij - rho_i) /
    sigma_i)``, with ``rho_i`` the distance to the nearest neighbour and
    ``sigma_i`` set by bisection so that the row's memberships sum to
    ``log2(k)``."""
    n_samples, k = distances.shape
    distances = np.asarray(distances, dtype=np.float64)
    rho = distances[:, :1]
    excess = np.maximum(distances - rho, 0.0)
    target = np.log2(k)
    low = np.zeros((n_samples, 1))
    high = np.full((n_samples, 1), np.inf)
    sigma = np.ones((n_samples, 1))
    for _ in range(64):
        total = np.exp(-excess / sigma).sum(axis=1, keepdims=True)
        too_wide = total > target
        high = np.where(too_wide, sigma, high)
        low = np.where(too_wide, low, sigma)
        sigma = np.where(np.isinf(high), sigma * 2, (low + high) / 2)
    return np.exp(-excess / sigma)


def fuzzy_neighbor_graph(distances, indices):
    """The fuzzy union of the rows' neighbourhoods, as UMAP builds it: a
    symmetric sparse matrix of memberships in [0, 1].

    ``distances`` and ``indices`` are ``(n_samples, k)``: each row's ``k``
    nearest other rows, nearest first. Row ``i``'s :func:`memberships` of
    its neighbours make a directed graph ``A``; the graph is then ``A +
    A.T - A * A.T`` (the probabilistic union of the directed memberships).
    """
    n_samples, k = distances.shape
    directed = sp.csr_matrix(
        (
            memberships(distances).ravel(),
            (np.repeat(np.arange(n_samples), k), indices.ravel()),
        ),
        shape=(n_samples, n_samples),
    )
    graph = (directed + directed.T - directed.multiply(directed.T)).tocsr()
    graph.sum_duplicates()
    graph.eliminate_zeros()
    return graph


# The exact neighbour search compares blocks of rows with every row, each
# block's (rows, n_samples) float32 scores at most this many values (64 MB).
# On MNIST's 60000 rows (2 threads of an Intel Xeon) the block size barely
# mattered: 56 s in blocks of 256 rows, 50 s in blocks of 4096 (timed on
# 8192 of the rows and scaled to all).
SEARCH_BLOCK_VALUES = 2**24


def query_neighbors(queries, data, norms, k, first=None):
    """``(distances, indices)`` tensors, each ``(n_queries, k)``: the ``k``
    rows of ``data`` nearest to each of ``queries`` by Euclidean distance,
    nearest first (tensors on one device; ``norms`` are the rows' squared
    lengths). With ``first``, the queries are ``data[first:first +
    n_queries]``, each excluded from its own neighbours.

    One matrix product ranks every row by ``|x|^2 - 2 q.x`` (as
    scikit-learn's brute-force search does, in float32) and keeps the ``k``
    lowest; their distances are then computed from the differences, which
    keep the precision that the expansion loses for near rows."""
    scores = torch.addmm(norms, queries, data.T, alpha=-2)
    if first is not None:
        rows = torch.arange(len(queries), device=queries.device)
        scores[rows, rows + first] = torch.inf
    indices = scores.topk(k, largest=False).indices
    distances = (queries[:, None] - data[indices]).norm(dim=-1)
    distances, order = distances.sort(dim=1, stable=True)
    return distances, indices.gather(1, order)


def search_block_rows(n_samples, n_features, k):
    """The most query rows whose scores against ``n_samples`` rows, and
    whose ``k`` neighbours' differences, take ``SEARCH_BLOCK_VALUES``
    values at most (1 at least)."""
    return max(1, SEARCH_BLOCK_VALUES // max(n_samples, k * n_features))


def nearest_neighbors(X, k, device="cpu"):
    """``(distances, indices)``, each ``(n_samples, k)`` arrays: the ``k``
    nearest other rows of each row of the dense array ``X`` by Euclidean
    distance, nearest first, found exactly on ``device`` by
    :func:`query_neighbors` in blocks of rows.

    On MNIST's 60000 training rows (2 threads of an Intel Xeon, one run
    after the other) this took 59 s against 101 s for scikit-learn's
    ``NearestNeighbors``, with the same neighbours for all but 7 of the
    900000.
    """
    data = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
    norms = data.pow(2).sum(1)
    n_samples, n_features = data.shape
    block = search_block_rows(n_samples, n_features, k)
    found = [
        query_neighbors(data[start : start + block], data, norms, k, first=start)
        for start in range(0, n_samples, block)
    ]
    distances, indices = (torch.cat(parts) for parts in zip(*found, strict=True))
    return distances.cpu().numpy(), indices.cpu().numpy()


def neighbor_graph(X, n_neighbors, device="cpu"):
    """:func:`fuzzy_neighbor_graph` of the rows of ``X`` (an array or CSR
    matrix), each with its ``n_neighbors`` nearest other rows by Euclidean
    distance (fewer when ``X`` has fewer rows): found by
    :func:`nearest_neighbors` on ``device`` for an array, by scikit-learn's
    exact ``NearestNeighbors`` for a sparse matrix."""
    k = min(n_neighbors, X.shape[0] - 1)
    if sp.issparse(X):
        distances, indices = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()
    else:
        distances, indices = nearest_neighbors(X, k, device)
    return fuzzy_neighbor_graph(distances, indices)


def curve_parameters(min_dist, spread=1.0):
    """UMAP's ``(a, b)``: the curve ``1 / (1 + a * d ** (2 * b))`` of the
    codes' similarity at distance ``d`` closest to 1 up to ``min_dist`` and
    ``exp(-(d - min_dist) / spread)`` beyond (least squares on [0, 3 *
    spread])."""
    d = np.linspace(0, 3 * spread, 300)
    target = np.where(d < min_dist, 1.0, np.exp(-(d - min_dist) / spread))
    (a, b), _ = curve_fit(
        lambda d, a, b: 1.0 / (1.0 + a * d ** (2 * b)), d, target, p0=(1.5, 0.9)
    )
    return float(a), float(b)


def fuzzy_cross_entropy(codes, attracting, repelling, a, b, weights=None):
    """Each row's fuzzy cross-entropy, in nats: minus the log-similarity of
    ``codes`` (n, d) to each of its ``attracting`` points (n, m, d), minus
    the log-dissimilarity to each of its ``repelling`` points (n, r, d),
    over ``m`` (the attracting samples' ``weights``, (n, m), multiply their
    terms)."""

    def similarity(points):
        squared = (codes.unsqueeze(-2) - points).pow(2).sum(-1)
        return 1.0 / (1.0 + a * squared.clamp(min=1e-12).pow(b))

    attraction = -torch.log(similarity(attracting).clamp(min=EPSILON))
    if weights is not None:
        attraction = attraction * weights
    repulsion = -torch.log((1.0 - similarity(repelling)).clamp(min=EPSILON))
    return (attraction.sum(-1) + repulsion.sum(-1)) / attracting.shape[-2]


def pair_gradients(codes, points, a, b, attract):
    """``(n, m, d)``: the gradient, with respect to each of ``codes`` (n,
    d), of its :func:`fuzzy_cross_entropy` term with each of its ``points``
    (n, m, d), attracting or repelling, worked out by hand. Where one of
    the loss's clamps holds, the gradient is 0, as autograd's is.

    The layout and the projection of new rows use it instead of autograd:
    the backward pass of indexing (``layout[rows]``) adds the gradients of
    repeated rows in an order that varies from run to run on several CPU
    threads (a layout of the digits differed between processes on 2
    threads), and ``index_add_`` does not. Projecting 10000 rows it also
    took about half of autograd's time (5.3 s against 9.8 s for 100 steps
    on 2 threads)."""
    difference = codes.unsqueeze(-2) - points
    squared = difference.pow(2).sum(-1).clamp(min=1e-12)
    scaled = a * squared.pow(b)  # 1 / similarity - 1
    if attract:  # d/dz of log(1 + scaled), while similarity >= EPSILON
        rate = 2 * b * scaled / (squared * (1 + scaled))
        rate = rate * (1 / (1 + scaled) >= EPSILON)
    else:  # d/dz of -log(scaled / (1 + scaled)), while 1 - similarity >= EPSILON
        rate = -2 * b / (squared * (1 + scaled))
        rate = rate * (scaled / (1 + scaled) >= EPSILON)
    return rate.unsqueeze(-1) * difference


class GraphSampler:
    """Draws graph neighbours of rows, each in proportion to its
    membership, and random rows, from a :func:`fuzzy_neighbor_graph`."""

    def __init__(self, graph, device="cpu"):
        self.n_rows = graph.shape[0]
        self.columns = torch.as_tensor(graph.indices, dtype=torch.int64, device=device)
        cumulative = np.cumsum(graph.data, dtype=np.float64)
        # each row's memberships span [start, end) of the running sum; its
        # degree (total membership) is that span's width, so that no draw
        # reaches into the next row
        bounds = np.concatenate([[0.0], cumulative])[graph.indptr]
        self.cumulative = torch.as_tensor(cumulative, device=device)
        self.starts = torch.as_tensor(bounds[:-1], device=device)
        self.degrees = torch.as_tensor(np.diff(bounds), device=device)
        # the rows' total memberships, relative to their mean: how strongly
        # a row is attracted
        self.strength = (self.degrees / self.degrees.mean()).float()

    def neighbors(self, rows, n_samples, generator):
        """``(len(rows), n_samples)`` graph neighbours of ``rows``."""
        draws = torch.rand(
            (len(rows), n_samples),
            generator=generator,
            dtype=torch.float64,
            device=self.starts.device,
        )
        targets = self.starts[rows, None] + draws * self.degrees[rows, None]
        positions = torch.searchsorted(self.cumulative, targets)
        return self.columns[positions.clamp(max=len(self.columns) - 1)]

    def random_rows(self, shape, generator):
        return torch.randint(
            self.n_rows, shape, generator=generator, device=self.starts.device
        )


def initial_layout(graph, X, n_components, seed):
    """The layout's start, scaled to ``LAYOUT_SCALE``: the graph's spectral
    embedding (as UMAP starts), or, where it cannot be computed (a graph of
    a handful of rows), the principal components of ``X``."""
    n_samples = graph.shape[0]
    layout = None
    if n_samples > n_components + 2:
        try:
            with warnings.catch_warnings():
                # a graph of several components still gives a usable start
                warnings.simplefilter("ignore", UserWarning)
                layout = spectral_embedding(
                    graph,
                    n_components=n_components,
                    eigen_solver="lobpcg" if n_samples > 5000 else "arpack",
                    random_state=seed,
                )
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            layout = None
    if layout is None or not np.all(np.isfinite(layout)):
        n_pca = min(n_components, *X.shape)
        layout = np.zeros((n_samples, n_components))
        if n_pca > 0 and n_samples > 1:
            dense = X.toarray() if sp.issparse(X) else X
            layout[:, :n_pca] = PCA(n_pca, random_state=seed).fit_transform(dense)
    span = np.abs(layout).max()
    if not np.isfinite(span) or span == 0:
        rng = np.random.default_rng(seed)
        return rng.uniform(-LAYOUT_SCALE, LAYOUT_SCALE, layout.shape)
    return layout / span * LAYOUT_SCALE


def descend(points, lr, n_steps, gradient):
    """``points`` (a float tensor, changed in place) after ``n_steps``
    steps of Adam at a learning rate falling linearly from ``lr`` to 0;
    ``gradient(points)`` gives each step's gradient, or None to skip the
    step. The layout and the projection of new rows both move this way."""
    optimizer = torch.optim.Adam([points], lr=lr)
    for step in range(n_steps):
        step_gradient = gradient(points)
        if step_gradient is None:
            continue
        for group in optimizer.param_groups:
            group["lr"] = lr * (1 - step / n_steps)
        points.grad = step_gradient
        optimizer.step()
    return points


# The layout's optimization: this many full steps, each over this share of
# the graph's edges (each edge kept with its membership times the share),
# with Adam at a learning rate falling linearly to 0.
LAYOUT_STEPS = 500
LAYOUT_EDGE_SHARE = 0.5
LAYOUT_LR = 0.3


def optimize_layout(graph, start, a, b, seed, device="cpu"):
    """A point per row of ``graph`` (a float32 tensor like ``start``, the
    initial points as an array) that minimizes UMAP's fuzzy cross-entropy
    between the graph and the points' similarities, with
    ``NEGATIVE_SAMPLE_RATE`` random rows repelling each edge's head."""
    coo = graph.tocoo()
    heads = torch.as_tensor(coo.row, dtype=torch.int64, device=device)
    tails = torch.as_tensor(coo.col, dtype=torch.int64, device=device)
    memberships = torch.as_tensor(coo.data, dtype=torch.float32, device=device)
    layout = torch.tensor(start, dtype=torch.float32, device=device)
    if len(heads) == 0:
        return layout
    generator = torch.Generator(device).manual_seed(seed)
    n_rows, width = layout.shape

    def gradient(layout):
        kept = (
            torch.rand(len(heads), generator=generator, device=device)
            < memberships * LAYOUT_EDGE_SHARE
        )
        head, tail = heads[kept], tails[kept]
        if len(head) == 0:
            return None
        negatives = torch.randint(
            n_rows,
            (len(head), NEGATIVE_SAMPLE_RATE),
            generator=generator,
            device=device,
        )
        # the gradient of the edges' mean fuzzy_cross_entropy of the
        # heads' points with their tails' and negatives' points, which move
        # too (each pair's gradient with respect to its other end is minus
        # that with respect to the head)
        points = layout[head]
        attraction = pair_gradients(points, layout[tail].unsqueeze(1), a, b, True)
        repulsion = pair_gradients(points, layout[negatives], a, b, False)
        total = torch.zeros_like(layout)
        total.index_add_(0, head, attraction[:, 0] + repulsion.sum(1))
        total.index_add_(0, tail, attraction[:, 0], alpha=-1)
        total.index_add_(
            0, negatives.reshape(-1), repulsion.reshape(-1, width), alpha=-1
        )
        return total.div_(len(head))

    return descend(layout, LAYOUT_LR, LAYOUT_STEPS, gradient)


class NeighborEmbedding:
    """The neighbour-embedding term of a training batch: ``weight`` times
    the (weighted) mean over the batch's rows of the fuzzy cross-entropy
    between each row's code and the ``layout``'s points of ``n_samples``
    graph neighbours (drawn by membership) and of ``NEGATIVE_SAMPLE_RATE``
    times as many random rows.

    Called with the batch's codes and the positions of its rows in the
    training data (which the graph and the layout index).
    """

    def __init__(self, sampler, layout, a, b, weight, n_samples, generator):
        self.sampler = sampler
        self.layout = layout
        self.a = a
        self.b = b
        self.weight = weight
        self.n_samples = n_samples
        self.generator = generator

    @classmethod
    def fit(
        cls,
        X,
        *,
        n_neighbors,
        min_dist,
        weight,
        n_components,
        seed,
        sample_seed,
        device,
        start=None,
    ):
        """The term for training rows ``X``: their graph and layout, the
        layout starting from ``start`` (the network's codes of ``X``, when a
        fitted network continues) or from :func:`initial_layout`; ``seed``
        seeds the layout, ``sample_seed`` the batches' draws. None for a
        single row, which has no neighbours."""
        if X.shape[0] < 2:
            return None
        graph = neighbor_graph(X, n_neighbors, device)
        a, b = curve_parameters(min_dist)
        if start is None:
            start = initial_layout(graph, X, n_components, seed)
        layout = optimize_layout(graph, start, a, b, seed, device)
        generator = torch.Generator(device).manual_seed(sample_seed)
        return cls(
            GraphSampler(graph, device),
            layout,
            a,
            b,
            weight,
            n_samples=max(1, min(n_neighbors, X.shape[0] - 1)),
            generator=generator,
        )

    def __call__(self, codes, positions, sample_weight=None):
        # the codes, positions, graph and layout are on the training device
        neighbors = self.sampler.neighbors(positions, self.n_samples, self.generator)
        negatives = self.sampler.random_rows(
            (len(positions), self.n_samples * NEGATIVE_SAMPLE_RATE), self.generator
        )
        losses = fuzzy_cross_entropy(
            codes,
            self.layout[neighbors],
            self.layout[negatives],
            self.a,
            self.b,
            weights=self.sampler.strength[positions, None],
        )
        return self.weight * weighted_mean(losses, sample_weight)


# A new row's code moves by Adam at this learning rate, falling linearly to
# 0 over the steps. On MNIST (10000 test rows against a layout of the 60000
# training rows, starting from the mean of their neighbours' points), 100
# steps gave 5-NN accuracy 0.958 and trustworthiness 0.954, 30 steps
# 0.952 and 0.948, the start alone 0.927 and 0.926.
TRANSFORM_LR = 0.1


class LayoutProjection:
    """UMAP's ``transform`` for new rows against a fitted layout: each
    row's code (the encoder's) moves by ``n_iter`` steps of Adam to
    minimize the fuzzy cross-entropy between the row's :func:`memberships`
    of its ``n_neighbors`` nearest training ``rows`` and its code's
    similarities to their points of ``layout``, with ``NEGATIVE_SAMPLE_RATE``
    times as many random points of the layout repelling it.

    :meth:`refine` works in blocks of one shape (``block_rows`` rows,
    padded as the inference blocks are, see
    :func:`~skae._training.data.inference_blocks`); every block draws the
    same repelling points, from a generator seeded with ``seed``, for all
    of its rows, and a row's steps depend on its own terms only (Adam's
    update is per entry): a row's code does not depend on the rows beside
    it.

    ``rows`` is the training data (an array or CSR matrix), ``layout`` its
    points (an array), both as ``fit`` saw them.
    """

    def __init__(self, rows, layout, a, b, n_neighbors, n_iter, seed, device):
        self.k = min(n_neighbors, rows.shape[0])
        if sp.issparse(rows):
            self.rows = NearestNeighbors(n_neighbors=self.k).fit(rows)
        else:
            self.rows = torch.as_tensor(
                np.asarray(rows, dtype=np.float32), device=device
            )
            self.norms = self.rows.pow(2).sum(1)
        self.layout = torch.as_tensor(layout, dtype=torch.float32, device=device)
        self.a, self.b = a, b
        self.n_iter, self.seed, self.device = n_iter, seed, device
        # A multiple of BLOCK_UNIT (the row tiles of the matrix kernels),
        # as large as one search allows (fewer, larger blocks: each of the
        # n_iter steps costs about as much for 48 rows as for 1536 on a CPU)
        rows_allowed = search_block_rows(*rows.shape, self.k) // BLOCK_UNIT
        units = min(max(rows_allowed, 1), BLOCK_MAX_ROWS // BLOCK_UNIT)
        self.block_rows = BLOCK_UNIT << (units.bit_length() - 1)

    def neighbors(self, X):
        """The nearest training rows of the rows of the tensor ``X``, as
        ``(memberships, indices)`` tensors: each row's memberships scaled
        to sum to ``k``."""
        if isinstance(self.rows, NearestNeighbors):
            distances, indices = self.rows.kneighbors(X.cpu().numpy())
        else:
            distances, indices = query_neighbors(X, self.rows, self.norms, self.k)
            distances = distances.cpu().numpy()
        weights = memberships(distances)
        weights *= self.k / weights.sum(axis=1, keepdims=True)
        return (
            torch.as_tensor(weights, dtype=torch.float32, device=self.device),
            torch.as_tensor(indices, device=self.device),
        )

    def gradient(self, codes, attracting, repelling, weights):
        """The gradient of :func:`fuzzy_cross_entropy`, summed over the
        rows, with respect to ``codes`` (see :func:`pair_gradients`)."""
        attraction = pair_gradients(codes, attracting, self.a, self.b, True)
        repulsion = pair_gradients(codes, repelling, self.a, self.b, False)
        total = (attraction * weights.unsqueeze(-1)).sum(-2) + repulsion.sum(-2)
        return total / attracting.shape[-2]

    def refine(self, codes, X):
        """The refined ``codes`` (an array) of the rows of ``X`` (an array
        or CSR matrix, checked finite already), as an array."""
        out = np.empty_like(codes)
        start = torch.zeros(
            (self.block_rows, codes.shape[1]), dtype=torch.float32, device=self.device
        )
        blocks = inference_blocks(X, self.block_rows, self.device, check_finite=False)
        for rows, block in blocks:
            n_rows = rows.stop - rows.start
            start.zero_()
            start[:n_rows] = torch.as_tensor(codes[rows], device=self.device)
            out[rows] = self(start, block)[:n_rows].cpu().numpy()
        return out

    def __call__(self, codes, X):
        """The refined ``codes`` of the rows of ``X`` (tensors on the
        device)."""
        weights, indices = self.neighbors(X)
        attracting = self.layout[indices]
        generator = torch.Generator(self.device).manual_seed(self.seed)

        def step_gradient(codes):
            negatives = torch.randint(
                len(self.layout),
                (self.k * NEGATIVE_SAMPLE_RATE,),
                generator=generator,
                device=self.device,
            )
            repelling = self.layout[negatives].expand(len(codes), -1, -1)
            return self.gradient(codes, attracting, repelling, weights)

        start = codes.detach().float().clone()
        return descend(start, TRANSFORM_LR, self.n_iter, step_gradient)
