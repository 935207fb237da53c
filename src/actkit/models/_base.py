"""The model contract every actkit model follows, so trainer, exporter and streamer never special-case."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn as nn

COLOUR_MODES = ("rgb", "y", "lab", "luv")


@dataclass
class DataConfig:
    """What preprocessing a model expects; read by datasets, predictors and exporters.

    Attributes:
        input_size: (height, width) in pixels.
        colour: ``rgb``, ``y`` (luma only, 1 channel), ``lab`` or ``luv``; values scaled to [0, 1].
        mean: per-channel mean subtracted after scaling (zeros: none).
        std: per-channel std divided by (ones: none).
        num_frames: frames per clip (1 for image models).
        fps: frame rate the model was trained at (0 when not applicable).
    """

    input_size: tuple[int, int] = (32, 24)
    colour: str = "rgb"
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    num_frames: int = 1
    fps: float = 0.0

    def __post_init__(self) -> None:
        if self.colour not in COLOUR_MODES:
            raise ValueError(f"colour mode {self.colour!r} is not one of {COLOUR_MODES}")
        self.input_size = tuple(int(v) for v in self.input_size)
        n = self.in_chans
        if len(self.mean) != n:
            self.mean = tuple(self.mean[:1]) * n if len(self.mean) else (0.0,) * n
        if len(self.std) != n:
            self.std = tuple(self.std[:1]) * n if len(self.std) else (1.0,) * n

    @property
    def in_chans(self) -> int:
        return 1 if self.colour == "y" else 3

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class ActkitModel(nn.Module):
    """Base class: ``forward = forward_head(forward_features(x))``.

    Subclasses set ``self.cfg`` (their dataclass config), ``self.data_cfg`` and implement
    ``forward_features``, ``forward_head`` and ``reset_classifier``. ``num_classes`` is the
    number of logits: 1 means a binary sigmoid output.
    """

    cfg: Any
    data_cfg: DataConfig
    model_name: str = ""
    #: Whether training on CPU runs faster with channels-last weights and activations (measured per
    #: family; see ``run.channels_last``). GPUs always prefer channels-last.
    cpu_channels_last: bool = False

    @property
    def num_classes(self) -> int:
        return int(self.cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset_classifier(self, num_classes: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def input_shape(self, batch: int = 1) -> tuple[int, ...]:
        """The input the model takes: (N, C, H, W), or (N, C, T, H, W) for clips (``num_frames`` > 1)."""
        d = self.data_cfg
        h, w = d.input_size
        return (batch, d.in_chans, d.num_frames, h, w) if d.num_frames > 1 else (batch, d.in_chans, h, w)

    def config_dict(self) -> dict[str, Any]:
        d = asdict(self.cfg)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def count_params(model: nn.Module) -> int:
    """Trainable parameter count (BatchNorm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Logits to per-class probabilities; a single logit is a binary sigmoid -> (N, 2)."""
    if logits.shape[-1] == 1:
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], dim=-1)
    return torch.softmax(logits, dim=-1)
