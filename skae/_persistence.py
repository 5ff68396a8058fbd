"""Layer 3: persistence of the estimators.

Pickles (and joblib and skops.io files) hold the network's weights as numpy
arrays, not as a torch pickle, so that a file can be audited and a model
fitted on a GPU loads on a CPU; ``save_weights`` and ``load_weights`` write
and read the weights alone in the safetensors format, for exchange with
PyTorch.
"""

import inspect
import json
import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._training.randomness import isolated_rng
from ._version import __version__

# The layout of the pickled network state: 2 since the network's
# description names its kind ("network") and its standardization.
_STATE_FORMAT = 2


def _to_arrays(obj):
    """``obj`` with every tensor replaced by a numpy array (recursively)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: _to_arrays(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_arrays(v) for v in obj)
    return obj


def _to_tensors(obj):
    """Inverse of :func:`_to_arrays`."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, dict):
        return {k: _to_tensors(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_tensors(v) for v in obj)
    return obj


_WEIGHTS_FORMAT = "skae.weights"


def _safetensors():
    """safetensors' save_model, load_model and safe_open, or an ImportError
    that says what to install."""
    try:
        from safetensors import safe_open
        from safetensors.torch import load_model, save_model
    except ImportError as error:
        raise ImportError(
            "save_weights and load_weights need the safetensors package: "
            "pip install safetensors (or the skae[persist] extra)."
        ) from error
    return save_model, load_model, safe_open


def _architecture_json(architecture):
    """``architecture`` as JSON text; module classes and instances by name."""

    def name(value):
        cls = value if isinstance(value, type) else type(value)
        kind = "class" if isinstance(value, type) else "instance"
        return f"{kind} {cls.__module__}.{cls.__qualname__}"

    return json.dumps(architecture, default=name, sort_keys=True)


class PersistenceMixin:
    """Pickling with the weights as arrays, and safetensors weight files,
    for estimators that keep a fitted :class:`~skae._training.net.AutoencoderNet`
    in ``net_`` and build one with ``_build_net(device, architecture)``."""

    def __getstate__(self):
        # On Python >= 3.11 the parent may hand back ``self.__dict__`` itself.
        state = dict(super().__getstate__())
        net = state.pop("net_", None)
        if "history_" in state:
            # plain lists and dicts, which skops.io loads without trusting
            # skorch's History class
            state["history_"] = state["history_"].to_list()
        if net is not None:
            state["_net_state"] = {
                "format": _STATE_FORMAT,
                "device": str(net.device),
                # the network as fitted, whatever the parameters say now
                "architecture": net.architecture,
                "module": _to_arrays(net.module_.state_dict()),
                "optimizer": _to_arrays(net.optimizer_.state_dict()),
            }
        return state

    def __setstate__(self, state):
        net_state = state.pop("_net_state", None)
        if "history_" in state:
            state["history_"] = History(state["history_"])
        super().__setstate__(state)
        # parameters added since the pickle was written take their defaults
        signature = inspect.signature(type(self).__init__)
        for name, parameter in signature.parameters.items():
            if (
                parameter.default is not inspect.Parameter.empty
                and name not in vars(self)
            ):
                setattr(self, name, parameter.default)
        if net_state is None:
            return
        if net_state.get("format", 1) < _STATE_FORMAT:
            net_state = self._upgrade_net_state(net_state)
        pickled = net_state["architecture"]["network"]
        if pickled != self._network:
            raise ValueError(
                f"This {type(self).__name__} was pickled by an earlier skae with "
                f"a network of kind {pickled!r}; skae {__version__} builds one "
                f"of kind {self._network!r} for it and cannot load those "
                "weights. Fit it again."
            )
        if "loss_" not in vars(self):  # pickled before loss="auto"
            self.loss_ = vars(self).get("loss", "mse")
        if "hidden_layer_sizes_" not in vars(self):
            self.hidden_layer_sizes_ = net_state["architecture"]["hidden_layer_sizes"]
        if "max_epochs_" not in vars(self):  # pickled before max_epochs="auto"
            self.max_epochs_ = self.max_epochs  # an int then
        device = torch.device(net_state["device"])
        if device.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"This model was fitted on {device} but CUDA is not available; "
                "it is loaded on the CPU.",
                UserWarning,
                stacklevel=2,
            )
            device = torch.device("cpu")
        with isolated_rng(0, device):
            net = self._build_net(device, net_state["architecture"])
            net.initialize()
        net.module_.load_state_dict(_to_tensors(net_state["module"]))
        net.optimizer_.load_state_dict(_to_tensors(net_state["optimizer"]))
        net.history = self.history_
        self.net_ = net
        if "n_parameters_" not in vars(self):  # pickled before format 2
            self.n_parameters_ = sum(p.numel() for p in net.module_.parameters())

    def _upgrade_net_state(self, net_state):
        """The network state of a pickle written before format 2 (skae
        0.1.0.dev0 before the core redesign), in format 2: its description
        gains the network's kind, ``n_components_`` (then only the
        detector's) is set. The detector of then, one network, is refused by
        ``__setstate__``: its network's kind differs from today's."""
        architecture = dict(net_state["architecture"])
        self.n_components_ = architecture["n_components"]
        # before format 2 only these two classes had networks of their own
        own = ("supervised", "variational")
        architecture.setdefault(
            "network", self._network if self._network in own else "autoencoder"
        )
        architecture.setdefault("standardize", False)
        return {**net_state, "architecture": architecture}

    def save_weights(self, path):
        """Save the fitted network's weights to a safetensors file.

        The file holds the tensors of ``net_.module_.state_dict()`` under
        their state-dict names (``encoder.…``, ``decoder.…``), so that
        ``safetensors.torch.load_file`` reads them into any torch module of
        the same structure, and text metadata: ``format`` ("skae.weights"),
        ``skae_version``, ``estimator`` (the class name), ``n_features_in``
        and ``architecture`` (JSON). Only the network: no optimizer state,
        no training history, no fitted statistics outside the network (such
        as the layout, ``embedding_``, that ``transform`` refines codes
        against); use pickle or ``skops.io`` to keep a whole estimator.
        Needs the ``safetensors`` package.

        Parameters
        ----------
        path : str or path-like
            Where to write the file (conventionally ``*.safetensors``).

        Returns
        -------
        self : object
            The estimator, unchanged.
        """
        check_is_fitted(self)
        save_model, _, _ = _safetensors()
        metadata = {
            "format": _WEIGHTS_FORMAT,
            "skae_version": __version__,
            "estimator": type(self).__name__,
            "n_features_in": str(self.n_features_in_),
            "architecture": _architecture_json(self.net_.architecture),
        }
        save_model(self.net_.module_, str(path), metadata=metadata)
        return self

    def load_weights(self, path):
        """Load network weights saved by :meth:`save_weights` into this
        fitted estimator.

        The estimator must be fitted (a ``partial_fit`` on a few rows is
        enough) with the same architecture as the network that wrote the
        file; a file with skae's metadata is checked against it first. A file
        without it (one written by ``safetensors.torch.save_file`` from a
        module's ``state_dict()``) loads when its tensor names and shapes
        match ``net_.module_``. The optimizer's state is reset, as it
        belonged to the old weights; fitted statistics outside the network
        (``classes_``, ``offset_``, ``embedding_``, ...) are kept as they
        are.

        Parameters
        ----------
        path : str or path-like
            A safetensors file.

        Returns
        -------
        self : object
            The estimator, with the loaded weights.

        Raises
        ------
        ValueError
            If the file's architecture, tensor names or shapes differ from
            the fitted network's.
        """
        check_is_fitted(self)
        _, load_model, safe_open = _safetensors()
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        if metadata.get("format") == _WEIGHTS_FORMAT:
            saved = json.loads(metadata["architecture"])
            fitted = json.loads(_architecture_json(self.net_.architecture))
            changed = sorted(
                k for k in saved.keys() | fitted.keys() if saved.get(k) != fitted.get(k)
            )
            if changed:
                raise ValueError(
                    f"The weights in {str(path)!r} are of a network with another "
                    f"architecture ({', '.join(changed)} differ: file "
                    f"{ {k: saved.get(k) for k in changed} }, this estimator "
                    f"{ {k: fitted.get(k) for k in changed} })."
                )
        module = self.net_.module_
        try:
            load_model(module, str(path), strict=True, device=str(self.net_.device))
        except RuntimeError as error:
            raise ValueError(
                f"The tensors in {str(path)!r} do not fit this estimator's "
                f"network: {error}"
            ) from None
        self.net_.initialize_optimizer()
        return self
