"""benchmarks/gpu_check.sh: its dry run end to end, and the pieces its summary is made of."""

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cognate.data.seed_prompts import seed_prompts
from cognate.rundir import METRICS_FILE

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import gpu_check  # noqa: E402

NUMBER = re.compile(r"[\d,]+(\.\d+)?")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("gpu_check")
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    command = ["bash", str(BENCHMARKS / "gpu_check.sh"), "--dry", "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600), out


def _table(text: str) -> list[list[str]]:
    """The cells of the summary's table rows: the header, the alignment row, the models."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def _number(cell: str, unit: str = "") -> float:
    assert cell.endswith(unit), cell
    figure = cell.removesuffix(unit).strip()
    assert NUMBER.fullmatch(figure), cell
    return float(figure.replace(",", ""))


def test_the_dry_run_prints_figures_for_every_model(dry_run):
    done, out = dry_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert "- CUDA tests: not run: no GPU." in done.stdout
    header, alignment, *rows = _table(done.stdout)
    assert header == list(gpu_check.COLUMNS)
    assert set(alignment) <= {"---", "---:"}
    assert [row[0] for row in rows] == ["reasoning", "memory", "speed"]
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        assert _number(cells["parameters"], "M") > 0
        assert _number(cells["steps"]) == gpu_check.DRY_STEPS
        for column in ("train tokens/s", "model MFLOP/token", "decode fp32 tokens/s"):
            assert _number(cells[column]) > 0, column
        assert _number(cells["decode int4 tokens/s"]) > 0
        assert 0 < _number(cells["MFU"], "%") < 100
        assert _number(cells["peak memory"], "MB") > 0
        assert 0 <= _number(cells["held-out"], "%") <= 100
        assert re.fullmatch(r"[0-3]/3", cells["seed"]), cells["seed"]
    assert (out / "summary.md").read_text() in done.stdout


def test_without_a_gpu_the_check_points_to_the_dry_run(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as stop:
        gpu_check.main(["--out", str(tmp_path / "check")])
    assert str(stop.value.code).startswith("error: no CUDA device")
    assert "--dry" in str(stop.value.code)
    assert not (tmp_path / "check").exists()


def test_a_failing_training_is_reported_and_its_row_says_failed(tmp_path):
    setting = dataclasses.replace(gpu_check.dry_setting(), tokenizer=f"gpt2:{tmp_path / 'none'}")
    problems: list[str] = []
    row = gpu_check.model_row("speed", setting, tmp_path / "speed", problems, gpu_check.Progress())
    [problem] = problems
    assert problem.startswith("speed: training: error: ")
    assert "no such file or directory" in problem and "speed.train.log" in problem
    assert row.cells(peak=1.0) == ["speed"] + ["failed"] * (len(gpu_check.COLUMNS) - 1)


def test_training_tokens_per_s_is_the_median_window_after_the_first(tmp_path):
    records = [
        {"kind": "train", "step": 25 * (i + 1), "tokens_per_s": v}
        for i, v in enumerate((10.0, 100.0, 130.0, 110.0))
    ]
    records.insert(2, {"kind": "validation", "step": 50, "exact_match": 0.5})
    (tmp_path / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    assert gpu_check.training_tokens_per_s(tmp_path) == 110.0
    (tmp_path / METRICS_FILE).write_text(json.dumps(records[0]) + "\n")
    assert gpu_check.training_tokens_per_s(tmp_path) == 10.0


def test_scores_tell_the_seed_prompts_from_the_held_out_ones():
    seed = [(p.prompt, i == 1) for i, p in enumerate(seed_prompts("memory"))]
    # the held-out split may ask a seed prompt again (its number pairs are test-only)
    heldout = [(f"Q: held out {i}? A:", i != 0) for i in range(3)] + [(seed[0][0], True)]
    payload = {"results": [{"prompt": p, "correct": c} for p, c in seed + heldout]}
    assert gpu_check.scores(payload, "memory") == {
        "heldout": 0.75,
        "seed_correct": 1,
        "seed_total": 3,
    }
    with pytest.raises(ValueError, match="seed prompts"):
        gpu_check.scores({"results": payload["results"][1:]}, "memory")
