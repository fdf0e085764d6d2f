"""Serving reads the network member's weights without torch (engine.models.torch_state)."""

import io
import json
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from predictions.engine import artifacts
from predictions.engine.fast_pricing import NumpyMLP
from predictions.engine.features import FeatureSchema
from predictions.engine.models import TorchConfig, TorchDistModel
from predictions.engine.models.torch_state import state_dict_arrays
from tests.support import negbin_rows

SCHEMA = FeatureSchema.from_names(["skill", "minutes", "noise"])


@pytest.fixture(scope="module")
def member():
    X, y = negbin_rows(3, 900, intercept=1.5, dispersion=0.1, nan_every=13)
    common = {"sport": "nba", "stat": "points", "family": "negbin", "schema": SCHEMA, "seed": 2}
    return TorchDistModel.fit(X[:600], y[:600], X[600:], y[600:], config=TorchConfig(epochs=3), **common), X[600:]


def _saved(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_the_arrays_equal_what_torch_load_reads_views_and_dtypes_included():
    state = {
        "0.weight": torch.randn(4, 5),
        "0.bias": torch.randn(4),
        "transposed": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
        "offset_view": torch.arange(10, dtype=torch.float64)[3:7],
        "counts": torch.tensor([1, 2, 3], dtype=torch.int64),
    }
    arrays = state_dict_arrays(_saved(state))
    loaded = torch.load(io.BytesIO(_saved(state)), weights_only=True)
    assert set(arrays) == set(loaded)
    for name, tensor in loaded.items():
        assert arrays[name].dtype == tensor.numpy().dtype
        np.testing.assert_array_equal(arrays[name], tensor.numpy())


def test_anything_but_a_dict_of_tensors_is_refused_as_torch_load_weights_only_would():
    class Sneaky:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    with pytest.raises(ValueError, match=r"state dict holds __builtin__\.print"):
        state_dict_arrays(_saved({"w": torch.zeros(2), "x": Sneaky()}))
    not_an_archive = io.BytesIO()
    with zipfile.ZipFile(not_an_archive, "w") as archive:
        archive.writestr("x/other.pkl", pickle.dumps({}))
    with pytest.raises(ValueError, match="not a torch.save archive"):
        state_dict_arrays(not_an_archive.getvalue())


def test_a_loaded_member_prices_with_numpy_as_its_torch_network_does(member):
    model, X = member
    restored = TorchDistModel.from_bytes(model.to_bytes(), expected_schema=SCHEMA)
    assert restored._network is None  # weights only, until something asks for the network
    mlp = NumpyMLP(restored.numpy_layers())
    with torch.inference_mode():
        expected = model.network(torch.from_numpy(model._standardise(X))).numpy()
    np.testing.assert_allclose(mlp(model._standardise(X)), expected, rtol=1e-5, atol=1e-6)
    # The torch network built on demand is the trained one.
    np.testing.assert_array_equal(restored.predict_params(X).mean, model.predict_params(X).mean)


def test_weights_that_do_not_fit_the_layers_are_refused(member):
    model, _ = member
    metadata, files = artifacts.unpack(model.to_bytes())
    metadata = {**metadata, "hidden": [8, 4]}
    with pytest.raises(ValueError, match="do not fit its layers"):
        TorchDistModel._from_parts(metadata, files, SCHEMA)


def test_serving_a_network_member_does_not_import_torch(member, tmp_path):
    """A server process prices with numpy: torch (~230 MB resident, 2-3 s) stays unimported."""
    model, X = member
    (tmp_path / "member.bin").write_bytes(model.to_bytes())
    np.save(tmp_path / "X.npy", X)
    script = f"""
import json, sys
import numpy as np
from predictions.engine.fast_pricing import NumpyMLP, torch_params
from predictions.engine.models import load_model
member = load_model(open({str(tmp_path / "member.bin")!r}, "rb").read(), device="cpu")
mean, dispersion = torch_params(member, NumpyMLP(member.numpy_layers()), np.load({str(tmp_path / "X.npy")!r}))
print(json.dumps({{"torch": "torch" in sys.modules, "mean": mean[:3].tolist()}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["torch"] is False
    np.testing.assert_allclose(answer["mean"], model.predict_params(X[:3]).mean, rtol=1e-5)


def test_a_network_first_built_inside_inference_mode_still_takes_gradients(member):
    """predict_params runs under torch.inference_mode(); the network built there on first use
    must still serve autograd (SHAP's DeepExplainer), not hold inference tensors."""
    model, X = member
    restored = TorchDistModel.from_bytes(model.to_bytes(), expected_schema=SCHEMA)
    restored.predict_params(X)  # builds the network inside inference mode
    inputs = torch.from_numpy(restored._standardise(X[:4])).requires_grad_(True)
    restored.network(inputs)[:, 0].sum().backward()
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()
