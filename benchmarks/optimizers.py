"""AdamW vs MuGrokfast vs Muon (MuGrokfast without the Grokfast filter) on the tiny preset.

Same specialization, data, seed and schedule; two budgets per optimizer:
  * equal steps: every optimizer trains `--steps` steps;
  * equal time: every optimizer trains `--minutes` of wall clock.
Reports validation loss and exact-match (EMA weights, the trainer's own validation) and the
held-out test exact-match of the final weights. Run it on an otherwise idle machine:

    .venv/bin/python benchmarks/optimizers.py --spec reasoning --steps 600 --minutes 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from cognate import load
from cognate.config import TrainConfig
from cognate.evaluate.suites import exact_match, heldout_suite, run_items
from cognate.rundir import read_metrics
from cognate.train.options import TrainOptions
from cognate.train.trainer import train

OPTIMIZERS = ("adamw", "mugrokfast", "muon")
RESULTS = Path(__file__).parent / "results" / "optimizers.md"


def run(spec: str, optimizer: str, budget: dict, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    meta = train(
        TrainOptions(
            out=out,
            spec=spec,
            config=TrainConfig(optimizer=optimizer),
            show_progress=False,
            **budget,
        )
    )
    wall = time.perf_counter() - started
    last = [r for r in read_metrics(out) if r["kind"] == "validation"][-1]
    bundle = load(out / "final")
    test = exact_match(run_items(bundle.model, bundle.tokenizer, heldout_suite(spec)))
    return {
        "optimizer": optimizer,
        "steps": meta["step"],
        "seconds": wall,
        "val_loss": last["val_loss"],
        "val_em": last["exact_match"],
        "test_em": test,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", default="reasoning")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = []
    for label, budget in (
        ("equal steps", {"steps": args.steps}),
        ("equal time", {"minutes": args.minutes}),
    ):
        for optimizer in OPTIMIZERS:
            row = run(args.spec, optimizer, budget, Path("runs/bench-optim") / optimizer)
            rows.append({"budget": label, **row})
            print(rows[-1], flush=True)
    lines = [
        "# Optimizers on the tiny preset",
        "",
        f"`benchmarks/optimizers.py --spec {args.spec} --steps {args.steps} --minutes "
        f"{args.minutes}`; load average before {load_before[0]:.2f}, after "
        f"{os.getloadavg()[0]:.2f}. Validation: the trainer's last validation (EMA weights, "
        "greedy exact-match on the validation split); test: held-out test split, final weights.",
        "",
        "| budget | optimizer | steps | seconds | s/step | val loss | val exact-match "
        "| test exact-match |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['budget']} | {r['optimizer']} | {r['steps']} | {r['seconds']:.0f} "
            f"| {r['seconds'] / r['steps']:.3f} | {r['val_loss']:.4f} | {r['val_em']:.1%} "
            f"| {r['test_em']:.1%} |"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
