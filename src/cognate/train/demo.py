"""`cognate demo`: train the three specialized models in sequence, test them, write the report.

A demo directory that already holds runs is continued: finished runs are kept, interrupted
ones resume from their `last` checkpoint. With `processes` > 1 each model trains under
`torchrun` (DDP, one thread per process), which on a few CPU cores is faster than one
process using all of them: the model is too small for threads to share its matrix products.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from cognate.config import SPECIALIZATIONS
from cognate.errors import CognateError
from cognate.evaluate.report import write_report
from cognate.train.options import TrainOptions
from cognate.train.trainer import train

TESTING_MINUTES_PER_MODEL = 1.0  # test suites, sampled health check, performance probe, figures
# Two single-thread processes trained the tiny preset faster than one two-thread process
# (benchmarks/RESULTS.md, "Processes"); more would split a batch too thinly.
DEFAULT_PROCESSES = min(2, os.cpu_count() or 1)
MIN_TRAINING_MINUTES = 0.5  # per model


@dataclass(frozen=True)
class Run:
    """One run of the demo: a specialization's recipe, with some ModelConfig fields changed."""

    name: str  # its run directory, inside the demo directory
    spec: str  # the specialization: its recipe and its training minutes
    # ModelConfig fields -> values; each is also a `cognate train` option (t_max: --t-max)
    overrides: dict[str, int] = field(default_factory=dict)


# `--ablation`: the memory model without each part of the architecture, for the same minutes
# (ACT halting against all steps needs no run: the report scores `memory` both ways).
ABLATION = (
    Run("memory-t1", "memory", {"t_max": 1}),  # the recursion off
    Run("memory-noltm", "memory", {"d_mem": 0}),  # the long-term memory off
)


def training_minutes(minutes: float) -> dict[str, float]:
    """Each specialization's training minutes in a demo of `minutes`, testing included: what
    is left after TESTING_MINUTES_PER_MODEL each, split by `Specialization.demo_share`."""
    training = minutes - TESTING_MINUTES_PER_MODEL * len(SPECIALIZATIONS)
    total_share = sum(s.demo_share for s in SPECIALIZATIONS.values())
    return {name: training * s.demo_share / total_share for name, s in SPECIALIZATIONS.items()}


def _train_in_processes(run_dir: Path, run: Run, minutes: float, resume: bool, n: int) -> None:
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}"),
        *("-m", "cognate", "train", "--spec", run.spec, "--out", str(run_dir)),
        *("--minutes", f"{minutes:.3f}", "--device", "cpu"),
        *(["--resume"] if resume else []),
    ]
    for name, value in run.overrides.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    done = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    if done.returncode != 0:
        raise CognateError(
            f"training {run.name} with {n} processes failed (exit status {done.returncode}, "
            "details above); rerun the same command to resume, or use --processes 1"
        )


def run_demo(
    out: Path,
    minutes: float,
    console: Console,
    processes: int = DEFAULT_PROCESSES,
    ablation: bool = False,
) -> Path:
    """Train (or keep, or resume) every run, then test them all and write DIR/REPORT.md.

    `minutes` is the budget of the three specialized models, testing included; their training
    minutes are split by `Specialization.demo_share`. `ablation` adds the `ABLATION` runs,
    each with its specialization's training minutes (on top of `minutes`).
    """
    specs = list(SPECIALIZATIONS)
    budget = training_minutes(minutes)
    runs = [Run(spec, spec) for spec in specs] + list(ABLATION if ablation else ())
    if min(budget.values()) < MIN_TRAINING_MINUTES:
        shares = [s.demo_share for s in SPECIALIZATIONS.values()]
        needed = MIN_TRAINING_MINUTES * sum(shares) / min(shares)
        needed += TESTING_MINUTES_PER_MODEL * len(specs)
        raise CognateError(
            f"--minutes {minutes} is too short: give at least {math.ceil(needed)} minutes"
        )
    batch_sizes = sorted({SPECIALIZATIONS[spec].batch_size for spec in specs})
    if processes < 1 or any(size % processes for size in batch_sizes):
        raise CognateError(
            f"--processes {processes}: use a number >= 1 that divides the batch sizes "
            f"({', '.join(map(str, batch_sizes))} rows)"
        )
    for run in runs:
        run_dir = out / run.name
        if (run_dir / "final.json").exists():
            console.print(f"[bold]{run.name}[/]: finished run in {run_dir}, kept")
            continue
        resume = (run_dir / "last.json").exists()
        console.print(
            f"[bold]{run.name}[/]: training for {budget[run.spec]:.1f} minutes"
            + (f" with {processes} processes" if processes > 1 else "")
            + (" (resuming)" if resume else "")
        )
        if processes > 1:
            _train_in_processes(run_dir, run, budget[run.spec], resume, processes)
        else:
            options = TrainOptions(
                out=run_dir,
                spec=run.spec,
                minutes=budget[run.spec],
                resume=resume,
                model_overrides=run.overrides,
            )
            train(options)
    console.print("testing the models and writing the report")
    report = write_report([out / run.name for run in runs], out / "REPORT.md")
    console.print(
        f"chat with them, watch their curves, call them with an OpenAI client: cognate serve {out}"
    )
    return report
