"""The `cognate` commands inspect, test, generate and chat, run as a user would: output, exit
codes, and one-line errors (through `cli.main`, which turns a CognateError into `error: ...`)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import cognate
from cognate.config import PRESETS, model_config
from cognate.infer.chat import ChatSession
from cognate.infer.sampling import Sampling
from cognate.model import CognateModel

pytestmark = pytest.mark.usefixtures("one_thread")

PROMPT = "Q: What is 25 + 17? A:"


# inspect's components, by the model's top-level modules (the LM head is tied to `embed`)
COMPONENTS = {
    "embedding (tied LM head)": ("embed",),
    "backbone layers": ("blocks", "backbone_norm"),
    "long-term memory": ("memory",),
    "MAG gate": ("gate",),
    "TRM recursion": ("recursion", "head_norm"),
    "ACT head": ("halting",),
}


def expected_counts(model: CognateModel) -> dict[str, str]:
    """What inspect should print for `model`, counted from its parameters' names."""
    counts = {
        name: sum(p.numel() for key, p in model.named_parameters() if key.split(".")[0] in tops)
        for name, tops in COMPONENTS.items()
    }
    counts["total"] = sum(p.numel() for p in model.parameters())
    return {name: f"{count:,}" for name, count in counts.items()}


def printed_counts(out: str) -> dict[str, str]:
    """The component/parameters rows of inspect's table."""
    return dict(re.findall(r"^│ (\S.*?) +│ +([\d,]+) │$", out, flags=re.M))


@pytest.mark.parametrize(
    ("preset", "spec"), [*((name, None) for name in PRESETS), ("tiny", "memory")]
)
def test_inspect_a_preset_prints_its_parameters_per_component(run_cli, preset, spec):
    code, out, err = run_cli("inspect", "--preset", preset, *(["--spec", spec] if spec else []))
    assert (code, err) == (0, "")
    config = model_config(preset, spec)
    with torch.device("meta"):
        model = CognateModel(config)
    counts = printed_counts(out)
    assert counts == expected_counts(model)
    assert counts["embedding (tied LM head)"] == f"{config.vocab_size * config.d_model:,}"
    assert f"d_mem={config.d_mem}," in out  # the config, with the specialization applied


def test_inspect_a_checkpoint_prints_its_parameters_and_metadata(run_cli, tiny_checkpoint):
    code, out, err = run_cli("inspect", tiny_checkpoint)
    assert (code, err) == (0, "")
    assert printed_counts(out) == expected_counts(cognate.load(tiny_checkpoint).model)
    assert '"spec": "reasoning"' in out  # the checkpoint's metadata


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either a checkpoint path or --preset NAME"),
        (["x/best", "--preset", "tiny"], "give either a checkpoint path or --preset NAME"),
        (["--preset", "huge"], f"unknown preset 'huge'; choose one of: {', '.join(PRESETS)}"),
        (["--preset", "tiny", "--spec", "poetry"], "unknown specialization 'poetry'"),
    ],
)
def test_inspect_refuses_bad_input_in_one_line(assert_one_error_line, run_cli, args, message):
    code, out, err = run_cli("inspect", *args)
    assert (code, out) == (1, "")
    assert_one_error_line(err, message)


@pytest.mark.parametrize("command", ["test", "generate", "chat"])
def test_a_missing_checkpoint_is_one_line(assert_one_error_line, run_cli, tmp_path, command):
    extra = ["hi"] if command == "generate" else []
    code, out, err = run_cli(command, tmp_path / "nothing" / "best", *extra)
    assert code == 1
    assert out == ""
    assert_one_error_line(err, "nothing/best", "no checkpoint here")


def test_generate_prints_the_continuation(run_cli, tiny_checkpoint):
    bundle = cognate.load(tiny_checkpoint)
    expected = bundle.generate(PROMPT, greedy=True, max_new_tokens=12)
    code, out, err = run_cli(
        "generate", tiny_checkpoint, PROMPT, "--greedy", "--max-new-tokens", 12
    )
    assert (code, out, err) == (0, expected + "\n", "")
    code, out, _ = run_cli(
        "generate", tiny_checkpoint, PROMPT, "--greedy", "--max-new-tokens", 12, "--stream"
    )
    assert (code, out) == (0, expected + "\n")


@pytest.mark.parametrize("quantize", ["int8", "int4"])
def test_generate_quantized_decodes_with_the_quantized_weights(run_cli, tiny_checkpoint, quantize):
    quantized = cognate.load(tiny_checkpoint, quantize=quantize)
    expected = quantized.generate(PROMPT, greedy=True, max_new_tokens=12)
    code, out, err = run_cli(
        "generate",
        tiny_checkpoint,
        PROMPT,
        "--greedy",
        "--max-new-tokens",
        12,
        "--quantize",
        quantize,
    )
    assert (code, out, err) == (0, expected + "\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "--greedy"], "prompt 1 is empty"),
        ([PROMPT, "--temperature", "-1"], "temperature must be >= 0"),
        ([PROMPT, "--top-p", "2"], "top_p must be in (0, 1]"),
        ([PROMPT, "--max-new-tokens", "500"], "leaves no room for a prompt"),
        ([PROMPT, "--quantize", "int2"], "quantize must be one of"),
    ],
)
def test_generate_refuses_bad_input_in_one_line(
    assert_one_error_line, run_cli, tiny_checkpoint, args, message
):
    code, out, err = run_cli("generate", tiny_checkpoint, *args)
    assert code == 1
    assert out == ""
    assert_one_error_line(err, message)


def test_a_too_long_prompt_is_truncated_with_a_warning(run_cli, tiny_checkpoint):
    long_prompt = "The ball of Mira is red. " * 20 + PROMPT
    code, out, err = run_cli(
        "generate", tiny_checkpoint, long_prompt, "--greedy", "--max-new-tokens", 10
    )
    assert code == 0
    assert err.startswith("warning: 1 prompt(s) longer than 118 tokens were truncated from")
    assert err.count("\n") == 1
    assert out.endswith("\n")


def test_test_json_prints_one_object(run_cli, tiny_checkpoint):
    code, out, err = run_cli("test", tiny_checkpoint, "--suite", "seed", "--json")
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert set(payload) == {"checkpoint", "results", "exact_match"}
    assert payload["checkpoint"] == str(tiny_checkpoint)
    assert len(payload["results"]) == 3  # the seed's reasoning prompts (the run's spec)
    for result in payload["results"]:
        assert set(result) == {"prompt", "expected", "output", "correct", "act_steps"}
        assert all(1 <= s <= 3 for s in result["act_steps"])
    correct = sum(r["correct"] for r in payload["results"])
    assert payload["exact_match"] == correct / 3


def test_test_shows_prompt_expected_actual(run_cli, tiny_checkpoint):
    code, out, _ = run_cli("test", tiny_checkpoint, "--suite", "seed", "--spec", "memory")
    assert code == 0
    lines = out.splitlines()
    prompts = [line for line in lines if line.startswith("Prompt:   ")]
    assert len(prompts) == 3
    assert "The capital of France is Paris. The capital of Germany is Berlin. Q:" in prompts[0]
    assert sum(line.startswith("Expected: ") for line in lines) == 3
    assert sum(line.startswith("Actual:   ") for line in lines) == 3
    assert lines[-1].startswith("exact match: ")


def test_test_scores_a_prompts_file(run_cli, tiny_checkpoint, tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"prompt": "Q: What is 3 + 4? A:", "answer": "7"}\n')
    code, out, _ = run_cli("test", tiny_checkpoint, "--prompts", path, "--json")
    assert code == 0
    assert [r["expected"] for r in json.loads(out)["results"]] == ["7"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"prompt": "a", "answer": "b"}\n{"prompt": "c", "answer"\n',
            "mine.jsonl:2: invalid JSON",
        ),
        (
            b'{"prompt": "a", "answer": "b"}\n{"prompt": "\xff", "answer": "b"}\n',
            "mine.jsonl:2: not UTF-8",
        ),
    ],
)
def test_test_refuses_a_bad_prompts_file_in_one_line(
    assert_one_error_line, run_cli, tiny_checkpoint, tmp_path, content, message
):
    path = tmp_path / "mine.jsonl"
    path.write_bytes(content)
    code, out, err = run_cli("test", tiny_checkpoint, "--prompts", path)
    assert code == 1
    assert out == ""
    assert_one_error_line(err, message)


def test_chat_answers_each_line_of_a_pipe(assert_one_error_line, run_cli, tiny_checkpoint):
    lines = [
        "The capital of Zorvia is Belka.",
        "What is the capital of Zorvia?",
        "/temp 0.5",
        "/temp warm",
        "/reset",
        "Q: What is 2 + 2? A:",
        "/quit",
        "Never asked?",
    ]
    code, out, err = run_cli(
        "chat",
        tiny_checkpoint,
        "--temperature",
        0,
        "--seed",
        1,
        "--max-new-tokens",
        6,
        stdin="\n".join(lines) + "\n",
    )
    assert code == 0
    assert_one_error_line(err, "/temp needs a number")
    session = ChatSession(
        cognate.load(tiny_checkpoint), Sampling(temperature=0, seed=1, max_new_tokens=6)
    )
    replies = [session.send(line) for line in lines[:3]] + [
        session.send(line) for line in lines[4:6]
    ]
    assert out.split("\n") == [r for r in replies if r is not None] + [""]
    assert replies[2:4] == ["temperature 0.5", "history cleared"]


def test_chat_quantized_answers_with_the_quantized_weights(run_cli, tiny_checkpoint):
    lines = ["The capital of Zorvia is Belka.", "What is the capital of Zorvia?"]
    code, out, err = run_cli(
        "chat",
        tiny_checkpoint,
        "--temperature",
        0,
        "--quantize",
        "int4",
        stdin="\n".join(lines) + "\n",
    )
    bundle = cognate.load(tiny_checkpoint, quantize="int4")
    session = ChatSession(bundle, bundle.sampling(temperature=0))
    replies = [session.send(line) for line in lines]
    assert (code, err) == (0, "")
    assert out.split("\n") == [r for r in replies if r is not None] + [""]
    assert session.sampling.quantize == "int4"


def test_chat_ends_at_the_end_of_its_input(tiny_checkpoint):
    script = Path(sys.executable).with_name("cognate")
    done = subprocess.run(
        [script, "chat", tiny_checkpoint, "--max-new-tokens", "4", "--seed", "0"],
        input=b"What is 2 + 2?\n",
        capture_output=True,  # bytes: a "\r" the model writes is not a line's end
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b"", done.stderr
    assert done.stdout.count(b"\n") == 1


@pytest.mark.parametrize(
    ("flag", "module", "package"),
    [("--wandb", "wandb", "wandb"), ("--tensorboard", "torch.utils.tensorboard", "tensorboard")],
)
def test_a_missing_tracking_package_is_one_line(
    assert_one_error_line, run_cli, tmp_path, monkeypatch, flag, module, package
):
    monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    code, _, err = run_cli("train", "--out", tmp_path / "run", "--steps", "1", flag)
    assert code == 1
    assert_one_error_line(err, flag, f"pip install 'cognate[{package}]'")
    assert not (tmp_path / "run").exists()  # refused before anything was written
