"""`cognate report`: tests real (tiny, briefly trained) run directories and writes the report."""

import json
import re
from pathlib import Path

import pytest

from cognate import load
from cognate.config import get_specialization
from cognate.data.datasets import eval_set
from cognate.evaluate import ablation, report
from cognate.evaluate.suites import (
    chat_scores,
    exact_match,
    examples_to_items,
    run_items,
    seed_suite,
)
from cognate.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

HELDOUT = 8  # held-out examples per model: enough to check the figures, few enough to be fast
CHATS = 2  # chat transcripts per model


RUNS = {  # the variants of reasoning the report compares
    "reasoning": dict(t_max=2),
    "reasoning-t1": dict(t_max=1),
    "reasoning-noltm": dict(t_max=2, d_mem=0),
}
PER_GROUP = 4  # ablation questions per group


@pytest.fixture(scope="module")
def written(tmp_path_factory, tiny_run) -> Path:
    """REPORT.md for a reasoning run (T_max 2), its recursion-off twin (T_max 1) and its
    twin without the long-term memory."""
    root = tmp_path_factory.mktemp("report")
    for name, changes in RUNS.items():
        shape = dict(n_layers=1, micro_steps=1, **changes)
        train(tiny_run(root / name, steps=3, batch_size=4, save_every=3, model_overrides=shape))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report, "HELDOUT_SIZE", HELDOUT)
        patch.setattr(ablation, "PER_GROUP", PER_GROUP)
        patch.setattr(report, "CHAT_TRANSCRIPTS", CHATS)
        return report.write_report([root / name for name in RUNS], root / "REPORT.md")


def _summary_row(text: str, name: str) -> list[str]:
    [row] = [line for line in text.splitlines() if line.startswith(f"| {name} |")][:1]
    return [cell.strip() for cell in row.strip("|").split("|")]


@pytest.mark.parametrize("name", list(RUNS))
def test_the_summary_holds_what_testing_the_checkpoint_gives(written, name):
    text = written.read_text()
    bundle = load(written.parent / name / "best")
    seed = run_items(bundle.model, bundle.tokenizer, seed_suite("reasoning"))
    mixture = get_specialization("reasoning").mixture
    examples = eval_set(mixture, "test", HELDOUT, report.HELDOUT_SEED)
    heldout = exact_match(run_items(bundle.model, bundle.tokenizer, examples_to_items(examples)))
    cells = _summary_row(text, name)
    assert cells[1] == f"{sum(r.correct for r in seed)}/3"
    assert cells[2] == f"{100 * heldout:.1f}%"
    assert cells[7] == f"{sum(p.numel() for p in bundle.model.parameters()):,}"
    meta = json.loads((written.parent / name / "best.json").read_text())
    assert cells[8] == f"{meta['train_seconds'] / 60:.1f} min"
    for r in seed:  # Prompt / Expected / Actual, like the seed report
        assert r.prompt.strip() in text and r.expected in text
    # Reasoning trains on the families it is tested on, in the same shares.
    drawn = ", ".join(f"{family} {100 * share:.0f}%" for family, share in mixture.items())
    assert f"training drew {drawn}; the test split draws {drawn}." in text


def test_the_chat_table_holds_each_models_questions_inside_transcripts_and_fresh(written):
    section = written.read_text().split("## Chat\n", 1)[1].split("\n## ", 1)[0]
    for name in ("reasoning", "reasoning-t1"):
        scores = chat_scores(load(written.parent / name / "best"), "reasoning", CHATS)
        in_chat, fresh = exact_match(scores.in_chat), exact_match(scores.fresh)
        row = f"| {name} | {len(scores.fresh)} | {100 * in_chat:.1f}% | {100 * fresh:.1f}% |"
        assert row in section.splitlines()


def test_each_model_has_its_figures_inventory_and_act_section(written):
    text = written.read_text()
    for name in RUNS:
        for figure in (f"{name}_curves.png", f"{name}_act.png"):
            assert (written.parent / figure).stat().st_size > 1000
            assert f"]({figure})" in text
    inventory = re.findall(r"^\| (best|last|final) \| (\d+) \|", text, flags=re.M)
    assert sorted(inventory) == sorted([(n, "3") for n in ("best", "last", "final")] * len(RUNS))
    assert text.count("### Adaptive computation") == len(RUNS)
    assert "mode-collapse alarm" in text


def _ablation_rows(section: str) -> dict[tuple[str, str], list[str]]:
    """(run, decoding) -> the cells of the ablation table's row."""
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| reasoning"):
            rows[cells[0], cells[2]] = cells
    return rows


def _points(cell: str) -> float:
    return float(cell.rstrip("%"))


def test_the_ablation_compares_each_variant_on_one_step_two_step_and_long_stories(written):
    text = written.read_text()
    section = text[text.index("## Does the architecture earn its place?") :].split("\n## ")[0]
    assert "Not in this report" not in section
    rows = _ablation_rows(section)
    assert list(rows) == [
        ("reasoning", "ACT halting"),
        ("reasoning", "all steps"),
        ("reasoning-t1", "ACT halting"),
        ("reasoning-noltm", "ACT halting"),
        ("reasoning-noltm", "all steps"),
    ]
    for (name, decoding), cells in rows.items():
        final = json.loads((written.parent / name / "final.json").read_text())
        assert cells[3] == f"{final['train_seconds'] / 60:.1f} min, {final['step']} steps"
        if decoding == "ACT halting":  # the summary's held-out figure
            assert cells[4] == _summary_row(text, name)[2]
        assert all(re.fullmatch(r"\d+\.\d%", cell) for cell in cells[5:8])
        t_max = 1 if name == "reasoning-t1" else 2
        every_step = decoding == "all steps" or t_max == 1
        for steps in map(float, cells[8].split(" / ")):  # one-step, two-step, long
            assert steps == t_max if every_step else 1 <= steps <= t_max
    assert rows["reasoning-noltm", "ACT halting"][1] == "T_max 2, no long-term memory"
    config = load(written.parent / "reasoning" / "best").config
    assert (
        f"Long stories: the evidence lies more than {config.attention_reach} tokens back. Every "
        f"question is answered whole, in up to {ablation.context(config)} tokens"
    ) in section

    # Each reading's gains are the table's differences.
    compared = {
        "**ACT halting**": (("reasoning", "ACT halting"), ("reasoning", "all steps")),
        "**Recursion** (reasoning against reasoning-t1)": (
            ("reasoning", "ACT halting"),
            ("reasoning-t1", "ACT halting"),
        ),
        "**Long-term memory** (reasoning against reasoning-noltm)": (
            ("reasoning", "ACT halting"),
            ("reasoning-noltm", "ACT halting"),
        ),
    }
    for what, (on, off) in compared.items():
        [line] = [line for line in section.splitlines() if line.startswith(f"- {what}")]
        gains = re.findall(r"(one-step|two-step|long) ([+-]\d+\.\d) \(±", line)
        expected = [
            (group, f"{_points(rows[on][5 + i]) - _points(rows[off][5 + i]):+.1f}")
            for i, group in enumerate(("one-step", "two-step", "long"))
        ]
        assert gains == expected, line


@pytest.mark.parametrize(
    ("on", "off", "verdict", "one_step"),
    [
        # 90% vs 50% of 100 each: pooled 70%, 2 * sqrt(0.7 * 0.3 * 2 / 100) = 13.0 points
        ((90, 80, 50), (50, 78, 50), "beyond noise: one-step +40.0 points.", "+40.0 (±13.0)"),
        ((52, 60, 50), (50, 58, 50), "no measurable difference.", "+2.0 (±14.1)"),
    ],
)
def test_a_reading_calls_a_difference_beyond_twice_its_standard_error(on, off, verdict, one_step):
    def scores(correct: tuple[int, ...]) -> ablation.AblationScores:
        groups = ("one-step", "two-step", "long")
        return ablation.AblationScores(
            accuracy={g: c / 100 for g, c in zip(groups, correct, strict=True)},
            asked=dict.fromkeys(groups, 100),
            act_steps=dict.fromkeys(groups, 1.0),
            beyond=10,
            context=40,
        )

    line = ablation.reading("X", scores(on), scores(off))
    assert line.startswith(f"X: {verdict}")
    assert f"one-step {one_step}, two-step +2.0" in line


def test_a_report_without_variants_says_so_and_how_to_get_them(written, monkeypatch):
    monkeypatch.setattr(report, "HELDOUT_SIZE", HELDOUT)
    reports = [report.evaluate_run(written.parent / "reasoning")]
    text = report.render(reports)
    section = text.split("## Does the architecture earn its place?", 1)[1].split("\n## ", 1)[0]
    assert "Not in this report" in section and "--ablation" in section
    assert "| run | model |" not in section and "**Recursion**" not in section
