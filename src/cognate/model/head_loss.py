"""The LM head's cross-entropy without the [N, V] logits: computed a block of rows at a time.

A 50,257-token vocabulary makes the logits of 2,048 targets 400 MB in fp32; materialising
them, their log-softmax and its gradient dominated a phase1 training step on CPU. Here each
block of rows gets its logits, loss, "is the target the argmax" and logit gradient at once, and
the gradients of the inputs and of the (tied) weight are finished in the forward pass: the
backward pass only scales them. The weight is cast and its gradient formed once per call, so
callers pass every recursion step's rows in one call (`row_weights` weighs each row's loss).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

ROWS_PER_BLOCK = 256  # 256 x 50,257 fp32 logits: 51 MB, a few blocks' worth of L3
# The logit gradients of this many bytes of rows are kept for one product with the weight:
# adding a [V, D] block gradient in fp32 for every block of rows took a fifth of a phase1
# step on random data.
GRADIENT_BUFFER_BYTES = 256 * 2**20


class HeadLoss(NamedTuple):
    loss: Tensor  # [] the weighted sum of the rows' cross-entropies (differentiable)
    row_losses: Tensor  # [N] each row's cross-entropy (not differentiable)
    correct: Tensor  # [N] bool: the row's target has the largest logit


class _HeadCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, targets: Tensor, row_weights: Tensor, dtype):
        n, vocab = x.shape[0], weight.shape[0]
        xc, wc = x.to(dtype), weight.to(dtype)
        exact = torch.promote_types(dtype, torch.float32)  # of the softmax and the sums
        row_weights = row_weights.to(exact)
        row_losses = torch.empty(n, dtype=exact, device=x.device)
        correct = torch.empty(n, dtype=torch.bool, device=x.device)
        grad_x = torch.empty_like(x)
        grad_weight = None
        buffered = max(GRADIENT_BUFFER_BYTES // (vocab * xc.element_size()), ROWS_PER_BLOCK)
        buffered = max(min(buffered // ROWS_PER_BLOCK * ROWS_PER_BLOCK, n), 1)
        # Vocabulary-major [V, rows]: weight @ x.T is faster than x @ weight.T when K = D is
        # short (benchmarks/RESULTS.md, "Training speed"), and the softmax's sums over the
        # vocabulary are then over contiguous columns.
        grad_logits = torch.empty(vocab, buffered, dtype=dtype, device=x.device)
        for chunk_start in range(0, n, buffered):
            chunk = slice(chunk_start, min(chunk_start + buffered, n))
            chunk_grad = grad_logits[:, : chunk.stop - chunk.start]
            for start in range(chunk.start, chunk.stop, ROWS_PER_BLOCK):
                rows = slice(start, min(start + ROWS_PER_BLOCK, chunk.stop))
                block_targets = targets[None, rows]
                logits = (wc @ xc[rows].T).to(exact)  # [V, b]
                target_logit = logits.gather(0, block_targets)  # [1, b]
                max_logit = logits.amax(dim=0, keepdim=True)
                correct[rows] = (target_logit >= max_logit).squeeze(0)
                exp = logits.sub_(max_logit).exp_()  # in place: the block's one [V, b] buffer
                total = exp.sum(dim=0, keepdim=True)
                row_losses[rows] = (max_logit + total.log() - target_logit).squeeze(0)
                # d(loss)/d logits = row weight * (softmax - one_hot(target))
                probs = exp.div_(total)
                probs.scatter_add_(0, block_targets, probs.new_full(block_targets.shape, -1.0))
                in_chunk = slice(rows.start - chunk.start, rows.stop - chunk.start)
                chunk_grad[:, in_chunk] = probs.mul_(row_weights[None, rows])
            grad_x[chunk] = chunk_grad.T @ wc
            chunk_grad_weight = chunk_grad @ xc[chunk]
            if grad_weight is None:
                grad_weight = chunk_grad_weight.to(exact)
            else:
                grad_weight += chunk_grad_weight
        if grad_weight is None:  # no rows
            grad_weight = torch.zeros_like(weight)
        ctx.save_for_backward(grad_x, grad_weight.to(weight.dtype))
        ctx.mark_non_differentiable(row_losses, correct)
        return (row_weights * row_losses).sum(), row_losses, correct

    @staticmethod
    def backward(ctx, grad_loss: Tensor, _grad_rows: Tensor | None, _grad_correct: Tensor | None):
        grad_x, grad_weight = ctx.saved_tensors
        return grad_x * grad_loss, grad_weight * grad_loss, None, None, None


def head_cross_entropy(
    x: Tensor, weight: Tensor, targets: Tensor, row_weights: Tensor | None = None
) -> HeadLoss:
    """Cross-entropy of the logits x @ weight.T against targets, weighted by row: x [N, D],
    weight [V, D], targets [N], row_weights [N] (default 1 / N: the mean) -> `HeadLoss`.

    Equals `(row_weights * F.cross_entropy(F.linear(x, weight), targets, reduction="none"))
    .sum()`, and `correct` equals `logits.argmax(-1) == targets` (up to ties); the products
    take autocast's dtype when autocast is on.
    """
    if row_weights is None:
        row_weights = torch.full((x.shape[0],), 1.0 / max(x.shape[0], 1), device=x.device)
    device = x.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
    with torch.autocast(device, enabled=False):
        return HeadLoss(*_HeadCrossEntropy.apply(x, weight, targets, row_weights, dtype))
