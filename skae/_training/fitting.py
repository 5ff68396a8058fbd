"""A training run assembled from plain values: the skorch net with its
callbacks, the check of the optimizer's arguments, a warm start's carry-over,
the rollback of a failed run, and the training and validation sets."""

from contextlib import contextmanager
from copy import deepcopy

import numpy as np
import torch
from skorch.callbacks import GradientNormClipping
from skorch.utils import noop

from .callbacks import EarlyStopping, EpochProgressBar
from .data import InMemoryBatchIterator, InMemoryDataset, train_validation_split
from .net import OPTIMIZERS, AutoencoderNet


def optimizer_class(optimizer):
    """The optimizer class of a name of :data:`OPTIMIZERS`, or the class (or
    callable) itself."""
    return OPTIMIZERS.get(optimizer, optimizer)


def check_optimizer(optimizer, lr, params):
    """A ValueError unless ``optimizer`` takes what skorch will give it, tried
    on one parameter before any training: ``lr`` (``optimizer__lr`` in its
    place, as skorch puts it), the other ``optimizer__*`` arguments
    (``params``), and the options of each group of
    ``optimizer__param_groups``, a list of ``(pattern, options)`` pairs."""
    optimizer = optimizer_class(optimizer)
    name = getattr(optimizer, "__name__", optimizer)
    kwargs = {"lr": lr, **params}
    groups = kwargs.pop("param_groups", [])
    if not _is_param_groups(groups):
        raise ValueError(
            "optimizer__param_groups must be a list of (pattern, options) "
            "pairs, as skorch takes them: a pattern of parameter names (of "
            "net_.module_.named_parameters(), fnmatch's wildcards) and a dict of "
            f"the optimizer's options for them, got {groups!r}."
        )
    try:
        optimizer([torch.zeros(1, requires_grad=True)], **kwargs)
        # torch checks the constructor's arguments, not a group's options
        for _, options in groups:
            optimizer([torch.zeros(1, requires_grad=True)], **{**kwargs, **options})
    except (TypeError, ValueError) as exc:
        given = ", ".join(f"optimizer__{k}={v!r}" for k, v in params.items())
        taken = (
            given
            if "lr" in params
            else f"lr={lr!r}" + (f" with {given}" if given else "")
        )
        raise ValueError(f"The optimizer {name} does not take {taken}: {exc}") from exc


def _is_param_groups(groups):
    return isinstance(groups, list | tuple) and all(
        isinstance(pair, list | tuple)
        and len(pair) == 2
        and isinstance(pair[0], str)
        and isinstance(pair[1], dict)
        and "params" not in pair[1]
        for pair in groups
    )


def make_net(
    module,
    architecture,
    *,
    criterion,
    criterion_params,
    optimizer,
    lr,
    optimizer_params,
    max_epochs,
    batch_size,
    max_grad_norm,
    early_stopping,
    n_iter_no_change,
    tol,
    callbacks,
    verbose,
    device,
):
    """An :class:`AutoencoderNet` around ``module`` (built from
    ``architecture``), with the callbacks the settings ask for: a progress
    bar (``verbose == 1``), gradient clipping, the user's ``callbacks`` and,
    last, early stopping on the validation loss (``early_stopping``) or on
    the training loss."""
    sink = print if verbose else noop
    if early_stopping:
        stopper = EarlyStopping("valid_loss", n_iter_no_change, tol)
    else:
        stopper = EarlyStopping("train_loss", n_iter_no_change, tol, load_best=False)
    stopper.sink = sink
    chain = []
    if verbose == 1:
        chain.append(("progress_bar", EpochProgressBar()))
    if max_grad_norm is not None:
        chain.append(("gradient_clipping", GradientNormClipping(max_grad_norm)))
    chain.extend(callbacks or [])
    # Last, so that every other callback sees the epoch it stops after.
    chain.append(("early_stopping", stopper))
    return AutoencoderNet(
        module=module,
        architecture=architecture,
        criterion=criterion,
        optimizer=optimizer_class(optimizer),
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        iterator_train=InMemoryBatchIterator,
        iterator_valid=InMemoryBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator(),
        train_split=None,
        callbacks=chain,
        verbose=int(verbose >= 2),
        device=device,
        **{f"criterion__{k}": v for k, v in criterion_params.items()},
        **{f"optimizer__{k}": v for k, v in optimizer_params.items()},
    )


def same_value(a, b):
    """Whether two architecture values are the same (module instances by
    identity, everything else by equality)."""
    if isinstance(a, torch.nn.Module) or isinstance(b, torch.nn.Module):
        return a is b
    return a == b


def carry_over(old, new):
    """Copy the fitted state of net ``old`` into the freshly built ``new``
    (a warm-started fit): weights, optimizer state (when the optimizer's
    class and parameter groups are the same; each group keeps the ``lr`` and
    arguments it was built with now) and history. A changed architecture is
    a ValueError."""
    changed = sorted(
        key
        for key, value in new.architecture.items()
        if not same_value(old.architecture.get(key), value)
    )
    if changed:
        raise ValueError(
            "warm_start=True continues the fitted network, but its "
            f"architecture changed ({', '.join(changed)}); set "
            "warm_start=False to start afresh."
        )
    new.module_.load_state_dict(old.module_.state_dict())
    old_groups, new_groups = old.optimizer_.param_groups, new.optimizer_.param_groups
    if type(old.optimizer_) is type(new.optimizer_) and [
        len(group["params"]) for group in old_groups
    ] == [len(group["params"]) for group in new_groups]:
        settings = [
            {key: value for key, value in group.items() if key != "params"}
            for group in new_groups
        ]
        new.optimizer_.load_state_dict(old.optimizer_.state_dict())
        for group, given in zip(new.optimizer_.param_groups, settings, strict=True):
            group.update(given)
    new.history = old.history


@contextmanager
def restored_on_failure(net):
    """Run a training call on the fitted ``net``; if it raises, put the
    weights, optimizer state and history back as they were."""
    saved = deepcopy((net.module_.state_dict(), net.optimizer_.state_dict()))
    n_epochs_before = len(net.history)
    try:
        yield
    except BaseException:
        net.module_.load_state_dict(saved[0])
        net.optimizer_.load_state_dict(saved[1])
        del net.history[n_epochs_before:]
        raise


def training_sets(
    X,
    targets,
    sample_weight,
    device,
    *,
    rows=None,
    positions=False,
    validation=None,
    incremental=False,
    early_stopping=False,
    validation_fraction=0.1,
    split_seed=0,
    max_epochs=1,
):
    """``(train, valid, epochs)`` of one training call, as
    :class:`InMemoryDataset` objects (``valid`` None for none).

    ``rows`` are the rows each member of an ensemble trains on (None: all);
    with ``positions`` each training batch carries its rows' positions in
    ``X`` (see :class:`InMemoryDataset`).
    ``validation`` is ``(X_val, targets_val, sample_weight_val)`` given to
    ``fit``, or None; an incremental call trains one epoch and validates on
    nothing; early stopping otherwise validates on a share
    ``validation_fraction`` of the rows, split with ``split_seed`` (the first
    fit's seed, so that a warm-started fit validates on the same rows and
    never on rows it trained on)."""
    dataset = InMemoryDataset.from_array(
        X, targets, device, sample_weight, rows, positions=positions
    )
    if incremental:
        return dataset, None, 1
    if validation is not None:
        X_val, targets_val, sample_weight_val = validation
        # every member of an ensemble is validated on every row
        valid_rows = None
        if rows is not None:
            n_val = X_val.shape[0]
            valid_rows = np.tile(np.arange(n_val), (len(rows), 1))
        valid = InMemoryDataset.from_array(
            X_val, targets_val, device, sample_weight_val, valid_rows
        )
        return dataset, valid, max_epochs
    if early_stopping:
        train, valid = train_validation_split(
            dataset, validation_fraction, torch.Generator().manual_seed(split_seed)
        )
        return train, valid, max_epochs
    return dataset, None, max_epochs
