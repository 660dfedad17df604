"""The decode cache: what decoding needs about the tokens seen so far, for one batch.

`CognateModel.encode(..., use_cache=True)` fills a `DecodeState` from a prompt's parallel
pass; `cognate.infer.decoder.Decoder.step` then advances it in place, one token at a time.
Each cache is a ring along its position dimension: position p lives in slot p % window, so a
new token's keys overwrite those of the position that has just left its window. A cache
starts with room for twice the prompt and doubles when full, up to `window` slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from cognate.model.attention import KeysValues


@dataclass
class DecodeState:
    """The ring caches, the memory state and the convolutions' history of a batch."""

    position: int  # of the next token
    window: int
    layer_kv: list[KeysValues]  # per backbone layer: rotated keys, values [B, H, slots, head_dim]
    cross_kv: KeysValues  # the recursion's cross-attention keys and values, the same way
    memory: Tensor  # [B, d_mem] long-term memory state
    # Per attention (backbone layers, then the cross-attention): the projections the
    # convolutions mix, of the last kv_conv_width - 1 positions [B, width - 1, C], oldest
    # first (C: 2D keys/values, 3D with the backbone's queries); None: no convolution.
    conv_history: list[Tensor] | None
    key_valid: Tensor | None  # [B, slots]: the slot holds a real token; None: no padding at all

    @classmethod
    def after_prompt(
        cls,
        layer_kv: list[KeysValues],
        cross_kv: KeysValues,
        memory: Tensor,
        projections: list[Tensor],
        valid: Tensor | None,
        window: int,
        conv_width: int,
    ) -> DecodeState:
        """The state after a prompt's L positions, from its parallel pass: the keys/values of
        every attention [B, H, L, head_dim], the memory state [B, d_mem], the projections
        each attention's convolutions mix [B, L, C], and valid [B, L] (None: no padding)."""
        length = cross_kv[0].shape[2]
        capacity = min(2 * length, window)
        return cls(
            position=length,
            window=window,
            layer_kv=[_ring_kv(kv, capacity, window) for kv in layer_kv],
            cross_kv=_ring_kv(cross_kv, capacity, window),
            memory=memory,
            conv_history=None
            if conv_width == 1
            else [_last_positions(p, conv_width - 1, valid) for p in projections],
            key_valid=None if valid is None else _ring(valid, capacity, window, dim=1),
        )

    def make_room(self) -> int:
        """The slot of the next token, after doubling the caches if they are full."""
        slot = self.position % self.window
        capacity = self.cross_kv[0].shape[2]
        if slot == capacity:
            # Slots 0..capacity-1 hold positions 0..capacity-1: the ring has not wrapped yet.
            size = min(2 * capacity, self.window)
            self.layer_kv = [_ring_kv(kv, size, self.window) for kv in self.layer_kv]
            self.cross_kv = _ring_kv(self.cross_kv, size, self.window)
            if self.key_valid is not None:
                self.key_valid = _ring(self.key_valid, size, self.window, dim=1)
        return slot

    def store_conv_history_as(self, dtype: torch.dtype) -> None:
        """Convert the convolutions' history to dtype, if it is not in it yet."""
        if self.conv_history is not None and self.conv_history[0].dtype != dtype:
            self.conv_history = [h.to(dtype) for h in self.conv_history]


def _ring(t: Tensor, capacity: int, window: int, dim: int) -> Tensor:
    """A cache of `capacity` slots along dim holding the positions 0..L-1 of t (its last
    `window` ones at most), position p in slot p % window."""
    length = t.shape[dim]
    keep = min(length, window)
    shape = list(t.shape)
    shape[dim] = capacity
    slots = torch.arange(length - keep, length, device=t.device) % window
    return t.new_zeros(shape).index_copy_(dim, slots, t.narrow(dim, length - keep, keep))


def _ring_kv(kv: KeysValues, capacity: int, window: int) -> KeysValues:
    """`_ring` of keys and values [B, H, L, head_dim] along their positions."""
    return _ring(kv[0], capacity, window, dim=2), _ring(kv[1], capacity, window, dim=2)


def _last_positions(projected: Tensor, count: int, valid: Tensor | None) -> Tensor:
    """The last `count` positions of projected [B, L, C] -> [B, count, C], zeros for padding
    and for positions before the start."""
    if valid is not None:
        projected = projected * valid[..., None].to(projected.dtype)
    return F.pad(projected, (0, 0, count, 0))[:, -count:]
