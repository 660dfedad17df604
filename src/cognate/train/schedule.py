"""The learning-rate schedule: linear warmup, a flat stretch, then cosine decay to a floor."""

from __future__ import annotations

import math


class WarmupCosine:
    """Learning-rate factor: linear warmup over steps, flat until `decay_start` of the budget,
    then cosine decay to `min_ratio` over the rest.

    `progress` in [0, 1] is set by the trainer before each step: steps done / total steps,
    or elapsed / budgeted time. A plain object, so LambdaLR saves and restores its fields.
    """

    def __init__(self, warmup_steps: int, min_ratio: float, decay_start: float = 0.0) -> None:
        self.warmup_steps = warmup_steps
        self.min_ratio = min_ratio
        self.decay_start = decay_start
        self.progress = 0.0

    def __call__(self, step: int) -> float:
        warmup = min(1.0, (step + 1) / max(1, self.warmup_steps))
        decayed = (self.progress - self.decay_start) / (1.0 - self.decay_start)
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, decayed))))
        return warmup * (self.min_ratio + (1.0 - self.min_ratio) * cosine)
