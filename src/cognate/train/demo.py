"""`cognate demo`: train the three specialized models in sequence, test them, write the report.

A demo directory that already holds runs is continued: finished runs are kept, interrupted
ones resume from their `last` checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from cognate.config import SPECIALIZATIONS, TrainConfig
from cognate.errors import CognateError
from cognate.evaluate.report import write_report
from cognate.train.trainer import TrainOptions, train

TESTING_MINUTES_PER_MODEL = 1.0  # test suites, sampled health check, performance probe, figures


def run_demo(out: Path, minutes: float, console: Console) -> Path:
    specs = list(SPECIALIZATIONS)
    per_model = (minutes - TESTING_MINUTES_PER_MODEL * len(specs)) / len(specs)
    if per_model < 0.5:
        raise CognateError(
            f"--minutes {minutes} is too short: give at least "
            f"{len(specs) * (0.5 + TESTING_MINUTES_PER_MODEL):.0f} minutes"
        )
    for spec in specs:
        run_dir = out / spec
        if (run_dir / "final.json").exists():
            console.print(f"[bold]{spec}[/]: finished run in {run_dir}, kept")
            continue
        resume = (run_dir / "last.json").exists()
        console.print(
            f"[bold]{spec}[/]: training for {per_model:.1f} minutes"
            + (" (resuming)" if resume else "")
        )
        train(
            TrainOptions(
                out=run_dir, spec=spec, minutes=per_model, resume=resume, config=TrainConfig()
            )
        )
    console.print("testing the models and writing the report")
    return write_report([out / spec for spec in specs], out / "REPORT.md")
