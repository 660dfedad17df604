"""A GPU check in one command: the CUDA tests, three phase1 models trained and tested, a summary.

    benchmarks/gpu_check.sh [--dry] [--gpt2 PATH] [--minutes M] [--out DIR]

On a CUDA machine (the default budget is meant to fit in 9 minutes on one GPU):
1. the CUDA-marked tests (`pytest -m cuda`; the DDP-over-NCCL test only with 2 GPUs);
2. for each specialization, `cognate train --preset phase1 --precision bf16 --device cuda
   --minutes M` with GPT-2's vocabulary, then `cognate test RUN/best --suite all --json`.
   GPT-2's files come from --gpt2 PATH or the GPT2_DIR variable (a tokenizer.json, or a
   directory with vocab.json + merges.txt); nothing is downloaded. Without them the models
   train with a stand-in BPE of GPT-2's 50,257 tokens (`decode_speed.gpt2_sized_tokenizer`),
   which has the model's shape and cost but makes about twice as many tokens of a text;
3. a worker process per model resumes its run in memory and measures the model FLOPs of one
   forward + backward of its own batch (`torch.utils.flop_counter`), the peak memory of a few
   training steps (`torch.cuda.max_memory_allocated`) and decoding speed (batch 1, 200 new
   tokens, `cognate.load` + `generate`, the fastest of 3): fp32 on the GPU, int4 on the CPU
   (the int4 kernels are CPU kernels).
It prints one table: training tokens/s (the median window of metrics.jsonl after the first),
MFU (model FLOPs/s over the bf16 `torch.mm` peak measured on the device), peak memory,
decoding tokens/s, held-out exact-match and seed prompts answered.

--dry runs the same pipeline on the CPU with a tiny setting (the tiny preset in fp32, a few
steps of a small batch, the own BPE; the CUDA tests are not run; peak memory is the worker's
peak resident memory), so that on a CUDA machine the check fails only on CUDA problems.

Everything lands in --out (default runs/gpu_check/DATE-TIME): the runs, a log per command, the
CUDA tests' JUnit XML, summary.md. Exit status 1 when any part failed (the summary says which).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import torch
from decode_speed import DECODERS, gpt2_sized_tokenizer, timed
from torch.utils.flop_counter import FlopCounterMode
from train_speed import flops_per_second

import cognate
from cognate.checkpoint import read_metadata
from cognate.config import SPECIALIZATIONS
from cognate.data.seed_prompts import seed_prompts
from cognate.data.tokenizer import load_gpt2
from cognate.errors import CognateError
from cognate.evaluate.performance import peak_rss_mb
from cognate.rundir import read_metrics
from cognate.train.options import TrainOptions
from cognate.train.step import accumulate_gradients
from cognate.train.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
MINUTES = 1.25  # training minutes per model: meant to fit three and the rest in 9 minutes
DRY_STEPS = 25  # one train record in metrics.jsonl (TrainConfig.log_every)
DRY_BATCH = 8
PROBE_STEPS = 3  # training steps whose peak memory the worker takes
DECODE_TOKENS = 200
COLUMNS = (
    "model",
    "parameters",
    "steps",
    "train tokens/s",
    "model MFLOP/token",
    "MFU",
    "peak memory",
    "decode fp32 tokens/s",
    "decode int4 tokens/s",
    "held-out",
    "seed",
)


class Progress:
    """Progress lines on standard error, each with the time since the check started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, what: str) -> None:
        minutes, seconds = divmod(round(self.seconds()), 60)
        print(f"[{minutes}:{seconds:02d}] {what} ...", file=sys.stderr, flush=True)


class StageFailed(Exception):
    """One part of the check failed; the summary names it and the check goes on."""


@dataclass(frozen=True)
class Setting:
    """What the check trains and where."""

    device: str  # "cuda" or "cpu"
    preset: str
    precision: str
    budget: tuple[str, ...]  # `cognate train`'s budget (and batch) flags
    tokenizer: str  # `cognate train --tokenizer`
    tokenizer_note: str
    peak_size: int  # square bf16 matrices timed for the peak
    memory_kind: str  # what "peak memory" is

    @property
    def dry(self) -> bool:
        return self.device == "cpu"


def gpu_setting(minutes: float, gpt2: Path | None, work: Path) -> Setting:
    if gpt2 is not None:
        tokenizer = load_gpt2(gpt2)  # one clear line if the files are not usable
        spec, note = f"gpt2:{gpt2}", f"GPT-2's ({gpt2}), {tokenizer.vocab_size:,} tokens"
    else:
        stand_in = gpt2_sized_tokenizer()
        spec = f"gpt2:{stand_in.save(work / 'gpt2-sized.json')}"
        note = (
            f"a stand-in BPE with GPT-2's {stand_in.vocab_size:,} tokens (no "
            "GPT-2 files given: --gpt2 PATH or GPT2_DIR); it makes about twice as many tokens "
            "of a text as GPT-2's"
        )
    return Setting(
        device="cuda",
        preset="phase1",
        precision="bf16",
        budget=("--minutes", f"{minutes:g}"),
        tokenizer=spec,
        tokenizer_note=note,
        peak_size=8192,
        memory_kind="torch.cuda.max_memory_allocated over the training steps",
    )


def dry_setting() -> Setting:
    return Setting(
        device="cpu",
        preset="tiny",
        precision="fp32",
        budget=("--steps", str(DRY_STEPS), "--batch-size", str(DRY_BATCH)),
        tokenizer="bpe",
        tokenizer_note="the own BPE (dry run), trained for each run",
        peak_size=512,
        memory_kind="peak resident memory of the worker process (CPU)",
    )


# --------------------------------------------------------------------------- the machine


def describe_device(setting: Setting) -> str:
    version = f"torch {torch.__version__}"
    if setting.dry:
        return f"CPU ({os.cpu_count()} cores, {platform.machine()}), {version}: dry run"
    count = torch.cuda.device_count()
    bf16 = "native" if torch.cuda.is_bf16_supported(including_emulation=False) else "emulated"
    return (
        f"{torch.cuda.get_device_name(0)} ({count} GPU, bf16 {bf16}), {version}, "
        f"CUDA {torch.version.cuda}"
    )


def bf16_matmul_peak(device: str, size: int) -> float:
    """FLOP/s of a square bf16 `torch.mm` on `device`: the MFU's yardstick."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator).bfloat16().to(device) for _ in range(2))

    def product() -> None:
        torch.mm(a, b)
        if device == "cuda":
            torch.cuda.synchronize()

    return flops_per_second(product, 2 * size**3, seconds=1.0)


def run_cuda_tests(work: Path) -> tuple[str, bool]:
    """`pytest -m cuda` (without the 2-GPU test on one GPU): its outcome in a few words."""
    two_gpus = torch.cuda.device_count() >= 2
    marker = "cuda" if two_gpus else "cuda and not multi_gpu"
    report, log = work / "cuda_tests.xml", work / "cuda_tests.log"
    command = [sys.executable, "-m", "pytest", "-m", marker, f"--junitxml={report}", "tests"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    log.write_text(done.stdout + done.stderr)
    if not report.exists():
        return f"did not run (pytest exit status {done.returncode}; log: {log})", False
    suite = ElementTree.parse(report).getroot().find("testsuite")
    total, skipped, failed = (int(suite.get(key, 0)) for key in ("tests", "skipped", "failures"))
    failed += int(suite.get("errors", 0))
    text = f"{total - failed - skipped} passed, {failed} failed"
    text += f", {skipped} skipped" if skipped else ""
    text += "" if two_gpus else " (DDP over NCCL: not run, it needs 2 GPUs)"
    ok = done.returncode == 0 and total > 0
    return text + ("" if ok else f"; log: {log}"), ok


# --------------------------------------------------------------------------- one model


def run_logged(command: list[str], log: Path) -> str:
    """Run `command`, its output into `log`; its standard output, or StageFailed."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no error output)"]
        raise StageFailed(f"{lines[-1]} (exit status {done.returncode}; log: {log})")
    return done.stdout


def train(spec: str, setting: Setting, run_dir: Path) -> None:
    command = [sys.executable, "-m", "cognate", "train", "--spec", spec, "--out", str(run_dir)]
    command += ["--preset", setting.preset, "--precision", setting.precision]
    command += ["--device", setting.device, "--tokenizer", setting.tokenizer, *setting.budget]
    run_logged(command, run_dir.with_name(f"{spec}.train.log"))


def score_run(spec: str, run_dir: Path) -> dict[str, float | int]:
    """`cognate test RUN/best --suite all --json`, split into the seed prompts and the rest."""
    command = [sys.executable, "-m", "cognate", "test", str(run_dir / "best"), "--suite", "all"]
    output = run_logged([*command, "--json"], run_dir.with_name(f"{spec}.test.log"))
    return scores(json.loads(output.strip().splitlines()[-1]), spec)


def scores(payload: dict, spec: str) -> dict[str, float | int]:
    """Held-out exact-match and seed prompts answered, from `cognate test --suite all --json`'s
    output: the seed prompts come first (a held-out item may ask the same as one of them)."""
    seed = [p.prompt for p in seed_prompts(spec)]
    results = payload["results"]
    if [r["prompt"] for r in results[: len(seed)]] != seed:
        raise ValueError(f"{spec}: the test output does not begin with the seed prompts")
    answered = [r["correct"] for r in results[: len(seed)]]
    heldout = [r["correct"] for r in results[len(seed) :]]
    return {
        "heldout": sum(heldout) / len(heldout),
        "seed_correct": sum(answered),
        "seed_total": len(answered),
    }


def training_tokens_per_s(run_dir: Path) -> float:
    """The median tokens/s of metrics.jsonl's train windows after the first (which holds the
    warm-up: allocations, kernel choices); of the first when it is the only one."""
    windows = [r["tokens_per_s"] for r in read_metrics(run_dir) if r["kind"] == "train"]
    if not windows:
        raise StageFailed(f"{run_dir}/metrics.jsonl has no train record")
    return statistics.median(windows[1:] or windows)


def measure(spec: str, setting: Setting, run_dir: Path) -> dict:
    """The worker's figures for one trained run (a fresh process: its peak memory is its own)."""
    job = {"spec": spec, "preset": setting.preset, "device": setting.device}
    command = [sys.executable, __file__, "--worker", json.dumps({**job, "run": str(run_dir)})]
    output = run_logged(command, run_dir.with_name(f"{spec}.measure.log"))
    return json.loads(output.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the worker


def worker(job: dict) -> dict:
    """Resume the run in memory (nothing is written): FLOPs of one forward + backward, the
    peak memory of PROBE_STEPS steps; then decoding speeds of its `best` checkpoint."""
    run_dir, device = Path(job["run"]), job["device"]
    budget = read_metadata(run_dir / "last")[0]["run"]["budget"]
    options = TrainOptions(
        out=run_dir,
        spec=job["spec"],
        preset=job["preset"],
        resume=True,
        device=device,
        show_progress=False,
        **budget,
    )
    trainer = Trainer(options)
    figures = {
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "steps": trainer.step,
    }
    batch = trainer.data.stream.batch(trainer.step, trainer.difficulty())
    with FlopCounterMode(display=False) as counter:
        sums = accumulate_gradients(
            trainer.train_model, [batch], trainer.dist, trainer.config.precision
        )
    figures["flops_per_token"] = counter.get_total_flops() / sums.tokens
    trainer.optimizer.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(PROBE_STEPS):
        trainer.train_step()
    if device == "cuda":
        figures["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        figures["peak_memory_mb"] = peak_rss_mb()
    del trainer
    prompt = seed_prompts(job["spec"])[0].prompt
    for label, kind, on in (("fp32", "cached", device), ("int4", "int4", "cpu")):
        bundle = cognate.load(run_dir / "best", device=on)
        ids = bundle.tokenizer.encode(prompt)
        decode = DECODERS[kind]
        decode(bundle.model, ids, 3)  # warm-up: builds the decoder's copies of the weights
        run = timed(decode, bundle.model, ids, DECODE_TOKENS)
        figures[f"decode_{label}"] = run["tokens_per_s"]
    return figures


# --------------------------------------------------------------------------- the summary


@dataclass
class Row:
    """One model's figures; a missing one failed (see `problems`)."""

    spec: str
    figures: dict = field(default_factory=dict)

    def cells(self, peak: float) -> list[str]:
        f = self.figures

        def cell(key: str, show: Callable[[float], str]) -> str:
            return show(f[key]) if key in f else "failed"

        mfu = None
        if "tokens_per_s" in f and "flops_per_token" in f:
            mfu = f["tokens_per_s"] * f["flops_per_token"] / peak
        seed = f"{f['seed_correct']}/{f['seed_total']}" if "seed_correct" in f else "failed"
        return [
            self.spec,
            cell("parameters", lambda v: f"{v / 1e6:.2f}M"),
            cell("steps", lambda v: f"{v:,}"),
            cell("tokens_per_s", lambda v: f"{v:,.0f}"),
            cell("flops_per_token", lambda v: f"{v / 1e6:,.1f}"),
            f"{mfu:.1%}" if mfu is not None else "failed",
            cell("peak_memory_mb", lambda v: f"{v:,.0f} MB"),
            cell("decode_fp32", lambda v: f"{v:,.1f}"),
            cell("decode_int4", lambda v: f"{v:,.1f}"),
            cell("heldout", lambda v: f"{v:.1%}"),
            seed,
        ]


def summary(
    setting: Setting,
    header: list[str],
    peak: float,
    rows: list[Row],
    problems: list[str],
    seconds: float,
) -> str:
    budget = " ".join(setting.budget)
    where = (
        "fp32 and int4 on the CPU"
        if setting.dry
        else "fp32 on the GPU, int4 on the CPU (its kernels are CPU kernels)"
    )
    lines = [
        f"# GPU check{' (dry run)' if setting.dry else ''}",
        "",
        *header,
        f"- Training: `cognate train --preset {setting.preset} --precision {setting.precision} "
        f"--device {setting.device} {budget}`; tokenizer: {setting.tokenizer_note}.",
        f"- MFU: model FLOPs/s over the bf16 `torch.mm` peak measured on the device "
        f"({setting.peak_size}³): {peak / 1e12:,.3f} TFLOP/s. Model FLOPs: "
        "`torch.utils.flop_counter` on one forward + backward of the run's own batch, not "
        "6·N: the recursion applies its weights several times, and the head runs at every "
        "recursion step but only where there is a loss (the answers).",
        f"- Peak memory: {setting.memory_kind}. Held-out and seed: `cognate test RUN/best "
        "--suite all --json` (on the CPU, where the command loads a model).",
        f"- Decoding: `cognate.load` + `generate`, batch 1, {DECODE_TOKENS} new tokens, greedy, "
        f"the fastest of 3: {where}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|" + "---:|" * (len(COLUMNS) - 1),
        *("| " + " | ".join(row.cells(peak)) + " |" for row in rows),
        "",
        f"Wall time: {seconds / 60:.1f} min.",
    ]
    if problems:
        lines += ["", "Problems:", *(f"- {problem}" for problem in problems)]
    return "\n".join([*lines, ""])


# --------------------------------------------------------------------------- main


def model_row(
    spec: str, setting: Setting, run_dir: Path, problems: list[str], progress: Progress
) -> Row:
    """Train, test and measure one model; what fails goes to `problems`, the rest on."""
    row = Row(spec)
    stages = (
        ("training", lambda: train(spec, setting, run_dir)),
        ("tokens/s", lambda: {"tokens_per_s": training_tokens_per_s(run_dir)}),
        ("cognate test", lambda: score_run(spec, run_dir)),
        ("measuring", lambda: measure(spec, setting, run_dir)),
    )
    for stage, run in stages:
        progress(f"{spec}: {stage}")
        try:
            row.figures.update(run() or {})
        except StageFailed as failure:
            problems.append(f"{spec}: {stage}: {failure}")
            if stage == "training":
                break
    return row


def check(setting: Setting, work: Path, progress: Progress) -> tuple[str, bool]:
    """Run the whole check into `work`; the summary and whether everything passed."""
    problems: list[str] = []
    header = [f"- Device: {describe_device(setting)}."]
    progress("measuring the bf16 matmul peak")
    peak = bf16_matmul_peak(setting.device, setting.peak_size)
    if setting.dry:
        header.append("- CUDA tests: not run: no GPU.")
    else:
        progress("running the CUDA tests")
        outcome, passed = run_cuda_tests(work)
        header.append(f"- CUDA tests: {outcome}.")
        if not passed:
            problems.append(f"CUDA tests: {outcome}")
    rows = [model_row(spec, setting, work / spec, problems, progress) for spec in SPECIALIZATIONS]
    text = summary(setting, header, peak, rows, problems, progress.seconds())
    return text, not problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dry", action="store_true", help="The same pipeline on the CPU, tiny.")
    parser.add_argument(
        "--gpt2",
        type=Path,
        default=os.environ.get("GPT2_DIR") or None,
        help="GPT-2's tokenizer.json, or a directory with vocab.json + merges.txt "
        "(default: $GPT2_DIR; without: a stand-in of GPT-2's size). Ignored with --dry.",
    )
    parser.add_argument(
        "--minutes", type=float, default=MINUTES, help="Training minutes per model."
    )
    parser.add_argument("--out", type=Path, help="Directory for everything the check writes.")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    progress = Progress()
    work = args.out or ROOT / "runs" / "gpu_check" / time.strftime("%Y%m%d-%H%M%S")
    try:
        if args.minutes <= 0:
            raise CognateError("--minutes must be > 0")
        if not args.dry and not torch.cuda.is_available():
            raise CognateError(
                "no CUDA device: the GPU check needs one; --dry runs the same pipeline on the CPU"
            )
        work.mkdir(parents=True, exist_ok=True)
        setting = dry_setting() if args.dry else gpu_setting(args.minutes, args.gpt2, work)
    except CognateError as error:
        sys.exit(f"error: {error}")
    text, passed = check(setting, work, progress)
    (work / "summary.md").write_text(text)
    print(text)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
