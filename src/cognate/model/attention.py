"""Causal sliding-window multi-head attention with RoPE.

One module serves both uses: self-attention in the backbone (queries and keys from the same
stream) and the recursion's cross-attention (queries from the latent z, keys/values from the
gated features x, computed once per forward). Position i may attend to j in [i - W + 1, i].
With a `ShortConv`, the keys and values of position j (and, optionally, the queries of
position i) also mix in the projections of the few positions just before.
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


def recency_slopes(n_heads: int, recency_heads: int) -> Tensor:
    """Per head [H]: the attention logit a key loses per position of distance; 0 for the first
    n_heads - recency_heads heads, then 1/2, 1/4, ... (ALiBi's geometric slopes)."""
    slopes = torch.zeros(n_heads)
    slopes[n_heads - recency_heads :] = 2.0 ** -torch.arange(1.0, recency_heads + 1)
    return slopes


def with_recency(allowed: Tensor | None, slopes: Tensor, distance: Tensor) -> Tensor:
    """An additive attention mask: -slope * distance where allowed, -inf elsewhere.

    allowed: boolean, broadcastable to [B, 1, n, m], or None (every key); slopes [H]; distance
    [n, m] (query position - key position) -> [B or 1, H, n, m].
    """
    bias = -slopes.to(distance)[:, None, None] * distance  # [H, n, m]
    return bias if allowed is None else torch.where(allowed, bias, float("-inf"))


def earlier_in_sequence(
    length: int, width: int, valid: Tensor | None, segments: Tensor | None
) -> Tensor | None:
    """For a `ShortConv` of `width`: [width - 1, B, L, 1], 1.0 where position i - s
    (s = 1 .. width - 1) is a real token of the same sequence as i. None when every earlier
    position is (no padding, no packing: the start of the row cuts the mix off) or width is 1."""
    if width == 1 or (valid is None and segments is None):
        return None
    ids = segments if segments is not None else torch.zeros_like(valid, dtype=torch.long)
    keep = []
    for shift in range(1, width):
        same = F.pad(ids, (shift, 0), value=-1)[:, :length] == ids
        if valid is not None:
            same &= F.pad(valid, (shift, 0), value=False)[:, :length]
        keep.append(same)
    return torch.stack(keep)[..., None].float()


class ShortConv(nn.Module):
    """Adds to the projections (keys/values, or queries) of each position a learnt
    per-channel mix of those of the `width - 1` positions before it: [B, L, C] -> [B, L, C],
    the identity at init.

    A head can then match a key on the token before the one it reads: what a copying
    (induction) head otherwise needs a whole earlier layer for; convolved queries can match
    a name of several tokens at once (benchmarks/RESULTS.md, rows 29-38).
    """

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.width = width
        self.taps = nn.Parameter(torch.zeros(width - 1, channels))  # taps[s - 1]: position i - s

    def forward(self, projected: Tensor, earlier: Tensor | None) -> Tensor:
        """projected [B, L, C]; earlier from `earlier_in_sequence` (None: no padding or packing)."""
        length = projected.shape[1]
        out = projected
        for shift in range(1, self.width):
            before = F.pad(projected, (0, 0, shift, 0))[:, :length]
            if earlier is not None:
                before = before * earlier[shift - 1].to(before.dtype)
            out = out + self.taps[shift - 1].to(before.dtype) * before
        return out


class Attention(nn.Module):
    """Multi-head attention: queries [B, n, D] against precomputed keys/values -> [B, n, D]."""

    def __init__(
        self, d_model: int, n_heads: int, kv_conv_width: int = 1, conv_queries: bool = False
    ) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.kv_proj = nn.Linear(d_model, 2 * d_model, bias=False)
        convolved = kv_conv_width > 1
        self.kv_conv = ShortConv(2 * d_model, kv_conv_width) if convolved else None
        self.q_conv = ShortConv(d_model, kv_conv_width) if convolved and conv_queries else None
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        # Set by the optimizer's QK-clip: record the per-head max attention logit of training
        # forwards (not of evaluation or generation between two steps) until it clips.
        self.watch_max_logits = False
        self.max_logits: Tensor | None = None

    def _heads(self, x: Tensor) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, -1).transpose(1, 2)

    def keys_values(
        self, source: Tensor, cos: Tensor, sin: Tensor, earlier: Tensor | None = None
    ) -> tuple[KeysValues, Tensor]:
        """source [B, m, D] at the positions of (cos, sin) [m, head_dim] -> (rotated keys and
        values, the projections [B, m, 2D] before the convolution: what decoding continues
        the convolution from). earlier: see `earlier_in_sequence`."""
        projected = self.kv_proj(source)
        mixed = self.kv_conv(projected, earlier) if self.kv_conv is not None else projected
        k, v = mixed.chunk(2, dim=-1)
        return (apply_rotary(self._heads(k), cos, sin), self._heads(v)), projected

    def queries(
        self, query_input: Tensor, cos: Tensor, sin: Tensor, earlier: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """query_input [B, n, D] at the positions of (cos, sin): [n, head_dim], or
        [B, 1, n, head_dim] -> (rotated queries [B, H, n, head_dim], the projections [B, n, D]
        before the query convolution, if any)."""
        projected = self.q_proj(query_input)
        mixed = self.q_conv(projected, earlier) if self.q_conv is not None else projected
        return apply_rotary(self._heads(mixed), cos, sin), projected

    def forward(
        self, query_input: Tensor, kv: KeysValues, cos: Tensor, sin: Tensor, mask: Tensor | None
    ) -> Tensor:
        """query_input [B, n, D] -> [B, n, D]; see `queries` and `attend`."""
        return self.attend(self.queries(query_input, cos, sin)[0], kv, mask)

    def attend(self, q: Tensor, kv: KeysValues, mask: Tensor | None) -> Tensor:
        """Rotated queries [B, H, n, head_dim] against keys/values -> [B, n, D].

        mask: boolean, broadcastable to [B, H, n, m]. None means every key is allowed when
        n == 1 (one decoded token) and plain causal attention when n == m.
        """
        k, v = kv
        if self.watch_max_logits and self.training and torch.is_grad_enabled():
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
        logits = (
            logits.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else logits + mask
        )
        per_head = logits.amax(dim=(0, 2, 3))
        self.max_logits = per_head if self.max_logits is None else self.max_logits.maximum(per_head)
