"""A row's outputs do not depend on the rows beside it, on any CPU.

Matrix kernels choose their algorithm by the shape and alignment of their
operands, and round differently when they do: MKL's sgemm on an AVX-512
Intel CPU gives a row other bits among 24 rows than among 8, and on this
project's AMD machines with ``MKL_CBWR=COMPATIBLE`` among 16 rows than among
8. Inference runs every call on blocks of one shape in aligned memory (see
``skae._training.data.map_blocks``), so the outputs are compared bit for
bit: in this process, and in fresh processes under other thread counts and
MKL code paths (which must be set before torch loads).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from batch_invariance_check import (
    BLOCK_ROWS,
    cases,
    data,
    fitted,
    misaligned,
    mismatches,
)

from skae import AutoencoderTransformer
from skae._training import data as training_data

CHECK = Path(__file__).with_name("batch_invariance_check.py")
CASES = dict(cases())


@pytest.mark.parametrize("name", list(CASES))
def test_rows_give_the_same_outputs_alone_reordered_or_misaligned(name, monkeypatch):
    monkeypatch.setattr(training_data, "BLOCK_MAX_ROWS", BLOCK_ROWS)
    X, y = data()
    assert mismatches(fitted(CASES[name], X, y), X) == []


@pytest.mark.parametrize(
    "threads, mkl_path",
    # MKL_CBWR picks MKL's code path (COMPATIBLE: its generic SSE2 kernels);
    # a path the CPU lacks falls back to the best one it has.
    [("1", "COMPATIBLE"), ("2", "AVX2"), ("2", "AVX512,STRICT")],
)
def test_rows_are_independent_under_other_threads_and_kernels(threads, mkl_path):
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_CBWR": mkl_path}
    done = subprocess.run(
        [sys.executable, str(CHECK)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"torch threads {threads}: 0 mismatches" in done.stdout


def test_blocks_have_one_shape_whatever_the_call(monkeypatch):
    X, y = data()
    est = fitted(CASES["AutoencoderTransformer-dense"], X, y)
    shapes = []
    encode = est.net_.module_.encode
    monkeypatch.setattr(
        est.net_.module_, "encode", lambda Xb: shapes.append(Xb.shape) or encode(Xb)
    )
    block_rows = est._inference_block_rows()
    for rows in (X[:1], X, np.repeat(X, 20, axis=0), misaligned(X[:3])):
        shapes.clear()
        est.transform(rows)
        assert set(shapes) == {(block_rows, X.shape[1])}
        assert len(shapes) == -(-len(rows) // block_rows)


def test_block_rows_follow_the_network_size():
    X = np.random.default_rng(0).random((64, 784)).astype(np.float32)
    small = fitted(CASES["AutoencoderTransformer-dense"], *data())
    large = fitted(
        AutoencoderTransformer(n_components=32, hidden_layer_sizes=(256, 64)), X, None
    )
    # 48 times a power of two within the bounds, smaller for the larger
    # network
    for est in (small, large):
        rows = est._inference_block_rows()
        units = rows // training_data.BLOCK_UNIT
        assert rows % training_data.BLOCK_UNIT == 0 and units & (units - 1) == 0
        assert training_data.BLOCK_MIN_ROWS <= rows <= training_data.BLOCK_MAX_ROWS
    assert large._inference_block_rows() < small._inference_block_rows()
