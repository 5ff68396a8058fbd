"""Data-parallel training over the processes of a ``torch.distributed``
process group: each process trains on its share of every batch through a
``DistributedDataParallel`` wrapper of the module, and the few collectives
beside it keep the processes in step."""

import torch
import torch.distributed as dist
from torch import nn


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
