"""Layer 2: training through skorch.

The skorch net subclass that knows skae's losses, the in-memory batch iterator
that slices one tensor instead of calling ``Dataset.__getitem__`` per row, the
guard against non-finite losses, early stopping that restores the best
weights, the epoch progress bar, and data-parallel training over the
processes of a ``torch.distributed`` process group.
"""

import math
import os
import warnings
from contextlib import contextmanager
from copy import deepcopy

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}

ELEMENTWISE_LOSSES = {
    "mse": F.mse_loss,
    "bce": F.binary_cross_entropy,
}
# The decoder's last activation that fits each loss: BCE needs outputs in (0, 1).
OUTPUT_ACTIVATIONS = {"mse": "identity", "bce": "sigmoid"}


def reconstruction_loss(X_hat, X, loss="mse", *, reduction="mean"):
    """The reconstruction loss of ``X_hat`` against ``X``.

    ``reduction`` is "mean" for one scalar over all entries (what training
    minimises), "sample" for one value per row, the loss averaged over the
    row's features (what ``score_samples`` negates), or "none" for one value
    per entry (the per-feature errors). The first is the mean of the second,
    and the second the row mean of the third.
    """
    loss_fn = ELEMENTWISE_LOSSES[loss]
    if reduction == "mean":
        return loss_fn(X_hat, X)
    errors = loss_fn(X_hat, X, reduction="none")
    return errors.mean(dim=1) if reduction == "sample" else errors


class ReconstructionLoss(nn.Module):
    """Criterion of a plain autoencoder: the reconstruction loss of the
    module's first output against the clean input."""

    def __init__(self, loss="mse"):
        super().__init__()
        self.loss = loss

    def forward(self, output, X, y=None):
        reconstruction = output[0] if isinstance(output, tuple) else output
        return reconstruction_loss(reconstruction, X, self.loss)


class SupervisedLoss(nn.Module):
    """Joint criterion of a supervised autoencoder:
    ``reconstruction_weight`` x reconstruction loss +
    ``classification_weight`` x cross-entropy of the logits (the module's
    third output) over the labeled rows. Rows labeled -1 are unlabeled and add
    reconstruction loss only; a batch without labeled rows adds no
    classification loss."""

    def __init__(
        self, loss="mse", reconstruction_weight=1.0, classification_weight=1.0
    ):
        super().__init__()
        self.loss = loss
        self.reconstruction_weight = reconstruction_weight
        self.classification_weight = classification_weight

    def forward(self, output, X, y):
        reconstruction, _, logits = output
        total = self.reconstruction_weight * reconstruction_loss(
            reconstruction, X, self.loss
        )
        labeled = y >= 0
        n_labeled = labeled.sum()
        cross_entropy = F.cross_entropy(logits, y, ignore_index=-1, reduction="sum")
        return total + self.classification_weight * cross_entropy / n_labeled.clamp(
            min=1
        )


# The Gaussian likelihood's variance never falls below this (as
# GaussianMixture's reg_covar), so that a reconstruction exact to float
# precision keeps a finite log-likelihood.
MIN_NOISE_VARIANCE = 1e-6


def gaussian_kl(mean, log_var):
    """Each row's ``KL(N(mean, diag(exp(log_var))) || N(0, I))``, in nats."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)


def log_likelihood(errors, n_features, loss="mse", noise_variance=None):
    """Each row's ``log p(x | z)`` in nats, from ``errors``: its
    reconstruction loss summed over its ``n_features`` features (or that sum
    averaged over several codes), the decoder's outputs being the means of
    the likelihood.

    For "bce" the likelihood is a Bernoulli per feature, and the
    log-likelihood is minus the summed cross-entropy. For "mse" it is a
    Gaussian per feature with one variance, ``noise_variance``, shared by all
    features; None takes the variance that maximises the likelihood of these
    rows, their mean squared error (the "optimal sigma-VAE" of Rybkin et al.,
    2021), which is what training uses.
    """
    if loss == "bce":
        return -errors
    if noise_variance is None:
        noise_variance = errors.mean() / n_features
    noise_variance = torch.as_tensor(
        noise_variance, dtype=errors.dtype, device=errors.device
    ).clamp(min=MIN_NOISE_VARIANCE)
    return -0.5 * (
        errors / noise_variance + n_features * torch.log(2 * math.pi * noise_variance)
    )


def posterior_errors(module, X, noise, loss="mse"):
    """``(errors, kl)`` of each row of ``X`` under a
    :class:`~skae._torch_modules.VariationalAutoencoderModule`: the
    reconstruction loss summed over features, averaged over the codes drawn
    at each row of ``noise`` (the same standard normal draws for every row,
    so that a row's value does not depend on the rows beside it), and the KL
    divergence of the posterior from the prior."""
    mean, log_var = module.posterior(X)
    errors = X.new_zeros(X.shape[0])
    for draw in noise:
        reconstruction = module.decode(module.reparameterize(mean, log_var, draw))
        errors += reconstruction_loss(reconstruction, X, loss, reduction="none").sum(
            dim=1
        )
    return errors / len(noise), gaussian_kl(mean, log_var)


class ELBOLoss(nn.Module):
    """Criterion of a variational autoencoder: the batch mean of
    ``-(log p(x | z) - beta * KL(q(z | x) || p(z)))``, in nats per sample,
    with ``z`` the code the module drew for each row (its second output),
    the reconstruction its first output and the posterior's mean and
    log-variance its third and fourth. With ``beta=1`` this is the negative
    evidence lower bound; see :func:`log_likelihood` for the likelihoods."""

    def __init__(self, loss="mse", beta=1.0):
        super().__init__()
        self.loss = loss
        self.beta = beta

    def forward(self, output, X, y=None):
        reconstruction, _, mean, log_var = output
        errors = reconstruction_loss(
            reconstruction, X, self.loss, reduction="none"
        ).sum(dim=1)
        log_lik = log_likelihood(errors, X.shape[1], self.loss)
        return (self.beta * gaussian_kl(mean, log_var) - log_lik).mean()


class CodePenalty:
    """Penalty on the codes added to each training batch's loss.

    ``sparsity_weight`` x the batch mean of the codes' L1 norms (or, with a
    ``sparsity_target``, of ``sum_j KL(target || mean(sigmoid(code_j)))``,
    the sparse autoencoder's KL penalty) plus ``contractive_weight`` x the
    batch mean of the squared Frobenius norm of the encoder's Jacobian
    d code / d input (the contractive autoencoder). The codes are the
    module's second output.
    """

    def __init__(
        self, sparsity_weight=0.0, sparsity_target=None, contractive_weight=0.0
    ):
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight

    @classmethod
    def from_weights(cls, sparsity_weight, sparsity_target, contractive_weight):
        """A penalty, or None when both weights are 0."""
        if sparsity_weight == 0 and contractive_weight == 0:
            return None
        return cls(sparsity_weight, sparsity_target, contractive_weight)

    @property
    def needs_input_grad(self):
        """Whether the input must require gradients (for the Jacobian)."""
        return self.contractive_weight > 0

    def __call__(self, X, output):
        code = output[1]
        total = code.new_zeros(())
        if self.sparsity_weight > 0:
            if self.sparsity_target is None:
                sparsity = code.abs().sum(dim=1).mean()
            else:
                rho = self.sparsity_target
                rho_hat = torch.sigmoid(code).mean(dim=0).clamp(1e-6, 1 - 1e-6)
                sparsity = (
                    rho * torch.log(rho / rho_hat)
                    + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
                ).sum()
            total = total + self.sparsity_weight * sparsity
        if self.contractive_weight > 0:
            # Row i's code depends only on row i's input (no batch
            # statistics in training mode aside), so the gradient of a code
            # unit summed over the batch is, row by row, that unit's
            # Jacobian row: one backward pass per unit.
            squared_norms = code.new_zeros(())
            for unit in range(code.shape[1]):
                (gradient,) = torch.autograd.grad(
                    code[:, unit].sum(), X, create_graph=True
                )
                squared_norms = squared_norms + gradient.pow(2).sum()
            total = total + self.contractive_weight * squared_norms / code.shape[0]
        return total


class InMemoryDataset(torch.utils.data.Dataset):
    """Rows of data held in memory, served a batch at a time.

    Parameters
    ----------
    X : torch.Tensor or scipy.sparse matrix of shape (n_samples, n_features)
        A float32 tensor (on the training device when it fits there), or a
        float32 CSR matrix that is densified one batch at a time.
    y : torch.Tensor of shape (n_samples,), default=None
        Targets, for estimators that have them.
    indices : torch.Tensor of int64, default=None
        The rows of ``X`` that belong to this dataset (a train or validation
        part shares the full tensor instead of copying it).
    device : str or torch.device, default="cpu"
        Where batches are delivered.
    """

    def __init__(self, X, y=None, *, indices=None, device="cpu"):
        self.X = X
        self.y = y
        self.indices = indices
        self.device = torch.device(device)

    def __len__(self):
        return self.X.shape[0] if self.indices is None else len(self.indices)

    def __getitem__(self, i):
        # Only for code that insists on per-row access; skae's iterator
        # calls `batch` instead.
        return self.batch(
            slice(i, i + 1) if self.indices is None else self.indices[i : i + 1]
        )

    def subset(self, indices):
        """The rows ``indices`` of this dataset, sharing its storage."""
        if self.indices is not None:
            indices = self.indices[indices]
        return InMemoryDataset(self.X, self.y, indices=indices, device=self.device)

    def batch(self, rows):
        """``(X_batch, y_batch)`` for ``rows`` (a slice or an index tensor)."""
        if sp.issparse(self.X):
            np_rows = rows if isinstance(rows, slice) else rows.numpy()
            Xb = torch.from_numpy(self.X[np_rows].toarray())
        else:
            if not isinstance(rows, slice) and rows.device != self.X.device:
                rows = rows.to(self.X.device)
            Xb = self.X[rows]
        Xb = Xb.to(self.device, non_blocking=True)
        yb = None
        if self.y is not None:
            yb = self.y[rows].to(self.device, non_blocking=True)
        return Xb, yb


def batch_bounds(n_samples, batch_size):
    """Start and stop of each batch; a trailing batch of a single row is merged
    into the one before it (batch normalisation cannot train on one row)."""
    starts = list(range(0, n_samples, batch_size))
    if len(starts) > 1 and n_samples - starts[-1] == 1:
        starts.pop()
    stops = starts[1:] + [n_samples]
    return list(zip(starts, stops, strict=True))


class InMemoryBatchIterator:
    """Mini-batches of an :class:`InMemoryDataset` as tensor slices.

    Unlike a ``DataLoader`` over a map-style dataset, nothing is fetched or
    collated row by row: a batch is one slice (or one gather, when shuffling)
    of the dataset's tensor.

    With ``num_replicas`` > 1 (data-parallel training) it serves process
    ``rank``'s share of the rows, as ``DistributedSampler`` does: every
    process draws the same order from the same ``generator``, rows from its
    start are repeated so that the number of rows divides evenly, and each
    process takes every ``num_replicas``-th row from ``rank`` on. Every
    process then runs the same number of batches of the same sizes, and the
    ``k``-th batches of all processes together are the ``k``-th batch of
    ``batch_size * num_replicas`` rows that a single process would take (but
    for the repeated rows and the end of the epoch).
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        generator=None,
        *,
        num_replicas=1,
        rank=0,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.num_replicas = num_replicas
        self.rank = rank

    def _n_rows(self):
        """The rows this process serves per epoch."""
        return -(-len(self.dataset) // self.num_replicas)

    def __len__(self):
        return len(batch_bounds(self._n_rows(), self.batch_size))

    def __iter__(self):
        dataset = self.dataset
        order = dataset.indices  # None: the rows in storage order
        if self.shuffle:
            order = torch.randperm(len(dataset), generator=self.generator)
            if dataset.indices is not None:
                order = dataset.indices[order]
        n_rows = len(dataset)
        if self.num_replicas > 1:
            share = torch.arange(
                self.rank, self._n_rows() * self.num_replicas, self.num_replicas
            )
            share %= n_rows
            order = share if order is None else order[share]
            n_rows = len(share)
        for start, stop in batch_bounds(n_rows, self.batch_size):
            yield dataset.batch(
                slice(start, stop) if order is None else order[start:stop]
            )


def train_validation_split(dataset, validation_fraction, generator):
    """Split ``dataset`` at random into a training and a validation part that
    share its storage."""
    n_samples = len(dataset)
    n_valid = math.ceil(validation_fraction * n_samples)
    n_train = n_samples - n_valid
    if n_valid < 1 or n_train < 1:
        raise ValueError(
            f"early_stopping=True with validation_fraction={validation_fraction} "
            f"leaves an empty training or validation set for n_samples={n_samples}; "
            "provide more samples or set early_stopping=False."
        )
    order = torch.randperm(n_samples, generator=generator)
    return dataset.subset(order[:n_train]), dataset.subset(order[n_train:])


class NonFiniteLossError(ValueError):
    """Raised when the training loss becomes NaN or infinite."""


class StopTraining(KeyboardInterrupt):
    """Raised by :class:`EarlyStopping` to end training normally (a subclass of
    ``KeyboardInterrupt``, which skorch's own loop treats as a stop)."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``tol`` for ``patience`` epochs.

    Unlike skorch's callback of the same name, epochs that lack the monitored
    value (``partial_fit`` has no validation loss) are skipped, the stop is a
    :class:`StopTraining` that the net tells apart from a user's interrupt,
    and the threshold is absolute, as scikit-learn's ``tol``.

    Parameters
    ----------
    monitor : str, default="valid_loss"
        The history key to watch; lower is better.
    patience : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        The least decrease that counts as an improvement.
    restore_best : bool, default=True
        Load the module weights of the best epoch when training ends.
    sink : callable, default=print
        Where the stop message goes, when the net is verbose.
    """

    def __init__(
        self, monitor="valid_loss", patience=10, tol=1e-4, restore_best=True, sink=print
    ):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.restore_best = restore_best
        self.sink = sink

    def on_train_begin(self, net, **kwargs):
        self.misses_ = 0
        self.best_score_ = math.inf
        self.best_epoch_ = None
        self.best_weights_ = None

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return
        score = net.history[-1, self.monitor]
        if score < self.best_score_ - self.tol:
            self.misses_ = 0
            self.best_score_ = score
            self.best_epoch_ = net.history[-1, "epoch"]
            if self.restore_best:
                self.best_weights_ = deepcopy(net.module_.state_dict())
        else:
            self.misses_ += 1
        if self.misses_ >= self.patience:
            if net.verbose:
                self.sink(
                    f"Stopping: {self.monitor} has not improved by at least "
                    f"{self.tol} in the last {self.patience} epochs."
                )
            raise StopTraining

    def on_train_end(self, net, **kwargs):
        if (
            self.best_weights_ is not None
            and self.best_epoch_ != net.history[-1, "epoch"]
        ):
            net.module_.load_state_dict(self.best_weights_)
            if net.verbose:
                self.sink(f"Restored the weights of epoch {self.best_epoch_}.")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["best_weights_"] = None  # the module holds them already
        return state


class EpochProgressBar(Callback):
    """A tqdm bar over epochs showing the latest training and validation loss,
    the way Keras users expect from ``verbose=1``."""

    def on_train_begin(self, net, epochs=None, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=epochs, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix(
            {k: f"{row[k]:.4g}" for k in ("train_loss", "valid_loss") if k in row},
            refresh=False,
        )
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state


def data_parallel_world():
    """``(rank, world_size)`` of this process when training is data-parallel,
    that is when a ``torch.distributed`` process group of more than one
    process is initialized; None otherwise."""
    if dist.is_available() and dist.is_initialized():
        world_size = dist.get_world_size()
        if world_size > 1:
            return dist.get_rank(), world_size
    return None


def shared_seed(seed, device):
    """``seed`` as process 0 has it, in data-parallel training, so that a
    ``random_state`` of None (or a ``RandomState``) still gives every process
    the same weights, validation split and batch order; ``seed`` itself
    otherwise. ``device`` is the training device, where the collective runs
    (NCCL needs a CUDA tensor)."""
    if data_parallel_world() is None:
        return seed
    value = torch.tensor([seed], dtype=torch.int64, device=device)
    dist.broadcast(value, 0)
    return int(value.item())


def process_seed(seed):
    """A seed of this process's own in data-parallel training, ``seed +
    rank`` (the processes corrupt different rows, and should draw different
    noise for them); ``seed`` itself otherwise."""
    world = data_parallel_world()
    return seed if world is None else seed + world[0]


class DataParallelRun:
    """One data-parallel training run of ``module`` on this process: the
    ``DistributedDataParallel`` wrapper that averages gradients over the
    processes in ``backward`` (built by :meth:`wrap`), and the few
    collectives beside it.

    Parameters
    ----------
    module : torch.nn.Module
        The bare module, already on ``device``; it keeps its parameters, and
        the wrapper is dropped when the run ends (:meth:`close`).
    rank, world_size : int
        This process's rank and the number of processes.
    device : torch.device
        The training device.
    """

    def __init__(self, module, rank, world_size, device):
        self.rank = rank
        self.world_size = world_size
        self.module = module
        device_ids = None
        if device.type == "cuda":
            if device.index is None:
                device = torch.device("cuda", torch.cuda.current_device())
            device_ids = [device.index]
        self.device = device
        self.device_ids = device_ids
        self.wrapper = None

    def wrap(self):
        """Build the wrapper, which broadcasts process 0's parameters and
        buffers, so that every process starts from the same weights."""
        self.wrapper = nn.parallel.DistributedDataParallel(
            self.module, device_ids=self.device_ids
        )

    def check_agreement(self, checks):
        """Raise the same ValueError on every process unless all of them
        hold the same values in ``checks``, ``(name, int)`` pairs: processes
        that disagree on the number of batches or epochs would wait for each
        other forever."""
        names = [name for name, _ in checks]
        local = torch.tensor(
            [value for _, value in checks], dtype=torch.int64, device=self.device
        )
        gathered = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(gathered, local)
        values = torch.stack(gathered).cpu()
        differ = [
            f"{name} {values[:, i].tolist()}"
            for i, name in enumerate(names)
            if (values[:, i] != values[0, i]).any()
        ]
        if differ:
            raise ValueError(
                "Data-parallel training needs the same data and parameters on "
                f"every process (the same script, X and random_state), but the "
                f"{self.world_size} processes differ, by rank: "
                f"{'; '.join(differ)}."
            )

    def mean_loss(self, loss, n_rows):
        """``(mean, n_total)``: the mean of ``loss`` (this process's mean
        over its ``n_rows`` rows) over the rows of every process's batch, and
        their number; the same on every process, and not finite when any
        process's loss is not."""
        totals = torch.stack(
            [
                loss.detach().double() * n_rows,
                loss.new_tensor(float(n_rows), dtype=torch.float64),
            ]
        )
        dist.all_reduce(totals)
        loss_sum, n_total = totals.tolist()
        return loss_sum / n_total, int(n_total)

    def sync_buffers(self):
        """Give every process process 0's buffers (batch normalisation's
        running statistics: each process's last batch moved its own)."""
        for buffer in self.module.buffers():
            dist.broadcast(buffer, 0)

    def close(self):
        """Detach the wrapper from the module: its gradient hooks would
        otherwise outlive it until it is garbage-collected."""
        # a private method of DistributedDataParallel's, hence the getattr
        remove_hooks = getattr(self.wrapper, "_remove_autograd_hooks", None)
        if remove_hooks is not None:
            remove_hooks()
        self.wrapper = None


def _overrides(callback, method):
    return getattr(type(callback), method) is not getattr(Callback, method)


class AutoencoderNet(NeuralNet):
    """The skorch net behind every skae estimator.

    It trains on :class:`InMemoryDataset` batches, feeds the module each
    batch through ``corruption`` (a callable on a batch tensor, or None) when
    training, hands the criterion the module's output, the clean input and
    the targets, adds the ``penalty`` (a :class:`CodePenalty`, or None) to
    the training loss, stops at once on a non-finite loss, and keeps skorch's
    per-batch work off the hot path when no callback asks for it.

    When a ``torch.distributed`` process group of more than one process is
    initialized, :meth:`fit_epochs` trains data-parallel: each process, given
    the same data, trains on its share of every epoch's batches through a
    ``DistributedDataParallel`` wrapper of ``module_``, and records the
    losses averaged over all processes; ``module_`` stays the bare module.
    """

    # The run in progress when training is data-parallel (only while
    # fit_epochs runs; not a skorch parameter, so not set in __init__).
    _data_parallel = None

    def __init__(
        self, *args, corruption=None, penalty=None, architecture=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.corruption = corruption
        self.penalty = penalty
        # What the estimator built the module from (see _architecture).
        self.architecture = architecture

    def get_dataset(self, X, y=None):
        # skorch's own entry points (net_.predict, net_.forward, ...) may pass
        # arrays; serve them through the same in-memory batches.
        if isinstance(X, InMemoryDataset):
            return X
        X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        if y is not None:
            y = torch.as_tensor(np.asarray(y))
        return InMemoryDataset(X, y, device=self.device)

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # The callbacks that implement each per-batch method: skorch calls
        # every callback's on every batch, and the defaults' do nothing.
        self._listeners = {
            method: [cb for _, cb in self.callbacks_ if _overrides(cb, method)]
            for method in ("on_batch_begin", "on_batch_end", "on_grad_computed")
        }
        return self

    def _notify_batch(self, method, **cb_kwargs):
        """``notify(method, ...)`` for a batch method, calling only the
        callbacks that override it (and the net's own method, as skorch
        does: it starts each batch's history row)."""
        getattr(self, method)(self, **cb_kwargs)
        for cb in self._listeners[method]:
            getattr(cb, method)(self, **cb_kwargs)

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training)
        run = self._data_parallel
        if run is not None:
            # this process's share of the batches
            iterator.num_replicas, iterator.rank = run.world_size, run.rank
        return iterator

    def get_split_datasets(self, X, y=None, **fit_params):
        # The estimator splits its data itself (sharing one tensor) and passes
        # the pair ``(train, valid)``; ``valid`` may be None.
        if isinstance(X, tuple):
            return X
        return super().get_split_datasets(X, y, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, X, y_true)

    def infer(self, x, **fit_params):
        return self.module_(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        Xi, yi = batch
        X_in = Xi if self.corruption is None else self.corruption(Xi)
        if self.penalty is not None and self.penalty.needs_input_grad:
            X_in = X_in.detach().requires_grad_()
        if self._data_parallel is None:
            y_pred = self.infer(X_in, **fit_params)
        else:  # the wrapper's forward prepares the gradients' all-reduce
            y_pred = self._data_parallel.wrapper(X_in, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        if self.penalty is not None:
            loss = loss + self.penalty(X_in, y_pred)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def train_step(self, batch, **fit_params):
        # As skorch's, but building the generator of parameters for
        # ``on_grad_computed`` costs more than a small network's step, so it
        # is built only when a callback (gradient clipping, say) listens.
        step = {}

        def step_fn():
            self._zero_grad_optimizer()
            step.update(self.train_step_single(batch, **fit_params))
            listeners = self._listeners["on_grad_computed"]
            if listeners:
                params = list(self.get_all_learnable_params())
                for cb in listeners:
                    cb.on_grad_computed(
                        self, named_parameters=iter(params), batch=batch, training=True
                    )
            return step["loss"]

        self._step_optimizer(step_fn)
        return step

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        # Set the mode once per epoch rather than once per batch.
        self._set_training(training)
        run = self._data_parallel
        batch_count = 0
        for batch in iterator:
            self._notify_batch("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            n_rows = len(batch[0])
            if run is None:
                loss = step["loss"].item()
            else:
                # Every process records the mean over all processes' rows,
                # so that stopping rules decide alike everywhere, and a
                # non-finite loss on one process stops all of them.
                loss, n_rows = run.mean_loss(step["loss"], n_rows)
            if not math.isfinite(loss):
                raise NonFiniteLossError(
                    f"The {prefix} loss became {loss} at epoch {len(self.history)}, "
                    f"batch {batch_count + 1}, so training stopped. Usual causes: "
                    "input that is not scaled (put a StandardScaler or MinMaxScaler "
                    "before the autoencoder), a learning rate that is too high "
                    f"(lr={self.lr}; try a tenth of it, or clip the gradients with "
                    "max_grad_norm), or a sigmoid/BCE output on data outside [0, 1]."
                )
            self.history.record_batch(prefix + "_loss", loss)
            self.history.record_batch(prefix + "_batch_size", n_rows)
            self._notify_batch("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        if run is not None and training:
            run.sync_buffers()
        self.history.record(prefix + "_batch_count", batch_count)

    def fit_epochs(self, train, valid=None, *, epochs):
        """Train for up to ``epochs`` epochs on ``train``, scoring ``valid``.

        An :class:`EarlyStopping` stop ends training quietly; a user's
        interrupt (Ctrl-C) ends it with a warning. ``on_train_end`` runs in
        every case, errors included, so the best weights are restored.

        In data-parallel training (see :func:`data_parallel_world`) every
        process calls this with the same ``train`` and ``valid`` and trains
        on its share of their batches, ``batch_size`` rows each.
        """
        if not self.initialized_:
            self.initialize()
        with self._data_parallel_training(train, valid, epochs):
            self.notify("on_train_begin", X=train, y=None, epochs=epochs)
            try:
                self.fit_loop((train, valid), epochs=epochs)
            except StopTraining:
                pass
            except KeyboardInterrupt:
                epoch = len(self.history)
                if epoch and "train_loss" not in self.history[-1]:
                    # an epoch cut short has no losses to report
                    del self.history[-1]
                warnings.warn(
                    f"Training was interrupted during epoch {epoch}; the model "
                    "keeps the weights it had (the best ones when early stopping "
                    f"restores them), and history_ the {len(self.history)} epochs "
                    "that finished.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            finally:
                # also after an error: close the progress bar, restore weights
                self.notify("on_train_end", X=train, y=None)
        return self

    @contextmanager
    def _data_parallel_training(self, train, valid, epochs):
        """Within this context training is data-parallel when a process
        group of more than one process is initialized (nothing changes
        otherwise): ``module_`` trains through a ``DistributedDataParallel``
        wrapper, dropped again when the context ends, also on an error."""
        world = data_parallel_world()
        if world is None:
            yield
            return
        rank, world_size = world
        run = DataParallelRun(self.module_, rank, world_size, torch.device(self.device))
        try:
            generator = self.get_params_for("iterator_train").get("generator")
            run.check_agreement(
                [
                    ("training rows", len(train)),
                    ("validation rows", 0 if valid is None else len(valid)),
                    ("features", train.X.shape[1]),
                    ("batch_size", self.batch_size),
                    ("epochs", epochs),
                    (
                        "shuffle seed",
                        -1 if generator is None else generator.initial_seed() % 2**62,
                    ),
                ]
            )
            run.wrap()
            cuda_indices = [run.device.index] if run.device.type == "cuda" else []
            with torch.random.fork_rng(devices=cuda_indices):
                # Dropout masks and sampled codes of this process's own: one
                # draw from the generator that all processes share, plus the
                # rank. The callers' generator state is restored afterwards.
                seed = int(torch.randint(2**62, ())) + rank
                torch.default_generator.manual_seed(seed)
                for index in cuda_indices:
                    torch.cuda.default_generators[index].manual_seed(seed)
                self._data_parallel = run
                yield
        finally:
            vars(self).pop("_data_parallel", None)
            run.close()


def resolve_device(device):
    """The ``torch.device`` to train on: "auto" is CUDA when present, else
    the CPU; in data-parallel training, "auto" is this process's own GPU,
    ``cuda:LOCAL_RANK``."""
    if device == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        world = data_parallel_world()
        if world is None:
            return torch.device("cuda")
        # each process its own GPU: torchrun numbers the processes of a
        # machine by LOCAL_RANK
        local_rank = int(os.environ.get("LOCAL_RANK", world[0]))
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' "
            "or 'cuda:N'."
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested but CUDA is not available; "
            "use device='auto' or 'cpu'."
        )
    return device


def seed_from(random_state):
    """An integer seed from ``random_state`` without touching numpy's global
    generator: None draws fresh entropy, an int is used as is, a
    ``RandomState`` is drawn from (advancing it, as scikit-learn does)."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state)


@contextmanager
def isolated_rng(seed, device):
    """Within this context torch's global generators (the CPU's and the
    training CUDA device's) are seeded with ``seed``; afterwards they are as
    they were. Weight initialisation and dropout are then reproducible, and
    the caller's global RNG state is left untouched."""
    device = torch.device(device)
    cuda_indices = []
    if device.type == "cuda":
        cuda_indices = [
            device.index if device.index is not None else torch.cuda.current_device()
        ]
    with torch.random.fork_rng(devices=cuda_indices):
        torch.default_generator.manual_seed(seed)
        for index in cuda_indices:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield
