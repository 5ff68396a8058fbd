"""Seeds and torch's global generators."""

from contextlib import contextmanager

import numpy as np
import torch


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
