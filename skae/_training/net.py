"""The skorch net that trains every skae estimator."""

import inspect
import math
import os
import warnings
from contextlib import contextmanager
from functools import cache

import numpy as np
import torch
from skorch import NeuralNet
from skorch.history import History

from .._warnings import external_stacklevel
from .callbacks import QuietPrintLog, StopTraining, listens_to
from .data import InMemoryDataset
from .distributed import DataParallelRun, data_parallel_world
from .randomness import isolated_rng

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}


class NonFiniteLossError(ValueError):
    """Raised when the training loss becomes NaN or infinite."""


def _fused_devices():
    """The device types that have fused optimizer kernels (torch's private
    list; the CPU and CUDA where it is missing)."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        return set(_get_fused_kernels_supported_devices())
    except (ImportError, AttributeError):  # pragma: no cover - another torch
        return {"cpu", "cuda"}


@cache
def _step_options(optimizer):
    """The names among ``fused`` and ``foreach`` that ``optimizer``'s
    constructor takes, fused first; none for any class but torch's own."""
    if not (
        isinstance(optimizer, type)
        and issubclass(optimizer, torch.optim.Optimizer)
        and optimizer.__module__.startswith("torch.optim")
    ):
        return ()
    try:
        accepted = inspect.signature(optimizer).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return ()
    return tuple(name for name in ("fused", "foreach") if name in accepted)


def fast_step_option(optimizer, params, kwargs):
    """``{"fused": True}`` or ``{"foreach": True}``: how ``optimizer`` (a
    class) updates ``params`` in one or a few kernels instead of several per
    parameter, or ``{}`` where it cannot or should not.

    torch's own optimizers step one parameter at a time on the CPU unless
    told otherwise, a dozen small operations per parameter, which dominate
    a small network's step. The fused step is taken for torch's own classes
    that take ``fused`` (Adam, AdamW, SGD, Adagrad, ...), when every
    parameter is a dense floating-point tensor on a device with fused
    kernels; ``foreach`` for those that only take that (RMSprop, ...). Never
    for a user's own optimizer class (a subclass included: its ``step`` may
    not honour it), nor when ``kwargs`` (the ``optimizer__*`` arguments)
    set ``fused`` or ``foreach`` themselves.
    """
    options = _step_options(optimizer)
    if not options or "fused" in kwargs or "foreach" in kwargs:
        return {}
    dense = all(
        isinstance(p, torch.Tensor)
        and p.is_floating_point()
        and p.layout == torch.strided
        and not p.is_sparse
        for p in params
    )
    if not params or not dense:
        return {}
    if options[0] == "fused" and {p.device.type for p in params} <= _fused_devices():
        return {"fused": True}
    if "foreach" in options:
        return {"foreach": True}
    return {}


class AutoencoderNet(NeuralNet):
    """The skorch net behind every skae estimator.

    It trains on :class:`InMemoryDataset` batches, feeds the module each
    batch through ``corruption`` (a callable on a batch tensor, or None) when
    training, hands the criterion the module's output, the clean input and
    the targets, adds the ``penalty`` (a :class:`CodePenalty`, or None) to
    the training loss, stops at once on a non-finite loss, and keeps skorch's
    per-batch work off the hot path when no callback asks for it.

    ``reconstruction_gradient`` (a float, 1 by default) is the share of the
    reconstruction loss's gradient that reaches the encoder in training;
    the decoder always takes all of it (see
    :meth:`~skae._torch_modules.AutoencoderModule.forward`).

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
        self,
        *args,
        corruption=None,
        penalty=None,
        reconstruction_gradient=1.0,
        architecture=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.corruption = corruption
        self.penalty = penalty
        self.reconstruction_gradient = reconstruction_gradient
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

    @property
    def _default_callbacks(self):
        # skorch's PrintLog builds its table every epoch, printed or not
        return [
            (name, QuietPrintLog() if name == "print_log" else callback)
            for name, callback in super()._default_callbacks
        ]

    def initialize_optimizer(self, triggered_directly=None):
        """skorch's, with the optimizer's fused (or multi-tensor) step where
        it is safe (see :func:`fast_step_option`), and without it when the
        optimizer refuses it."""
        named = list(self.get_all_learnable_params())
        args, kwargs = self.get_params_for_optimizer("optimizer", iter(named))
        option = fast_step_option(self.optimizer, [p for _, p in named], kwargs)
        # fused steps take no sparse gradients (an embedding's, say)
        if option and any(
            getattr(m, "sparse", False) is True for m in self.module_.modules()
        ):
            option = {}
        if option:
            try:
                self.optimizer_ = self.optimizer(*args, **kwargs, **option)
                return self
            except (TypeError, ValueError, RuntimeError):
                # an argument it cannot be fused with (differentiable=True)
                args, kwargs = self.get_params_for_optimizer("optimizer", iter(named))
        self.optimizer_ = self.optimizer(*args, **kwargs)
        return self

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # The callbacks that implement each per-batch method: skorch calls
        # every callback's on every batch, and the defaults' do nothing.
        self._listeners = {
            method: [cb for _, cb in self.callbacks_ if listens_to(cb, method)]
            for method in ("on_batch_begin", "on_batch_end", "on_grad_computed")
        }
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        # skorch's ``history.new_batch()``, without the history's indexing
        # machinery (several microseconds a batch)
        history = self.history
        if type(history) is History:
            list.__getitem__(history, -1)["batches"].append({})
        else:
            history.new_batch()

    def _zero_grad_optimizer(self, set_to_none=None):
        # torch's ``zero_grad()`` sets the gradients to None through its
        # profiling and compile-guard wrappers, a noticeable part of a small
        # network's step; done here directly when it is torch's own method
        optimizer = getattr(self, "optimizer_", None)
        if (
            set_to_none is None
            and self._optimizers == ["optimizer"]
            and type(optimizer).zero_grad is torch.optim.Optimizer.zero_grad
        ):
            for group in optimizer.param_groups:
                for param in group["params"]:
                    param.grad = None
            return
        super()._zero_grad_optimizer(set_to_none)

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
        # the reconstruction is compared with the input in the network's
        # units (standardized, when the module standardizes); ``y_true`` is
        # the batch's (targets, sample weights), and its rows' positions when
        # the penalty asks for them
        y, sample_weight = (None, None) if y_true is None else y_true[:2]
        return self.criterion_(
            y_pred, self.module_.scale_input(X), y, sample_weight=sample_weight
        )

    def infer(self, x, **fit_params):
        return self.module_(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        Xi, yi = batch
        X_in = Xi if self.corruption is None else self.corruption(Xi)
        if self.penalty is not None and self.penalty.needs_input_grad:
            X_in = X_in.detach().requires_grad_()
        if self.reconstruction_gradient != 1:
            fit_params = {
                **fit_params,
                "reconstruction_gradient": self.reconstruction_gradient,
            }
        if self._data_parallel is None:
            y_pred = self.infer(X_in, **fit_params)
        else:  # the wrapper's forward prepares the gradients' all-reduce
            y_pred = self._data_parallel.wrapper(X_in, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        if self.penalty is not None:
            # the batch's weights, and its rows' positions when asked for
            loss = loss + self.penalty(X_in, y_pred, *yi[1:])
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

    # Batch losses are read from the device (a host sync on a GPU, a call
    # into torch's dispatcher on the CPU) this many at a time, unless a
    # callback is called per batch and may read them from the history.
    LOSS_READ_INTERVAL = 32

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        # Set the mode once per epoch rather than once per batch.
        self._set_training(training)
        run = self._data_parallel
        loss_key, size_key = prefix + "_loss", prefix + "_batch_size"
        interval = self.LOSS_READ_INTERVAL
        if (
            run is not None
            or self._listeners["on_batch_begin"]
            or self._listeners["on_batch_end"]
        ):
            interval = 1
        batches = self.history[-1]["batches"]
        # (batch number, its history record, its loss tensor), not yet read
        pending = []
        batch_count = 0
        try:
            for batch in iterator:
                self._notify_batch("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                batch_count += 1
                record = batches[-1]
                n_rows = batch[0].shape[-2]  # (members, rows, features): ensemble
                if run is None:
                    record[loss_key] = None  # read below, with the others
                    pending.append((batch_count, record, step["loss"].detach()))
                    if len(pending) >= interval:
                        self._read_losses(pending, prefix)
                else:
                    # Every process records the mean over all processes'
                    # rows, so that stopping rules decide alike everywhere,
                    # and a non-finite loss on one process stops all of them.
                    loss, n_rows = run.mean_loss(step["loss"], n_rows)
                    record[loss_key] = loss
                    if not math.isfinite(loss):
                        raise self._non_finite(prefix, loss, batch_count)
                record[size_key] = n_rows
                self._notify_batch(
                    "on_batch_end", batch=batch, training=training, **step
                )
            self._read_losses(pending, prefix)
        except Exception as exc:
            # A step after a non-finite loss may fail on its own (a BCE loss
            # refuses NaN outputs): the loss is the error to report.
            if not isinstance(exc, NonFiniteLossError):
                self._read_losses(pending, prefix, cause=exc)
            raise
        if run is not None and training:
            run.sync_buffers()
        self.history.record(prefix + "_batch_count", batch_count)

    def _read_losses(self, pending, prefix, cause=None):
        """Write the ``pending`` batches' losses into their history records,
        in one read from the device, and empty it; a
        :class:`NonFiniteLossError` for the first that is not finite."""
        if not pending:
            return
        losses = [loss for *_, loss in pending]
        if len({loss.dtype for loss in losses}) == 1:
            values = torch.stack(losses).tolist()
        else:  # pragma: no cover - a user's criterion of mixed precision
            values = [loss.item() for loss in losses]
        for (batch_number, record, _), value in zip(pending, values, strict=True):
            record[prefix + "_loss"] = value
            if not math.isfinite(value):
                pending.clear()
                raise self._non_finite(prefix, value, batch_number) from cause
        pending.clear()

    def _non_finite(self, prefix, loss, batch_number):
        return NonFiniteLossError(
            f"The {prefix} loss became {loss} at epoch {len(self.history)}, "
            f"batch {batch_number}, so training stopped. Usual causes: "
            "input that is not scaled (put a StandardScaler or MinMaxScaler "
            "before the autoencoder), a learning rate that is too high "
            f"(lr={self.lr}; try a tenth of it, or clip the gradients with "
            "max_grad_norm), or a sigmoid/BCE output on data outside [0, 1]."
        )

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
                    stacklevel=external_stacklevel(),
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
            # Dropout masks and sampled codes of this process's own: one draw
            # from the generator that all processes share, plus the rank.
            seed = int(torch.randint(2**62, ())) + rank
            with isolated_rng(seed, run.device):
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
