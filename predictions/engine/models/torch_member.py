"""The PyTorch member: an MLP that outputs the log mean and log dispersion, trained by the
distribution's negative log-likelihood (on CUDA when available)."""

from __future__ import annotations

import copy
import io
import math
from dataclasses import dataclass

import numpy as np

from predictions.engine import artifacts
from predictions.engine.distributions import fit_dispersion_scale
from predictions.engine.features import FeatureSchema
from predictions.engine.models.base import (
    LOG_DISPERSION_RANGE,
    LOG_MEAN_RANGE,
    DistParams,
    _adjusted_log_offset,
    _as_matrix,
    _check_kind,
    _check_offset,
    _DistModel,
    log_offset,
)
from predictions.engine.models.torch_state import state_dict_arrays


@dataclass(frozen=True)
class TorchConfig:
    hidden: tuple[int, ...] = (64, 32)
    epochs: int = 40
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    patience: int = 5
    # None: select_device() (CUDA when available); "cpu" or "cuda" to choose.
    device: str | None = None


def select_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _single_thread() -> None:
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _build_network(n_features: int, hidden: tuple[int, ...]):
    from torch import nn

    layers, width = [], n_features
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, 2))
    return nn.Sequential(*layers)


def _check_layer_shapes(state: dict[str, np.ndarray], n_features: int, hidden: tuple[int, ...]) -> None:
    """The weights fit the network _build_network makes (Linear layers at 0, 2, 4, ...)."""
    widths = [n_features, *hidden, 2]
    expected = {}
    for layer, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        expected[f"{2 * layer}.weight"] = (width_out, width_in)
        expected[f"{2 * layer}.bias"] = (width_out,)
    found = {name: array.shape for name, array in state.items()}
    if found != expected:
        raise ValueError(f"the network's weights {found} do not fit its layers {expected}")


def _torch_nll(family: str, output, y):
    """Negative log-likelihood per row; output[:, 0] = log mean, output[:, 1] = log dispersion.
    The yardage family uses the continuous normal density, which the discretised normal
    matches closely at yardage scales."""
    import torch

    log_mean = output[:, 0].clamp(*LOG_MEAN_RANGE)
    log_dispersion = output[:, 1].clamp(*LOG_DISPERSION_RANGE)
    mean = log_mean.exp()
    if family == "negbin":
        log_r = -log_dispersion
        r = log_r.exp()
        log_r_plus_mean = torch.logaddexp(log_r, log_mean)
        log_likelihood = (
            torch.lgamma(y + r)
            - torch.lgamma(r)
            - torch.lgamma(y + 1.0)
            + r * (log_r - log_r_plus_mean)
            + y * (log_mean - log_r_plus_mean)
        )
        return -log_likelihood
    variance = log_dispersion.exp() * mean.clamp(min=1.0)
    return 0.5 * torch.log(2 * math.pi * variance) + (y - mean) ** 2 / (2 * variance)


def _standardisation(X_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's mean and standard deviation over its finite training values (mean 0
    for a feature never seen, scale 1 for one that does not vary)."""
    finite = np.where(np.isfinite(X_train), X_train, np.nan)
    feature_mean = np.nan_to_num(np.nanmean(finite, axis=0))
    feature_scale = np.nan_to_num(np.nanstd(finite, axis=0))
    return feature_mean, np.where(feature_scale > 1e-9, feature_scale, 1.0)


def _start_from_marginal(network, family: str, y_train: np.ndarray, train_offset: np.ndarray | None) -> None:
    """Start the network's output at the marginal distribution so early epochs refine it
    rather than find it."""
    import torch

    mean_y = max(float(np.mean(y_train)), 0.1)
    # With an offset the network starts from the offset's overall ratio to the outcome.
    start_log_mean = math.log(mean_y) if train_offset is None else math.log(mean_y / np.mean(np.exp(train_offset)))
    variance_y = float(np.var(y_train))
    if family == "negbin":
        start_dispersion = max((variance_y - mean_y) / mean_y**2, 0.01)
    else:
        start_dispersion = max(variance_y / max(mean_y, 1.0), 0.1)
    with torch.no_grad():
        network[-1].bias.copy_(torch.tensor([start_log_mean, math.log(start_dispersion)]))
        network[-1].weight.mul_(0.1)


def _with_offset(output, log_offset):
    import torch

    return torch.stack([output[:, 0] + log_offset, output[:, 1]], dim=1)


def _train_network(network, *, family: str, config: TorchConfig, seed: int, train, validation) -> None:
    """Adam on the distribution's negative log-likelihood in mini-batches (order drawn from a
    CPU generator seeded with ``seed``), stopping after ``config.patience`` epochs without a
    validation gain; leaves the network at its best validation epoch, in eval mode."""
    import torch

    train_x, train_y, train_offset = train
    val_x, val_y, val_offset = validation
    device = train_x.device
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    best_loss, best_state, epochs_without_gain = float("inf"), copy.deepcopy(network.state_dict()), 0
    for _epoch in range(config.epochs):
        network.train()
        order = torch.randperm(len(train_y), generator=generator).to(device)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            output = _with_offset(network(train_x[batch]), train_offset[batch])
            loss = _torch_nll(family, output, train_y[batch]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        network.eval()
        with torch.inference_mode():
            val_loss = float(_torch_nll(family, _with_offset(network(val_x), val_offset), val_y).mean())
        if val_loss < best_loss - 1e-5:
            best_loss, best_state, epochs_without_gain = val_loss, copy.deepcopy(network.state_dict()), 0
        else:
            epochs_without_gain += 1
            if epochs_without_gain >= config.patience:
                break
    network.load_state_dict(best_state)
    network.eval()


class TorchDistModel(_DistModel):
    """An MLP (features -> 64 -> 32 -> 2) that outputs log mean and log dispersion, trained by
    the distribution's negative log-likelihood; feature standardisation lives in the artifact
    and missing features (no history yet) become the training mean (0 after scaling).

    The network's dispersion is learnt from training residuals, which understate the error
    of its own mean on unseen rows; ``dispersion_scale`` (one factor for all rows, fitted by
    maximum likelihood on the validation rows) widens it to what validation shows. With
    ``offset_feature`` the network's log mean is added to the log of that feature, as for
    XGBoost."""

    kind = "torch"

    def __init__(
        self,
        *,
        sport,
        stat,
        family,
        schema: FeatureSchema,
        network,
        feature_mean,
        feature_scale,
        hidden: tuple[int, ...],
        device: str | None = None,
        dispersion_scale: float = 1.0,
        line_temperature: float = 1.0,
        offset_feature: str | None = None,
        state: dict[str, np.ndarray] | None = None,
    ):
        _check_offset(family, schema, offset_feature)
        self.sport, self.stat, self.family, self.schema = sport, stat, family, schema
        self.offset_feature = offset_feature
        self.dispersion_scale = float(dispersion_scale)
        self.line_temperature = float(line_temperature)
        self.feature_mean = np.asarray(feature_mean, np.float64)
        self.feature_scale = np.asarray(feature_scale, np.float64)
        self.hidden = tuple(hidden)
        self._device = device
        # Loaded from an artifact, the weights are numpy arrays (torch_state) and the torch
        # network is built on first use: serving's numpy forward never needs it (or torch).
        self._state = state
        if network is None and state is None:
            raise ValueError("a torch member needs its network or its weights")
        self._network = None if network is None else network.to(self.device).eval()

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = select_device()
        return self._device

    @property
    def network(self):
        """The torch network (imports torch; built from the loaded weights on first use)."""
        if self._network is None:
            import torch

            # Normal tensors even when first asked for inside torch.inference_mode() (predict_params):
            # parameters made there could never join autograd (DeepExplainer needs gradients).
            with torch.inference_mode(False):
                network = _build_network(len(self.schema.names), self.hidden)
                network.load_state_dict({name: torch.from_numpy(array) for name, array in self._state.items()})
                self._network = network.to(self.device).eval()
        return self._network

    def numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each Linear layer's (weight transposed, bias) as float32 arrays, in order, for a
        numpy forward pass (engine.fast_pricing.NumpyMLP); no torch if it was never built."""
        if self._network is not None:
            state = {name: tensor.detach().cpu().numpy() for name, tensor in self._network.state_dict().items()}
        else:
            state = self._state
        indexes = sorted({int(name.split(".")[0]) for name in state})
        return [(state[f"{i}.weight"].T.copy(), state[f"{i}.bias"].copy()) for i in indexes]

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        scaled = (X - self.feature_mean) / self.feature_scale
        return np.nan_to_num(scaled, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)

    @classmethod
    def fit(
        cls,
        X_train,
        y_train,
        X_val,
        y_val,
        *,
        sport: str,
        stat: str,
        family: str,
        schema: FeatureSchema,
        seed: int,
        config: TorchConfig = TorchConfig(),
        offset_feature: str | None = None,
        train_offset_adjustment=None,
        validation_offset_adjustment=None,
    ) -> TorchDistModel:
        """Trains on ``config.device`` (default ``select_device()``: CUDA when available). The batch
        order and the initial weights come from CPU generators seeded with ``seed``, so a CUDA
        run starts exactly where a CPU run does and differs only by float rounding."""
        import torch

        _check_offset(family, schema, offset_feature)
        _single_thread()
        torch.manual_seed(seed)
        X_train, X_val = _as_matrix(X_train, schema), _as_matrix(X_val, schema)
        y_train, y_val = np.asarray(y_train, np.float64), np.asarray(y_val, np.float64)
        feature_mean, feature_scale = _standardisation(X_train)
        device = config.device or select_device()
        network = _build_network(X_train.shape[1], config.hidden)
        model = cls(
            sport=sport,
            stat=stat,
            family=family,
            schema=schema,
            network=network,
            feature_mean=feature_mean,
            feature_scale=feature_scale,
            hidden=config.hidden,
            device=device,
            offset_feature=offset_feature,
        )
        train_offset = _adjusted_log_offset(X_train, schema, offset_feature, train_offset_adjustment)
        _start_from_marginal(network, family, y_train, train_offset)
        val_offset = _adjusted_log_offset(X_val, schema, offset_feature, validation_offset_adjustment)
        _train_network(
            network,
            family=family,
            config=config,
            seed=seed,
            train=model._tensors(X_train, y_train, train_offset),
            validation=model._tensors(X_val, y_val, val_offset),
        )
        params = model.predict_params(X_val)
        model.dispersion_scale = fit_dispersion_scale(family, params.mean, params.dispersion, y_val)
        return model

    def _tensors(self, X: np.ndarray, y: np.ndarray, log_offset: np.ndarray | None):
        """Standardised features, outcomes and log offsets (0 without one) on the model's device."""
        import torch

        log_offset = np.zeros(len(X)) if log_offset is None else log_offset
        return (
            torch.from_numpy(self._standardise(X)).to(self.device),
            torch.from_numpy(y.astype(np.float32)).to(self.device),
            torch.from_numpy(log_offset.astype(np.float32)).to(self.device),
        )

    def predict_params(self, X) -> DistParams:
        import torch

        _single_thread()
        X = _as_matrix(X, self.schema)
        with torch.inference_mode():
            output = self.network(torch.from_numpy(self._standardise(X)).to(self.device)).cpu().numpy()
        output = output.astype(np.float64)
        row_offset = log_offset(X, self.schema, self.offset_feature)
        log_mean = output[:, 0] if row_offset is None else output[:, 0] + row_offset
        mean = np.exp(np.clip(log_mean, *LOG_MEAN_RANGE))
        dispersion = np.exp(np.clip(output[:, 1], *LOG_DISPERSION_RANGE)) * self.dispersion_scale
        return DistParams(mean=mean, dispersion=dispersion)

    def to_bytes(self) -> bytes:
        import torch

        buffer = io.BytesIO()
        state = {name: tensor.detach().cpu() for name, tensor in self.network.state_dict().items()}
        torch.save(state, buffer)
        metadata = {
            **self._base_metadata(),
            "hidden": list(self.hidden),
            "dispersion_scale": self.dispersion_scale,
            "feature_mean": self.feature_mean.tolist(),
            "feature_scale": self.feature_scale.tolist(),
        }
        return artifacts.pack(metadata, {"state_dict.pt": buffer.getvalue()})

    @classmethod
    def from_bytes(
        cls, artifact: bytes, *, expected_schema: FeatureSchema | None = None, device: str | None = None
    ) -> TorchDistModel:
        metadata, files = artifacts.unpack(artifact)
        return cls._from_parts(metadata, files, expected_schema, device)

    @classmethod
    def _from_parts(cls, metadata, files, expected_schema, device=None) -> TorchDistModel:
        schema = _check_kind(metadata, cls.kind, expected_schema)
        hidden = tuple(metadata["hidden"])
        state = state_dict_arrays(files["state_dict.pt"])
        _check_layer_shapes(state, len(schema.names), hidden)
        return cls(
            sport=metadata["sport"],
            stat=metadata["stat"],
            family=metadata["family"],
            schema=schema,
            network=None,
            state=state,
            feature_mean=metadata["feature_mean"],
            feature_scale=metadata["feature_scale"],
            hidden=hidden,
            device=device,
            dispersion_scale=metadata.get("dispersion_scale", 1.0),
            line_temperature=metadata.get("line_temperature", 1.0),
            offset_feature=metadata.get("offset_feature"),
        )
