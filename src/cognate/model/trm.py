"""TRM recursion: refine a latent z and an answer state y from the gated features x.

    z_0 = W_z x,  y_0 = W_y x
    one recursion step:  n times:  z += CrossAttn(norm(z + y), x);  z += MLP(norm(z + y))
                         then:     y += MLP_y(norm([y; z]))
The cross-attention is causal (keys/values from x, computed once per forward); everything
else is per position, so a token's depth never depends on later tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cognate.model.attention import Attention, KeysValues
from cognate.model.layers import RMSNorm, SwiGLU


class Recursion(nn.Module):
    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        micro_steps: int,
        eps: float,
        kv_conv_width: int = 1,
    ) -> None:
        super().__init__()
        self.micro_steps = micro_steps
        self.init_z = nn.Linear(d_model, d_model, bias=False)
        self.init_y = nn.Linear(d_model, d_model, bias=False)
        self.attn_norm = RMSNorm(d_model, eps=eps)
        self.cross_attn = Attention(d_model, n_heads, kv_conv_width)
        self.z_norm = RMSNorm(d_model, eps=eps)
        self.z_mlp = SwiGLU(d_model, d_ff, d_model)
        self.y_norm = RMSNorm(2 * d_model, eps=eps)
        self.y_mlp = SwiGLU(2 * d_model, d_ff // 2, d_model)

    def start(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x [B, n, D] -> (z_0, y_0), each [B, n, D]."""
        return self.init_z(x), self.init_y(x)

    def step(
        self,
        z: Tensor,
        y: Tensor,
        kv: KeysValues,
        cos: Tensor,
        sin: Tensor,
        mask: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        """One recursion step for queries at the positions of (cos, sin): (z, y) -> (z, y)."""
        for _ in range(self.micro_steps):
            z = z + self.cross_attn(self.attn_norm(z + y), kv, cos, sin, mask)
            z = z + self.z_mlp(self.z_norm(z + y))
        y = y + self.y_mlp(self.y_norm(torch.cat([y, z], dim=-1)))
        return z, y
