"""An exponential moving average of the weights: the model that is validated and kept."""

from __future__ import annotations

import copy

import torch

from cognate.model import CognateModel


class EMA:
    """Exponential moving average of the weights, in a model of its own (used for validation)."""

    def __init__(self, model: CognateModel, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: CognateModel, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))  # average less while weights move fast
        ema = list(self.model.state_dict().values())
        current = list(model.state_dict().values())
        torch._foreach_lerp_(ema, current, 1.0 - decay)
