"""The training loop: budgets, schedule, EMA, validation that tells the truth, exact resume.

One `Trainer` runs one run directory:
    tokenizer.json, metrics.jsonl, last.*, best.*, final.*, epoch_N.*
`last` holds everything an exact resume needs (weights, optimizer, scheduler, EMA, RNG, step);
`best`, `final` and `epoch_N` hold the EMA weights, which are the ones validated.

Under torchrun every rank runs a `Trainer` on its share of each global batch (DDP averages the
gradients); rank 0 validates and writes, and the other ranks take its decisions.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.distributed.elastic.multiprocessing.errors import record

import cognate
from cognate.checkpoint import (
    flatten_state,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from cognate.config import (
    ModelConfig,
    TrainConfig,
    get_specialization,
    model_config,
)
from cognate.data.datasets import (
    IGNORE_INDEX,
    FileStream,
    QARecord,
    SyntheticStream,
    collate,
    encode_example,
    encode_record,
    eval_set,
    load_user_data,
    train_corpus,
)
from cognate.data.tokenizer import Tokenizer, load_gpt2, parse_tokenizer_spec, train_bpe
from cognate.errors import CognateError
from cognate.evaluate.metrics import output_health
from cognate.evaluate.suites import (
    TestItem,
    exact_match,
    exact_match_by_family,
    examples_to_items,
    run_items,
)
from cognate.hardware import check_compiler, has_fast_bf16, keep_freed_memory
from cognate.infer.sampling import Sampling
from cognate.model import CognateModel, ModelOutput
from cognate.optim import build_optimizer, mugrokfast_config
from cognate.rundir import TOKENIZER_FILE
from cognate.train.distributed import Distributed, per_rank_batch
from cognate.train.tracking import MetricsLog

VALIDATION_SEED = 7  # fixed: every run of a spec validates on the same examples
HEALTH_SAMPLING = Sampling(temperature=0.7, max_new_tokens=24, seed=1234, stop=("\n",))
# What the metrics log of each training step, averaged over the step's target tokens.
LOGGED = (
    "loss",
    "lm_loss",
    "act_loss",
    "gate_mean",
    "halt_steps_mean",
    "halt_steps_std",
    "accuracy",
)


def _logged(out: ModelOutput) -> torch.Tensor:
    """The figures of a training forward that the metrics log (float64 [len(LOGGED)], CPU)."""
    figures = (
        out.loss.detach(),
        out.lm_loss,
        out.act_loss,
        out.gate_mean,
        out.halt_steps_mean,
        out.halt_steps_std,
        out.step_accuracy[-1],
    )
    return torch.stack([f.float() for f in figures]).cpu().double()


# On CPU, narrower models spend their step in small element-wise operations that bf16 does not
# speed up: on an AMX Xeon (bf16 products 4-5x fp32) tiny (d_model 64) trained at 0.87-1.15x
# fp32's tokens/s, phase1 (d_model 320) at 1.5-1.6x (benchmarks/results/train_speed.md), and
# the tiny recipe's accuracy was measured in fp32 only.
MIN_CPU_BF16_WIDTH = 256


def resolve_precision(precision: str, device: torch.device, d_model: int) -> str:
    """`auto` means bf16 autocast where bf16 matmuls are fast (on CPU, for models at least
    MIN_CPU_BF16_WIDTH wide), fp32 elsewhere."""
    if precision != "auto":
        return precision
    if device.type == "cpu" and d_model < MIN_CPU_BF16_WIDTH:
        return "fp32"
    return "bf16" if has_fast_bf16(device) else "fp32"


class TrainingError(CognateError):
    """Training cannot go on (non-finite losses, a bad run directory, ...)."""


@dataclass
class TrainOptions:
    """What `cognate train` was asked to do."""

    out: Path
    spec: str = "reasoning"
    preset: str = "tiny"
    minutes: float | None = None
    steps: int | None = None
    epochs: float | None = None
    resume: bool = False
    data: Path | None = None
    tokenizer: str = "bpe"
    seed: int | None = None
    wandb: bool = False
    tensorboard: bool = False
    show_progress: bool = True
    device: str = "auto"
    compile: bool = False
    config: TrainConfig = field(default_factory=TrainConfig)
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def budget(self) -> dict[str, float | None]:
        given = {"minutes": self.minutes, "steps": self.steps, "epochs": self.epochs}
        if sum(v is not None for v in given.values()) > 1:
            raise CognateError("give one budget: --minutes, --steps or --epochs")
        if all(v is None for v in given.values()):
            given["minutes"] = 10.0
        for name, value in given.items():
            if value is not None and value <= 0:
                raise CognateError(f"--{name} must be > 0")
        return given


class WarmupCosine:
    """Learning-rate factor: linear warmup over steps, flat until `decay_start` of the budget,
    then cosine decay to `min_ratio` over the rest.

    `progress` in [0, 1] is set by the trainer before each step: steps done / total steps,
    or elapsed / budgeted time. A plain object, so LambdaLR saves and restores its fields.
    """

    def __init__(self, warmup_steps: int, min_ratio: float, decay_start: float = 0.0) -> None:
        self.warmup_steps = warmup_steps
        self.min_ratio = min_ratio
        self.decay_start = decay_start
        self.progress = 0.0

    def __call__(self, step: int) -> float:
        warmup = min(1.0, (step + 1) / max(1, self.warmup_steps))
        decayed = (self.progress - self.decay_start) / (1.0 - self.decay_start)
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, decayed))))
        return warmup * (self.min_ratio + (1.0 - self.min_ratio) * cosine)


class EMA:
    """Exponential moving average of the weights, in a model of its own (used for validation)."""

    def __init__(self, model: CognateModel, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: CognateModel, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))  # average less while weights move fast
        ema = list(self.model.state_dict().values())
        current = list(model.state_dict().values())
        torch._foreach_lerp_(ema, current, 1.0 - decay)


@dataclass
class Validation:
    step: int
    epoch: int
    val_loss: float
    val_loss_steps: list[float]
    exact_match: float
    exact_match_by_family: dict[str, float]
    act_steps_mean: float
    act_steps_std: float
    health: dict[str, Any]
    seconds: float

    def record(self) -> dict[str, Any]:
        return {"kind": "validation", **self.__dict__}

    def better_than(self, other: dict[str, Any] | None) -> bool:
        if other is None:
            return True
        return (self.exact_match, -self.val_loss) > (other["exact_match"], -other["val_loss"])


class Trainer:
    def __init__(self, options: TrainOptions) -> None:
        keep_freed_memory()
        self.options = options
        self.budget = options.budget()
        self.dist = Distributed.from_env(options.device)
        self.run_dir = Path(options.out)
        resumed = self._resume_checkpoint()
        if resumed is not None:
            self._restore_options(resumed.metadata)
        self.config: TrainConfig = self.options.config
        for name in ("lr", "batch_size"):  # None: the specialization's
            if getattr(self.config, name) is None:
                setattr(self.config, name, getattr(self.specialization, name))
        # config.batch_size is the global batch: the same training for any number of ranks.
        self.batch_size = per_rank_batch(self.config.batch_size, self.dist.world_size)
        self.seed = options.seed if options.seed is not None else self.specialization.seed
        self.tokenizer = self._tokenizer()
        self._set_data()
        torch.manual_seed(self.seed)
        self.model_config = self._model_config()
        self.config.precision = resolve_precision(
            self.config.precision, self.dist.device, self.model_config.d_model
        )
        self.model = CognateModel(self.model_config).to(self.dist.device)
        self.train_model = self.dist.wrap(self.model)
        if options.compile:
            check_compiler(self.dist.device)
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
        self.step = 0
        self.elapsed = 0.0  # seconds of training, summed over resumes
        self.tokens_seen = 0
        self.best: dict[str, Any] | None = None
        self.stale_validations = 0
        self.nonfinite_in_row = 0
        self.last_validation: dict[str, Any] | None = None
        if resumed is not None:
            self._restore_state(resumed)
        self.metrics = None

    # -- set-up ----------------------------------------------------------------------------

    def _resume_checkpoint(self):
        existing = any(self.run_dir.glob("*.safetensors"))
        if not self.options.resume:
            if existing:
                raise TrainingError(
                    f"{self.run_dir} already holds a run; add --resume to continue it or "
                    "choose another --out"
                )
            return None
        if not (self.run_dir / "last.json").exists():
            raise TrainingError(
                f"{self.run_dir}/last: nothing to resume (no last checkpoint); "
                "start without --resume"
            )
        return load_checkpoint(self.run_dir / "last", with_state=True)

    def _restore_options(self, meta: dict[str, Any]) -> None:
        run = meta["run"]
        for name in ("spec", "preset"):
            given = getattr(self.options, name)
            if given != run[name]:
                raise TrainingError(
                    f"{self.run_dir}: the run was started with --{name} {run[name]}, "
                    f"not {given}; resume it with the same command"
                )
        self.options.seed = run["seed"]
        self.options.tokenizer = run["tokenizer"]
        self.options.data = Path(run["data"]) if run["data"] else None
        self.options.config = TrainConfig.from_dict(meta["train_config"])
        self.options.model_overrides = {}
        self._stored_model_config = ModelConfig.from_dict(meta["model_config"])

    def _tokenizer(self) -> Tokenizer:
        path = self.run_dir / TOKENIZER_FILE
        if self.options.resume:
            return Tokenizer.load(path)
        spec = parse_tokenizer_spec(self.options.tokenizer)
        if spec.kind == "gpt2":
            tokenizer = load_gpt2(spec.path)
        else:
            mixture = self.specialization.mixture_for_training
            texts = train_corpus(mixture, self.config.bpe_corpus_examples, self.seed)
            tokenizer = train_bpe(texts + self._user_texts(), self.config.bpe_vocab_size)
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.save(path)
        return tokenizer

    @property
    def specialization(self):
        return get_specialization(self.options.spec)

    def _user_records(self) -> list:
        if not hasattr(self, "_records"):
            self._records = load_user_data(self.options.data) if self.options.data else []
        return self._records

    def _user_texts(self) -> list[str]:
        return [
            f"{r.prompt} {r.answer}" if isinstance(r, QARecord) else r.text
            for r in self._user_records()
        ]

    def _set_data(self) -> None:
        config, rank, world = self.config, self.dist.rank, self.dist.world_size
        if self.options.data is None:
            self.stream = SyntheticStream(
                self.specialization.mixture_for_training,
                self.tokenizer,
                self.batch_size,
                self.seed,
                config.max_len,
                rank=rank,
                world_size=world,
            )
            mixture, n = self.specialization.mixture, config.eval_examples
            examples = eval_set(mixture, "validation", n, VALIDATION_SEED)
            self.val_items = examples_to_items(examples)
            self.val_loss_rows = [
                encode_example(self.tokenizer, e.prompt, e.answer, config.max_len) for e in examples
            ]
            self.steps_per_epoch = max(
                1, config.epoch_examples // (config.batch_size * config.grad_accum)
            )
            return
        records = list(self._user_records())
        random.Random(self.seed).shuffle(records)
        n_val = min(config.eval_examples, max(1, len(records) // 10))
        if len(records) < 2:
            raise CognateError(
                f"{self.options.data}: need at least 2 records to train and validate"
            )
        val, train = records[:n_val], records[n_val:]
        self.stream = FileStream(
            train,
            self.tokenizer,
            self.batch_size,
            self.seed,
            config.max_len,
            rank=rank,
            world_size=world,
        )
        self.val_items = [
            TestItem(r.prompt, r.answer, "user") for r in val if isinstance(r, QARecord)
        ]
        self.val_loss_rows = [
            row for r in val for row in encode_record(self.tokenizer, r, config.max_len)
        ]
        self.steps_per_epoch = max(1, self.stream.steps_per_epoch // config.grad_accum)

    def _model_config(self) -> ModelConfig:
        if hasattr(self, "_stored_model_config"):
            return self._stored_model_config
        return model_config(
            self.options.preset,
            self.options.spec,
            vocab_size=self.tokenizer.vocab_size,
            **self.options.model_overrides,
        )

    # -- state -----------------------------------------------------------------------------

    def _run_metadata(self) -> dict[str, Any]:
        o = self.options
        return {
            "spec": o.spec,
            "preset": o.preset,
            "seed": self.seed,
            "tokenizer": o.tokenizer,
            "data": str(o.data) if o.data else None,
            "training_mixture": None if o.data else self.specialization.mixture_for_training,
            "budget": self.budget,
            "world_size": self.dist.world_size,
            "global_batch_size": self.config.batch_size,
        }

    def _metadata(self, name: str, weights_kind: str) -> dict[str, Any]:
        return {
            "name": name,
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
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

    def _restore_state(self, checkpoint) -> None:
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
            return max(1, round(self.budget["epochs"] * self.steps_per_epoch))
        return None

    def progress(self) -> float:
        """Share of the budget used: by steps, or by wall-clock time for --minutes."""
        if self.total_steps is not None:
            return min(1.0, self.step / self.total_steps)
        return min(1.0, self.elapsed / (60.0 * self.budget["minutes"]))

    def _difficulty(self) -> float:
        if self.config.curriculum <= 0:
            return 1.0
        return min(1.0, self.progress() / self.config.curriculum)

    def _autocast(self):
        enabled = self.config.precision == "bf16"
        return torch.autocast(self.dist.device.type, dtype=torch.bfloat16, enabled=enabled)

    def _train_step(self) -> dict[str, float] | None:
        """One optimizer step (with accumulation). None when skipped for a non-finite value.

        The loss is the mean over the target tokens of the whole step (all ranks, all
        micro-batches). The batches are known in advance, so their targets are counted (and
        summed over ranks) first; each micro-batch's mean loss is then weighted by its share of
        the targets, times world_size because DDP averages the gradients over ranks.
        """
        self.schedule.progress = self.progress()
        difficulty = self._difficulty()
        accum, world, device = self.config.grad_accum, self.dist.world_size, self.dist.device
        batches = [self.stream.batch(self.step * accum + m, difficulty) for m in range(accum)]
        counts = [int((batch.labels != IGNORE_INDEX).sum()) for batch in batches]
        global_targets = max(1.0, float(self.dist.sum(torch.tensor([sum(counts)]))))
        totals = torch.zeros(len(LOGGED) + 2, dtype=torch.float64)  # logged, tokens, non-finite
        self.optimizer.zero_grad(set_to_none=True)
        for micro, (batch, count) in enumerate(zip(batches, counts, strict=True)):
            ids, labels = batch.input_ids.to(device), batch.labels.to(device)
            segments = batch.segments.to(device) if batch.segments is not None else None
            share = count / global_targets
            with self.dist.no_sync(self.train_model, last=micro == accum - 1), self._autocast():
                out = self.train_model(ids, labels, segments=segments)
                loss = out.loss * (share * world)
            # Every rank runs every backward (DDP's all-reduce needs them all); a non-finite
            # loss on any rank makes the whole step skipped, on every rank.
            loss.backward()
            totals[: len(LOGGED)] += _logged(out) * share
            totals[-2] += ids.numel()
            totals[-1] += float(not torch.isfinite(loss))
        *logged, tokens, nonfinite = self.dist.sum(totals).tolist()
        grad_norm = float("nan")
        finite = nonfinite == 0
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
        self.tokens_seen += int(tokens)
        stats = dict(zip(LOGGED, logged, strict=True))
        stats.update(
            grad_norm=grad_norm,
            lr=self.optimizer.param_groups[0]["lr"],
            difficulty=difficulty,
            tokens=int(tokens),
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

    @torch.no_grad()
    def validate(self) -> Validation:
        """Loss on held-out data, greedy exact-match and output health, with the EMA weights."""
        start = time.perf_counter()
        model = self.ema.model
        t_max = model.config.t_max
        losses = torch.zeros(t_max)
        targets = 0
        rows = self.val_loss_rows
        for i in range(0, len(rows), self.batch_size):
            batch = collate(rows[i : i + self.batch_size], self.tokenizer.eos_id)
            with self._autocast():
                out = model(batch.input_ids.to(self.dist.device), batch.labels.to(self.dist.device))
            losses += out.step_losses.float().cpu() * out.n_targets
            targets += out.n_targets
        losses /= max(1, targets)
        results = run_items(model, self.tokenizer, self.val_items) if self.val_items else []
        steps = torch.tensor([s for r in results for s in r.act_steps], dtype=torch.float)
        sampled = (
            run_items(
                model,
                self.tokenizer,
                self.val_items[: self.config.health_samples],
                sampling=HEALTH_SAMPLING,
            )
            if self.val_items
            else []
        )
        return Validation(
            step=self.step,
            epoch=self.step // self.steps_per_epoch,
            val_loss=float(losses[-1]),
            val_loss_steps=[round(float(v), 5) for v in losses],
            exact_match=exact_match(results),
            exact_match_by_family=exact_match_by_family(results),
            act_steps_mean=float(steps.mean()) if steps.numel() else 0.0,
            act_steps_std=float(steps.std(unbiased=False)) if steps.numel() else 0.0,
            health=output_health([r.output for r in sampled]).as_dict(),
            seconds=round(time.perf_counter() - start, 2),
        )

    def _validate_on_main(self) -> Validation:
        """Rank 0 validates (every rank holds the same EMA weights) while the others wait for
        its result, so that all ranks take the same `best` and early-stopping decisions."""
        return self.dist.from_main(self.validate() if self.dist.is_main else None)

    def _after_validation(self, validation: Validation) -> None:
        record = validation.record()
        self.last_validation = record
        if self.metrics is not None:
            self.metrics.log({**record, "elapsed": round(self.elapsed, 2)})
        if validation.better_than(self.best):
            self.best = record
            self.stale_validations = 0
            self._save("best")
        else:
            self.stale_validations += 1

    def run(self) -> dict[str, Any]:
        """Train until the budget is used (or early stopping); returns the final metadata."""
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            MetricsLog.truncate_after(self.run_dir, self.step)
            self.metrics = MetricsLog(
                self.run_dir,
                f"{self.options.spec}-{self.run_dir.name}",
                self.options.wandb,
                self.options.tensorboard,
            )
        try:
            with self._progress_bar() as bar:
                self._loop(bar)
        except KeyboardInterrupt:
            self._save("last")
            raise
        finally:
            if self.metrics is not None:
                self.metrics.close()
        return self._metadata("final", "ema")

    def _loop(self, bar) -> None:
        task = bar.add_task("train", total=1000, completed=int(1000 * self.progress()), info="")
        window_tokens, window_start = 0, time.perf_counter()
        stopped_early = False
        while not self._budget_done():
            started = time.perf_counter()
            stats = self._train_step()
            self.step += 1
            self.elapsed += time.perf_counter() - started
            if stats is not None:
                window_tokens += int(stats["tokens"])
            if self.step % self.config.log_every == 0 and stats is not None:
                now = time.perf_counter()
                stats["tokens_per_s"] = window_tokens / max(1e-9, now - window_start)
                window_tokens, window_start = 0, now
                if self.metrics is not None:
                    self.metrics.log(
                        {
                            "kind": "train",
                            "step": self.step,
                            "elapsed": round(self.elapsed, 2),
                            **_rounded(stats),
                        }
                    )
                bar.update(
                    task, info=f"loss {stats['lm_loss']:.3f}  {stats['tokens_per_s']:,.0f} tok/s"
                )
            epoch_end = self.step % self.steps_per_epoch == 0
            if self.step % self.config.eval_every == 0 or epoch_end:
                started = time.perf_counter()
                validation = self._validate_on_main()
                self._after_validation(validation)
                self.elapsed += time.perf_counter() - started
                bar.update(
                    task,
                    info=f"val loss {validation.val_loss:.3f}  exact {validation.exact_match:.1%}",
                )
                window_start = time.perf_counter()
            if (
                epoch_end
                and (self.step // self.steps_per_epoch) % self.config.save_epoch_every == 0
            ):
                self._save(f"epoch_{self.step // self.steps_per_epoch}")
            if self.step % self.config.save_every == 0:
                self._save("last")
            bar.update(task, completed=int(1000 * self.progress()))
            if self._stop_early():
                stopped_early = True
                break
            self._sync_elapsed()
        if self.last_validation is None or self.last_validation["step"] != self.step:
            self._after_validation(self._validate_on_main())
        self._save("final")
        self._save("last")
        if stopped_early and self.metrics is not None:
            self.metrics.log({"kind": "early_stop", "step": self.step})

    def _progress_bar(self) -> Progress:
        return Progress(
            TextColumn(f"[bold]{self.options.spec}[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            disable=not (self.options.show_progress and self.dist.is_main),
            transient=False,
        )


def _rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in stats.items()}


def _train(options: TrainOptions) -> dict[str, Any]:
    trainer = Trainer(options)
    metadata = trainer.run()
    trainer.dist.close()
    return metadata


def train(options: TrainOptions) -> dict[str, Any]:
    """Run `cognate train`; returns the metadata of the final checkpoint.

    Under torchrun a failing rank's error also goes to the file torchrun's summary shows.
    """
    run = record(_train) if "TORCHELASTIC_ERROR_FILE" in os.environ else _train
    return run(options)
