"""Check that a row's outputs do not depend on the rows beside it.

Imported by tests/test_batch_invariance.py, which also runs it as a script
in fresh processes under other thread counts and MKL code paths (environment
variables that must be set before torch loads):

    python tests/batch_invariance_check.py

Every estimator, with a dense, convolutional and recurrent network and a
user's modules, is fitted on 150 rows and asked, method by method, for the
outputs of all rows in one call; each row's outputs must then be the same
bits when the row is alone, when the rows come in another order, and when
the same float32 values start at a misaligned address. The comparison is
exact on purpose: inference guarantees it by construction (blocks of one
shape in aligned memory, see BaseAutoencoder._inference_batches), not by
being close.
"""

import sys

import numpy as np
import torch
from conftest import (
    PUBLIC_ESTIMATORS,
    SHARED_TEST_PARAMS,
    UserDecoder,
    UserEncoder,
    row_outputs,
)
from sklearn.base import is_classifier
from torch import nn

from skae import AutoencoderTransformer
from skae._training import data as training_data

# A 32 -> 8 layer: with MKL_CBWR=COMPATIBLE on an AMD Zen 5 CPU, MKL's sgemm
# gives its rows other bits at 16 or more rows than at 8.
ARCHITECTURES = {
    "dense": {"n_components": 8, "hidden_layer_sizes": (32,), "batch_norm": True},
    "conv": {"image_shape": (4, 4), "conv_channels": (4,), "hidden_layer_sizes": ()},
    "recurrent": {"sequence_shape": (8, 2), "recurrent_units": 4},
}
N_ROWS, N_FEATURES = 150, 16
# Inference blocks of 48 rows (the fewest it takes), so that the 150 rows
# fill three blocks and part of a fourth: the rows tried alone are at the
# blocks' edges.
BLOCK_ROWS = training_data.BLOCK_MIN_ROWS
ALONE = (0, 1, 46, 47, 48, 49, 95, 96, 148, 149)


def cases():
    """``(name, unfitted estimator)`` for every estimator and network."""
    for cls in PUBLIC_ESTIMATORS:
        for name, arch in ARCHITECTURES.items():
            # (three members take the ensemble's paths in less time)
            arch = {**arch, **SHARED_TEST_PARAMS.get(cls.__name__, {})}
            yield f"{cls.__name__}-{name}", cls(**arch)
    yield (
        "AutoencoderTransformer-user-modules",
        AutoencoderTransformer(encoder=UserEncoder, decoder=UserDecoder),
    )


def data():
    rng = np.random.default_rng(0)
    return rng.random((N_ROWS, N_FEATURES)), np.arange(N_ROWS) % 3


def misaligned(X):
    """A float32 copy of ``X`` starting 4 bytes past a 64-byte boundary."""
    buffer = np.empty(X.size + 16, dtype=np.float32)
    start = (-buffer.ctypes.data % 64) // 4 + 1
    view = buffer[start : start + X.size].reshape(X.shape)
    view[...] = X
    return view


def mismatches(est, X, rows=ALONE):
    """Descriptions of the outputs of ``est`` (fitted) that change when the
    rows come alone, in another order or misaligned; empty when none does.
    ``rows``: the rows to try alone."""
    rng = np.random.default_rng(1)
    Z = None
    if hasattr(est, "transform"):
        Z = rng.standard_normal((len(X), est.transform(X[:1]).shape[1]))
    whole = row_outputs(est, X, Z)
    order = rng.permutation(len(X))
    found = []
    variants = {
        "in another order": (
            row_outputs(est, X[order], None if Z is None else Z[order]),
            order,
        ),
        "misaligned float32": (
            row_outputs(est, misaligned(X), None if Z is None else misaligned(Z)),
            np.arange(len(X)),
        ),
    }
    for i in rows:
        alone = row_outputs(est, X[i : i + 1], None if Z is None else Z[i : i + 1])
        variants[f"row {i} alone"] = (alone, [i])
    for variant, (got, index) in variants.items():
        for method, value in got.items():
            if not np.array_equal(value, whole[method][index]):
                found.append(f"{method}, {variant}")
    return found


def block_sizes():
    """Every number of rows that an inference block can hold."""
    sizes, rows = [], training_data.BLOCK_MIN_ROWS
    while rows <= training_data.BLOCK_MAX_ROWS:
        sizes.append(rows)
        rows *= 2
    return sizes


def kernel_mismatches():
    """The layers (shapes of the dense layers where MKL's AVX2 sgemm rounds
    the rows of a partial tile otherwise, LSTM, GRU, convolution) and block
    sizes where a row's output changes with its place in the block: each
    layer's output for a block must be the same bits as for the block's rows
    rolled by a few places, rolled back."""
    generator = torch.Generator().manual_seed(0)
    layers = {
        f"linear {n_in}->{n_out}": (nn.Linear(n_in, n_out), (n_in,))
        for n_in, n_out in [(784, 256), (32, 8), (4, 16), (2, 12), (64, 32)]
    }
    layers["lstm"] = (nn.LSTM(2, 4, batch_first=True), (8, 2))
    layers["gru"] = (nn.GRU(4, 4, batch_first=True), (8, 4))
    layers["conv"] = (nn.Conv2d(1, 4, 3, padding=1), (1, 4, 4))
    found = []
    with torch.no_grad():
        for name, (layer, shape) in layers.items():
            layer.eval()
            for rows in block_sizes():
                block = torch.randn((rows, *shape), generator=generator)

                def run(x, layer=layer):
                    out = layer(x)
                    return out[0] if isinstance(out, tuple) else out

                whole = run(block)
                for shift in (1, 2, 3, 5, 7):
                    rolled = run(torch.roll(block, shift, 0)).roll(-shift, 0)
                    if not torch.equal(rolled, whole):
                        found.append(f"{name}: blocks of {rows} rows")
                        break
    return found


def fitted(est, X, y):
    est.set_params(max_epochs=2, random_state=0, device="cpu")
    return est.fit(X, y if is_classifier(est) else None)


def main():
    failures = kernel_mismatches()
    training_data.BLOCK_MAX_ROWS = BLOCK_ROWS
    X, y = data()
    for name, est in cases():
        failures += [f"{name}: {m}" for m in mismatches(fitted(est, X, y), X)]
    print(f"torch threads {torch.get_num_threads()}: {len(failures)} mismatches")
    print("\n".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
