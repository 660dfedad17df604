"""Training speed: tokens/s of the real training step, fp32 against bf16 autocast, 1 against 2
processes, model FLOPs utilisation and peak memory, on this machine's CPU.

    .venv/bin/python benchmarks/train_speed.py [--quick]

Shape: a global batch of 8 rows × 256 tokens (4 rows per process with 2 processes), AdamW.
Every configuration runs in a fresh process (two processes: `torchrun --standalone`), so its
peak resident memory (VmHWM) is its own; the configurations run back to back. Each times
`Trainer.train_step`, the step `cognate train` takes (target counting and loss normalisation,
DDP's gradient all-reduce, clipping, AdamW, EMA), after warm-up steps; no validation.

Data: *random*: uniform random tokens with every position a target, the workload of the seed's
public reference implementation, which computed the loss at every position: the recursion and
the tied 50,257-way head run at every position, T_max times. *stream*: the real synthetic
training stream (examples packed into rows of at most 256 tokens, loss on answers only).

MFU = model FLOPs/s ÷ the bf16 `torch.mm` throughput of the cores used, measured here (the
issue's yardstick, whatever the row's precision). Model FLOPs: those `torch.utils.flop_counter`
counts in one step (forward + backward, no recomputation): the recursion applies its weights
T_max × micro_steps times and deep supervision runs the 50,257-way head at every recursion
step, so they are 2-3× the 6 · N of a plain transformer (N = all parameters, the tied
embedding / LM head counted once); the 6 · N figure is given too.

--compile rows run `cognate train --compile`'s model (`torch.compile`); their warm-up steps
include the compilation and, on the stream, the recompilations for new row lengths.

Allocation: `cognate train` keeps freed memory for reuse (`cognate.hardware.keep_freed_memory`);
phase1 also runs once each in fp32 and bf16 without it (glibc's default), to measure what it
gives.

phase1 uses a stand-in tokenizer with GPT-2's 50,257 tokens (there are no GPT-2 files on this
machine; see decode_speed.py); it makes about twice as many tokens of a text as GPT-2's would.
Writes benchmarks/results/train_speed.md. --quick: the tiny preset and one phase1 step only.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
import torch.distributed as dist
from decode_speed import gpt2_sized_tokenizer
from torch.utils.flop_counter import FlopCounterMode

from cognate.config import IGNORE_INDEX, PRESETS, TrainConfig
from cognate.data.datasets import Batch
from cognate.evaluate.performance import peak_rss_mb
from cognate.train import trainer as trainer_module
from cognate.train.options import TrainOptions
from cognate.train.trainer import Trainer

RESULTS = Path(__file__).parent / "results" / "train_speed.md"
BATCH, LENGTH = 8, 256
# The seed's public reference implementation, phase1 shape, batch 8 × 256, AdamW, on the AVX2 EPYC:
# issue 7 says ~120 tokens/s, ../shared/CPU-TRAINING-NOTES.md ~98; the higher one, so that a
# ratio to it is not flattered.
REFERENCE_TOKENS_PER_S = 120.0
REFERENCE_PEAK_GB = 7.2
TARGET_SPEEDUP, TARGET_MFU = 10.0, 0.40


class Config(NamedTuple):
    preset: str
    data: str
    precision: str
    processes: int
    threads: int  # per process
    # `keep_freed_memory` on (as `cognate train`) or off (glibc's default allocation)
    reuse_freed: bool = True
    compiled: bool = False  # torch.compile (`cognate train --compile`)


CONFIGS = [
    Config("tiny", "random", "fp32", 1, 1),
    Config("tiny", "random", "fp32", 1, 2),
    Config("tiny", "random", "fp32", 2, 1),
    Config("tiny", "random", "bf16", 1, 1),
    Config("phase1", "random", "fp32", 1, 1),
    Config("phase1", "random", "fp32", 1, 1, reuse_freed=False),
    Config("phase1", "random", "fp32", 1, 2),
    Config("phase1", "random", "fp32", 2, 1),
    Config("phase1", "stream", "fp32", 1, 1),
    Config("phase1", "stream", "fp32", 2, 1),
]
QUICK_CONFIGS = [c for c in CONFIGS if c.preset == "tiny"] + [
    Config("phase1", "random", "fp32", 1, 1)
]
# Run only where bf16 products are not far slower than fp32 (an AVX2 CPU: ~1/100).
PHASE1_BF16 = [
    Config("phase1", "random", "bf16", 1, 1),
    Config("phase1", "random", "bf16", 1, 1, reuse_freed=False),
    Config("phase1", "random", "bf16", 1, 2),
    Config("phase1", "random", "bf16", 2, 1),
    Config("phase1", "stream", "bf16", 1, 2),
    Config("phase1", "stream", "bf16", 2, 1),
    Config("phase1", "random", "bf16", 1, 1, compiled=True),
    Config("phase1", "random", "bf16", 1, 2, compiled=True),
    Config("phase1", "stream", "bf16", 1, 2, compiled=True),
]
MIN_BF16_SHARE = 0.25
# (warm-up steps, timed steps); the first warm-up step is the one whose FLOPs are counted,
# except when compiled (the FLOPs are those of the same step uncompiled)
STEPS = {"tiny": (3, 10), "phase1": (1, 3)}
QUICK_STEPS = {"tiny": (1, 3), "phase1": (1, 1)}
# Compiled: the compilation, and on the stream the recompilations for new row lengths (settled
# after ~8 steps in a trial), happen in warm-up.
COMPILED_STEPS = {"random": (2, 3), "stream": (12, 6)}


class RandomTokens:
    """Uniform random tokens; every position is a target (its label is the next token)."""

    def __init__(self, vocab_size: int, batch_size: int, rank: int) -> None:
        self.vocab_size, self.batch_size, self.rank = vocab_size, batch_size, rank

    def batch(self, step: int, difficulty: float = 1.0) -> Batch:
        generator = torch.Generator().manual_seed(1000 * step + self.rank)
        shape = (self.batch_size, LENGTH + 1)
        tokens = torch.randint(0, self.vocab_size, shape, generator=generator)
        return Batch(tokens[:, :-1], tokens[:, 1:])


# --------------------------------------------------------------------------- worker


def worker(spec: dict) -> dict | None:
    """Time one configuration in this process (a rank under torchrun); rank 0 returns figures."""
    options = TrainOptions(
        out=Path(spec["out"]),
        preset=spec["preset"],
        steps=10**9,
        tokenizer=spec["tokenizer"],
        show_progress=False,
        device="cpu",
        compile=spec["compiled"],
        config=TrainConfig(
            batch_size=BATCH,
            max_len=LENGTH,
            precision=spec["precision"],
            optimizer="adamw",
            curriculum=0.0,  # full-difficulty examples from the first step
            eval_examples=1,
            bpe_corpus_examples=2_000,
        ),
    )
    if not spec["reuse_freed"]:
        trainer_module.keep_freed_memory = lambda: False
    trainer = Trainer(options)
    if spec["data"] == "random":
        vocab_size, rank = trainer.model_config.vocab_size, trainer.dist.rank
        stream = RandomTokens(vocab_size, trainer.batch_size, rank)
        trainer.data = dataclasses.replace(trainer.data, stream=stream)
    sample = trainer.data.stream.batch(0)
    target_share = float((sample.labels != IGNORE_INDEX).float().mean())

    def step() -> int:
        stats = trainer.train_step()
        assert stats is not None, "a non-finite step"
        return stats["tokens"]

    warmup, timed = spec["steps"]
    flops_per_token = None
    if trainer.dist.world_size == 1 and not spec["compiled"]:
        with FlopCounterMode(display=False) as counter:
            tokens = step()
        flops_per_token = counter.get_total_flops() / tokens
        warmup -= 1
    for _ in range(warmup):
        step()
    started = time.perf_counter()
    tokens = sum(step() for _ in range(timed))
    seconds = time.perf_counter() - started

    rss = [peak_rss_mb()]
    if trainer.dist.world_size > 1:
        rss = [None] * trainer.dist.world_size
        dist.all_gather_object(rss, peak_rss_mb())
    trainer.dist.close()
    if not trainer.dist.is_main:
        return None
    return {
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "threads": torch.get_num_threads(),
        "tokens_per_step": tokens / timed,
        "step_seconds": seconds / timed,
        "tokens_per_s": tokens / seconds,
        "target_share": target_share,
        "flops_per_token": flops_per_token,
        "peak_rss_mb": max(rss),
    }


# --------------------------------------------------------------------------- runs


def run_config(config: Config, quick: bool, tmp: Path) -> dict:
    """One configuration in fresh processes; the figures rank 0 printed as its last line."""
    preset, data, precision, processes, threads, reuse_freed, compiled = config
    out = tmp / "-".join(map(str, config))
    tokenizer = f"gpt2:{tmp / 'gpt2-sized.json'}" if preset == "phase1" else "bpe"
    steps = COMPILED_STEPS[data] if compiled else (QUICK_STEPS if quick else STEPS)[preset]
    spec = dict(
        preset=preset,
        data=data,
        precision=precision,
        out=str(out),
        tokenizer=tokenizer,
        steps=steps,
        reuse_freed=reuse_freed,
        compiled=compiled,
    )
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command = [*launcher, __file__, "--worker", json.dumps(spec)]
    print(f"{preset}: {describe(config)} ...", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.exit(f"{command} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["threads"] == threads, figures
    print(f"  {figures['tokens_per_s']:.1f} tokens/s", flush=True)
    return figures


def flops_per_second(product: Callable[[], torch.Tensor], flops: float, seconds: float) -> float:
    """FLOP/s of `product` (`flops` a call), called for at least `seconds` after one warm-up."""
    product()
    count, started = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - started < seconds:
        product()
        count += 1
    return flops * count / (time.perf_counter() - started)


def matmul_flops(dtype: torch.dtype, threads: int, size: int = 1024, seconds: float = 1.0) -> float:
    """torch.mm size³ FLOP/s in this process with `threads` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    return flops_per_second(lambda: torch.mm(a, b), 2 * size**3, seconds)


class Peaks(NamedTuple):
    """Measured torch.mm FLOP/s: `one_thread` [precision], `all_cores` [precision] with a
    thread per core (1024³ and 2048³, the faster), and `head`: phase1's LM-head logits product
    as training computes it (50,257 × 320 @ 320 × 2,048 rows) in bf16 on one thread."""

    one_thread: dict[str, float]
    all_cores: dict[str, float]
    head: float
    cores: int

    def of(self, cores: int, precision: str = "bf16") -> float:
        """The yardstick for `cores` cores: the larger of cores × one thread (perfect scaling)
        and, on all cores, what they measured together."""
        scaled = cores * self.one_thread[precision]
        return max(scaled, self.all_cores[precision]) if cores == self.cores else scaled

    def bf16_is_fast(self) -> bool:
        """Not an AVX2 CPU, where bf16 products run at ~1/100 of fp32's speed."""
        return self.one_thread["bf16"] >= MIN_BF16_SHARE * self.one_thread["fp32"]

    def larger(self, other: Peaks) -> Peaks:
        """Each figure the larger of two measurements."""
        return Peaks(
            {k: max(v, other.one_thread[k]) for k, v in self.one_thread.items()},
            {k: max(v, other.all_cores[k]) for k, v in self.all_cores.items()},
            max(self.head, other.head),
            self.cores,
        )


def head_matmul_flops(seconds: float = 1.0) -> float:
    """FLOP/s of phase1's LM-head logits product in bf16 on one thread, vocabulary-major as
    `head_cross_entropy` computes it."""
    torch.set_num_threads(1)
    phase1 = PRESETS["phase1"]
    x = torch.randn(BATCH * LENGTH, phase1.d_model, dtype=torch.bfloat16)
    weight = torch.randn(phase1.vocab_size, phase1.d_model, dtype=torch.bfloat16)
    return flops_per_second(lambda: weight @ x.T, 2 * x.numel() * phase1.vocab_size, seconds)


def measure_peaks() -> Peaks:
    cores = os.cpu_count() or 1
    one, every = {}, {}
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        one[precision] = matmul_flops(dtype, 1)
        every[precision] = max(matmul_flops(dtype, cores, size) for size in (1024, 2048))
    return Peaks(one, every, head_matmul_flops(), cores)


# --------------------------------------------------------------------------- report


def machine() -> str:
    """Cores, CPU model, the vector instructions torch uses and the bf16 units (AMX tiles make
    bf16 products several times faster than AVX512-BF16 alone)."""
    with open("/proc/cpuinfo") as info:
        lines = info.read().splitlines()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    bf16 = [flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags]
    capability = ", ".join([torch.backends.cpu.get_cpu_capability(), *bf16])
    return f"{os.cpu_count()} cores ({names[0]}, {capability}), torch {torch.__version__}"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def report(rows: list[tuple[Config, dict]], measured: list[Peaks], header: str) -> str:
    """Markdown: the table, the matmul speeds, and how phase1 stands against the targets."""
    lines = [
        "# Training speed",
        "",
        f"`benchmarks/train_speed.py`, {time.strftime('%Y-%m-%d %H:%M')}: {header}.",
        "",
        f"Global batch {BATCH} × {LENGTH} tokens, AdamW, CPU, `Trainer.train_step` (no "
        "validation). *random*: random tokens, every position a target (the reference "
        "implementation's workload); *stream*: the real synthetic stream, loss on answers only "
        "(*targets*: share of positions with a loss). *Model FLOPs*: those "
        "`torch.utils.flop_counter` counts in one step (forward + backward, nothing recomputed), "
        "which include the recursion's repeated use of its weights and the head at every "
        "recursion step (deep supervision). *MFU* = model FLOPs/s ÷ *peak*, the bf16 `torch.mm` "
        "throughput for the cores the row uses (the larger of cores × one thread and, for all "
        "cores, what they did together), whatever the row's precision: the largest measured in "
        "this run (measured between the rows: the shared host's speed drifts). "
        "*MFU at 6·N* counts 6 · N FLOPs a token instead (N = all parameters), a plain "
        "transformer's count, which holds only with a loss at every position (random data).",
        "",
        "*Freed memory*: *reused* with `cognate.hardware.keep_freed_memory` (what `cognate "
        "train` does), *returned* to the system after every large tensor (glibc's default). "
        "*compiled*: `torch.compile`, as `cognate train --compile`.",
        "",
        "| preset | params | data | targets | precision | processes × threads | freed memory | "
        "step | tokens/s | × reference | model FLOPs/token | MFU | MFU at 6·N | peak RSS |",
        "|---|---:|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    counted: dict[str, float] = {}  # counted in 1-process runs; a step's FLOPs do not change
    peaks = functools.reduce(Peaks.larger, measured)
    cores = peaks.cores
    # (MFU, MFU at 6·N, config) of phase1 on random data on all cores: the target
    mfu_phase1: list[tuple[float, float, Config]] = []
    for config, f in rows:
        preset, data, precision, processes, threads, reuse_freed, compiled = config
        if f["flops_per_token"] is not None:
            counted[f"{preset}-{data}"] = f["flops_per_token"]
        per_token = counted.get(f"{preset}-{data}")
        peak = peaks.of(processes * threads)
        mfu = per_token * f["tokens_per_s"] / peak if per_token else None
        mfu_6n = 6 * f["parameters"] * f["tokens_per_s"] / peak
        on_all_cores = processes * threads == cores
        if preset == "phase1" and data == "random" and mfu is not None and on_all_cores:
            mfu_phase1.append((mfu, mfu_6n, config))
        memory = "reused" if reuse_freed else "returned"
        cells = [
            preset,
            f"{f['parameters'] / 1e6:.2f}M",
            data,
            f"{f['target_share']:.0%}",
            precision,
            f"{processes} × {threads}",
            f"{memory}, compiled" if compiled else memory,
            f"{f['step_seconds']:.2f} s",
            f"{f['tokens_per_s']:,.0f}",
            f"{f['tokens_per_s'] / REFERENCE_TOKENS_PER_S:.2f}×" if preset == "phase1" else "—",
            f"{per_token / 1e6:,.0f}M" if per_token else "—",
            f"{mfu:.1%}" if mfu is not None else "—",
            f"{mfu_6n:.1%}" if data == "random" else "—",
            f"{f['peak_rss_mb']:,.0f} MB",
        ]
        lines.append(f"| {' | '.join(cells)} |")

    def span(figures: list[float]) -> str:
        return f"{min(figures) / 1e9:,.0f}–{max(figures) / 1e9:,.0f}"

    one = {k: [p.one_thread[k] for p in measured] for k in ("fp32", "bf16")}
    every = {k: [p.all_cores[k] for p in measured] for k in ("fp32", "bf16")}
    lines += [
        "",
        f"`torch.mm` in this run ({len(measured)} measurements), GFLOP/s: 1024³ on 1 thread "
        f"fp32 {span(one['fp32'])}, bf16 {span(one['bf16'])}; on {cores} threads (1024³ or "
        f"2048³, the faster) fp32 {span(every['fp32'])}, bf16 {span(every['bf16'])}. Peak for "
        f"{cores} cores: {peaks.of(cores) / 1e9:,.0f} GFLOP/s in bf16. phase1's LM-head logits "
        "product (50,257 × 320 @ 320 × 2,048, as training computes it) in bf16 on 1 thread: "
        f"{span([p.head for p in measured])} GFLOP/s, at best "
        f"{peaks.head / peaks.one_thread['bf16']:.0%} of the 1-thread peak.",
        "",
        f"Reference (the seed's public implementation, phase1, batch 8 × 256, measured idle on "
        "the AVX2 EPYC this project first ran on; a faster CPU flatters the ratios to it): "
        f"~{REFERENCE_TOKENS_PER_S:.0f} tokens/s, peak {REFERENCE_PEAK_GB} GB; it "
        "computed the 50,257-way logits at every position whatever the data, so its speed is "
        "the same on random data and on the stream. A load average above 0.5 before the run "
        "means other jobs shared the cores. Targets: "
        f"≥ {TARGET_SPEEDUP:.0f}× its tokens/s, ≥ {TARGET_MFU:.0%} MFU for phase1.",
    ]
    by_config = dict(rows)
    gains = [
        f"- {what}, {c.preset} ({describe(c)}): "
        f"{by_config[c._replace(**change)]['tokens_per_s'] / f['tokens_per_s']:.2f}× the "
        f"tokens/s of {without}."
        for c, f in rows
        for what, without, change, applies in (
            ("Reusing freed memory", "returning it", {"reuse_freed": True}, not c.reuse_freed),
            ("Compiling", "not compiling", {"compiled": True}, not c.compiled),
        )
        if applies and c._replace(**change) in by_config
    ]
    if gains:
        lines += ["", *gains]
    phase1 = [(config, f) for config, f in rows if config.preset == "phase1"]
    if phase1:
        best_config, best = max(phase1, key=lambda row: row[1]["tokens_per_s"])
        speedup = best["tokens_per_s"] / REFERENCE_TOKENS_PER_S
        verdict = "met" if speedup >= TARGET_SPEEDUP else "not met"
        lines += [
            "",
            f"- Best phase1: {best['tokens_per_s']:,.0f} tokens/s ({describe(best_config)}) = "
            f"{speedup:.1f}× the reference: target {verdict}.",
        ]
    if mfu_phase1:
        mfu, mfu_6n, config = max(mfu_phase1, key=lambda row: row[0])
        ratio = counted["phase1-random"] / (6 * by_config[config]["parameters"])
        lines += [
            f"- Best phase1 MFU on all {cores} cores ({describe(config)}): "
            f"{mfu:.1%}: target {'met' if mfu >= TARGET_MFU else 'not met'}. At 6 · N: "
            f"{mfu_6n:.1%}; the step does {ratio:.2f}× 6 · N FLOPs, so {TARGET_MFU:.0%} at 6 · N "
            f"would need {TARGET_MFU * ratio:.0%} of the peak on the FLOPs it does.",
        ]
    all_cores_peak = peaks.of(cores)
    for data, per_token in counted.items():
        if data.startswith("phase1"):
            cap = all_cores_peak / per_token
            lines.append(
                f"- {data}: {per_token / 1e6:,.0f}M model FLOPs per token; at 100% of the "
                f"{cores}-core bf16 peak that is {cap:,.0f} tokens/s = "
                f"{cap / REFERENCE_TOKENS_PER_S:.1f}× the reference."
            )
    if "phase1-random" in counted and not measured[0].bf16_is_fast():
        minutes = counted["phase1-random"] * BATCH * LENGTH / all_cores_peak / 60
        lines.append(
            f"- phase1 with bf16 autocast: not measured; one step would take ~{minutes:,.0f} "
            "min at the measured bf16 matmul speed, which is why `--precision auto` picks "
            "fp32 on this CPU."
        )
    lines.append("")
    return "\n".join(lines)


def describe(config: Config) -> str:
    """'stream data, bf16, 1 × 2, compiled' (and ', freed memory returned' without reuse)."""
    parts = [f"{config.data} data", config.precision, f"{config.processes} × {config.threads}"]
    parts += [] if config.reuse_freed else ["freed memory returned"]
    return ", ".join(parts + (["compiled"] if config.compiled else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="tiny, and one phase1 step.")
    args = parser.parse_args()
    if args.worker:
        figures = worker(json.loads(args.worker))
        if figures is not None:
            print(json.dumps(figures))
        return
    header = f"{machine()}; load average before the run {load_average()}"
    print(header, flush=True)
    # The shared host's speed drifts (bf16 products: 406 to 1,063 GFLOP/s on one thread within
    # one run), so the peaks are measured between the rows and the largest are the yardstick.
    peaks = [measure_peaks()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        gpt2_sized_tokenizer().save(Path(tmp) / "gpt2-sized.json")
        configs = QUICK_CONFIGS if args.quick else list(CONFIGS)
        if not args.quick and peaks[0].bf16_is_fast():
            configs += PHASE1_BF16
        for config in configs:
            rows.append((config, run_config(config, args.quick, Path(tmp))))
            peaks.append(measure_peaks())
    header += f", after {load_average()}"
    print(f"load average after the run {load_average()}", flush=True)
    text = report(rows, peaks, header)
    print(text)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
