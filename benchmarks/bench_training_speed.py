"""Per-epoch training time of skae against a bare PyTorch loop.

The bare loop is the floor: the same network (skae's own torch module), the
same data as one float32 tensor, the same batch size, optimizer and thread
count, shuffled each epoch by a random permutation and sliced batch by batch,
recording the loss of every batch as any real loop does. skae is timed through
``AutoencoderTransformer.fit`` with the stopping rule switched off, so both
run the same number of epochs. The two alternate within one process, and the
table reports the median of the repeats and the ratio of medians.

    python benchmarks/bench_training_speed.py            # full
    python benchmarks/bench_training_speed.py --quick    # smoke run, seconds
"""

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from _common import load_mnist_images, machine, write_results

from skae import AutoencoderTransformer
from skae._torch_modules import AutoencoderModule, build_encoder_decoder


def bare_loop(X, hidden, n_components, batch_size, epochs, seed=0):
    torch.manual_seed(seed)
    module = AutoencoderModule(
        *build_encoder_decoder(X.shape[1], n_components, hidden_layer_sizes=hidden)
    )
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    X = torch.from_numpy(X)
    generator = torch.Generator().manual_seed(seed)
    module.train()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        losses = []
        for i in range(0, len(X), batch_size):
            Xb = X[order[i : i + batch_size]]
            optimizer.zero_grad()
            loss = F.mse_loss(module(Xb)[0], Xb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return (time.perf_counter() - start) / epochs


def skae_fit(X, hidden, n_components, batch_size, epochs, seed=0):
    est = AutoencoderTransformer(
        n_components,
        hidden_layer_sizes=hidden,
        batch_size=batch_size,
        max_epochs=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        device="cpu",
        random_state=seed,
    )
    start = time.perf_counter()
    est.fit(X)
    assert est.n_iter_ == epochs
    return (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    n_mnist, n_tab = (2000, 2000) if args.quick else (60000, 50000)
    cases = [
        ("MNIST", load_mnist_images("train", n_mnist), (256, 64), 32),
        (
            "tabular",
            rng.standard_normal((n_tab, 20), dtype=np.float32),
            (64, 32),
            8,
        ),
    ]
    repeats = 1 if args.quick else args.repeats
    epochs = 1 if args.quick else args.epochs
    rows = []
    for name, X, hidden, n_components in cases:
        for batch_size in args.batch_sizes:
            times = {"bare": [], "skae": []}
            for _ in range(repeats):
                times["bare"].append(
                    bare_loop(X, hidden, n_components, batch_size, epochs)
                )
                times["skae"].append(
                    skae_fit(X, hidden, n_components, batch_size, epochs)
                )
            bare, ours = (statistics.median(times[k]) for k in ("bare", "skae"))
            arch = "-".join(map(str, (X.shape[1], *hidden, n_components)))
            rows.append(
                {
                    "data": f"{name} {X.shape[0]}x{X.shape[1]}",
                    "network": arch,
                    "batch_size": batch_size,
                    "bare loop s/epoch": f"{bare:.3f}",
                    "skae s/epoch": f"{ours:.3f}",
                    "skae / bare": f"{ours / bare:.3f}",
                    "spread skae/bare (min-max)": "{:.3f}-{:.3f}".format(
                        min(times["skae"]) / max(times["bare"]),
                        max(times["skae"]) / min(times["bare"]),
                    ),
                }
            )
    meta = machine() | {"repeats": repeats, "epochs per run": epochs}
    write_results(
        "training_speed" + ("_quick" if args.quick else ""),
        rows,
        list(rows[0]),
        meta,
    )


if __name__ == "__main__":
    main()
