"""The files of a run directory besides checkpoints: tokenizer and metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cognate.data.tokenizer import TOKENIZER_FILE

METRICS_FILE = "metrics.jsonl"


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of RUN_DIR/metrics.jsonl ({"kind": "train" | "validation" | ..., ...})."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


__all__ = ["METRICS_FILE", "TOKENIZER_FILE", "read_metrics"]
