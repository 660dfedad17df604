"""Starting or resuming a run directory: what it holds must match what was asked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cognate.checkpoint import Checkpoint, load_checkpoint
from cognate.config import TrainConfig
from cognate.train import TrainingError
from cognate.train.options import TrainOptions


def last_checkpoint(run_dir: Path, resume: bool) -> Checkpoint | None:
    """The `last` checkpoint (with its resume state) of the run to resume; None for a new run,
    which needs a run directory that holds no checkpoint."""
    if not resume:
        if any(run_dir.glob("*.safetensors")):
            raise TrainingError(
                f"{run_dir} already holds a run; add --resume to continue it or "
                "choose another --out"
            )
        return None
    if not (run_dir / "last.json").exists():
        raise TrainingError(
            f"{run_dir}/last: nothing to resume (no last checkpoint); start without --resume"
        )
    return load_checkpoint(run_dir / "last", with_state=True)


def started_as(given: TrainOptions, checkpoint: Checkpoint) -> TrainOptions:
    """`given` with the seed, tokenizer, data and training config the run was started with,
    which a resumed run keeps (its budget and how it runs may change)."""
    run = checkpoint.metadata["run"]
    for name in ("spec", "preset"):
        if getattr(given, name) != run[name]:
            raise TrainingError(
                f"{Path(given.out)}: the run was started with --{name} {run[name]}, "
                f"not {getattr(given, name)}; resume it with the same command"
            )
    return replace(
        given,
        seed=run["seed"],
        tokenizer=run["tokenizer"],
        data=Path(run["data"]) if run["data"] else None,
        config=TrainConfig.from_dict(checkpoint.metadata["train_config"]),
    )
