"""Fit and inference speed of skae against a bare PyTorch loop and the peers.

Same network, data, batch size, optimizer (Adam, lr 1e-3), epochs and thread
count for every tool:

- bare loop: the floor. skae's own torch module, the data as one float32
  tensor, shuffled each epoch by a random permutation and sliced batch by
  batch, recording every batch's loss as any real loop does; inference is a
  no-grad forward over slices of 8192 rows through the module skae fitted
  in the same repeat: the same weights in the same memory, so that the
  ratio is skae's own work around the network (two modules of one
  architecture, trained apart, ran up to 18% apart in speed here). Its
  Adam steps one parameter at a time, torch's default on the CPU.
- bare loop, fused Adam: the same loop with ``Adam(fused=True)``, one
  kernel for the whole step.
- compiled loop: the fused loop whose forward pass and loss (and so their
  backward) run through ``torch.compile``; the compilation, done on the
  epoch's two batch shapes before the timer starts (in the first repeat;
  the others reuse it), is not counted, and is reported beside the table.
  It needs a C++ compiler at run time; the row is skipped, with the reason
  printed, when compiling fails, and in ``--quick`` (compiling takes tens
  of seconds) or with ``--no-compile``.
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

Two tables of small fits, where a fit's fixed cost shows: one ``fit`` of one
epoch on 1000x20 rows (the tabular network, batch 64; bare loop: the module
and optimizer built, the data made a tensor, one epoch), the tools' calls
alternating as inference's do; and a ``GridSearchCV`` of 20 small fits (4
learning rates x 5 folds of 1000x20 rows, 10 epochs each, ``refit=False``)
against the bare loop's 20 fits and validation losses and against
``MLPRegressor``'s search.

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
    python benchmarks/bench_speed.py --only small  # the small-fit tables
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
from sklearn.model_selection import GridSearchCV, KFold
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


def interleaved(fns, min_time=2.0, min_rounds=3, max_rounds=200, samples=False):
    """Median seconds of one call of each of ``fns`` (name -> callable),
    called in turn round after round, after one unrecorded round: at least
    ``min_rounds`` rounds and ``min_time`` seconds, at most ``max_rounds``.
    With ``samples``, every round's seconds instead of the medians."""
    want_samples = samples
    for fn in fns.values():
        fn()
    rounds = {name: [] for name in fns}
    start = time.perf_counter()
    for done in range(1, max_rounds + 1):
        for name, fn in fns.items():
            rounds[name].append(timed(fn)[0])
        if done >= min_rounds and time.perf_counter() - start >= min_time:
            break
    if want_samples:
        return rounds
    return {name: statistics.median(s) for name, s in rounds.items()}


def bare_fit(X, hidden, n_components, batch_size, epochs, seed=0, fused=False):
    """Seconds per epoch of the bare loop (``fused``: with a fused Adam)."""
    module = make_module(X.shape[1], hidden, n_components, seed)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, fused=fused or None)
    return _bare_loop(module, optimizer, X, batch_size, epochs, seed)


def _bare_loop(module, optimizer, X, batch_size, epochs, seed, loss_fn=None):
    if loss_fn is None:

        def loss_fn(Xb):
            return F.mse_loss(module(Xb)[0], Xb)

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
            loss = loss_fn(Xb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return (time.perf_counter() - start) / epochs


def compiled_loss():
    """The forward pass and loss of a module, compiled (once for every
    module of one architecture and batch shape: the module is an input)."""
    torch._dynamo.reset()  # a fresh cache: no recompilation limit reached

    @torch.compile(dynamic=False)
    def loss_fn(module, Xb):
        return F.mse_loss(module(Xb)[0], Xb)

    return loss_fn


def compiled_fit(X, hidden, n_components, batch_size, epochs, loss_fn, seed=0):
    """``(seconds per epoch, seconds compiling)`` of the fused loop through
    ``loss_fn`` (from :func:`compiled_loss`); the compilation, on the
    epoch's batch shapes, comes before the timer, and takes no time when
    ``loss_fn`` has compiled them already."""
    module = make_module(X.shape[1], hidden, n_components, seed)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, fused=True)
    module.train()
    start = time.perf_counter()
    for n_rows in {batch_size, len(X) % batch_size or batch_size}:
        loss_fn(module, torch.from_numpy(X[:n_rows])).backward()
    optimizer.zero_grad()
    t_compile = time.perf_counter() - start
    t_epoch = _bare_loop(
        module, optimizer, X, batch_size, epochs, seed, lambda Xb: loss_fn(module, Xb)
    )
    return t_epoch, t_compile


def compile_failure():
    """Why ``torch.compile`` cannot train here (None when it can)."""
    try:
        torch._dynamo.reset()
        module = nn.Linear(3, 2)
        compiled = torch.compile(lambda x: module(x).square().mean())
        compiled(torch.ones(4, 3)).backward()
    except Exception as exc:  # no C++ compiler, an unsupported platform, ...
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
    return None


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


def skae_model(hidden, n_components, batch_size, epochs):
    return AutoencoderTransformer(
        n_components,
        hidden_layer_sizes=hidden,
        loss="mse",  # the loop's and the peers' loss ("auto" is bce on MNIST)
        batch_size=batch_size,
        max_epochs=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        device="cpu",
        random_state=0,
    )


def skae_case(X, hidden, n_components, batch_size, epochs):
    model = skae_model(hidden, n_components, batch_size, epochs)
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


def sklearn_model(hidden, n_components, batch_size, epochs):
    return MLPRegressor(
        hidden_layer_sizes=(*hidden, n_components, *reversed(hidden)),
        batch_size=batch_size,
        max_iter=epochs,
        learning_rate_init=1e-3,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )


def sklearn_case(X, hidden, n_components, batch_size, epochs):
    model = sklearn_model(hidden, n_components, batch_size, epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_fit, _ = timed(lambda: model.fit(X, X))

    def errors():
        return np.mean((model.predict(X) - X) ** 2, axis=1)

    return t_fit / epochs, {"row errors": errors}


# The small fits: the tabular network on 1000x20 rows, batch 64.
SMALL_NETWORK = ((64, 32), 8)
SMALL_BATCH = 64
LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2)


def quiet(fn):
    """``fn`` without ConvergenceWarning (MLPRegressor's short fits)."""

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fn()

    return call


def loop_fit(X, epochs, lr=1e-3, fused=False):
    """A whole bare-loop fit: module and optimizer built, then trained; the
    module."""
    module = make_module(X.shape[1], *SMALL_NETWORK)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, fused=fused or None)
    _bare_loop(module, optimizer, X, SMALL_BATCH, epochs, 0)
    return module


def one_fit_calls(X):
    """One whole fit of one epoch on ``X``, per tool."""
    return {
        "bare loop": lambda: loop_fit(X, 1),
        "bare loop, fused Adam": lambda: loop_fit(X, 1, fused=True),
        "skae": lambda: skae_model(*SMALL_NETWORK, SMALL_BATCH, 1).fit(X),
        "sklearn MLPRegressor": quiet(
            lambda: sklearn_model(*SMALL_NETWORK, SMALL_BATCH, 1).fit(X, X)
        ),
    }


def grid_search_calls(X, epochs, n_splits, learning_rates):
    """A search over the learning rates, ``n_splits``-fold, no refit, per
    tool; the bare loop's scores each fold's validation loss."""

    def loop():
        losses = []
        for lr in learning_rates:
            for train, test in KFold(n_splits).split(X):
                module = loop_fit(X[train], epochs, lr).eval()
                with torch.no_grad():
                    Xt = torch.from_numpy(X[test])
                    losses.append(F.mse_loss(module(Xt)[0], Xt).item())
        return losses

    def search(model, param, *y):
        grid = {param: list(learning_rates)}
        return GridSearchCV(model, grid, cv=n_splits, refit=False).fit(X, *y)

    return {
        "bare loop": loop,
        "skae": lambda: search(skae_model(*SMALL_NETWORK, SMALL_BATCH, epochs), "lr"),
        "sklearn MLPRegressor": quiet(
            lambda: search(
                sklearn_model(*SMALL_NETWORK, SMALL_BATCH, epochs),
                "learning_rate_init",
                X,
            )
        ),
    }


def small_fit_rows(quick, repeats):
    """The rows of the small-fit table."""
    X = np.random.default_rng(1).standard_normal((1000, 20), dtype=np.float32)
    data = f"tabular {X.shape[0]}x{X.shape[1]}"
    rows = []
    rounds = interleaved(
        one_fit_calls(X), min_time=0.5 if quick else 10.0, samples=True
    )
    for tool, times in rounds.items():
        row = summary(times, rounds["bare loop"], "s", spread="quartiles")
        row["spread"] = row.pop("spread (quartiles)") + " (quartiles)"
        rows.append({"task": f"one fit, 1 epoch, {data}", "tool": tool} | row)
    epochs, n_splits, rates = (
        (2, 2, LEARNING_RATES[:2]) if quick else (10, 5, LEARNING_RATES)
    )
    n_fits = n_splits * len(rates)
    rounds = interleaved(
        grid_search_calls(X, epochs, n_splits, rates),
        min_time=0,
        min_rounds=repeats,
        max_rounds=repeats,
        samples=True,
    )
    task = f"GridSearchCV, {n_fits} fits of {epochs} epochs, {data}"
    for tool, times in rounds.items():
        row = summary(times, rounds["bare loop"], "s")
        row["spread"] = row.pop("spread (min-max)") + " (min-max)"
        rows.append({"task": task, "tool": tool} | row)
    return rows


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
    parser.add_argument(
        "--only",
        choices=["fit", "small"],
        help="only the fit and inference tables, or only the small fits",
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the compiled loop's rows"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # numpy's BLAS too (MLPRegressor, PyOD's preprocessing): same thread count
    threadpool_limits(args.threads)
    repeats = 1 if args.quick else args.repeats
    suffix = "_quick" if args.quick else ""
    meta = machine() | {"repeats": repeats}

    if args.only != "small":
        no_compile = None
        if args.quick or args.no_compile:
            no_compile = "--quick" if args.quick else "--no-compile"
        else:
            no_compile = compile_failure()
        if no_compile is not None:
            print(f"compiled loop skipped: {no_compile}")
        fit_rows, inference_rows, compile_notes = fit_tables(
            args, repeats, compile_=no_compile is None
        )
        epochs = [1, 1] if args.quick else args.epochs
        fit_meta = meta | {"epochs per fit": f"MNIST {epochs[0]}, tabular {epochs[1]}"}
        notes = (
            "compiled loop: compiling took " + "; ".join(compile_notes)
            if compile_notes
            else f"compiled loop skipped: {no_compile}"
        )
        write_results(
            "speed_fit" + suffix, fit_rows, list(fit_rows[0]), fit_meta, notes
        )
        write_results(
            "speed_inference" + suffix,
            inference_rows,
            list(inference_rows[0]),
            fit_meta,
        )
    if args.only != "fit":
        rows = small_fit_rows(args.quick, repeats)
        write_results("speed_small" + suffix, rows, list(rows[0]), meta)


def fit_tables(args, repeats, compile_):
    """The rows of the fit and inference tables, and the compile times."""
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
    loops = ["bare loop", "bare loop, fused Adam"] + (
        ["compiled loop"] if compile_ else []
    )

    fit_rows, inference_rows, compile_notes = [], [], []
    for name, X, hidden, n_components, n_epochs in cases:
        arch = "-".join(map(str, (X.shape[1], *hidden, n_components)))
        data = f"{name} {X.shape[0]}x{X.shape[1]}"
        for batch_size in args.batch_sizes:
            times = {tool: [] for tool in [*loops, "skae", *peers]}
            codes = {"bare loop": [], "skae": []}
            errors = {tool: [] for tool in times if tool not in loops[1:]}
            compile_times = []
            loss_fn = compiled_loss() if compile_ else None
            for _ in range(repeats):
                setting = (X, hidden, n_components, batch_size, n_epochs)
                times["bare loop"].append(bare_fit(*setting))
                times["bare loop, fused Adam"].append(bare_fit(*setting, fused=True))
                if compile_:
                    t_epoch, t_compile = compiled_fit(*setting, loss_fn)
                    times["compiled loop"].append(t_epoch)
                    compile_times.append(t_compile)
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
            if compile_times:  # the first repeat compiles, the others reuse
                compile_notes.append(
                    f"{compile_times[0]:.1f} s ({data}, batch {batch_size})"
                )
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
    return fit_rows, inference_rows, compile_notes


def summary(times, floor, unit, n_rows=None, spread="min-max"):
    """Median, ratio of medians to the floor, and the spread of the ratio
    over the repeats: "min-max", or "quartiles" (over many rounds: then the
    ratio is the median of the rounds' ratios, between its quartiles)."""
    median, floor_median = statistics.median(times), statistics.median(floor)
    ratios = [t / f for t, f in zip(times, floor, strict=True)]
    row = {f"median {unit}": f"{median:.4f}" if median < 0.1 else f"{median:.3f}"}
    if n_rows is not None:
        row["rows/s"] = f"{n_rows / median:,.0f}"
    ratio = median / floor_median
    if spread == "quartiles":
        # many rounds: the median of the rounds' ratios, within its quartiles
        low, ratio, high = statistics.quantiles(ratios, n=4)
    else:
        low, high = min(ratios), max(ratios)
    return row | {
        "/ bare loop": f"{ratio:.2f}",
        f"spread ({spread})": f"{low:.2f}-{high:.2f}",
    }


if __name__ == "__main__":
    main()
