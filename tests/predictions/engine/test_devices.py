"""Where the models run: the PyTorch member on CUDA when a GPU is there, on the CPU when asked.

The CUDA tests are skipped on machines without a GPU (CI has none); they were run on a lent
H100 (see docs/predictions.md, "Devices"). This module needs no Django, so it also runs as
``pytest --noconftest -p no:django tests/predictions/engine/test_devices.py`` on a machine
with only torch, numpy, scipy and xgboost.
"""

import numpy as np
import pytest
import torch

from predictions.engine.features import FeatureSchema
from predictions.engine.models import (
    Ensemble,
    TorchConfig,
    TorchDistModel,
    XGBoostConfig,
    XGBoostDistModel,
    load_model,
    select_device,
)
from tests.support import negbin_rows

SCHEMA = FeatureSchema.from_names(["skill", "minutes", "noise"])
COMMON = {"sport": "nba", "stat": "points", "family": "negbin", "schema": SCHEMA, "seed": 3}
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@pytest.fixture(scope="module")
def data():
    X, y = negbin_rows(5, 2000, intercept=1.8, dispersion=0.15, nan_every=13)
    return X[:1500], y[:1500], X[1500:], y[1500:]


def _device_of(model: TorchDistModel) -> str:
    return next(model.network.parameters()).device.type


def _fit_torch(data, device):
    X_train, y_train, X_val, y_val = data
    return TorchDistModel.fit(X_train, y_train, X_val, y_val, config=TorchConfig(epochs=6, device=device), **COMMON)


def test_select_device_names_cuda_exactly_when_torch_sees_a_gpu():
    assert select_device() == ("cuda" if torch.cuda.is_available() else "cpu")


def test_fit_and_load_model_place_the_network_on_the_device_asked_for(data):
    model = _fit_torch(data, "cpu")
    assert model.device == "cpu" and _device_of(model) == "cpu"
    restored = load_model(model.to_bytes(), expected_schema=SCHEMA, device="cpu")
    assert _device_of(restored) == "cpu"


@needs_cuda
def test_a_network_trained_on_cuda_predicts_there_and_loads_on_the_cpu_unchanged(data):
    model = _fit_torch(data, None)
    assert model.device == "cuda" and _device_of(model) == "cuda"
    X_val = data[2]
    lines = np.full(len(X_val), 6.5)
    on_gpu = model.predict_proba(X_val, lines)
    np.testing.assert_allclose(on_gpu.p_over + on_gpu.p_under + on_gpu.p_push, 1.0, atol=1e-9)
    artifact = model.to_bytes()
    on_cpu = TorchDistModel.from_bytes(artifact, expected_schema=SCHEMA, device="cpu")
    assert _device_of(on_cpu) == "cpu"
    # Same weights, two devices' float32 kernels: equal to rounding.
    for gpu_column, cpu_column in zip(on_gpu, on_cpu.predict_proba(X_val, lines), strict=True):
        np.testing.assert_allclose(gpu_column, cpu_column, rtol=1e-5, atol=1e-6)
    assert on_cpu.to_bytes() == artifact


@needs_cuda
def test_training_on_cuda_learns_what_training_on_the_cpu_learns(data):
    """Same seed, same batches, same start: the two runs differ only by float rounding."""
    X_val, y_val = data[2], data[3]
    on_gpu, on_cpu = _fit_torch(data, "cuda"), _fit_torch(data, "cpu")
    gpu_params, cpu_params = on_gpu.predict_params(X_val), on_cpu.predict_params(X_val)
    np.testing.assert_allclose(gpu_params.mean, cpu_params.mean, rtol=1e-2)
    np.testing.assert_allclose(gpu_params.dispersion, cpu_params.dispersion, rtol=2e-2)
    assert np.corrcoef(gpu_params.mean, y_val)[0, 1] > 0.5


@needs_cuda
def test_an_ensemble_with_a_cuda_member_round_trips_onto_the_cpu(data):
    X_train, y_train, X_val, y_val = data
    xgboost_model = XGBoostDistModel.fit(
        X_train, y_train, X_val, y_val, config=XGBoostConfig(n_estimators=30, early_stopping_rounds=5), **COMMON
    )
    ensemble = Ensemble.fit([xgboost_model, _fit_torch(data, "cuda")], X_val, y_val)
    lines = np.full(len(X_val), 6.5)
    restored = load_model(ensemble.to_bytes(), expected_schema=SCHEMA, device="cpu")
    assert _device_of(restored.members[1]) == "cpu"
    np.testing.assert_allclose(
        ensemble.predict_proba(X_val, lines).p_over, restored.predict_proba(X_val, lines).p_over, rtol=1e-5, atol=1e-6
    )
