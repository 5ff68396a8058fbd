"""Peak memory of inference on data far larger than a batch.

An estimator is fitted on 20000 rows of 100 features (float32), then each
measured call (``transform``, ``score_samples``, ``predict``) runs in a
fresh process on 1,000,000 x 100 float32 rows (400 MB): the process's peak
resident set (``VmHWM``, reset through ``/proc/self/clear_refs`` once the
data and the model are loaded) is read after the call. The overhead is that
peak minus the resident set before the call (interpreter, torch, model and
the input) minus the output array; the target is under 200 MB, that is, a
peak under input + output + 200 MB above the process's own footprint.

    python benchmarks/bench_memory.py            # full (Linux only)
    python benchmarks/bench_memory.py --quick    # smoke run, 100,000 rows
"""

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine, proc_status_mb, write_results

N_FEATURES = 100
CALLS = [
    ("AutoencoderTransformer", "transform"),
    ("AutoencoderTransformer", "score_samples"),
    ("AutoencoderTransformer", "predict"),
    ("ReconstructionOutlierDetector", "score_samples"),
    ("VariationalAutoencoder", "score_samples"),
]


def measure(model_path, method, n_rows):
    """In this (fresh) process: load the model, make the data, reset the
    peak, call ``method``; print the figures as one line of Python."""
    import torch

    torch.set_num_threads(1)
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    X = np.random.default_rng(1).standard_normal((n_rows, N_FEATURES), np.float32)
    Path("/proc/self/clear_refs").write_text("5")  # peak := current
    before = proc_status_mb("VmRSS")
    start = time.perf_counter()
    out = getattr(model, method)(X)
    seconds = time.perf_counter() - start
    peak = proc_status_mb("VmHWM")
    print(
        repr(
            {
                "before": before,
                "peak": peak,
                "input": X.nbytes / 2**20,
                "output": out.nbytes / 2**20,
                "seconds": seconds,
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], args.measure[1], int(args.measure[2]))
        return

    import torch

    import skae

    torch.set_num_threads(1)
    n_rows = 100_000 if args.quick else 1_000_000
    rng = np.random.default_rng(0)
    X_train = rng.standard_normal((20_000, N_FEATURES), np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in dict.fromkeys(name for name, _ in CALLS):
            model = getattr(skae, name)(
                16, hidden_layer_sizes=(64, 32), max_epochs=1, random_state=0
            ).fit(X_train)
            with open(Path(tmp) / f"{name}.pkl", "wb") as f:
                pickle.dump(model, f)
        for name, method in CALLS:
            command = [
                sys.executable,
                __file__,
                "--measure",
                str(Path(tmp) / f"{name}.pkl"),
                method,
                str(n_rows),
            ]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                sys.exit(result.stderr)
            m = eval(result.stdout.strip().splitlines()[-1])  # our own dict
            overhead = m["peak"] - m["before"] - m["output"]
            rows.append(
                {
                    "estimator": name,
                    "call": method,
                    "rows": f"{n_rows:,}",
                    "input (MB)": f"{m['input']:.0f}",
                    "output (MB)": f"{m['output']:.1f}",
                    "RSS before (MB)": f"{m['before']:.0f}",
                    "peak RSS (MB)": f"{m['peak']:.0f}",
                    "overhead (MB)": f"{overhead:.1f}",
                    "time (s)": f"{m['seconds']:.2f}",
                }
            )
            print(rows[-1], flush=True)
    meta = machine() | {"torch_threads": 1, "n_features": N_FEATURES}
    notes = (
        "overhead = peak RSS during the call - RSS before it (interpreter, "
        "torch, the model and the input) - the output array; target < 200 MB."
    )
    write_results(
        "memory" + ("_quick" if args.quick else ""), rows, list(rows[0]), meta, notes
    )


if __name__ == "__main__":
    main()
