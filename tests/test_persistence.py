"""Persistence of every estimator and architecture: pickle, joblib, skops.io
(audited: only skae's own classes to trust) and weights-only safetensors
files."""

import io
import json
import pickle
import zipfile

import joblib
import numpy as np
import pytest
import torch
from conftest import (
    PUBLIC_ESTIMATORS,
    SHARED_TEST_PARAMS,
    UserDecoder,
    UserEncoder,
    row_outputs,
)
from numpy.testing import assert_array_equal

from skae import AutoencoderTransformer, SupervisedAutoencoder

sio = pytest.importorskip("skops.io")
safetensors_torch = pytest.importorskip("safetensors.torch")

ARCHITECTURES = {
    "dense": {"hidden_layer_sizes": (8,), "batch_norm": True, "dropout": 0.1},
    "conv": {"image_shape": (2, 4), "conv_channels": (4,), "hidden_layer_sizes": ()},
    "recurrent": {"sequence_shape": (4, 2), "recurrent_units": 4},
}


CASES = [
    pytest.param(cls, arch, id=f"{cls.__name__}-{name}")
    for cls in PUBLIC_ESTIMATORS
    for name, arch in ARCHITECTURES.items()
] + [
    pytest.param(
        AutoencoderTransformer,
        {"encoder": UserEncoder, "decoder": UserDecoder},
        id="AutoencoderTransformer-user-modules",
    ),
    pytest.param(
        AutoencoderTransformer,
        {"embedding_weight": 1.0, "n_neighbors": 5, "reconstruction_weight": 0.5},
        id="AutoencoderTransformer-neighbour-embedding",
    ),
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((48, 8)).astype(np.float32), np.arange(48) % 3


def fitted(cls, arch, data):
    X, y = data
    params = {**SHARED_TEST_PARAMS.get(cls.__name__, {}), **arch}
    est = cls(2, max_epochs=2, random_state=0, device="cpu", **params)
    return est.fit(X, y) if cls is SupervisedAutoencoder else est.fit(X)


def outputs(est, X):
    """Everything a fitted estimator computes, by method name."""
    out = row_outputs(est, X)
    if hasattr(est, "sample"):
        out["sample"] = est.sample(5, random_state=0)
    return out


def assert_same_outputs(loaded, est, X):
    expected = outputs(est, X)
    got = outputs(loaded, X)
    assert got.keys() == expected.keys()
    for method, value in expected.items():
        assert_array_equal(got[method], value, err_msg=method)
    assert loaded.n_iter_ == est.n_iter_
    assert list(loaded.history_) == list(est.history_)


def skae_types(est):
    return {f"{type(est).__module__}.{type(est).__qualname__}"}


# --- pickle and joblib ----------------------------------------------------


@pytest.mark.parametrize("cls, arch", CASES)
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trip_gives_identical_outputs(cls, arch, data, dump):
    est = fitted(cls, arch, data)
    buffer = io.BytesIO()
    (pickle if dump == "pickle" else joblib).dump(est, buffer)
    buffer.seek(0)
    loaded = (pickle if dump == "pickle" else joblib).load(buffer)
    assert_same_outputs(loaded, est, data[0])
    # the loaded model keeps training
    loaded.partial_fit(data[0], data[1] if cls is SupervisedAutoencoder else None)
    assert loaded.n_iter_ == est.n_iter_ + 1


def test_pickle_holds_weights_as_arrays(estimator_class, data):
    state = fitted(estimator_class, ARCHITECTURES["dense"], data).__getstate__()
    assert "net_" not in state
    weights = state["_net_state"]["module"]
    assert weights and all(isinstance(v, np.ndarray) for v in weights.values())


def test_model_fitted_on_cuda_loads_on_a_cpu_only_machine(estimator_class, data):
    cls = estimator_class
    # The state as a GPU fit writes it: only the device differs, since the
    # weights are stored as numpy arrays whatever the device.
    est = fitted(cls, ARCHITECTURES["dense"], data)
    state = est.__getstate__()
    state["_net_state"]["device"] = "cuda:0"
    loaded = cls.__new__(cls)
    if torch.cuda.is_available():
        loaded.__setstate__(state)
        assert torch.device(loaded.net_.device).type == "cuda"
    else:
        with pytest.warns(UserWarning, match="fitted on cuda:0 but CUDA is not"):
            loaded.__setstate__(state)
        assert torch.device(loaded.net_.device).type == "cpu"
        assert_same_outputs(loaded, est, data[0])


# --- skops.io ------------------------------------------------------------


@pytest.mark.parametrize("cls, arch", CASES)
def test_skops_lists_only_skae_classes_and_loads_identically(cls, arch, data):
    est = fitted(cls, arch, data)
    dumped = sio.dumps(est)
    untrusted = set(sio.get_untrusted_types(data=dumped))
    expected = skae_types(est)
    if "encoder" in arch:
        # the user's own module classes are theirs to trust
        expected |= {
            f"{c.__module__}.{c.__qualname__}" for c in (UserEncoder, UserDecoder)
        }
    assert untrusted == expected
    loaded = sio.loads(dumped, trusted=sorted(untrusted))
    assert_same_outputs(loaded, est, data[0])


def test_skops_round_trip_through_a_file(tmp_path, data):
    est = fitted(SupervisedAutoencoder, ARCHITECTURES["dense"], data)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    loaded = sio.load(path, trusted=sorted(sio.get_untrusted_types(file=path)))
    assert_same_outputs(loaded, est, data[0])
    # the loaded model keeps training
    loaded.partial_fit(*data)
    assert loaded.n_iter_ == est.n_iter_ + 1


def tamper(dumped, key, node):
    """The skops file ``dumped`` with the estimator's attribute ``key``
    replaced by the schema ``node``."""
    source = zipfile.ZipFile(io.BytesIO(dumped))
    schema = json.loads(source.read("schema.json"))
    schema["content"]["content"][key] = node
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "schema.json":
                content = json.dumps(schema).encode()
            target.writestr(item, content)
    return out.getvalue()


def test_skops_audit_catches_an_injected_callable(data):
    est = fitted(AutoencoderTransformer, ARCHITECTURES["dense"], data)
    # random_state replaced by os.system: loading would hand the estimator a
    # function that runs shell commands
    node = {"__class__": "system", "__module__": "os", "__loader__": "TypeNode"}
    node["__id__"] = 1
    dumped = tamper(sio.dumps(est), "random_state", node)
    untrusted = sio.get_untrusted_types(data=dumped)
    assert "os.system" in untrusted or "posix.system" in untrusted
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(dumped, trusted=sorted(skae_types(est)))


def test_skops_audit_catches_an_injected_object(data):
    est = fitted(AutoencoderTransformer, ARCHITECTURES["dense"], data)
    # a history whose rows are objects of an arbitrary class
    node = {
        "__class__": "Popen",
        "__module__": "subprocess",
        "__loader__": "ObjectNode",
        "content": {
            "__class__": "dict",
            "__module__": "builtins",
            "__loader__": "DictNode",
            "content": {},
            "key_types": {
                "__class__": "list",
                "__module__": "builtins",
                "__loader__": "ListNode",
                "content": [],
                "__id__": 4,
            },
            "__id__": 3,
        },
        "__id__": 2,
    }
    dumped = tamper(sio.dumps(est), "history_", node)
    assert "subprocess.Popen" in sio.get_untrusted_types(data=dumped)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(dumped, trusted=sorted(skae_types(est)))


# --- weights only: safetensors ---------------------------------------------


@pytest.mark.parametrize("cls, arch", CASES)
def test_weights_round_trip(cls, arch, data, tmp_path):
    X, y = data
    est = fitted(cls, arch, data)
    path = tmp_path / "weights.safetensors"
    est.save_weights(path)
    # an estimator with the same parameters, fitted one pass on other rows
    params = {**SHARED_TEST_PARAMS.get(cls.__name__, {}), **arch}
    other = cls(2, random_state=1, device="cpu", **params)
    if cls is SupervisedAutoencoder:
        other.partial_fit(X[:6], y[:6], classes=np.unique(y))
    else:
        other.partial_fit(X[:6])
    expected = est.net_.module_.state_dict()
    before = other.net_.module_.state_dict()
    assert not all(torch.equal(before[k], v) for k, v in expected.items())
    other.load_weights(path)
    got = other.net_.module_.state_dict()
    assert got.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(got[name], tensor), name
    if hasattr(est, "transform"):  # the outlier detector has only scores
        if "embedding_weight" in arch:
            # the layout that transform refines codes against is fitted
            # outside the network: each estimator keeps its own, so the
            # network's own codes are compared
            est.set_params(transform_n_iter=0)
            other.set_params(transform_n_iter=0)
        Z = est.transform(X)
        assert_array_equal(other.transform(X), Z)
        assert_array_equal(other.inverse_transform(Z), est.inverse_transform(Z))


def test_weights_file_format(data, tmp_path):
    est = fitted(AutoencoderTransformer, ARCHITECTURES["dense"], data)
    path = tmp_path / "weights.safetensors"
    est.save_weights(path)
    # plain safetensors: the module's state dict under its own names
    tensors = safetensors_torch.load_file(path)
    state = est.net_.module_.state_dict()
    assert tensors.keys() == state.keys()
    for name, tensor in state.items():
        assert torch.equal(tensors[name], tensor.cpu())
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    assert metadata["format"] == "skae.weights"
    assert metadata["estimator"] == "AutoencoderTransformer"
    assert metadata["n_features_in"] == "8"
    architecture = json.loads(metadata["architecture"])
    assert architecture["n_components"] == 2
    assert architecture["hidden_layer_sizes"] == [8]
    # a torch user loads them into the same network built by hand
    module = AutoencoderTransformer(2, **ARCHITECTURES["dense"]).partial_fit(
        data[0][:4]
    )
    module.net_.module_.load_state_dict(tensors)
    module.net_.module_.eval()
    assert_array_equal(module.transform(data[0]), est.transform(data[0]))


def test_weights_from_a_plain_state_dict(data, tmp_path):
    # a file written by safetensors alone, without skae's metadata
    est = fitted(AutoencoderTransformer, ARCHITECTURES["dense"], data)
    path = tmp_path / "plain.safetensors"
    safetensors_torch.save_file(est.net_.module_.state_dict(), path)
    other = AutoencoderTransformer(2, random_state=1, **ARCHITECTURES["dense"])
    other.partial_fit(data[0][:6]).load_weights(path)
    assert_array_equal(other.transform(data[0]), est.transform(data[0]))


def test_weights_of_another_architecture_are_a_clear_error(data, tmp_path):
    est = fitted(AutoencoderTransformer, ARCHITECTURES["dense"], data)
    path = tmp_path / "weights.safetensors"
    est.save_weights(path)
    other = AutoencoderTransformer(3, hidden_layer_sizes=(8,), batch_norm=True)
    other.partial_fit(data[0][:6])
    with pytest.raises(ValueError, match=r"another architecture \(.*n_components"):
        other.load_weights(path)
    # without metadata, torch's shape check speaks
    safetensors_torch.save_file(est.net_.module_.state_dict(), path)
    with pytest.raises(ValueError, match="do not fit this estimator's network"):
        other.load_weights(path)


def test_weights_need_a_fitted_estimator(data, tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        AutoencoderTransformer().save_weights(tmp_path / "w.safetensors")
    est = fitted(AutoencoderTransformer, ARCHITECTURES["dense"], data)
    est.save_weights(tmp_path / "w.safetensors")
    with pytest.raises(NotFittedError):
        AutoencoderTransformer().load_weights(tmp_path / "w.safetensors")


def test_loaded_weights_keep_training(data, tmp_path):
    est = fitted(AutoencoderTransformer, ARCHITECTURES["dense"], data)
    path = tmp_path / "weights.safetensors"
    est.save_weights(path)
    other = AutoencoderTransformer(2, random_state=1, **ARCHITECTURES["dense"])
    other.partial_fit(data[0][:6]).load_weights(path)
    before = other.transform(data[0])
    other.partial_fit(data[0])
    after = other.transform(data[0])
    assert np.all(np.isfinite(after)) and not np.array_equal(before, after)


def test_pickles_of_the_format_before_the_redesign_load(assert_float32_close):
    # tests/data/format1_*: each estimator (6 features, hidden (8,), 2 epochs)
    # pickled by skae at commit a3d6233, with its outputs on X then
    from pathlib import Path

    data_dir = Path(__file__).with_name("data")
    models = pickle.loads((data_dir / "format1_models.pkl").read_bytes())
    expected = np.load(data_dir / "format1_outputs.npz")
    X, y = expected["X"], expected["y"]
    # the detector was then one network; it is now an ensemble of them
    with pytest.raises(ValueError, match="kind 'autoencoder'.*Fit it again"):
        pickle.loads(models.pop("ReconstructionOutlierDetector"))
    for name, blob in models.items():
        est = pickle.loads(blob)
        assert type(est).__name__ == name
        outputs = {
            key.split(".")[1]: value
            for key, value in expected.items()
            if key.startswith(name + ".")
        }
        assert outputs
        for method, value in outputs.items():
            # inference then ran in batches of other shapes: float32 rounding
            assert_float32_close(getattr(est, method)(X), value, n_layers=4, width=8)
        # parameters added since then take their defaults (repr reads them all)
        defaults = type(est)().get_params()
        for added in ("channels_last", "embedding_weight", "reconstruction_weight"):
            if added in defaults:
                assert getattr(est, added) == defaults[added]
        repr(est)
        est.partial_fit(X, y) if name == "SupervisedAutoencoder" else est.partial_fit(X)
        assert est.n_iter_ == 3
