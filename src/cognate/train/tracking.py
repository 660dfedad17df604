"""What a run reports as it trains: metrics (JSONL in the run directory always; Weights & Biases
and TensorBoard on request) and a progress bar on the console."""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cognate.atomic import write_atomically
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
        text = "".join(json.dumps(r) + "\n" for r in kept)
        write_atomically(run_dir / METRICS_FILE, lambda temporary: temporary.write_text(text))

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


# What --wandb and --tensorboard need: flag -> (module, the package to install)
TRACKERS = {
    "--wandb": ("wandb", "wandb"),
    "--tensorboard": ("torch.utils.tensorboard", "tensorboard"),
}


def tracker_module(flag: str) -> ModuleType:
    """The module a tracking flag needs; a one-line CognateError saying what to install."""
    module, package = TRACKERS[flag]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CognateError(
            f"{flag} needs the {package} package: pip install 'cognate[{package}]'"
        ) from None


def _start_wandb(run_dir: Path, run_name: str) -> Any:
    wandb = tracker_module("--wandb")
    os.environ.setdefault("WANDB_MODE", "offline")  # online only if the user asks for it
    return wandb.init(project="cognate", name=run_name, dir=str(run_dir))


def _start_tensorboard(run_dir: Path) -> Any:
    summary_writer = tracker_module("--tensorboard").SummaryWriter
    return summary_writer(log_dir=str(run_dir / "tensorboard"))


def progress_bar(label: str, show: bool) -> Progress:
    """A bar of a run's budget: share used, time, time left, and a `task.fields[info]` text."""
    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        disable=not show,
        transient=False,
    )


class RunTracker:
    """A training loop's reports: train records (with the tokens/s of the steps since the last
    one) and validations go to the metrics log (rank 0's; None on the other ranks), the latest
    figures and the share of the budget used to the progress bar."""

    def __init__(self, metrics: MetricsLog | None, bar: Progress, progress: float) -> None:
        self.metrics = metrics
        self.bar = bar
        self.task = bar.add_task("train", total=1000, completed=int(1000 * progress), info="")
        self.window_tokens, self.window_start = 0, time.perf_counter()

    def log(self, record: dict[str, Any]) -> None:
        """Write `record` to the metrics log (on rank 0)."""
        if self.metrics is not None:
            self.metrics.log(record)

    def trained(self, step: int, elapsed: float, stats: dict[str, float] | None, log: bool) -> None:
        """After step `step`: count its tokens; with `log`, write its train record."""
        if stats is None:  # skipped for a non-finite value
            return
        self.window_tokens += int(stats["tokens"])
        if not log:
            return
        now = time.perf_counter()
        tokens_per_s = self.window_tokens / max(1e-9, now - self.window_start)
        self.window_tokens, self.window_start = 0, now
        rounded = {k: round(v, 5) if isinstance(v, float) else v for k, v in stats.items()}
        record = {"kind": "train", "step": step, "elapsed": round(elapsed, 2), **rounded}
        self.log({**record, "tokens_per_s": round(tokens_per_s, 5)})
        self.bar.update(self.task, info=f"loss {stats['lm_loss']:.3f}  {tokens_per_s:,.0f} tok/s")

    def validated(self, val_loss: float, exact_match: float) -> None:
        """After a validation (which the tokens/s do not count): the window starts again, its
        tokens too, or the steps before it would be divided by the time of the steps after."""
        self.bar.update(self.task, info=f"val loss {val_loss:.3f}  exact {exact_match:.1%}")
        self.window_tokens, self.window_start = 0, time.perf_counter()

    def moved(self, progress: float) -> None:
        """Show the share of the budget used."""
        self.bar.update(self.task, completed=int(1000 * progress))
