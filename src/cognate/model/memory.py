"""Long-term memory: a per-channel exponentially decaying state, one per sequence.

    m_t = a * m_{t-1} + (1 - a) * W_down h_t,     out_t = W_up m_t,     m_0 = 0

The state is an argument and a return value, never a buffer: nothing about a batch survives
a forward call or lands in a checkpoint. Training uses the parallel form (a scan in
log2(L) elementwise rounds); decoding advances one token at a time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LongTermMemory(nn.Module):
    """[B, L, d_model] features -> ([B, L, d_model] memory read-out, final state [B, d_mem])."""

    def __init__(self, d_model: int, d_mem: int, decay_init: float, learnable_decay: bool) -> None:
        super().__init__()
        self.down = nn.Linear(d_model, d_mem, bias=False)
        self.up = nn.Linear(d_mem, d_model, bias=False)
        logit = math.log(decay_init / (1.0 - decay_init))
        self.decay_logit = nn.Parameter(torch.full((d_mem,), logit), requires_grad=learnable_decay)

    def forward(
        self,
        h: Tensor,
        state: Tensor | None = None,
        valid: Tensor | None = None,
        segment_starts: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """h [B, L, D]; state [B, d_mem] or None (zeros); valid [B, L] masks padding inputs.

        segment_starts [B, L] bool: for packed rows, the positions where a new sequence
        starts; the memory restarts from zero there.
        """
        with torch.autocast(h.device.type, enabled=False):  # the recurrence stays in fp32
            a = torch.sigmoid(self.decay_logit.float())  # [d_mem]
            inputs = self.down(h).float() * (1.0 - a)  # [B, L, d_mem]
            if valid is not None:
                inputs = inputs * valid[..., None]
            decay = a.expand_as(inputs)
            if segment_starts is not None:
                decay = decay * ~segment_starts[..., None]
            memory, carried = _linear_scan(decay, inputs)
            if state is not None:
                memory = memory + carried * state[:, None]
        return self.up(memory.to(h.dtype)), memory[:, -1]

    def step(self, h: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """One token: h [B, D], state [B, d_mem] -> (read-out [B, D], new state)."""
        a = torch.sigmoid(self.decay_logit.float())
        state = a * state + (1.0 - a) * self.down(h).float()
        return self.up(state.to(h.dtype)), state


def _linear_scan(decay: Tensor, inputs: Tensor) -> tuple[Tensor, Tensor]:
    """All states of m_t = decay_t * m_(t-1) + inputs_t from m_(-1) = 0, along dim 1.

    Hillis-Steele doubling: after the round with offset k, m_t sums the inputs of the last 2k
    positions, each times the decays between it and t, and `carried`_t is the product of those
    decays (so the state before the sequence enters as carried_t * m_(-1)).
    Returns (states, carried), both shaped like `inputs`.
    """
    states, carried = inputs, decay
    offset, length = 1, inputs.shape[1]
    while offset < length:
        earlier = F.pad(states[:, :-offset], (0, 0, offset, 0))
        states = states + carried * earlier
        carried = carried * F.pad(carried[:, :-offset], (0, 0, offset, 0), value=1.0)
        offset *= 2
    return states, carried
