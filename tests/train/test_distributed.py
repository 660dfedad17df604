"""Training with several processes: real gloo process groups on this CPU.

The two-process work of this module runs in the `runs` fixture: one `torch.multiprocessing`
spawn of two fresh processes per job (after several process groups in one process, a rank
was seen to hang now and then); torchrun itself is started once, where a failing rank is
under test.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from cognate.cli import main
from cognate.data.datasets import Batch
from cognate.errors import CognateError
from cognate.model import IGNORE_INDEX, CognateModel
from cognate.rundir import read_metrics
from cognate.train import trainer as trainer_module
from cognate.train.distributed import per_rank_batch
from cognate.train.options import TrainOptions
from cognate.train.trainer import Trainer, train

pytestmark = pytest.mark.usefixtures("one_thread")

# Relative to the largest gradient entry: fp32, summed in another order (measured: 3e-7).
GRAD_TOLERANCE = 1e-5
# Absolute, after AdamW steps of lr 1e-3, i.e. 1% of a step. AdamW's first update of an entry
# is lr * g / (|g| + eps), so an entry whose gradient is near eps turns the gradients' summation
# noise into a visible share of a step (measured: 2e-6).
WEIGHT_TOLERANCE = 1e-5
STOP_AT, STEPS = 4, 6
# The tiny runs of this module: 2 micro-batches a step, every step logged, `last` every 2 steps.
# The gate-entropy regulariser is a mean over all positions, padding included, so it depends on
# how rows are split into batches. Without it the loss is a pure mean over target tokens.
RUN = dict(
    seed=1,  # a stream whose micro-batches and ranks hold different target counts (asserted)
    steps=STEPS,
    grad_accum=2,
    lr=1e-3,
    warmup_steps=1,
    save_every=2,
    log_every=1,
    model_overrides=dict(gate_entropy_weight=0.0),
)


def _grads_and_weights(model: CognateModel) -> dict[str, torch.Tensor]:
    found = {}
    for name, p in model.named_parameters():
        found[f"weight.{name}"] = p.detach().clone()
        found[f"grad.{name}"] = p.grad.clone() if p.grad is not None else torch.zeros_like(p)
    return found


def _assert_close(found: dict, expected: dict, kind: str, tolerance: float) -> None:
    keys = [k for k in expected if k.startswith(kind)]
    scale = max(float(expected[k].abs().max()) for k in keys) if kind == "grad" else 1.0
    worst = max(float((found[k] - expected[k]).abs().max()) for k in keys) / scale
    assert worst <= tolerance, f"{kind}: largest difference {worst:.2e} > {tolerance:.0e}"


# --------------------------------------------------------------------------- two processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _stopping_at(step: int) -> Iterator[None]:
    """End runs at `step` as if their budget were used up. It is not: the learning-rate
    schedule is that of the whole budget, and a resumed run continues it."""
    budget_done = Trainer._budget_done
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "_budget_done", lambda self: self.step >= step or budget_done(self))
        yield


def _one_step(rank: int, root: Path, options: TrainOptions) -> None:
    """One optimizer step, for the single-step test."""
    trainer = Trainer(options)
    assert trainer.train_step() is not None
    if trainer.dist.is_main:
        save_file(_grads_and_weights(trainer.model), str(root / "step.safetensors"))
    trainer.dist.close()


def _two_then_one(rank: int, root: Path, options: TrainOptions) -> None:
    """Train to STOP_AT; a single process resumes it later."""
    with _stopping_at(STOP_AT):
        meta = train(options)
    (root / f"best_seen_by_rank_{rank}.json").write_text(json.dumps(meta["best"]))


def _one_then_two(rank: int, root: Path, options: TrainOptions) -> None:
    """Resume a single-process run."""
    train(options)


TWO_RANK_JOBS = {"step": _one_step, "two_then_one": _two_then_one, "one_then_two": _one_then_two}


def _rank(rank: int, job: str, port: int, root: Path, options: TrainOptions) -> None:
    """One of two ranks of one of TWO_RANK_JOBS, in the environment torchrun would give it;
    `saves.log` records which rank wrote which checkpoint."""
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE="2",
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    save = trainer_module.save_checkpoint

    def logged_save(stem, *args, **kwargs):
        with (root / "saves.log").open("a") as log:
            log.write(f"rank {rank} wrote {Path(stem).name}\n")
        save(stem, *args, **kwargs)

    trainer_module.save_checkpoint = logged_save
    TWO_RANK_JOBS[job](rank, root, options)
    (root / f"{job}_rank_{rank}_done").touch()


def _spawn_two_ranks(
    job: str, options: TrainOptions, deadline_s: float = 300.0, exit_grace_s: float = 15.0
) -> None:
    """Run `_rank` for `job` with `options` in two fresh processes. A rank that does not exit
    within `exit_grace_s` of both ranks marking their work done is killed: one rank has been
    seen to hang in gloo teardown now and then, after all its work was written, and another to
    abort there ("terminate called without an active exception"). Either is ignored once both
    ranks' work is done; the tests check what they wrote. A rank stuck or failing before that
    fails the tests (a stuck one after `deadline_s`, instead of holding CI until its own time
    limit)."""
    root = options.out.parent
    context = mp.spawn(_rank, args=(job, _free_port(), root, options), nprocs=2, join=False)
    started, work_done = time.perf_counter(), None

    def both_done() -> bool:
        return all((root / f"{job}_rank_{r}_done").exists() for r in (0, 1))

    while True:
        try:
            if context.join(timeout=1.0):
                return
        except mp.ProcessExitedException:
            if both_done():
                return
            raise
        now = time.perf_counter()
        if work_done is None and both_done():
            work_done = now
        stuck_at_exit = work_done is not None and now - work_done > exit_grace_s
        if stuck_at_exit or now - started > deadline_s:
            for process in context.processes:
                process.kill()
            if stuck_at_exit:
                return
            pytest.fail(f"the two ranks of {job!r} did not finish within {deadline_s:.0f} s")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_run) -> Path:
    """Run directories: `straight` (1 process, 6 steps), `two_then_one` (2 processes to step
    4, then 1), `one_then_two` (the other way round); `step.safetensors`: 2 processes' first
    step; `saves.log`: who wrote which checkpoint in the 2-process runs."""
    root = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(tiny_run(root / "straight", **RUN))
        with _stopping_at(STOP_AT):
            train(tiny_run(root / "one_then_two", **RUN))
        for job in TWO_RANK_JOBS:
            _spawn_two_ranks(job, tiny_run(root / job, resume=job == "one_then_two", **RUN))
        train(tiny_run(root / "two_then_one", resume=True, **RUN))
    finally:
        torch.set_num_threads(threads)
    return root


# --------------------------------------------------------------------------- the loss


def _concatenate(batches: list[Batch], pad_id: int) -> Batch:
    """One batch holding the rows of all `batches`, right-padded to the longest."""
    length = max(b.input_ids.shape[1] for b in batches)

    def pad(t: torch.Tensor, value: int) -> torch.Tensor:
        return torch.nn.functional.pad(t, (0, length - t.shape[1]), value=value)

    return Batch(
        torch.cat([pad(b.input_ids, pad_id) for b in batches]),
        torch.cat([pad(b.labels, IGNORE_INDEX) for b in batches]),
        torch.cat([pad(b.segments, -1) for b in batches]),
    )


def test_accumulation_gives_the_gradient_of_the_mean_over_all_target_tokens(tmp_path, tiny_run):
    trainer = Trainer(tiny_run(tmp_path / "run", grad_clip=1e9, **RUN))
    difficulty = trainer.difficulty()  # the curriculum's, at step 0
    micro = [trainer.data.stream.batch(m, difficulty) for m in (0, 1)]
    targets = [int((b.labels != IGNORE_INDEX).sum()) for b in micro]
    assert targets[0] != targets[1]  # a mean of the two micro-batch means would be wrong
    reference = CognateModel(trainer.model_config)
    reference.load_state_dict(trainer.model.state_dict())

    trainer.train_step()
    batch = _concatenate(micro, trainer.tokenizer.eos_id)
    reference(batch.input_ids, batch.labels, segments=batch.segments).loss.backward()

    found = _grads_and_weights(trainer.model)
    _assert_close(found, _grads_and_weights(reference), "grad", GRAD_TOLERANCE)


def test_two_processes_take_the_same_step_as_one_process_on_the_global_batch(
    runs, tmp_path, tiny_run
):
    single = Trainer(tiny_run(tmp_path / "one", **RUN))
    # Each rank takes half of each micro-batch's rows. Their target counts differ, so a mean
    # of per-rank means would not be the global mean.
    difficulty = single.difficulty()
    halves = [single.data.stream.batch(m, difficulty).labels.chunk(2) for m in (0, 1)]
    per_rank = [sum(int((h[r] != IGNORE_INDEX).sum()) for h in halves) for r in (0, 1)]
    assert per_rank[0] != per_rank[1]
    before = {k: v.clone() for k, v in single.model.state_dict().items()}
    single.train_step()

    expected = _grads_and_weights(single.model)
    found = load_file(str(runs / "step.safetensors"))
    _assert_close(found, expected, "grad", GRAD_TOLERANCE)
    _assert_close(found, expected, "weight", WEIGHT_TOLERANCE)
    moved = max(float((expected[f"weight.{k}"] - v).abs().max()) for k, v in before.items())
    assert moved > 50 * WEIGHT_TOLERANCE  # the step itself is far above the tolerance


# --------------------------------------------------------------------------- runs


def test_only_rank_0_writes_and_every_rank_agrees_on_best(runs):
    # `last` every 2 steps, then the validation at the end makes `best`, then `final`, `last`;
    # the resumed 2-process run writes `last` at step 6, validates (better: `best`), ends.
    assert (runs / "saves.log").read_text().splitlines() == [
        f"rank 0 wrote {name}"
        for name in ["last", "last", "best", "final", "last", "last", "best", "final", "last"]
    ]
    for run_dir in ("two_then_one", "one_then_two"):
        assert sorted(p.name for p in (runs / run_dir).iterdir()) == [
            "best.json",
            "best.safetensors",
            "final.json",
            "final.safetensors",
            "last.json",
            "last.safetensors",
            "last.state.safetensors",
            "metrics.jsonl",
            "tokenizer.json",
            "train.lock",
        ]
        records = read_metrics(runs / run_dir)
        assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4, 5, 6]
        assert [r["step"] for r in records if r["kind"] == "validation"] == [STOP_AT, STEPS]
    best = [json.loads((runs / f"best_seen_by_rank_{r}.json").read_text()) for r in (0, 1)]
    assert best[0] == best[1] and best[0]["step"] == STOP_AT


def test_a_run_resumes_with_another_number_of_processes_on_the_same_data(runs):
    expected = load_file(str(runs / "straight" / "last.safetensors"))
    for run_dir, world_size in (("two_then_one", 1), ("one_then_two", 2)):
        meta = json.loads((runs / run_dir / "last.json").read_text())
        assert meta["step"] == STEPS
        assert meta["run"]["world_size"] == world_size
        assert meta["run"]["global_batch_size"] == 8
        found = load_file(str(runs / run_dir / "last.safetensors"))
        prefixed = {f"weight.{k}": v for k, v in found.items()}
        _assert_close(prefixed, {f"weight.{k}": v for k, v in expected.items()}, "weight", 1e-5)


def test_a_global_batch_must_divide_among_the_processes():
    assert per_rank_batch(8, 2) == 4
    with pytest.raises(CognateError, match="global batch of 8 sequences does not divide among 3"):
        per_rank_batch(8, 3)


# --------------------------------------------------------------------------- the command line


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    argv = ["cognate", "train", "--out", str(out), "--steps", "1", "--device", "cuda"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main replaces it
    with pytest.raises(SystemExit) as stop:
        main()
    err = capsys.readouterr().err
    assert stop.value.code == 1
    assert err.startswith("error: --device cuda: no CUDA device") and err.count("\n") == 1, err
    assert not out.exists()


FAILING_RANK = """
import os
import signal
import sys
from pathlib import Path

import torch

sys.path.insert(0, {tests!r})
from conftest import tiny_run_options
from cognate.train.trainer import Trainer, train

torch.set_num_threads(1)
take_step = Trainer.train_step


def failing_step(self):
    if self.dist.rank == {rank} and self.step == 1:
        {failure}
    return take_step(self)


Trainer.train_step = failing_step
train(tiny_run_options(Path(sys.argv[1]), steps=1000))
"""


def _torchrun_failing_rank(tmp_path: Path, rank: int, failure: str) -> str:
    """torchrun's output for two processes of which `rank` runs `failure` at its second step
    (the other then waits for it in an all-reduce); the job must fail."""
    script = tmp_path / "failing.py"
    tests = str(Path(__file__).parent.parent)
    script.write_text(textwrap.dedent(FAILING_RANK.format(tests=tests, rank=rank, failure=failure)))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    done = subprocess.run(
        [*command, "--nproc_per_node", "2", str(script), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    return done.stderr


def test_a_failing_rank_stops_every_rank(tmp_path):
    """Rank 1 raises; torchrun stops rank 0 and exits non-zero, naming the root cause."""
    stderr = _torchrun_failing_rank(tmp_path, 1, 'raise RuntimeError("rank 1 failed on purpose")')
    root_cause = stderr[stderr.index("Root Cause") :]
    assert "rank      : 1" in root_cause
    assert "RuntimeError: rank 1 failed on purpose" in root_cause


@pytest.mark.parametrize("killed", [0, 1])
def test_torchrun_names_a_killed_rank_not_the_one_that_lost_it(tmp_path, killed):
    """The survivor sees its peer's connection close before torchrun sees the peer gone: it
    must not be the "Root Cause" (torchrun ends it), nor print a traceback."""
    stderr = _torchrun_failing_rank(tmp_path, killed, "os.kill(os.getpid(), signal.SIGKILL)")
    root_cause = stderr[stderr.index("Root Cause") :]
    assert f"rank      : {killed} (local_rank: {killed})" in root_cause
    assert "Signal 9 (SIGKILL)" in root_cause
    survivor = stderr[stderr.index("Failures:") : stderr.index("Root Cause")]
    assert f"rank      : {1 - killed}" in survivor and "(SIGTERM)" in survivor
    assert stderr.count("Traceback") == 1 and "ChildFailedError" in stderr  # torchrun's own
    assert "[rank" not in stderr
