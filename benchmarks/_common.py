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


def load_mnist_images(kind="train", n=None):
    """MNIST images from the IDX files in ../shared/data/mnist, as float32
    rows scaled to [0, 1]."""
    prefix = "train" if kind == "train" else "t10k"
    with gzip.open(DATA / "mnist" / f"{prefix}-images-idx3-ubyte.gz") as f:
        raw = f.read()
    n_images = int.from_bytes(raw[4:8], "big")
    X = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n_images, 784)
    return (X[:n] if n else X).astype(np.float32) / 255.0


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
