"""Causal sliding-window multi-head attention with RoPE.

One module serves both uses: self-attention in the backbone (queries and keys from the same
stream) and the recursion's cross-attention (queries from the latent z, keys/values from the
gated features x, computed once per forward). Position i may attend to j in [i - W + 1, i].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cognate.model.layers import apply_rotary

KeysValues = tuple[Tensor, Tensor]  # each [B, H, m, head_dim], keys already rotated


def window_mask(
    query_positions: Tensor,
    key_positions: Tensor,
    window: int,
    key_valid: Tensor | None = None,
    query_segments: Tensor | None = None,
    key_segments: Tensor | None = None,
) -> Tensor:
    """Boolean mask of allowed (query, key) pairs, broadcastable to [B, H, n, m].

    query_positions [n] or [B, n]; key_positions [m]; key_valid [B, m] marks real (not
    padding) keys. A padding key is attended to only by its own position, so that every
    query row keeps one allowed key (a fully masked row would make softmax produce NaN).
    Packed rows pass segment ids (query [B, n], key [B, m]): attention stays in a segment.
    """
    if query_positions.dim() == 1:
        query_positions = query_positions[None]
    delta = query_positions[:, :, None] - key_positions[None, None, :]  # [B or 1, n, m]
    allowed = (delta >= 0) & (delta < window)
    if key_valid is not None:
        allowed = (allowed & key_valid[:, None, :]) | (delta == 0)
    if query_segments is not None and key_segments is not None:
        allowed = allowed & (query_segments[:, :, None] == key_segments[:, None, :])
    return allowed[:, None]  # [B or 1, 1, n, m]


class Attention(nn.Module):
    """Multi-head attention: queries [B, n, D] against precomputed keys/values -> [B, n, D]."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.kv_proj = nn.Linear(d_model, 2 * d_model, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        # Set by the optimizer's QK-clip: per-head max attention logit of the last forward.
        self.record_max_logits = False
        self.max_logits: Tensor | None = None

    def _heads(self, x: Tensor) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, -1).transpose(1, 2)

    def keys_values(self, source: Tensor, cos: Tensor, sin: Tensor) -> KeysValues:
        """source [B, m, D] at the positions of (cos, sin) [m, head_dim] -> rotated keys, values."""
        k, v = self.kv_proj(source).chunk(2, dim=-1)
        return apply_rotary(self._heads(k), cos, sin), self._heads(v)

    def forward(
        self, query_input: Tensor, kv: KeysValues, cos: Tensor, sin: Tensor, mask: Tensor | None
    ) -> Tensor:
        """Queries at the positions of (cos, sin): [n, head_dim], or [B, 1, n, head_dim].

        mask: boolean, broadcastable to [B, H, n, m]. None means every key is allowed when
        n == 1 (one decoded token) and plain causal attention when n == m.
        """
        q = apply_rotary(self._heads(self.q_proj(query_input)), cos, sin)
        k, v = kv
        if self.record_max_logits:
            self._record(q, k, mask)
        is_causal = mask is None and q.shape[2] > 1
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
        batch, _, length, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, -1))

    @torch.no_grad()
    def _record(self, q: Tensor, k: Tensor, mask: Tensor | None) -> None:
        logits = (q.float() @ k.float().transpose(-1, -2)) * q.shape[-1] ** -0.5
        if mask is None:
            n, m = logits.shape[-2:]
            mask = torch.ones(n, m, dtype=torch.bool, device=q.device).tril(m - n)
        logits = logits.masked_fill(~mask, float("-inf"))
        per_head = logits.amax(dim=(0, 2, 3))
        self.max_logits = per_head if self.max_logits is None else self.max_logits.maximum(per_head)
