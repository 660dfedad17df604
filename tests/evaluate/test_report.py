"""`cognate report`: tests real (tiny, briefly trained) run directories and writes the report."""

import json
import re
from pathlib import Path

import pytest

from cognate import load
from cognate.config import get_specialization
from cognate.data.datasets import eval_set
from cognate.evaluate import report
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


@pytest.fixture(scope="module")
def written(tmp_path_factory, tiny_run) -> Path:
    """REPORT.md for a reasoning run (T_max 2) and its recursion-off twin (T_max 1)."""
    root = tmp_path_factory.mktemp("report")
    for name, t_max in (("reasoning", 2), ("reasoning-t1", 1)):
        shape = dict(n_layers=1, micro_steps=1, t_max=t_max)
        train(tiny_run(root / name, steps=3, batch_size=4, save_every=3, model_overrides=shape))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report, "HELDOUT_SIZE", HELDOUT)
        patch.setattr(report, "CHAT_TRANSCRIPTS", CHATS)
        return report.write_report([root / "reasoning", root / "reasoning-t1"], root / "REPORT.md")


def _summary_row(text: str, name: str) -> list[str]:
    [row] = [line for line in text.splitlines() if line.startswith(f"| {name} |")][:1]
    return [cell.strip() for cell in row.strip("|").split("|")]


@pytest.mark.parametrize("name", ["reasoning", "reasoning-t1"])
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
    assert (
        "training drew arithmetic 50%, word_problems 50%; the test split draws arithmetic" in text
    )


def test_the_chat_table_holds_each_models_questions_inside_transcripts_and_fresh(written):
    section = written.read_text().split("## Chat\n", 1)[1].split("\n## ", 1)[0]
    for name in ("reasoning", "reasoning-t1"):
        scores = chat_scores(load(written.parent / name / "best"), "reasoning", CHATS)
        in_chat, fresh = exact_match(scores.in_chat), exact_match(scores.fresh)
        row = f"| {name} | {len(scores.fresh)} | {100 * in_chat:.1f}% | {100 * fresh:.1f}% |"
        assert row in section.splitlines()


def test_each_model_has_its_figures_inventory_and_act_section(written):
    text = written.read_text()
    for name in ("reasoning", "reasoning-t1"):
        for figure in (f"{name}_curves.png", f"{name}_act.png"):
            assert (written.parent / figure).stat().st_size > 1000
            assert f"]({figure})" in text
    inventory = re.findall(r"^\| (best|last|final) \| (\d+) \|", text, flags=re.M)
    assert sorted(inventory) == sorted([(n, "3") for n in ("best", "last", "final")] * 2)
    assert text.count("### Adaptive computation") == 2
    assert "mode-collapse alarm" in text


def test_the_recursion_ablation_compares_t_max_1_with_the_recursion_on(written):
    text = written.read_text()
    section = text[text.index("## Recursion ablation") :]
    rows = re.findall(r"^\| (reasoning(?:-t1)?) \| (\d) \| ([\d.]+) min \| (\d+) \|", section, re.M)
    expected = []
    for name, t_max in (("reasoning-t1", "1"), ("reasoning", "2")):
        final = json.loads((written.parent / name / "final.json").read_text())
        expected.append((name, t_max, f"{final['train_seconds'] / 60:.1f}", str(final["step"])))
    assert rows == expected
    with_recursion = _summary_row(text, "reasoning")[2]
    without = _summary_row(text, "reasoning-t1")[2]
    gain = float(with_recursion.rstrip("%")) - float(without.rstrip("%"))
    verdict = "recursion helps" if gain > 0 else "recursion does not help"
    assert f"Verdict: {verdict} reasoning" in section and "Not in this report" not in section


def test_a_report_without_the_ablation_says_so_and_how_to_get_it(written, monkeypatch):
    monkeypatch.setattr(report, "HELDOUT_SIZE", HELDOUT)
    reports = [report.evaluate_run(written.parent / "reasoning")]
    section = report.render(reports).split("## Recursion ablation", 1)[1].split("\n## ", 1)[0]
    assert "Not in this report" in section and "--ablation" in section
    assert "Verdict" not in section and "| run | T_max |" not in section
