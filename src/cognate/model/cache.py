"""The decode cache: what decoding needs about the tokens seen so far, for one batch.

`CognateModel.encode(..., use_cache=True)` fills a `DecodeState` from a prompt's parallel
pass; `cognate.infer.decoder.Decoder.step` then advances it in place, one token at a time.
Each cache is a ring along its position dimension: position p lives in slot p % window, so a
new token's keys overwrite those of the position that has just left its window. A cache
starts with room for twice the prompt and doubles when full, up to `window` slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from cognate.model.attention import KeysValues
from cognate.model.layers import apply_rotary


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

    @property
    def capacity(self) -> int:
        """Slots of each cache: they grow up to `window`."""
        return self.cross_kv[0].shape[2]

    def make_room(self) -> int:
        """The slot of the next token, after doubling the caches if they are full."""
        slot = self.position % self.window
        if slot == self.capacity:
            # Slots 0..capacity-1 hold positions 0..capacity-1: the ring has not wrapped yet.
            size = min(2 * self.capacity, self.window)
            self.layer_kv = [_ring_kv(kv, size, self.window) for kv in self.layer_kv]
            self.cross_kv = _ring_kv(self.cross_kv, size, self.window)
            if self.key_valid is not None:
                self.key_valid = _ring(self.key_valid, size, self.window, dim=1)
        return slot

    def store_conv_history_as(self, dtype: torch.dtype) -> None:
        """Convert the convolutions' history to dtype, if it is not in it yet."""
        if self.conv_history is not None and self.conv_history[0].dtype != dtype:
            self.conv_history = [h.to(dtype) for h in self.conv_history]

    def real_slots(self) -> Tensor:
        """[B, slots] bool: the slot holds a token of the sequence (not padding, not empty)."""
        filled = torch.arange(self.capacity, device=self.memory.device) < self.position
        filled = filled.expand(len(self.memory), -1)
        return filled if self.key_valid is None else filled & self.key_valid

    def delay(self, shift: int, cos: Tensor, sin: Tensor) -> None:
        """Renumber the positions `shift` later, as `shift` more tokens of left padding would.

        Keys turn on by the rotary angles of `shift` (cos, sin [1, head_dim]: attention sees
        only differences of positions) and move `shift` slots along the ring, which grows as
        far as the new positions need (up to `window`); the slots they leave are padding.
        """
        size = min(self.window, max(self.capacity, self.position + shift))
        valid = _with_slots(self.real_slots(), size, dim=1).roll(shift, dims=1)

        def moved(kv: KeysValues) -> KeysValues:
            k, v = (_with_slots(t, size, dim=2).roll(shift, dims=2) for t in kv)
            return apply_rotary(k, cos, sin), v

        self.layer_kv = [moved(kv) for kv in self.layer_kv]
        self.cross_kv = moved(self.cross_kv)
        self.key_valid = valid
        self.position += shift

    def select(self, rows: Tensor) -> DecodeState:
        """The state of some of the sequences: rows [n] are indices along the batch."""

        def pick(t: Tensor) -> Tensor:
            return t.index_select(0, rows)

        return DecodeState(
            position=self.position,
            window=self.window,
            layer_kv=[(pick(k), pick(v)) for k, v in self.layer_kv],
            cross_kv=(pick(self.cross_kv[0]), pick(self.cross_kv[1])),
            memory=pick(self.memory),
            conv_history=None if self.conv_history is None else list(map(pick, self.conv_history)),
            key_valid=None if self.key_valid is None else pick(self.key_valid),
        )

    @staticmethod
    def concat(states: Sequence[DecodeState]) -> DecodeState:
        """The states of sequences at one position, as one batch (in the order given).

        A cache with fewer slots than the largest has not wrapped (a ring wraps only once it
        has `window` slots), so it grows by empty slots at its end.
        """
        first = states[0]
        if any((s.position, s.window) != (first.position, first.window) for s in states):
            raise ValueError("only the states of sequences at the same position can be joined")
        slots = max(s.capacity for s in states)

        def joined(tensors: list[Tensor], dim: int) -> Tensor:
            return torch.cat([_with_slots(t, slots, dim) for t in tensors])

        key_valid = None
        if any(s.key_valid is not None for s in states):
            key_valid = joined([s.real_slots() for s in states], dim=1)
        conv_history = None
        if first.conv_history is not None:
            dtype = first.conv_history[0].dtype
            conv_history = [
                torch.cat([s.conv_history[i].to(dtype) for s in states])
                for i in range(len(first.conv_history))
            ]
        return DecodeState(
            position=first.position,
            window=first.window,
            layer_kv=[
                tuple(joined([s.layer_kv[i][j] for s in states], dim=2) for j in (0, 1))
                for i in range(len(first.layer_kv))
            ],
            cross_kv=tuple(joined([s.cross_kv[j] for s in states], dim=2) for j in (0, 1)),
            memory=torch.cat([s.memory for s in states]),
            conv_history=conv_history,
            key_valid=key_valid,
        )


def _with_slots(t: Tensor, slots: int, dim: int) -> Tensor:
    """t with empty (zero) slots added at the end of dim, up to `slots`."""
    return F.pad(t, (0, 0) * (t.dim() - 1 - dim) + (0, slots - t.shape[dim]))


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
