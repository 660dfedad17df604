"""The LM head's cross-entropy without the [N, V] logits: computed a block of rows at a time.

A 50,257-token vocabulary makes the logits of 2,048 targets 400 MB in fp32; materialising
them, their log-softmax and its gradient dominated a phase1 training step on CPU. Here each
block of rows gets its logits, loss, "is the target the argmax" and logit gradient at once, and
the gradients of the inputs and of the (tied) weight are finished in the forward pass: the
backward pass only scales them.
"""

from __future__ import annotations

import torch
from torch import Tensor

ROWS_PER_BLOCK = 256  # 256 x 50,257 fp32 logits: 51 MB, a few blocks' worth of L3


class _HeadCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, targets: Tensor, dtype: torch.dtype):
        n = x.shape[0]
        xc, wc = x.to(dtype), weight.to(dtype)
        exact = torch.promote_types(dtype, torch.float32)  # of the softmax and the sums
        grad_x = torch.empty_like(x)
        grad_weight = torch.zeros(weight.shape, dtype=exact, device=weight.device)
        loss = torch.zeros((), dtype=exact, device=x.device)
        correct = torch.empty(n, dtype=torch.bool, device=x.device)
        for start in range(0, n, ROWS_PER_BLOCK):
            rows = slice(start, start + ROWS_PER_BLOCK)
            block_targets = targets[rows, None]
            logits = (xc[rows] @ wc.T).to(exact)  # [b, V]
            target_logit = logits.gather(1, block_targets)  # [b, 1]
            max_logit = logits.amax(dim=1, keepdim=True)
            correct[rows] = (target_logit >= max_logit).squeeze(1)
            exp = logits.sub_(max_logit).exp_()  # in place: the block's one [b, V] buffer
            total = exp.sum(dim=1, keepdim=True)
            loss += (max_logit + total.log() - target_logit).sum()
            # d(mean loss)/d logits = (softmax - one_hot(target)) / n
            probs = exp.div_(total)
            probs.scatter_add_(1, block_targets, probs.new_full(block_targets.shape, -1.0))
            grad_logits = probs.div_(n).to(dtype)
            grad_x[rows] = grad_logits @ wc
            grad_weight += grad_logits.T @ xc[rows]
        ctx.save_for_backward(grad_x, grad_weight.to(weight.dtype))
        ctx.mark_non_differentiable(correct)
        return loss / n, correct

    @staticmethod
    def backward(ctx, grad_loss: Tensor, _grad_correct: Tensor | None):
        grad_x, grad_weight = ctx.saved_tensors
        return grad_x * grad_loss, grad_weight * grad_loss, None, None


def head_cross_entropy(x: Tensor, weight: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of the logits x @ weight.T against targets, and which rows' targets
    have the largest logit: x [N, D], weight [V, D], targets [N] -> (loss [], correct [N]).

    Equals `F.cross_entropy(F.linear(x, weight), targets)` and `logits.argmax(-1) == targets`
    (up to ties); the products take autocast's dtype when autocast is on.
    """
    device = x.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
    with torch.autocast(device, enabled=False):
        return _HeadCrossEntropy.apply(x, weight, targets, dtype)
