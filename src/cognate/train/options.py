"""What `cognate train` was asked to do: the options of one run."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cognate.config import Specialization, TrainConfig
from cognate.errors import CognateError

DEFAULT_MINUTES = 10.0  # the budget when none is given


@dataclass
class TrainOptions:
    """What `cognate train` was asked to do. The trainer reads these and never changes them."""

    out: Path
    spec: str = "reasoning"
    preset: str = "tiny"
    minutes: float | None = None
    steps: int | None = None
    epochs: float | None = None
    resume: bool = False
    data: Path | None = None
    tokenizer: str = "bpe"
    seed: int | None = None
    wandb: bool = False
    tensorboard: bool = False
    show_progress: bool = True
    device: str = "auto"
    compile: bool = False
    config: TrainConfig = field(default_factory=TrainConfig)
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def budget(self) -> dict[str, float | None]:
        """{"minutes", "steps", "epochs"}: the one given (or DEFAULT_MINUTES), the others None."""
        given = {"minutes": self.minutes, "steps": self.steps, "epochs": self.epochs}
        if sum(v is not None for v in given.values()) > 1:
            raise CognateError("give one budget: --minutes, --steps or --epochs")
        if all(v is None for v in given.values()):
            given["minutes"] = DEFAULT_MINUTES
        for name, value in given.items():
            if value is not None and value <= 0:
                raise CognateError(f"--{name} must be > 0")
        return given


def with_specialization_defaults(
    config: TrainConfig, specialization: Specialization
) -> TrainConfig:
    """`config` with the specialization's learning rate, batch size and row length where it
    gives none."""
    lr = specialization.lr if config.lr is None else config.lr
    batch_size = specialization.batch_size if config.batch_size is None else config.batch_size
    max_len = specialization.max_len if config.max_len is None else config.max_len
    return replace(config, lr=lr, batch_size=batch_size, max_len=max_len)
