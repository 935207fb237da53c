"""The model-side pieces of a training step, shared by the trainer, distillation and ``actkit bench --train``:
memory layout (channels-last), ``torch.compile``, and the forward pass the loss scores (per sample or per frame).
"""
from __future__ import annotations

import torch
import torch.nn as nn


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """Channels-last layout for images (4-D) and clips (5-D)."""
    return x.contiguous(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)


def use_channels_last(model: nn.Module, device: torch.device, setting: str = "auto") -> bool:
    """``run.channels_last``: on, off, or auto (always on GPU; on CPU where the model family trains
    faster so, ``model.cpu_channels_last``)."""
    if setting not in ("auto", "on", "off"):
        raise ValueError(f"run.channels_last must be auto, on or off, got {setting!r}")
    if setting != "auto":
        return setting == "on"
    return device.type == "cuda" or bool(getattr(model, "cpu_channels_last", False))


def _has_conv3d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv3d) for m in model.modules())


def to_channels_last(model: nn.Module) -> nn.Module:
    """The model with channels-last weights: 3-D layout when it has 3-D convolutions, else 2-D."""
    return model.to(memory_format=torch.channels_last_3d if _has_conv3d(model) else torch.channels_last)


def channels_last_inputs(model: nn.Module) -> bool:
    """Whether a channels-last model's inputs should be made channels-last too: images always; clips
    only for models with 3-D convolutions (the others fold time into the batch themselves, and their
    first convolution's layout follows the weights). Decided once per run, not per batch."""
    return model.data_cfg.num_frames <= 1 or _has_conv3d(model)


def compile_model(model: nn.Module) -> nn.Module:
    """``torch.compile(model)`` (inductor) for the training and evaluation passes (``run.compile``).

    Save and export ``model`` itself, never the result: the compiled wrapper's ``state_dict`` keys
    carry an ``_orig_mod.`` prefix. A streaming model's ``forward_frames``, which per-frame training
    calls instead of ``forward``, is compiled too; other attributes read through to ``model``.
    """
    compiled = torch.compile(model)
    if hasattr(model, "forward_frames"):
        # object.__setattr__: the wrapper's own __setattr__ would set it on ``model``, which stays eager.
        object.__setattr__(compiled, "forward_frames", torch.compile(model.forward_frames))
    return compiled


def forward_scored(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets as the loss sees them: per sample, or per frame when ``y`` holds one
    class per frame ``(B, T)`` (streaming models' ``forward_frames``, flattened to ``(B*T, K)``;
    frames with a negative target are left out)."""
    if y.dim() == 2 and not y.is_floating_point():
        frames = model(x, frames=True) if isinstance(model, nn.parallel.DistributedDataParallel) else model.forward_frames(x)
        logits, y = frames.flatten(0, 1), y.flatten()
        keep = y >= 0
        return logits[keep.to(logits.device)], y[keep]
    return model(x), y
