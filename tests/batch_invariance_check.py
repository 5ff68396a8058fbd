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
# Inference blocks of 64 rows (the fewest it takes), so that the 150 rows
# fill two blocks and part of a third: the rows tried alone are at the
# blocks' edges.
BLOCK_ROWS = 64
ALONE = (0, 1, 62, 63, 64, 65, 127, 128, 148, 149)


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


def fitted(est, X, y):
    est.set_params(max_epochs=2, random_state=0, device="cpu")
    return est.fit(X, y if is_classifier(est) else None)


def main():
    training_data.BLOCK_MAX_ROWS = BLOCK_ROWS
    X, y = data()
    failures = []
    for name, est in cases():
        failures += [f"{name}: {m}" for m in mismatches(fitted(est, X, y), X)]
    print(f"torch threads {torch.get_num_threads()}: {len(failures)} mismatches")
    print("\n".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
