"""benchmarks/phase1_learns.py: its curves, table and picture say what the runs wrote."""

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import phase1_learns  # noqa: E402


def _scored(heldout: float, seed: int) -> dict:
    groups = {
        "arithmetic": 1.0,
        "schoolbook_problems": heldout / 2,
        "heldout_template": heldout - 0.1,
        "train_template": heldout + 0.05,
        "made_up_names": heldout,
        "template:arith.add": 1.0,
    }
    return {"heldout": heldout, "seed_correct": seed, "groups": groups}


def _row(tag: str, heldout: float, spec: str = "reasoning") -> dict:
    return {
        "tag": tag,
        "spec": spec,
        "train": {"lr": 0.001} if tag.startswith("phase1") else {},
        "steps": 1200,
        "seconds_per_step": 2.5,
        "best_step": 1000,
        "best": _scored(heldout - 0.02, 2),
        "final": _scored(heldout, 3),
    }


def test_the_curve_is_the_validations_in_order(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    records = [
        {"kind": "train", "step": 25, "elapsed": 30.0, "loss": 2.0},
        {"kind": "validation", "step": 250, "elapsed": 300.0, "exact_match": 0.4, "val_loss": 0.9},
        {"kind": "validation", "step": 500, "elapsed": 612.0, "exact_match": 0.7, "val_loss": 0.5},
    ]
    metrics.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    curve = phase1_learns.validation_curve(tmp_path)
    assert [r["step"] for r in curve] == [250, 500]
    assert [r["exact_match"] for r in curve] == [0.4, 0.7]
    assert curve[1]["minutes"] == pytest.approx(10.2)


def test_the_picture_is_written(tmp_path):
    curve = [
        {"minutes": 5.0, "step": 250, "exact_match": 0.3, "val_loss": 1.0},
        {"minutes": 10.0, "step": 500, "exact_match": 0.6, "val_loss": 0.4},
    ]
    picture = tmp_path / "curves.png"
    phase1_learns.plot({"phase1": curve, "tiny": curve[:1]}, picture, "title")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_newest_row_of_each_tag_is_taken_and_no_row_at_all_is_an_error(tmp_path):
    log = tmp_path / "recipe_log.jsonl"
    rows = [_row("tiny-55min", 0.5), _row("tiny-55min", 0.8), _row("tiny-55min", 0.9, "memory")]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    found = phase1_learns.latest_rows(log, "reasoning", ["phase1-55min", "tiny-55min"])
    assert list(found) == ["tiny-55min"]
    assert found["tiny-55min"]["final"]["heldout"] == 0.8
    with pytest.raises(SystemExit, match="phase1-55min"):
        phase1_learns.latest_rows(log, "reasoning", ["phase1-55min"])


def test_the_table_has_a_line_per_run_and_checkpoint_with_its_groups():
    rows = {"phase1": _row("phase1-55min", 0.9), "tiny": _row("tiny-55min", 0.6)}
    text = phase1_learns.table(rows, {"phase1": 16_000_000, "tiny": 330_000})
    lines = text.splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert len(lines) == 2 + 4
    assert head[-2:] == ["arithmetic", "schoolbook_problems"]  # families, not templates
    phase1_final = [c.strip() for c in lines[3].strip("|").split("|")]
    assert phase1_final[:8] == [
        "phase1",
        "16,000,000",
        "0.001",
        "1,200",
        "2.50",
        "final",
        "**90.0%**",
        "3/3",
    ]
    by_column = dict(zip(head, phase1_final, strict=True))
    assert by_column["held-out structures"] == "80.0%"
    assert by_column["made-up names"] == "90.0%"
    assert by_column["schoolbook_problems"] == "45.0%"
    assert "best (step 1,000)" in lines[4]
    assert "| the spec’s |" in lines[5]  # tiny: no lr of its own
