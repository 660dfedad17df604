"""MAG gate: blend backbone features with the memory read-out, per position and channel.

g = sigmoid(W_g relu(W_c [h; m])),     x = g * h + (1 - g) * m

Without a long-term memory (an ablation) the gate is that of m = 0: g = sigmoid(W_g relu(W_c h)),
x = g * h.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GATE_BIAS_INIT = 1.0  # start leaning on the backbone (g ~ 0.73) while the memory is untrained


class MAGGate(nn.Module):
    """(h, m) each [B, L, D] -> (x [B, L, D], g [B, L, D]); m is None without a memory."""

    def __init__(self, d_model: int, with_memory: bool = True) -> None:
        super().__init__()
        self.combine = nn.Linear((2 if with_memory else 1) * d_model, d_model)
        self.to_gate = nn.Linear(d_model, d_model)
        nn.init.constant_(self.to_gate.bias, GATE_BIAS_INIT)

    def forward(self, h: Tensor, m: Tensor | None) -> tuple[Tensor, Tensor]:
        if m is None:
            g = torch.sigmoid(self.to_gate(F.relu(self.combine(h))))
            return g * h, g
        g = torch.sigmoid(self.to_gate(F.relu(self.combine(torch.cat([h, m], dim=-1)))))
        return g * h + (1.0 - g) * m, g


def gate_entropy_loss(g: Tensor) -> Tensor:
    """Negative mean binary entropy of the gate: minimising it keeps g away from 0 and 1."""
    g = g.float().clamp(1e-6, 1 - 1e-6)
    entropy = -(g * g.log() + (1 - g) * (1 - g).log())
    return -entropy.mean()
