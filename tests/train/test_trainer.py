import copy
import json

import pytest
import torch
from safetensors.torch import load_file

from cognate.config import TrainConfig, get_specialization
from cognate.data.datasets import eval_set
from cognate.data.training_data import VALIDATION_SEED, Question
from cognate.errors import CognateError
from cognate.model import IGNORE_INDEX, CognateModel
from cognate.rundir import read_metrics
from cognate.train import TrainingError
from cognate.train.schedule import WarmupCosine
from cognate.train.trainer import Trainer, train


def test_resume_after_a_kill_is_bit_identical_to_an_uninterrupted_run(
    tmp_path, monkeypatch, tiny_run
):
    # `last` every 5 steps, validations at 10 and 20: the kill after step 13 loses 3 steps
    run = dict(steps=20, save_every=5, log_every=5, eval_every=10)
    train(tiny_run(tmp_path / "straight", **run))

    real_step = Trainer.train_step

    def dies_after_step_13(self):
        if self.step == 13:
            raise RuntimeError("simulated kill")
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", dies_after_step_13)
    with pytest.raises(RuntimeError, match="simulated kill"):
        train(tiny_run(tmp_path / "resumed", **run))
    monkeypatch.setattr(Trainer, "train_step", real_step)
    assert json.loads((tmp_path / "resumed" / "last.json").read_text())["step"] == 10
    train(tiny_run(tmp_path / "resumed", resume=True, **run))

    for name in ("last.safetensors", "final.safetensors", "last.state.safetensors"):
        straight = load_file(str(tmp_path / "straight" / name))
        resumed = load_file(str(tmp_path / "resumed" / name))
        assert straight.keys() == resumed.keys()
        for key in straight:
            assert torch.equal(straight[key], resumed[key]), f"{name}: {key}"
    steps = [r["step"] for r in read_metrics(tmp_path / "resumed") if r["kind"] == "train"]
    assert steps == [5, 10, 15, 20]  # steps logged before the kill were not duplicated


def test_validation_moves_best_and_a_short_run_lowers_validation_loss(tmp_path, tiny_run):
    out = tmp_path / "run"
    meta = train(tiny_run(out, steps=60, lr=3e-3, eval_every=10, eval_examples=12))
    validations = [r for r in read_metrics(out) if r["kind"] == "validation"]
    assert [v["step"] for v in validations] == [10, 20, 30, 40, 50, 60]
    losses = [v["val_loss"] for v in validations]
    assert len(set(losses)) == len(losses)  # a real measurement, not a constant
    assert losses[-1] < losses[0]
    best = max(validations, key=lambda v: (v["exact_match"], -v["val_loss"]))
    best_meta = json.loads((out / "best.json").read_text())
    assert best_meta["step"] == best["step"]
    assert best_meta["metrics"]["val_loss"] == best["val_loss"]
    assert meta["step"] == 60
    for v in validations:
        assert set(v["health"]) >= {"distinct_1", "distinct_2", "longest_run", "collapse_alarm"}
    assert {p.name for p in out.iterdir()} >= {
        "tokenizer.json",
        "metrics.jsonl",
        "best.json",
        "best.safetensors",
        "last.json",
        "last.safetensors",
        "last.state.safetensors",
        "final.json",
        "final.safetensors",
    }


def test_epoch_ends_validate_and_write_epoch_checkpoints(tmp_path, tiny_run):
    out = tmp_path / "run"
    train(tiny_run(out, steps=None, epochs=2, epoch_examples=40))  # 40 // 8 = 5 steps an epoch
    validations = [r["step"] for r in read_metrics(out) if r["kind"] == "validation"]
    assert validations == [5, 10]
    assert (out / "epoch_1.json").exists() and (out / "epoch_2.json").exists()
    assert json.loads((out / "epoch_2.json").read_text())["epoch"] == 2


def test_training_labels_are_the_next_tokens(tmp_path, tiny_run):
    trainer = Trainer(tiny_run(tmp_path / "run"))
    batch = trainer.data.stream.batch(0)
    targets = batch.labels != IGNORE_INDEX
    shifted = torch.roll(batch.input_ids, -1, dims=1)
    # every target but the last of a row is the next input token (the last one is eos)
    inner = targets & torch.roll(targets, -1, dims=1)
    assert torch.equal(batch.labels[inner], shifted[inner])


def test_repeated_non_finite_losses_stop_with_a_clear_message(tmp_path, monkeypatch, tiny_run):
    real_forward = CognateModel.forward

    def poisoned(self, input_ids, labels=None, **kwargs):
        out = real_forward(self, input_ids, labels, **kwargs)
        if labels is not None and self.training:
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(CognateModel, "forward", poisoned)
    with pytest.raises(TrainingError, match="3 steps in a row had a non-finite loss"):
        train(tiny_run(tmp_path / "run", max_nonfinite_steps=3))


def test_run_directory_mistakes_are_clear(tmp_path, tiny_run):
    out = tmp_path / "run"
    with pytest.raises(TrainingError, match="nothing to resume"):
        Trainer(tiny_run(out, resume=True))
    train(tiny_run(out, steps=5))
    with pytest.raises(TrainingError, match="already holds a run"):
        Trainer(tiny_run(out, steps=5))
    with pytest.raises(TrainingError, match="--spec reasoning"):
        Trainer(tiny_run(out, steps=10, spec="memory", resume=True))


def test_the_trainer_leaves_the_options_it_was_given_unchanged(tmp_path, tiny_run):
    out = tmp_path / "run"
    # None and "auto": the trainer resolves them, in its own config
    options = tiny_run(out, steps=2, lr=None, batch_size=None, precision="auto")
    given = copy.deepcopy(options)
    trainer = Trainer(options)
    assert (trainer.config.lr, trainer.config.precision) != (None, "auto")
    trainer.run()
    assert options == given
    # A resumed run keeps the seed and the config it started with, not the ones given now.
    resumed = tiny_run(out, steps=4, resume=True, seed=99, lr=1.0)
    given = copy.deepcopy(resumed)
    trainer = Trainer(resumed)
    assert (trainer.seed, trainer.config.lr) == (get_specialization("reasoning").seed, 3e-3)
    assert resumed == given


@pytest.mark.parametrize(
    ("spec", "given"), [("reasoning", None), ("memory", None), ("memory", 1e-3)]
)
def test_the_learning_rate_is_the_specializations_unless_given(tmp_path, tiny_run, spec, given):
    trainer = Trainer(tiny_run(tmp_path / "run", spec=spec, lr=given))
    expected = get_specialization(spec).lr if given is None else given
    assert all(group["initial_lr"] == expected for group in trainer.optimizer.param_groups)


@pytest.mark.parametrize(("spec", "given"), [("reasoning", None), ("speed", None), ("speed", 8)])
def test_the_batch_size_is_the_specializations_unless_given(tmp_path, tiny_run, spec, given):
    trainer = Trainer(tiny_run(tmp_path / "run", spec=spec, batch_size=given))
    expected = get_specialization(spec).batch_size if given is None else given
    assert trainer.data.stream.batch(0).input_ids.shape[0] == expected


def test_training_draws_the_training_mixture_and_validates_on_the_specializations(
    tmp_path, tiny_run
):
    speed = get_specialization("speed")
    assert set(speed.mixture_for_training) - set(speed.mixture)  # speed trains on more families
    trainer = Trainer(tiny_run(tmp_path / "run", spec="speed", eval_examples=12))
    assert trainer.data.stream.mixture == speed.mixture_for_training
    validation = eval_set(speed.mixture, "validation", 12, VALIDATION_SEED)
    assert trainer.data.val_questions == [
        Question(e.prompt, e.answer, e.family) for e in validation
    ]


def test_a_data_file_is_trained_on_and_validated_on(tmp_path, tiny_run):
    records = [{"prompt": f"Q: {i} plus one? A:", "answer": str(i + 1)} for i in range(40)]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "run"
    train(tiny_run(out, data=data, steps=2))
    [validation] = [r for r in read_metrics(out) if r["kind"] == "validation"]
    assert list(validation["exact_match_by_family"]) == ["user"]
    assert json.loads((out / "final.json").read_text())["run"]["data"] == str(data)


@pytest.mark.parametrize("decay_start", [0.0, 0.5])
def test_the_schedule_warms_up_holds_until_decay_start_then_decays_to_the_floor(decay_start):
    schedule = WarmupCosine(warmup_steps=10, min_ratio=0.05, decay_start=decay_start)
    assert schedule(0) == pytest.approx(0.1)  # warming up, at progress 0
    factors = {}
    for progress in (0.0, 0.25, 0.5, 0.75, 1.0):
        schedule.progress = progress
        factors[progress] = schedule(100)
    halfway_down = 0.05 + 0.95 * 0.5
    if decay_start == 0.0:
        assert factors[0.0] == pytest.approx(1.0)
        assert factors[0.5] == pytest.approx(halfway_down)
    else:
        assert factors[0.0] == factors[0.25] == factors[0.5] == pytest.approx(1.0)
        assert factors[0.75] == pytest.approx(halfway_down)
    assert factors[1.0] == pytest.approx(0.05)
    assert list(factors.values()) == sorted(factors.values(), reverse=True)


def test_a_decay_start_outside_the_budget_is_refused():
    with pytest.raises(CognateError, match="decay-start must be in"):
        TrainConfig(decay_start=1.0)


def test_a_compiled_training_step_gives_the_eager_steps_losses_and_weights(tmp_path, tiny_run):
    """`--compile` changes the speed, not the training (fp32, a 1-layer model, two steps on one
    batch: a second row length would compile again, a minute on CI)."""
    small = dict(n_layers=1, t_max=2, micro_steps=1)
    runs = {}
    for compiled in (False, True):
        trainer = Trainer(
            tiny_run(tmp_path / str(compiled), compile=compiled, model_overrides=small)
        )
        assert hasattr(trainer.train_model, "_orig_mod") == compiled  # torch.compile's wrapper
        first = trainer.data.stream.batch(0)
        trainer.data.stream.batch = lambda step, difficulty, first=first: first
        losses = [trainer.train_step()["loss"] for _ in range(2)]
        runs[compiled] = losses, {k: v.clone() for k, v in trainer.model.state_dict().items()}
    (eager_losses, eager_weights), (compiled_losses, compiled_weights) = runs[False], runs[True]
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)
    for name, weight in eager_weights.items():
        torch.testing.assert_close(compiled_weights[name], weight, rtol=1e-4, atol=1e-5, msg=name)
