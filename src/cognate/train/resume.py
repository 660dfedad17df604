"""Starting or resuming a run directory: what it holds must match what was asked.

A run directory is
- new (absent or empty): a run starts there; `--resume` has nothing to resume;
- a run (it holds `last`): `--resume` continues it; a start without `--resume` is refused;
- a start that stopped before its first `last` (it holds a lock file or other checkpoints):
  it starts over at step 0, with or without `--resume`, replacing the checkpoints it had
  (with `--resume`, with the options they record);
- anything else holds someone's files, which a run never writes over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cognate.checkpoint import Checkpoint, checkpoints_in, load_checkpoint, read_metadata
from cognate.config import TrainConfig
from cognate.data.datasets import Record, records_sha256
from cognate.rundir import LOCK_FILE
from cognate.train import TrainingError
from cognate.train.options import TrainOptions

FOREIGN_SHOWN = 3  # the names a refusal lists of a directory's files


@dataclass(frozen=True)
class Start:
    """How a run begins in its directory."""

    resumed: Checkpoint | None  # `last`, with its resume state, to continue from
    started_with: dict[str, Any] | None  # metadata whose options a resumed run keeps
    replaced: list[Path]  # the checkpoints of a start that stopped early, to remove
    note: str | None  # what to tell the user about it


def how_to_start(run_dir: Path, resume: bool) -> Start:
    """What `run_dir` holds decides how a run (asked to `resume` or not) begins there."""
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainingError(f"{run_dir} is a file; --out must be a directory")
    names = sorted(p.name for p in run_dir.iterdir()) if run_dir.is_dir() else []
    if (run_dir / "last.json").exists():
        if not resume:
            raise TrainingError(
                f"{run_dir} already holds a run; add --resume to continue it, or choose "
                "another --out"
            )
        last = load_checkpoint(run_dir / "last", with_state=True)
        return Start(last, last.metadata, [], None)
    if not names:
        if resume:
            raise TrainingError(
                f"{run_dir}: nothing to resume (no run there); start without --resume"
            )
        return Start(None, None, [], None)
    checkpoints = checkpoints_in(run_dir)
    if not checkpoints and LOCK_FILE not in names:
        shown = ", ".join(names[:FOREIGN_SHOWN]) + (", ..." if len(names) > FOREIGN_SHOWN else "")
        raise TrainingError(
            f"{run_dir} holds files that are not a Cognate run ({shown}); a run never writes "
            "over them: choose another --out"
        )
    started_with = read_metadata(checkpoints[0])[0] if resume and checkpoints else None
    note = None
    if resume or checkpoints:
        replacing = f", replacing {', '.join(p.name for p in checkpoints)}" if checkpoints else ""
        note = (
            f"{run_dir}: the run stopped before its first `last` checkpoint; starting it over "
            f"at step 0{replacing}"
        )
    return Start(None, started_with, checkpoints, note)


def started_as(given: TrainOptions, metadata: dict[str, Any]) -> TrainOptions:
    """`given` with the seed, tokenizer, data and training config the run was started with
    (its checkpoint's `metadata`), which a resumed run keeps (its budget and how it runs may
    change, and its data file may have moved: `same_data` checks it)."""
    run = metadata["run"]
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
        data=_data_file(given, run),
        config=TrainConfig.from_dict(metadata["train_config"]),
    )


def _data_file(given: TrainOptions, run: dict[str, Any]) -> Path | None:
    """The data file of a resumed run: the one given, else the one it was started with."""
    if run["data"] is None:
        if given.data is not None:
            raise TrainingError(
                f"{Path(given.out)}: the run was started without --data (on synthetic data); "
                "resume it without --data"
            )
        return None
    if given.data is not None:
        return given.data
    started_on = Path(run["data"])
    if not started_on.exists():
        raise TrainingError(
            f"{started_on}: the run's data file is gone; give its new place with --data"
        )
    return started_on


def same_data(data: Path, records: list[Record], metadata: dict[str, Any]) -> str | None:
    """Refuse `data` if its records are not the ones the run was trained on (runs that record
    their digest); a note when it is another file than the run's."""
    run = metadata["run"]
    digest = run.get("data_sha256")
    if digest is not None and records_sha256(records) != digest:
        raise TrainingError(
            f"{data}: its records differ from those the run was trained on ({run['data']}); "
            "resume on the same data, or start a new run"
        )
    if data.absolute() == Path(run["data"]).absolute():
        return None
    same = " (same records)" if digest is not None else ""
    return f"{data}: resuming on this file{same}; the run was trained on {run['data']}"
