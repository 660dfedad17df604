"""Does the architecture earn its place? Runs of one specialization that differ in one part of
the model, trained for the same minutes, on story questions that need one fact, two chained
facts, or a fact farther back than attention reaches.

`cognate demo --ablation` trains `memory-t1` (T_max 1: no recursion) and `memory-noltm` (no
long-term memory) next to `memory`; the full model also answers with all T_max steps for
every token instead of ACT halting, which needs no run of its own. A difference counts when
it is larger than twice its standard error (two-proportion, pooled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cognate.checkpoint import read_metadata
from cognate.config import ModelConfig
from cognate.data.tasks import stories
from cognate.evaluate.suites import (
    ABLATION_GROUPS,
    TestItem,
    ablation_suite,
    exact_match,
    run_items,
)
from cognate.infer.bundle import Bundle
from cognate.infer.sampling import SCORING, SCORING_ALL_STEPS, Sampling

if TYPE_CHECKING:
    from cognate.evaluate.report import ModelReport

HALTING, ALL_STEPS = "ACT halting", "all steps"  # how the answers are decoded
PER_GROUP = 100  # questions per group: twice the standard error of a difference is <= 14 points
LONG_MARGIN = 256  # tokens a long story may take past attention's reach (its question, mostly)


@dataclass
class AblationScores:
    """One model's answers to the ablation suite, decoded one way."""

    accuracy: dict[str, float]  # exact-match per group of `ABLATION_GROUPS`
    asked: dict[str, int]  # questions per group
    act_steps: dict[str, float]  # per group, mean recursion steps per generated answer token
    beyond: int  # the long stories' evidence lies more than this many tokens back
    context: int  # the longest prompt + answer decoded (`context`)


def context(config: ModelConfig) -> int:
    """Prompt + answer tokens the ablation decodes whole: max_seq_len, or more when attention
    reaches nearly that far. max_seq_len only bounds what the CLI accepts; the model has no
    length limit (sliding-window attention, RoPE positions, a recurrent memory), and long
    stories must run past the reach, or the column that tests the memory stays empty."""
    return max(config.max_seq_len, config.attention_reach + LONG_MARGIN)


def _score(
    bundle: Bundle, items: list[TestItem], beyond: int, sampling: Sampling
) -> AblationScores:
    decoded = context(bundle.config)
    results = run_items(bundle.model, bundle.tokenizer, items, sampling=sampling, context=decoded)
    groups = {group: [r for r in results if r.family == group] for group in ABLATION_GROUPS}
    steps = {group: [s for r in found for s in r.act_steps] for group, found in groups.items()}
    return AblationScores(
        accuracy={group: exact_match(found) for group, found in groups.items()},
        asked={group: len(found) for group, found in groups.items()},
        act_steps={group: sum(s) / max(len(s), 1) for group, s in steps.items()},
        beyond=beyond,
        context=decoded,
    )


def measure(bundle: Bundle) -> dict[str, AblationScores]:
    """The model's scores with ACT halting and, when it has a recursion, with all steps."""
    config = bundle.config
    beyond, room = config.attention_reach, context(config) - SCORING.max_new_tokens
    items = ablation_suite(bundle.tokenizer, beyond, room, PER_GROUP)
    scores = {HALTING: _score(bundle, items, beyond, SCORING)}
    if config.t_max > 1:
        scores[ALL_STEPS] = _score(bundle, items, beyond, SCORING_ALL_STEPS)
    return scores


def compared(reports: list[ModelReport]) -> list[ModelReport]:
    """The reports of specializations with more than one run here: those the ablation shows."""
    specs = [r.spec for r in reports]
    return [r for r in reports if specs.count(r.spec) > 1]


# --------------------------------------------------------------------------- the section


def _config(r: ModelReport) -> dict:
    return r.metadata["model_config"]


def _parts(r: ModelReport) -> str:
    config = _config(r)
    memory = "no long-term memory"
    if config["d_mem"]:
        memory = f"long-term memory {config['d_mem']} wide"
    return f"T_max {config['t_max']}, {memory}"


def _full(runs: list[ModelReport]) -> ModelReport:
    """The run with every part: the deepest recursion, then a long-term memory."""
    return max(runs, key=lambda r: (_config(r)["t_max"], _config(r)["d_mem"] > 0))


def _without(
    runs: list[ModelReport], full: ModelReport, field: str, off: int
) -> ModelReport | None:
    """The run that differs from `full` only in `field`, set to `off`; None if there is none."""
    wanted = {**_config(full), field: off}
    return next((r for r in runs if _config(r) == wanted), None)


def _noise(on: AblationScores, off: AblationScores, group: str) -> float:
    """Twice the standard error of the difference of two exact-match rates (pooled)."""
    n_on, n_off = on.asked[group], off.asked[group]
    pooled = (on.accuracy[group] * n_on + off.accuracy[group] * n_off) / (n_on + n_off)
    return 2 * math.sqrt(pooled * (1 - pooled) * (1 / n_on + 1 / n_off))


def reading(what: str, on: AblationScores, off: AblationScores) -> str:
    """One line: what `on` gains over `off`, per group, and where it is beyond the noise."""
    parts, beyond = [], []
    for group in ABLATION_GROUPS:
        if not on.asked[group] or not off.asked[group]:
            continue
        gain, noise = on.accuracy[group] - off.accuracy[group], _noise(on, off, group)
        parts.append(f"{group} {100 * gain:+.1f} (±{100 * noise:.1f})")
        if abs(gain) > noise:
            beyond.append(f"{group} {100 * gain:+.1f} points")
    verdict = "beyond noise: " + ", ".join(beyond) if beyond else "no measurable difference"
    return f"{what}: {verdict}. Points gained, ± twice the standard error: {', '.join(parts)}."


def _readings(runs: list[ModelReport]) -> list[str]:
    full = _full(runs)
    scores, t_max = full.ablation_scores, _config(full)["t_max"]
    lines = []
    if ALL_STEPS in scores:
        halting, all_steps = scores[HALTING], scores[ALL_STEPS]
        steps = ", ".join(f"{g} {halting.act_steps[g]:.2f}" for g in ABLATION_GROUPS)
        what = f"**ACT halting** (steps per answer token: {steps}) against all {t_max} steps"
        lines.append(reading(what, halting, all_steps))
    without = {
        "**Recursion**": _without(runs, full, "t_max", 1),
        "**Long-term memory**": _without(runs, full, "d_mem", 0),
    }
    for what, other in without.items():
        if other is not None:
            name = f"{what} ({full.run_dir.name} against {other.run_dir.name})"
            lines.append(reading(name, scores[HALTING], other.ablation_scores[HALTING]))
    return [f"- {line}" for line in lines]


def _trained(r: ModelReport) -> str:
    final, _ = read_metadata(r.run_dir / "final")
    return f"{final.get('train_seconds', 0) / 60:.1f} min, {final.get('step')} steps"


def _pct(value: float, asked: int) -> str:
    return f"{100 * value:.1f}%" if asked else "n/a"


def _rows(r: ModelReport) -> list[str]:
    rows = []
    for decoding, scores in r.ablation_scores.items():
        heldout = r.heldout["all"] if decoding == HALTING else r.all_steps_exact_match
        groups = " | ".join(_pct(scores.accuracy[g], scores.asked[g]) for g in ABLATION_GROUPS)
        steps = " / ".join(f"{scores.act_steps[g]:.2f}" for g in ABLATION_GROUPS)
        rows.append(
            f"| {r.run_dir.name} | {_parts(r)} | {decoding} | {_trained(r)} "
            f"| {100 * heldout:.1f}% | {groups} | {steps} |"
        )
    return rows


def section(reports: list[ModelReport]) -> list[str]:
    """The report's section: per specialization with variants, their table and readings."""
    heading = ["## Does the architecture earn its place?", ""]
    by_spec: dict[str, list[ModelReport]] = {}
    for r in compared(reports):
        by_spec.setdefault(r.spec, []).append(r)
    if not by_spec:
        return [
            *heading,
            "Not in this report: no specialization here was trained in several variants. "
            "`cognate demo --ablation` (`make demo DEMO_ARGS=--ablation`) adds memory with the "
            "recursion off (T_max 1) and without its long-term memory, each trained for "
            "memory's minutes.",
            "",
        ]
    lines = [
        *heading,
        "Variants of one specialization, trained for the same minutes (*trained*: the whole "
        "run; the scores are those of its tested `best` checkpoint), answer test-split story "
        f"questions of words never trained on, {PER_GROUP} per group: *one-step* "
        f"kinds ({', '.join(stories.ONE_STEP_KINDS)}) need one sentence, *two-step* kinds "
        f"({', '.join(stories.TWO_STEP_KINDS)}) chain two facts; *long*: short stories of "
        "either, then sentences about other people until the evidence lies farther back than "
        "attention reaches (every backbone layer and the recursion's cross-attention, each a "
        "window back): only the long-term memory can carry it. *Held-out*: the "
        "specialization's own test split.",
        "",
    ]
    for spec, runs in by_spec.items():
        full = _full(runs)
        ordered = [full, *(r for r in runs if r is not full)]
        scores = full.ablation_scores[HALTING]
        lines += [
            f"### {spec}",
            "",
            f"Long stories: the evidence lies more than {scores.beyond} tokens back. Every "
            f"question is answered whole, in up to {scores.context} tokens of prompt and answer "
            f"(the CLI accepts {_config(full)['max_seq_len']}; the model has no length limit).",
            "",
            "| run | model | decoding | trained | held-out | one-step | two-step | long "
            "| ACT steps per answer token (one-step / two-step / long) |",
            "|---|---|---|---|---|---|---|---|---|",
            *(row for r in ordered for row in _rows(r)),
            "",
            *_readings(runs),
            "",
        ]
    return lines
