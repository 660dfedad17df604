"""Inference performance of a checkpoint, measured in a fresh process so peak memory is its own.

python -m cognate.evaluate.performance RUN_DIR/best   # prints one JSON object
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cognate.errors import CognateError

PROBE_PROMPT = "Q: A train travels 60 miles in 2 hours. What is its speed? A:"
PROBE_TOKENS = 50


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM, Linux). Not ru_maxrss: a child process
    inherits its parent's peak through fork and exec, so it would report at least that."""
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return peak_kb / 1024


def measure(checkpoint: str | Path) -> dict[str, Any]:
    """Load time, cached decoding tokens/s (ACT halting on, and all steps), peak RSS."""
    from cognate.infer.bundle import load
    from cognate.infer.generate import generate
    from cognate.infer.sampling import ALL_STEPS, Sampling

    started = time.perf_counter()
    bundle = load(checkpoint)
    load_seconds = time.perf_counter() - started
    ids = [bundle.tokenizer.encode(PROBE_PROMPT)]
    figures: dict[str, Any] = {"load_seconds": round(load_seconds, 3)}
    for label, threshold in (("halting", None), ("all_steps", ALL_STEPS)):
        # Sampling never stops early here (eos is sampled like any token), so every run makes
        # exactly PROBE_TOKENS tokens; the first run warms up.
        sampling = Sampling(max_new_tokens=PROBE_TOKENS, seed=0, act_threshold=threshold)
        generate(bundle.model, ids, sampling, -1, bundle.tokenizer.decode)
        started = time.perf_counter()
        result = generate(bundle.model, ids, sampling, -1, bundle.tokenizer.decode)[0]
        seconds = time.perf_counter() - started
        figures[f"tokens_per_second_{label}"] = round(len(result.token_ids) / seconds, 1)
        figures[f"act_steps_mean_{label}"] = round(
            sum(result.act_steps) / max(1, len(result.act_steps)), 3
        )
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return figures


def measure_in_subprocess(checkpoint: str | Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "cognate.evaluate.performance", str(checkpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CognateError(f"{checkpoint}: performance probe failed: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
