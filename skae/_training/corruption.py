"""Corruption of training batches for denoising autoencoders, drawn on the
training device: the torch counterparts of :mod:`skae.noise`, with the same
distributions."""

import numpy as np
import torch


def _gaussian(X, level, generator, low, high):
    noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
    return X + level * noise


def _uniform(X, generator):
    return torch.rand(X.shape, generator=generator, device=X.device, dtype=X.dtype)


def _masking(X, level, generator, low, high):
    return X * (_uniform(X, generator) >= level)


def _salt_and_pepper(X, level, generator, low, high):
    hit = _uniform(X, generator) < level
    salt = _uniform(X, generator) < 0.5
    return torch.where(hit, torch.where(salt, high, low), X)


# name -> function(X, level, generator, low, high); ``low`` and ``high`` are
# the features' training range
NOISES = {
    "gaussian": _gaussian,
    "masking": _masking,
    "salt_and_pepper": _salt_and_pepper,
}
# corruptions whose values stay as they are drawn: salt and pepper are in the
# range by construction, and masking's zeros are the corruption
UNCLIPPED = {"masking", "salt_and_pepper"}


class BatchCorruption:
    """Corrupts each training batch afresh.

    Parameters
    ----------
    noise : str or callable
        A key of ``NOISES``, drawn on the batch's device from a generator
        seeded with ``seed``; or a user's ``noise(X_batch, rng) -> X_noisy``
        on float32 numpy batches, called on the CPU with a numpy generator
        seeded with ``seed``.
    level : float
        The noise's standard deviation or probability.
    low, high : ndarray of shape (n_features,)
        Each feature's training range: the clipping range and the pepper and
        salt values.
    clip : bool
        Clip corrupted batches to ``[low, high]`` (not "masking" and
        "salt_and_pepper", see ``UNCLIPPED``).
    seed : int
        Seeds the noise.
    device : torch.device
        Where the training batches are.
    order : ndarray of shape (n_features,), default=None
        The network's order of the features, when it differs from the
        rows': ``X[:, order]`` holds a row as the network reads it (the
        (C, H, W) pixels of a channels-last image). A named noise is drawn in
        that order, so that rows in either layout are corrupted alike; a
        callable gets the rows as they are.
    """

    def __init__(self, noise, level, low, high, clip, seed, device, order=None):
        self.noise = noise
        self.level = level
        self.clip = clip and noise not in UNCLIPPED
        if callable(noise):
            self.rng = np.random.default_rng(seed)
        else:
            self.generator = torch.Generator(device=device).manual_seed(seed)
        self.low = torch.as_tensor(low, dtype=torch.float32, device=device)
        self.high = torch.as_tensor(high, dtype=torch.float32, device=device)
        self.order = order
        if order is not None:
            self.order = torch.as_tensor(order, device=device)
            self.inverse = torch.argsort(self.order)
            # the range in the network's order, permuted once
            self.ordered_range = self.low[self.order], self.high[self.order]

    def __call__(self, X):
        if callable(self.noise):
            return self._clipped(self._user_noise(X), self.low, self.high)
        if self.order is None:
            return self._corrupt(X, self.low, self.high)
        noisy = self._corrupt(X[:, self.order], *self.ordered_range)
        return noisy[:, self.inverse]

    def _corrupt(self, X, low, high):
        noisy = NOISES[self.noise](X, self.level, self.generator, low, high)
        return self._clipped(noisy, low, high)

    def _clipped(self, noisy, low, high):
        return torch.clamp(noisy, low, high) if self.clip else noisy

    def _user_noise(self, X):
        batch = X.detach().cpu().numpy()
        noisy = np.asarray(self.noise(batch, self.rng))
        if noisy.shape != batch.shape:
            raise ValueError(
                f"The noise callable returned shape {noisy.shape} for a batch "
                f"of shape {batch.shape}; it must return the batch's shape."
            )
        return torch.from_numpy(noisy.astype(np.float32, copy=False)).to(X.device)
