"""Training on a memory-mapped file larger than the memory one should use.

A float32 .npy file of 2 GB (5,242,880 x 100; written chunk by chunk) is
trained on for one pass in two ways, each in a fresh process whose peak
resident set (``VmHWM``, file-backed pages included) is read at the end:

- ``partial_fit`` over chunks of 262,144 rows, each chunk a copy read from a
  mapping opened for that chunk only (the recipe of the Scaling up page);
- ``fit`` on the memmap itself (one epoch): skae trains on the mapped array
  without copying it, but every page of the file it touches counts in the
  resident set while the mapping lives.

The target: the chunked pass peaks under 1 GB.

    python benchmarks/bench_streaming.py            # full (Linux only)
    python benchmarks/bench_streaming.py --quick    # smoke run, 100 MB
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine, proc_status_mb, write_results

N_FEATURES = 100
CHUNK_ROWS = 262_144


def chunks(path, rows):
    """Copies of successive row chunks of the .npy file at ``path``; the
    file is mapped only while a chunk is read."""
    n_samples = np.load(path, mmap_mode="r").shape[0]
    for start in range(0, n_samples, rows):
        yield np.array(np.load(path, mmap_mode="r")[start : start + rows])


def train(path, how):
    import torch

    from skae import AutoencoderTransformer

    torch.set_num_threads(1)
    est = AutoencoderTransformer(
        16, hidden_layer_sizes=(64, 32), batch_size=256, max_epochs=1, random_state=0
    )
    start = time.perf_counter()
    if how == "partial_fit over chunks":
        for chunk in chunks(path, CHUNK_ROWS):
            est.partial_fit(chunk)
    else:
        est.fit(np.load(path, mmap_mode="r"))
    seconds = time.perf_counter() - start
    loss = est.history_[-1, "train_loss"]
    print(repr({"peak": proc_status_mb("VmHWM"), "seconds": seconds, "loss": loss}))


def write_file(path, n_rows):
    """A float32 .npy file of ``n_rows`` rows, written chunk by chunk."""
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((8, N_FEATURES)).astype(np.float32)
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES)
    )
    for start in range(0, n_rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n_rows)
        latent = rng.standard_normal((stop - start, 8), np.float32)
        noise = rng.standard_normal((stop - start, N_FEATURES), np.float32)
        out[start:stop] = latent @ mixing + 0.1 * noise
    out.flush()
    del out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--train", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train:
        train(*args.train)
        return

    n_rows = 262_144 if args.quick else 5_242_880
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "X.npy"
        write_file(path, n_rows)
        size_mb = path.stat().st_size / 2**20
        for how in ("partial_fit over chunks", "fit on the memmap"):
            command = [sys.executable, __file__, "--train", str(path), how]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                sys.exit(result.stderr)
            m = eval(result.stdout.strip().splitlines()[-1])  # our own dict
            rows.append(
                {
                    "training": how,
                    "rows": f"{n_rows:,}",
                    "file (MB)": f"{size_mb:.0f}",
                    "peak RSS (MB)": f"{m['peak']:.0f}",
                    "time (s)": f"{m['seconds']:.1f}",
                    "last train loss": f"{m['loss']:.4f}",
                }
            )
            print(rows[-1], flush=True)
    meta = machine() | {
        "torch_threads": 1,
        "chunk rows": CHUNK_ROWS,
        "network": "100-64-32-16, batch 256, one pass",
    }
    notes = (
        "peak RSS: VmHWM of the training process, file-backed pages included; "
        "the process's own footprint after importing skae (Python, torch, "
        "skorch, scikit-learn) is about 370 MB. last train loss: the mean "
        "loss of the last history_ entry, the last chunk's pass for "
        "partial_fit, the whole epoch for fit (so the two differ)."
    )
    write_results(
        "streaming" + ("_quick" if args.quick else ""), rows, list(rows[0]), meta, notes
    )


if __name__ == "__main__":
    main()
