"""Helpers shared by the benchmark scripts: data, machine description, output."""

import json
import os
import platform
import time
from pathlib import Path

from skae.datasets import fetch_mnist

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"


def load_mnist(kind="train", n=None):
    """MNIST from the IDX files in ../shared/data/mnist (read by
    :func:`skae.datasets.fetch_mnist`, never downloaded): float32 rows of 784
    pixels scaled to [0, 1], and the int64 labels; the first ``n`` rows."""
    X, y = fetch_mnist(
        data_home=DATA,
        subset="train" if kind == "train" else "test",
        download_if_missing=False,
        return_X_y=True,
    )
    if n is None:
        return X, y
    # Copies, so that the full arrays are freed.
    return X[:n].copy(), y[:n].copy()


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
