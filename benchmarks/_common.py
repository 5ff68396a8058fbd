"""Helpers shared by the benchmark scripts: data, machine description, output."""

import gzip
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"


def _idx(name):
    with gzip.open(DATA / "mnist" / name) as f:
        raw = f.read()
    n_dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def load_mnist(kind="train", n=None):
    """MNIST from the IDX files in ../shared/data/mnist: float32 rows of 784
    pixels scaled to [0, 1], and the labels."""
    prefix = "train" if kind == "train" else "t10k"
    X = _idx(f"{prefix}-images-idx3-ubyte.gz").reshape(-1, 784)[:n]
    y = _idx(f"{prefix}-labels-idx1-ubyte.gz")[:n]
    return X.astype(np.float32) / 255.0, y.astype(np.int64)


def load_mnist_images(kind="train", n=None):
    """The images of :func:`load_mnist`."""
    return load_mnist(kind, n)[0]


def machine():
    import sklearn
    import skorch
    import torch

    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
    }


def write_results(name, rows, columns, meta, notes=""):
    """Write ``rows`` as Markdown and JSON under benchmarks/results/."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2)
    )
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[c]) for c in columns) + " |")
    info = ", ".join(f"{k} {v}" for k, v in meta.items())
    text = "\n".join(lines) + f"\n\n{info}\n" + (f"\n{notes}\n" if notes else "")
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
