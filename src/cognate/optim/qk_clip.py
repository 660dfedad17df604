"""Per-head QK-clip: stop attention logits from growing without bound.

After an optimizer step, a head whose largest pre-softmax logit on the step's batch exceeded
τ has its query rows and its key rows each scaled by √(τ / max), so that on the same batch it
would now peak at exactly τ. Heads under τ are left untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn

from cognate.model.attention import Attention


def enable_qk_clip(model: nn.Module) -> list[Attention]:
    """Make every attention module of `model` record its per-head max logit in training forwards.

    Returns the modules, to hand to `qk_clip` (or to `MuGrokfast`).
    """
    modules = [m for m in model.modules() if isinstance(m, Attention)]
    for module in modules:
        module.watch_max_logits = True
        module.max_logits = None
    return modules


@torch.no_grad()
def qk_clip(attention: Sequence[Attention], tau: float) -> int:
    """Clip the heads whose recorded max logit exceeds tau, reset the records; heads clipped.

    Under torch.distributed the maxima are reduced over ranks first, so every rank applies
    the same clip and the replicas stay identical.
    """
    if not attention:
        return 0
    device = attention[0].q_proj.weight.device
    maxima = torch.cat(
        [
            m.max_logits.to(device)
            if m.max_logits is not None
            else torch.full((m.n_heads,), float("-inf"), device=device)
            for m in attention
        ]
    )
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(maxima, op=dist.ReduceOp.MAX)
    clipped = 0
    per_module = maxima.split([m.n_heads for m in attention])
    for module, max_logits in zip(attention, per_module, strict=True):
        module.max_logits = None
        over = max_logits > tau
        if not bool(over.any()):
            continue
        scale = torch.where(over, (tau / max_logits).sqrt(), torch.ones_like(max_logits))
        q_weight = module.q_proj.weight  # [D, D], head h = rows h*head_dim .. (h+1)*head_dim
        rows = scale.repeat_interleave(q_weight.shape[0] // module.n_heads)[:, None]
        q_weight.mul_(rows.to(q_weight.dtype))
        module.kv_proj.weight[: q_weight.shape[0]].mul_(rows.to(q_weight.dtype))  # the keys
        clipped += int(over.sum())
    return clipped
