"""Configuration dataclasses and named presets.

`ModelConfig` fixes the shape of a model, `Specialization` what one of the three seed models
is for (seed, task mixture, halting threshold, memory size) and `TrainConfig` how it is
trained. Presets are plain instances; `model_config(preset, spec)` combines the two.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from cognate.errors import CognateError

# A label that takes no loss (padding, prompts): the data writes it, the model's loss skips it.
IGNORE_INDEX = -100


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a TRM x Titans-MAG model. See `cognate.model.model` for the data flow."""

    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    window: int  # causal sliding-window attention: position i sees [i - window + 1, i]
    d_mem: int  # width of the long-term-memory state; 0: no long-term memory (for ablations)
    t_max: int  # recursion steps (deep-supervision steps), each with its own logits
    micro_steps: int  # latent (z) refinements per recursion step
    max_seq_len: int  # longest prompt + generation the CLI accepts (the model itself has no limit)
    # > 1: every attention's keys/values mix in those of the kv_conv_width - 1 positions before
    kv_conv_width: int = 1
    conv_queries: bool = False  # with kv_conv_width > 1: the backbone's queries mix in too
    # > 0: that many backbone heads (the last ones) prefer recent keys, as in ALiBi: a key's
    # logit loses 1/2, 1/4, ... per position of distance, so "the start of this sentence" is
    # easy to attend to (the reverse lookup of facts-in-context; benchmarks/RESULTS.md)
    recency_heads: int = 0
    act_threshold: float = 0.5  # a token halts at the first step whose halt probability >= this
    ltm_decay_init: float = 0.99
    ltm_learnable_decay: bool = True
    gate_entropy_weight: float = 0.01
    act_loss_weight: float = 0.1
    rope_base: float = 10_000.0
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        checks = {
            "d_model must be divisible by n_heads": self.d_model % self.n_heads == 0,
            "head size (d_model / n_heads) must be even for RoPE": (self.d_model // self.n_heads)
            % 2
            == 0,
            "window must be >= 1": self.window >= 1,
            "d_mem must be >= 0": self.d_mem >= 0,
            "kv_conv_width must be >= 1": self.kv_conv_width >= 1,
            "conv_queries needs kv_conv_width > 1": not self.conv_queries or self.kv_conv_width > 1,
            "recency_heads must be in [0, n_heads]": 0 <= self.recency_heads <= self.n_heads,
            "t_max must be >= 1": self.t_max >= 1,
            "micro_steps must be >= 1": self.micro_steps >= 1,
            "vocab_size must be >= 2": self.vocab_size >= 2,
        }
        for message, ok in checks.items():
            if not ok:
                raise CognateError(f"invalid ModelConfig: {message}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def attention_reach(self) -> int:
        """How many positions back attention alone carries a token's information: each
        backbone layer and the recursion's cross-attention reach window - 1 keys back, each
        key mixing kv_conv_width - 1 positions before it. Only the long-term memory reaches
        farther."""
        return (self.n_layers + 1) * (self.window - 1 + self.kv_conv_width - 1)

    def step_weights(self) -> list[float]:
        """Deep-supervision weight of each recursion step: rising (1, 2, .., T), summing to 1."""
        total = self.t_max * (self.t_max + 1) / 2
        return [(t + 1) / total for t in range(self.t_max)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """The config `to_dict` gave; unknown or missing keys and wrong types are errors."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise CognateError(f"unknown ModelConfig keys: {', '.join(unknown)}")
        required = [name for name, f in fields.items() if f.default is dataclasses.MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise CognateError(f"missing ModelConfig keys: {', '.join(missing)}")
        kinds = typing.get_type_hints(cls)
        for name, value in data.items():
            _check_kind(name, value, kinds[name])
        return cls(**data)


def _check_kind(name: str, value: Any, kind: type) -> None:
    """`value` must be a `kind`; an int is also a float, a bool is only a bool."""
    if isinstance(value, bool):
        fits = kind is bool
    else:
        fits = isinstance(value, int | float) if kind is float else isinstance(value, kind)
    if not fits:
        wanted = {bool: "true or false", int: "a whole number", float: "a number"}
        raise CognateError(f"{name} must be {wanted.get(kind, kind.__name__)}, not {value!r}")


GPT2_VOCAB_SIZE = 50_257

PRESETS: dict[str, ModelConfig] = {
    # Sized for 2 CPU cores: many optimizer steps in a few minutes beat a wider model.
    # vocab_size is replaced by the size of the tokenizer trained for the run.
    "tiny": ModelConfig(
        vocab_size=1024,
        d_model=64,
        n_layers=2,
        n_heads=4,  # 4 heads of 16 beat 2 of 32 at copying names from the context
        d_ff=256,
        window=128,
        d_mem=32,
        t_max=3,
        micro_steps=2,
        max_seq_len=512,
    ),
    # The seed report's shape: 32,474,721 parameters with the GPT-2 vocabulary.
    "phase1": ModelConfig(
        vocab_size=GPT2_VOCAB_SIZE,
        d_model=320,
        n_layers=8,
        n_heads=5,
        d_ff=1280,
        window=1024,
        d_mem=160,
        t_max=3,
        micro_steps=2,
        max_seq_len=4096,
    ),
}


@dataclass(frozen=True)
class Specialization:
    """One of the seed report's three models: what it trains on and how long it thinks."""

    name: str
    seed: int
    mixture: dict[str, float]  # task family -> sampling weight, of the test split
    act_threshold: float
    d_mem_factor: float  # multiplies the preset's d_mem
    lr: float = 3e-3  # peak learning rate when the run does not set one
    batch_size: int = 32  # rows per step (TrainConfig.batch_size) when the run does not set one
    max_len: int = 128  # tokens per training row (TrainConfig.max_len) when the run sets none
    window: int | None = None  # attention window when it differs from the preset's
    # Recursion depth (T_max x micro-steps) when it differs from the preset's: a shallower
    # recursion trains more steps in the same minutes (benchmarks/RESULTS.md).
    recursion: tuple[int, int] | None = None
    # Short convolutions (ModelConfig.kv_conv_width, conv_queries) when they differ from the
    # preset's: copying names of several tokens from the context (benchmarks/RESULTS.md).
    short_conv: tuple[int, bool] | None = None
    # Backbone heads that prefer recent keys (ModelConfig.recency_heads).
    recency_heads: int = 0
    # What training draws from when it differs from `mixture` (validation and the test split
    # keep `mixture`): other families that teach a skill the model's own ones need.
    training_mixture: dict[str, float] | None = None
    # Share of training questions asked after another example's text, as in a chat
    # (`cognate.data.tasks.sampling`).
    distracted_share: float = 0.0
    # Relative share of `cognate demo`'s training minutes (`train.demo.training_minutes`):
    # reasoning reaches its best checkpoint in about half of an equal share; memory and speed
    # use the extra steps (benchmarks/RESULTS.md, demo 11).
    demo_share: float = 1.0

    @property
    def mixture_for_training(self) -> dict[str, float]:
        return self.mixture if self.training_mixture is None else self.training_mixture


SPECIALIZATIONS: dict[str, Specialization] = {
    "reasoning": Specialization(
        name="reasoning",
        seed=42,
        # Word problems as school books write them (schoolbook_problems: change, combine,
        # compare, groups, money, distractor numbers) learn to ~55% on their test split in the
        # demo's minutes, arithmetic (three-digit sums included) to ~92%, the generator's word
        # problems to ~88-93% (benchmarks/RESULTS.md, 2026-12-07).
        mixture={"arithmetic": 0.35, "word_problems": 0.3, "schoolbook_problems": 0.35},
        act_threshold=0.9,  # thinks longest
        d_mem_factor=1.0,
        demo_share=0.85,
    ),
    "memory": Specialization(
        name="memory",
        seed=1337,
        # Stories of a small world (where is, who gave what, how many ...) need 256-token rows
        # and as long a window. Demo 27: stories 38.7% held-out, facts and running totals down
        # to 82% and 78% (benchmarks/RESULTS.md, 2026-12-07): short of the bar, a start.
        mixture={"facts": 0.35, "running_totals": 0.3, "stories": 0.35},
        max_len=256,
        window=256,
        act_threshold=0.7,
        d_mem_factor=2.0,  # largest memory
        lr=1e-2,  # copying names from the context emerges sooner (benchmarks/RESULTS.md)
        recursion=(2, 1),
        short_conv=(4, True),
        recency_heads=2,  # the reverse lookup ("Who owns the fox?") forms (benchmarks/RESULTS.md)
        # Speed's "Does Vesara own an owl?" (another owner's, often) teaches whose animal it is.
        training_mixture={"facts": 0.3, "running_totals": 0.25, "yes_no": 0.1, "stories": 0.35},
        batch_size=48,  # as speed's (benchmarks/RESULTS.md, demo 11)
        demo_share=1.075,
    ),
    "speed": Specialization(
        name="speed",
        seed=2023,
        mixture={"yes_no": 0.5, "arithmetic": 0.5},  # short direct answers
        act_threshold=0.5,  # halts earliest
        d_mem_factor=0.5,  # smallest memory
        lr=1e-2,  # with T 2x1: 93.7% held-out against 87.0% (benchmarks/RESULTS.md)
        # Whose animal it is formed in the same minutes with 48 rows a step, not with 32 or 24
        # (benchmarks/RESULTS.md, rows 66-67): more rows per second, and more per step.
        batch_size=48,
        recursion=(2, 1),
        short_conv=(4, True),
        recency_heads=2,
        # Looking up "what does Vesara own" (facts) teaches "does Vesara own an owl?" to tell
        # Vesara's animal from another's in the context. At 0.3 the lookup formed 750+ steps
        # sooner than at 0.2 on each of three seeds; arithmetic at 0.35 rather than 0.25 took
        # subtractions like 10 - 5 from 78% to 99%+ at demo step counts (RESULTS.md, 84-88).
        training_mixture={"yes_no": 0.35, "arithmetic": 0.35, "facts": 0.3},
        demo_share=1.075,
    ),
}


def _lookup(table: dict[str, Any], name: str, what: str) -> Any:
    if name not in table:
        raise CognateError(f"unknown {what} {name!r}; choose one of: {', '.join(table)}")
    return table[name]


def get_specialization(name: str) -> Specialization:
    return _lookup(SPECIALIZATIONS, name, "specialization")


def model_config(preset: str, spec: str | None = None, **overrides: Any) -> ModelConfig:
    """The preset's ModelConfig, adjusted for a specialization and explicit overrides."""
    config = _lookup(PRESETS, preset, "preset")
    if spec is not None:
        s = get_specialization(spec)
        config = dataclasses.replace(
            config,
            act_threshold=s.act_threshold,
            d_mem=max(1, round(config.d_mem * s.d_mem_factor)),
        )
        if s.recursion is not None:
            t_max, micro_steps = s.recursion
            config = dataclasses.replace(config, t_max=t_max, micro_steps=micro_steps)
        if s.recency_heads:
            config = dataclasses.replace(config, recency_heads=s.recency_heads)
        if s.window is not None:
            config = dataclasses.replace(config, window=s.window)
        if s.short_conv is not None:
            width, queries = s.short_conv
            config = dataclasses.replace(config, kv_conv_width=width, conv_queries=queries)
    return dataclasses.replace(config, **overrides)


@dataclass
class TrainConfig:
    """How a run trains. The CLI sets the common fields; the rest have tested defaults."""

    # Rows of max_len tokens per step (all processes), each packed with several examples;
    # None: the specialization's
    batch_size: int | None = None
    grad_accum: int = 1
    lr: float | None = None  # None: the specialization's
    min_lr_ratio: float = 0.05
    # Share of the budget at the peak lr before the cosine decay starts: 0.5 beat 0 at equal
    # steps for memory and speed (benchmarks/RESULTS.md, rows 62-65)
    decay_start: float = 0.5
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    ema_decay: float = 0.99
    optimizer: str = "muon"  # MuGrokfast without its filter: see benchmarks/results/optimizers.md
    precision: str = "auto"  # bf16 autocast where the hardware has fast bf16, else fp32
    max_len: int | None = None  # longest training row in tokens; None: the specialization's
    curriculum: float = 0.3  # share of the budget over which task difficulty rises to full
    eval_every: int = 500  # steps between validations (each epoch end validates too)
    eval_examples: int = 200
    health_samples: int = 32  # sampled generations checked for mode collapse per validation
    early_stopping_patience: int = 0  # validations without a better `best`; 0 disables
    save_every: int = 250  # steps between `last` checkpoints
    epoch_examples: int = 50_000  # a synthetic "epoch"
    save_epoch_every: int = 1  # write `epoch_N` every k epochs
    log_every: int = 25
    max_nonfinite_steps: int = 5
    bpe_vocab_size: int = 1024
    bpe_corpus_examples: int = 20_000

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise CognateError(
                f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}"
            )
        if self.precision not in PRECISIONS:
            raise CognateError(
                f"unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}"
            )
        positive = ("batch_size", "max_len", "grad_accum", "eval_every", "save_every", "log_every")
        for name in positive:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise CognateError(f"{name.replace('_', '-')} must be >= 1")
        if self.lr is not None and self.lr <= 0:
            raise CognateError("lr must be > 0")
        if not 0 <= self.decay_start < 1:
            raise CognateError("decay-start must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        # Runs saved before decay_start existed decayed from the start: resume them that way.
        data = {"decay_start": 0.0, **data}
        return cls(**{k: v for k, v in data.items() if k in known})


OPTIMIZERS = ("adamw", "mugrokfast", "muon")  # "muon": MuGrokfast without the filter (λ = 0)
PRECISIONS = ("auto", "fp32", "bf16")
