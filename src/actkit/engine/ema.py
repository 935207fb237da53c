"""A moving average of a model's weights, the model a run evaluates and saves (``--optim.ema``).

After every optimiser step the average moves towards the trained weights by ``1 - decay``
(Polyak averaging as in timm's ``ModelEmaV2``); BatchNorm statistics are averaged the same way and
integer buffers copied. The decay warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates,
so the first steps' random weights are soon forgotten. The average is a smoother, usually better
generalising model than the last step's weights, and the epoch-to-epoch swings that make "best on
val" a noisy choice are smaller.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn


class WeightAverage:
    """An exponential moving average of ``model``'s state; ``module`` is the averaged model (eval mode)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"optim.ema must be in (0, 1) (0 turns it off), got {decay}")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(getattr(model, "_orig_mod", model)).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights (call after each optimiser step)."""
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        from .distributed import unwrap

        ours, theirs = self.module.state_dict(), unwrap(model).state_dict()
        for key, avg in ours.items():
            new = theirs[key].detach()
            if avg.dtype.is_floating_point:
                avg.lerp_(new.to(avg.dtype), 1.0 - d)
            else:
                avg.copy_(new)
        self.updates += 1

    def state(self) -> dict[str, Any]:
        return {"updates": self.updates}

    def load_state(self, state: dict[str, Any], weights: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(weights)
        self.updates = int(state["updates"])
