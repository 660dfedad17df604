"""Metrics: JSONL in the run directory always; Weights & Biases and TensorBoard on request."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cognate.errors import CognateError
from cognate.rundir import METRICS_FILE, read_metrics


class MetricsLog:
    """One JSON object per line: {"kind": "train" | "validation" | ..., "step": ..., ...}."""

    def __init__(
        self, run_dir: Path, run_name: str, use_wandb: bool = False, use_tensorboard: bool = False
    ) -> None:
        self.path = run_dir / METRICS_FILE
        self._file = self.path.open("a")
        self._wandb = _start_wandb(run_dir, run_name) if use_wandb else None
        self._tensorboard = _start_tensorboard(run_dir) if use_tensorboard else None

    @staticmethod
    def truncate_after(run_dir: Path, step: int) -> None:
        """Drop records logged after `step` (a resumed run logs those steps again)."""
        kept = [r for r in read_metrics(run_dir) if r.get("step", 0) <= step]
        path = run_dir / METRICS_FILE
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, path)

    def log(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        numbers = {
            f"{record['kind']}/{k}": v
            for k, v in record.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "step"
        }
        if self._wandb is not None:
            self._wandb.log(numbers, step=record["step"])
        if self._tensorboard is not None:
            for key, value in numbers.items():
                self._tensorboard.add_scalar(key, value, record["step"])

    def close(self) -> None:
        self._file.close()
        if self._wandb is not None:
            self._wandb.finish()
        if self._tensorboard is not None:
            self._tensorboard.close()


def _start_wandb(run_dir: Path, run_name: str) -> Any:
    try:
        import wandb
    except ImportError:
        raise CognateError(
            "--wandb needs the wandb package: pip install 'cognate[wandb]'"
        ) from None
    os.environ.setdefault("WANDB_MODE", "offline")  # online only if the user asks for it
    return wandb.init(project="cognate", name=run_name, dir=str(run_dir))


def _start_tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise CognateError(
            "--tensorboard needs the tensorboard package: pip install 'cognate[tensorboard]'"
        ) from None
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))
