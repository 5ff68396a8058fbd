"""Helpers shared by the benchmark scripts: data, machine description, command
line, medians over seeds, output."""

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

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


def mean_squared_error(X_hat, X):
    """The mean squared error over all entries of ``X_hat`` against ``X``,
    computed in float64 (a model's float32 output included)."""
    return float(np.mean((np.asarray(X_hat, dtype=np.float64) - X) ** 2))


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


def parse_args(parser, seeds=(0, 1, 2), threads=1):
    """Add ``--quick``, ``--seeds`` and ``--threads`` (``threads`` by
    default) to ``parser``, parse the command line, and hold torch and the
    BLAS to ``--threads`` threads. A quick run keeps the first seed only."""
    import torch
    from threadpoolctl import threadpool_limits

    parser.add_argument("--quick", action="store_true", help="smoke run, one seed")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=list(seeds), help="random states"
    )
    parser.add_argument(
        "--threads", type=int, default=threads, help="torch and BLAS threads"
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds = args.seeds[:1]
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    return args


def median_spread(values, spec):
    """``values`` (one per seed) as "median (min-max)", each formatted with
    the format ``spec`` (".5f"); the value alone when all seeds agree, "" when
    there is none."""
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if len(values) == 0:
        return ""
    low, high = values.min(), values.max()
    if low == high:
        return f"{low:{spec}}"
    dash = " to " if low < 0 else "-"
    return f"{np.median(values):{spec}} ({low:{spec}}{dash}{high:{spec}})"


def summarise(runs, by, specs):
    """One table row per setting from ``runs``, one dict per seed and setting.

    Runs with the same values at the keys ``by`` form a row (in the order they
    first appear); each column ``name: spec`` of ``specs`` gives
    :func:`median_spread` of the runs' values at ``name``."""
    groups = {}
    for run in runs:
        groups.setdefault(tuple(run[key] for key in by), []).append(run)
    return [
        dict(zip(by, setting, strict=True))
        | {
            name: median_spread([r[name] for r in group], spec)
            for name, spec in specs.items()
        }
        for setting, group in groups.items()
    ]


def seeds_note(seeds):
    """The sentence that explains a table of medians over ``seeds``."""
    if len(seeds) == 1:
        return f"One run (random_state {seeds[0]})."
    listed = ", ".join(map(str, seeds))
    return (
        f"Medians over {len(seeds)} runs (random_state {listed}), with the "
        "range over the runs (min-max) in brackets; a single number where "
        "every run gave the same."
    )


def write_seed_results(name, args, rows, runs, meta, columns=None, notes=""):
    """:func:`write_results` for a table over ``args.seeds`` (rows from
    :func:`summarise`): "_quick" ends the name in a smoke run, the meta has the
    machine and the seeds, the notes open with :func:`seeds_note`."""
    write_results(
        name + ("_quick" if args.quick else ""),
        rows,
        columns or list(rows[0]),
        machine() | meta | {"seeds": args.seeds},
        " ".join([seeds_note(args.seeds), notes]).strip(),
        runs,
    )


def write_results(name, rows, columns, meta, notes="", runs=None):
    """Write ``rows`` as Markdown and JSON under benchmarks/results/; the JSON
    also keeps ``runs``, the value of every seed, when given."""
    RESULTS.mkdir(exist_ok=True)
    content = {"meta": meta, "rows": rows} | ({"runs": runs} if runs else {})
    (RESULTS / f"{name}.json").write_text(json.dumps(content, indent=2))
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[c]) for c in columns) + " |")
    info = ", ".join(f"{k} {v}" for k, v in meta.items())
    text = "\n".join(lines) + f"\n\n{info}\n" + (f"\n{notes}\n" if notes else "")
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


def proc_status_mb(field):
    """The ``field`` of /proc/self/status (VmRSS, VmHWM, ...) in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")
