"""Layer 1: building a network from plain values (torch only, no scikit-learn).

:func:`build_network` is the one entry point: it receives an architecture, a
dict of plain values that the estimator derived from its parameters and the
training data's shape, and returns a freshly initialised module: built-in
encoder and decoder (dense, convolutional or recurrent) or the user's own,
checked by a dry run, joined with a classifier head or a variational
posterior as the architecture's ``network`` says, behind a standardization
when it asks for one. :func:`module_cost` tells how much one row costs it.
"""

import inspect
from copy import deepcopy

import numpy as np
import torch

from ._torch_modules import (
    AutoencoderEnsemble,
    AutoencoderModule,
    ClassifierHead,
    ConvDecoder,
    ConvEncoder,
    DenseDecoder,
    DenseEncoder,
    RecurrentDecoder,
    RecurrentEncoder,
    Standardize,
    SupervisedAutoencoderModule,
    VariationalAutoencoderModule,
)

NETWORKS = {
    "autoencoder": AutoencoderModule,
    "supervised": SupervisedAutoencoderModule,
    "variational": VariationalAutoencoderModule,
    "ensemble": AutoencoderEnsemble,
}

# How an ensemble's members standardize their input, by the architecture's
# ``standardize``: "mixed" alternates the robust and the standard kind.
STANDARDIZATIONS = {
    "standard": ("standard",),
    "robust": ("robust",),
    "mixed": ("robust", "standard"),
}


def build_network(architecture, X=None):
    """A fresh module for ``architecture``, its weights drawn from torch's
    global generator.

    Parameters
    ----------
    architecture : dict
        Plain values: ``network`` (a key of ``NETWORKS``), ``n_features``,
        ``n_components`` (the code width), the built-in layers' settings
        (``hidden_layer_sizes``, ``activation``, ``output_activation``,
        ``dropout``, ``batch_norm``, ``image_shape`` (C, H, W),
        ``channels_last``, ``conv_channels``,
        ``sequence_shape``, ``recurrent_cell``, ``recurrent_units``), the
        user's ``encoder`` and ``decoder`` with their ``encoder_params`` and
        ``decoder_params``, ``standardize`` (False, or a key of
        ``STANDARDIZATIONS``: True is "standard"), for a supervised network
        ``n_classes``, ``classifier_layer_sizes`` and ``classifier_dropout``,
        and for an ensemble ``n_estimators``.
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features), \
default=None
        The training data, whose per-feature statistics the standardization
        takes. None leaves it at zero centre and unit scale, for weights
        loaded afterwards.

    Returns
    -------
    module : AutoencoderModule
    """
    if architecture["network"] == "ensemble":
        return _ensemble(architecture, X)
    network = NETWORKS[architecture["network"]]
    n_features, n_components = architecture["n_features"], architecture["n_components"]
    n_outputs = network.ENCODER_OUTPUTS_PER_UNIT * n_components
    encoder, decoder = _built_in_pair(architecture, n_outputs)
    sizes = {
        "encoder": {"n_features": n_features, "n_components": n_outputs},
        "decoder": {"n_features": n_features, "n_components": n_components},
    }
    user = {}
    for role in ("encoder", "decoder"):
        if architecture[role] is not None:
            user[role] = _user_module(
                architecture[role], architecture[f"{role}_params"], sizes[role], role
            )
        elif architecture[f"{role}_params"]:
            raise ValueError(
                f"{role}__* parameters "
                f"({', '.join(sorted(architecture[f'{role}_params']))}) configure "
                f"the {role} class, but {role} is None."
            )
    if user:
        encoder, decoder = user.get("encoder", encoder), user.get("decoder", decoder)
        _check_module_shapes(encoder, decoder, n_features, n_outputs, n_components)
    standardize = None
    if architecture["standardize"]:
        standardize = Standardize(n_features)
        if X is not None:
            kind = architecture["standardize"]
            _set_statistics(
                standardize, *_centre_and_scale(X, "standard" if kind is True else kind)
            )
    if network is SupervisedAutoencoderModule:
        classifier = ClassifierHead(
            n_components,
            architecture["n_classes"],
            architecture["classifier_layer_sizes"],
            activation=architecture["activation"],
            dropout=architecture["classifier_dropout"],
        )
        return network(encoder, decoder, classifier, standardize)
    return network(encoder, decoder, standardize)


def _ensemble(architecture, X):
    """An :class:`AutoencoderEnsemble` of ``n_estimators`` autoencoders of
    the architecture, standardized by turns in each kind of its
    ``standardize``, each kind's statistics computed once."""
    standardize = architecture["standardize"]
    kinds = STANDARDIZATIONS.get(
        "standard" if standardize is True else standardize, (False,)
    )
    statistics = {}
    if X is not None:
        statistics = {kind: _centre_and_scale(X, kind) for kind in set(kinds) if kind}
    members = []
    for i in range(architecture["n_estimators"]):
        kind = kinds[i % len(kinds)]
        member_architecture = {
            **architecture,
            "network": "autoencoder",
            "standardize": kind,
        }
        member = build_network(member_architecture)
        if kind in statistics:
            _set_statistics(member.standardize, *statistics[kind])
        members.append(member)
    return AutoencoderEnsemble(members)


def _set_statistics(standardize, centre, scale):
    standardize.mean.copy_(torch.from_numpy(centre))
    standardize.scale.copy_(torch.from_numpy(scale))


def _built_in_pair(architecture, n_outputs):
    """The built-in ``(encoder, decoder)``: convolutional with an
    ``image_shape``, recurrent with a ``sequence_shape``, dense otherwise;
    the encoder gives ``n_outputs`` values and the decoder reads
    ``n_components``."""
    n_features, n_components = architecture["n_features"], architecture["n_components"]
    shared = {
        key: architecture[key]
        for key in ("hidden_layer_sizes", "activation", "dropout", "batch_norm")
    }
    output = {"output_activation": architecture["output_activation"]}
    image_shape = architecture["image_shape"]
    sequence_shape = architecture["sequence_shape"]
    if image_shape is not None:
        channels = architecture["conv_channels"]
        layout = {"channels_last": architecture["channels_last"]}
        return (
            ConvEncoder(image_shape, n_outputs, channels, **shared, **layout),
            ConvDecoder(
                n_components, image_shape, channels, **output, **shared, **layout
            ),
        )
    if sequence_shape is not None:
        recurrent = {
            "units": architecture["recurrent_units"],
            "cell": architecture["recurrent_cell"],
        }
        return (
            RecurrentEncoder(sequence_shape, n_outputs, **recurrent, **shared),
            RecurrentDecoder(
                n_components, sequence_shape, **recurrent, **output, **shared
            ),
        )
    return (
        DenseEncoder(n_features, n_outputs, **shared),
        DenseDecoder(n_components, n_features, **output, **shared),
    )


def _centre_and_scale(X, kind="standard"):
    """Per-feature centre and scale of ``X`` (dense or sparse) as float32.

    "standard": the mean and the standard deviation. "robust": the median
    and the interdecile range (10th to 90th percentile) / 2.5631, the
    standard deviation of normal data, which ignores up to a tenth of each
    tail (the outliers a detector looks for inflate the standard deviation);
    where it is 0 (a feature mostly constant), the standard deviation. A
    feature constant up to float32 rounding gets scale 1, so it is only
    centred.
    """
    mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    if isinstance(X, np.ndarray):
        std = X.std(axis=0, dtype=np.float64)
    else:  # sparse: E[x^2] - E[x]^2, never below 0
        squares = np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
        std = np.sqrt(np.maximum(squares - mean**2, 0.0))
    centre, scale = mean, std
    if kind == "robust":
        dense = X if isinstance(X, np.ndarray) else X.toarray()
        low, centre, high = np.percentile(dense, [10, 50, 90], axis=0)
        scale = (high - low) / 2.5631
        scale = np.where(scale > 1e-6 * np.abs(centre), scale, std)
    scale[(scale == 0) | (scale <= 1e-6 * np.abs(centre))] = 1.0
    return centre.astype(np.float32), scale.astype(np.float32)


def _user_module(module, params, sizes, role):
    """The user's ``module`` as a fresh instance: a class is called with
    ``params`` and with those of ``sizes`` its ``__init__`` accepts; an
    instance is deep-copied (the estimator's parameter is never trained)."""
    if isinstance(module, torch.nn.Module):
        if params:
            raise ValueError(
                f"{role}__* parameters ({', '.join(sorted(params))}) configure a "
                f"{role} class, but {role} is an instance; pass the class instead."
            )
        return deepcopy(module)
    if not (isinstance(module, type) and issubclass(module, torch.nn.Module)):
        raise TypeError(
            f"{role} must be a torch.nn.Module subclass or instance, got {module!r}."
        )
    accepted = inspect.signature(module).parameters
    kwargs = {k: v for k, v in sizes.items() if k in accepted} | params
    try:
        return module(**kwargs)
    except TypeError as exc:
        raise TypeError(f"Could not build {role} {module.__name__}: {exc}") from exc


def _check_module_shapes(encoder, decoder, n_features, n_outputs, n_components):
    """Run two zero rows through ``encoder`` and ``decoder`` and raise a
    ValueError unless they map (2, n_features) -> (2, n_outputs) and (2,
    n_components) -> (2, n_features)."""
    modes = encoder.training, decoder.training
    encoder.eval(), decoder.eval()
    try:
        with torch.no_grad():
            code = _run(encoder, torch.zeros(2, n_features), "encoder", "inputs")
            if not isinstance(code, torch.Tensor) or code.shape != (2, n_outputs):
                hint = (
                    "set n_components to its code width"
                    if n_outputs == n_components
                    else f"it must give {n_outputs} for n_components="
                    f"{n_components}; change n_components"
                )
                raise ValueError(
                    f"The encoder must map (n_samples, {n_features}) inputs to "
                    f"(n_samples, {n_outputs}) codes, but it returned "
                    f"{_describe(code)}; {hint} or change the module."
                )
            code = torch.zeros(2, n_components)
            output = _run(decoder, code, "decoder", "codes")
            if not isinstance(output, torch.Tensor) or output.shape != (2, n_features):
                raise ValueError(
                    f"The decoder must map (n_samples, {n_components}) codes to "
                    f"(n_samples, {n_features}) rows, but it returned "
                    f"{_describe(output)}."
                )
    finally:
        encoder.train(modes[0]), decoder.train(modes[1])


def _run(module, X, role, what):
    """``module(X)``, with the module's own error wrapped in one that says
    which of the user's modules failed, and on what."""
    try:
        return module(X)
    except Exception as exc:
        raise ValueError(
            f"The {role} {type(module).__name__} failed on (n_samples, "
            f"{X.shape[1]}) {what}: {exc}"
        ) from exc


def _describe(output):
    if isinstance(output, torch.Tensor):
        return f"shape {tuple(output.shape)} for 2 rows"
    return f"a {type(output).__name__}"


def module_cost(module, n_features):
    """``(n_parameters, n_activations)`` of an :class:`AutoencoderModule`:
    its parameter count, and the number of values that one row's input and
    every submodule's outputs take when ``encode`` and ``decode`` run on it
    (found on a row of zeros, in evaluation mode, without gradients)."""
    n_activations = [n_features]

    def count(submodule, inputs, output):
        outputs = output if isinstance(output, tuple | list) else (output,)
        n_activations[0] += sum(
            t.numel() for t in outputs if isinstance(t, torch.Tensor)
        )

    leaves = [m for m in module.modules() if not any(m.children())]
    hooks = [leaf.register_forward_hook(count) for leaf in leaves]
    training = [m.training for m in module.modules()]
    try:
        module.eval()
        with torch.no_grad():
            parameter = next(module.parameters(), None)
            device = None if parameter is None else parameter.device
            module.decode(module.encode(torch.zeros(1, n_features, device=device)))
    finally:
        for hook in hooks:
            hook.remove()
        for m, mode in zip(module.modules(), training, strict=True):
            m.training = mode
    return sum(p.numel() for p in module.parameters()), n_activations[0]
