"""Fit and inference speed of skae against a bare PyTorch loop and the peers.

Same network, data, batch size, optimizer (Adam, lr 1e-3), epochs and thread
count for every tool:

- bare loop: the floor. skae's own torch module, the data as one float32
  tensor, shuffled each epoch by a random permutation and sliced batch by
  batch, recording every batch's loss as any real loop does; inference is a
  no-grad forward over slices of 8192 rows through the module skae fitted
  in the same repeat: the same weights in the same memory, so that the
  ratio is skae's own work around the network (two modules of one
  architecture, trained apart, ran up to 18% apart in speed here).
- skae: ``AutoencoderTransformer`` (stopping rule off); inference is
  ``transform`` (codes) and ``score_samples`` (per-row reconstruction error).
- skorch: ``NeuralNetRegressor`` fitted on (X, X) with the same module
  (reconstruction output only), ``train_split=None``; inference is
  ``predict`` (reconstructions), plus the row errors in numpy.
- PyOD: ``AutoEncoder`` with the same layers, batch norm and dropout off
  (``preprocessing`` at its default, on); inference is ``decision_function``.
  Skipped when PyOD is not installed (``pip install -e .[bench]``).
- scikit-learn: ``MLPRegressor`` fitted on (X, X) with the mirrored hidden
  layers (its code layer has a ReLU; skae's is linear), solver adam,
  ``tol=0``; inference is ``predict`` plus the row errors.

Every tool runs on ``--threads`` threads (torch's and the BLAS's alike). Fit
time is the whole ``fit`` divided by the epochs (what a user pays, setup
included), over ``--epochs`` epochs: 2 on MNIST and 10 on the tabular data,
whose epochs are a tenth as long, so that every fit lasts a few seconds and
a burst of load from elsewhere on the machine weighs little. Inference is
timed on the fitted models of one repeat together: the tools' calls
alternate, one call each per round, for at least 3 rounds and 2 seconds (at
most 200 rounds), so that a drift in the machine's speed touches every tool
alike and calls of a few milliseconds are many readings; a tool's time is
its median over the rounds. Each tool runs ``--repeats`` times, the tools
alternating within one process; the table gives the median over the
repeats, the ratio of medians to the bare loop, and the spread of that ratio
over the repeats (min-max).

    python benchmarks/bench_speed.py            # full
    python benchmarks/bench_speed.py --quick    # smoke run, seconds
"""

import argparse
import contextlib
import io
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from _common import load_mnist_images, machine, write_results
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from skorch import NeuralNetRegressor
from threadpoolctl import threadpool_limits
from torch import nn

from skae import AutoencoderTransformer
from skae._torch_modules import AutoencoderModule, DenseDecoder, DenseEncoder

INFERENCE_ROWS = 8192


def make_module(n_features, hidden, n_components, seed=0):
    torch.manual_seed(seed)
    return AutoencoderModule(
        DenseEncoder(n_features, n_components, hidden),
        DenseDecoder(n_components, n_features, hidden),
    )


class Reconstruction(nn.Module):
    """skae's module with the reconstruction as its only output (skorch's
    regressor compares the module's output with y)."""

    def __init__(self, n_features, hidden, n_components):
        super().__init__()
        self.autoencoder = make_module(n_features, hidden, n_components)

    def forward(self, X):
        return self.autoencoder(X)[0]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def interleaved(fns, min_time=2.0, min_rounds=3, max_rounds=200):
    """Median seconds of one call of each of ``fns`` (name -> callable),
    called in turn round after round, after one unrecorded round: at least
    ``min_rounds`` rounds and ``min_time`` seconds, at most ``max_rounds``."""
    for fn in fns.values():
        fn()
    samples = {name: [] for name in fns}
    start = time.perf_counter()
    for done in range(1, max_rounds + 1):
        for name, fn in fns.items():
            samples[name].append(timed(fn)[0])
        if done >= min_rounds and time.perf_counter() - start >= min_time:
            break
    return {name: statistics.median(s) for name, s in samples.items()}


def bare_fit(X, hidden, n_components, batch_size, epochs, seed=0):
    module = make_module(X.shape[1], hidden, n_components, seed)
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


def bare_inference(module, X):
    """Callables giving the codes and the row errors of X."""
    module.eval()
    X = torch.from_numpy(X)

    @torch.no_grad()
    def codes():
        batches = [
            module.encoder(X[i : i + INFERENCE_ROWS])
            for i in range(0, len(X), INFERENCE_ROWS)
        ]
        return torch.cat(batches).numpy()

    @torch.no_grad()
    def errors():
        batches = []
        for i in range(0, len(X), INFERENCE_ROWS):
            Xb = X[i : i + INFERENCE_ROWS]
            batches.append(F.mse_loss(module(Xb)[0], Xb, reduction="none").mean(1))
        return torch.cat(batches).numpy()

    return {"codes": codes, "row errors": errors}


def skae_case(X, hidden, n_components, batch_size, epochs):
    model = AutoencoderTransformer(
        n_components,
        hidden_layer_sizes=hidden,
        batch_size=batch_size,
        max_epochs=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        device="cpu",
        random_state=0,
    )
    t_fit, _ = timed(lambda: model.fit(X))
    assert model.n_iter_ == epochs
    calls = {
        "codes": lambda: model.transform(X),
        "row errors": lambda: model.score_samples(X),
    }
    return t_fit / epochs, calls, model.net_.module_


def skorch_case(X, hidden, n_components, batch_size, epochs):
    net = NeuralNetRegressor(
        Reconstruction,
        module__n_features=X.shape[1],
        module__hidden=hidden,
        module__n_components=n_components,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
        device="cpu",
    )
    t_fit, _ = timed(lambda: net.fit(X, X))

    def errors():
        return np.mean((net.predict(X) - X) ** 2, axis=1)

    return t_fit / epochs, {"row errors": errors}


def pyod_case(X, hidden, n_components, batch_size, epochs):
    from pyod.models.auto_encoder import AutoEncoder

    model = AutoEncoder(
        hidden_neuron_list=[*hidden, n_components],
        batch_norm=False,
        dropout_rate=0.0,
        epoch_num=epochs,
        batch_size=batch_size,
        lr=1e-3,
        device="cpu",
        verbose=0,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        t_fit, _ = timed(lambda: model.fit(X))

    def errors():
        with contextlib.redirect_stdout(io.StringIO()):
            return model.decision_function(X)

    return t_fit / epochs, {"row errors": errors}


def sklearn_case(X, hidden, n_components, batch_size, epochs):
    model = MLPRegressor(
        hidden_layer_sizes=(*hidden, n_components, *reversed(hidden)),
        batch_size=batch_size,
        max_iter=epochs,
        learning_rate_init=1e-3,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_fit, _ = timed(lambda: model.fit(X, X))

    def errors():
        return np.mean((model.predict(X) - X) ** 2, axis=1)

    return t_fit / epochs, {"row errors": errors}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--epochs",
        type=int,
        nargs=2,
        default=[2, 10],
        metavar=("MNIST", "TABULAR"),
        help="epochs per fit on each data set (about 5 to 10 s of bare loop)",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # numpy's BLAS too (MLPRegressor, PyOD's preprocessing): same thread count
    threadpool_limits(args.threads)

    rng = np.random.default_rng(0)
    n_mnist, n_tab = (2000, 2000) if args.quick else (60000, 50000)
    epochs = [1, 1] if args.quick else args.epochs
    cases = [
        ("MNIST", load_mnist_images("train", n_mnist), (256, 64), 32, epochs[0]),
        (
            "tabular",
            rng.standard_normal((n_tab, 20), dtype=np.float32),
            (64, 32),
            8,
            epochs[1],
        ),
    ]
    repeats = 1 if args.quick else args.repeats
    min_time = 0.2 if args.quick else 2.0  # seconds of inference rounds
    peers = {
        "skorch NeuralNetRegressor": skorch_case,
        "PyOD AutoEncoder": pyod_case,
        "sklearn MLPRegressor": sklearn_case,
    }
    try:
        import pyod  # noqa: F401
    except ImportError:
        del peers["PyOD AutoEncoder"]

    fit_rows, inference_rows = [], []
    for name, X, hidden, n_components, n_epochs in cases:
        arch = "-".join(map(str, (X.shape[1], *hidden, n_components)))
        data = f"{name} {X.shape[0]}x{X.shape[1]}"
        for batch_size in args.batch_sizes:
            times = {tool: [] for tool in ["bare loop", "skae", *peers]}
            codes = {"bare loop": [], "skae": []}
            errors = {tool: [] for tool in times}
            for _ in range(repeats):
                setting = (X, hidden, n_components, batch_size, n_epochs)
                times["bare loop"].append(bare_fit(*setting))
                t_fit, skae_calls, skae_module = skae_case(*setting)
                times["skae"].append(t_fit)
                calls = {
                    "bare loop": bare_inference(skae_module, X),
                    "skae": skae_calls,
                }
                for tool, case in peers.items():
                    t_fit, calls[tool] = case(*setting)
                    times[tool].append(t_fit)
                if batch_size != args.batch_sizes[0]:
                    continue  # inference has no batch size: timed once
                for output, table in (("codes", codes), ("row errors", errors)):
                    fns = {tool: c[output] for tool, c in calls.items() if output in c}
                    for tool, seconds in interleaved(fns, min_time).items():
                        table[tool].append(seconds)
            for tool in times:
                fit_rows.append(
                    {
                        "data": data,
                        "network": arch,
                        "batch_size": batch_size,
                        "tool": tool,
                    }
                    | summary(times[tool], times["bare loop"], "s/epoch")
                )
            if batch_size == args.batch_sizes[0]:  # inference has no batch size
                for kind, table in (("codes", codes), ("row errors", errors)):
                    for tool in table:
                        inference_rows.append(
                            {
                                "data": data,
                                "network": arch,
                                "output": kind,
                                "tool": tool,
                            }
                            | summary(table[tool], table["bare loop"], "s", len(X))
                        )

    meta = machine() | {
        "repeats": repeats,
        "epochs per fit": f"MNIST {epochs[0]}, tabular {epochs[1]}",
    }
    suffix = "_quick" if args.quick else ""
    write_results("speed_fit" + suffix, fit_rows, list(fit_rows[0]), meta)
    write_results(
        "speed_inference" + suffix, inference_rows, list(inference_rows[0]), meta
    )


def summary(times, floor, unit, n_rows=None):
    """Median, ratio of medians to the floor, and the ratio's spread."""
    median, floor_median = statistics.median(times), statistics.median(floor)
    ratios = [t / f for t, f in zip(times, floor, strict=True)]
    row = {f"median {unit}": f"{median:.3f}"}
    if n_rows is not None:
        row["rows/s"] = f"{n_rows / median:,.0f}"
    return row | {
        "/ bare loop": f"{median / floor_median:.2f}",
        "spread (min-max)": f"{min(ratios):.2f}-{max(ratios):.2f}",
    }


if __name__ == "__main__":
    main()
