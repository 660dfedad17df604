"""Decoding speed: cached generation against full recomputation, load time and peak memory.

    .venv/bin/python benchmarks/decode_speed.py [--threads N] [--agreement CKPT] [--profile]

Batch 1, CPU, greedy, random weights, a 25-token prompt, for the `tiny` and `phase1` presets.
"cached" is `generate` (KV caches, memory state, per-token halting) with fp32 weights,
"int8" and "int4" the same with `quantize="int8"` / `"int4"`; "recompute" is the seed's way:
`model(ids)` over the whole sequence for every new token, keeping the last logits. Random
weights halt arbitrarily, so every speed is also measured with an act threshold above 1
(every token takes all T_max steps: the worst case). Every speed is the fastest of three runs
back to back, with their median. Each kind of decoding loads the same saved checkpoint with
`cognate.load` in a fresh subprocess, so that its peak resident memory (VmHWM) is its own;
they run back to back. Three more subprocesses measure phase1's batch-1 tokens/s against the
memory roofline (the bandwidth read in the same process, just before each run), batch 8
against batch 1 for both presets, and what a smaller vocabulary would give. --threads sets
torch's threads in every subprocess: on a machine other jobs keep busy, 2 threads on 2 cores
wait for each other at every parallel operation, so compare runs at equal threads only.

Random weights give nearly equal logits, so quantized and fp32 decoding soon pick different
tokens; --agreement CKPT also compares their greedy answers on a trained checkpoint's
held-out prompts.

Prints Markdown tables and writes them to benchmarks/results/decode_speed.md. --profile also
prints where the time of phase1's cached decoding goes (torch.profiler, top operators).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import tokenizers
import torch
from tokenizers import decoders, models, pre_tokenizers

import cognate
from cognate.checkpoint import save_checkpoint
from cognate.config import model_config
from cognate.data.datasets import train_corpus
from cognate.data.tasks import FAMILIES
from cognate.data.tokenizer import EOS, TOKENIZER_FILE, Tokenizer, train_bpe
from cognate.evaluate.performance import peak_rss_mb
from cognate.evaluate.suites import heldout_suite, run_items
from cognate.infer.decoder import decoder_for
from cognate.infer.generate import generate
from cognate.infer.sampling import ALL_STEPS, SCORING, Sampling
from cognate.model import CognateModel

RESULTS = Path(__file__).parent / "results" / "decode_speed.md"
PRESETS = ("tiny", "phase1")
QUANTIZED = ("int8", "int4")
KINDS = ("cached", *QUANTIZED, "recompute")
PROMPT_TOKENS = 25
NEW_TOKENS = (50, 200)
# Issue 5's targets for phase1 at 200 new tokens: tokens/s, and tokens/s over recompute's
TARGET_TOKENS_PER_S, TARGET_SPEEDUP = 200.0, 10.0
REPEATS = 3  # timed runs per speed; the fastest is reported, with the median
GPT2_SIZE = 50_257
# Issue 34's targets: phase1, batch 1, 200 new tokens, as a fraction of the memory roofline;
# tokens/s of 8 sequences decoded together over one alone
TARGET_ROOFLINE = {"fp32": 0.7, "int4": 0.5}
TARGET_BATCH_GAIN, BATCH = 4.0, 8
PROBE_BYTES = 512 * 2**20  # the bandwidth probe's tensor: far larger than the caches


# --------------------------------------------------------------------------- checkpoints


def gpt2_sized_tokenizer() -> Tokenizer:
    """A byte-level BPE with GPT-2's 50,257 tokens (256 bytes, 50,000 merges, end-of-text).

    A stand-in for loading: no GPT-2 files are on this machine, and nothing is downloaded.
    """
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    pairs = [(a, b) for a in alphabet for b in alphabet][: GPT2_SIZE - len(alphabet) - 1]
    vocab = {token: i for i, token in enumerate(alphabet + [a + b for a, b in pairs])}
    inner = tokenizers.Tokenizer(models.BPE(vocab, pairs))
    inner.add_special_tokens([EOS])
    inner.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    inner.decoder = decoders.ByteLevel()
    return Tokenizer(inner, "gpt2")


def save_random_checkpoint(preset: str, run_dir: Path) -> Path:
    """RUN_DIR/best with random weights and a tokenizer of the preset's vocabulary size."""
    if preset == "phase1":
        tokenizer = gpt2_sized_tokenizer()
    else:
        texts = train_corpus(dict.fromkeys(FAMILIES, 1.0), 5_000, seed=0)
        tokenizer = train_bpe(texts, model_config(preset).vocab_size)
    config = model_config(preset, vocab_size=tokenizer.vocab_size)
    torch.manual_seed(0)
    model = CognateModel(config)
    tokenizer.save(run_dir)  # first: the checkpoint records its sha256
    metadata = {"model_config": config.to_dict(), "tokenizer_file": TOKENIZER_FILE}
    save_checkpoint(run_dir / "best", model.state_dict(), metadata)
    return run_dir / "best"


# --------------------------------------------------------------------------- workers


def prompt_ids(vocab_size: int) -> list[int]:
    """The same random prompt in every process."""
    return torch.randint(
        0, vocab_size, (PROMPT_TOKENS,), generator=torch.Generator().manual_seed(0)
    ).tolist()


def decode_cached(
    model: CognateModel, prompt: list[int], n_new: int, quantize: str | None = None
) -> tuple[list[int], float]:
    """`generate`, greedy; eos is an id the model never produces, so it makes n_new tokens."""
    sampling = Sampling(greedy=True, max_new_tokens=n_new, quantize=quantize)
    [result] = generate(model, [prompt], sampling, model.config.vocab_size, str)
    return result.token_ids, sum(result.act_steps) / len(result.act_steps)


@torch.no_grad()
def decode_recompute(model: CognateModel, prompt: list[int], n_new: int) -> tuple[list[int], None]:
    """The seed's loop: the whole sequence through `model(ids)` for every new token."""
    ids = torch.tensor([prompt])
    for _ in range(n_new):
        next_id = model(ids)[:, -1].argmax(dim=-1, keepdim=True)
        ids = torch.cat([ids, next_id], dim=1)
    return ids[0, len(prompt) :].tolist(), None


DecodeFn = Callable[[CognateModel, list[int], int], tuple[list[int], float | None]]
DECODERS: dict[str, DecodeFn] = {
    "cached": decode_cached,
    **{mode: functools.partial(decode_cached, quantize=mode) for mode in QUANTIZED},
    "recompute": decode_recompute,
}


def timed(decode: DecodeFn, model: CognateModel, prompt: list[int], n_new: int) -> dict:
    """`REPEATS` runs back to back: the fastest and the median tokens/s. Other jobs on a shared
    machine only ever slow a run down, so the fastest is the best estimate of the decoding's
    own speed; the median shows how much the machine's load moved it."""
    speeds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        tokens, mean_steps = decode(model, prompt, n_new)
        speeds.append(n_new / (time.perf_counter() - start))
    return {
        "tokens_per_s": max(speeds),
        "median_tokens_per_s": statistics.median(speeds),
        "mean_steps": mean_steps,
        "tokens": tokens,
    }


def speed_worker(checkpoint: str, kind: str) -> dict:
    """Load the checkpoint (timed), then decode 50 and 200 tokens at both act thresholds."""
    start = time.perf_counter()
    bundle = cognate.load(checkpoint)
    load_seconds = time.perf_counter() - start
    model = bundle.model
    decode = DECODERS[kind]
    prompt = prompt_ids(model.config.vocab_size)
    runs = []
    for threshold in (model.config.act_threshold, ALL_STEPS):
        model.config = dataclasses.replace(model.config, act_threshold=threshold)
        decode(model, prompt, 3)  # warm-up; cached, it also makes the decoder for this config
        for n_new in NEW_TOKENS:
            runs.append(
                {"threshold": threshold, "n_new": n_new, **timed(decode, model, prompt, n_new)}
            )
    return {
        "load_seconds": load_seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
        "runs": runs,
        "peak_rss_mb": peak_rss_mb(),
    }


def read_bandwidth() -> float:
    """Bytes per second read from memory: summing a tensor far larger than the caches on
    torch's threads, the fastest of `REPEATS`."""
    data = torch.ones(PROBE_BYTES // 4)
    fastest = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        data.sum()
        fastest = min(fastest, time.perf_counter() - start)
    return data.nbytes / fastest


def random_model(preset: str, **overrides) -> CognateModel:
    torch.manual_seed(0)
    return CognateModel(model_config(preset, **overrides)).eval()


def roofline_worker() -> dict:
    """phase1, batch 1, 200 new tokens at the model's act threshold, fp32 and quantized, each
    against the memory bandwidth measured just before every one of its timed runs."""
    model = random_model("phase1")
    prompt = prompt_ids(model.config.vocab_size)
    n_new = NEW_TOKENS[-1]
    results = {}
    for mode in ("fp32", *QUANTIZED):
        quantize = None if mode == "fp32" else mode
        decode_cached(model, prompt, 3, quantize)  # warm-up: builds the decoder
        speeds, bandwidths = [], []
        for _ in range(REPEATS):
            bandwidths.append(read_bandwidth())
            start = time.perf_counter()
            _, mean_steps = decode_cached(model, prompt, n_new, quantize)
            speeds.append(n_new / (time.perf_counter() - start))
        results[mode] = {
            "tokens_per_s": max(speeds),
            "bandwidth": max(bandwidths),
            "weight_bytes": decoder_for(model, quantize).weight_bytes,
            "mean_steps": mean_steps,
        }
    return results


def batching_worker() -> dict:
    """tokens/s of `BATCH` different prompts decoded together and of the first alone, per
    preset and decoding, 200 new tokens at the model's act threshold; runs alternate."""
    n_new = NEW_TOKENS[-1]
    results = {}
    for preset in PRESETS:
        model = random_model(preset)
        vocab = model.config.vocab_size
        generator = torch.Generator().manual_seed(1)
        prompts = [
            torch.randint(0, vocab, (PROMPT_TOKENS,), generator=generator).tolist()
            for _ in range(BATCH)
        ]
        for quantize in (None, "int4"):
            sampling = Sampling(greedy=True, max_new_tokens=n_new, quantize=quantize)
            warm_up = dataclasses.replace(sampling, max_new_tokens=3)
            speeds: dict[int, list[float]] = {1: [], BATCH: []}
            for rows in speeds:  # builds the decoder and its packed weights
                generate(model, prompts[:rows], warm_up, vocab, str)
            for _ in range(REPEATS):
                for rows in speeds:
                    start = time.perf_counter()
                    generate(model, prompts[:rows], sampling, vocab, str)
                    speeds[rows].append(rows * n_new / (time.perf_counter() - start))
            results[f"{preset} {quantize or 'fp32'}"] = {
                str(rows): max(runs) for rows, runs in speeds.items()
            }
    return results


def what_if_worker() -> dict:
    """phase1 cached decoding, 200 tokens, all T_max steps, with model-side changes."""
    n_new = NEW_TOKENS[-1]
    variants = {
        "as benchmarked (GPT-2 vocabulary)": ({}, None),
        **{f"as benchmarked, {mode}": ({}, mode) for mode in QUANTIZED},
        "own 4,096-token vocabulary": ({"vocab_size": 4096}, None),
        **{
            f"own 4,096-token vocabulary, {mode}": ({"vocab_size": 4096}, mode)
            for mode in QUANTIZED
        },
    }
    results = {}
    for name, (overrides, quantize) in variants.items():
        model = random_model("phase1", act_threshold=ALL_STEPS, **overrides)
        prompt = prompt_ids(model.config.vocab_size)
        decode_cached(model, prompt, 3, quantize)  # warm-up
        start = time.perf_counter()
        decode_cached(model, prompt, n_new, quantize)
        results[name] = n_new / (time.perf_counter() - start)
    return results


def agreement_worker(checkpoint: str) -> dict:
    """Greedy answers of fp32 and quantized decoding on a trained checkpoint's held-out
    prompts: per decoding, answers equal to fp32's, correct answers and seconds."""
    bundle = cognate.load(checkpoint)
    spec = bundle.metadata.get("run", {}).get("spec", "reasoning")
    items = heldout_suite(spec)
    results, seconds = {}, {}
    for mode in ("fp32", *QUANTIZED):
        sampling = dataclasses.replace(SCORING, quantize=None if mode == "fp32" else mode)
        start = time.perf_counter()
        results[mode] = run_items(bundle.model, bundle.tokenizer, items, 1, sampling)
        seconds[mode] = time.perf_counter() - start
    return {
        "checkpoint": checkpoint,
        "parameters": sum(p.numel() for p in bundle.model.parameters()),
        "prompts": len(items),
        "decodings": {
            mode: {
                "same_output": sum(
                    a.output == b.output for a, b in zip(results["fp32"], runs, strict=True)
                ),
                "correct": sum(r.correct for r in runs),
                "seconds": seconds[mode],
            }
            for mode, runs in results.items()
        },
    }


def profile_phase1() -> None:
    """Print the operators that take the time of phase1's cached decoding."""
    from torch.profiler import ProfilerActivity, profile

    model = CognateModel(model_config("phase1", act_threshold=ALL_STEPS)).eval()
    prompt = prompt_ids(model.config.vocab_size)
    decode_cached(model, prompt, 3)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        decode_cached(model, prompt, 50)
    table = prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=40
    )
    print(table)


# --------------------------------------------------------------------------- report


def run_worker(threads: int, *args: str) -> dict:
    """Run this script as a fresh worker process; its last output line is a JSON object."""
    command = [sys.executable, __file__, "--threads", str(threads), "--worker", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"worker {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine(threads: int) -> str:
    with open("/proc/cpuinfo") as info:
        names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    cpu = names[0] if names else platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, {threads} threads"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def first_difference(tokens: list[int], reference: list[int]) -> int:
    """How many tokens agree with the reference before the first that does not."""
    same = (a == b for a, b in zip(tokens, reference, strict=True))
    return next((i for i, equal in enumerate(same) if not equal), len(tokens))


def speed_rows(preset: str, kinds: dict[str, dict]) -> list[str]:
    """Table rows of one preset: per act threshold, cached, quantized and recompute."""
    rows = []
    params = f"{kinds['cached']['parameters'] / 1e6:.2f}M"
    per_threshold = len(NEW_TOKENS)
    for i in range(0, len(kinds["cached"]["runs"]), per_threshold):
        runs = {kind: kinds[kind]["runs"][i : i + per_threshold] for kind in KINDS}
        cached, recompute = runs["cached"][-1], runs["recompute"][-1]
        first = f"| {preset} | {params} | {cached['threshold']:g} | {cached['mean_steps']:.2f}"
        for kind in KINDS:
            speeds = " | ".join(
                f"{run['tokens_per_s']:.1f} ({run['median_tokens_per_s']:.1f})"
                for run in runs[kind]
            )
            ratio = runs[kind][-1]["tokens_per_s"] / recompute["tokens_per_s"]
            if kind == "cached":
                same = all(
                    c["tokens"] == r["tokens"]
                    for c, r in zip(runs["cached"], runs["recompute"], strict=True)
                )
                agreement = "yes" if same else "no"
            elif kind in QUANTIZED:
                agreement = f"{first_difference(runs[kind][-1]['tokens'], cached['tokens'])}"
                agreement += f" / {cached['n_new']} as cached"
            else:
                agreement = ""
            tail = f"**{ratio:.1f}×** | {agreement}" if kind != "recompute" else " | "
            rows.append(f"{first} | {kind} | {speeds} | {tail} |")
    return rows


def target_lines(kinds: dict[str, dict]) -> list[str]:
    """phase1 at 200 new tokens against the targets, per cached decoding and act threshold."""
    lines = [
        "",
        f"phase1, {NEW_TOKENS[-1]} new tokens, against the targets (≥ "
        f"{TARGET_TOKENS_PER_S:.0f} tokens/s, ≥ {TARGET_SPEEDUP:.0f}× recompute):",
        "",
    ]
    last = {
        kind: [r for r in kinds[kind]["runs"] if r["n_new"] == NEW_TOKENS[-1]] for kind in KINDS
    }
    for i, recompute in enumerate(last["recompute"]):
        threshold = recompute["threshold"]
        which = "every token at T_max" if threshold == ALL_STEPS else "the model's"
        for kind in ("cached", *QUANTIZED):
            run, label = last[kind][i], "cached fp32" if kind == "cached" else f"cached {kind}"
            speed, ratio = run["tokens_per_s"], run["tokens_per_s"] / recompute["tokens_per_s"]
            met = speed >= TARGET_TOKENS_PER_S and ratio >= TARGET_SPEEDUP
            lines.append(
                f"- {label}, act threshold {threshold:g} ({which}): {speed:.1f} tokens/s "
                f"(median {run['median_tokens_per_s']:.1f}), {ratio:.1f}× recompute: "
                f"{'both met' if met else 'not met'}."
            )
    return lines


def roofline_lines(roofline: dict) -> list[str]:
    """Batch-1 tokens/s against the bandwidth read in the same process, run by run."""
    lines = [
        "",
        f"## Against the memory roofline: phase1, batch 1, {NEW_TOKENS[-1]} new tokens",
        "",
        "The roofline is the tokens/s of reading, once per token, every weight a decoding step "
        "reads (`Decoder.weight_bytes`: each matrix once, the tied head included, the "
        "embedding's row left out; the recursion reads its matrices again at every step, "
        "mostly from the caches) at the memory bandwidth measured in the same process just "
        f"before each of the {REPEATS} timed runs (summing a {PROBE_BYTES // 2**20} MB fp32 "
        "tensor on torch's threads; the fastest). Random weights at the model's act threshold; "
        "fastest run.",
        "",
        "| decoding | weights read per token | mean steps | bandwidth | roofline | tok/s | "
        "of the roofline | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, r in roofline.items():
        roof = r["bandwidth"] / r["weight_bytes"]
        target = TARGET_ROOFLINE.get(mode)
        lines.append(
            f"| {mode} | {r['weight_bytes'] / 1e6:.1f} MB | {r['mean_steps']:.2f} | "
            f"{r['bandwidth'] / 1e9:.1f} GB/s | {roof:.0f} tok/s | {r['tokens_per_s']:.1f} | "
            f"**{r['tokens_per_s'] / roof:.0%}** | {f'≥ {target:.0%}' if target else ''} |"
        )
    return lines


def batching_lines(batching: dict) -> list[str]:
    lines = [
        "",
        f"## Batched decoding: {BATCH} sequences together against one alone",
        "",
        f"{BATCH} different random {PROMPT_TOKENS}-token prompts decoded together by `generate` "
        f"({NEW_TOKENS[-1]} new tokens each, the model's act threshold: a step lasts as long "
        "as its slowest row's recursion), against the first of them alone; tokens/s of all "
        f"rows, the fastest of {REPEATS} runs, alternating. Target ≥ {TARGET_BATCH_GAIN:g}×.",
        "",
        f"| preset, decoding | batch 1: tok/s | batch {BATCH}: tok/s | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, speeds in batching.items():
        one, many = speeds["1"], speeds[str(BATCH)]
        lines.append(f"| {name} | {one:.1f} | {many:.1f} | **{many / one:.1f}×** |")
    return lines


def agreement_lines(agreement: dict) -> list[str]:
    a, n = agreement, agreement["prompts"]
    return [
        "",
        f"Quantized against fp32 on a trained checkpoint (`{a['checkpoint']}`, "
        f"{a['parameters'] / 1e6:.2f}M parameters): greedy answers to {n} held-out "
        "prompts, one prompt at a time.",
        "",
        "| decoding | same answer as fp32 | exact match | seconds |",
        "|---|---:|---:|---:|",
        *(
            f"| {mode} | {d['same_output']} / {n} | {d['correct']} / {n} | {d['seconds']:.1f} |"
            for mode, d in a["decodings"].items()
        ),
    ]


def report(
    results: dict[str, dict[str, dict]],
    extra: dict[str, dict],
    agreement: dict | None,
    header: str,
) -> str:
    lines = [
        "# Decoding speed",
        "",
        f"`benchmarks/decode_speed.py`, {time.strftime('%Y-%m-%d %H:%M')}: {header}.",
        "",
        f"Batch 1, greedy, random weights, {PROMPT_TOKENS}-token prompt; tokens/s include the "
        f"prompt's prefill: the fastest of {REPEATS} runs back to back (their median in "
        "brackets; other jobs on the machine only slow a run down). *cached*: `generate` "
        "(KV cache, memory state, per-token halting), "
        'fp32; *int8*, *int4*: the same with `quantize="int8"` / `"int4"` (the prefill stays '
        "fp32); *recompute*: `model(ids)` over the "
        "whole sequence for every new token (the seed's way). "
        f"Threshold {ALL_STEPS:g}: every token takes all T_max recursion steps (worst case). "
        "*same tokens*: cached and recompute produced the same tokens; quantized: how many "
        f"of the {NEW_TOKENS[-1]} tokens equal fp32's before the first difference (random "
        "weights: nearly equal logits).",
        "",
        "| preset | params | act threshold | mean steps | decoding | "
        + "".join(f"{n} new: tok/s | " for n in NEW_TOKENS)
        + f"÷ recompute at {NEW_TOKENS[-1]} | same tokens |",
        "|---|---:|---:|---:|---|" + "---:|" * len(NEW_TOKENS) + "---:|---|",
    ]
    for preset, kinds in results.items():
        lines += speed_rows(preset, kinds)
    lines += [
        "",
        "| preset | `cognate.load` (fresh process) | "
        + " | ".join(f"peak RSS, {kind}" for kind in KINDS)
        + " |",
        "|---|---:|" + "---:|" * len(KINDS),
    ]
    for preset, kinds in results.items():
        memory = " | ".join(f"{kinds[kind]['peak_rss_mb']:.0f} MB" for kind in KINDS)
        lines.append(f"| {preset} | {kinds['cached']['load_seconds']:.2f} s | {memory} |")
    if "phase1" in results:
        lines += target_lines(results["phase1"])
    lines += [
        "",
        "Seed report: load 2–3 s, 5–10 tokens/s on a GPU, ~1.5 GB per model. Peak RSS covers the "
        "whole process (Python, torch, the weights, the decoder's copies of them, the decoding).",
        "",
        f"What model-side changes would give: phase1, cached, {NEW_TOKENS[-1]} new tokens, all "
        "T_max steps, random weights.",
        "",
        "| variant | tok/s |",
        "|---|---:|",
        *(f"| {name} | {speed:.1f} |" for name, speed in extra["what-if"].items()),
    ]
    lines += roofline_lines(extra["roofline"]) + batching_lines(extra["batching"])
    if agreement is not None:
        lines += agreement_lines(agreement)
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--agreement", metavar="CKPT", help="Compare int8/int4 with fp32 on CKPT.")
    parser.add_argument("--profile", action="store_true", help="Profile phase1 cached decoding.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker:
        kind, *rest = args.worker
        workers = {
            "what-if": what_if_worker,
            "agreement": agreement_worker,
            "roofline": roofline_worker,
            "batching": batching_worker,
        }
        result = workers[kind](*rest) if kind in workers else speed_worker(rest[0], kind)
        print(json.dumps(result))
        return
    if args.profile:
        profile_phase1()
    header = f"{machine(args.threads)}; load average before the run {load_average()}"
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            checkpoint = save_random_checkpoint(preset, Path(tmp) / preset)
            results[preset] = {
                kind: run_worker(args.threads, kind, str(checkpoint)) for kind in KINDS
            }
    extra = {kind: run_worker(args.threads, kind) for kind in ("roofline", "batching", "what-if")}
    agreement = run_worker(args.threads, "agreement", args.agreement) if args.agreement else None
    header += f", after {load_average()}"
    text = report(results, extra, agreement, header)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
