"""`cognate demo`'s orchestration: which runs it trains, resumes or keeps, and how.

Training itself is tested in test_trainer.py / test_distributed.py and the report in
tests/evaluate; here both are replaced by recorders.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from cognate.config import SPECIALIZATIONS
from cognate.errors import CognateError
from cognate.train import demo


@pytest.fixture
def recorded(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def fake_train(options):
        calls.append(("train", options.spec, options.minutes, options.resume))
        overrides = {run.name: run.overrides for run in demo.ABLATION}
        assert options.model_overrides == overrides.get(options.out.name, {})
        options.out.mkdir(parents=True, exist_ok=True)
        (options.out / "final.json").write_text("{}")

    def fake_run(command, env, check):
        calls.append(("torchrun", command, env["OMP_NUM_THREADS"]))
        return subprocess.CompletedProcess(command, 0)

    def fake_report(run_dirs, out):
        calls.append(("report", [d.name for d in run_dirs], out.name))
        return out

    monkeypatch.setattr(demo, "train", fake_train)
    monkeypatch.setattr(demo.subprocess, "run", fake_run)
    monkeypatch.setattr(demo, "write_report", fake_report)
    return calls


def test_one_process_trains_the_three_models_in_turn_then_reports(tmp_path, recorded):
    report = demo.run_demo(tmp_path, minutes=30, console=Console(quiet=True), processes=1)
    assert report == tmp_path / "REPORT.md"
    minutes = demo.training_minutes(30)
    assert recorded == [
        *(("train", spec, pytest.approx(minutes[spec]), False) for spec in SPECIALIZATIONS),
        ("report", list(SPECIALIZATIONS), "REPORT.md"),
    ]


def test_the_training_minutes_follow_the_shares_and_stay_within_the_budget(tmp_path, recorded):
    demo.run_demo(tmp_path, minutes=30, console=Console(quiet=True), processes=1)
    minutes = {c[1]: c[2] for c in recorded if c[0] == "train"}
    testing = 3 * demo.TESTING_MINUTES_PER_MODEL
    assert sum(minutes.values()) == pytest.approx(30 - testing)
    assert max(minutes.values()) <= 10  # the cap per model
    total_share = sum(s.demo_share for s in SPECIALIZATIONS.values())
    for spec, value in minutes.items():
        share = SPECIALIZATIONS[spec].demo_share
        assert value == pytest.approx((30 - testing) * share / total_share)


def test_finished_runs_are_kept_and_interrupted_ones_resumed(tmp_path, recorded):
    (tmp_path / "reasoning").mkdir()
    (tmp_path / "reasoning" / "final.json").write_text("{}")
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "last.json").write_text("{}")
    demo.run_demo(tmp_path, minutes=12, console=Console(quiet=True), processes=1)
    trained = [(c[1], c[3]) for c in recorded if c[0] == "train"]
    assert trained == [("memory", True), ("speed", False)]


def test_several_processes_train_under_torchrun_with_one_thread_each(tmp_path, recorded):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "last.json").write_text("{}")
    demo.run_demo(tmp_path, minutes=30, console=Console(quiet=True), processes=2)
    launches = [c for c in recorded if c[0] == "torchrun"]
    assert len(launches) == 3
    for (_, command, threads), spec in zip(launches, SPECIALIZATIONS, strict=True):
        assert command[:5] == [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
        ]
        assert command[command.index("--spec") + 1] == spec
        assert Path(command[command.index("--out") + 1]) == tmp_path / spec
        expected = demo.training_minutes(30)[spec]
        assert float(command[command.index("--minutes") + 1]) == pytest.approx(expected)
        assert ("--resume" in command) == (spec == "memory")
        assert threads == "1"


def test_a_failed_torchrun_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(
        demo.subprocess, "run", lambda command, env, check: subprocess.CompletedProcess(command, 3)
    )
    with pytest.raises(
        CognateError, match=r"training reasoning with 2 processes failed .*status 3"
    ):
        demo.run_demo(tmp_path, minutes=30, console=Console(quiet=True), processes=2)


@pytest.mark.parametrize(
    ("minutes", "processes", "message"), [(3, 1, "too short"), (30, 3, "divides")]
)
def test_bad_budgets_and_process_counts_are_refused(
    tmp_path, recorded, minutes, processes, message
):
    with pytest.raises(CognateError, match=message):
        demo.run_demo(tmp_path, minutes=minutes, console=Console(quiet=True), processes=processes)
    assert recorded == []


def test_the_ablation_trains_memory_without_each_part_for_memorys_minutes(tmp_path, recorded):
    demo.run_demo(tmp_path, minutes=30, console=Console(quiet=True), processes=1, ablation=True)
    trained = [(c[1], c[2]) for c in recorded if c[0] == "train"]
    memory_minutes = pytest.approx(demo.training_minutes(30)["memory"])
    assert trained[3:] == [("memory", memory_minutes), ("memory", memory_minutes)]
    assert recorded[-1] == ("report", [*SPECIALIZATIONS, "memory-t1", "memory-noltm"], "REPORT.md")

    recorded.clear()
    for name in ("memory-t1", "memory-noltm"):
        (tmp_path / name / "final.json").unlink()
    demo.run_demo(tmp_path, minutes=30, console=Console(quiet=True), processes=2, ablation=True)
    launches = [c[1] for c in recorded if c[0] == "torchrun"]
    options = [(c[c.index("--out") + 1], c[c.index("--spec") + 1], c[-2:]) for c in launches]
    assert options == [
        (str(tmp_path / "memory-t1"), "memory", ["--t-max", "1"]),
        (str(tmp_path / "memory-noltm"), "memory", ["--d-mem", "0"]),
    ]


def test_the_ablation_runs_overrides_reach_the_model_through_cognate_train(
    run_cli, tmp_path, monkeypatch
):
    """What `_train_in_processes` passes (--t-max 1, --d-mem 0) becomes the run's overrides."""
    from cognate.train import trainer

    given = []

    def fake_train(options):
        given.append(options.model_overrides)
        return {"step": 0, "train_seconds": 0.0, "best": None}

    monkeypatch.setattr(trainer, "train", fake_train)
    for run in demo.ABLATION:
        flags = [f for name, v in run.overrides.items() for f in (f"--{name.replace('_', '-')}", v)]
        code, _, _ = run_cli("train", "--spec", run.spec, "--out", tmp_path / run.name, *flags)
        assert code == 0
    assert given == [run.overrides for run in demo.ABLATION]
