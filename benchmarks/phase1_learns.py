"""Does the seed's shape learn, and does it generalise better than tiny at equal minutes?

    .venv/bin/python benchmarks/phase1_learns.py --spec reasoning --minutes 55

Trains the specialization at the phase1 shape (`--preset phase1`, the project's own BPE
tokenizer of 1,024 tokens) and at tiny for the same minutes, each with benchmarks/recipe.py under
torchrun (2 processes of 1 thread, as `make demo` trains), one after the other. Each run appends
its scores to results/recipe_log.jsonl; this script writes the two side by side, held-out
vocabulary and held-out sentence structures separately, to results/phase1_<spec>.md and their
validation curves against minutes to results/phase1_<spec>.png. `--plot-only` redraws both from
finished runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from recipe import LOG, run_dir

import cognate
from cognate.rundir import read_metrics

BENCHMARKS = Path(__file__).resolve().parent
RESULTS = BENCHMARKS / "results"
PRESETS = ("phase1", "tiny")

# What the table shows of a scored checkpoint: (column, recipe.py's group), beside the total.
GROUPS = (
    ("held-out structures", "heldout_template"),
    ("trained structures", "train_template"),
    ("made-up names", "made_up_names"),
)


def tag_of(preset: str, minutes: float) -> str:
    return f"{preset}-{minutes:g}min"


def train(spec: str, preset: str, minutes: float, train_overrides: dict) -> None:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(BENCHMARKS / "recipe.py"),
        "--spec",
        spec,
        "--preset",
        preset,
        "--minutes",
        str(minutes),
        "--train",
        json.dumps(train_overrides),
        "--tag",
        tag_of(preset, minutes),
    ]
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def validation_curve(run: Path) -> list[dict]:
    """The run's validations in order: {"minutes", "step", "exact_match", "val_loss"}.

    Minutes are training time (`elapsed` in metrics.jsonl), validation included.
    """
    return [
        {
            "minutes": record["elapsed"] / 60,
            "step": record["step"],
            "exact_match": record["exact_match"],
            "val_loss": record["val_loss"],
        }
        for record in read_metrics(run)
        if record["kind"] == "validation"
    ]


def plot(curves: dict[str, list[dict]], path: Path, title: str) -> None:
    """Validation exact-match and loss against training minutes, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, rows in curves.items():
        minutes = [r["minutes"] for r in rows]
        left.plot(minutes, [100 * r["exact_match"] for r in rows], marker="o", label=label)
        right.plot(minutes, [r["val_loss"] for r in rows], marker="o", label=label)
    left.set(xlabel="training minutes", ylabel="validation exact-match (%)", ylim=(0, 100))
    right.set(xlabel="training minutes", ylabel="validation loss (answer tokens)")
    right.set_yscale("log")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latest_rows(log: Path, spec: str, tags: list[str]) -> dict[str, dict]:
    """The newest recipe_log.jsonl row of each tag of this specialization that has one."""
    found: dict[str, dict] = {}
    for line in log.read_text().splitlines():
        row = json.loads(line)
        if row["spec"] == spec and row["tag"] in tags:
            found[row["tag"]] = row
    if not found:
        raise SystemExit(f"{log}: no {spec} row tagged {' or '.join(tags)}; train them first")
    return {tag: found[tag] for tag in tags if tag in found}


def table(rows: dict[str, dict], parameters: dict[str, int]) -> str:
    """Markdown: one line per run and checkpoint (best by validation, final)."""
    families = sorted(
        {k for row in rows.values() for k in row["final"]["groups"] if ":" not in k}
        - {group for _, group in GROUPS}
    )
    head = ["run", "parameters", "peak lr", "steps", "s/step", "checkpoint", "held-out test"]
    head += ["seed"]
    head += [column for column, _ in GROUPS] + families
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 6 + "---:|" * (len(head) - 6)]
    for name, row in rows.items():
        for checkpoint in ("best", "final"):
            scored = row[checkpoint]
            groups = scored["groups"]
            cells = [
                name,
                f"{parameters[name]:,}",
                f"{row['train'].get('lr', 'the spec’s')}",
                f"{row['steps']:,}",
                f"{row['seconds_per_step']:.2f}",
                f"{checkpoint} (step {row['best_step']:,})" if checkpoint == "best" else checkpoint,
                f"**{scored['heldout']:.1%}**",
                f"{scored['seed_correct']}/3",
            ]
            cells += [
                f"{groups[group]:.1%}" if group in groups else "–"
                for group in [g for _, g in GROUPS] + families
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parameter_count(checkpoint: Path) -> int:
    return cognate.load(checkpoint).model.parameter_counts()["total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="reasoning")
    parser.add_argument("--minutes", type=float, default=55.0, help="training minutes per model")
    parser.add_argument(
        "--phase1-batch-size",
        type=int,
        default=16,
        help="phase1's rows per step (tiny keeps its specialization's)",
    )
    parser.add_argument(
        "--phase1-lr",
        type=float,
        default=1e-3,
        help="phase1's peak learning rate (tiny keeps its specialization's)",
    )
    parser.add_argument("--plot-only", action="store_true", help="redraw from finished runs")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        help="the tag of another recipe.py run of the spec to show beside them",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        help="another run directory whose validation curve the picture shows too",
    )
    parser.add_argument(
        "--skip", choices=PRESETS, action="append", default=[], help="do not train this preset"
    )
    args = parser.parse_args()
    if not args.plot_only:
        for preset in PRESETS:
            if preset not in args.skip:
                overrides = {"eval_every": 250}
                if preset == "phase1":
                    overrides |= {"batch_size": args.phase1_batch_size, "lr": args.phase1_lr}
                train(args.spec, preset, args.minutes, overrides)

    tags = {preset: tag_of(preset, args.minutes) for preset in PRESETS}
    rows = latest_rows(LOG, args.spec, [*tags.values(), *args.also])
    runs = {tag: run_dir(args.spec, tag) for tag in rows}
    parameters = {tag: parameter_count(runs[tag] / "final") for tag in rows}
    curves = {
        f"{tag} ({parameters[tag]:,} parameters)": validation_curve(runs[tag]) for tag in rows
    }
    for other in args.compare:
        curves[f"{other} ({parameter_count(other / 'final'):,} parameters)"] = validation_curve(
            other
        )
    title = f"{args.spec} at the phase1 shape: validation against training minutes"
    picture = RESULTS / f"phase1_{args.spec}.png"
    plot(curves, picture, title)
    report = RESULTS / f"phase1_{args.spec}.md"
    report.write_text(
        f"# {title}\n\n"
        f"`python benchmarks/phase1_learns.py {' '.join(sys.argv[1:])}`; "
        "held-out test split (300 items), seed prompts (3).\n\n"
        f"{table(rows, parameters)}\n\n![validation curves]({picture.name})\n"
    )
    print(report.read_text())


if __name__ == "__main__":
    main()
