"""Decoding speed: cached generation against full recomputation, load time and peak memory.

    .venv/bin/python benchmarks/decode_speed.py [--profile]

Batch 1, CPU, fp32, greedy, random weights, a 25-token prompt, for the `tiny` and `phase1`
presets. "cached" is `generate` (KV caches, memory state, per-token halting); "recompute" is
the seed's way: `model(ids)` over the whole sequence for every new token, keeping the last
logits. Random weights halt arbitrarily, so every speed is also measured with an act threshold
above 1 (every token takes all T_max steps: the worst case). Both kinds of decoding load the
same saved checkpoint with `cognate.load`, each in a fresh subprocess so that its peak
resident memory (VmHWM) is its own; they run back to back. A third subprocess measures
what model-side changes would give (batching, bf16 weights, a smaller vocabulary).

Prints Markdown tables and writes them to benchmarks/results/decode_speed.md. --profile also
prints where the time of phase1's cached decoding goes (torch.profiler, top operators).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
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
from cognate.data.tokenizer import EOS, Tokenizer, train_bpe
from cognate.evaluate.performance import peak_rss_mb
from cognate.infer.generate import Sampling, generate
from cognate.model import CognateModel

RESULTS = Path(__file__).parent / "results" / "decode_speed.md"
PRESETS = ("tiny", "phase1")
PROMPT_TOKENS = 25
NEW_TOKENS = (50, 200)
ALL_STEPS = 2.0  # an act threshold no halting probability reaches
GPT2_SIZE = 50_257


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
    metadata = {"model_config": config.to_dict(), "tokenizer_file": "tokenizer.json"}
    save_checkpoint(run_dir / "best", model.state_dict(), metadata)
    tokenizer.save(run_dir)
    return run_dir / "best"


# --------------------------------------------------------------------------- workers


def prompt_ids(vocab_size: int) -> list[int]:
    """The same random prompt in every process."""
    return torch.randint(
        0, vocab_size, (PROMPT_TOKENS,), generator=torch.Generator().manual_seed(0)
    ).tolist()


def decode_cached(model: CognateModel, prompt: list[int], n_new: int) -> tuple[list[int], float]:
    """`generate`, greedy; eos is an id the model never produces, so it makes n_new tokens."""
    sampling = Sampling(greedy=True, max_new_tokens=n_new)
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


Decoder = Callable[[CognateModel, list[int], int], tuple[list[int], float | None]]


def timed(decode: Decoder, model: CognateModel, prompt: list[int], n_new: int) -> dict:
    start = time.perf_counter()
    tokens, mean_steps = decode(model, prompt, n_new)
    seconds = time.perf_counter() - start
    return {"tokens_per_s": n_new / seconds, "mean_steps": mean_steps, "tokens": tokens}


def speed_worker(checkpoint: str, kind: str) -> dict:
    """Load the checkpoint (timed), then decode 50 and 200 tokens at both act thresholds."""
    start = time.perf_counter()
    bundle = cognate.load(checkpoint)
    load_seconds = time.perf_counter() - start
    model = bundle.model
    decode = decode_cached if kind == "cached" else decode_recompute
    prompt = prompt_ids(model.config.vocab_size)
    decode(model, prompt, 3)  # warm-up
    runs = []
    for threshold in (model.config.act_threshold, ALL_STEPS):
        model.config = dataclasses.replace(model.config, act_threshold=threshold)
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


def what_if_worker() -> dict:
    """phase1 cached decoding, 200 tokens, all T_max steps, with model-side changes."""
    n_new = NEW_TOKENS[-1]
    variants = {
        "as benchmarked (fp32, GPT-2 vocabulary)": ({}, torch.float32, 1),
        "batch of 8 sequences (tokens/s of all 8)": ({}, torch.float32, 8),
        "bf16 weights": ({}, torch.bfloat16, 1),
        "own 4,096-token vocabulary": ({"vocab_size": 4096}, torch.float32, 1),
        "own 4,096-token vocabulary + bf16 weights": ({"vocab_size": 4096}, torch.bfloat16, 1),
    }
    results = {}
    for name, (overrides, dtype, batch) in variants.items():
        config = model_config("phase1", act_threshold=ALL_STEPS, **overrides)
        torch.manual_seed(0)
        model = CognateModel(config).eval().to(dtype)
        prompts = [prompt_ids(config.vocab_size)] * batch
        sampling = Sampling(greedy=True, max_new_tokens=n_new)
        generate(model, prompts, Sampling(greedy=True, max_new_tokens=3), config.vocab_size, str)
        start = time.perf_counter()
        generate(model, prompts, sampling, config.vocab_size, str)
        results[name] = batch * n_new / (time.perf_counter() - start)
    return results


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


def run_worker(*args: str) -> dict:
    """Run this script as a fresh worker process; its last output line is a JSON object."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"worker {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    with open("/proc/cpuinfo") as info:
        names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    cpu = names[0] if names else platform.machine()
    threads = torch.get_num_threads()
    return f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, {threads} threads"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def speed_rows(preset: str, cached: dict, recompute: dict) -> list[str]:
    """Table rows of one preset: per act threshold, cached then recompute."""
    rows = []
    params = f"{cached['parameters'] / 1e6:.2f}M"
    per_threshold = len(NEW_TOKENS)
    for i in range(0, len(cached["runs"]), per_threshold):
        c_runs = cached["runs"][i : i + per_threshold]
        r_runs = recompute["runs"][i : i + per_threshold]
        ratio = c_runs[-1]["tokens_per_s"] / r_runs[-1]["tokens_per_s"]
        same = all(c["tokens"] == r["tokens"] for c, r in zip(c_runs, r_runs, strict=True))
        first = (
            f"| {preset} | {params} | {c_runs[0]['threshold']:g} | {c_runs[-1]['mean_steps']:.2f}"
        )
        for name, runs in (("cached", c_runs), ("recompute", r_runs)):
            speeds = " | ".join(f"{run['tokens_per_s']:.1f}" for run in runs)
            tail = f"**{ratio:.1f}×** | {'yes' if same else 'no'}" if name == "cached" else " | "
            rows.append(f"{first} | {name} | {speeds} | {tail} |")
    return rows


def report(results: dict[str, dict[str, dict]], what_if: dict[str, float], header: str) -> str:
    lines = [
        "# Decoding speed",
        "",
        f"`benchmarks/decode_speed.py`, {time.strftime('%Y-%m-%d %H:%M')}: {header}.",
        "",
        f"Batch 1, fp32, greedy, random weights, {PROMPT_TOKENS}-token prompt; tokens/s include "
        "the prompt's prefill. *cached*: `generate` (KV cache, memory state, per-token halting); "
        "*recompute*: `model(ids)` over the whole sequence for every new token (the seed's way). "
        f"Threshold {ALL_STEPS:g}: every token takes all T_max recursion steps (worst case). "
        "*same tokens*: both decodings produced the same tokens.",
        "",
        "| preset | params | act threshold | mean steps | decoding | "
        + "".join(f"{n} new: tok/s | " for n in NEW_TOKENS)
        + f"cached / recompute at {NEW_TOKENS[-1]} | same tokens |",
        "|---|---:|---:|---:|---|" + "---:|" * len(NEW_TOKENS) + "---:|---|",
    ]
    for preset, kinds in results.items():
        lines += speed_rows(preset, kinds["cached"], kinds["recompute"])
    lines += [
        "",
        "| preset | `cognate.load` (fresh process) | peak RSS, cached | peak RSS, recompute |",
        "|---|---:|---:|---:|",
    ]
    for preset, kinds in results.items():
        cached, recompute = kinds["cached"], kinds["recompute"]
        lines.append(
            f"| {preset} | {cached['load_seconds']:.2f} s | {cached['peak_rss_mb']:.0f} MB | "
            f"{recompute['peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "Seed report: load 2–3 s, 5–10 tokens/s on a GPU, ~1.5 GB per model. Peak RSS covers the "
        "whole process (Python, torch, the weights, the decoding).",
        "",
        f"What model-side changes would give: phase1, cached, {NEW_TOKENS[-1]} new tokens, all "
        "T_max steps, random weights.",
        "",
        "| variant | tok/s |",
        "|---|---:|",
        *(f"| {name} | {speed:.1f} |" for name, speed in what_if.items()),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="Profile phase1 cached decoding.")
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        print(json.dumps(what_if_worker() if kind == "what-if" else speed_worker(rest[0], kind)))
        return
    if args.profile:
        profile_phase1()
    header = f"{machine()}; load average before the run {load_average()}"
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            checkpoint = save_random_checkpoint(preset, Path(tmp) / preset)
            results[preset] = {
                kind: run_worker(kind, str(checkpoint)) for kind in ("cached", "recompute")
            }
    what_if = run_worker("what-if")
    header += f", after {load_average()}"
    text = report(results, what_if, header)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
