"""Setting a run up: what it checks before it writes anything (a bad option or data file is one
line, said before the tokenizer is trained, the slow part), then its directory, held by rank 0
while the run writes there."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from cognate.checkpoint import delete_checkpoint
from cognate.config import ModelConfig, model_config
from cognate.data.datasets import Record, load_user_data
from cognate.data.tokenizer import Tokenizer
from cognate.data.training_data import check_records
from cognate.errors import CognateError
from cognate.hardware import check_compiler
from cognate.rundir import METRICS_FILE, TOKENIZER_FILE, RunDirError, owning, writing
from cognate.train.distributed import Distributed
from cognate.train.options import TrainOptions
from cognate.train.resume import Start, same_data
from cognate.train.tracking import MetricsLog, tracker_module


def model_shape(options: TrainOptions, start: Start) -> ModelConfig:
    """The model of the run (a bad preset or model option is refused here); the tokenizer sets
    its vocabulary size."""
    if start.resumed is not None:
        return start.resumed.model_config  # checked against the weights' copy
    if start.started_with is not None:
        return ModelConfig.from_dict(start.started_with["model_config"])
    return model_config(options.preset, options.spec, **options.model_overrides)


def check_tools(options: TrainOptions, device: torch.device) -> None:
    """What --compile, --wandb and --tensorboard need is there."""
    if options.compile:
        check_compiler(device)
    for flag, wanted in (("--wandb", options.wandb), ("--tensorboard", options.tensorboard)):
        if wanted:
            tracker_module(flag)


def user_records(options: TrainOptions, start: Start, is_main: bool) -> list[Record]:
    """The records of the data file (none without one); a file too small, or, on resume, not
    holding the run's records, is refused here."""
    if options.data is None:
        return []
    records = load_user_data(options.data)
    check_records(options.data, records)
    if start.started_with is not None:
        note = same_data(options.data, records, start.started_with)
        if note is not None and is_main:
            warnings.warn(note, stacklevel=3)
    return records


def json_files(run_dir: Path) -> dict[str, int]:
    """When each JSON file of a run directory (checkpoint metadata, tokenizer) was written."""
    return {p.name: p.stat().st_mtime_ns for p in run_dir.glob("*.json")}


@contextlib.contextmanager
def owned_by_main(dist: Distributed, run_dir: Path, set_up: Callable[[], None]) -> Iterator[None]:
    """Rank 0 holds `run_dir` in the block (after `set_up`, which readies its files); the other
    ranks learn whether it could, and fail with it when it could not."""
    with contextlib.ExitStack() as held:
        refusal = None
        if dist.is_main:
            try:
                held.enter_context(owning(run_dir))
                set_up()
            except CognateError as error:
                refusal = error
        refusal = dist.from_main(refusal)
        if refusal is not None:
            raise refusal
        yield


def set_up_files(
    run_dir: Path, found: dict[str, int], start: Start, tokenizer: Tokenizer, step: int
) -> None:
    """The run directory as a run begins in it at `step` (rank 0, holding it); `found`: its
    JSON files when the start was decided."""
    if json_files(run_dir) != found:
        raise RunDirError(
            f"{run_dir}: another process wrote there while this run was starting; run the "
            "command again"
        )
    for stem in start.replaced:
        delete_checkpoint(stem)
    if start.resumed is None:
        with writing("the tokenizer", run_dir / TOKENIZER_FILE):
            tokenizer.save(run_dir / TOKENIZER_FILE)
    with writing("the metrics", run_dir / METRICS_FILE):
        MetricsLog.truncate_after(run_dir, step)
