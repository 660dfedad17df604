"""Recipe experiments: train one specialization under a budget, then score it on the test split.

    .venv/bin/python benchmarks/recipe.py --spec reasoning --minutes 5 \
        --model '{"d_model": 96}' --train '{"lr": 0.003}' --tag d96

Under torchrun it trains as `make demo` does (`OMP_NUM_THREADS=1 .venv/bin/python -m
torch.distributed.run --standalone --nproc_per_node 2 benchmarks/recipe.py ...`); rank 0 scores.

Appends one JSON line per run to benchmarks/results/recipe_log.jsonl (exact-match on the seed
prompts and on the held-out test split, per family and per template kind) for RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path

import torch

from cognate import load
from cognate.config import SPECIALIZATIONS, TrainConfig, get_specialization
from cognate.data.datasets import eval_set
from cognate.data.tasks import HELDOUT_TEMPLATES
from cognate.evaluate.suites import (
    HELDOUT_SEED,
    exact_match,
    examples_to_items,
    run_items,
    seed_suite,
)
from cognate.train.options import TrainOptions
from cognate.train.trainer import train

LOG = Path(__file__).parent / "results" / "recipe_log.jsonl"


def run_dir(spec: str, tag: str | None) -> Path:
    """Where a run of `spec` tagged `tag` trains (replaced by the next run of the same tag)."""
    return Path("runs/recipe") / f"{spec}-{tag or 'run'}"


def score(checkpoint: Path, spec: str, n: int) -> dict:
    bundle = load(checkpoint)
    examples = eval_set(get_specialization(spec).mixture, "test", n, HELDOUT_SEED)
    results = run_items(bundle.model, bundle.tokenizer, examples_to_items(examples))
    seed = run_items(bundle.model, bundle.tokenizer, seed_suite(spec))
    groups: dict[str, list] = defaultdict(list)
    for example, result in zip(examples, results, strict=True):
        groups[example.family].append(result)
        groups["template:" + example.template.rsplit(".", 1)[0]].append(result)
        kind = "heldout_template" if example.template in HELDOUT_TEMPLATES else "train_template"
        groups[kind].append(result)
        if example.names:
            groups["made_up_names"].append(result)
    return {
        "heldout": exact_match(results),
        "seed": [r.output.strip() for r in seed],
        "seed_correct": sum(r.correct for r in seed),
        "groups": {k: round(exact_match(v), 3) for k, v in sorted(groups.items())},
        "misses": [
            (r.prompt[-60:], r.expected, r.output.strip()) for r in results if not r.correct
        ][:12],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", default="reasoning")
    parser.add_argument("--preset", default="tiny", help="model preset (tiny, phase1)")
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--steps", type=int, default=None, help="a step budget instead")
    parser.add_argument("--model", default="{}", help="ModelConfig overrides (JSON)")
    parser.add_argument("--train", default="{}", help="TrainConfig overrides (JSON)")
    parser.add_argument("--tag", default="")
    parser.add_argument("--test-items", type=int, default=300, help="test examples scored")
    parser.add_argument("--seed", type=int, default=None, help="run seed (default: the spec's)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--training-mixture", default=None, help="the families training draws from (JSON)"
    )
    parser.add_argument(
        "--specialization",
        default="{}",
        help='Specialization overrides (JSON), e.g. \'{"mixture": {"stories": 1.0}}\'',
    )
    args = parser.parse_args()
    overrides = json.loads(args.specialization)
    if args.training_mixture is not None:
        overrides["training_mixture"] = json.loads(args.training_mixture)
    SPECIALIZATIONS[args.spec] = dataclasses.replace(SPECIALIZATIONS[args.spec], **overrides)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = run_dir(args.spec, args.tag)
    is_main = os.environ.get("RANK", "0") == "0"
    if is_main:
        shutil.rmtree(out, ignore_errors=True)
    config = TrainConfig(**json.loads(args.train))
    started = time.time()
    meta = train(
        TrainOptions(
            out=out,
            spec=args.spec,
            preset=args.preset,
            minutes=args.minutes,
            steps=args.steps,
            config=config,
            seed=args.seed,
            model_overrides=json.loads(args.model),
        )
    )
    if not is_main:
        return
    row = {
        "tag": args.tag,
        "spec": args.spec,
        "preset": args.preset,
        "minutes": args.minutes,
        "budget_steps": args.steps,
        "seconds_per_step": round(meta["train_seconds"] / max(1, meta["step"]), 4),
        "seed": args.seed,
        "model": json.loads(args.model),
        "training_mixture": get_specialization(args.spec).mixture_for_training,
        "specialization": overrides,
        "train": json.loads(args.train),
        "steps": meta["step"],
        "tokens": meta["tokens_seen"],
        "wall": round(time.time() - started),
        "best_step": meta["best"]["step"],
        "val_em": meta["best"]["exact_match"],
        "best": score(out / "best", args.spec, args.test_items),
        "final": score(out / "final", args.spec, args.test_items),
    }
    LOG.parent.mkdir(exist_ok=True)
    with LOG.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps({k: row[k] for k in ("tag", "steps", "tokens", "best_step", "val_em")}))
    for name in ("best", "final"):
        r = row[name]
        print(name, f"heldout {r['heldout']:.1%} seed {r['seed_correct']}/3 {r['seed']}")
        print("   ", r["groups"])
    for miss in row["final"]["misses"]:
        print("   miss:", miss)


if __name__ == "__main__":
    main()
