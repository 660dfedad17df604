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


ABLATION = ("reasoning-t1", "reasoning", 1)  # run directory, specialization, T_max
MIN_TRAINING_MINUTES = 0.5  # per model


def training_minutes(minutes: float) -> dict[str, float]:
    """Each specialization's training minutes in a demo of `minutes`, testing included: what
    is left after TESTING_MINUTES_PER_MODEL each, split by `Specialization.demo_share`."""
    training = minutes - TESTING_MINUTES_PER_MODEL * len(SPECIALIZATIONS)
    total_share = sum(s.demo_share for s in SPECIALIZATIONS.values())
    return {name: training * s.demo_share / total_share for name, s in SPECIALIZATIONS.items()}


def _train_in_processes(
    run_dir: Path, spec: str, minutes: float, resume: bool, n: int, t_max: int | None
) -> None:
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}"),
        *("-m", "cognate", "train", "--spec", spec, "--out", str(run_dir)),
        *("--minutes", f"{minutes:.3f}", "--device", "cpu"),
        *(["--resume"] if resume else []),
        *(["--t-max", str(t_max)] if t_max is not None else []),
    ]
    done = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    if done.returncode != 0:
        raise CognateError(
            f"training {spec} with {n} processes failed (exit status {done.returncode}, "
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
    minutes are split by `Specialization.demo_share`. `ablation` adds a fourth run with
    reasoning's budget.
    """
    specs = list(SPECIALIZATIONS)
    budget = training_minutes(minutes)
    runs: list[tuple[str, str, int | None]] = [(spec, spec, None) for spec in specs]
    if ablation:
        runs.append(ABLATION)
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
    for name, spec, t_max in runs:
        run_dir = out / name
        if (run_dir / "final.json").exists():
            console.print(f"[bold]{name}[/]: finished run in {run_dir}, kept")
            continue
        resume = (run_dir / "last.json").exists()
        console.print(
            f"[bold]{name}[/]: training for {budget[spec]:.1f} minutes"
            + (f" with {processes} processes" if processes > 1 else "")
            + (" (resuming)" if resume else "")
        )
        if processes > 1:
            _train_in_processes(run_dir, spec, budget[spec], resume, processes, t_max)
        else:
            overrides = {} if t_max is None else {"t_max": t_max}
            options = TrainOptions(
                out=run_dir,
                spec=spec,
                minutes=budget[spec],
                resume=resume,
                model_overrides=overrides,
            )
            train(options)
    console.print("testing the models and writing the report")
    report = write_report([out / name for name, _, _ in runs], out / "REPORT.md")
    console.print(
        f"chat with them, watch their curves, call them with an OpenAI client: cognate serve {out}"
    )
    return report
