"""The training loop and the state its checkpoints keep, for an exact resume.

One `Trainer` runs one run directory (tokenizer.json, metrics.jsonl, last.*, best.*, final.*,
epoch_N.*, train.lock). It checks all it was asked before it writes anything, and writes only in
`run`, holding the directory (`cognate.rundir.owning`).
`last` holds everything an exact resume needs (weights, optimizer, scheduler, EMA, RNG, step);
`best`, `final` and `epoch_N` hold the EMA weights, which are the ones validated.

Under torchrun every rank runs a `Trainer` on its share of each global batch (DDP averages the
gradients); rank 0 validates and writes, and the other ranks take its decisions.

Its pieces live beside it: `options`, `resume` and `setup` (the run directory at the start),
`step`, `schedule`, `ema`, `validation`, `stopping`, `tracking`; `cognate.data.training_data`
(tokenizer, batches, held-out data) and `cognate.hardware` (the precision).
"""

from __future__ import annotations

import dataclasses
import math
import signal
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

import cognate
from cognate.checkpoint import (
    Checkpoint,
    flatten_state,
    model_from_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from cognate.config import TrainConfig, get_specialization
from cognate.data.datasets import Record, records_sha256
from cognate.data.tokenizer import Tokenizer
from cognate.data.training_data import make_tokenizer, training_data
from cognate.hardware import keep_freed_memory, resolve_precision
from cognate.model import CognateModel
from cognate.optim import build_optimizer, mugrokfast_config
from cognate.rundir import TOKENIZER_FILE, writing
from cognate.train import TrainingError
from cognate.train.distributed import Distributed, per_rank_batch, run_rank
from cognate.train.ema import EMA
from cognate.train.options import TrainOptions, with_specialization_defaults
from cognate.train.resume import how_to_start, started_as
from cognate.train.schedule import WarmupCosine
from cognate.train.setup import (
    check_tools,
    json_files,
    model_shape,
    owned_by_main,
    set_up_files,
    user_records,
)
from cognate.train.step import LOGGED, accumulate_gradients
from cognate.train.stopping import Interrupted, StopRequests
from cognate.train.tracking import MetricsLog, RunTracker, progress_bar
from cognate.train.validation import Validation, Validator


class Trainer:
    """Trains one run directory as `options` ask; a resumed run keeps the options it was
    started with, except its budget and how it runs (device, progress, logging)."""

    def __init__(self, options: TrainOptions) -> None:
        """Set the run up and check it can work; a Trainer writes nothing before `run`."""
        keep_freed_memory()
        self.budget = options.budget()
        self.dist = Distributed.from_env(options.device)
        self.run_dir = Path(options.out)
        self.start = how_to_start(self.run_dir, options.resume)
        self.found = json_files(self.run_dir)  # what the start was decided on
        started = self.start.started_with
        self.options = options if started is None else started_as(options, started)
        self.specialization = get_specialization(self.options.spec)
        self.seed = self.options.seed if self.options.seed is not None else self.specialization.seed
        config = with_specialization_defaults(self.options.config, self.specialization)
        # config.batch_size is the global batch: the same training for any number of ranks.
        self.batch_size = per_rank_batch(config.batch_size, self.dist.world_size)
        # What the options or the data file get wrong is refused before the tokenizer is trained.
        shape = model_shape(self.options, self.start)
        check_tools(self.options, self.dist.device)
        records = user_records(self.options, self.start, self.dist.is_main)
        self.data_sha256 = records_sha256(records) if self.options.data else None
        self.tokenizer = self._tokenizer(records, config)
        self.data = training_data(
            self.tokenizer,
            config,
            self.specialization,
            self.options.data,
            records,
            seed=self.seed,
            batch_size=self.batch_size,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        if self.start.note is not None and self.dist.is_main:
            warnings.warn(self.start.note, stacklevel=2)
        torch.manual_seed(self.seed)
        self.model_config = dataclasses.replace(shape, vocab_size=self.tokenizer.vocab_size)
        precision = resolve_precision(config.precision, self.dist.device, self.model_config.d_model)
        self.config: TrainConfig = dataclasses.replace(config, precision=precision)
        self.model = CognateModel(self.model_config).to(self.dist.device)
        self.train_model = self.dist.wrap(self.model)
        if self.options.compile:
            self.train_model = torch.compile(self.train_model)
        self.optimizer = build_optimizer(
            self.model,
            self.config.optimizer,
            lr=self.config.lr,
            weight_decay=self.config.weight_decay,
            config=mugrokfast_config(
                self.options.preset, orthogonalize_in_bf16=self.config.precision == "bf16"
            ),
        )
        self.schedule = WarmupCosine(
            self.config.warmup_steps, self.config.min_lr_ratio, self.config.decay_start
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.schedule)
        self.ema = EMA(self.model, self.config.ema_decay)
        self.validator = Validator(
            self.tokenizer, self.data, self.batch_size, self.config, self.dist.device
        )
        self.step = 0
        self.elapsed = 0.0  # seconds of training, summed over resumes
        self.tokens_seen = 0
        self.best: dict[str, Any] | None = None
        self.stale_validations = 0
        self.nonfinite_in_row = 0
        self.last_validation: dict[str, Any] | None = None
        if self.start.resumed is not None:
            self._restore_state(self.start.resumed)

    # -- set-up ----------------------------------------------------------------------------

    def _tokenizer(self, records: list[Record], config: TrainConfig) -> Tokenizer:
        """A resumed run's own tokenizer; else a new one (which `run` writes)."""
        if self.start.resumed is not None:
            return Tokenizer.load(self.start.resumed.tokenizer_path)  # the checkpoint's own
        mixture = self.specialization.mixture_for_training
        return make_tokenizer(self.options.tokenizer, mixture, records, config, self.seed)

    # -- state -----------------------------------------------------------------------------

    def _run_metadata(self) -> dict[str, Any]:
        o = self.options
        return dict(
            spec=o.spec, preset=o.preset, seed=self.seed, tokenizer=o.tokenizer,
            data=str(o.data.absolute()) if o.data else None, data_sha256=self.data_sha256,
            training_mixture=None if o.data else self.specialization.mixture_for_training,
            budget=self.budget, world_size=self.dist.world_size,
            global_batch_size=self.config.batch_size,
        )  # fmt: skip

    def _metadata(self, name: str, weights_kind: str) -> dict[str, Any]:
        return {
            "name": name,
            "step": self.step,
            "epoch": self.epoch,
            "weights": weights_kind,
            "metrics": self.last_validation,
            "best": self.best,
            "model_config": self.model_config.to_dict(),
            "train_config": self.config.to_dict(),
            "run": self._run_metadata(),
            "tokenizer_file": TOKENIZER_FILE,
            "tokens_seen": self.tokens_seen,
            "train_seconds": round(self.elapsed, 2),
            "cognate_version": cognate.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _save(self, name: str) -> None:
        if not self.dist.is_main:
            return
        with writing("the checkpoint", self.run_dir / name):
            self._write_checkpoint(name)

    def _write_checkpoint(self, name: str) -> None:
        if name == "last":
            tensors: dict[str, torch.Tensor] = {}
            resume = {
                "optimizer": flatten_state(self.optimizer.state_dict(), "optimizer", tensors),
                "scheduler": flatten_state(self.scheduler.state_dict(), "scheduler", tensors),
                "torch_rng": flatten_state(torch.get_rng_state(), "rng", tensors),
                "stale_validations": self.stale_validations,
                "nonfinite_in_row": self.nonfinite_in_row,
            }
            for key, value in self.ema.model.state_dict().items():
                tensors[f"ema.{key}"] = value
            meta = {**self._metadata(name, "raw"), "resume": resume}
            save_checkpoint(self.run_dir / name, self.model.state_dict(), meta, tensors)
        else:
            meta = self._metadata(name, "ema")
            save_checkpoint(self.run_dir / name, self.ema.model.state_dict(), meta)

    def _restore_state(self, checkpoint: Checkpoint) -> None:
        meta, tensors = checkpoint.metadata, checkpoint.state
        self.model.load_state_dict(model_from_checkpoint(checkpoint).state_dict())
        ema = {k[len("ema.") :]: v for k, v in tensors.items() if k.startswith("ema.")}
        self.ema.model.load_state_dict(ema)
        resume = meta["resume"]
        self.optimizer.load_state_dict(unflatten_state(resume["optimizer"], tensors))
        self.scheduler.load_state_dict(unflatten_state(resume["scheduler"], tensors))
        torch.set_rng_state(unflatten_state(resume["torch_rng"], tensors))
        self.step = meta["step"]
        self.elapsed = meta["train_seconds"]
        self.tokens_seen = meta["tokens_seen"]
        self.best = meta["best"]
        self.last_validation = meta["metrics"]
        self.stale_validations = resume["stale_validations"]
        self.nonfinite_in_row = resume["nonfinite_in_row"]

    # -- the loop --------------------------------------------------------------------------

    @property
    def total_steps(self) -> int | None:
        if self.budget["steps"] is not None:
            return int(self.budget["steps"])
        if self.budget["epochs"] is not None:
            return max(1, round(self.budget["epochs"] * self.data.steps_per_epoch))
        return None

    def progress(self) -> float:
        """Share of the budget used: by steps, or by wall-clock time for --minutes."""
        if self.total_steps is not None:
            return min(1.0, self.step / self.total_steps)
        return min(1.0, self.elapsed / (60.0 * self.budget["minutes"]))

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return self.step // self.data.steps_per_epoch

    def difficulty(self) -> float:
        """The task difficulty the curriculum has reached."""
        if self.config.curriculum <= 0:
            return 1.0
        return min(1.0, self.progress() / self.config.curriculum)

    def train_step(self) -> dict[str, float] | None:
        """Take step `step` and count it. Returns its figures (LOGGED, grad_norm, lr, difficulty,
        tokens), or None when it was skipped for a non-finite loss or gradient."""
        stats = self._optimizer_step()
        self.step += 1
        return stats

    def _optimizer_step(self) -> dict[str, float] | None:
        """One optimizer step (with accumulation). None when skipped for a non-finite value."""
        self.schedule.progress = self.progress()
        difficulty = self.difficulty()
        accum = self.config.grad_accum
        batches = [self.data.stream.batch(self.step * accum + m, difficulty) for m in range(accum)]
        self.optimizer.zero_grad(set_to_none=True)
        sums = accumulate_gradients(self.train_model, batches, self.dist, self.config.precision)
        grad_norm = float("nan")
        finite = sums.finite
        if finite:
            grad_norm = float(
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            )
            finite = math.isfinite(grad_norm)
        if not finite:
            self.optimizer.zero_grad(set_to_none=True)
            self.nonfinite_in_row += 1
            if self.nonfinite_in_row >= self.config.max_nonfinite_steps:
                raise TrainingError(
                    f"stopped at step {self.step}: {self.nonfinite_in_row} steps in a row had a "
                    "non-finite loss or gradient; lower --lr, or use --precision fp32"
                )
            return None
        self.nonfinite_in_row = 0
        self.optimizer.step()
        self.scheduler.step()
        self.ema.update(self.model, self.step)
        self.tokens_seen += sums.tokens
        stats = dict(zip(LOGGED, sums.logged, strict=True))
        stats.update(
            grad_norm=grad_norm,
            lr=self.optimizer.param_groups[0]["lr"],
            difficulty=difficulty,
            tokens=sums.tokens,
        )
        return stats

    def _budget_done(self) -> bool:
        return self.progress() >= 1.0

    def _sync_elapsed(self) -> None:
        """With a time budget, all ranks must set the same learning rate and stop at the same
        step: they all take rank 0's clock."""
        if self.budget["minutes"] is not None:
            self.elapsed = self.dist.from_main(self.elapsed)

    def _stop_early(self) -> bool:
        patience = self.config.early_stopping_patience
        return patience > 0 and self.stale_validations >= patience

    def _validate_on_main(self) -> Validation:
        """Rank 0 validates (every rank holds the same EMA weights) while the others wait for
        its result, so that all ranks take the same `best` and early-stopping decisions."""
        mine = (
            self.validator.validate(self.ema.model, self.step, self.epoch)
            if self.dist.is_main
            else None
        )
        return self.dist.from_main(mine)

    def _after_validation(self, validation: Validation, tracker: RunTracker) -> None:
        record = validation.record()
        self.last_validation = record
        tracker.log({**record, "elapsed": round(self.elapsed, 2)})
        if validation.better_than(self.best):
            self.best = record
            self.stale_validations = 0
            self._save("best")
        else:
            self.stale_validations += 1

    def run(self) -> dict[str, Any]:
        """Train until the budget is used (or early stopping); returns the final metadata.
        A stop signal ends it before the next step: `last` is saved, Interrupted raised."""
        metrics = None
        files = (self.run_dir, self.found, self.start, self.tokenizer, self.step)
        with (
            writing("the run's logs", self.run_dir),
            owned_by_main(self.dist, self.run_dir, lambda: set_up_files(*files)),
            StopRequests().listening() as stop,
        ):
            if self.dist.is_main:
                name = f"{self.options.spec}-{self.run_dir.name}"
                metrics = MetricsLog(
                    self.run_dir, name, self.options.wandb, self.options.tensorboard
                )
            try:
                show = self.options.show_progress and self.dist.is_main
                with progress_bar(self.options.spec, show) as bar:
                    self._loop(RunTracker(metrics, bar, self.progress()), stop)
            finally:
                if metrics is not None:
                    metrics.close()
        return self._metadata("final", "ema")

    def _loop(self, tracker: RunTracker, stop: StopRequests) -> None:
        stopped_early = False
        while not self._budget_done():
            signum = stop.agreed(self.dist)
            if signum is not None:
                self._save("last")
                raise Interrupted(
                    signum,
                    f"interrupted by {signal.Signals(signum).name}: saved "
                    f"{self.run_dir / 'last'} at step {self.step}; continue with --resume",
                )
            started = time.perf_counter()
            stats = self.train_step()
            self.elapsed += time.perf_counter() - started
            tracker.trained(self.step, self.elapsed, stats, self.step % self.config.log_every == 0)
            epoch_end = self.step % self.data.steps_per_epoch == 0
            if self.step % self.config.eval_every == 0 or epoch_end:
                started = time.perf_counter()
                validation = self._validate_on_main()
                self._after_validation(validation, tracker)
                self.elapsed += time.perf_counter() - started
                tracker.validated(validation.val_loss, validation.exact_match)
            if epoch_end and self.epoch % self.config.save_epoch_every == 0:
                self._save(f"epoch_{self.epoch}")
            if self.step % self.config.save_every == 0:
                self._save("last")
            tracker.moved(self.progress())
            if self._stop_early():
                stopped_early = True
                break
            self._sync_elapsed()
        if self.last_validation is None or self.last_validation["step"] != self.step:
            self._after_validation(self._validate_on_main(), tracker)
        self._save("final")
        self._save("last")
        if stopped_early:
            tracker.log({"kind": "early_stop", "step": self.step})


def _train(options: TrainOptions) -> dict[str, Any]:
    trainer = Trainer(options)
    metadata = trainer.run()
    trainer.dist.close()
    return metadata


def train(options: TrainOptions) -> dict[str, Any]:
    """Run `cognate train`; returns the metadata of the final checkpoint.

    Under torchrun a failing process's error also goes to torchrun's summary (`run_rank`).
    """
    return run_rank(lambda: _train(options))
