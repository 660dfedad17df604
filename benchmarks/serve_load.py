"""Load on `cognate serve`: 1, 4 and 8 concurrent clients, each sending N completions one
after another, against a trained tiny model and against phase1 with random weights.

    .venv/bin/python benchmarks/serve_load.py --run runs/demo/memory [--requests N] [--threads T]

The server runs in its own process (`cognate serve --port 0`, every core; phase1 also with
`--quantize int8`), the clients in this one, as threads sending plain HTTP requests (not
streamed, greedy, 32 tokens: `ignore_eos`, so that a trained model's short answers do not make
the load a test of HTTP) with the held-out prompts of the trained run's specialization. For
each number of clients: the median and 95th-percentile latency of a request, the aggregate
tokens/s (the completion tokens of all requests over the wall time), the mean number of
requests per decoding step (the server's /api/engine counts) and the errors, which must be 0.
The bar (issue 33): with 8 clients, at least 4x the aggregate tokens/s of one. For scale, the
same gain of `DecodingBatch` alone in this process (8 rows against 1, no HTTP, no joins).
Every figure is the fastest of three rounds that take the levels in turn (other jobs on a
shared machine only slow a round down).
Prints Markdown and writes it to benchmarks/results/serve_load.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from decode_speed import save_random_checkpoint  # benchmarks/: this script's folder

import cognate
from cognate.checkpoint import read_metadata
from cognate.evaluate.suites import heldout_suite
from cognate.infer.batching import DecodingBatch
from cognate.infer.generate import Sampling

RESULTS = Path(__file__).parent / "results" / "serve_load.md"
CLIENTS = (1, 4, 8)
MAX_TOKENS = 32
BAR = 4.0  # 8 clients' aggregate tokens/s over one client's
ROUNDS = 3  # each level measured this many times, interleaved; the fastest is reported
PHASE1 = "phase1-random"


@dataclass
class Level:
    """What one number of concurrent clients measured."""

    clients: int
    latencies: list[float]
    tokens: int
    seconds: float
    errors: int
    rows_per_step: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds


def start_server(
    run_dirs: list[Path], threads: int | None, quantize: str | None
) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "cognate", "serve", *map(str, run_dirs), "--port", "0"]
    command += ["--quantize", quantize] if quantize else []
    environment = dict(os.environ)
    if threads is not None:
        environment["OMP_NUM_THREADS"] = str(threads)
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
    line = server.stdout.readline()
    found = re.search(r"page (http://[\d.]+:\d+)/", line)
    if found is None:
        server.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return server, found.group(1)


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=600) as response:
        return json.load(response)


def complete(url: str, model: str, prompt: str) -> int:
    """One greedy completion; its completion tokens."""
    body = {
        "model": model,
        "prompt": prompt,
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "ignore_eos": True,
    }
    request = urllib.request.Request(
        f"{url}/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)["usage"]["completion_tokens"]


def wait_until_scored(url: str) -> None:
    """The server scores each trained model when it starts: wait, so as not to time that."""
    while any(
        r.get("specialization") and r["heldout_exact_match"] is None
        for r in get(f"{url}/api/runs")["runs"]
    ):
        time.sleep(1)


def measure(url: str, model: str, clients: int, requests: int, prompts: list[str]) -> Level:
    latencies: list[float] = []
    tokens, errors = [0], [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        start.wait()
        for n in range(requests):
            prompt = prompts[(index * requests + n) % len(prompts)]
            began = time.perf_counter()
            try:
                produced = complete(url, model, prompt)
            except (urllib.error.URLError, OSError, KeyError, ValueError):
                with lock:
                    errors[0] += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - began)
                tokens[0] += produced

    before = get(f"{url}/api/engine")["models"][model]
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    after = get(f"{url}/api/engine")["models"][model]
    steps = max(1, after["steps"] - before["steps"])
    rows = (after["tokens"] - before["tokens"]) / steps
    return Level(clients, latencies, tokens[0], seconds, errors[0], rows)


def fastest_rounds(url: str, model: str, requests: int, prompts: list[str]) -> list[Level]:
    """Each number of clients' fastest of `ROUNDS` rounds that take them in turn, so that a
    busy moment of the machine hits every level alike."""
    rounds = [
        [measure(url, model, clients, requests, prompts) for clients in CLIENTS]
        for _ in range(ROUNDS)
    ]
    return [
        max(levels, key=lambda lv: lv.tokens_per_second) for levels in zip(*rounds, strict=True)
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def decoding_gain(run_dir: Path, quantize: str | None, prompts: list[str]) -> float:
    """Tokens/s of 8 rows decoded together over one row's, in this process: `DecodingBatch`
    alone, no HTTP, no joins. What batching can give the server at most."""
    bundle = cognate.load(run_dir / "best", quantize=quantize)
    rates: dict[int, float] = {}
    for _ in range(ROUNDS):
        for rows in (1, max(CLIENTS)):
            batch = DecodingBatch(bundle.model, quantize)
            ids = [bundle.tokenizer.encode(p) for p in prompts[:rows]]
            batch.join(ids, [Sampling(greedy=True)] * rows)
            for _ in range(2):  # the decoder's weights are prepared on the first step
                batch.pick()
                batch.advance(range(rows))
            began = time.perf_counter()
            for _ in range(MAX_TOKENS):
                batch.pick()
                batch.advance(range(rows))
            rate = rows * MAX_TOKENS / (time.perf_counter() - began)
            rates[rows] = max(rate, rates.get(rows, 0.0))
    return rates[max(CLIENTS)] / rates[1]


def table(title: str, levels: list[Level], requests: int, ceiling: float) -> list[str]:
    one = levels[0].tokens_per_second
    lines = [
        f"### {title}",
        "",
        "| clients | requests | p50 latency | p95 latency | tokens | aggregate tokens/s "
        "| vs 1 client | requests per decoding step | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        lines.append(
            f"| {level.clients} | {level.clients * requests} "
            f"| {1000 * statistics.median(level.latencies):.0f} ms "
            f"| {1000 * percentile(level.latencies, 0.95):.0f} ms | {level.tokens:,} "
            f"| {level.tokens_per_second:,.0f} | {level.tokens_per_second / one:.2f}x "
            f"| {level.rows_per_step:.2f} | {level.errors} |"
        )
    gain = levels[-1].tokens_per_second / one
    verdict = "meets" if gain >= BAR and not any(lv.errors for lv in levels) else "MISSES"
    lines += [
        "",
        f"{levels[-1].clients} clients: {gain:.2f}x the aggregate tokens/s of one; "
        f"{verdict} the bar ({BAR:g}x, no errors). Decoding {max(CLIENTS)} rows together "
        f"in one process, without HTTP or joins, gives {ceiling:.2f}x one row's tokens/s: "
        "the most batching can give here.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo/memory"))
    parser.add_argument("--requests", type=int, default=4, help="requests per client")
    parser.add_argument("--threads", type=int, help="the server's torch threads (default: all)")
    args = parser.parse_args()
    if not (args.run / "best.json").exists():
        raise SystemExit(
            f"{args.run}: no trained run here; train one first, e.g. "
            f"cognate train --spec memory --minutes 2 --out {args.run}"
        )
    if args.threads is not None:
        torch.set_num_threads(args.threads)  # for `decoding_gain`, as the server's
    load = os.getloadavg()[0]
    meta, _ = read_metadata(args.run / "best")
    spec = meta["run"]["spec"]
    prompts = [item.prompt for item in heldout_suite(spec)]
    sections = []
    with tempfile.TemporaryDirectory() as scratch:
        phase1_dir = Path(scratch) / PHASE1
        save_random_checkpoint("phase1", phase1_dir)
        # (--quantize, runs): the served decoding, then phase1's int8 decoding
        servers = [(None, [args.run, phase1_dir]), ("int8", [phase1_dir])]
        for quantize, run_dirs in servers:
            server, url = start_server(run_dirs, args.threads, quantize)
            try:
                wait_until_scored(url)
                measured = {}
                for model in (d.name for d in run_dirs):
                    complete(url, model, prompts[0])  # the decoder's weights are prepared once
                    measured[model] = fastest_rounds(url, model, args.requests, prompts)
                    print(f"{model} {quantize or 'fp32'} measured", file=sys.stderr)
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=120)
            for run_dir in run_dirs:  # with the server stopped, as it decoded: same threads
                ceiling = decoding_gain(run_dir, quantize, prompts)
                title = run_dir.name + (f" (--quantize {quantize})" if quantize else " (fp32)")
                sections += table(title, measured[run_dir.name], args.requests, ceiling)
    header = [
        "# cognate serve under load",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or 'CPU'} "
        f"({os.cpu_count()} cores, load average {load:.1f} when it started: "
        f"other jobs share them), torch {torch.__version__}; `benchmarks/serve_load.py "
        f"--run {args.run} --requests {args.requests}"
        + (f" --threads {args.threads}`." if args.threads else "` (the server on every core)."),
        "",
        f"Each client sends {args.requests} greedy completions of {MAX_TOKENS} tokens "
        f"(`ignore_eos`; held-out {spec} prompts) one after another; each row is the fastest "
        f"of {ROUNDS} rounds that take the levels in turn (other jobs only slow a round down); "
        "latency is a whole request's; *requests per decoding step* is how many requests the "
        "server's steps "
        f"decoded together on average. The trained model is `{args.run}` (step "
        f"{meta['step']}); `{PHASE1}` is the phase1 shape (32.6M parameters, GPT-2's "
        "vocabulary) with random weights.",
        "",
    ]
    text = "\n".join(header + sections)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
