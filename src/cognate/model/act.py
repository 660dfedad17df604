"""Adaptive computation time: a per-token halting head on the recursion's latent state.

Trained like the TRM paper's halting head: binary cross-entropy towards "this step's
prediction of this token is right". At inference a token stops at the first recursion step
whose halt probability reaches the threshold (at least one step, at most T_max).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from cognate.model.layers import RMSNorm


class HaltingHead(nn.Module):
    """z [..., D] -> halting logit [...]."""

    def __init__(self, d_model: int, eps: float) -> None:
        super().__init__()
        self.norm = RMSNorm(d_model, eps=eps)
        self.proj = nn.Linear(d_model, 1)

    def forward(self, z: Tensor) -> Tensor:
        return self.proj(self.norm(z)).squeeze(-1)


def halting_loss(halt_logits: Tensor, correct: Tensor) -> Tensor:
    """BCE of halt logits [N] against 'the prediction at this step is right' [N] (bool)."""
    return F.binary_cross_entropy_with_logits(halt_logits.float(), correct.float())


def halting_steps(halt_probs: Tensor, threshold: float) -> Tensor:
    """Steps per token: halt_probs [T, ...] -> [...] in 1..T, the first step reaching threshold."""
    reached = halt_probs >= threshold
    reached[-1] = True  # the last step always ends the recursion
    return reached.float().argmax(dim=0) + 1
