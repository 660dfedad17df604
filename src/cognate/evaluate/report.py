"""The model testing report: what each run's model can and cannot do, from measurements.

`write_report(run_dirs, out)` tests each run's `best` checkpoint (selected by validation
exact-match on data disjoint from the test split) on the seed prompts and the held-out test
split, asks test questions inside chat transcripts and fresh, samples generations to check
output health, compares ACT halting with all recursion steps, probes load time / tokens per
second / peak memory in a fresh process, lists the checkpoints, and draws the loss,
exact-match and ACT figures. Runs of one specialization that differ in parts of the model are
compared on story questions (`cognate.evaluate.ablation`).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from cognate.checkpoint import checkpoints_in, read_metadata
from cognate.config import ModelConfig, get_specialization
from cognate.data.datasets import eval_set
from cognate.data.tasks import HELDOUT_TEMPLATES
from cognate.errors import CognateError
from cognate.evaluate import ablation
from cognate.evaluate.ablation import AblationScores
from cognate.evaluate.metrics import output_health
from cognate.evaluate.performance import measure_in_subprocess
from cognate.evaluate.suites import (
    CHAT_TRANSCRIPTS,
    HELDOUT_SEED,
    HELDOUT_SIZE,
    OPEN_PER_KIND,
    PromptResult,
    chat_scores,
    exact_match,
    exact_match_by_family,
    examples_to_items,
    open_suite,
    run_items,
    seed_suite,
)
from cognate.evaluate.transcripts import EPISODES
from cognate.infer.bundle import load
from cognate.infer.sampling import HEALTH, SCORING_ALL_STEPS
from cognate.model import CognateModel
from cognate.rundir import TOKENIZER_FILE, read_metrics

TESTED = "best"
SAMPLED = dataclasses.replace(HEALTH, seed=2025)
HEALTH_PROMPTS = 48


@dataclass
class ModelReport:
    run_dir: Path
    spec: str
    metadata: dict[str, Any]
    parameters: dict[str, int]
    seed_results: list[PromptResult]
    heldout: dict[str, float]  # overall, per family, per template kind, made-up names
    health: dict[str, Any]
    sampled: list[str]
    act_histogram: dict[int, int]
    act_mean: float
    act_std: float
    all_steps_exact_match: float
    test_seconds: float
    performance: dict[str, Any]
    inventory: list[dict[str, Any]]
    open_world: dict[str, float]  # exact-match per open-world question kind, and "all"
    chat: dict[str, float]  # questions, and exact-match inside transcripts and fresh
    figures: dict[str, str] = field(default_factory=dict)
    # By decoding, when the report compares the run with others of its specialization
    ablation_scores: dict[str, AblationScores] = field(default_factory=dict)


def _groups(examples: list, results: list[PromptResult]) -> dict[str, float]:
    buckets: dict[str, list[PromptResult]] = {"all": list(results)}
    for example, result in zip(examples, results, strict=True):
        buckets.setdefault(f"family {example.family}", []).append(result)
        kind = "held-out templates" if example.template in HELDOUT_TEMPLATES else "seen templates"
        buckets.setdefault(kind, []).append(result)
        if example.names:
            buckets.setdefault("made-up names", []).append(result)
    return {name: exact_match(group) for name, group in buckets.items()}


def _inventory(run_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for meta_file in sorted(run_dir.glob("*.json")):
        if meta_file.name == TOKENIZER_FILE:
            continue
        try:
            meta, files = read_metadata(meta_file.with_suffix(""))
        except CognateError as error:
            rows.append({"name": meta_file.stem, "problem": str(error)})
            continue
        metrics = meta.get("metrics") or {}
        rows.append(
            {
                "name": meta_file.stem,
                "step": meta.get("step"),
                "epoch": meta.get("epoch"),
                "weights": meta.get("weights"),
                "val_exact_match": metrics.get("exact_match"),
                "val_loss": metrics.get("val_loss"),
                "megabytes": round(sum(f.stat().st_size for f in files.values()) / 1e6, 2),
                "sha256": meta["files"]["weights"]["sha256"][:12],
            }
        )
    order = {"best": 0, "final": 1, "last": 2}
    return sorted(rows, key=lambda r: (order.get(r["name"], 3), r.get("step") or 0))


def _plot(report: ModelReport, records: list[dict[str, Any]], out_dir: Path) -> dict[str, str]:
    """The figures of one run from its metrics records; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in records if r["kind"] == "train"]
    val = [r for r in records if r["kind"] == "validation"]
    figures = {}
    name = report.run_dir.name

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot([r["step"] for r in train], [r["lm_loss"] for r in train], label="train (LM)")
    left.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="validation")
    left.set_xlabel("step")
    left.set_ylabel("loss")
    left.legend()
    right.plot([r["step"] for r in val], [100 * r["exact_match"] for r in val], "o-")
    right.set_xlabel("step")
    right.set_ylabel("validation exact-match (%)")
    fig.suptitle(f"{name}: training curves")
    fig.tight_layout()
    figures["curves"] = f"{name}_curves.png"
    fig.savefig(out_dir / figures["curves"], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    steps = sorted(report.act_histogram)
    ax.bar([str(s) for s in steps], [report.act_histogram[s] for s in steps])
    ax.set_xlabel("recursion steps used")
    ax.set_ylabel("generated tokens")
    ax.set_title(f"{name}: ACT halting")
    fig.tight_layout()
    figures["act"] = f"{name}_act.png"
    fig.savefig(out_dir / figures["act"], dpi=110)
    plt.close(fig)
    return figures


def evaluate_run(run_dir: str | Path, figures_dir: Path | None = None) -> ModelReport:
    """Test one run directory's `best` checkpoint and gather everything the report shows."""
    run_dir = Path(run_dir)
    records = read_metrics(run_dir)  # first: a damaged file is reported before the testing
    checkpoint = run_dir / TESTED
    if run_dir.is_dir() and checkpoint not in checkpoints_in(run_dir):
        raise CognateError(
            f"{run_dir}: the run has no `{TESTED}` checkpoint yet (a run saves it at its first "
            f"validation); continue the run: cognate train --out {run_dir} --resume"
        )
    bundle = load(checkpoint)
    spec = bundle.metadata.get("run", {}).get("spec")
    if spec is None:
        raise CognateError(f"{checkpoint}: no specialization in its metadata")
    started = time.perf_counter()
    seed_results = run_items(bundle.model, bundle.tokenizer, seed_suite(spec))
    examples = eval_set(get_specialization(spec).mixture, "test", HELDOUT_SIZE, HELDOUT_SEED)
    items = examples_to_items(examples)
    results = run_items(bundle.model, bundle.tokenizer, items)
    all_steps = run_items(
        bundle.model,
        bundle.tokenizer,
        items,
        sampling=SCORING_ALL_STEPS,
    )
    sampled = run_items(bundle.model, bundle.tokenizer, items[:HEALTH_PROMPTS], sampling=SAMPLED)
    with warnings.catch_warnings():  # the section says that long prompts are cut
        warnings.filterwarnings("ignore", ".*truncated from the left")
        open_results = run_items(bundle.model, bundle.tokenizer, open_suite())
    chat = chat_scores(bundle, spec, CHAT_TRANSCRIPTS)
    test_seconds = time.perf_counter() - started
    steps = [s for r in results for s in r.act_steps]
    steps_tensor = torch.tensor(steps, dtype=torch.float) if steps else torch.zeros(1)
    with torch.device("meta"):
        parameters = CognateModel(ModelConfig.from_dict(bundle.config.to_dict())).parameter_counts()
    report = ModelReport(
        run_dir=run_dir,
        spec=spec,
        metadata=bundle.metadata,
        parameters=parameters,
        seed_results=seed_results,
        heldout=_groups(examples, results),
        health=output_health([r.output for r in sampled]).as_dict(),
        sampled=[r.output.strip() for r in sampled[:5]],
        act_histogram=dict(sorted(Counter(steps).items())),
        act_mean=float(steps_tensor.mean()),
        act_std=float(steps_tensor.std(unbiased=False)),
        all_steps_exact_match=exact_match(all_steps),
        test_seconds=round(test_seconds, 1),
        performance=measure_in_subprocess(checkpoint),
        inventory=_inventory(run_dir),
        open_world={"all": exact_match(open_results), **exact_match_by_family(open_results)},
        chat={
            "questions": len(chat.in_chat),
            "in_chat": exact_match(chat.in_chat),
            "fresh": exact_match(chat.fresh),
        },
    )
    if figures_dir is not None:
        report.figures = _plot(report, records, figures_dir)
    return report


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or "(empty)"


def render(reports: list[ModelReport]) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Cognate model testing report",
        "",
        f"**Date**: {now}  ",
        f"**Machine**: {torch.get_num_threads()} CPU threads, torch {torch.__version__}  ",
        "**Decoding for scores**: greedy, KV cache, per-token ACT halting; an answer is cut at "
        "the first newline or end-of-text; a number matches when the first number of the "
        "answer equals it, a text when the answer starts with it.",
        "",
        "## Executive summary",
        "",
        "| model | seed prompts | held-out exact-match | made-up names | held-out templates "
        "| ACT steps/token | tokens/s | parameters | trained until the tested checkpoint |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        seed_ok = sum(x.correct for x in r.seed_results)
        lines.append(
            f"| {r.run_dir.name} | {seed_ok}/{len(r.seed_results)} | {_pct(r.heldout['all'])} "
            f"| {_pct(r.heldout.get('made-up names'))} "
            f"| {_pct(r.heldout.get('held-out templates'))} | {r.act_mean:.2f} ± {r.act_std:.2f} "
            f"| {r.performance['tokens_per_second_halting']:.0f} | {r.parameters['total']:,} "
            f"| {r.metadata.get('train_seconds', 0) / 60:.1f} min |"
        )
    lines += [
        "",
        f"Held-out figures are on {HELDOUT_SIZE} examples of each model's test split: number "
        "pairs, made-up names and (for half of them) question templates that never occur in "
        "training. The seed prompts and their number/country pairs never occur in training.",
        "",
    ]
    lines += _open_world(reports)
    lines += _chat(reports)
    lines += ablation.section(reports)
    for r in reports:
        lines += _model_section(r)
    return "\n".join(lines) + "\n"


def _open_world(reports: list[ModelReport]) -> list[str]:
    """Every model on questions of the open world, each kind from the test split."""
    lines = [
        "## Open-world questions",
        "",
        f"Stories of people moving between places, picking up, dropping and giving objects, and "
        f"word problems as school books write them: {OPEN_PER_KIND} test-split questions of "
        "each kind, with names, places, objects, verbs and phrasings that never occur in "
        "training (`cognate test CKPT --suite open`). A story longer than a model's context "
        "loses its beginning, as in `cognate test`.",
        "",
        "| kind | " + " | ".join(r.run_dir.name for r in reports) + " |",
        "|---|" + "---|" * len(reports),
    ]
    for kind in reports[0].open_world if reports else ():
        cells = " | ".join(_pct(r.open_world.get(kind)) for r in reports)
        lines.append(f"| {'all' if kind == 'all' else kind} | {cells} |")
    return [*lines, ""]


def _chat(reports: list[ModelReport]) -> list[str]:
    """Every model's own test-split questions asked inside multi-turn chats and fresh."""
    lines = [
        "## Chat",
        "",
        f"Each model's test-split questions asked inside chat transcripts of {EPISODES} "
        "interleaved examples (statements, then questions, after other examples' statements "
        "and the model's own earlier answers, as `cognate chat` asks them) and the same "
        "questions as fresh prompts (`cognate test CKPT --suite chat`).",
        "",
        "| model | questions | inside transcripts | fresh |",
        "|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {r.run_dir.name} | {r.chat['questions']:.0f} | {_pct(r.chat['in_chat'])} "
            f"| {_pct(r.chat['fresh'])} |"
        )
    return [*lines, ""]


def _mixture_text(mixture: dict[str, float]) -> str:
    total = sum(mixture.values())
    return ", ".join(f"{family} {weight / total:.0%}" for family, weight in mixture.items())


def _data_text(run: dict[str, Any], spec: str) -> str:
    if run.get("data"):
        return f"the file `{run['data']}`."
    tested = _mixture_text(get_specialization(spec).mixture)
    trained = run.get("training_mixture")
    if trained is None:
        return f"synthetic; the test split draws {tested}."
    return f"synthetic; training drew {_mixture_text(trained)}; the test split draws {tested}."


def _model_section(r: ModelReport) -> list[str]:
    meta = r.metadata
    best = meta.get("best") or {}
    run = meta.get("run", {})
    lines = [
        f"## {r.run_dir.name} model ({r.spec})"
        if r.run_dir.name != r.spec
        else f"## {r.spec} model",
        "",
        "### Metadata",
        "",
        f"- Run directory: `{r.run_dir}`; tested checkpoint: `{TESTED}` (step {meta.get('step')},"
        f" epoch {meta.get('epoch')}): the highest validation exact-match, ties broken by "
        "validation loss; validation data is disjoint from the test split.",
        f"- Best validation: exact-match {_pct(best.get('exact_match'))}, loss "
        f"{best.get('val_loss', float('nan')):.4f}.",
        f"- Training: {meta.get('train_seconds', 0):.0f} s, {meta.get('tokens_seen', 0):,} "
        f"tokens, preset `{run.get('preset')}`, seed {run.get('seed')}, optimizer "
        f"`{meta.get('train_config', {}).get('optimizer')}`, precision "
        f"`{meta.get('train_config', {}).get('precision')}`.",
        f"- Data: {_data_text(run, r.spec)}",
        "",
        "| component | parameters |",
        "|---|---|",
        *[f"| {name} | {count:,} |" for name, count in r.parameters.items()],
        "",
        "### Seed prompts",
        "",
    ]
    for result in r.seed_results:
        verdict = "correct" if result.correct else "WRONG"
        lines += [
            "```",
            f"Prompt:   {result.prompt}",
            f"Expected: {result.expected}",
            f"Actual:   {result.output.strip()}",
            f"Verdict:  {verdict} (ACT steps per token: {result.act_steps})",
            "```",
        ]
    lines += [
        "",
        "### Held-out test split",
        "",
        "| group | exact-match |",
        "|---|---|",
        *[f"| {name} | {_pct(value)} |" for name, value in r.heldout.items()],
        "",
        "### Output characteristics (sampled, temperature 0.7)",
        "",
        f"distinct-1 {r.health['distinct_1']:.2f}, distinct-2 {r.health['distinct_2']:.2f}, "
        f"longest repeated run {r.health['longest_run']}, most common unit share "
        f"{r.health['top_unit_share']:.2f}, degenerate outputs "
        f"{_pct(r.health['degenerate_share'])}; mode-collapse alarm: "
        f"**{'ON' if r.health['collapse_alarm'] else 'off'}**. Samples: "
        + "; ".join(f"`{_cell(s)}`" for s in r.sampled),
        "",
        "### Adaptive computation",
        "",
        f"Mean recursion steps per generated token {r.act_mean:.2f} (spread {r.act_std:.2f}); "
        f"histogram: {r.act_histogram}. Held-out exact-match with ACT halting "
        f"{_pct(r.heldout['all'])} vs all {meta.get('model_config', {}).get('t_max')} steps "
        f"for every token {_pct(r.all_steps_exact_match)}; tokens/s "
        f"{r.performance['tokens_per_second_halting']:.0f} vs "
        f"{r.performance['tokens_per_second_all_steps']:.0f}.",
        "",
    ]
    if r.figures:
        name = r.run_dir.name
        lines += [f"![{name} curves]({r.figures['curves']}) ![{name} ACT]({r.figures['act']})"]
        lines.append("")
    p = r.performance
    lines += [
        "### Performance (fresh process, CPU, batch 1)",
        "",
        f"Load {p['load_seconds']:.2f} s; cached decoding {p['tokens_per_second_halting']:.0f} "
        f"tokens/s; peak memory {p['peak_rss_mb']:.0f} MB; test suites took "
        f"{r.test_seconds:.1f} s.",
        "",
        "### Checkpoints",
        "",
        "| name | step | epoch | weights | val exact-match | val loss | MB | sha256 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in r.inventory:
        if "problem" in row:
            lines.append(f"| {row['name']} | unreadable: {_cell(row['problem'])} |||||||")
            continue
        loss = row["val_loss"]
        lines.append(
            f"| {row['name']} | {row['step']} | {row['epoch']} | {row['weights']} "
            f"| {_pct(row['val_exact_match'])} | {'n/a' if loss is None else f'{loss:.4f}'} "
            f"| {row['megabytes']} | `{row['sha256']}` |"
        )
    lines += [
        "",
        f"`{TESTED}` was tested; `last` holds the raw (non-EMA) weights and the optimizer "
        "state for resuming; `final` is the EMA model at the end of the budget.",
        "",
    ]
    return lines


def _run_dir(path: str | Path) -> Path:
    """`path`, which must be a directory: a one-line error for a file or nothing."""
    path = Path(path)
    if not path.is_dir():
        found = "a file" if path.exists() else "nothing there"
        raise CognateError(
            f"{path}: {found}, not a run directory; a report takes run directories such as "
            "runs/demo/reasoning (to test one checkpoint: cognate test CKPT)"
        )
    return path


def write_report(run_dirs: list[str | Path], out: str | Path) -> Path:
    """Test every run and write the Markdown report (figures beside it)."""
    run_dirs = [_run_dir(run_dir) for run_dir in run_dirs]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    reports = [evaluate_run(run_dir, out.parent) for run_dir in run_dirs]
    for r in ablation.compared(reports):
        r.ablation_scores = ablation.measure(load(r.run_dir / TESTED))
    out.write_text(render(reports))
    return out
