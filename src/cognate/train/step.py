"""The gradient of one training step: the mean loss over the target tokens of all its
micro-batches, on all ranks, and the figures the metrics log of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from cognate.config import IGNORE_INDEX
from cognate.data.datasets import Batch
from cognate.hardware import autocast
from cognate.model import ModelOutput
from cognate.train.distributed import Distributed

# What the metrics log of each training step, averaged over the step's target tokens.
LOGGED = (
    "loss",
    "lm_loss",
    "act_loss",
    "gate_mean",
    "halt_steps_mean",
    "halt_steps_std",
    "accuracy",
)


class StepSums(NamedTuple):
    """One step's figures, over all its micro-batches and ranks."""

    logged: list[float]  # LOGGED, each a mean over the step's target tokens
    tokens: int  # input tokens (padding included)
    finite: bool  # whether every loss was finite


def accumulate_gradients(
    model: nn.Module, batches: Sequence[Batch], dist: Distributed, precision: str
) -> StepSums:
    """Forward and backward this rank's micro-batches of a step, adding to the gradients of
    `model` (zeroed before) the gradient of the step's loss.

    The loss is the mean over the target tokens of the whole step (all ranks, all
    micro-batches). The batches are known in advance, so their targets are counted (and summed
    over ranks) first; each micro-batch's mean loss is then weighted by its share of the
    targets, times world_size because DDP averages the gradients over ranks.
    """
    world, device = dist.world_size, dist.device
    counts = [int((batch.labels != IGNORE_INDEX).sum()) for batch in batches]
    global_targets = max(1.0, float(dist.sum(torch.tensor([sum(counts)]))))
    totals = torch.zeros(len(LOGGED) + 2, dtype=torch.float64)  # logged, tokens, non-finite
    for micro, (batch, count) in enumerate(zip(batches, counts, strict=True)):
        ids, labels = batch.input_ids.to(device), batch.labels.to(device)
        segments = batch.segments.to(device) if batch.segments is not None else None
        share = count / global_targets
        last = micro == len(batches) - 1
        with dist.no_sync(model, last), autocast(precision, device):
            out = model(ids, labels, segments=segments)
            loss = out.loss * (share * world)
        # Every rank runs every backward (DDP's all-reduce needs them all); a non-finite loss
        # on any rank makes the whole step skipped, on every rank.
        loss.backward()
        totals[: len(LOGGED)] += _logged(out) * share
        totals[-2] += ids.numel()
        totals[-1] += float(not torch.isfinite(loss))
    *logged, tokens, nonfinite = dist.sum(totals).tolist()
    return StepSums(logged, int(tokens), nonfinite == 0)


def _logged(out: ModelOutput) -> torch.Tensor:
    """The figures of a training forward that the metrics log (float64 [len(LOGGED)], CPU)."""
    figures = (
        out.loss.detach(),
        out.lm_loss,
        out.act_loss,
        out.gate_mean,
        out.halt_steps_mean,
        out.halt_steps_std,
        out.step_accuracy[-1],
    )
    return torch.stack([f.float() for f in figures]).cpu().double()
