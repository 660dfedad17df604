"""Run directories under faults: two writers, stop signals, a kill during a save, disks that
are full or read-only, directories holding someone else's files, data files that move, runs
that stopped before their first `last`, and mistakes in what was asked. Each fault gets one
clear line, and no file is lost.

The runs are tiny (tests/conftest.py); `cognate train` runs through `cli.main`, in this process
or, where a signal or a kill is under test, in a fresh one."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from safetensors import SafetensorError

from cognate import checkpoint as checkpoint_module
from cognate.atomic import temp_path
from cognate.checkpoint import load_checkpoint
from cognate.cli import main
from cognate.data.tokenizer import train_bpe
from cognate.rundir import (
    LOCK_FILE,
    METRICS_FILE,
    TOKENIZER_FILE,
    RunDirError,
    owning,
    read_metrics,
)
from cognate.train import trainer as trainer_module
from cognate.train.trainer import Trainer, train

pytestmark = pytest.mark.usefixtures("one_thread")

TESTS = Path(__file__).parent.parent
# `cognate train ...` in a fresh process, with the tiny runs' shapes.
TINY_COGNATE = f"""
import sys

import torch

sys.path.insert(0, {str(TESTS)!r})
from conftest import with_tiny_shapes
from cognate.cli import main
from cognate.train import trainer

torch.set_num_threads(1)
train = trainer.train
trainer.train = lambda options: train(with_tiny_shapes(options))
main()
"""
HOLDER = """
import sys
import time
from pathlib import Path

from cognate.rundir import owning

with owning(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(120)
"""
# A save that writes part of a file, then hangs until it is killed.
STALLED_SAVE = """
import sys
import time
from pathlib import Path

import torch

from cognate import checkpoint


def stalls(tensors, path, metadata=None):
    Path(path).write_bytes(b"partial")
    print("saving", flush=True)
    time.sleep(120)


checkpoint.save_file = stalls
checkpoint.save_checkpoint(Path(sys.argv[1]), {"w": torch.zeros(2)}, {})
"""
FINISHED = dict(steps=4, save_every=2)  # `last` at 2 and 4; `best` and `final` at 4


@pytest.fixture
def cognate(capsys, monkeypatch, tiny_shapes):
    """`cognate(*args)` runs the command line in this process, its training runs tiny;
    returns (exit status, standard error)."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main replaces it
    real_train = trainer_module.train
    monkeypatch.setattr(trainer_module, "train", lambda o: real_train(tiny_shapes(o)))

    def run(*args: object) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["cognate", *map(str, args)])
        with pytest.raises(SystemExit) as stop:
            main()
        return stop.value.code or 0, capsys.readouterr().err

    return run


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_run) -> Path:
    """A finished tiny run (FINISHED), to copy."""
    out = tmp_path_factory.mktemp("finished") / "run"
    train(tiny_run(out, **FINISHED))
    return out


@pytest.fixture
def run_copy(tmp_path, finished_run) -> Path:
    """A copy of the finished run, to resume."""
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


@pytest.fixture
def tiny_cognate(tmp_path) -> list[str]:
    """The command that runs TINY_COGNATE in a fresh process (add `train ...`)."""
    script = tmp_path / "tiny_cognate.py"
    script.write_text(TINY_COGNATE)
    return [sys.executable, str(script)]


def _step(stem: Path) -> int:
    return load_checkpoint(stem).metadata["step"]


def _temporaries(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.glob("*.tmp-*"))


# --------------------------------------------------------------------------- two writers


def test_one_process_at_a_time_holds_a_run_directory(tmp_path):
    out = tmp_path / "run"
    with owning(out), pytest.raises(RunDirError) as refused, owning(out):
        pass
    assert str(refused.value) == (
        f"{out}: pid {os.getpid()} trains into it; wait for it to end, or choose another --out"
    )
    with owning(out):  # released at the end of the block
        assert json.loads((out / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_a_second_process_is_refused_in_one_line_and_a_dead_owners_lock_taken_over(
    tmp_path, cognate
):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "holding\n"
        status, err = cognate("train", "--out", out, "--steps", 2)
    finally:
        holder.kill()
        holder.wait()
    assert status == 1
    assert err == (
        f"error: {out}: pid {holder.pid} trains into it; wait for it to end, or choose "
        "another --out\n"
    )
    assert sorted(os.listdir(out)) == [LOCK_FILE]  # the refused run wrote nothing
    assert json.loads((out / LOCK_FILE).read_text())["pid"] == holder.pid

    # The holder was killed: its lock is stale, and the next run takes it over.
    assert cognate("train", "--out", out, "--steps", 2) == (0, "")
    assert json.loads((out / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert _step(out / "last") == 2


def test_under_torchrun_rank_0_owns_and_no_rank_hangs_when_it_is_refused(tmp_path, tiny_cognate):
    out = tmp_path / "run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*torchrun, "--nproc_per_node", "2", *tiny_cognate[1:], "train", "--out", str(out)]
    with owning(out):
        done = subprocess.run(
            [*command, "--steps", "2"],
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert done.returncode != 0
    assert f"error: {out}: pid {os.getpid()} trains into it" in done.stderr
    assert sorted(os.listdir(out)) == [LOCK_FILE]


def test_a_run_that_another_process_wrote_while_it_started_is_refused(tmp_path, tiny_run):
    out = tmp_path / "run"
    slow = Trainer(tiny_run(out, steps=2))
    train(tiny_run(out, steps=2))
    with pytest.raises(RunDirError, match="another process wrote there while this run was"):
        slow.run()
    assert _step(out / "last") == 2


# --------------------------------------------------------------------------- signals


def test_sigterm_saves_last_says_where_and_the_run_resumes(tmp_path, cognate, tiny_cognate):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [*tiny_cognate, "train", "--out", str(out), "--steps", "100000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics, deadline = out / METRICS_FILE, time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text()):  # its first train record
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    process.terminate()
    _, err = process.communicate(timeout=120)
    step = _step(out / "last")
    assert process.returncode == 143
    assert err == (
        f"interrupted by SIGTERM: saved {out / 'last'} at step {step}; continue with --resume\n"
    )
    assert step >= 25  # the tiny runs log every 25 steps
    assert _temporaries(out) == []

    assert cognate("train", "--out", out, "--resume", "--steps", step + 2) == (0, "")
    assert _step(out / "last") == step + 2
    logged = [r["step"] for r in read_metrics(out) if r["kind"] == "train"]
    assert logged == sorted(set(logged))  # nothing logged twice


def test_ctrl_c_stops_after_the_step_it_interrupts_saves_last_and_says_where(
    tmp_path, cognate, monkeypatch
):
    out = tmp_path / "run"
    real_step = Trainer.train_step

    def ctrl_c_in_step_3(self):
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", ctrl_c_in_step_3)
    handler = signal.getsignal(
        signal.SIGINT
    )  # not Python's own when a shell started us in the background
    status, err = cognate("train", "--out", out, "--steps", 100)
    assert status == 130
    assert err == f"interrupted by SIGINT: saved {out}/last at step 4; continue with --resume\n"
    assert _step(out / "last") == 4
    assert signal.getsignal(signal.SIGINT) is handler  # given back


def test_a_run_trains_in_a_thread_where_signals_cannot_reach_it(tmp_path, tiny_run):
    out = tmp_path / "run"
    thread = threading.Thread(target=train, args=(tiny_run(out, steps=2),))
    thread.start()
    thread.join()
    assert _step(out / "last") == 2


# --------------------------------------------------------------------------- kills and disks


def test_the_temporaries_of_a_save_killed_by_sigkill_go_when_the_run_is_opened_again(
    run_copy, cognate
):
    killed = subprocess.Popen(
        [sys.executable, "-c", STALLED_SAVE, str(run_copy / "last")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert killed.stdout.readline() == "saving\n"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    left = run_copy / f"last.safetensors.tmp-{killed.pid}"
    assert left.read_bytes() == b"partial"
    alive = temp_path(run_copy / "notes.txt")  # a temporary of a running writer: this process
    alive.write_text("being written")

    assert cognate("train", "--out", run_copy, "--resume", "--steps", 6) == (0, "")
    assert not left.exists()
    assert alive.read_text() == "being written"
    assert _step(run_copy / "last") == 6


DISK_FIXES = {
    errno.ENOSPC: "free space on that disk and continue with --resume, or choose another --out",
    errno.EROFS: "choose an --out where you can write",
}


@pytest.mark.parametrize(("code", "fix"), DISK_FIXES.items())
def test_a_save_on_a_full_or_read_only_disk_is_one_line_and_the_last_checkpoint_survives(
    run_copy, cognate, monkeypatch, code, fix
):
    names = set(os.listdir(run_copy))

    def refused(
        tensors, path, metadata=None
    ):  # as safetensors reports it, after writing part of the file
        Path(path).write_bytes(b"part of a file")
        raise SafetensorError(f"Error while serializing: I/O error: ... (os error {code})")

    monkeypatch.setattr(checkpoint_module, "save_file", refused)
    status, err = cognate("train", "--out", run_copy, "--resume", "--steps", 8)
    assert status == 1
    assert err == (
        f"error: {run_copy}/last: cannot write the checkpoint ({os.strerror(code)}); {fix}\n"
    )
    assert _temporaries(run_copy) == []
    assert set(os.listdir(run_copy)) == names
    assert _step(run_copy / "last") == 4  # the one saved before


class _FullDisk:
    """A tokenizers.Tokenizer whose save meets a full disk, as that library reports it."""

    def save(self, path: str) -> None:
        Path(path).write_text("{")
        raise Exception("No space left on device (os error 28)")


def test_a_tokenizer_that_a_full_disk_refuses_leaves_no_temporary(tmp_path, monkeypatch):
    tokenizer = train_bpe(["a few words"] * 20, vocab_size=270)
    monkeypatch.setattr(tokenizer, "_inner", _FullDisk())
    with pytest.raises(OSError) as refused:
        tokenizer.save(tmp_path)
    assert refused.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []


def test_an_out_on_a_read_only_file_system_is_one_line(tmp_path, cognate, monkeypatch):
    out = tmp_path / "read-only" / "run"
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self == out:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    status, err = cognate("train", "--out", out, "--steps", 2)
    assert status == 1
    assert err == (
        f"error: {out}: cannot write the run directory (Read-only file system); choose an "
        "--out where you can write\n"
    )


def test_a_file_system_without_locks_trains_with_a_warning(tmp_path, monkeypatch):
    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr("cognate.rundir.fcntl.flock", no_locks)
    lockless = pytest.warns(UserWarning, match="cannot lock it .*make sure no other process")
    with lockless, owning(tmp_path / "run"):
        pass


# --------------------------------------------------------------------------- what --out holds


@pytest.mark.parametrize("resume", [False, True])
def test_a_directory_of_someone_elses_files_is_never_written_over(tmp_path, cognate, resume):
    out = tmp_path / "mine"
    out.mkdir()
    theirs = {TOKENIZER_FILE: '{"my": "tokenizer"}', METRICS_FILE: '{"step": 7}\n'}
    for name, text in theirs.items():
        (out / name).write_text(text)
    status, err = cognate("train", "--out", out, "--steps", 2, *(["--resume"] if resume else []))
    assert status == 1
    assert err == (
        f"error: {out} holds files that are not a Cognate run (metrics.jsonl, tokenizer.json); "
        "a run never writes over them: choose another --out\n"
    )
    assert {p.name: p.read_text() for p in out.iterdir()} == theirs


def test_a_run_started_with_a_relative_data_path_resumes_from_anywhere(
    tmp_path, cognate, monkeypatch
):
    started, elsewhere = tmp_path / "started", tmp_path / "elsewhere"
    started.mkdir()
    elsewhere.mkdir()
    lines = [json.dumps({"prompt": f"Q: {i} + 1? A:", "answer": f" {i + 1}"}) for i in range(40)]
    (started / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(started)
    assert cognate("train", "--out", "run", "--data", "pairs.jsonl", "--steps", 2) == (0, "")
    run = started / "run"
    assert load_checkpoint(run / "last").metadata["run"]["data"] == str(started / "pairs.jsonl")

    monkeypatch.chdir(elsewhere)
    assert cognate("train", "--out", run, "--resume", "--steps", 3) == (0, "")

    (elsewhere / "moved.jsonl").write_text((started / "pairs.jsonl").read_text())
    (started / "pairs.jsonl").unlink()
    status, err = cognate("train", "--out", run, "--resume", "--steps", 4)
    assert (status, err) == (
        1,
        f"error: {started / 'pairs.jsonl'}: the run's data file is gone; give its new place "
        "with --data\n",
    )
    status, err = cognate("train", "--out", run, "--resume", "--steps", 4, "--data", "moved.jsonl")
    assert (status, err) == (
        0,
        f"warning: moved.jsonl: resuming on this file (same records); the run was trained on "
        f"{started / 'pairs.jsonl'}\n",
    )
    (elsewhere / "other.jsonl").write_text("\n".join(lines[1:]) + "\n")
    status, err = cognate("train", "--out", run, "--resume", "--steps", 5, "--data", "other.jsonl")
    assert (status, err) == (
        1,
        f"error: other.jsonl: its records differ from those the run was trained on "
        f"({elsewhere / 'moved.jsonl'}); resume on the same data, or start a new run\n",
    )
    assert _step(run / "last") == 4


@pytest.fixture
def stopped_before_last(tmp_path, tiny_run) -> Path:
    """A run killed at step 3, after `best` at step 2 and before its first `last`."""
    out = tmp_path / "run"
    real_step = Trainer.train_step

    def dies_at_step_3(self):
        if self.step == 3:
            raise RuntimeError("killed")
        return real_step(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "train_step", dies_at_step_3)
        with pytest.raises(RuntimeError, match="killed"):
            train(tiny_run(out, eval_every=2, save_every=1000))
    assert {p.name for p in out.glob("*.json")} == {"best.json", TOKENIZER_FILE}
    return out


@pytest.mark.parametrize("resume", [True, False])
def test_a_run_stopped_after_best_before_last_starts_over_with_or_without_resume(
    stopped_before_last, cognate, resume
):
    out = stopped_before_last
    status, err = cognate("train", "--out", out, "--steps", 4, *(["--resume"] if resume else []))
    assert (status, err) == (
        0,
        f"warning: {out}: the run stopped before its first `last` checkpoint; starting it "
        "over at step 0, replacing best\n",
    )
    assert _step(out / "last") == 4
    # --resume keeps the run's options (a validation every 2 steps); a new start takes those
    # given (the tiny runs validate at the end)
    validated = [r["step"] for r in read_metrics(out) if r["kind"] == "validation"]
    assert validated == ([2, 4] if resume else [4])


def test_a_legacy_run_without_a_lock_file_resumes(run_copy, cognate):
    (run_copy / LOCK_FILE).unlink()
    assert cognate("train", "--out", run_copy, "--resume", "--steps", 6) == (0, "")
    assert _step(run_copy / "last") == 6


# --------------------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "huge"], "unknown preset 'huge'"),
        (["--spec", "poetry"], "unknown specialization 'poetry'"),
        (["--tokenizer", "bogus"], "invalid tokenizer 'bogus'"),
        (["--optimizer", "sgd"], "unknown optimizer 'sgd'"),
        (["--data", "missing.jsonl"], "missing.jsonl: no such file or directory"),
        (["--data", "{story}"], "records are its paragraphs, separated by blank lines"),
        (["--data", "{few}"], "--batch-size 8); use --batch-size 3 or less, or more data"),
    ],
)
def test_what_is_wrong_is_refused_before_anything_is_written(
    tmp_path, cognate, monkeypatch, args, message
):
    monkeypatch.chdir(tmp_path)
    Path("story.txt").write_text("One long paragraph.\nIt goes on, with no blank line.\n")
    Path("few.jsonl").write_text(
        "".join(json.dumps({"prompt": f"Q{i}", "answer": "A"}) + "\n" for i in range(4))
    )
    files = {"{story}": "story.txt", "{few}": "few.jsonl"}
    out = tmp_path / "run"
    status, err = cognate("train", "--out", out, "--steps", 2, *[files.get(a, a) for a in args])
    assert status == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert not out.exists()


def test_a_report_on_a_run_without_best_says_so(tmp_path, tiny_run, cognate):
    out = tmp_path / "run"
    with pytest.MonkeyPatch.context() as patch:  # stops at step 2, before validating
        patch.setattr(Trainer, "_budget_done", lambda self: self.step >= 2)
        patch.setattr(Trainer, "_validate_on_main", lambda self: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            train(tiny_run(out, save_every=2))
    status, err = cognate("report", out)
    assert (status, err) == (
        1,
        f"error: {out}: the run has no `best` checkpoint yet (a run saves it at its first "
        f"validation); continue the run: cognate train --out {out} --resume\n",
    )
