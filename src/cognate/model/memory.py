"""Long-term memory: a per-channel exponentially decaying state, one per sequence.

    m_t = a * m_{t-1} + (1 - a) * W_down h_t,     out_t = W_up m_t,     m_0 = 0

The state is an argument and a return value, never a buffer: nothing about a batch survives
a forward call or lands in a checkpoint. Training uses the parallel form (chunks of
`CHUNK` tokens, each a small matrix product); decoding advances one token at a time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CHUNK = 64


class LongTermMemory(nn.Module):
    """[B, L, d_model] features -> ([B, L, d_model] memory read-out, final state [B, d_mem])."""

    def __init__(self, d_model: int, d_mem: int, decay_init: float, learnable_decay: bool) -> None:
        super().__init__()
        self.d_mem = d_mem
        self.down = nn.Linear(d_model, d_mem, bias=False)
        self.up = nn.Linear(d_mem, d_model, bias=False)
        logit = math.log(decay_init / (1.0 - decay_init))
        self.decay_logit = nn.Parameter(torch.full((d_mem,), logit), requires_grad=learnable_decay)

    def initial_state(self, batch_size: int, device: torch.device) -> Tensor:
        return torch.zeros(batch_size, self.d_mem, device=device)

    def forward(
        self,
        h: Tensor,
        state: Tensor | None = None,
        valid: Tensor | None = None,
        segment_starts: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """h [B, L, D]; state [B, d_mem] or None (zeros); valid [B, L] masks padding inputs.

        segment_starts [B, L]: for packed rows, the index where each position's sequence
        starts; the memory restarts from zero there.
        """
        log_a = F.logsigmoid(self.decay_logit.float())  # [d_mem]
        inputs = self.down(h).float() * (1.0 - log_a.exp())  # [B, L, d_mem]
        if valid is not None:
            inputs = inputs * valid[..., None]
        if state is None:
            state = self.initial_state(h.shape[0], h.device)
        states = []
        with torch.autocast(h.device.type, enabled=False):  # the recurrence stays in fp32
            for chunk in inputs.split(CHUNK, dim=1):
                n = chunk.shape[1]
                steps = torch.arange(n, device=h.device, dtype=torch.float32)
                lag = steps[:, None] - steps[None, :]  # [n, n]: t - s
                decay = torch.exp(lag.clamp(min=0)[..., None] * log_a)  # [n, n, d_mem]: a^(t-s)
                decay = decay * (lag >= 0)[..., None]
                carried = torch.exp((steps[:, None] + 1) * log_a)  # [n, d_mem]: a^(t+1)
                chunk_states = torch.einsum("tsd,bsd->btd", decay, chunk) + carried * state[:, None]
                states.append(chunk_states)
                state = chunk_states[:, -1]
        memory = torch.cat(states, dim=1)
        if segment_starts is not None:
            memory = _restart_at_segments(memory, log_a, segment_starts)
        return self.up(memory.to(h.dtype)), state

    def step(self, h: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """One token: h [B, D], state [B, d_mem] -> (read-out [B, D], new state)."""
        a = torch.sigmoid(self.decay_logit.float())
        state = a * state + (1.0 - a) * self.down(h).float()
        return self.up(state.to(h.dtype)), state


def _restart_at_segments(memory: Tensor, log_a: Tensor, starts: Tensor) -> Tensor:
    """Turn the states of one long recurrence into states that restart at every segment.

    With p the start of t's segment, the recurrence gives m_t = a^(t-p+1) m_(p-1) + (terms
    from p..t), so the restarted state is m_t - a^(t-p+1) m_(p-1)  (m_(-1) = 0).
    """
    _, length, d_mem = memory.shape
    steps = torch.arange(length, device=memory.device)
    before = (starts - 1).clamp(min=0)
    carried = memory.gather(1, before[..., None].expand(-1, -1, d_mem)) * (starts > 0)[..., None]
    decay = torch.exp((steps - starts + 1)[..., None].float() * log_a)  # [B, L, d_mem]
    return memory - decay * carried
