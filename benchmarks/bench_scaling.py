"""How fit time and memory grow with the data: rows and features.

AutoencoderTransformer (hidden_layer_sizes=(64, 32), n_components=8, batch
64, 3 epochs, stopping rule off, one thread) on standard normal float32
data: 10k, 40k and 160k rows at 20 features, and 20, 200 and 2000 features
at 20k rows. Each configuration runs in a fresh process, which reports the
fit time per epoch and its peak resident memory (RSS) before and after
``fit``: the data are created first, and a warm-up fit on 256 rows sets up
what torch allocates once per process, so the growth is what fitting these
data costs beyond the data themselves. Each configuration runs in
``--repeats`` processes (3), round after round over the configurations; a
process's time per epoch is the median of its epochs' durations in
``history_``, and the table gives the median over the processes with their
range (min-max). The table also gives the memory of one training batch's
activations as a yardstick. Linear scaling means time per epoch per row is
flat across the row counts; bounded memory means the growth does not follow
the data size. The JSON keeps every process's readings, and
results/scaling.png draws the curves: time per epoch against rows, and the
memory growth in ``fit`` against the data's size.

    python benchmarks/bench_scaling.py            # full
    python benchmarks/bench_scaling.py --quick    # smoke run, seconds
"""

import argparse
import json
import subprocess
import sys
from collections import Counter

import numpy as np
from _common import RESULTS, machine, median_spread, write_results

CHILD = """
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads(1)
from skae import AutoencoderTransformer

n_rows, n_features, epochs = map(int, sys.argv[1:4])
X = np.random.default_rng(0).standard_normal((n_rows, n_features), dtype=np.float32)
params = dict(
    n_components=8, hidden_layer_sizes=(64, 32), batch_size=64, max_epochs=epochs,
    tol=0.0, n_iter_no_change=epochs + 1, device="cpu", random_state=0,
)
# A warm-up fit on a few rows first, so that what torch sets up once per
# process (kernels, allocator pools) is not counted as the fit's growth.
AutoencoderTransformer(**params).fit(X[:256])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
model = AutoencoderTransformer(**params).fit(X)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
epochs_s = [float(s) for s in model.history_[:, "dur"]]
print(json.dumps({"seconds": seconds / epochs, "epochs_s": epochs_s,
                  "before_kb": before, "after_kb": after}))
"""


def run(n_rows, n_features, epochs):
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(n_rows), str(n_features), str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def epoch_seconds(results):
    """Each process's time per epoch: the median of its epochs."""
    return [float(np.median(r["epochs_s"])) for r in results]


def rss_growth_mb(results):
    """Each process's growth of the peak RSS in ``fit``, in MB."""
    return [(r["after_kb"] - r["before_kb"]) / 1024 for r in results]


def data_mb(n_rows, n_features):
    return n_rows * n_features * 4 / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        configs, epochs, repeats = [(1000, 20), (4000, 20), (2000, 200)], 1, 1
    else:
        configs = [(10_000, 20), (40_000, 20), (160_000, 20)]
        configs += [(20_000, 20), (20_000, 200), (20_000, 2000)]
        epochs, repeats = 3, args.repeats
    # round after round over the configurations, so that a drift in the
    # machine's speed touches each alike
    runs = {config: [] for config in configs}
    for _ in range(repeats):
        for config in configs:
            runs[config].append(run(*config, epochs))
            print(config, runs[config][-1], flush=True)
    rows = []
    for (n_rows, n_features), results in runs.items():
        epoch_s = epoch_seconds(results)
        # activations of one batch, forward and backward, all layers
        widths = (n_features, 64, 32, 8, 32, 64, n_features)
        batch_mb = 64 * sum(widths) * 4 * 3 / 2**20
        rows.append(
            {
                "rows": n_rows,
                "features": n_features,
                "s/epoch": median_spread(epoch_s, ".3f"),
                "us per row per epoch": f"{1e6 * np.median(epoch_s) / n_rows:.2f}",
                "fit s/epoch (setup included)": median_spread(
                    [r["seconds"] for r in results], ".3f"
                ),
                "data (MB)": f"{data_mb(n_rows, n_features):.1f}",
                "peak RSS before fit (MB)": median_spread(
                    [r["before_kb"] / 1024 for r in results], ".0f"
                ),
                "peak RSS growth in fit (MB)": median_spread(
                    rss_growth_mb(results), ".1f"
                ),
                "one batch's activations (MB)": f"{batch_mb:.2f}",
            }
        )
    # the fits run in child processes, each on one torch thread
    meta = machine() | {"torch_threads": 1, "epochs": epochs, "repeats": repeats}
    notes = (
        f"Medians over {repeats} process(es) per configuration, run round after "
        "round, with the range (min-max) in brackets; a process's time per "
        "epoch is the median of its epochs."
    )
    name = "scaling" + ("_quick" if args.quick else "")
    processes = [
        {"rows": n_rows, "features": n_features, "processes": results}
        for (n_rows, n_features), results in runs.items()
    ]
    write_results(name, rows, list(rows[0]), meta, notes, runs=processes)
    plot_curves(processes, RESULTS / f"{name}.png")


def plot_curves(processes, path):
    """Time per epoch against rows (at the narrowest width) and the memory
    growth in ``fit`` against the data's size, every process a point and the
    medians joined by a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_features = min(p["features"] for p in processes)
    by_rows = sorted(
        (p for p in processes if p["features"] == n_features), key=lambda p: p["rows"]
    )
    # the row count measured at the most widths
    n_rows = Counter(p["rows"] for p in processes).most_common(1)[0][0]
    by_features = sorted(
        (p for p in processes if p["rows"] == n_rows), key=lambda p: p["features"]
    )
    fig, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(10, 4))

    rows = [p["rows"] for p in by_rows]
    epoch_s = [epoch_seconds(p["processes"]) for p in by_rows]
    for n, times in zip(rows, epoch_s, strict=True):
        ax_time.scatter([n] * len(times), times, color="C0", alpha=0.4, s=15)
    medians = [float(np.median(t)) for t in epoch_s]
    ax_time.plot(rows, medians, "o-", color="C0", label="measured (median)")
    # linear scaling through the smallest size
    ax_time.plot(
        rows,
        [medians[0] * n / rows[0] for n in rows],
        "--",
        color="gray",
        label="linear in the rows",
    )
    ax_time.set(
        xscale="log",
        yscale="log",
        xlabel=f"rows ({n_features} features)",
        ylabel="seconds per epoch",
        title="Fit time per epoch",
    )
    ax_time.legend()

    for series, label, color in (
        (by_rows, f"{n_features} features, more rows", "C0"),
        (by_features, f"{n_rows} rows, more features", "C1"),
    ):
        sizes = [data_mb(p["rows"], p["features"]) for p in series]
        growth = [rss_growth_mb(p["processes"]) for p in series]
        for mb, values in zip(sizes, growth, strict=True):
            ax_memory.scatter([mb] * len(values), values, color=color, alpha=0.4, s=15)
        medians = [float(np.median(g)) for g in growth]
        ax_memory.plot(sizes, medians, "o-", color=color, label=label)
    sizes = sorted(data_mb(p["rows"], p["features"]) for p in by_rows + by_features)
    ax_memory.plot(sizes, sizes, "--", color="gray", label="the data's own size")
    ax_memory.set(
        xscale="log",
        yscale="log",
        xlabel="data (MB, float32)",
        ylabel="peak RSS growth in fit (MB)",
        title="Memory above the data",
    )
    ax_memory.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
