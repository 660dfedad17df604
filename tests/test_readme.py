"""The README states facts whose home is the code: each is checked here against its home, so a
README that drifts from the code fails a test instead of misleading a reader."""

import dataclasses
import inspect
import re
from pathlib import Path

import pytest
import torch
import typer

from cognate import cli
from cognate.config import GPT2_VOCAB_SIZE, PRESETS, TrainConfig, model_config
from cognate.model import CognateModel
from cognate.train.demo import training_minutes

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
BPE_VOCAB_SIZE = TrainConfig().bpe_vocab_size


def total_parameters(preset: str, vocab_size: int) -> int:
    config = dataclasses.replace(model_config(preset), vocab_size=vocab_size)
    with torch.device("meta"):  # shapes only: phase1 without allocating its weights
        model = CognateModel(config)
    return sum(p.numel() for p in model.parameters())


def markdown_table(first_cell: str) -> list[dict[str, str]]:
    """The rows of the README table whose header starts with `| first_cell |`."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_cell} |"))

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    header = cells(lines[start])
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, cells(line), strict=True)))
    return rows


def code_block_after(heading: str) -> str:
    return README.split(heading, 1)[1].split("```", 2)[1]


def test_the_preset_table_is_the_presets_with_their_parameter_counts():
    rows = markdown_table("preset")
    assert [row["preset"] for row in rows] == [f"`{name}`" for name in PRESETS]
    for row in rows:
        config = PRESETS[row["preset"].strip("`")]
        shape = (config.d_model, config.n_layers, config.n_heads, config.d_ff, config.window)
        columns = ("d_model", "layers", "heads", "d_ff", "window")
        assert tuple(int(row[column]) for column in columns) == shape
        assert int(row["d_mem"]) == config.d_mem
        assert row["T×micro"] == f"{config.t_max}×{config.micro_steps}"
        # `tiny` trains its own BPE; `phase1` is shown with the GPT-2 vocabulary it has
        vocab = BPE_VOCAB_SIZE if "BPE" in row["vocab"] else config.vocab_size
        assert int(re.search(r"[\d,]+", row["vocab"]).group().replace(",", "")) == vocab
        total = total_parameters(row["preset"].strip("`"), vocab)
        shown = row["parameters"]
        assert shown == (f"{total / 1e6:.2f}M" if shown.endswith("M") else f"{total:,}")


def test_phase1s_parameter_counts_in_the_text_are_the_models():
    found = re.search(
        r"`phase1` has ([\d,]+) parameters with the GPT-2 vocabulary .*? and ([\d,]+) with its "
        r"own (\d+)-token BPE",
        README,
        flags=re.S,
    )
    assert found, "the README no longer states phase1's parameter counts in the expected words"
    with_gpt2, with_bpe, bpe_size = found.groups()
    assert with_gpt2 == f"{total_parameters('phase1', GPT2_VOCAB_SIZE):,}"
    assert int(bpe_size) == BPE_VOCAB_SIZE
    assert with_bpe == f"{total_parameters('phase1', BPE_VOCAB_SIZE):,}"


def test_the_demo_minutes_are_what_the_demo_gives_each_model():
    found = re.search(
        r"`make demo` takes (\d+) minutes: it trains reasoning for ([\d.]+) minutes and memory"
        r"\s+and speed for\s+([\d.]+) each",
        README,
    )
    assert found, "the README no longer states the demo's minutes in the expected words"
    total, reasoning, memory_and_speed = map(float, found.groups())
    assert total == inspect.signature(cli.demo).parameters["minutes"].default
    minutes = training_minutes(total)
    assert minutes["reasoning"] == pytest.approx(reasoning)
    assert minutes["memory"] == pytest.approx(memory_and_speed)
    assert minutes["speed"] == pytest.approx(memory_and_speed)


def test_the_command_line_block_shows_every_command_with_options_it_has():
    group = typer.main.get_command(cli.app)
    shown = []
    options: set[str] = set()
    for line in code_block_after("## Command line").splitlines():
        usage = line.split("#", 1)[0]  # what follows "#" is a comment
        words = usage.split()
        if words and words[0] == "cognate":
            assert words[1] in group.commands, f"cognate {words[1]}: no such command"
            shown.append(words[1])
            command = group.commands[words[1]]
            options = {flag for param in command.params for flag in param.opts}
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", usage):
            assert flag in options, f"cognate {shown[-1]} has no {flag}"
    assert sorted(shown) == sorted(group.commands)


def test_the_package_tree_names_every_subpackage_and_only_real_paths():
    listed = [line.split()[0] for line in code_block_after("## The package").splitlines() if line]
    for path in listed:
        assert (ROOT / path).exists(), path
    package = ROOT / "src" / "cognate"
    subpackages = {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    assert {Path(path).name for path in listed if path.endswith("/")} == subpackages
