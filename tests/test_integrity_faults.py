"""Fault injection, integrity side (issue 31): damaged or foreign files in a run directory and
bad arguments get one line naming the file and key (or line), and leave every file as it was.

Faults: checkpoint metadata edited after saving (model settings, other fields, the file list,
broken JSON), the same on a checkpoint saved before metadata was sealed, another run's
tokenizer, a metrics.jsonl cut by a crash or damaged, `report` and `test` given the wrong
thing, and a torchrun job whose batch does not divide (a killed process of a torchrun job:
tests/train/test_distributed.py).
"""

import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from cognate import load
from cognate.checkpoint import CheckpointError, sha256_of
from cognate.data.datasets import train_corpus
from cognate.data.tasks import FAMILIES
from cognate.data.tokenizer import Tokenizer, train_bpe
from cognate.errors import CognateError
from cognate.evaluate import report
from cognate.rundir import LOCK_FILE, METRICS_FILE, read_metrics
from cognate.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

TESTS = Path(__file__).parent


def files_of(directory: Path) -> dict[str, str]:
    """Every file below `directory`: relative path -> sha256 (but the lock file, which names the
    process that last took the directory)."""
    return {
        str(path.relative_to(directory)): sha256_of(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != LOCK_FILE
    }


def assert_kept(before: dict[str, str], directory: Path) -> None:
    """No file of `before` was lost or changed."""
    after = files_of(directory)
    assert {name: after.get(name) for name in before} == before


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def foreign_tokenizer(vocab_size: int) -> Tokenizer:
    """Another corpus's BPE with the same number of tokens: the vocabulary check passes it."""
    tokenizer = train_bpe(train_corpus(dict.fromkeys(FAMILIES, 1.0), 400, seed=7), vocab_size)
    assert tokenizer.vocab_size == vocab_size
    return tokenizer


@pytest.fixture
def run(tmp_path, tiny_checkpoint) -> Path:
    """A copy of the tiny checkpoint's run directory (best.*, tokenizer.json)."""
    return shutil.copytree(tiny_checkpoint.parent, tmp_path / "run")


def unseal(run: Path) -> None:
    """Make `run/best` a checkpoint as saved before its metadata was sealed into the weights
    file and the tokenizer's sha256 recorded."""
    weights = run / "best.safetensors"
    save_file(load_file(weights), weights)

    def as_before(meta: dict) -> None:
        del meta["tokenizer_sha256"]
        meta["files"]["weights"]["sha256"] = sha256_of(weights)

    edit_json(run / "best.json", as_before)


PROMPT = "Q: What is 2 + 2? A:"


def generate_one_token(run_cli, run: Path) -> tuple[int, str, str]:
    return run_cli("generate", run / "best", PROMPT, "--max-new-tokens", "1", "--greedy")


@pytest.fixture
def refused(run_cli, assert_one_error_line):
    """`refused(run, *parts)`: `cognate generate` on `run/best` fails with one error line that
    holds each of `parts`, and leaves every file of `run` as it was."""

    def check(run: Path, *parts: str) -> None:
        before = files_of(run)
        code, out, err = generate_one_token(run_cli, run)
        assert (code, out) == (1, "")
        assert_one_error_line(err, *parts)
        assert_kept(before, run)

    return check


# ------------------------------------------------------------------- checkpoint metadata


def _set(key: str, value) -> Callable[[dict], None]:
    section, name = key.split(".")
    return lambda meta: meta[section].__setitem__(name, value)


def _drop(*keys: str) -> Callable[[dict], None]:
    def drop(meta: dict) -> None:
        for key in keys[:-1]:
            meta = meta[key]
        del meta[keys[-1]]

    return drop


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("model_config.t_max", 5), "model_config.t_max is 5, saved as 3"),
        (_set("model_config.max_seq_len", 4096), "model_config.max_seq_len is 4096, saved as 128"),
        (_set("model_config.d_model", 64), "model_config.d_model is 64, saved as 32"),
        (
            _set("model_config.rope_base", "abc"),
            'model_config.rope_base is "abc", saved as 10000.0',
        ),
        (_set("run.spec", "memory"), 'run.spec is "memory", saved as "reasoning"'),
        (_drop("tokenizer_sha256"), "tokenizer_sha256 was removed"),
    ],
    ids=["t_max", "max_seq_len", "d_model", "rope_base", "spec", "tokenizer_sha256"],
)
def test_metadata_edited_after_saving_is_refused_naming_the_field(refused, run, change, message):
    edit_json(run / "best.json", change)
    refused(run, "run/best.json: edited after saving (", message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("files", "weights", "sha256"), "key files.weights.sha256 is missing"),
        (_drop("files", "weights"), "key files.weights is missing"),
        (
            lambda meta: meta["files"]["weights"].__setitem__("file", "../swap/best.safetensors"),
            "files.weights.file is '../swap/best.safetensors', not a file name",
        ),
    ],
    ids=["sha256", "weights", "path outside"],
)
@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "unsealed"])
def test_a_damaged_file_list_is_one_line_naming_file_and_key(refused, run, change, message, sealed):
    if not sealed:
        unseal(run)
    edit_json(run / "best.json", change)
    refused(run, "run/best.json: ", message)


def test_metadata_that_is_not_json_is_one_line_naming_file_and_line(refused, run):
    (run / "best.json").write_text('{\n  "format": "cognate-checkpoint",\n')
    refused(run, "run/best.json:3: invalid JSON")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("model_config.rope_base", "abc"), "rope_base must be a number, not 'abc'"),
        (_set("model_config.t_max", 2.5), "t_max must be a whole number, not 2.5"),
        (_drop("model_config", "t_max"), "missing ModelConfig keys: t_max"),
        (
            lambda meta: meta.__setitem__("tokenizer_file", "../other/tokenizer.json"),
            "tokenizer_file is '../other/tokenizer.json', not a file name",
        ),
    ],
    ids=["rope_base", "t_max", "missing", "tokenizer_file"],
)
def test_an_unsealed_checkpoint_checks_its_model_config_and_file_names(
    refused, run, change, message
):
    unseal(run)
    edit_json(run / "best.json", change)
    refused(run, "run/best.json: ", message)


def test_an_unsealed_checkpoint_still_loads_without_a_word(run_cli, run):
    expected = load(run / "best").generate(PROMPT, max_new_tokens=1, greedy=True)
    unseal(run)
    assert generate_one_token(run_cli, run) == (0, expected + "\n", "")


# ------------------------------------------------------------------------- the tokenizer


def test_another_runs_tokenizer_of_the_same_size_is_refused(refused, run):
    foreign_tokenizer(Tokenizer.load(run).vocab_size).save(run)
    refused(run, "run/tokenizer.json is not the tokenizer ", "run/best.json was saved with")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_run) -> Path:
    """A tiny run of 2 steps: best, final, last, tokenizer.json, metrics.jsonl."""
    out = tmp_path_factory.mktemp("trained") / "run"
    train(tiny_run(out, steps=2, save_every=2))
    return out


@pytest.fixture
def trained_copy(tmp_path, trained) -> Path:
    return shutil.copytree(trained, tmp_path / "run")


def test_a_resume_refuses_another_tokenizer_and_edited_metadata(trained_copy, tiny_run):
    resume = tiny_run(trained_copy, steps=4, resume=True)
    tokenizer = trained_copy / "tokenizer.json"
    own = tokenizer.read_bytes()
    foreign_tokenizer(Tokenizer.load(tokenizer).vocab_size).save(tokenizer)
    before = files_of(trained_copy)
    with pytest.raises(CheckpointError, match=r"tokenizer\.json is not the tokenizer .*last\.json"):
        train(resume)
    assert_kept(before, trained_copy)

    tokenizer.write_bytes(own)
    t_max = json.loads((trained_copy / "last.json").read_text())["model_config"]["t_max"]
    edit_json(trained_copy / "last.json", _set("model_config.t_max", t_max + 2))
    before = files_of(trained_copy)
    edited = rf"last.json: edited after saving \(model_config.t_max is {t_max + 2}, saved as"
    with pytest.raises(CheckpointError, match=edited):
        train(resume)
    assert_kept(before, trained_copy)


# ---------------------------------------------------------------------------- metrics.jsonl

CUT = '{"kind": "train", "step": 3, "lm_lo'  # a record cut short: no closing brace, no newline


def test_a_metrics_line_cut_by_a_crash_is_dropped_on_resume_and_report(
    trained_copy, tiny_run, run_cli, monkeypatch
):
    metrics = trained_copy / METRICS_FILE
    with metrics.open("a") as f:
        f.write(CUT)
    cut_line = len(metrics.read_text().split("\n"))
    monkeypatch.setattr(report, "HELDOUT_SIZE", 4)
    code, out, err = run_cli("report", trained_copy)
    assert code == 0 and out.startswith("report written to")
    assert err == f"warning: {metrics}:{cut_line}: dropped, cut short by a crash\n"

    with pytest.warns(UserWarning, match=f"metrics.jsonl:{cut_line}: dropped, cut short"):
        train(tiny_run(trained_copy, steps=4, resume=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = read_metrics(trained_copy)
    assert [r["step"] for r in records if r["kind"] == "validation"] == [2, 4]
    assert metrics.read_text().endswith("}\n")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines.insert(1, b"not json"), "metrics.jsonl:2: invalid JSON"),
        (lambda lines: lines.insert(1, b"[1, 2]"), "metrics.jsonl:2: not a metrics record"),
        (lambda lines: lines.insert(1, b'{"kind": "\xff"}'), "metrics.jsonl:2: not UTF-8 text"),
        # a bad last line that ends in a newline was written whole: not a crash's cut
        (lambda lines: lines.insert(-1, b'{"kind": "tr'), ": invalid JSON"),
    ],
    ids=["not json", "not a record", "not utf-8", "whole last line"],
)
def test_a_damaged_metrics_line_is_one_line_naming_file_and_line(
    assert_one_error_line, trained_copy, tiny_run, run_cli, damage, message
):
    metrics = trained_copy / METRICS_FILE
    lines = metrics.read_bytes().split(b"\n")
    damage(lines)
    metrics.write_bytes(b"\n".join(lines))
    before = files_of(trained_copy)
    code, out, err = run_cli("report", trained_copy)
    assert (code, out) == (1, "")
    assert_one_error_line(err, f"{metrics}", message)
    with pytest.raises(CognateError, match=message):
        train(tiny_run(trained_copy, steps=4, resume=True))
    assert_kept(before, trained_copy)


# -------------------------------------------------------------------- report and test


@pytest.mark.parametrize(
    ("target", "found"), [("best.json", "a file"), ("elsewhere", "nothing there")]
)
def test_report_wants_run_directories(assert_one_error_line, run_cli, run, target, found):
    before = files_of(run)
    code, out, err = run_cli("report", run / target)
    assert (code, out) == (1, "")
    assert_one_error_line(err, f"{run / target}: {found}, not a run directory")
    assert files_of(run) == before


@pytest.mark.parametrize("suite", ["seed", "heldout", "all"])
def test_test_with_an_unknown_specialization_is_one_line(
    assert_one_error_line, run_cli, tiny_checkpoint, suite
):
    code, out, err = run_cli("test", tiny_checkpoint, "--spec", "bogus", "--suite", suite)
    assert (code, out) == (1, "")
    assert_one_error_line(err, "unknown specialization 'bogus'; choose one of: reasoning")


# ---------------------------------------------------------------------------------- torchrun


def test_torchrun_with_a_batch_that_does_not_divide_says_it_in_one_line(tmp_path):
    """One `error:` line (rank 0's), the same line for each process in torchrun's summary, and
    no traceback but torchrun's own (its launcher raising ChildFailedError)."""
    out = tmp_path / "run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    train_badly = ["-m", "cognate", "train", "--out", str(out), "--batch-size", "3", "--steps", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*torchrun, "2", *train_badly], capture_output=True, text=True, timeout=300, env=env
    )
    message = "a global batch of 3 sequences does not divide among 2 processes"
    assert done.returncode == 1
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: {message}; use a batch size that is a multiple of 2")
    assert done.stderr.count(f"traceback : {message}") == 2
    assert done.stderr.count("Traceback") == 1 and "ChildFailedError" in done.stderr
    frames = [line for line in done.stderr.splitlines() if line.lstrip().startswith('File "')]
    assert not [frame for frame in frames if "cognate" in frame]
    assert "[rank" not in done.stderr
    assert not out.exists()
