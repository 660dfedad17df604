"""Validation that tells the truth: the held-out loss at every recursion step, greedy exact
match by task family, and the health of sampled outputs (repetition, mode collapse)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import torch

from cognate.config import TrainConfig
from cognate.data.datasets import collate
from cognate.data.tokenizer import Tokenizer
from cognate.data.training_data import TrainingData
from cognate.evaluate.metrics import output_health
from cognate.evaluate.suites import TestItem, exact_match, exact_match_by_family, run_items
from cognate.hardware import autocast
from cognate.infer.sampling import HEALTH
from cognate.model import CognateModel

HEALTH_SAMPLING = dataclasses.replace(HEALTH, seed=1234)


@dataclass
class Validation:
    """One validation's figures, as the metrics log and the checkpoints' metadata hold them."""

    step: int
    epoch: int
    val_loss: float  # after the last recursion step
    val_loss_steps: list[float]  # after each recursion step
    exact_match: float
    exact_match_by_family: dict[str, float]
    act_steps_mean: float  # recursion steps the halting head took, over the greedy answers
    act_steps_std: float
    health: dict[str, Any]
    seconds: float

    def record(self) -> dict[str, Any]:
        return {"kind": "validation", **self.__dict__}

    def better_than(self, other: dict[str, Any] | None) -> bool:
        """More exact matches, then a lower loss, than the `record()` of another validation."""
        if other is None:
            return True
        return (self.exact_match, -self.val_loss) > (other["exact_match"], -other["val_loss"])


class Validator:
    """Validates models on one run's held-out data, `batch_size` rows at a time on `device`, in
    the config's (resolved) precision; the health check samples answers to the first
    `health_samples` questions."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        data: TrainingData,
        batch_size: int,
        config: TrainConfig,
        device: torch.device,
    ) -> None:
        self.tokenizer = tokenizer
        self.rows = data.val_rows
        self.items = [TestItem(*question) for question in data.val_questions]
        self.batch_size = batch_size
        self.health_samples = config.health_samples
        self.precision = config.precision
        self.device = device

    @torch.no_grad()
    def validate(self, model: CognateModel, step: int, epoch: int) -> Validation:
        start = time.perf_counter()
        losses = torch.zeros(model.config.t_max)
        targets = 0
        for i in range(0, len(self.rows), self.batch_size):
            batch = collate(self.rows[i : i + self.batch_size], self.tokenizer.eos_id)
            with autocast(self.precision, self.device):
                out = model(batch.input_ids.to(self.device), batch.labels.to(self.device))
            losses += out.step_losses.float().cpu() * out.n_targets
            targets += out.n_targets
        losses /= max(1, targets)
        results = run_items(model, self.tokenizer, self.items) if self.items else []
        steps = torch.tensor([s for r in results for s in r.act_steps], dtype=torch.float)
        health_items = self.items[: self.health_samples]
        sampled = (
            run_items(model, self.tokenizer, health_items, sampling=HEALTH_SAMPLING)
            if self.items
            else []
        )
        return Validation(
            step=step,
            epoch=epoch,
            val_loss=float(losses[-1]),
            val_loss_steps=[round(float(v), 5) for v in losses],
            exact_match=exact_match(results),
            exact_match_by_family=exact_match_by_family(results),
            act_steps_mean=float(steps.mean()) if steps.numel() else 0.0,
            act_steps_std=float(steps.std(unbiased=False)) if steps.numel() else 0.0,
            health=output_health([r.output for r in sampled]).as_dict(),
            seconds=round(time.perf_counter() - start, 2),
        )
